"""Training benchmark (issue 6): building ``gold.training_examples`` from N impressions, and training
the ranking model on them.

**Inputs, synthesized** (not measured). Generating ~2N events through the event generator, ingest
and every gold step would take far longer than what is measured, so the inputs the step reads are
synthesized directly with Spark — ``spark.range`` plus columns that are pure functions of
``xxhash64(seed, salt, id)`` (seeded, deterministic, independent of Spark's partitioning) — and
written through :class:`reelhouse.lake.Lake` with the catalog schemas, so they are real Delta
tables, exactly what the step reads:

* ``silver.events`` of day D (``2024-06-08``): N ``impression`` events (``--impressions``, default
  5,000,000; ``--quick`` 200,000) over U = N/15 users (Zipf-ish: index ⌊U·x²⌋) and V = N/50 videos
  (⌊V·x³⌋: a few videos get most impressions; 40 % of impressions re-aimed at a video of the
  user's topic); 90 % of impressions get a ``play`` 1–5 s later (complete with a probability that
  grows with the video's quality, the user's propensity and a topic match; loops up to 1.5×), a
  few % a ``like``; 1 % of events without a video duration. Plus day D+1 with ``--valid-impressions``
  (default N/5), the validation day of the retrain. Events keep ``event_date`` = their UTC date
  (a play after midnight lands on the next day, as in silver).
* ``silver.videos`` / ``silver.video_hashtags``: the V videos (creator among V/8 creators, published
  up to 180 days before D, exponential ages with a 20-day mean, 1–4 hashtags of the video's topic).
* Every feature partition the step reads for D and D+1 (their online TTL windows,
  ``online_store.ttl_days``): ``gold.user_features`` + ``gold.user_interests`` (1–10 hashtag
  interests from the user's topic; ~2.5 % of users join each day and have no snapshot before),
  ``gold.video_features`` (videos published before the snapshot's feature_time; views from the
  popularity law) for D-2 … D+1, ``gold.creator_features`` for D-7 … D+1, and
  ``gold.trending_videos`` (ALL + 3 regions × top 20 of the 200 most-shown videos) for D-1 and D.

**Measured**:

1. **build D** — ``spark_jobs.gold_training_examples.run(spark, lake, config, D, run_version=1)``,
   the real step: labels, as-of joins, sampled negatives (``--negative-ratio``; default: the
   configuration's ``training.negative_ratio``), the ``overwrite_partitions`` commit and the
   manifest (streamed content hash, JSON + ``ml.dataset_manifests``). Broken down by timing the
   commit (a lazy Spark plan: the whole computation lands in it), ``record_manifest`` and its
   ``partition_hash``. **impressions/s** = impressions / seconds, **rows/s** = rows written / seconds.
2. **build D+1** — the same for the validation day (a second, smaller size).
3. **retrain** — ``reelhouse.ml.model.retrain(lake, config, D+1, window_days=1, require_gate=False)``:
   train on D, validate on D+1, MLflow (embedded SQLite under the temporary lake;
   ``MLFLOW_TRACKING_URI`` is unset for the run) run + registered version + promotion record. Broken
   down by timing ``model.load_examples`` (delta-rs → Arrow, one day at a time, into a float32
   matrix), ``lightgbm.train`` (Dataset binning + ``model.NUM_ROUNDS`` rounds with
   ``model.PARAMS``), ``Booster.predict`` and ``model.evaluate``; the rest (manifests, MLflow
   logging and registry, gate lookup, ``ml.model_promotions``) is "other". **train rows/s** =
   training rows / ``lightgbm.train`` seconds; **predict rows/s** = validation rows / predict
   seconds.

For each step: the average cores other processes used meanwhile (:class:`_common.CpuMonitor`; a
step at ≥ 0.25 is flagged as disturbed) and the peak resident memory of this Python process and of
the Spark JVM during the step (``VmHWM``, reset per step through ``/proc/<pid>/clear_refs``).
Checks (exit status 1 otherwise): the build wrote one row per synthesized impression (+ the
sampled negatives) and the retrain's validation rows are the D+1 build's rows.

Usage (from the project root)::

    .venv/bin/python bench/bench_training.py                   # 5M impressions (~9 min on a quiet machine)
    .venv/bin/python bench/bench_training.py --quick           # 200k impressions: smoke check
    .venv/bin/python bench/bench_training.py --impressions 1000000 [--negative-ratio 1] [--out /tmp/t.json]

Settings as the other benchmarks (``bench/_common.py``): ``REELHOUSE_ENV=local`` (Spark
``local[2]``), the delta-rs lake engine, a temporary lake (removed at the end; ``--tmp-dir``),
``spark.driver.memory`` 8g unless ``REELHOUSE__SPARK__CONF__spark.driver.memory`` is set; waits
for other benchmarks first (``--max-wait``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared helpers
from _common import (  # noqa: E402
    BENCHMARK_SCRIPTS,
    DEFAULT_MAX_WAIT,
    REPO,
    CpuMonitor,
    PhaseTimer,
    code_version,
    contention_warning,
    fmt_int,
    format_rows,
    header_lines,
    lake_config,
    local_env,
    machine_info,
    positive_int,
    rate,
    spark_settings,
    start_spark,
    timed_lake_class,
    wait_for_quiet,
)

SEED = 1
DAY = date(2024, 6, 8)
VALID_DAY = DAY + timedelta(days=1)
DEFAULT_IMPRESSIONS = 5_000_000
QUICK_IMPRESSIONS = 200_000
DEFAULT_OUT = REPO / "bench" / "results" / "training.json"
#: latent topics; each has TAGS_PER_TOPIC hashtags (user interests and video hashtags come from them)
TOPICS = 20
TAGS_PER_TOPIC = 40
#: share of impressions re-aimed at a video of the user's topic
IN_TOPIC = 0.4
PLAY_SHARE = 0.9
REGIONS = ("US", "BR", "IN", "ID", "MX", "GB", "DE", "JP")
PLATFORMS = ("android", "ios", "web")
_U40 = float(1 << 40)


# ----------------------------------------------------------------------------- synthesis
@dataclass(frozen=True)
class World:
    """Sizes of the synthetic world: ``users``, ``videos``, ``creators`` (counts)."""

    users: int
    videos: int
    creators: int

    @classmethod
    def for_impressions(cls, n: int) -> "World":
        """N/15 users, N/50 videos (at least 2,000 of each), videos/8 creators."""
        users = max(2_000, n // 15)
        videos = max(2_000, n // 50)
        return cls(users, videos, max(100, videos // 8))


def _epoch_s(d: date) -> int:
    return int(datetime.combine(d, datetime.min.time(), timezone.utc).timestamp())


def h01(salt: str, *cols):
    """A uniform double in [0, 1) from ``xxhash64(SEED, salt, *cols)``: deterministic per row."""
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(F.lit(SEED), F.lit(salt), *cols), F.lit(1 << 40)).cast("double") / _U40


def _pick(values: tuple[str, ...], u):
    from pyspark.sql import functions as F

    return F.element_at(F.array(*[F.lit(v) for v in values]), (F.floor(u * len(values)) + 1).cast("int"))


def _uid(c):
    from pyspark.sql import functions as F

    return F.format_string("u%08d", c)


def _vid(c):
    from pyspark.sql import functions as F

    return F.format_string("v%09d", c)


def _video_attrs(v, w: World):
    """Latent attributes of video index ``v``: topic, quality in [0, 1), duration (ms), creator index,
    publish time (epoch s)."""
    from pyspark.sql import functions as F

    age_s = F.least(-F.log(F.lit(1.0) - h01("vage", v)) * (20 * 86_400), F.lit(180 * 86_400.0))
    return {
        "topic": F.pmod(v, F.lit(TOPICS)),
        "quality": h01("vq", v),
        "duration": (F.lit(5_000) + F.floor(h01("vd", v) * 55_000)).cast("long"),
        "creator": F.pmod(F.xxhash64(F.lit(SEED), F.lit("vc"), v), F.lit(w.creators)),
        "published_s": F.lit(_epoch_s(DAY)) - F.floor(age_s).cast("long") - 1,
    }


def _user_topic(u):
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(F.lit(SEED), F.lit("ut"), u), F.lit(TOPICS))


def _tag(topic, k):
    from pyspark.sql import functions as F

    return F.format_string("t%02d_%02d", topic.cast("int"), k.cast("int"))


def day_events(spark, d: date, n: int, w: World):
    """silver.events rows for ``n`` impressions on ``d`` (plus their plays and likes)."""
    from pyspark.sql import functions as F

    ymd = d.strftime("%Y%m%d")
    day = F.lit(ymd)
    i = F.col("id")
    u = F.floor(F.lit(w.users) * F.pow(h01("iu", day, i), 2)).cast("long")
    v0 = F.floor(F.lit(w.videos) * F.pow(h01("iv", day, i), 3)).cast("long")
    base = spark.range(n).select(i, u.alias("u"), v0.alias("v0"),
                                 (F.lit(_epoch_s(d) * 1000) + F.floor(h01("it", day, i) * 86_400_000)).cast("long").alias("t_ms"))
    ut = _user_topic(F.col("u"))
    aimed = F.col("v0") - F.pmod(F.col("v0"), F.lit(TOPICS)) + ut
    base = base.withColumn("v", F.when((h01("ia", day, i) < IN_TOPIC) & (aimed < w.videos), aimed).otherwise(F.col("v0")))
    va = _video_attrs(F.col("v"), w)
    match = (va["topic"] == ut).cast("double")
    p_complete = F.lit(0.1) + 0.35 * va["quality"] + 0.25 * h01("up", F.col("u")) + 0.2 * match
    complete = h01("ic", day, i) < p_complete
    dur = va["duration"]
    watch = F.when(complete, dur * (0.9 + 0.6 * h01("iw", day, i))).otherwise(dur * 0.89 * F.pow(h01("iw", day, i), 1.5))
    base = base.select(
        "id", "u", "v", "t_ms",
        (h01("ip", day, i) < PLAY_SHARE).alias("played"),
        F.floor(watch).cast("long").alias("play_ms"),
        (h01("il", day, i) < F.lit(0.01) + 0.05 * complete.cast("double") * (0.5 + va["quality"])).alias("liked"),
        (F.col("t_ms") + 1_000 + F.floor(h01("idl", day, i) * 4_000)).cast("long").alias("play_t_ms"),
        dur.alias("dur"),
    )

    def events(kind: str, k: int, t_ms, play_ms, where):
        eid = F.concat(F.lit(f"e-{SEED}-{ymd}-"), F.lpad(F.lower(F.hex(i * 3 + k)), 7, "0"))
        et = F.timestamp_millis(t_ms)
        return base.where(where).select(
            eid.alias("event_id"), F.lit(kind).alias("event_type"), et.alias("event_time"),
            _uid(F.col("u")).alias("user_id"), _vid(F.col("v")).alias("video_id"),
            F.lit(None).cast("string").alias("creator_id"), play_ms.alias("play_time_ms"),
            F.when(h01("dn", day, i, F.lit(k)) >= 0.01, F.col("dur")).alias("video_duration_ms"),
            F.lit(None).cast("array<string>").alias("hashtags"),
            F.lit(None).cast("string").alias("sound_id"), F.lit(None).cast("string").alias("caption"),
            _pick(REGIONS, h01("ur", F.col("u"))).alias("region"), _pick(PLATFORMS, h01("upl", F.col("u"))).alias("platform"),
            F.format_string("3.%d.0", F.floor(h01("uav", F.col("u")) * 6).cast("int")).alias("app_version"),
            F.lit(None).cast("map<string,string>").alias("extra"),
            F.format_string(f"synthetic/{ymd}/part-%02d.jsonl.gz", F.pmod(i, F.lit(24)).cast("int")).alias("_source_file"),
            F.lit(datetime.combine(d + timedelta(days=1), datetime.min.time(), timezone.utc)).alias("_ingested_at"),
            F.to_date(et).alias("event_date"), F.to_date(et).alias("landing_date"),
        )

    imp = events("impression", 0, F.col("t_ms"), F.lit(None).cast("long"), F.lit(True))
    play = events("play", 1, F.col("play_t_ms"), F.col("play_ms"), F.col("played"))
    like = events("like", 2, F.col("play_t_ms") + F.col("play_ms") + 1_000, F.lit(None).cast("long"),
                  F.col("played") & F.col("liked"))
    return imp.unionByName(play).unionByName(like)


def videos_frame(spark, w: World):
    """silver.videos rows for the world's videos."""
    from pyspark.sql import functions as F

    v = F.col("id")
    a = _video_attrs(v, w)
    nt = (F.lit(1) + F.floor(h01("vnt", v) * 4)).cast("int")
    start = F.floor(h01("vts", v) * TAGS_PER_TOPIC)
    tags = F.transform(F.sequence(F.lit(0), nt - 1), lambda k: _tag(a["topic"], F.pmod(start + k * 11, F.lit(TAGS_PER_TOPIC))))
    pub = F.timestamp_seconds(a["published_s"])
    return spark.range(w.videos).select(
        _vid(v).alias("video_id"), _uid(a["creator"]).alias("creator_id"), pub.alias("published_at"),
        a["duration"].alias("video_duration_ms"), F.format_string("s%06d", F.pmod(v * 7919, F.lit(50_000))).alias("sound_id"),
        F.format_string("video %d", v).alias("caption"), tags.alias("hashtags"),
        _pick(REGIONS, h01("ur", a["creator"])).alias("region"), F.concat(F.lit("pub-"), _vid(v)).alias("publish_event_id"),
        F.lit("synthetic/publish.jsonl.gz").alias("_source_file"), F.to_date(pub).alias("published_date"),
    )


def video_hashtags_frame(videos):
    """silver.video_hashtags rows: the bridge of ``videos`` (silver.videos rows)."""
    from pyspark.sql import functions as F

    return videos.select("video_id", "creator_id", "published_at", "published_date",
                         F.posexplode("hashtags").alias("position", "hashtag")).select(
        "video_id", "hashtag", F.col("position").cast("int").alias("position"), "creator_id", "published_at", "published_date")


def _snapshot_cols(s: date):
    from pyspark.sql import functions as F

    return F.lit(datetime.combine(s + timedelta(days=1), datetime.min.time(), timezone.utc)).alias("feature_time"), F.lit(s).alias("ds")


def user_snapshot(spark, s: date, w: World):
    """gold.user_features rows of snapshot ``s`` (users who joined by ``s``), with the interest arrays."""
    from pyspark.sql import functions as F

    u = F.col("id")
    sd = F.lit(s.isoformat())
    joined_days_before = F.floor(h01("uj", u) * 40) - 1  # -1: joins on D+1
    a, p = h01("ua", u), h01("up", u)
    e28 = F.floor((F.lit(20) + 3000 * F.pow(a, 3)) * (0.9 + 0.2 * h01("ue", u, sd))).cast("long")
    plays = F.floor(e28 * 0.45).cast("long")
    no_dur = h01("und", u, sd) < 0.02
    nk = (F.lit(1) + F.floor(h01("unk", u) * 10)).cast("int")
    start = F.floor(h01("uts", u) * TAGS_PER_TOPIC)
    topic = _user_topic(u)
    ft, ds = _snapshot_cols(s)
    df = spark.range(w.users).where(joined_days_before >= F.lit((DAY - s).days)).select(
        _uid(u).alias("user_id"), ft,
        F.floor(e28 * 0.25 / 7 * (0.5 + h01("ue1", u, sd))).cast("long").alias("events_1d"),
        F.floor(e28 * (0.2 + 0.1 * h01("ue7", u, sd))).cast("long").alias("events_7d"),
        e28.alias("events_28d"), plays.alias("plays_28d"),
        F.least(F.lit(28), F.lit(1) + F.floor(a * 28)).cast("int").alias("active_days_28d"),
        F.when(~no_dur, F.lit(0.4) + 0.8 * p + 0.1 * h01("uw", u, sd)).alias("avg_watch_ratio_28d"),
        F.when(~no_dur, F.least(F.lit(1.0), F.lit(0.2) + 0.25 * p + 0.1 * h01("uc", u, sd))).alias("completion_rate_28d"),
        (F.lit(0.01) + 0.05 * p * h01("ul", u, sd)).alias("like_rate_28d"),
        (0.01 * h01("us", u, sd)).alias("share_rate_28d"),
        F.transform(F.sequence(F.lit(0), nk - 1), lambda k: _tag(topic, F.pmod(start + k * 7, F.lit(TAGS_PER_TOPIC)))).alias("top_hashtags"),
        F.transform(F.sequence(F.lit(0), nk - 1), lambda k: (F.lit(10.0) - k) * (0.8 + 0.4 * h01("usc", u, sd))).alias("top_hashtag_scores"),
        ds,
    )
    return df


def interests_from(users):
    """gold.user_interests rows from user snapshots (one row per top hashtag, rank 1 = first)."""
    from pyspark.sql import functions as F

    z = users.select("user_id", "ds", F.posexplode(F.arrays_zip("top_hashtags", "top_hashtag_scores")).alias("pos", "z"))
    return z.select("user_id", F.col("z.top_hashtags").alias("hashtag"), F.col("z.top_hashtag_scores").alias("score"),
                    (F.col("pos") + 1).cast("int").alias("rank"), "ds")


def video_snapshot(spark, s: date, w: World, n_per_day: int):
    """gold.video_features rows of snapshot ``s``: videos published before its feature_time, views
    from the popularity law of :func:`day_events` for ``n_per_day`` impressions a day."""
    from pyspark.sql import functions as F

    v = F.col("id")
    sd = F.lit(s.isoformat())
    a = _video_attrs(v, w)
    ft_s = _epoch_s(s + timedelta(days=1))
    share = F.pow((v + 1) / w.videos, 1 / 3) - F.pow(v / w.videos, 1 / 3)
    age_h = (F.lit(ft_s) - a["published_s"]) / 3600.0
    imp1 = n_per_day * share * (0.8 + 0.4 * h01("vi1", v, sd))
    imp7 = imp1 * F.least(F.lit(7.0), age_h / 24) * (0.9 + 0.2 * h01("vi7", v, sd))
    views7 = F.floor(imp7 * PLAY_SHARE).cast("long")
    q = a["quality"]
    seen = views7 > 0
    ft, ds = _snapshot_cols(s)
    return spark.range(w.videos).where(a["published_s"] < ft_s).select(
        _vid(v).alias("video_id"), ft,
        F.when(h01("vcn", v) >= 0.005, _uid(a["creator"])).alias("creator_id"),
        age_h.alias("video_age_hours"), a["duration"].alias("video_duration_ms"),
        F.floor(imp1 * PLAY_SHARE).cast("long").alias("views_1d"), views7.alias("views_7d"),
        F.floor(imp7).cast("long").alias("impressions_7d"),
        F.when(seen, F.least(F.lit(1.0), F.lit(0.22) + 0.35 * q + 0.05 * h01("vcr", v, sd))).alias("completion_rate_7d"),
        F.when(seen, F.lit(0.3) + 0.8 * q + 0.1 * h01("vwr", v, sd)).alias("avg_watch_ratio_7d"),
        F.when(seen, F.lit(0.01) + 0.04 * q * h01("vlr", v, sd)).alias("like_rate_7d"),
        F.when(seen, 0.01 * h01("vsr", v, sd)).alias("share_rate_7d"),
        ((h01("vtr", v, sd) - 0.5) * 4).alias("trend_score"), ds,
    )


def creator_snapshot(spark, s: date, w: World, n_per_day: int):
    """gold.creator_features rows of snapshot ``s`` for every creator."""
    from pyspark.sql import functions as F

    c = F.col("id")
    sd = F.lit(s.isoformat())
    per = w.videos / w.creators
    total = F.floor(per * (0.5 + h01("cvt", c))).cast("long") + 1
    views = F.floor(n_per_day * 7 * PLAY_SHARE / w.creators * F.pow(h01("cv", c), 2) * 3 * (0.9 + 0.2 * h01("cvs", c, sd))).cast("long")
    ft, ds = _snapshot_cols(s)
    return spark.range(w.creators).select(
        _uid(c).alias("creator_id"), ft, total.alias("videos_total"),
        F.floor(total * 0.1 * h01("cv7", c, sd)).cast("long").alias("videos_7d"),
        F.floor(total * (0.3 + 0.5 * h01("cav", c, sd))).cast("long").alias("active_videos_7d"),
        views.alias("views_7d"),
        F.when(views > 0, F.lit(0.25) + 0.3 * h01("ccr", c, sd)).alias("completion_rate_7d"),
        F.when(views > 0, F.lit(0.01) + 0.03 * h01("clr", c, sd)).alias("like_rate_7d"),
        F.floor(views * 0.002 * h01("cfo", c, sd)).cast("long").alias("follows_7d"), ds,
    )


def trending_snapshot(spark, s: date, w: World):
    """gold.trending_videos rows of ``s``: ALL + 3 regions × top 20, distinct videos per region,
    drawn from the 200 most-shown video indexes (impressions pick index ⌊V·x³⌋, so small indexes
    are the popular videos, as trending ones are in the real gold step)."""
    from pyspark.sql import functions as F

    regions = ("ALL",) + REGIONS[:3]
    r = F.col("id")
    region = F.element_at(F.array(*[F.lit(x) for x in regions]), (F.floor(r / 20) + 1).cast("int"))
    rank = (F.pmod(r, F.lit(20)) + 1).cast("int")
    start = F.pmod(F.xxhash64(F.lit(SEED), F.lit("tr"), region, F.lit(s.isoformat())), F.lit(10))
    v = start + (rank - 1) * 10  # distinct per region: offset 0-9, step 10, 20 ranks -> indexes < 200
    a = _video_attrs(v, w)
    return spark.range(len(regions) * 20).select(
        region.alias("region"), rank.alias("rank"), _vid(v).alias("video_id"), _uid(a["creator"]).alias("creator_id"),
        (F.lit(30.0) - rank).alias("trend_score"), (F.lit(500) - rank * 10).cast("long").alias("engaged_users"),
        (F.lit(40.0) + rank).alias("expected"), (h01("tni", v) < 0.1).alias("is_new_item"), F.lit(s).alias("ds"))


def synthesize(spark, lake, cfg, n: int, n_valid: int, monitor: CpuMonitor) -> dict[str, Any]:
    """Write every input table of the builds of DAY and VALID_DAY; returns rows and seconds per table."""
    from functools import reduce

    from reelhouse.ml.training_examples import input_windows

    w = World.for_impressions(n)
    windows = [input_windows(d, cfg.online_store.ttl_days) for d in (DAY, VALID_DAY)]
    snaps = {t: sorted({s for wd in windows for s in wd[t]}) for t in windows[0]}
    out: dict[str, Any] = {"world": {"users": w.users, "videos": w.videos, "creators": w.creators,
                                     "topics": TOPICS, "hashtags": TOPICS * TAGS_PER_TOPIC},
                           "snapshots": {t: [s.isoformat() for s in v] for t, v in snaps.items()}, "tables": {}}

    def union(frames):
        return reduce(lambda a, b: a.unionByName(b), frames)

    videos = videos_frame(spark, w)
    users = union([user_snapshot(spark, s, w) for s in snaps["gold.user_features"]])
    plan: list[tuple[str, Callable[[], Any]]] = [
        ("silver.events", lambda: day_events(spark, DAY, n, w).unionByName(day_events(spark, VALID_DAY, n_valid, w))),
        ("silver.videos", lambda: videos),
        ("silver.video_hashtags", lambda: video_hashtags_frame(videos)),
        ("gold.user_features", lambda: users),
        ("gold.user_interests", lambda: interests_from(users)),
        ("gold.video_features", lambda: union([video_snapshot(spark, s, w, n) for s in snaps["gold.video_features"]])),
        ("gold.creator_features", lambda: union([creator_snapshot(spark, s, w, n) for s in snaps["gold.creator_features"]])),
        ("gold.trending_videos", lambda: union([trending_snapshot(spark, s, w) for s in snaps["gold.trending_videos"]])),
    ]
    for table, frame in plan:
        s0, t0 = monitor.snapshot(), time.perf_counter()
        res = lake.write(frame(), table, mode="append")
        secs = time.perf_counter() - t0
        out["tables"][table] = {"rows": res.rows_added, "files": res.files_added, "seconds": round(secs, 2),
                                "other_processes_cores": CpuMonitor.other_cores(s0, monitor.snapshot())}
        print(f"  synthesized {table}: {fmt_int(res.rows_added)} rows in {secs:.1f} s", flush=True)
    ev = lake.read_arrow("silver.events", columns=["event_type", "event_date"])
    import pyarrow.compute as pc

    counts: dict[str, dict[str, int]] = {}
    for d in (DAY, VALID_DAY):
        day = ev.filter(pc.equal(ev["event_date"], d))
        vc = pc.value_counts(day["event_type"]).to_pylist()
        counts[d.isoformat()] = {x["values"]: int(x["counts"]) for x in vc}
    out["events_by_day"] = counts
    return out


# ----------------------------------------------------------------------------- measuring
class PeakRss:
    """Peak resident memory (``VmHWM``, MiB) of this process and of the Spark JVM (a child ``java``
    process) between :meth:`reset` and :meth:`read`; Linux only (None elsewhere)."""

    def __init__(self) -> None:
        self.pids = {"python": os.getpid()}

    def _find_jvm(self) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                rest = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)
                ppid = int(rest[1].split()[1])
                comm = rest[0].split("(", 1)[1]
            except (OSError, IndexError, ValueError):
                continue
            if ppid == os.getpid() and comm == "java":
                self.pids["jvm"] = int(entry)

    def reset(self) -> None:
        """Reset the peak of every tracked process to its current RSS."""
        if "jvm" not in self.pids:
            self._find_jvm()
        for pid in self.pids.values():
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                pass

    def read(self) -> dict[str, float | None]:
        """``{"python": MiB, "jvm": MiB}``: peak RSS since the last :meth:`reset` (None: unknown)."""
        out: dict[str, float | None] = {}
        for name, pid in self.pids.items():
            out[name] = None
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        out[name] = round(int(line.split()[1]) / 1024, 0)
            except OSError:
                pass
        return out


@contextmanager
def measured(record: dict[str, Any], monitor: CpuMonitor, rss: PeakRss) -> Iterator[None]:
    """Adds ``seconds``, ``other_processes_cores`` and ``peak_rss_mib`` of the block to ``record``."""
    rss.reset()
    s0, t0 = monitor.snapshot(), time.perf_counter()
    try:
        yield
    finally:
        record["seconds"] = round(time.perf_counter() - t0, 3)
        record["other_processes_cores"] = CpuMonitor.other_cores(s0, monitor.snapshot())
        record["peak_rss_mib"] = rss.read()


@contextmanager
def patched(targets: list[tuple[Any, str, str]], timer: PhaseTimer) -> Iterator[None]:
    """Wrap ``getattr(obj, attr)`` with ``timer.phase(name)`` for each ``(obj, attr, name)`` while the
    block runs (a nested timed call counts in both phases)."""
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in targets]

    def wrap(fn, name):
        def wrapper(*a, **k):
            with timer.phase(name):
                return fn(*a, **k)
        return wrapper

    for (obj, attr, name), (_, _, fn) in zip(targets, saved):
        setattr(obj, attr, wrap(fn, name))
    try:
        yield
    finally:
        for obj, attr, fn in saved:
            setattr(obj, attr, fn)


def bench_build(spark, lake, cfg, d: date, monitor: CpuMonitor, rss: PeakRss) -> dict[str, Any]:
    """Time ``gold_training_examples.run`` for ``d``: rows, seconds, rates and the phase breakdown."""
    import reelhouse.ml.datasets as datasets
    from spark_jobs.gold_training_examples import run

    timer = PhaseTimer()
    lake.timer = timer
    rec: dict[str, Any] = {"ds": d.isoformat()}
    with patched([(datasets, "record_manifest", "manifest"), (datasets, "partition_hash", "content hash")], timer):
        with measured(rec, monitor, rss):
            report = run(spark, lake, cfg, d, run_version=1)
    ph = timer.seconds
    commit = ph.get("commit gold.training_examples", 0.0)
    manifest = ph.get("manifest", 0.0)  # partition_hash runs inside record_manifest
    rec.update({
        "rows": report.rows, "impressions": report.impressions, "sampled_negatives": report.sampled_negatives,
        "label_rates": report.label_rates, "step_seconds": report.seconds,
        "impressions_per_second": rate(report.impressions, rec["seconds"]),
        "rows_per_second": rate(report.rows, rec["seconds"]),
        "phases_seconds": {
            "compute + commit (lake.write)": round(commit, 3),
            "manifest (read back, stats, JSON + table)": round(ph.get("manifest", 0.0), 3),
            "  of which content hash": round(ph.get("content hash", 0.0), 3),
            "other (input versions, plan, negatives' candidate count)": round(rec["seconds"] - commit - manifest, 3),
        },
    })
    t = lake.read_arrow("gold.training_examples", where={"ds": d},
                        columns=["user_feature_time", "video_feature_time", "creator_videos_total", "user_video_interest",
                                 "is_new_user", "is_new_video", "is_trending_video"])
    import pyarrow.compute as pc

    n = max(t.num_rows, 1)
    rec["coverage"] = {
        **{f"{c}_joined": round(1 - t[f"{c}_feature_time"].null_count / n, 4) for c in ("user", "video")},
        "creator_joined": round(1 - t["creator_videos_total"].null_count / n, 4),  # no creator_feature_time column
        "user_video_interest_positive": round(pc.sum(pc.greater(t["user_video_interest"], 0)).as_py() / n, 4),
        **{c: round(pc.sum(t[c].cast("int64")).as_py() / n, 4) for c in ("is_new_user", "is_new_video", "is_trending_video")},
    }
    return rec


def bench_retrain(lake, cfg, monitor: CpuMonitor, rss: PeakRss) -> dict[str, Any]:
    """Time ``reelhouse.ml.model.retrain`` (train on DAY, validate on VALID_DAY) with its breakdown."""
    import lightgbm

    import reelhouse.ml.model as model

    timer = PhaseTimer()
    rows: dict[str, int] = {}
    real_load = model.load_examples

    def counting_load(lk, days, **kw):
        ex = real_load(lk, days, **kw)
        rows["valid" if list(days) == [VALID_DAY] else "train"] = len(ex)
        return ex

    model.load_examples = counting_load
    rec: dict[str, Any] = {}
    targets = [(model, "load_examples", "load (delta-rs -> Arrow -> float32 matrix, per day)"),
               (lightgbm, "train", "lightgbm.train"), (lightgbm.Booster, "predict", "predict"),
               (model, "evaluate", "metrics")]
    try:
        with patched(targets, timer), measured(rec, monitor, rss):
            res = model.retrain(lake, cfg, VALID_DAY, window_days=1, require_gate=False)
    finally:
        model.load_examples = real_load
    ph = {k: round(v, 3) for k, v in timer.seconds.items()}
    ph["other (MLflow run + registry, manifests, promotion record)"] = round(rec["seconds"] - sum(timer.seconds.values()), 3)
    train_s, pred_s = ph.get("lightgbm.train", 0.0), ph.get("predict", 0.0)
    rec.update({
        "train_rows": rows.get("train", 0), "valid_rows": rows.get("valid", 0), "features": len(model.feature_columns()),
        "num_rounds": model.NUM_ROUNDS, "params": model.PARAMS, "label": "label_complete",
        "phases_seconds": ph,
        "train_rows_per_second": rate(rows.get("train", 0), train_s),
        "predict_rows_per_second": rate(rows.get("valid", 0), pred_s),
        "load_rows_per_second": rate(rows.get("train", 0) + rows.get("valid", 0), ph.get("load (delta-rs -> Arrow -> float32 matrix, per day)", 0.0)),
        "version": res.version, "promoted": res.promoted, "reason": res.reason,
        "metrics": {who: {k: round(v, 5) for k, v in m.items()} for who, m in res.metrics.items()},
    })
    return rec


# ----------------------------------------------------------------------------- report
def _mib(x: float | None) -> str:
    return "-" if x is None else fmt_int(x)


def format_summary(r: dict[str, Any]) -> str:
    rows = [["step", "rows", "seconds", "rows/s", "impressions/s", "other cores", "peak RSS py / JVM MiB"]]
    for key, name in (("build", f"build {r['build']['ds']} (training_examples.run)"),
                      ("build_valid", f"build {r['build_valid']['ds']} (validation day)")):
        b = r[key]
        rows.append([name, fmt_int(b["rows"]), f"{b['seconds']:.1f}", fmt_int(b["rows_per_second"]),
                     fmt_int(b["impressions_per_second"]), str(b["other_processes_cores"]),
                     f"{_mib(b['peak_rss_mib']['python'])} / {_mib(b['peak_rss_mib'].get('jvm'))}"])
    t = r["retrain"]
    if "error" in t:
        rows.append(["retrain (model.retrain)", "FAILED", "", "", "", "", ""])
        return format_rows(rows, left=1)
    ph = t["phases_seconds"]
    rows.append(["retrain (model.retrain), total", fmt_int(t["train_rows"] + t["valid_rows"]), f"{t['seconds']:.1f}",
                 "", "", str(t["other_processes_cores"]),
                 f"{_mib(t['peak_rss_mib']['python'])} / {_mib(t['peak_rss_mib'].get('jvm'))}"])
    load = ph.get("load (delta-rs -> Arrow -> float32 matrix, per day)", 0.0)
    rows.append(["  load days (train + valid)", fmt_int(t["train_rows"] + t["valid_rows"]), f"{load:.1f}",
                 fmt_int(t["load_rows_per_second"]), "", "", ""])
    rows.append(["  feature matrix (float64)", "", f"{ph.get('feature matrix (float64)', 0.0):.1f}", "", "", "", ""])
    rows.append([f"  lightgbm.train ({t['num_rounds']} rounds, {t['features']} features)", fmt_int(t["train_rows"]),
                 f"{ph.get('lightgbm.train', 0.0):.1f}", fmt_int(t["train_rows_per_second"]), "", "", ""])
    rows.append(["  predict (validation day)", fmt_int(t["valid_rows"]), f"{ph.get('predict', 0.0):.1f}",
                 fmt_int(t["predict_rows_per_second"]), "", "", ""])
    rows.append(["  metrics (AUC, NDCG@10, cohorts)", "", f"{ph.get('metrics', 0.0):.1f}", "", "", "", ""])
    rows.append(["  other (MLflow, registry, records)", "",
                 f"{ph['other (MLflow run + registry, manifests, promotion record)']:.1f}", "", "", "", ""])
    return format_rows(rows, left=1)


def print_report(doc: dict[str, Any]) -> None:
    r = doc["result"]
    s = r["synthesis"]
    print()
    print("\n".join(header_lines(doc)))
    print(f"SparkSession start-up (excluded below): {doc['spark_startup_seconds']:.1f} s; "
          f"waited {doc['wait']['waited_seconds']:.0f} s for other benchmarks")
    w = s["world"]
    print(f"synthetic inputs (not measured): {fmt_int(w['users'])} users, {fmt_int(w['videos'])} videos, "
          f"{fmt_int(w['creators'])} creators, {w['hashtags']} hashtags; written in {s['seconds']:.0f} s")
    for d, c in s["events_by_day"].items():
        print(f"   silver.events {d}: " + ", ".join(f"{k} {fmt_int(v)}" for k, v in sorted(c.items())))
    print("   " + ", ".join(f"{t} {fmt_int(x['rows'])}" for t, x in s["tables"].items() if t != "silver.events"))
    print(f"negative_ratio {doc['settings']['training']['negative_ratio']}; label window "
          f"{doc['settings']['training']['label_window_seconds']} s")
    print()
    print(format_summary(r))
    print()
    b = r["build"]
    print(f"build {b['ds']} phases: " + "; ".join(f"{k} {v:.1f} s" for k, v in b["phases_seconds"].items()))
    print(f"   label rates: " + ", ".join(f"{k} {v:.3f}" for k, v in b["label_rates"].items())
          + f"; sampled negatives {fmt_int(b['sampled_negatives'])}")
    print("   coverage: " + ", ".join(f"{k} {v:.3f}" for k, v in b["coverage"].items()))
    t = r["retrain"]
    if "error" not in t:
        print(f"retrain: v{t['version']} ({'promoted' if t['promoted'] else 'not promoted'}: {t['reason']})")
    for who, m in t.get("metrics", {}).items():
        print(f"   {who:<10} AUC {m['auc']:.4f}  NDCG@10 {m['ndcg_at_10']:.4f}  log loss {m['log_loss']:.4f}  "
              f"rows {fmt_int(m['rows'])}")
    measured_steps = [("build", b["other_processes_cores"]), ("build (validation day)", r["build_valid"]["other_processes_cores"]),
                      ("retrain", t.get("other_processes_cores"))]
    warning = contention_warning(measured_steps)
    print()
    if warning:
        print(warning)
    for problem in r["problems"]:
        print(f"CHECK FAILED: {problem}")
    print(f"whole benchmark: {doc['wall_seconds']:.0f} s; results: {doc['out']}")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_training", description=__doc__.splitlines()[0])
    p.add_argument("--impressions", type=positive_int, default=DEFAULT_IMPRESSIONS,
                   help=f"impressions on the training day (default {DEFAULT_IMPRESSIONS:_})")
    p.add_argument("--valid-impressions", type=positive_int, default=None,
                   help="impressions on the validation day (default: impressions / 5)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_IMPRESSIONS:_} impressions (smoke check); overrides --impressions")
    p.add_argument("--negative-ratio", type=float, default=None,
                   help="training.negative_ratio for the builds (default: the configuration's)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT.relative_to(REPO)})")
    p.add_argument("--tmp-dir", default=None, help="where the temporary lake goes (default: system temp)")
    p.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT,
                   help="seconds to wait for other running benchmarks before measuring (default 1200)")
    args = p.parse_args(argv)
    n = QUICK_IMPRESSIONS if args.quick else args.impressions
    n_valid = args.valid_impressions or max(1_000, n // 5)

    wall0 = time.perf_counter()
    code = code_version(("spark_jobs", "reelhouse"))  # before anything is imported
    started = datetime.now(timezone.utc)
    wait = wait_for_quiet(args.max_wait, (*BENCHMARK_SCRIPTS, "bench_online_store.py", "bench_training.py"))
    local_env()
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # the embedded store under the temporary lake
    if args.negative_ratio is not None:
        os.environ["REELHOUSE__TRAINING__NEGATIVE_RATIO"] = str(args.negative_ratio)

    tmp_root = Path(tempfile.mkdtemp(prefix="reelhouse-bench-training-", dir=args.tmp_dir))
    spark = None
    monitor, rss = CpuMonitor(), PeakRss()
    try:
        cfg = lake_config(tmp_root)
        spark, startup = start_spark(cfg, "reelhouse-bench-training")
        lake = timed_lake_class().from_config(cfg, spark)
        lake.timer = PhaseTimer()
        print(f"synthesizing inputs for {fmt_int(n)} + {fmt_int(n_valid)} impressions ...", flush=True)
        t0 = time.perf_counter()
        synthesis = synthesize(spark, lake, cfg, n, n_valid, monitor)
        synthesis["seconds"] = round(time.perf_counter() - t0, 1)
        print(f"building gold.training_examples for {DAY} ...", flush=True)
        build = bench_build(spark, lake, cfg, DAY, monitor, rss)
        print(f"  {fmt_int(build['rows'])} rows in {build['seconds']:.1f} s", flush=True)
        print(f"building gold.training_examples for {VALID_DAY} ...", flush=True)
        build_valid = bench_build(spark, lake, cfg, VALID_DAY, monitor, rss)
        print(f"  {fmt_int(build_valid['rows'])} rows in {build_valid['seconds']:.1f} s", flush=True)
        print("retraining ...", flush=True)
        problems = []
        try:
            retrain = bench_retrain(lake, cfg, monitor, rss)
            print(f"  {retrain['seconds']:.1f} s", flush=True)
        except Exception as exc:  # keep the build figures: report the failure, exit status 1
            import traceback

            traceback.print_exc()
            retrain = {"error": f"{type(exc).__name__}: {exc}", "train_rows": None, "valid_rows": None}
            problems.append(f"retrain failed: {retrain['error']}")
        for b, d in ((build, DAY), (build_valid, VALID_DAY)):
            imps = synthesis["events_by_day"][d.isoformat()].get("impression", 0)
            if b["impressions"] != imps or b["rows"] != imps + b["sampled_negatives"]:
                problems.append(f"build {d}: {b['impressions']} impressions / {b['rows']} rows for {imps} synthesized impressions")
        if "error" not in retrain and (retrain["train_rows"] != build["rows"] or retrain["valid_rows"] != build_valid["rows"]):
            problems.append(f"retrain read {retrain['train_rows']} / {retrain['valid_rows']} rows, "
                            f"built {build['rows']} / {build_valid['rows']}")
        doc = {
            "benchmark": "training",
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - wall0, 1),
            "out": str(args.out),
            "machine": machine_info(("lightgbm", "mlflow", "pandas", "pyarrow")),
            "code": code,
            "wait": wait,
            "settings": {
                "seed": SEED, "day": DAY.isoformat(), "valid_day": VALID_DAY.isoformat(),
                **spark_settings(spark, cfg),
                "training": {k: getattr(cfg.training, k) for k in ("label_window_seconds", "long_view_ms", "negative_ratio", "seed")},
                "ttl_days": dict(cfg.online_store.ttl_days),
            },
            "spark_startup_seconds": round(startup, 3),
            "result": {"impressions": n, "valid_impressions": n_valid, "synthesis": synthesis, "build": build,
                       "build_valid": build_valid, "retrain": retrain, "problems": problems},
        }
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(tmp_root, ignore_errors=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print_report(doc)
    return 1 if doc["result"]["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
