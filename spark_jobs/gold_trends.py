"""Trends step: gold daily stats → trend scores, trending videos and hashtags, hashtag rankings.

``spark-submit spark_jobs/gold_trends.py --date YYYY-MM-DD [--run-version N]``. Reads the daily
stats of ``ds`` and of the trailing ``trends.baseline_days``, yesterday's scores and rankings and
the ``ds`` partition of silver.events (engaged users per region), scores and ranks with
:mod:`reelhouse.gold.trends` (which documents the trend score) and replaces the ``ds`` partition of
every output (application transaction ``reelhouse.trends.<table>.<ds>``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from reelhouse.gold.trends import baseline_window, hashtag_rankings, region_engaged_users, top_trending, trend_scores, with_creators
from reelhouse.jobs import StepReport, app_transaction, default_run_version

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config
    from reelhouse.lake import Lake

STEP = "trends"
OUTPUTS = (
    "gold.video_trend_scores",
    "gold.hashtag_trend_scores",
    "gold.trending_videos",
    "gold.trending_hashtags",
    "gold.hashtag_rankings",
)


@dataclass
class TrendsReport(StepReport):
    """What one run wrote for ``ds``: rows per table, the top hashtags (ALL regions)."""

    ds: str
    baseline_days_available: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    top_hashtags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""


def run(spark: "SparkSession", lake: "Lake", config: "Config", ds: date, *, run_version: int | None = None) -> TrendsReport:
    """Score, rank and write the trends of ``ds`` (reads ``baseline_days + 1`` days of stats and
    yesterday's scores and rankings; writes only the ``ds`` partitions)."""
    t0 = time.time()
    p = config.trends
    report = TrendsReport(ds=ds.isoformat())
    if not [x for x in lake.partitions("gold.video_daily_stats", where={"ds": [ds]})]:
        report.message = f"no daily stats for {ds}: nothing to do"
        report.seconds = round(time.time() - t0, 3)
        return report
    version = default_run_version(run_version)
    window = baseline_window(ds, p.baseline_days)
    available = {date.fromisoformat(x["ds"]) for x in lake.partitions("gold.video_daily_stats", where={"ds": window})}
    report.baseline_days_available = len(available)
    yday = ds - timedelta(days=1)
    # yesterday was the lake's first day: its scores measured volume, not change (cold start)
    ignore_previous = available == {yday}
    region_users = region_engaged_users(lake.read("silver.events", where={"event_date": [ds]})).cache()
    outputs: dict[str, "DataFrame"] = {}
    for item, stats_table, scores_table, trending_table in (
        ("video_id", "gold.video_daily_stats", "gold.video_trend_scores", "gold.trending_videos"),
        ("hashtag", "gold.hashtag_daily_stats", "gold.hashtag_trend_scores", "gold.trending_hashtags"),
    ):
        stats = lake.read(stats_table, where={"ds": [ds]})
        baseline = lake.read(stats_table, where={"ds": window}).select("ds", "region", item, "engaged_users_weighted")
        previous = lake.read(scores_table, where={"ds": [yday]})
        if ignore_previous:
            previous = previous.limit(0)
        scores = trend_scores(
            stats, baseline, previous, item=item, ds=ds, baseline_days_available=len(available), params=p,
            region_users=region_users,
        ).cache()
        outputs[scores_table] = scores
        top = top_trending(scores, item=item, top_n=p.top_n)
        if item == "video_id":
            top = with_creators(top, stats)
        outputs[trending_table] = top
    outputs["gold.hashtag_rankings"] = hashtag_rankings(
        lake.read("gold.hashtag_daily_stats", where={"ds": [ds]}),
        outputs["gold.hashtag_trend_scores"],
        lake.read("gold.hashtag_daily_stats", where={"ds": [yday]}),
        lake.read("gold.hashtag_trend_scores", where={"ds": [yday]}),
        lake.read("gold.hashtag_rankings", where={"ds": [yday]}),
        lake.read("gold.video_daily_stats", where={"ds": [ds]}),
        lake.read("silver.video_hashtags"),
        ds=ds,
        top_n=p.rankings_top_n,
    )
    for table in OUTPUTS:
        res = lake.write(outputs[table], table, mode="overwrite_partitions", partitions={"ds": [ds]},
                         metadata={"ds": ds.isoformat(), "step": STEP},
                         **app_transaction(STEP, ds, version, table))
        report.rows[table] = res.rows_added
    for df in (outputs["gold.video_trend_scores"], outputs["gold.hashtag_trend_scores"], region_users):
        df.unpersist()
    report.top_hashtags = [
        r["hashtag"]
        for r in lake.read("gold.trending_hashtags", where={"ds": [ds]}).where("region = 'ALL'").orderBy("rank").limit(10).collect()
    ]
    report.message = "ok" if report.baseline_days_available else "no baseline history yet: every item scores as new"
    report.seconds = round(time.time() - t0, 3)
    return report


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_jobs/gold_trends.py --date YYYY-MM-DD [--run-version N]``: trends of one date; prints the report
    as JSON (see :func:`reelhouse.jobs.step_main`)."""
    from reelhouse.jobs import step_main

    return step_main(run, STEP, argv)


if __name__ == "__main__":
    sys.exit(main())

