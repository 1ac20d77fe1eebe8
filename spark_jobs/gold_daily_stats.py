"""Daily stats step: silver.events → gold.video_daily_stats and gold.hashtag_daily_stats.

``spark-submit spark_jobs/gold_daily_stats.py --date YYYY-MM-DD [--run-version N]``. For landing
date D it reads the ``event_date`` partitions of silver.events that D's events touched (found in
the Delta log), computes the stats with :mod:`reelhouse.gold.daily_stats` and replaces those ``ds``
partitions of both tables atomically (application transaction
``reelhouse.daily_stats.<table>.<D>``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from reelhouse.gold.daily_stats import hashtag_daily_stats, video_daily_stats, viewer_partials
from reelhouse.jobs import StepReport, app_transaction, default_run_version

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from reelhouse.config import Config
    from reelhouse.lake import Lake

STEP = "daily_stats"
OUTPUTS = ("gold.video_daily_stats", "gold.hashtag_daily_stats")


@dataclass
class DailyStatsReport(StepReport):
    """What one run wrote: the ``ds`` dates recomputed and row counts per table."""

    landing_date: str
    dates: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    #: wall seconds per table write (its share of the aggregation included)
    table_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""


def dates_touched(lake: "Lake", landing_date: date) -> list[date]:
    """Event dates that landing date's events went to (read from the Delta log, no data scan)."""
    parts = lake.partitions("silver.events", where={"landing_date": [landing_date]})
    return sorted({date.fromisoformat(p["event_date"]) for p in parts})


def run(spark: "SparkSession", lake: "Lake", config: "Config", landing_date: date, *, run_version: int | None = None) -> DailyStatsReport:
    """Recompute the daily stats of every event date touched by ``landing_date``."""
    t0 = time.time()
    report = DailyStatsReport(landing_date=landing_date.isoformat())
    dates = dates_touched(lake, landing_date)
    if not dates:
        report.message = f"silver.events has no rows from landing date {landing_date}: nothing to do"
        report.seconds = round(time.time() - t0, 3)
        return report
    from pyspark import StorageLevel

    version = default_run_version(run_version)
    tr = config.trends
    events = lake.read("silver.events", where={"event_date": dates}).select(
        "event_date", "region", "video_id", "user_id", "event_type", "play_time_ms", "video_duration_ms"
    )
    videos = lake.read("silver.videos")
    hashtags = lake.read("silver.video_hashtags")
    # one scan and shuffle of the events for both tables, kept between the two writes
    partials = viewer_partials(events, completion_threshold=tr.completion_threshold).persist(StorageLevel.MEMORY_AND_DISK)
    outputs = {
        "gold.video_daily_stats": video_daily_stats(partials, videos, spam_event_cap=tr.spam_event_cap),
        "gold.hashtag_daily_stats": hashtag_daily_stats(partials, videos, hashtags, dates, spam_event_cap=tr.spam_event_cap),
    }
    try:
        for table, df in outputs.items():
            t_table = time.time()
            res = lake.write(df, table, mode="overwrite_partitions", partitions={"ds": dates},
                             metadata={"landing_date": landing_date.isoformat(), "step": STEP},
                             **app_transaction(STEP, landing_date, version, table))
            report.rows[table] = res.rows_added
            report.table_seconds[table] = round(time.time() - t_table, 3)
    finally:
        partials.unpersist()
    report.dates = [d.isoformat() for d in dates]
    report.message = "ok"
    report.seconds = round(time.time() - t0, 3)
    return report


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_jobs/gold_daily_stats.py --date YYYY-MM-DD [--run-version N]``: daily stats for the event dates a landing date touched; prints the report
    as JSON (see :func:`reelhouse.jobs.step_main`)."""
    from reelhouse.jobs import step_main

    return step_main(run, STEP, argv)


if __name__ == "__main__":
    sys.exit(main())
