"""Feature transforms: gold stats and silver events → the point-in-time feature tables the online store serves.

For a date ``ds`` every output row summarises events up to the end of ``ds`` and carries
``feature_time = ds + 1 day 00:00 UTC`` — the first instant its values are known — so a training
example at time ``t`` may join only rows with ``feature_time <= t`` (the previous day's snapshot
for an impression on ``ds + 1``), and Feast's point-in-time join does exactly that.

Outputs, partition ``ds`` (replaced atomically on a rerun):

* ``gold.user_daily_activity`` — per user and day: events, plays, completions, swipe-aways, capped
  watch-ratio sum, likes, shares (from the ``ds`` partition of ``silver.events``); the grain the
  1/7/28-day user windows sum over, so a night reads one day of silver, not 28;
* ``gold.user_interests`` — hashtag interest per user: ``score_ds = decay × score_(ds-1) +
  completions − swipe-aways`` of the user's plays of videos carrying the tag on ``ds``, with
  ``decay = 0.5^(1 / interest_half_life_days)`` (an exponentially weighted count, as the trend
  score's EWMA); the top ``top_k_interests`` per user are kept (the seed design of the issue: a
  finished video raises interest, a swipe-away under ``swipe_away_ratio`` of the duration lowers it);
* ``gold.user_features`` — 1/7/28-day activity, average watch ratio, completion/like/share rates
  over 28 days, top-K hashtags with scores;
* ``gold.video_features`` — age, views over 1 and 7 days, 7-day completion/like/share rates, trend
  score, for every video with activity in the last 7 days (from ``gold.video_daily_stats``, region
  ``ALL``);
* ``gold.creator_features`` and ``gold.hashtag_features`` — the same rolled up per creator and per
  hashtag (from ``gold.video_daily_stats`` / ``gold.hashtag_daily_stats``, ``silver.videos``,
  trend scores and rankings).

Rates over several days weight each day by its plays (``Σ rate_d × plays_d / Σ plays_d``); for
completion rate that equals the pooled rate exactly when every play has a known duration.
A run for landing date D computes the features of ``ds = D`` (late events for earlier dates
update their stats; earlier feature snapshots are not rewritten — they are what was known then).
"""

from __future__ import annotations

from datetime import date, datetime, time as dtime, timedelta, timezone
from typing import TYPE_CHECKING

from reelhouse.gold.daily_stats import ALL_REGIONS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame


def feature_time(ds: date) -> datetime:
    """``ds + 1 day`` at 00:00 UTC: when the features of ``ds`` become known."""
    return datetime.combine(ds + timedelta(days=1), dtime.min, tzinfo=timezone.utc)


def window(ds: date, days: int) -> list[date]:
    """The ``days`` dates ending at ``ds`` (inclusive), oldest first."""
    return [ds - timedelta(days=k) for k in range(days - 1, -1, -1)]


def _weighted(rate: str, weight: str = "plays") -> "Column":
    """Σ(rate × weight) / Σ weight over rows where rate is known; NULL when no weight."""
    from pyspark.sql import functions as F

    w = F.when(F.col(rate).isNotNull(), F.col(weight))
    return F.sum(F.col(rate) * w) / F.sum(w)


def _ratio(num: str, den: str) -> "Column":
    from pyspark.sql import functions as F

    return F.when(F.sum(den) > 0, F.sum(num) / F.sum(den))


# ----------------------------------------------------------------------------- users
def user_daily_activity(events: "DataFrame", ds: date, *, completion_threshold: float, swipe_away_ratio: float,
                        watch_ratio_cap: float) -> "DataFrame":
    """silver.events rows of one event_date → one row per user (schema ``gold.user_daily_activity``).

    A play is complete at ``play_time_ms >= completion_threshold × video_duration_ms`` and a
    swipe-away below ``swipe_away_ratio × video_duration_ms``; plays without a known duration are
    neither. Watch ratio = ``min(play_time_ms / video_duration_ms, watch_ratio_cap)``."""
    from pyspark.sql import functions as F

    play = F.col("event_type") == "play"
    known = play & (F.col("video_duration_ms") > 0) & F.col("play_time_ms").isNotNull()
    ratio = F.least(F.col("play_time_ms") / F.col("video_duration_ms"), F.lit(float(watch_ratio_cap)))

    def cnt(c: "Column") -> "Column":
        return F.sum(F.when(c, 1).otherwise(0)).cast("long")

    return (
        events.where(F.col("user_id").isNotNull())
        .groupBy("user_id")
        .agg(
            F.count(F.lit(1)).alias("events"),
            cnt(play).alias("plays"),
            cnt(known).alias("plays_with_duration"),
            cnt(known & (F.col("play_time_ms") >= F.col("video_duration_ms") * F.lit(completion_threshold))).alias("completes"),
            cnt(known & (F.col("play_time_ms") < F.col("video_duration_ms") * F.lit(swipe_away_ratio))).alias("swipe_aways"),
            F.coalesce(F.sum(F.when(known, ratio)), F.lit(0.0)).alias("watch_ratio_sum"),
            cnt(F.col("event_type") == "like").alias("likes"),
            cnt(F.col("event_type") == "share").alias("shares"),
        )
        .withColumn("ds", F.lit(ds))
    )


def interest_deltas(events: "DataFrame", video_hashtags: "DataFrame", *, completion_threshold: float,
                    swipe_away_ratio: float) -> "DataFrame":
    """Plays of one day → ``(user_id, hashtag, delta)``: +1 per completed play and −1 per
    swipe-away of a video carrying the hashtag; other plays count 0 (and are dropped when the
    sum is 0)."""
    from pyspark.sql import functions as F

    known = (F.col("event_type") == "play") & (F.col("video_duration_ms") > 0) & F.col("play_time_ms").isNotNull()
    signal = (
        F.when(F.col("play_time_ms") >= F.col("video_duration_ms") * F.lit(completion_threshold), 1.0)
        .when(F.col("play_time_ms") < F.col("video_duration_ms") * F.lit(swipe_away_ratio), -1.0)
    )
    plays = events.where(known & F.col("user_id").isNotNull()).select("user_id", "video_id", signal.alias("signal")).where(
        F.col("signal").isNotNull()
    )
    tags = video_hashtags.select("video_id", "hashtag").distinct()
    return (
        plays.join(tags, "video_id")
        .groupBy("user_id", "hashtag")
        .agg(F.sum("signal").alias("delta"))
        .where(F.col("delta") != 0)
    )


def user_interests(previous: "DataFrame", deltas: "DataFrame", ds: date, *, half_life_days: float, top_k: int) -> "DataFrame":
    """Yesterday's interests ``(user_id, hashtag, score)`` and today's deltas → today's top-K per user
    (schema ``gold.user_interests``): ``score = 0.5^(1/half_life_days) × previous + delta``. Ties in
    score rank by hashtag. Scores at or below 0 are kept only while they rank in the top K (a user
    whose every play was a swipe-away still has a — negative — profile)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    decay = 0.5 ** (1.0 / half_life_days)
    prev = previous.select("user_id", "hashtag", (F.col("score") * F.lit(decay)).alias("carried"))
    merged = prev.join(deltas.select("user_id", "hashtag", "delta"), ["user_id", "hashtag"], "full_outer").select(
        "user_id", "hashtag", (F.coalesce("carried", F.lit(0.0)) + F.coalesce("delta", F.lit(0.0))).alias("score")
    ).where(F.abs(F.col("score")) > 1e-6)
    w = Window.partitionBy("user_id").orderBy(F.col("score").desc(), F.col("hashtag"))
    return (
        merged.withColumn("rank", F.row_number().over(w).cast("int"))
        .where(F.col("rank") <= top_k)
        .withColumn("ds", F.lit(ds))
    )


def user_features(activity: "DataFrame", interests: "DataFrame", ds: date) -> "DataFrame":
    """28 days of ``gold.user_daily_activity`` (any subset of ds-27 .. ds) and ds's interests →
    one row per user active in the window (schema ``gold.user_features``)."""
    from pyspark.sql import functions as F

    d7 = ds - timedelta(days=6)

    def within(col: str, since: date) -> "Column":
        return F.sum(F.when(F.col("ds") >= F.lit(since), F.col(col)).otherwise(0)).cast("long")

    agg = activity.groupBy("user_id").agg(
        within("events", ds).alias("events_1d"),
        within("events", d7).alias("events_7d"),
        F.sum("events").cast("long").alias("events_28d"),
        F.sum("plays").cast("long").alias("plays_28d"),
        F.countDistinct(F.when(F.col("events") > 0, F.col("ds"))).cast("int").alias("active_days_28d"),
        _ratio("watch_ratio_sum", "plays_with_duration").alias("avg_watch_ratio_28d"),
        _ratio("completes", "plays_with_duration").alias("completion_rate_28d"),
        _ratio("likes", "plays").alias("like_rate_28d"),
        _ratio("shares", "plays").alias("share_rate_28d"),
    )
    top = interests.groupBy("user_id").agg(F.sort_array(F.collect_list(F.struct("rank", "hashtag", "score"))).alias("t")).select(
        "user_id", F.col("t.hashtag").alias("top_hashtags"), F.col("t.score").alias("top_hashtag_scores")
    )
    return (
        agg.join(top, "user_id", "left")
        .withColumn("feature_time", F.lit(feature_time(ds)))
        .withColumn("ds", F.lit(ds))
    )


# ----------------------------------------------------------------------------- videos, creators, hashtags
def video_features(stats: "DataFrame", videos: "DataFrame", trend: "DataFrame", ds: date) -> "DataFrame":
    """``gold.video_daily_stats`` rows of region ALL over ds-6 .. ds, ``silver.videos`` and ds's
    ``gold.video_trend_scores`` of region ALL → one row per video active in the window (schema
    ``gold.video_features``)."""
    from pyspark.sql import functions as F

    ft = feature_time(ds)
    agg = stats.where(F.col("region") == ALL_REGIONS).groupBy("video_id").agg(
        F.sum(F.when(F.col("ds") == F.lit(ds), F.col("plays")).otherwise(0)).cast("long").alias("views_1d"),
        F.sum("plays").cast("long").alias("views_7d"),
        F.sum("impressions").cast("long").alias("impressions_7d"),
        _weighted("completion_rate").alias("completion_rate_7d"),
        _weighted("avg_watch_ratio").alias("avg_watch_ratio_7d"),
        _ratio("likes", "plays").alias("like_rate_7d"),
        _ratio("shares", "plays").alias("share_rate_7d"),
    )
    v = videos.select("video_id", "creator_id", "published_at", "video_duration_ms")
    t = trend.where(F.col("region") == ALL_REGIONS).select("video_id", "trend_score")
    age = (F.lit(ft).cast("long") - F.col("published_at").cast("long")) / F.lit(3600.0)
    return (
        agg.join(v, "video_id", "left")
        .join(t, "video_id", "left")
        .select(
            "video_id", F.lit(ft).alias("feature_time"), "creator_id",
            F.when(F.col("published_at").isNotNull(), age).alias("video_age_hours"),
            "video_duration_ms", "views_1d", "views_7d", "impressions_7d", "completion_rate_7d",
            "avg_watch_ratio_7d", "like_rate_7d", "share_rate_7d",
            F.coalesce("trend_score", F.lit(0.0)).alias("trend_score"), F.lit(ds).alias("ds"),
        )
    )


def creator_features(stats: "DataFrame", videos: "DataFrame", ds: date) -> "DataFrame":
    """7 days of ``gold.video_daily_stats`` (region ALL) and ``silver.videos`` → one row per creator
    with a video published before feature_time that was published or active in the window
    (schema ``gold.creator_features``)."""
    from pyspark.sql import functions as F

    ft = feature_time(ds)
    d7 = ds - timedelta(days=6)
    v = videos.where(F.col("published_at") < F.lit(ft)).select("video_id", "creator_id", "published_date")
    output = v.groupBy("creator_id").agg(
        F.count(F.lit(1)).alias("videos_total"),
        F.sum(F.when(F.col("published_date") >= F.lit(d7), 1).otherwise(0)).cast("long").alias("videos_7d"),
    )
    s = stats.where(F.col("region") == ALL_REGIONS).select("video_id", "plays", "completion_rate", "likes", "follows").join(
        v.select("video_id", "creator_id"), "video_id")
    reach = s.groupBy("creator_id").agg(
        F.countDistinct(F.when(F.col("plays") > 0, F.col("video_id"))).alias("active_videos_7d"),
        F.sum("plays").cast("long").alias("views_7d"),
        _weighted("completion_rate").alias("completion_rate_7d"),
        _ratio("likes", "plays").alias("like_rate_7d"),
        F.sum("follows").cast("long").alias("follows_7d"),
    )
    return (
        output.join(reach, "creator_id", "left")
        .where((F.col("videos_7d") > 0) | F.col("views_7d").isNotNull())
        .select(
            "creator_id", F.lit(ft).alias("feature_time"), F.col("videos_total").cast("long"), "videos_7d",
            F.coalesce("active_videos_7d", F.lit(0)).cast("long").alias("active_videos_7d"),
            F.coalesce("views_7d", F.lit(0)).cast("long").alias("views_7d"),
            "completion_rate_7d", "like_rate_7d",
            F.coalesce("follows_7d", F.lit(0)).cast("long").alias("follows_7d"), F.lit(ds).alias("ds"),
        )
    )


def hashtag_features(stats: "DataFrame", trend: "DataFrame", rankings: "DataFrame", ds: date) -> "DataFrame":
    """7 days of ``gold.hashtag_daily_stats`` (region ALL), ds's hashtag trend scores and rankings
    (region ALL) → one row per hashtag active in the window (schema ``gold.hashtag_features``)."""
    from pyspark.sql import functions as F

    agg = stats.where(F.col("region") == ALL_REGIONS).groupBy("hashtag").agg(
        F.sum(F.when(F.col("ds") == F.lit(ds), F.col("plays")).otherwise(0)).cast("long").alias("views_1d"),
        F.sum("plays").cast("long").alias("views_7d"),
        _weighted("completion_rate").alias("completion_rate_7d"),
        _ratio("likes", "plays").alias("like_rate_7d"),
        F.sum("new_videos").cast("long").alias("new_videos_7d"),
    )
    t = trend.where(F.col("region") == ALL_REGIONS).select("hashtag", "trend_score")
    r = rankings.where(F.col("region") == ALL_REGIONS).select("hashtag", "trend_rank")
    return (
        agg.join(t, "hashtag", "left").join(r, "hashtag", "left")
        .select(
            "hashtag", F.lit(feature_time(ds)).alias("feature_time"), "views_1d", "views_7d", "completion_rate_7d",
            "like_rate_7d", "new_videos_7d", F.coalesce("trend_score", F.lit(0.0)).alias("trend_score"),
            F.col("trend_rank").cast("int"), F.lit(ds).alias("ds"),
        )
    )
