"""Training-example transforms: one row per impression, labels from what followed, features as of the impression.

For a date ``ds``:

* **labels** (:func:`impression_labels`) — every ``impression`` event of ``ds`` is an example. The
  ``play`` and ``like`` events of the same user and video that follow it within
  ``training.label_window_seconds`` and before that pair's next impression are its outcome (each
  engagement belongs to the latest impression of the pair at or before it): ``label_play``,
  ``label_complete`` (a play ≥ ``trends.completion_threshold`` × duration, loops included),
  ``label_like``, ``label_long_view`` (a play ≥ ``training.long_view_ms``). An impression without a
  play is a negative.
* **features** (:func:`as_of`) — a point-in-time join: for each example, the latest row of
  ``gold.user_features`` / ``gold.video_features`` / ``gold.creator_features`` whose
  ``feature_time`` is **at or before the impression time**, among the partitions of the view's
  online TTL (``online_store.ttl_days``) — exactly what the online store would have served at that
  instant (training/serving consistency). A value computed from later events has a later
  feature_time and can never be joined. ``user_video_interest`` sums the user's hashtag interest
  scores (``gold.user_interests`` of the same snapshot as the user features) over the video's
  hashtags: the user × video signal a popularity baseline does not have.
* **sampled negatives** (:func:`sample_negatives`, ``training.negative_ratio`` > 0) — for a share of
  impressions, the same user and time with a random video from the previous day's active videos
  that the user was not shown that day; every label 0. Sampling hashes ids with
  ``training.seed`` (no ``rand()``), so the draw does not depend on Spark's partitioning and a
  rebuild reproduces it.
* **cohorts** — ``is_new_user`` (no user features yet), ``is_new_video`` (published < 24 h before
  the impression, or no video features yet; a video with features but no known publish time is
  not new), ``is_trending_video`` (in ``gold.trending_videos``,
  region ALL, of ``ds`` − 1).

:func:`build` is the dataset of ``ds`` read from every input at given Delta versions; the step
(``spark_jobs/gold_training_examples.py``) writes it as partition ``ds`` of
``gold.training_examples`` and records a manifest (:mod:`reelhouse.ml.datasets`):
the Delta version of every input read, row counts, label rates, time range, seed and the content
hash a rebuild must reproduce (``reelhouse dataset rebuild MANIFEST``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config
    from reelhouse.lake import Lake

LABELS = ("label_play", "label_complete", "label_like", "label_long_view")
#: feature source table → (view name for the TTL, join key, prefix, columns)
FEATURE_SOURCES = {
    "gold.user_features": ("user_features", "user_id", "user"),
    "gold.video_features": ("video_features", "video_id", "video"),
    "gold.creator_features": ("creator_features", "creator_id", "creator"),
}


def impression_labels(events: "DataFrame", *, label_window_seconds: int, completion_threshold: float,
                      long_view_ms: int) -> "DataFrame":
    """silver.events of one date → one row per impression with its labels.

    Output: example_id, impression_time, user_id, video_id, play_time_ms (longest play in the
    window, ms; NULL without), and the four ``label_*`` ints (0/1)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ev = events.where(F.col("event_type").isin("impression", "play", "like") & F.col("video_id").isNotNull()).select(
        "event_id", "event_type", "event_time", "user_id", "video_id", "play_time_ms", "video_duration_ms")
    is_imp = F.col("event_type") == "impression"
    w = (Window.partitionBy("user_id", "video_id")
         .orderBy(F.col("event_time"), F.when(is_imp, 0).otherwise(1), F.col("event_id"))
         .rowsBetween(Window.unboundedPreceding, Window.currentRow))
    tagged = ev.withColumn("imp_id", F.last(F.when(is_imp, F.col("event_id")), ignorenulls=True).over(w)).withColumn(
        "imp_time", F.last(F.when(is_imp, F.col("event_time")), ignorenulls=True).over(w))
    window_ok = (F.col("event_time").cast("long") - F.col("imp_time").cast("long")) <= label_window_seconds
    follow = tagged.where(~is_imp & F.col("imp_id").isNotNull() & window_ok)
    play = F.col("event_type") == "play"
    complete = play & (F.col("video_duration_ms") > 0) & (
        F.col("play_time_ms") >= F.col("video_duration_ms") * F.lit(completion_threshold))
    outcome = follow.groupBy(F.col("imp_id").alias("example_id")).agg(
        F.max(F.when(play, F.col("play_time_ms"))).alias("play_time_ms"),
        F.max(F.when(play, 1).otherwise(0)).alias("label_play"),
        F.max(F.when(complete, 1).otherwise(0)).alias("label_complete"),
        F.max(F.when(F.col("event_type") == "like", 1).otherwise(0)).alias("label_like"),
        F.max(F.when(play & (F.col("play_time_ms") >= long_view_ms), 1).otherwise(0)).alias("label_long_view"),
    )
    imps = ev.where(is_imp).select(F.col("event_id").alias("example_id"), F.col("event_time").alias("impression_time"),
                                  "user_id", "video_id")
    out = imps.join(outcome, "example_id", "left")
    return out.select("example_id", "impression_time", "user_id", "video_id", "play_time_ms",
                      *[F.coalesce(F.col(c), F.lit(0)).cast("int").alias(c) for c in LABELS])


def as_of(examples: "DataFrame", features: "DataFrame", *, key: str, prefix: str, columns: list[str],
          time_col: str = "impression_time") -> "DataFrame":
    """Point-in-time join: each example gets the feature row (matched on ``key``) with the latest
    ``feature_time <= time_col``; ``columns`` come out as ``<prefix>_<column>`` (unless already
    prefixed) plus ``<prefix>_feature_time``. Examples without such a row get NULLs.

    ``features``: rows of a gold feature table (any partitions; only earlier feature_times match).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    def out_name(c: str) -> str:
        return c if c.startswith(prefix + "_") else f"{prefix}_{c}"

    f = features.select(F.col(key).alias("_k"), F.col("feature_time").alias("_ft"),
                        *[F.col(c).alias(out_name(c)) for c in columns])
    # One left join + a window over example_id, so ``examples`` is read once: joining the picked
    # rows back to ``examples`` made every as-of join double the plan of everything upstream
    # (3 joins + the interest join = 16 copies of the labels' window over silver.events).
    cand = examples.join(f, (F.col(key) == F.col("_k")) & (F.col("_ft") <= F.col(time_col)), "left")
    latest = cand.withColumn("_r", F.row_number().over(Window.partitionBy("example_id").orderBy(F.col("_ft").desc()))).where(
        F.col("_r") == 1)
    rest = [c for c in examples.columns if c != "example_id"]
    return latest.select("example_id", *rest, F.col("_ft").alias(f"{prefix}_feature_time"), *[out_name(c) for c in columns])


def user_video_interest(examples: "DataFrame", interests: "DataFrame", video_hashtags: "DataFrame") -> "DataFrame":
    """Adds ``user_video_interest`` (Σ) and ``user_video_interest_max`` of the user's interest
    scores over the video's hashtags, from the ``gold.user_interests`` snapshot whose feature_time
    equals the example's ``user_feature_time`` (0 when none). Sums run over sorted scores so the
    result is bit-for-bit reproducible."""
    from pyspark.sql import functions as F

    snap = interests.select("user_id", "hashtag", "score",
                            (F.col("ds").cast("timestamp") + F.expr("INTERVAL 1 DAY")).alias("user_feature_time"))
    tags = video_hashtags.select("video_id", "hashtag").distinct()
    pairs = (examples.select("example_id", "user_id", "video_id", "user_feature_time")
             .join(tags, "video_id").join(snap, ["user_id", "hashtag", "user_feature_time"]))
    agg = pairs.groupBy("example_id").agg(
        F.aggregate(F.array_sort(F.collect_list("score")), F.lit(0.0), lambda acc, x: acc + x).alias("user_video_interest"),
        F.max("score").alias("user_video_interest_max"))
    return examples.join(agg, "example_id", "left").fillna(0.0, ["user_video_interest", "user_video_interest_max"])


def sample_negatives(examples: "DataFrame", candidates: "DataFrame", *, ratio: float, seed: int) -> "DataFrame":
    """Sampled negatives: for ``ratio`` of the impressions (ratio > 1: several per impression), the
    same user and impression_time with a video drawn from ``candidates`` (video_id) that the user was
    not shown that day. Deterministic: draws hash (example_id, copy, seed). Returns rows with the
    columns of :func:`impression_labels` (labels 0, play_time_ms NULL, example_id ``neg:<id>:<k>``)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if ratio <= 0:
        return examples.limit(0).select("example_id", "impression_time", "user_id", "video_id", "play_time_ms", *LABELS)
    copies = int(ratio) + 1
    frac = ratio / copies
    cand = candidates.select("video_id").distinct().withColumn("_i", F.row_number().over(Window.orderBy("video_id")) - 1)
    n = cand.count()
    if n == 0:
        return examples.limit(0).select("example_id", "impression_time", "user_id", "video_id", "play_time_ms", *LABELS)
    base = examples.select("example_id", "impression_time", "user_id").withColumn(
        "_k", F.explode(F.sequence(F.lit(0), F.lit(copies - 1))))
    h = F.xxhash64("example_id", "_k", F.lit(seed))
    drawn = base.where(F.pmod(h, F.lit(1_000_000)) < F.lit(int(frac * 1_000_000))).withColumn(
        "_i", F.pmod(F.xxhash64("example_id", "_k", F.lit(seed), F.lit("video")), F.lit(n)))
    neg = drawn.join(cand, "_i").select(
        F.concat(F.lit("neg:"), F.col("example_id"), F.lit(":"), F.col("_k").cast("string")).alias("example_id"),
        "impression_time", "user_id", "video_id")
    shown = examples.select("user_id", "video_id").distinct()
    neg = neg.join(shown, ["user_id", "video_id"], "left_anti")
    return neg.select("example_id", "impression_time", "user_id", "video_id", F.lit(None).cast("long").alias("play_time_ms"),
                      *[F.lit(0).alias(c) for c in LABELS])


def training_examples(labelled: "DataFrame", negatives: "DataFrame", *, features: Mapping[str, "DataFrame"],
                      columns: Mapping[str, list[str]], videos: "DataFrame", interests: "DataFrame",
                      video_hashtags: "DataFrame", trending: "DataFrame", ds: date) -> "DataFrame":
    """Assemble the dataset rows of ``ds`` (schema ``gold.training_examples``) from labelled
    impressions, sampled negatives, the candidate feature rows per source table, silver.videos
    (creator, published_at), user interests, the video→hashtag bridge and yesterday's trending
    videos."""
    from pyspark.sql import functions as F

    ex = labelled.withColumn("is_sampled_negative", F.lit(False)).unionByName(
        negatives.withColumn("is_sampled_negative", F.lit(True)))
    vids = videos.select("video_id", "creator_id", "published_at")
    ex = ex.join(vids, "video_id", "left")
    for table, (_, key, prefix) in FEATURE_SOURCES.items():
        ex = as_of(ex, features[table], key=key, prefix=prefix, columns=columns[table])
    ex = user_video_interest(ex, interests, video_hashtags)
    trend_ids = trending.select("video_id").distinct().withColumn("is_trending_video", F.lit(True))
    return cohort_flags(ex.join(trend_ids, "video_id", "left")).withColumn("ds", F.lit(ds))


def cohort_flags(examples: "DataFrame") -> "DataFrame":
    """Add the cohort flags to examples carrying impression_time, published_at (NULL when the
    publish event is unknown), user_feature_time, video_feature_time (NULL when no snapshot was
    joined) and is_trending_video (NULL = not trending): ``is_new_user`` (no user features),
    ``is_new_video`` (no video features, or published < 24 h before the impression — a video with
    features but an unknown publish time had events before the snapshot, so it is not new),
    ``is_trending_video`` (NULL → False). All three non-null booleans."""
    from pyspark.sql import functions as F

    age_h = (F.col("impression_time").cast("long") - F.col("published_at").cast("long")) / 3600.0
    return examples.withColumn("is_new_user", F.col("user_feature_time").isNull()).withColumn(
        "is_new_video", F.col("video_feature_time").isNull() | F.coalesce(age_h < 24, F.lit(False))).withColumn(
        "is_trending_video", F.coalesce(F.col("is_trending_video"), F.lit(False)))


def input_windows(ds: date, ttl_days: Mapping[str, float]) -> dict[str, list[date]]:
    """The partitions of every input the build of ``ds`` reads (feature tables: their TTL window)."""
    out: dict[str, list[date]] = {"silver.events": [ds], "gold.trending_videos": [ds - timedelta(days=1)]}
    for table, (view, _, _) in FEATURE_SOURCES.items():
        days = max(1, int(-(-ttl_days[view] // 1)))
        out[table] = [ds - timedelta(days=k) for k in range(days, -1, -1)]
    out["gold.user_interests"] = out["gold.user_features"]
    return out


def build(spark: "SparkSession", lake: "Lake", config: "Config", ds: date, *, versions: Mapping[str, int | None]) -> "DataFrame":
    """The dataset of ``ds`` read from the inputs at exactly ``versions`` (table → Delta version;
    None = the table did not exist). Used by :func:`run` and by a rebuild from a manifest."""
    from reelhouse.lake.catalog import _CREATOR_FEATURES, _USER_FEATURES, _VIDEO_FEATURES, get_table, spark_schema

    def read(table: str, where=None):
        v = versions.get(table)
        if v is None:  # the table did not exist when the build read its inputs
            return lake.spark.createDataFrame([], spark_schema(get_table(table)))
        return lake.read(table, version=v, where=where)

    parts = input_windows(ds, config.online_store.ttl_days)
    tc, tr = config.training, config.trends
    events = read("silver.events", {"event_date": parts["silver.events"]})
    labelled = impression_labels(events, label_window_seconds=tc.label_window_seconds,
                                 completion_threshold=tr.completion_threshold, long_view_ms=tc.long_view_ms)
    features = {t: read(t, {"ds": parts[t]}) for t in FEATURE_SOURCES}
    columns = {"gold.user_features": list(_USER_FEATURES), "gold.video_features": list(_VIDEO_FEATURES),
               "gold.creator_features": list(_CREATOR_FEATURES)}
    candidates = features["gold.video_features"].where(
        features["gold.video_features"].ds == ds - timedelta(days=1)).select("video_id")
    negatives = sample_negatives(labelled, candidates, ratio=tc.negative_ratio, seed=tc.seed)
    df = training_examples(
        labelled, negatives, features=features, columns=columns, videos=read("silver.videos"),
        interests=read("gold.user_interests", {"ds": parts["gold.user_interests"]}),
        video_hashtags=read("silver.video_hashtags"),
        trending=read("gold.trending_videos", {"ds": parts["gold.trending_videos"]}).where("region = 'ALL'"), ds=ds)
    return df.select(get_table("gold.training_examples").column_names)


#: every table :func:`build` reads (the manifest records each one's Delta version)
INPUTS = ("silver.events", "silver.videos", "silver.video_hashtags", "gold.user_features", "gold.video_features",
          "gold.creator_features", "gold.user_interests", "gold.trending_videos")
