"""Features step: gold stats and silver events → the point-in-time feature tables the online store serves.

``spark-submit spark_jobs/gold_features.py --date YYYY-MM-DD [--run-version N]``. For ``ds`` it
reads the ``ds`` partition of silver.events, 28 days of ``gold.user_daily_activity``, yesterday's
``gold.user_interests``, 7 days of the daily stats and ``ds``'s trend scores and rankings, computes
every table with :mod:`reelhouse.gold.features` (which documents them; ``feature_time`` = ``ds`` +
1 day 00:00 UTC) and replaces partition ``ds`` of each (application transaction
``reelhouse.features.<table>.<ds>``). Dates run in order: the interests decay yesterday's.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from reelhouse.gold.daily_stats import ALL_REGIONS
from reelhouse.gold.features import (
    creator_features,
    hashtag_features,
    interest_deltas,
    user_daily_activity,
    user_features,
    user_interests,
    video_features,
    window,
)
from reelhouse.jobs import StepReport, app_transaction, default_run_version
from reelhouse.pipeline import STEPS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config
    from reelhouse.lake import Lake

STEP = "features"
#: the tables this step writes, as registered in reelhouse.pipeline.STEPS (the DAG's Asset outlets)
OUTPUTS = STEPS[STEP].outputs


@dataclass
class FeaturesReport(StepReport):
    """What a features run did: ``ds``, rows per table, seconds."""

    ds: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""


def run(spark: "SparkSession", lake: "Lake", config: "Config", ds: date, *, run_version: int | None = None) -> FeaturesReport:
    """Compute and commit every feature table for ``ds`` (one ``overwrite_partitions`` commit per
    table, application transaction ``reelhouse.features.<table>.<ds>``). ``gold.user_interests``
    reads yesterday's partition, so dates must run in order (the DAG runs one date at a time)."""
    from pyspark.sql import functions as F

    t0 = time.time()
    report = FeaturesReport(ds=ds.isoformat())
    version = default_run_version(run_version)
    tr, fc = config.trends, config.features

    def write(df: "DataFrame", table: str) -> None:
        res = lake.write(df, table, mode="overwrite_partitions", partitions={"ds": [ds]},
                         metadata={"ds": ds.isoformat(), "step": STEP},
                         **app_transaction(STEP, ds, version, table))
        report.rows[table] = res.rows_added

    events = lake.read("silver.events", where={"event_date": [ds]}).select(
        "user_id", "video_id", "event_type", "play_time_ms", "video_duration_ms"
    )
    write(user_daily_activity(events, ds, completion_threshold=tr.completion_threshold,
                              swipe_away_ratio=fc.swipe_away_ratio, watch_ratio_cap=fc.watch_ratio_cap),
          "gold.user_daily_activity")
    deltas = interest_deltas(events, lake.read("silver.video_hashtags"), completion_threshold=tr.completion_threshold,
                             swipe_away_ratio=fc.swipe_away_ratio)
    previous = lake.read("gold.user_interests", where={"ds": [ds - timedelta(days=1)]})
    write(user_interests(previous, deltas, ds, half_life_days=fc.interest_half_life_days, top_k=fc.top_k_interests),
          "gold.user_interests")
    activity = lake.read("gold.user_daily_activity", where={"ds": window(ds, 28)})
    write(user_features(activity, lake.read("gold.user_interests", where={"ds": [ds]}), ds), "gold.user_features")

    week = window(ds, 7)
    vstats = lake.read("gold.video_daily_stats", where={"ds": week}).where(F.col("region") == ALL_REGIONS)
    videos = lake.read("silver.videos")
    write(video_features(vstats, videos, lake.read("gold.video_trend_scores", where={"ds": [ds]}), ds), "gold.video_features")
    write(creator_features(vstats, videos, ds), "gold.creator_features")
    write(hashtag_features(lake.read("gold.hashtag_daily_stats", where={"ds": week}),
                           lake.read("gold.hashtag_trend_scores", where={"ds": [ds]}),
                           lake.read("gold.hashtag_rankings", where={"ds": [ds]}), ds), "gold.hashtag_features")
    report.message = "ok"
    report.seconds = round(time.time() - t0, 3)
    return report


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_jobs/gold_features.py --date YYYY-MM-DD [--run-version N]``: the feature
    tables of that date; prints the report as JSON (see :func:`reelhouse.jobs.step_main`)."""
    from reelhouse.jobs import step_main

    return step_main(run, STEP, argv)


if __name__ == "__main__":
    sys.exit(main())
