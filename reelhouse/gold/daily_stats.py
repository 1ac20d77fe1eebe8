"""Daily stats transforms: silver.events → gold.video_daily_stats and gold.hashtag_daily_stats rows.

Per UTC date (``ds`` = event_date), per actor region plus an ``ALL`` row, per video and per
normalised hashtag: impressions, plays, unique viewers, watch time (ms), watch ratio, completion
rate, likes, shares, comments, follows, engaged users (distinct and spam-weighted); for hashtags
also new, distinct videos and distinct creators.

The step (``spark_jobs/gold_daily_stats.py``) runs these for landing date D over every event date
that D's events touched (D itself and the dates of its late events), reading only those
``event_date`` partitions of silver, and replaces those ``ds`` partitions atomically, so gold
totals always reconcile with silver.

Spam weighting: a user's engagement events on one item and day beyond ``spam_event_cap`` count
less — the user contributes ``min(1, cap / n)`` to ``engaged_users_weighted`` — so thousands of
events from five accounts weigh about as much as a handful of ordinary viewers.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

ENGAGEMENT_TYPES = ("play", "like", "share", "comment", "follow")
ALL_REGIONS = "ALL"
UNKNOWN_REGION = "UNKNOWN"


def with_region_rows(events: "DataFrame") -> "DataFrame":
    """Each event twice: once under its region (``UNKNOWN`` when absent) and once under ``ALL``.
    Adds ``ds`` (= event_date). Output: input columns + ``ds``, with ``region`` replaced."""
    from pyspark.sql import functions as F

    region = F.coalesce(F.upper("region"), F.lit(UNKNOWN_REGION))
    return events.withColumn("ds", F.col("event_date")).withColumn(
        "region", F.explode(F.array(region, F.lit(ALL_REGIONS)))
    )


PARTIALS = ("impressions", "plays", "watch_ms", "known_plays", "ratio_sum", "completes", "likes", "shares",
            "comments", "follows", "engaged_events")


def viewer_partials(events: "DataFrame", *, completion_threshold: float) -> "DataFrame":
    """Per (``ds``, ``region``, ``video_id``, ``user_id``) the additive partial sums the daily
    stats are made of — ``impressions``, ``plays``, ``watch_ms``, ``known_plays`` (plays with a
    known duration), ``ratio_sum`` (Σ play_time_ms / video_duration_ms over those), ``completes``
    (``play_time_ms >= completion_threshold × video_duration_ms``, loops count), ``likes``,
    ``shares``, ``comments``, ``follows``, ``engaged_events`` — each viewer once under its region
    (``UNKNOWN`` when absent) and once under ``ALL``.

    Input: silver events (``event_date``, ``region``, ``video_id``, ``user_id``, ``event_type``,
    ``play_time_ms``, ``video_duration_ms``); events without a video are left out. The raw events
    are aggregated once, before the ``ALL`` copy and before any hashtag join, so both gold tables
    share one scan and one shuffle of the events (the partials are sums, so re-grouping them per
    hashtag or over regions gives the per-event result)."""
    from pyspark.sql import functions as F

    et = F.col("event_type")
    is_play = et == "play"
    known = is_play & F.col("video_duration_ms").isNotNull()

    def cnt(cond: "Column") -> "Column":
        return F.sum(F.when(cond, 1).otherwise(0)).cast("long")

    region = F.coalesce(F.upper("region"), F.lit(UNKNOWN_REGION))
    per_region = (
        events.where(F.col("video_id").isNotNull())
        .groupBy(F.col("event_date").alias("ds"), region.alias("region"), "video_id", "user_id")
        .agg(
            cnt(et == "impression").alias("impressions"),
            cnt(is_play).alias("plays"),
            F.sum(F.when(is_play, F.col("play_time_ms")).otherwise(0)).cast("long").alias("watch_ms"),
            cnt(known).alias("known_plays"),
            F.sum(F.when(known, F.col("play_time_ms") / F.col("video_duration_ms")).otherwise(0.0)).alias("ratio_sum"),
            cnt(known & (F.col("play_time_ms") >= F.col("video_duration_ms") * F.lit(completion_threshold))).alias("completes"),
            cnt(et == "like").alias("likes"),
            cnt(et == "share").alias("shares"),
            cnt(et == "comment").alias("comments"),
            cnt(et == "follow").alias("follows"),
            cnt(et.isin(*ENGAGEMENT_TYPES)).alias("engaged_events"),
        )
    )
    everywhere = per_region.groupBy("ds", "video_id", "user_id").agg(
        *[F.sum(c).alias(c) for c in PARTIALS]).withColumn("region", F.lit(ALL_REGIONS))
    return per_region.unionByName(everywhere)


def engagement_stats(partials: "DataFrame", keys: list[str], *, spam_event_cap: int) -> "DataFrame":
    """The engagement columns of the gold daily stats tables, one row per ``keys``, from viewer
    partials (:func:`viewer_partials`, possibly re-keyed, e.g. joined to hashtags): the partials
    are summed per (keys, ``user_id``) first — a viewer's engaged events on the key decide their
    spam weight ``min(1, spam_event_cap / n)`` — then per keys. Watch ratio and completion use plays
    with a known duration only."""
    from pyspark.sql import functions as F

    per_user = partials.groupBy(*keys, "user_id").agg(*[F.sum(c).alias(c) for c in PARTIALS])
    return _finish(per_user, keys, spam_event_cap=spam_event_cap)


def _finish(per_user: "DataFrame", keys: list[str], *, spam_event_cap: int) -> "DataFrame":
    """The engagement columns from partials that are one row per (keys, ``user_id``)."""
    from pyspark.sql import functions as F

    def cnt(cond: "Column") -> "Column":
        return F.sum(F.when(cond, 1).otherwise(0))

    engaged = F.col("engaged_events") > 0
    out = per_user.groupBy(*keys).agg(
        F.sum("impressions").alias("impressions"),
        F.sum("plays").alias("plays"),
        cnt((F.col("impressions") + F.col("plays")) > 0).alias("unique_viewers"),
        F.sum("watch_ms").alias("total_watch_time_ms"),
        F.sum("known_plays").alias("_known"),
        F.sum("ratio_sum").alias("_ratio_sum"),
        F.sum("completes").alias("_completes"),
        F.sum("likes").alias("likes"),
        F.sum("shares").alias("shares"),
        F.sum("comments").alias("comments"),
        F.sum("follows").alias("follows"),
        cnt(engaged).alias("engaged_users"),
        F.sum(F.when(engaged, F.least(F.lit(1.0), F.lit(float(spam_event_cap)) / F.col("engaged_events"))).otherwise(0.0)).alias(
            "engaged_users_weighted"
        ),
    )
    return out.select(
        *keys,
        *[F.col(c).cast("long").alias(c) for c in ("impressions", "plays", "unique_viewers", "total_watch_time_ms")],
        F.when(F.col("plays") > 0, F.col("total_watch_time_ms") / F.col("plays")).alias("avg_watch_time_ms"),
        F.when(F.col("_known") > 0, F.col("_ratio_sum") / F.col("_known")).alias("avg_watch_ratio"),
        F.when(F.col("_known") > 0, F.col("_completes") / F.col("_known")).alias("completion_rate"),
        *[F.col(c).cast("long").alias(c) for c in ("likes", "shares", "comments", "follows", "engaged_users")],
        "engaged_users_weighted",
    )


def video_daily_stats(partials: "DataFrame", videos: "DataFrame", *, spam_event_cap: int) -> "DataFrame":
    """gold.video_daily_stats rows from viewer partials (:func:`viewer_partials` of silver events,
    any dates) and silver.videos (``video_id``, ``creator_id``, ``published_date``): one row per
    (``ds``, ``region``, ``video_id``) with the columns of :func:`engagement_stats`,
    ``creator_id``, ``published_date`` and ``is_new_video`` (published on ``ds``)."""
    from pyspark.sql import functions as F

    # the partials are one row per (ds, region, video_id, user_id) already: no re-grouping per viewer
    stats = _finish(partials, ["ds", "region", "video_id"], spam_event_cap=spam_event_cap)
    dim = videos.select("video_id", "creator_id", "published_date")
    return stats.join(F.broadcast(dim), "video_id", "left").withColumn(
        "is_new_video", F.coalesce(F.col("published_date") == F.col("ds"), F.lit(False))
    )


def hashtag_daily_stats(
    partials: "DataFrame",
    videos: "DataFrame",
    video_hashtags: "DataFrame",
    dates: list[date],
    *,
    spam_event_cap: int,
) -> "DataFrame":
    """gold.hashtag_daily_stats from viewer partials (:func:`viewer_partials`) joined to their
    videos' hashtags (a view of a video with three tags counts for each tag; a viewer's engaged
    events on a tag are summed over its videos before the spam weight), plus ``distinct_videos``
    and ``distinct_creators`` with events and ``new_videos`` per tag published on each of
    ``dates``. One row per (``ds``, ``region``, ``hashtag``)."""
    from pyspark.sql import functions as F

    tags = video_hashtags.select("video_id", "hashtag", "creator_id")
    keys = ["ds", "region", "hashtag"]
    stats = engagement_stats(partials.join(F.broadcast(tags.drop("creator_id")), "video_id"), keys,
                             spam_event_cap=spam_event_cap)
    spread = (
        partials.select("ds", "region", "video_id").distinct()
        .join(F.broadcast(tags), "video_id")
        .groupBy(*keys)
        .agg(F.count("video_id").alias("distinct_videos"), F.countDistinct("creator_id").alias("distinct_creators"))
    )
    new = (
        with_region_rows(
            videos.where(F.col("published_date").isin(list(dates))).select(
                "video_id", "region", F.col("published_date").alias("event_date")
            )
        )
        .join(F.broadcast(video_hashtags.select("video_id", "hashtag")), "video_id")
        .groupBy(*keys)
        .agg(F.countDistinct("video_id").alias("new_videos"))
    )
    zero_long = ["impressions", "plays", "unique_viewers", "total_watch_time_ms", "likes", "shares", "comments",
                 "follows", "engaged_users", "distinct_videos", "distinct_creators", "new_videos"]
    out = stats.join(spread, keys, "left").join(new, keys, "full_outer")
    return out.select(
        *keys,
        *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) if c in zero_long else F.col(c)
          for c in ["impressions", "plays", "unique_viewers", "total_watch_time_ms", "avg_watch_time_ms",
                    "avg_watch_ratio", "completion_rate", "likes", "shares", "comments", "follows", "engaged_users"]],
        F.coalesce("engaged_users_weighted", F.lit(0.0)).alias("engaged_users_weighted"),
        *[F.coalesce(F.col(c), F.lit(0)).cast("long").alias(c) for c in ("new_videos", "distinct_videos", "distinct_creators")],
    )
