"""Trend transforms: gold daily stats → trend scores, trending videos and hashtags, hashtag rankings.

A trending list means **rising now**: an item is listed on ``ds`` only when today's observation is
significantly and substantially above what was expected of it today. Yesterday's score orders the
list (and is the state the next day decays) but never keeps an item on it.

Trend score of an item (video or hashtag) in a region on day ``ds``
--------------------------------------------------------------------
1. **Observed** ``o`` = spam-weighted distinct engaged users on ``ds``
   (``engaged_users_weighted`` of the daily stats: each user counts ``min(1, cap / n)`` where
   ``n`` is their engagement events on the item that day — distinct people, not raw events).
2. **Expected** ``e`` = mean of ``o`` over the trailing ``baseline_days`` (default 7) before
   ``ds``; days on which the item had no engagement count 0; when the lake holds fewer days of
   history than the window, the mean is over the ``n`` days it has.
3. **Surprise** ``z = (o − e) / sqrt((e + k + φ·e²) · (1 + 1/n))``: a z-score of today against
   the expectation under a negative-binomial (NB2) variance ``e + φ·e²`` — counts of people are
   overdispersed, a large item's day-to-day noise grows like ``e``, not ``sqrt(e)``, so a Poisson
   z (``φ = 0``) makes every ordinary +18 % day of a 10k-user tag a "surge" (z = 18); with the
   default ``φ = 0.04`` (day-to-day coefficient of variation ``sqrt(φ)`` = 20 % for large items)
   that day scores 0.9. The pseudo-count ``k`` (default 10) keeps tiny counts from exploding (3
   users against an expected 0.1 is not a 30-sigma event) and ``1 + 1/n`` adds the uncertainty
   of an expectation estimated from ``n`` days (a one-day baseline is a poor one). An item with no
   baseline at all (``is_new_item``) has ``e = 0`` and scores on velocity alone,
   ``o / sqrt(k · (1 + 1/n))``.
4. **Lift** ``o / e`` (NULL when ``e = 0``).
5. **Support**: ``o ≥ max(min_support, min(min_support_share × U, e + min_support_excess))``,
   where ``U`` is the region's distinct engaged users that day (defaults 3, 0.5 %, 40). In a
   small region the region's share binds (3 users of the 664-user KuaiRand log); in a large one an
   item qualifies once it brings ``min_support_excess`` more people than expected: a tag going from
   43 to 100 users in a region of 25k users is supported (floor 83, not 125), 30 users of a new tag
   in a region of 10k are not (floor 40), a handful never are.
6. **Rising today** (``is_trending``): supported, ``z ≥ min_z`` (default 3) and
   ``o ≥ (1 + min_lift) · e`` (default ``min_lift = 0.5``: at least +50 %). Only rising items are
   listed, so an item below its expectation today is never listed, whatever its score, and a quiet
   day gives a short list rather than a padded one. ``days_trending`` counts the consecutive days
   an item has been rising (today included; 0 when not rising).
7. **Decay** (the score, the list's order and the next day's state):
   ``raw = max(z, 0)`` when supported, else 0;
   ``score_ds = α·raw_ds + (1 − α)·score_{ds−1}`` with ``α = 1 − 0.5^(1/h)`` for a half-life of
   ``h`` days (default 1): a sustained rise ranks above a one-day riser of the same z.
8. **Cold start**: on the lake's first day nothing has a baseline, so every item scores on
   velocity (the trending lists show the day's biggest items), and the next day ignores that
   day's scores as state (they measure volume, not change); from then on an item absent from the
   baseline is new and scores on velocity.

The trending lists are the top ``top_n`` rising items per region by score (then ``z``); each row
carries ``z_score``, ``lift``, ``trend_score`` and ``days_trending`` — why it is there.
``gold.hashtag_rankings`` ranks ``trend_rank`` the same way (rising items first, by score), so its
trend ranks 1..n are the trending list.

Parameters and sources (``trends:`` in ``conf/base.yaml``):

* ``min_z`` = 3 and the NB2 variance: the outbreak-detection method of public-health
  surveillance, which is the same problem (is today's count above what the past predicts?):
  Farrington et al., "A statistical algorithm for the early detection of outbreaks of infectious
  disease", J. R. Statist. Soc. A 159 (1996), and its negative-binomial revision, Noufaily et al.,
  Statistics in Medicine 32 (2013) (R ``surveillance::farringtonFlexible``): an overdispersed count
  model, a threshold on the upper tail of the prediction interval of the new count (including the
  uncertainty of the fitted mean, our ``1 + 1/n``), and an absolute minimum count before any alarm
  (their ``limit54``, our support). Three standard deviations is the classical control limit
  (Shewhart). Thousands of items are tested per region and day: on the generated week of
  ``tests/integration/test_trends_week.py`` (7 × 100k events, seed 7, days 2-7) a floor of 2 listed
  5 non-planted tags in ALL and 45 in the regions, 3 listed 0 and 1, at the cost of 2 of the 10
  planted tags entering one day later (on their ×5 day instead of their ×2 one).
* ``overdispersion`` φ = 0.04: NB2 ``var = μ + φ·μ²`` (Cameron & Trivedi, "Regression Analysis of
  Count Data", ch. 3); 0.04 = (20 %)², the ±20 % day-to-day noise of large flat tags measured on
  real growth series (issue 14). The generator's organic tags are near-Poisson (φ ≈ 0.005), so the
  generated week does not exercise it; the synthetic series of ``bench/eval_trends.py`` do.
* ``min_lift`` = 0.5: the smallest relative rise worth showing, an effect-size floor beside the
  significance floor (``z`` alone lists a +20 % day of a huge item when φ is set low); real
  risers the issue names are ×2.3 on their first day.
* ``pseudo_count``, ``min_support``, ``min_support_share``: additive (Laplace) smoothing and the
  minimum-use threshold of Mastodon's trending tags (``app/models/trends/tags.rb``: observed vs
  expected uses, a minimum, a half-life decay — its score is ``(o − e)² / e``, the square of a
  Poisson z); ``min_support_excess`` = 40: the absolute floor of a large region, chosen so that a
  ×2.3 riser from about 40 users a day qualifies.

The state the next day decays is ``gold.<item>_trend_scores`` (every item with engagement on
``ds`` or a score still above 0.01, with ``is_trending`` and ``days_trending``); the baseline is
read from the daily stats partitions of the window, so a night's cost depends on the window, not on
the length of history.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from reelhouse.gold.daily_stats import ALL_REGIONS, ENGAGEMENT_TYPES, with_region_rows

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

    from reelhouse.config import TrendsConfig

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
    (``region``, ``item``, ``trend_score``, and ``days_trending`` when it has it);
    ``baseline_days_available``: days of the window the lake has (1..baseline_days; 0 = no
    history); ``region_users``: (``region``, ``engaged_users``) of ``ds``. Returns the
    ``gold.<item>_trend_scores`` columns.
    """
    from pyspark.sql import functions as F

    keys = ["region", item]
    alpha = decay_alpha(params.half_life_days)
    n = float(max(baseline_days_available, 1))
    base = baseline.groupBy(*keys).agg(
        (F.sum("engaged_users_weighted") / F.lit(n)).alias("expected"),
        F.countDistinct("ds").cast("int").alias("baseline_days_with_data"),
    )
    prev_days = F.col("days_trending") if "days_trending" in previous.columns else F.lit(0)
    prev = previous.select(*keys, F.col("trend_score").alias("_prev"), prev_days.cast("int").alias("_prev_days"))
    cur = today.select(*keys, "engaged_users", "engaged_users_weighted")
    df = cur.join(prev, keys, "full_outer").join(base, keys, "left")
    if region_users is not None:
        df = df.join(F.broadcast(region_users.select("region", F.col("engaged_users").alias("_region_users"))), "region", "left")
    else:
        df = df.withColumn("_region_users", F.lit(0))
    o = F.coalesce(F.col("engaged_users_weighted"), F.lit(0.0))
    e = F.coalesce(F.col("expected"), F.lit(0.0))
    # NB2 variance of today's count, plus the variance of a mean estimated from n days
    variance = (e + F.lit(params.pseudo_count) + F.lit(params.overdispersion) * e * e) * F.lit(1.0 + 1.0 / n)
    z = (o - e) / F.sqrt(variance)
    region_floor = F.least(F.lit(params.min_support_share) * F.coalesce("_region_users", F.lit(0)),
                           e + F.lit(params.min_support_excess))
    supported = o >= F.greatest(F.lit(params.min_support), region_floor)
    rising = supported & (z >= F.lit(params.min_z)) & (o >= F.lit(1.0 + params.min_lift) * e) & (o > e)
    raw = F.when(supported, F.greatest(z, F.lit(0.0))).otherwise(F.lit(0.0))
    score = F.lit(alpha) * raw + F.lit(1.0 - alpha) * F.coalesce(F.col("_prev"), F.lit(0.0))
    out = df.select(
        *keys,
        F.coalesce(F.col("engaged_users"), F.lit(0)).cast("long").alias("engaged_users"),
        o.alias("engaged_users_weighted"),
        e.alias("expected"),
        F.coalesce(F.col("baseline_days_with_data"), F.lit(0)).cast("int").alias("baseline_days_with_data"),
        z.alias("z_score"),
        F.when(e > 0, o / e).alias("lift"),
        raw.alias("raw_score"),
        score.alias("trend_score"),
        rising.alias("is_trending"),
        F.when(rising, F.coalesce(F.col("_prev_days"), F.lit(0)) + 1).otherwise(F.lit(0)).cast("int").alias("days_trending"),
        (F.coalesce(F.col("baseline_days_with_data"), F.lit(0)) == 0).alias("is_new_item"),
        F.lit(ds).cast("date").alias("ds"),
    )
    return out.where((F.col("engaged_users") > 0) | (F.col("trend_score") >= MIN_KEPT_SCORE))


def baseline_window(ds: date, baseline_days: int) -> list[date]:
    """The ``baseline_days`` dates before ``ds`` (``ds`` − 1 first, ``ds`` excluded): the daily
    stats partitions the expectation ``e`` is the mean over."""
    return [ds - timedelta(days=k) for k in range(1, baseline_days + 1)]


def with_creators(trending_videos: "DataFrame", video_stats: "DataFrame") -> "DataFrame":
    """``gold.trending_videos`` rows: :func:`top_trending` rows of videos plus each video's
    ``creator_id``, taken from the ``ALL``-region daily stats of the same day (``video_id``,
    ``creator_id``; NULL when the video has no known creator)."""
    from pyspark.sql import functions as F

    creators = video_stats.where(F.col("region") == ALL_REGIONS).select("video_id", "creator_id")
    return trending_videos.join(creators, "video_id", "left")


def region_engaged_users(events: "DataFrame") -> "DataFrame":
    """Distinct users with a play, like, share, comment or follow per region (and ``ALL``):
    (``region``, ``engaged_users``)."""
    from pyspark.sql import functions as F

    return (
        with_region_rows(events.where(F.col("event_type").isin(*ENGAGEMENT_TYPES)))
        .groupBy("region")
        .agg(F.countDistinct("user_id").alias("engaged_users"))
    )


def top_trending(scores: "DataFrame", *, item: str, top_n: int) -> "DataFrame":
    """The items rising today (``is_trending``) per region, at most ``top_n``, ranked 1..n by
    ``trend_score`` (ties by ``z_score``, engaged users, item id); fewer on a quiet day, none when
    nothing rises."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("region").orderBy(F.col("trend_score").desc(), F.col("z_score").desc(),
                                             F.col("engaged_users").desc(), F.col(item))
    return (
        scores.where(F.col("is_trending"))
        .withColumn("rank", F.row_number().over(w).cast("int"))
        .where(F.col("rank") <= top_n)
        .select("region", "rank", item, "trend_score", "z_score", "lift", "days_trending", "engaged_users",
                "expected", "is_new_item", "ds")
    )


def _ranks(stats: "DataFrame", scores: "DataFrame") -> "DataFrame":
    """Engagement and trend ranks of every hashtag with stats on a day, per region. The trend rank
    puts the hashtags rising that day first, in the trending list's order (score, then z), then
    the rest by score, so trend ranks 1..n are ``gold.trending_hashtags``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = ["region", "hashtag"]
    rising = F.col("is_trending") if "is_trending" in scores.columns else F.lit(False)
    z = F.col("z_score") if "z_score" in scores.columns else F.lit(0.0)
    df = stats.select(*keys, "engaged_users", "distinct_creators", "distinct_videos").join(
        scores.select(*keys, "trend_score", rising.alias("_rising"), z.alias("_z")), keys, "left"
    ).withColumn("trend_score", F.coalesce("trend_score", F.lit(0.0))).withColumn(
        "_rising", F.coalesce("_rising", F.lit(False)))
    we = Window.partitionBy("region").orderBy(F.col("engaged_users").desc(), F.col("hashtag"))
    wt = Window.partitionBy("region").orderBy(F.col("_rising").desc(), F.col("trend_score").desc(),
                                              F.col("_z").desc_nulls_last(), F.col("engaged_users").desc(), F.col("hashtag"))
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
