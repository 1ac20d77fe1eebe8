"""Trends: gold daily stats → trend scores, trending videos and hashtags, hashtag rankings.

Trend score of an item (video or hashtag) in a region on day ``ds``
--------------------------------------------------------------------
1. **Observed** ``o`` = spam-weighted distinct engaged users on ``ds``
   (``engaged_users_weighted`` of the daily stats: each user counts ``min(1, cap / n)`` where
   ``n`` is their engagement events on the item that day — distinct people, not raw events).
2. **Expected** ``e`` = mean of ``o`` over the trailing ``baseline_days`` (default 7) before
   ``ds``; days on which the item had no engagement count 0; when the lake holds fewer days of
   history than the window, the mean is over the days it has.
3. **Surprise** ``z = (o − e) / sqrt(e + k)``: a Poisson z-score of the observation against its
   expectation, with pseudo-count ``k`` (default 10) so that tiny counts cannot produce huge
   scores — 3 users against an expected 0.1 scores 0.95, not 30x. An item with no baseline at all
   (``is_new_item``) has ``e = 0`` and scores on velocity alone, ``o / sqrt(k)``.
4. **Support**: ``raw = max(z, 0)`` when ``o ≥ max(min_support, min_support_share × U)``, else 0,
   where ``U`` is the region's distinct engaged users that day (defaults 3 and 0.5 %: about 25 on
   a 150k-event synthetic day, 3 on a day of the 664-user KuaiRand log).
5. **Decay**: ``score_ds = α·raw_ds + (1 − α)·score_{ds−1}`` with ``α = 1 − 0.5^(1/h)`` for a
   half-life of ``h`` days (default 1): a one-day blip halves every day after it, a sustained rise
   keeps feeding the score.
6. **Cold start**: on the lake's first day nothing has a baseline, so every item scores on
   velocity (the trending lists show the day's biggest items), and the next day ignores that
   day's scores as decay state (they measure volume, not change); from then on an item absent
   from the baseline is new and scores on velocity.

Sources: the observed-vs-expected test and minimum-use threshold of Mastodon's trending tags
(``app/models/trends/tags.rb``: ``score = (observed − expected)² / expected`` when observed ≥
threshold, then a half-life decay), written here as its signed square root, the z-score against
the expected count (the "z-score against expected" approach of trend detection, e.g. Twitter's and
Reddit's rising lists); the pseudo-count is additive (Laplace) smoothing.

The state the next day decays is ``gold.<item>_trend_scores`` (every item with engagement on
``ds`` or a score still above 0.01); the baseline is read from the daily stats partitions of the
window, so a night's cost depends on the window, not on the length of history.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config, TrendsConfig
    from reelhouse.lake import Lake

OUTPUTS = (
    "gold.video_trend_scores",
    "gold.hashtag_trend_scores",
    "gold.trending_videos",
    "gold.trending_hashtags",
    "gold.hashtag_rankings",
)
MIN_KEPT_SCORE = 0.01


def decay_alpha(half_life_days: float) -> float:
    """Weight of today's raw score in the EWMA for a half-life in days: ``1 − 0.5^(1/h)``."""
    return 1.0 - 0.5 ** (1.0 / half_life_days)


def trend_scores(
    today: "DataFrame",
    baseline: "DataFrame",
    previous: "DataFrame",
    *,
    item: str,
    ds: date,
    baseline_days_available: int,
    params: "TrendsConfig",
    region_users: "DataFrame | None" = None,
) -> "DataFrame":
    """Score every item of one day.

    ``today``: daily stats of ``ds`` (``region``, ``item``, ``engaged_users``,
    ``engaged_users_weighted``); ``baseline``: daily stats of the trailing window (``ds``,
    ``region``, ``item``, ``engaged_users_weighted``); ``previous``: yesterday's trend scores
    (``region``, ``item``, ``trend_score``); ``baseline_days_available``: days of the window the
    lake has (1..baseline_days; 0 = no history). Returns the ``gold.<item>_trend_scores`` columns.
    """
    from pyspark.sql import functions as F

    keys = ["region", item]
    alpha = decay_alpha(params.half_life_days)
    denom = float(max(baseline_days_available, 1))
    base = baseline.groupBy(*keys).agg(
        (F.sum("engaged_users_weighted") / F.lit(denom)).alias("expected"),
        F.countDistinct("ds").cast("int").alias("baseline_days_with_data"),
    )
    prev = previous.select(*keys, F.col("trend_score").alias("_prev"))
    cur = today.select(*keys, "engaged_users", "engaged_users_weighted")
    df = cur.join(prev, keys, "full_outer").join(base, keys, "left")
    if region_users is not None:
        df = df.join(F.broadcast(region_users.select("region", F.col("engaged_users").alias("_region_users"))), "region", "left")
    else:
        df = df.withColumn("_region_users", F.lit(0))
    support = F.greatest(F.lit(params.min_support), F.lit(params.min_support_share) * F.coalesce("_region_users", F.lit(0)))
    o = F.coalesce(F.col("engaged_users_weighted"), F.lit(0.0))
    e = F.coalesce(F.col("expected"), F.lit(0.0))
    z = (o - e) / F.sqrt(e + F.lit(params.pseudo_count))
    raw = F.when(o >= support, F.greatest(z, F.lit(0.0))).otherwise(F.lit(0.0))
    score = F.lit(alpha) * raw + F.lit(1.0 - alpha) * F.coalesce(F.col("_prev"), F.lit(0.0))
    out = df.select(
        *keys,
        F.coalesce(F.col("engaged_users"), F.lit(0)).cast("long").alias("engaged_users"),
        o.alias("engaged_users_weighted"),
        e.alias("expected"),
        F.coalesce(F.col("baseline_days_with_data"), F.lit(0)).cast("int").alias("baseline_days_with_data"),
        z.alias("z_score"),
        raw.alias("raw_score"),
        score.alias("trend_score"),
        (F.coalesce(F.col("baseline_days_with_data"), F.lit(0)) == 0).alias("is_new_item"),
        F.lit(ds).cast("date").alias("ds"),
    )
    return out.where((F.col("engaged_users") > 0) | (F.col("trend_score") >= MIN_KEPT_SCORE))


def region_engaged_users(events: "DataFrame") -> "DataFrame":
    """Distinct users with a play, like, share, comment or follow per region (and ``ALL``):
    (``region``, ``engaged_users``)."""
    from pyspark.sql import functions as F

    from spark_jobs.gold_daily_stats import ENGAGEMENT_TYPES, with_region_rows

    return (
        with_region_rows(events.where(F.col("event_type").isin(*ENGAGEMENT_TYPES)))
        .groupBy("region")
        .agg(F.countDistinct("user_id").alias("engaged_users"))
    )


def top_trending(scores: "DataFrame", *, item: str, top_n: int) -> "DataFrame":
    """The ``top_n`` items per region by ``trend_score`` (> 0), ranked 1..n (ties by item id)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("region").orderBy(F.col("trend_score").desc(), F.col(item))
    return (
        scores.where(F.col("trend_score") > 0)
        .withColumn("rank", F.row_number().over(w).cast("int"))
        .where(F.col("rank") <= top_n)
        .select("region", "rank", item, "trend_score", "engaged_users", "expected", "is_new_item", "ds")
    )


def _ranks(stats: "DataFrame", scores: "DataFrame") -> "DataFrame":
    """Engagement and trend ranks of every hashtag with stats on a day, per region."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = ["region", "hashtag"]
    df = stats.select(*keys, "engaged_users", "distinct_creators", "distinct_videos").join(
        scores.select(*keys, "trend_score"), keys, "left"
    ).withColumn("trend_score", F.coalesce("trend_score", F.lit(0.0)))
    we = Window.partitionBy("region").orderBy(F.col("engaged_users").desc(), F.col("hashtag"))
    wt = Window.partitionBy("region").orderBy(F.col("trend_score").desc(), F.col("engaged_users").desc(), F.col("hashtag"))
    return df.withColumn("engagement_rank", F.row_number().over(we).cast("int")).withColumn(
        "trend_rank", F.row_number().over(wt).cast("int")
    )


def hashtag_rankings(
    stats: "DataFrame",
    scores: "DataFrame",
    prev_stats: "DataFrame",
    prev_scores: "DataFrame",
    prev_rankings: "DataFrame",
    video_stats: "DataFrame",
    video_hashtags: "DataFrame",
    *,
    ds: date,
    top_n: int,
) -> "DataFrame":
    """gold.hashtag_rankings for ``ds``: hashtags in the top ``top_n`` by engagement or by trend
    score per region, with yesterday's ranks (recomputed from yesterday's stats and scores, so a
    change is known even for tags outside yesterday's top), a new-entry flag (not in yesterday's
    rankings) and the top 3 videos by engaged users under the tag."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = ["region", "hashtag"]
    today = _ranks(stats, scores)
    yday = _ranks(prev_stats, prev_scores).select(
        *keys, F.col("engagement_rank").alias("_pe"), F.col("trend_rank").alias("_pt")
    )
    was_listed = prev_rankings.select(*keys).distinct().withColumn("_listed", F.lit(True))
    kept = today.where((F.col("engagement_rank") <= top_n) | (F.col("trend_rank") <= top_n))
    vid = video_stats.select("region", "video_id", "engaged_users").join(
        F.broadcast(video_hashtags.select("video_id", "hashtag")), "video_id"
    )
    w = Window.partitionBy(*keys).orderBy(F.col("engaged_users").desc(), F.col("video_id"))
    top = (
        vid.join(kept.select(*keys), keys, "left_semi")
        .withColumn("_rn", F.row_number().over(w))
        .where("_rn <= 3")
        .groupBy(*keys)
        .agg(F.sort_array(F.collect_list(F.struct("_rn", "video_id"))).alias("_top"))
        .select(*keys, F.col("_top.video_id").alias("top_videos"))
    )
    return (
        kept.join(yday, keys, "left")
        .join(was_listed, keys, "left")
        .join(top, keys, "left")
        .select(
            *keys,
            "engagement_rank",
            "trend_rank",
            (F.col("_pe") - F.col("engagement_rank")).cast("int").alias("engagement_rank_change"),
            (F.col("_pt") - F.col("trend_rank")).cast("int").alias("trend_rank_change"),
            F.col("_listed").isNull().alias("is_new_entry"),
            "engaged_users",
            "trend_score",
            "distinct_creators",
            "distinct_videos",
            F.coalesce("top_videos", F.array().cast("array<string>")).alias("top_videos"),
            F.lit(ds).cast("date").alias("ds"),
        )
    )


# ----------------------------------------------------------------------------- main
@dataclass
class TrendsReport:
    """What one run wrote for ``ds``: rows per table, the top hashtags (ALL regions)."""

    ds: str
    baseline_days_available: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    top_hashtags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def run(spark: "SparkSession", lake: "Lake", config: "Config", ds: date, *, run_version: int | None = None) -> TrendsReport:
    """Score, rank and write the trends of ``ds`` (reads ``baseline_days + 1`` days of stats and
    yesterday's scores and rankings; writes only the ``ds`` partitions)."""
    from pyspark.sql import functions as F

    t0 = time.time()
    p = config.trends
    report = TrendsReport(ds=ds.isoformat())
    if not [x for x in lake.partitions("gold.video_daily_stats", where={"ds": [ds]})]:
        report.message = f"no daily stats for {ds}: nothing to do"
        report.seconds = round(time.time() - t0, 3)
        return report
    version = int(run_version if run_version is not None else time.time() * 1000)
    window = [ds - timedelta(days=k) for k in range(1, p.baseline_days + 1)]
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
            creators = stats.where(F.col("region") == "ALL").select("video_id", "creator_id")
            top = top.join(creators, "video_id", "left")
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
                         app_id=f"reelhouse.trends.{table}.{ds.isoformat()}", app_version=version,
                         metadata={"ds": ds.isoformat(), "step": "trends"})
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
    as JSON (see :func:`reelhouse.pipeline.step_main`)."""
    from reelhouse.pipeline import step_main

    return step_main(run, "trends", argv)


if __name__ == "__main__":
    sys.exit(main())

