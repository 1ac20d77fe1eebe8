"""Ingest: one landing date → bronze.events, quarantine.events, silver.events, silver.videos,
silver.video_hashtags and ops.ingest_reconciliation.

Pure transforms (``DataFrame -> DataFrame``) come first; :func:`run` is the thin main that reads
the landing files and writes every table through :class:`reelhouse.lake.Lake`; :func:`main` is the
``spark-submit`` entry point (``spark-submit spark_jobs/ingest.py --date 2024-01-01``).

Idempotency: every table is written per ``landing_date`` with an atomic partition overwrite, so
re-running a date replaces exactly what that date contributed (across every ``event_date`` its
late events touched) and leaves the same content. Deduplication by ``event_id`` is within the
run and against silver rows that *other* landing dates contributed to the same event dates.
Dimension tables are merge-upserted (earliest publish wins). Each commit carries the application
transaction ``(reelhouse.ingest.<table>.<date>, run_version)``: a retried task is a no-op for the
tables it already committed.

Reconciliation, per landing file: ``lines_read = rows_kept + duplicates_dropped +
rows_quarantined``; a file that cannot be decompressed is one ``corrupt_file`` quarantine row.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING

import re
from contextlib import contextmanager

import pyarrow as pa

from reelhouse import contract as C

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config
    from reelhouse.landing import LandingFile
    from reelhouse.lake import Lake

from reelhouse.pipeline import STEPS

INGEST_TABLES = STEPS["ingest"].outputs

#: Columns of :func:`classify_lines`' output (Spark DDL). Raw contract fields are text: strings
#: as-is, other JSON values as JSON text; ``t_*`` are typed values of valid lines.
CLASSIFIED_DDL = ", ".join(
    ["value string", "_source_file string", "_line_number bigint", "is_object boolean",
     "reason string", "reason_detail string"]
    + [f"{n} string" for n in C.KNOWN_FIELDS]
    + ["extra map<string,string>", "t_event_time timestamp", "t_play_time_ms bigint",
       "t_video_duration_ms bigint", "t_hashtags array<string>"]
)
_HOUR = re.compile(r"/hour=(\d{2})/")


def _classified_arrow_schema() -> pa.Schema:
    fields = [
        pa.field("value", pa.string()), pa.field("_source_file", pa.string()), pa.field("_line_number", pa.int64()),
        pa.field("is_object", pa.bool_()), pa.field("reason", pa.string()), pa.field("reason_detail", pa.string()),
    ]
    fields += [pa.field(n, pa.string()) for n in C.KNOWN_FIELDS]
    fields += [
        pa.field("extra", pa.map_(pa.string(), pa.string())),
        pa.field("t_event_time", pa.timestamp("us", tz="UTC")),
        pa.field("t_play_time_ms", pa.int64()),
        pa.field("t_video_duration_ms", pa.int64()),
        pa.field("t_hashtags", pa.list_(pa.string())),
    ]
    return pa.schema(fields)


def classify_batches(batches, *, landing_date: date, future_tolerance_seconds: int):
    """The per-line contract check as an Arrow batch function (for ``mapInArrow``).

    Decodes each line with msgspec (strict JSON: no single quotes, NaN or trailing garbage) and
    checks it with :func:`reelhouse.contract.validate_event`; hashtags of valid lines are
    normalised here too (:func:`reelhouse.contract.normalize_hashtags`). The future bound of a
    line is the end of its ``hour=HH`` landing folder on ``landing_date`` (end of day without an
    hour folder) plus ``future_tolerance_seconds``.
    """
    import msgspec

    decode = msgspec.json.Decoder().decode
    encode = msgspec.json.encode
    known = C.KNOWN_FIELDS
    known_set = set(known)
    schema = _classified_arrow_schema()
    day_us = (landing_date - date(1970, 1, 1)).days * 86_400_000_000
    tol_us = future_tolerance_seconds * 1_000_000
    limits: dict[str, int] = {}
    line_of: dict[str, int] = {}
    for batch in batches:
        values = batch.column("value").to_pylist()
        files = batch.column("_source_file").to_pylist()
        n = len(values)
        if "_line_number" in batch.schema.names:
            line_numbers = batch.column("_line_number")
        else:  # rows of a file arrive in order within one task: count them
            nums = [0] * n
            for i in range(n):
                nums[i] = line_of[files[i]] = line_of.get(files[i], 0) + 1
            line_numbers = pa.array(nums, pa.int64())
        is_object = [False] * n
        reason: list = [None] * n
        detail: list = [None] * n
        raw = {k: [None] * n for k in known}
        extra: list = [None] * n
        t_time: list = [None] * n
        t_play: list = [None] * n
        t_dur: list = [None] * n
        t_tags: list = [None] * n
        for i in range(n):
            line = values[i]
            try:
                obj = decode(line)
            except (msgspec.DecodeError, TypeError):
                reason[i] = C.REASON_INVALID_JSON
                detail[i] = "blank line" if not (line or "").strip() else "line is not valid JSON"
                continue
            if type(obj) is not dict:
                reason[i] = C.REASON_NOT_AN_OBJECT
                detail[i] = f"JSON value is {C.json_kind(obj)}"
                continue
            is_object[i] = True
            src = files[i]
            limit = limits.get(src)
            if limit is None:
                m = _HOUR.search(src)
                limit = day_us + (int(m.group(1)) + 1 if m else 24) * 3_600_000_000 + tol_us
                limits[src] = limit
            extras = None
            for k, v in obj.items():
                if k in known_set:
                    if v is not None:
                        raw[k][i] = v if type(v) is str else encode(v).decode()
                else:
                    if extras is None:
                        extras = {}
                    extras[k] = v if type(v) is str else encode(v).decode()
            if extras:
                extra[i] = list(extras.items())
            r, d, us = C.validate_event(obj, limit)
            if r is not None:
                reason[i], detail[i] = r, d
                continue
            t_time[i] = us
            t_play[i] = obj.get("play_time_ms")
            t_dur[i] = obj.get("video_duration_ms")
            tags = obj.get("hashtags")
            if tags is not None:
                t_tags[i] = C.normalize_hashtags(tags)
        cols = [
            batch.column("value"), batch.column("_source_file"), line_numbers,
            pa.array(is_object, pa.bool_()), pa.array(reason, pa.string()), pa.array(detail, pa.string()),
        ]
        cols += [pa.array(raw[k], pa.string()) for k in known]
        cols += [
            pa.array(extra, pa.map_(pa.string(), pa.string())),
            pa.array(t_time, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            pa.array(t_play, pa.int64()),
            pa.array(t_dur, pa.int64()),
            pa.array(t_tags, pa.list_(pa.string())),
        ]
        yield pa.RecordBatch.from_arrays(cols, schema=schema)


# ----------------------------------------------------------------------------- pure transforms
def classify_lines(lines: "DataFrame", *, landing_date: date, future_tolerance_seconds: int) -> "DataFrame":
    """Parse and validate landing lines against the contract.

    Input: ``value`` (the line), ``_source_file`` (relative path, ``events/date=…/hour=HH/…``) and
    optionally ``_line_number`` (1-based); without it, line numbers are counted in the pass, which
    requires each file's lines to sit in order in one partition — what Spark's text reader gives
    for files it does not split (:func:`read_landing_lines`). Output (:data:`CLASSIFIED_DDL`): the input plus ``is_object`` (the
    line is a JSON object), ``reason``/``reason_detail`` (NULL for a valid line, else the first
    violated rule: invalid_json, not_an_object, then the order of
    :func:`reelhouse.contract.validate_event`), the contract fields as raw text (bronze), ``extra``
    (unknown fields, values as text) and typed ``t_event_time`` (UTC), ``t_play_time_ms``,
    ``t_video_duration_ms`` (ms) and ``t_hashtags`` (normalised).

    Implemented as one vectorised pass (``mapInArrow``) rather than Spark SQL JSON functions:
    the contract needs exact JSON types (``"12"`` vs ``12``, ``true`` vs ``1``), which
    ``from_json`` coerces away, and checking them with ``VARIANT`` expressions measured ~8x slower
    here (README, "Ingest design").
    """
    from functools import partial

    fn = partial(classify_batches, landing_date=landing_date, future_tolerance_seconds=future_tolerance_seconds)
    cols = ["value", "_source_file"] + (["_line_number"] if "_line_number" in lines.columns else [])
    return lines.select(*cols).mapInArrow(fn, CLASSIFIED_DDL)


def to_bronze(classified: "DataFrame", *, landing_date: date, ingested_at: datetime) -> "DataFrame":
    """Every line that parsed as a JSON object, contract fields as raw text (bronze.events)."""
    from pyspark.sql import functions as F

    return classified.where("is_object").select(
        *C.KNOWN_FIELDS,
        F.coalesce("extra", F.create_map().cast("map<string,string>")).alias("extra"),
        "_line_number",
        "_source_file",
        F.lit(ingested_at).cast("timestamp").alias("_ingested_at"),
        F.lit(landing_date).cast("date").alias("landing_date"),
    )


def to_quarantine(classified: "DataFrame", *, landing_date: date, ingested_at: datetime) -> "DataFrame":
    """Lines that break the contract, with the raw line and reason (quarantine.events)."""
    from pyspark.sql import functions as F

    return classified.where(F.col("reason").isNotNull()).select(
        F.col("value").alias("raw_line"),
        "reason",
        "reason_detail",
        "event_id",
        "_line_number",
        "_source_file",
        F.lit(ingested_at).cast("timestamp").alias("_ingested_at"),
        F.lit(landing_date).cast("date").alias("landing_date"),
    )


def corrupt_file_rows(spark: "SparkSession", files: list["LandingFile"], *, landing_date: date, ingested_at: datetime) -> "DataFrame":
    """One quarantine row (reason ``corrupt_file``, line 0, no raw line) per unreadable file."""
    from reelhouse.catalog import get_table, spark_schema

    rows = [
        (None, C.REASON_CORRUPT_FILE, f.error, None, 0, f.relative_path, ingested_at, landing_date)
        for f in files
        if not f.readable
    ]
    return spark.createDataFrame(rows, spark_schema(get_table("quarantine.events")))


def to_events(classified: "DataFrame", *, landing_date: date, ingested_at: datetime) -> "DataFrame":
    """Valid lines as typed events (silver.events columns plus ``_line_number``), before
    deduplication. Regions are upper-cased (ISO 3166-1 alpha-2)."""
    from pyspark.sql import functions as F

    return classified.where(F.col("reason").isNull()).select(
        "event_id",
        "event_type",
        F.col("t_event_time").alias("event_time"),
        "user_id",
        "video_id",
        "creator_id",
        F.col("t_play_time_ms").alias("play_time_ms"),
        F.col("t_video_duration_ms").alias("video_duration_ms"),
        F.col("t_hashtags").alias("hashtags"),
        "sound_id",
        "caption",
        F.upper("region").alias("region"),
        "platform",
        "app_version",
        F.coalesce("extra", F.create_map().cast("map<string,string>")).alias("extra"),
        "_source_file",
        F.lit(ingested_at).cast("timestamp").alias("_ingested_at"),
        F.to_date("t_event_time").alias("event_date"),
        F.lit(landing_date).cast("date").alias("landing_date"),
        "_line_number",
    )


def deduplicate(events: "DataFrame", prior_event_ids: "DataFrame") -> "DataFrame":
    """Keep the first copy of each ``event_id`` (ordered by ``_source_file``, ``_line_number``)
    and drop ids already present in ``prior_event_ids`` (column ``event_id``: what other landing
    dates already put in silver). Returns the kept rows, same columns as ``events``.

    Only the three key columns are shuffled to find duplicated ids (a few percent of rows under
    at-least-once delivery); the wide rows meet that small set in a broadcastable join."""
    from pyspark.sql import functions as F

    firsts = (
        events.groupBy("event_id")
        .agg(F.count(F.lit(1)).alias("_n"), F.min(F.struct("_source_file", "_line_number")).alias("_first"))
        .where("_n > 1")
        .select("event_id", F.col("_first._source_file").alias("_f_file"), F.col("_first._line_number").alias("_f_line"))
    )
    first_copies = (
        events.join(firsts, "event_id", "left")
        .where(F.col("_f_file").isNull() | ((F.col("_source_file") == F.col("_f_file")) & (F.col("_line_number") == F.col("_f_line"))))
        .drop("_f_file", "_f_line")
    )
    return first_copies.join(prior_event_ids.select("event_id").distinct(), "event_id", "left_anti").select(*events.columns)


def to_videos(silver_events: "DataFrame") -> "DataFrame":
    """silver.videos rows from publish events: one per video_id, the earliest publish wins
    (ties broken by event_id)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    pub = silver_events.where(F.col("event_type") == "publish")
    w = Window.partitionBy("video_id").orderBy("event_time", "event_id")
    return (
        pub.withColumn("_rn", F.row_number().over(w))
        .where("_rn = 1")
        .select(
            "video_id",
            "creator_id",
            F.col("event_time").alias("published_at"),
            "video_duration_ms",
            "sound_id",
            "caption",
            F.coalesce("hashtags", F.array().cast("array<string>")).alias("hashtags"),
            "region",
            F.col("event_id").alias("publish_event_id"),
            "_source_file",
            F.to_date("event_time").alias("published_date"),
        )
    )


def to_video_hashtags(videos: "DataFrame") -> "DataFrame":
    """silver.video_hashtags: one row per (video_id, normalised hashtag) with its position."""
    from pyspark.sql import functions as F

    return videos.select(
        "video_id",
        F.posexplode("hashtags").alias("position", "hashtag"),
        "creator_id",
        "published_at",
        "published_date",
    ).select("video_id", "hashtag", F.col("position").cast("int"), "creator_id", "published_at", "published_date")


def reconcile(
    classified: "DataFrame",
    kept: "DataFrame",
    corrupt: "DataFrame",
    *,
    landing_date: date,
    ingested_at: datetime,
) -> "DataFrame":
    """Per-file reconciliation (ops.ingest_reconciliation).

    ``classified``: every line (``_source_file``, ``reason``); ``kept``: the rows that went to
    silver (``_source_file``); ``corrupt``: the corrupt-file quarantine rows. For a readable file
    ``duplicates_dropped`` = valid lines − kept lines, and ``balanced`` checks
    ``lines_read == rows_kept + duplicates_dropped + rows_quarantined`` where ``rows_kept`` is
    counted independently from ``kept``; a corrupt file is balanced when its single quarantine row
    accounts for it.
    """
    from pyspark.sql import functions as F

    per_file = classified.groupBy("_source_file").agg(
        F.count(F.lit(1)).alias("lines_read"),
        F.count(F.when(F.col("reason").isNull(), 1)).alias("_valid"),
        F.count(F.when(F.col("reason").isNotNull(), 1)).alias("rows_quarantined"),
    )
    kept_per_file = kept.groupBy("_source_file").agg(F.count(F.lit(1)).alias("rows_kept"))
    ok = (
        per_file.join(kept_per_file, "_source_file", "left")
        .select(
            "_source_file",
            F.lit("ok").alias("file_status"),
            "lines_read",
            F.coalesce("rows_kept", F.lit(0)).alias("rows_kept"),
            (F.col("_valid") - F.coalesce("rows_kept", F.lit(0))).alias("duplicates_dropped"),
            "rows_quarantined",
        )
    )
    bad = corrupt.select(
        "_source_file",
        F.lit("corrupt").alias("file_status"),
        F.lit(0).cast("long").alias("lines_read"),
        F.lit(0).cast("long").alias("rows_kept"),
        F.lit(0).cast("long").alias("duplicates_dropped"),
        F.lit(1).cast("long").alias("rows_quarantined"),
    )
    both = ok.unionByName(bad)
    balanced = F.when(
        F.col("file_status") == "ok",
        F.col("lines_read") == F.col("rows_kept") + F.col("duplicates_dropped") + F.col("rows_quarantined"),
    ).otherwise((F.col("rows_kept") + F.col("duplicates_dropped") == 0) & (F.col("rows_quarantined") == 1))
    return both.select(
        "*",
        balanced.alias("balanced"),
        F.lit(ingested_at).cast("timestamp").alias("_ingested_at"),
        F.lit(landing_date).cast("date").alias("landing_date"),
    )


# ----------------------------------------------------------------------------- main
@dataclass
class IngestReport:
    """What one ingest run did. Counts are lines/rows; ``seconds`` is wall time."""

    landing_date: str
    files: int = 0
    corrupt_files: int = 0
    lines_read: int = 0
    rows_kept: int = 0
    duplicates_dropped: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    event_dates: list[str] = field(default_factory=list)
    balanced: bool = True
    videos_upserted: int = 0
    table_versions: dict[str, int | None] = field(default_factory=dict)
    skipped_tables: list[str] = field(default_factory=list)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def read_landing_lines(spark: "SparkSession", files: list["LandingFile"]) -> "DataFrame":
    """Read readable landing files as ``value`` and ``_source_file`` (relative to the landing root),
    each file's lines in order inside one partition (line numbers are counted downstream).

    Spark never splits a gzip file; a plain file is split only when it is larger than the split
    size, so :func:`split_settings` sizes ``spark.sql.files.openCostInBytes`` to the largest plain
    file, and small files are still packed together (few tasks, few Python workers).
    """
    from pyspark.sql import functions as F

    paths = [f.path for f in files if f.readable]
    df = spark.read.option("lineSep", "\n").text(paths)
    return df.select(
        "value",
        F.regexp_extract(F.col("_metadata.file_path"), r"(events/date=[^/]+/hour=[^/]+/[^/]+)$", 1).alias("_source_file"),
    )


def split_settings(files: list["LandingFile"]) -> dict[str, str]:
    """Spark file-split settings under which no landing file is split across partitions:
    ``maxPartitionBytes`` 2 GiB (files above it are refused) and ``openCostInBytes`` ≥ the largest
    plain (splittable) file, since Spark's split size is ``min(maxPartitionBytes, max(openCost,
    bytes per core))``. Raises ``ValueError`` for a plain file of 2 GiB or more."""
    limit = 2 << 30
    plain = [f for f in files if f.readable and not f.path.endswith(".gz")]
    too_big = [f.relative_path for f in plain if f.size >= limit]
    if too_big:
        raise ValueError(f"landing files of 2 GiB or more are not supported (split them): {too_big}")
    largest = max((f.size for f in plain), default=0)
    return {
        "spark.sql.files.maxPartitionBytes": str(limit),
        "spark.sql.files.openCostInBytes": str(max(4 << 20, largest + 1)),
    }


def run(
    spark: "SparkSession",
    lake: "Lake",
    config: "Config",
    landing_date: date,
    *,
    run_version: int | None = None,
) -> IngestReport:
    """Ingest one landing date end to end and return the report.

    ``run_version``: the application-transaction version of this run (default: now in epoch ms).
    Reusing the version of a run that already committed makes those commits no-ops (a retry);
    a larger version re-ingests. A date without landing files is a successful no-op.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from reelhouse.landing import list_landing_files

    t0 = time.time()
    run_version = int(run_version if run_version is not None else time.time() * 1000)
    ingested_at = datetime.now(timezone.utc).replace(tzinfo=None)
    report = IngestReport(landing_date=landing_date.isoformat())
    files = list_landing_files(config.paths.landing, landing_date)
    if not files:
        report.message = f"no landing files for {landing_date} under {config.paths.landing}: nothing to do"
        report.seconds = round(time.time() - t0, 3)
        return report
    report.files = len(files)
    report.corrupt_files = sum(not f.readable for f in files)

    @contextmanager
    def phase(name: str):
        t_phase = time.time()
        yield
        report.phase_seconds[name] = round(time.time() - t_phase, 3)

    def commit(table: str, df: "DataFrame", **kw) -> None:
        t_commit = time.time()
        app = f"reelhouse.ingest.{table}.{landing_date.isoformat()}"
        if "on" in kw:
            res = lake.merge(df, table, app_id=app, app_version=run_version, **kw)
        else:
            res = lake.write(df, table, mode="overwrite_partitions", partitions={"landing_date": [landing_date]},
                             app_id=app, app_version=run_version, metadata={"landing_date": landing_date.isoformat(), "step": "ingest"})
        report.table_versions[table] = res.version
        report.phase_seconds[table] = round(time.time() - t_commit, 3)
        if res.skipped:
            report.skipped_tables.append(table)

    conf_keys = split_settings(files)
    saved = {k: spark.conf.get(k, None) for k in conf_keys}
    for k, v in conf_keys.items():
        spark.conf.set(k, v)
    classified = None
    try:
        corrupt = corrupt_file_rows(spark, files, landing_date=landing_date, ingested_at=ingested_at)
        if any(f.readable for f in files):
            lines = read_landing_lines(spark, files)
            classified = classify_lines(
                lines, landing_date=landing_date, future_tolerance_seconds=config.ingest.future_tolerance_seconds
            ).persist(StorageLevel.MEMORY_AND_DISK)
            with phase("parse + classify + cache"):
                classified.count()  # materialise in parallel, before coalesce() narrows anything
            quarantine = to_quarantine(classified, landing_date=landing_date, ingested_at=ingested_at).unionByName(corrupt)
            bronze = to_bronze(classified, landing_date=landing_date, ingested_at=ingested_at)
            events = to_events(classified, landing_date=landing_date, ingested_at=ingested_at)
        else:
            quarantine = corrupt
            bronze = spark.createDataFrame([], _schema("bronze.events"))
            events = None

        # compact bronze to ~128 MiB of landed bytes per file, but keep at least one writer per core
        cores = spark.sparkContext.defaultParallelism
        n_out = max(min(cores, len(files)), min(len(files), -(-sum(f.size for f in files) // (128 << 20))))
        commit("quarantine.events", quarantine.coalesce(1))
        commit("bronze.events", bronze.coalesce(n_out))

        if events is not None:
            with phase("event dates touched"):
                touched = sorted(r[0] for r in events.select("event_date").distinct().collect())
        else:
            touched = []
        report.event_dates = [d.isoformat() for d in touched]
        if touched:
            prior = lake.read("silver.events", where={"event_date": touched}).where(
                F.col("landing_date") != F.lit(landing_date)
            ).select("event_id")
            kept = deduplicate(events, prior).drop("_line_number")
        else:
            kept = spark.createDataFrame([], _schema("silver.events"))
        commit("silver.events", kept)

        silver_today = lake.read("silver.events", where={"landing_date": [landing_date]})
        videos = to_videos(silver_today)
        with phase("publish events read back"):
            n_videos = videos.count()
        if n_videos:
            commit("silver.videos", videos, on=["video_id"],
                   update_when="s.published_at < t.published_at OR (s.published_at = t.published_at AND s.publish_event_id < t.publish_event_id)")
            hashtags = to_video_hashtags(lake.read("silver.videos").join(videos.select("video_id"), "video_id", "left_semi"))
            commit("silver.video_hashtags", hashtags, on=["video_id", "hashtag"])
        report.videos_upserted = n_videos

        lines_df = classified.select("_source_file", "reason") if classified is not None else spark.createDataFrame([], "_source_file string, reason string")
        recon = reconcile(lines_df, silver_today.select("_source_file"), corrupt, landing_date=landing_date, ingested_at=ingested_at)
        commit("ops.ingest_reconciliation", recon)

        rec = lake.read("ops.ingest_reconciliation", where={"landing_date": [landing_date]}).agg(
            F.sum("lines_read"), F.sum("rows_kept"), F.sum("duplicates_dropped"), F.sum("rows_quarantined"),
            F.min(F.col("balanced").cast("int")),
        ).collect()[0]
        report.lines_read, report.rows_kept, report.duplicates_dropped, report.rows_quarantined = (int(x or 0) for x in rec[:4])
        report.balanced = bool(rec[4]) if rec[4] is not None else True
        report.quarantined_by_reason = {
            r["reason"]: r["count"]
            for r in lake.read("quarantine.events", where={"landing_date": [landing_date]}).groupBy("reason").count().collect()
        }
        if report.balanced:
            report.message = "ok"
        else:
            report.message = "reconciliation mismatch: see ops.ingest_reconciliation where balanced = false"
    finally:
        if classified is not None:
            classified.unpersist()
        for k, v in saved.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
    report.seconds = round(time.time() - t0, 3)
    return report


def _schema(name: str):
    from reelhouse.catalog import get_table, spark_schema

    return spark_schema(get_table(name))


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_jobs/ingest.py --date YYYY-MM-DD [--run-version N]``: ingest one landing date; prints the report
    as JSON (see :func:`reelhouse.pipeline.step_main`)."""
    from reelhouse.pipeline import step_main

    return step_main(run, "ingest", argv)


if __name__ == "__main__":
    sys.exit(main())
