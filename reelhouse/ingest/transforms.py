"""Ingest transforms: classified lines → bronze, quarantine and typed-event rows; typed events →
deduplicated silver events, the video and hashtag dimensions, and the per-file reconciliation.

Arrow functions (:func:`bronze_table`, :func:`quarantine_table`, :func:`events_table`,
:func:`corrupt_file_table`, :func:`video_hashtags_table`) run in the Python workers or on the
driver on dimension-sized data; Spark functions (:func:`deduplicate`, :func:`to_videos`,
:func:`reconcile`, :func:`reconciliation_totals`) take and return DataFrames. None reads or writes
the lake. Timestamps are UTC microseconds; ``play_time_ms``/``video_duration_ms`` are ms.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from reelhouse.sources import contract as C

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

    from reelhouse.sources.landing import LandingFile

#: merge key of silver.videos
VIDEO_KEY = ("video_id",)
#: merge key of silver.video_hashtags
VIDEO_HASHTAG_KEY = ("video_id", "hashtag")
#: the update condition of the silver.videos merge (aliases ``s`` = source, ``t`` = target): the
#: earliest publish wins (ties broken by ``publish_event_id``), the same rule as :func:`to_videos`,
#: so merging a later landing date's publishes never replaces an earlier one
EARLIEST_PUBLISH_WINS = (
    "s.published_at < t.published_at OR (s.published_at = t.published_at AND s.publish_event_id < t.publish_event_id)"
)


def staged_schema(name: str, *, drop_partitions: bool = True) -> pa.Schema:
    """Arrow schema of table ``name`` as the catalog declares it, without its partition columns
    (the schema of Parquet files in a staging folder, whose Hive folders carry the partition
    values) unless ``drop_partitions`` is False."""
    from reelhouse.lake.catalog import get_table

    spec = get_table(name)
    return pa.schema([f for f in spec.arrow_schema() if not (drop_partitions and f.name in spec.partition_by)])


def events_stage_schema() -> pa.Schema:
    """Schema of the staged events (:func:`events_table`): silver.events' columns in order,
    including ``event_date`` and ``landing_date``, plus ``_line_number`` (for deduplication)."""
    return staged_schema("silver.events", drop_partitions=False).append(pa.field("_line_number", pa.int64(), False))


def _empty_map_if_null(arr: pa.Array) -> pa.Array:
    """A map array with every null entry replaced by an empty map."""
    if arr.null_count == 0:
        return arr
    offsets = arr.offsets  # a null entry spans no items
    return pa.MapArray.from_arrays(offsets, arr.keys, arr.items, type=arr.type)


def _const(value, typ: pa.DataType, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, typ), n)


def bronze_table(classified: pa.Table, *, ingested_at: datetime) -> pa.Table:
    """bronze.events rows from :func:`classify_batches` output: every line that parsed as a JSON
    object, contract fields as raw text (``"1200"``, ``'["#a"]'``), unknown fields in ``extra``
    (empty map when none), ``_line_number``, ``_source_file`` and ``_ingested_at`` (UTC). The
    ``landing_date`` partition column is not included (it is the file's folder)."""
    import pyarrow.compute as pc

    t = classified.filter(pc.field("is_object"))
    schema = staged_schema("bronze.events")
    cols = [t[k] for k in C.KNOWN_FIELDS] + [
        _empty_map_if_null(t["extra"].combine_chunks()), t["_line_number"], t["_source_file"],
        _const(ingested_at, pa.timestamp("us", tz="UTC"), t.num_rows),
    ]
    return pa.Table.from_arrays(cols, schema=schema)


def quarantine_table(classified: pa.Table, *, ingested_at: datetime) -> pa.Table:
    """quarantine.events rows: each line that breaks the contract with the raw line, reason code,
    reason detail, ``event_id`` when the line had one, line number, source file and ingest time
    (without the ``landing_date`` partition column)."""
    import pyarrow.compute as pc

    t = classified.filter(pc.is_valid(pc.field("reason")))
    cols = [t["value"], t["reason"], t["reason_detail"], t["event_id"], t["_line_number"], t["_source_file"],
            _const(ingested_at, pa.timestamp("us", tz="UTC"), t.num_rows)]
    return pa.Table.from_arrays(cols, schema=staged_schema("quarantine.events"))


def events_table(classified: pa.Table, *, landing_date: date, ingested_at: datetime) -> pa.Table:
    """Valid lines as typed events (:func:`events_stage_schema`), before deduplication:
    ``event_time`` UTC µs, ``event_date`` its UTC date, play/duration in ms, normalised hashtags,
    ``region`` upper-cased (ISO 3166-1 alpha-2), ``extra`` (empty map when none)."""
    import pyarrow.compute as pc

    t = classified.filter(pc.is_null(pc.field("reason")))
    n = t.num_rows
    region = t["region"]
    cols = {
        "event_id": t["event_id"], "event_type": t["event_type"], "event_time": t["t_event_time"],
        "user_id": t["user_id"], "video_id": t["video_id"], "creator_id": t["creator_id"],
        "play_time_ms": t["t_play_time_ms"], "video_duration_ms": t["t_video_duration_ms"],
        "hashtags": t["t_hashtags"], "sound_id": t["sound_id"], "caption": t["caption"],
        "region": pc.utf8_upper(region) if n else region, "platform": t["platform"],
        "app_version": t["app_version"], "extra": _empty_map_if_null(t["extra"].combine_chunks()),
        "_source_file": t["_source_file"], "_ingested_at": _const(ingested_at, pa.timestamp("us", tz="UTC"), n),
        "event_date": pc.cast(t["t_event_time"], pa.date32()), "landing_date": _const(landing_date, pa.date32(), n),
        "_line_number": t["_line_number"],
    }
    schema = events_stage_schema()
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


def corrupt_file_table(files: list["LandingFile"], *, ingested_at: datetime) -> pa.Table:
    """One quarantine row (reason ``corrupt_file``, line 0, no raw line) per unreadable file
    (quarantine.events columns without ``landing_date``)."""
    bad = [f for f in files if not f.readable]
    n = len(bad)
    cols = [pa.nulls(n, pa.string()), _const(C.REASON_CORRUPT_FILE, pa.string(), n), pa.array([f.error for f in bad], pa.string()),
            pa.nulls(n, pa.string()), _const(0, pa.int64(), n), pa.array([f.relative_path for f in bad], pa.string()),
            _const(ingested_at, pa.timestamp("us", tz="UTC"), n)]
    return pa.Table.from_arrays(cols, schema=staged_schema("quarantine.events"))


def deduplicate(events: "DataFrame", prior_event_ids: "DataFrame") -> "DataFrame":
    """Keep the first copy of each ``event_id`` (ordered by ``_source_file``, ``_line_number``)
    and drop ids already present in ``prior_event_ids`` (column ``event_id``: what other landing
    dates already put in silver). Returns the kept rows, same columns as ``events``;
    ``(_source_file, _line_number)`` must identify a row of ``events``.

    Only 64-bit hashes of every id are shuffled (xxhash64): ids whose hash occurs twice in the
    run or also in the prior set are the candidates (the duplicates, a few percent under
    at-least-once delivery, plus rare hash collisions); the exact decision is made on the
    candidates' real ids, and the wide rows then meet the small set of rows to drop in a
    broadcast anti-join, so they are never shuffled. The drop set is broadcast: it must fit in
    memory (~100 bytes per duplicate line).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = events.select("event_id", "_source_file", "_line_number", F.xxhash64("event_id").alias("_h"))
    prior = prior_event_ids.select("event_id", F.xxhash64("event_id").alias("_h"))
    in_run_twice = keys.groupBy("_h").agg(F.count(F.lit(1)).alias("_n")).where("_n > 1").select("_h")
    seen_before = keys.select("_h").join(prior.select("_h"), "_h", "left_semi").distinct()
    cand_h = F.broadcast(in_run_twice.unionByName(seen_before).distinct())
    cand = keys.join(cand_h, "_h", "left_semi")
    prior_ids = prior.join(cand_h, "_h", "left_semi").select("event_id").distinct()
    first = Window.partitionBy("event_id").orderBy("_source_file", "_line_number")
    later_copies = cand.withColumn("_rn", F.row_number().over(first)).where("_rn > 1").select("_source_file", "_line_number")
    already_in_silver = cand.join(prior_ids, "event_id", "left_semi").select("_source_file", "_line_number")
    drops = F.broadcast(later_copies.unionByName(already_in_silver).distinct())
    return events.join(drops, ["_source_file", "_line_number"], "left_anti").select(*events.columns)


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


def video_hashtags_table(videos: pa.Table) -> pa.Table:
    """silver.video_hashtags rows from silver.videos rows (Arrow, dimension-sized): one row per
    (video_id, normalised hashtag) with its 0-based ``position`` in the video's list."""
    import pyarrow.compute as pc

    from reelhouse.lake.catalog import get_table

    tags = videos["hashtags"].combine_chunks()
    parents = pc.list_parent_indices(tags)
    flat = pc.list_flatten(tags)
    offsets = tags.offsets  # of a sliced array, they start at its first value, not at 0
    starts = pc.subtract(pc.take(offsets, parents), offsets[0]).cast(pa.int64())
    position = pc.subtract(pa.array(range(len(flat)), pa.int64()), starts).cast(pa.int32())
    cols = {
        "video_id": pc.take(videos["video_id"], parents), "hashtag": flat, "position": position,
        "creator_id": pc.take(videos["creator_id"], parents), "published_at": pc.take(videos["published_at"], parents),
        "published_date": pc.take(videos["published_date"], parents),
    }
    schema = get_table("silver.video_hashtags").arrow_schema()
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


def reconcile(
    file_stats: "DataFrame",
    kept: "DataFrame",
    quarantined: "DataFrame",
    *,
    landing_date: date,
    ingested_at: datetime,
) -> "DataFrame":
    """Per-file reconciliation (ops.ingest_reconciliation).

    ``file_stats``: per readable file, ``_source_file``, ``lines_read`` and ``rows_valid`` as
    counted by the classify pass; ``kept``: the committed silver rows (``_source_file``);
    ``quarantined``: the committed quarantine rows (``_source_file``, ``reason``). For a readable
    file ``rows_kept`` and ``rows_quarantined`` are counted from the committed tables,
    ``duplicates_dropped`` = valid lines − kept rows, and ``balanced`` checks
    ``lines_read == rows_kept + duplicates_dropped + rows_quarantined`` — i.e. that every line the
    pass read and did not accept is in the committed quarantine. A corrupt file (reason
    ``corrupt_file``) is balanced when exactly one quarantine row accounts for it.
    """
    from pyspark.sql import functions as F

    is_corrupt = F.col("reason") == F.lit(C.REASON_CORRUPT_FILE)
    q = quarantined.groupBy("_source_file").agg(
        F.count(F.when(~is_corrupt, 1)).alias("_q"), F.count(F.when(is_corrupt, 1)).alias("_corrupt")
    )
    kept_per_file = kept.groupBy("_source_file").agg(F.count(F.lit(1)).alias("_kept"))
    n_kept = F.coalesce("_kept", F.lit(0).cast("long"))
    ok = (
        file_stats.join(kept_per_file, "_source_file", "left")
        .join(q, "_source_file", "left")
        .select(
            "_source_file",
            F.lit("ok").alias("file_status"),
            F.col("lines_read").cast("long").alias("lines_read"),
            n_kept.alias("rows_kept"),
            (F.col("rows_valid") - n_kept).cast("long").alias("duplicates_dropped"),
            F.coalesce("_q", F.lit(0).cast("long")).alias("rows_quarantined"),
        )
    )
    bad = q.where("_corrupt > 0").join(file_stats.select("_source_file"), "_source_file", "left_anti").select(
        "_source_file",
        F.lit("corrupt").alias("file_status"),
        F.lit(0).cast("long").alias("lines_read"),
        F.lit(0).cast("long").alias("rows_kept"),
        F.lit(0).cast("long").alias("duplicates_dropped"),
        F.col("_corrupt").cast("long").alias("rows_quarantined"),
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


def videos_table(silver_events: "DataFrame") -> pa.Table:
    """:func:`to_videos` of ``silver_events`` collected to the driver (dimension-sized) as an Arrow
    table with silver.videos' columns and catalog types (Spark 4 may hand back ``string_view``
    columns; the merge compares like with like)."""
    from reelhouse.lake.catalog import get_table

    spec = get_table("silver.videos")
    return to_videos(silver_events).toArrow().select(spec.column_names).cast(spec.arrow_schema())


def reconciliation_totals(recon: "DataFrame") -> dict[str, Any]:
    """Totals over ops.ingest_reconciliation rows: ``lines_read``, ``rows_kept``,
    ``duplicates_dropped``, ``rows_quarantined`` (ints, 0 without rows) and ``balanced`` (every
    row balanced; True without rows)."""
    from pyspark.sql import functions as F

    rec = recon.agg(
        F.sum("lines_read"), F.sum("rows_kept"), F.sum("duplicates_dropped"), F.sum("rows_quarantined"),
        F.min(F.col("balanced").cast("int")),
    ).collect()[0]
    lines_read, rows_kept, duplicates, quarantined = (int(x or 0) for x in rec[:4])
    return {"lines_read": lines_read, "rows_kept": rows_kept, "duplicates_dropped": duplicates,
            "rows_quarantined": quarantined, "balanced": bool(rec[4]) if rec[4] is not None else True}
