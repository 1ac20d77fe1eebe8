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

import os
import re
from contextlib import contextmanager

import pyarrow as pa

from reelhouse.sources import contract as C

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config
    from reelhouse.sources.landing import LandingFile
    from reelhouse.lake import Lake

from reelhouse.pipeline import STEPS

INGEST_TABLES = STEPS["ingest"].outputs

_HOUR = re.compile(r"/hour=(\d{2})/")


def _classified_arrow_schema() -> pa.Schema:
    """Columns of :func:`classify_batches`' output: the input (``value``, ``_source_file``,
    ``_line_number``), ``is_object`` (the line is a JSON object), ``reason``/``reason_detail``
    (NULL for a valid line), the contract fields as raw text (strings as-is, other JSON values as
    JSON text), ``extra`` (unknown fields, values as text) and the typed values of valid lines:
    ``t_event_time`` (UTC µs), ``t_play_time_ms``, ``t_video_duration_ms`` (ms), ``t_hashtags``
    (normalised)."""
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


def classify_batches(batches, *, landing_date: date, future_tolerance_seconds: int, fast_path: bool = True):
    """The per-line contract check as an Arrow batch function (for ``mapInArrow``).

    Input batches: ``value`` (the line), ``_source_file`` and optionally ``_line_number``; output
    batches: :func:`_classified_arrow_schema` (row order within a batch is not kept: fast-path rows come
    first). The future bound of a line is the end of its ``hour=HH`` landing folder on
    ``landing_date`` (end of day without an hour folder) plus ``future_tolerance_seconds``.

    Two paths with one result (the ingest tests compare them line for line):

    * fast path (``fast_path=True``): :func:`reelhouse.sources.contract.typed_event_decoder` decodes and
      type-checks a line in C; the value checks (event_time parse, future bound, play time,
      duration) then run vectorised in Arrow over the batch, and only the rows they flag go
      through :func:`reelhouse.sources.contract.validate_event` for the exact reason text. Event times
      that match the RFC 3339 pattern are parsed by Arrow's ISO 8601 cast; a batch where Arrow
      refuses one (``24:00``, 9 fraction digits, lower-case ``z``) is parsed in Python instead.
    * slow path, for every line the typed decoder refuses: msgspec decodes to Python objects
      (strict JSON: no single quotes, NaN or trailing garbage) and
      :func:`reelhouse.sources.contract.validate_event` names the first violated rule.

    Hashtags of valid lines are normalised here (:func:`reelhouse.sources.contract.normalize_hashtags`).
    """
    import msgspec

    typed_decode, tag_of = C.typed_event_decoder()
    state = _ClassifyState(
        decode=msgspec.json.Decoder().decode,
        encode=msgspec.json.encode,
        schema=_classified_arrow_schema(),
        day_us=(landing_date - date(1970, 1, 1)).days * 86_400_000_000,
        tol_us=future_tolerance_seconds * 1_000_000,
    )
    line_of: dict[str, int] = {}
    for batch in batches:
        n = batch.num_rows
        if "_line_number" not in batch.schema.names:  # rows of a file arrive in order within one task: count them
            files = batch.column("_source_file").to_pylist()
            nums = [0] * n
            for i in range(n):
                nums[i] = line_of[files[i]] = line_of.get(files[i], 0) + 1
            batch = pa.RecordBatch.from_arrays(
                [batch.column("value"), batch.column("_source_file"), pa.array(nums, pa.int64())],
                names=["value", "_source_file", "_line_number"],
            )
        values = batch.column("value").to_pylist()
        fast_rows: list[int] = []
        fast_objs: list = []
        slow_rows: list[int] = []
        if fast_path:
            for i, line in enumerate(values):
                try:
                    fast_objs.append(typed_decode(line))
                    fast_rows.append(i)
                except (msgspec.DecodeError, TypeError):
                    slow_rows.append(i)
        else:
            slow_rows = list(range(n))
        if fast_rows:
            yield _classify_fast(batch.take(pa.array(fast_rows, pa.int64())) if slow_rows else batch, fast_objs, tag_of, state)
        if slow_rows:
            part = batch.take(pa.array(slow_rows, pa.int64())) if fast_rows else batch
            yield _classify_slow(part, [values[i] for i in slow_rows], state)


@dataclass
class _ClassifyState:
    decode: object
    encode: object
    schema: pa.Schema
    day_us: int
    tol_us: int
    limits: dict = field(default_factory=dict)

    def limit(self, source_file: str) -> int:
        """Latest allowed event_time (µs) for a line of ``source_file``."""
        lim = self.limits.get(source_file)
        if lim is None:
            m = _HOUR.search(source_file)
            lim = self.day_us + (int(m.group(1)) + 1 if m else 24) * 3_600_000_000 + self.tol_us
            self.limits[source_file] = lim
        return lim


def _classify_fast(batch: pa.RecordBatch, objs: list, tag_of: dict, st: _ClassifyState) -> pa.RecordBatch:
    """Rows the typed decoder accepted: columns built per field, value checks vectorised."""
    import msgspec
    import numpy as np
    import pyarrow.compute as pc

    n = batch.num_rows
    astuple = msgspec.structs.astuple
    cols = dict(zip([f for f in C.KNOWN_FIELDS if f != "event_type"], zip(*[astuple(o) for o in objs])))
    cols["event_type"] = [tag_of[t] for t in map(type, objs)]
    encode = st.encode
    et_col = cols["event_time"]

    # event_time → µs: integers are epoch ms; strings matching RFC 3339 go through Arrow's ISO cast
    ints = pa.array([v if type(v) is int else None for v in et_col], pa.int64())
    strs = pa.array([v if type(v) is str else None for v in et_col], pa.string())
    in_range = pc.and_(pc.greater_equal(ints, C._MIN_MS), pc.less_equal(ints, C._MAX_MS))
    us_int = pc.if_else(in_range, pc.multiply(ints, 1000), pa.scalar(None, pa.int64()))
    rfc = pc.match_substring_regex(strs, C.RFC3339_PATTERN)
    try:
        us_str = pc.if_else(rfc, strs, pa.scalar(None, pa.string())).cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    except pa.ArrowInvalid:
        us_str = pa.array([C.parse_event_time_us(v) if type(v) is str else None for v in et_col], pa.int64())
    us = pc.coalesce(us_int, us_str)

    files = batch.column("_source_file")
    enc = pc.dictionary_encode(files)
    limit = pc.take(pa.array([st.limit(f) for f in enc.dictionary.to_pylist()], pa.int64()), enc.indices)
    play = pa.array(cols["play_time_ms"], pa.int64())
    dur = pa.array(cols["video_duration_ms"], pa.int64())
    flagged = pc.or_kleene(
        pc.or_kleene(pc.is_null(us), pc.fill_null(pc.greater(us, limit), False)),
        pc.or_kleene(pc.fill_null(pc.less(play, 0), False), pc.fill_null(pc.less_equal(dur, 0), False)),
    )
    reason: list = [None] * n
    detail: list = [None] * n
    bad = np.flatnonzero(flagged.to_numpy(zero_copy_only=False))
    if len(bad):
        lim_list = limit.to_pylist()
        for i in bad.tolist():
            obj = msgspec.structs.asdict(objs[i])
            obj["event_type"] = cols["event_type"][i]
            reason[i], detail[i], _ = C.validate_event(obj, lim_list[i])
    valid = pc.is_null(pa.array(reason, pa.string()))
    null_i64 = pa.scalar(None, pa.int64())
    tags = cols["hashtags"]
    out = [batch.column("value"), files, batch.column("_line_number"), pa.array(np.ones(n, dtype=bool)),
           pa.array(reason, pa.string()), pa.array(detail, pa.string())]
    for k in C.KNOWN_FIELDS:
        kind = C.FIELD_TYPES[k]
        if kind == "string":
            out.append(pa.array(cols[k], pa.string()))
        elif kind == "integer":
            out.append(pa.array(cols[k], pa.int64()).cast(pa.string()))
        elif kind == "event_time":
            out.append(pa.array([v if type(v) is str else str(v) for v in et_col], pa.string()))
        else:
            out.append(pa.array([None if v is None else encode(v).decode() for v in tags], pa.string()))
    out += [
        pa.nulls(n, pa.map_(pa.string(), pa.string())),
        pc.if_else(valid, us, null_i64).cast(pa.timestamp("us", tz="UTC")),
        pc.if_else(valid, play, null_i64),
        pc.if_else(valid, dur, null_i64),
        pa.array([None if v is None or reason[i] is not None else C.normalize_hashtags(v) for i, v in enumerate(tags)],
                 pa.list_(pa.string())),
    ]
    return pa.RecordBatch.from_arrays(out, schema=st.schema)


def _classify_slow(batch: pa.RecordBatch, values: list, st: _ClassifyState) -> pa.RecordBatch:
    """Rows the typed decoder refused: decoded to Python objects and checked one by one."""
    import msgspec

    decode, encode = st.decode, st.encode
    known = C.KNOWN_FIELDS
    known_set = set(known)
    files = batch.column("_source_file").to_pylist()
    n = len(values)
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
        r, d, us = C.validate_event(obj, st.limit(files[i]))
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
        batch.column("value"), batch.column("_source_file"), batch.column("_line_number"),
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
    return pa.RecordBatch.from_arrays(cols, schema=st.schema)


# ----------------------------------------------------------------------------- pure transforms
def _table_schema(name: str, *, drop_partitions: bool = True) -> pa.Schema:
    from reelhouse.lake.catalog import get_table

    spec = get_table(name)
    return pa.schema([f for f in spec.arrow_schema() if not (drop_partitions and f.name in spec.partition_by)])


def events_stage_schema() -> pa.Schema:
    """Schema of the staged events (:func:`events_table`): silver.events' columns in order,
    including ``event_date`` and ``landing_date``, plus ``_line_number`` (for deduplication)."""
    return _table_schema("silver.events", drop_partitions=False).append(pa.field("_line_number", pa.int64(), False))


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
    schema = _table_schema("bronze.events")
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
    return pa.Table.from_arrays(cols, schema=_table_schema("quarantine.events"))


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


#: Rows of :func:`classify_and_stage`'s manifest (Spark DDL): ``record`` is ``staged_file``
#: (``table_name``, ``path`` relative to that table's staging folder, ``rows``), ``file_stats``
#: (``_source_file``, ``lines_read``, ``rows_valid``, ``rows_quarantined``) or ``event_date``
#: (``path`` = an ISO date some valid event of the task falls on).
MANIFEST_DDL = (
    "record string, table_name string, path string, rows bigint, "
    "_source_file string, lines_read bigint, rows_valid bigint, rows_quarantined bigint"
)


class _ParquetSink:
    """Buffers Arrow tables and writes them as one Parquet file in row groups of ~``buffer_rows``."""

    def __init__(self, root: str, rel_path: str, schema: pa.Schema, buffer_rows: int):
        self.root, self.rel_path, self.schema, self.buffer_rows = root, rel_path, schema, buffer_rows
        self.parts: list[pa.Table] = []
        self.buffered = 0
        self.rows = 0
        self.writer = None

    def add(self, table: pa.Table) -> None:
        if table.num_rows:
            self.parts.append(table)
            self.buffered += table.num_rows
            if self.buffered >= self.buffer_rows:
                self.flush()

    def flush(self) -> None:
        import os

        import pyarrow.parquet as pq

        if not self.parts:
            return
        if self.writer is None:
            path = os.path.join(self.root, self.rel_path)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.writer = pq.ParquetWriter(path, self.schema, compression="snappy")
        self.writer.write_table(pa.concat_tables(self.parts), row_group_size=max(self.buffered, 1))
        self.rows += self.buffered
        self.parts, self.buffered = [], 0

    def close(self) -> int:
        self.flush()
        if self.writer is not None:
            self.writer.close()
        return self.rows


def classify_and_stage(
    batches,
    *,
    landing_date: date,
    future_tolerance_seconds: int,
    ingested_at: datetime,
    staging: dict[str, str],
    fast_path: bool = True,
    buffer_rows: int = 262_144,
):
    """One pass over a task's landing lines (for ``mapInArrow``): classify them
    (:func:`classify_batches`) and write this task's bronze, quarantine and typed-events Parquet
    files straight from the Python worker into the staging folders ``staging["bronze.events"]``,
    ``staging["quarantine.events"]`` (both in ``landing_date=…/`` folders) and
    ``staging["events"]``; yields a small manifest (:data:`MANIFEST_DDL`).

    Why here and not with Spark's writer: the classified rows are wide (raw text and typed values
    of every field); handing them back to the JVM, caching them and writing three tables from the
    cache cost more than the classification itself (README, "Ingest design"). File names carry the
    task's partition id and attempt number, and the driver commits only the files named in the
    manifest it collected — the output of the successful attempt of each task — so a retried or
    failed attempt's files are never committed (they are deleted with the staging folder).
    The garbage collector is paused during the pass (the rows make no reference cycles).
    """
    import gc
    import uuid

    import pyarrow.compute as pc
    from pyspark import TaskContext

    ctx = TaskContext.get()
    tag = f"part-{ctx.partitionId() if ctx else 0:05d}-a{ctx.attemptNumber() if ctx else 0}-{uuid.uuid4().hex[:8]}"
    part_dir = f"landing_date={landing_date.isoformat()}"
    sinks = {
        "bronze.events": _ParquetSink(staging["bronze.events"], f"{part_dir}/{tag}.parquet", _table_schema("bronze.events"), buffer_rows),
        "quarantine.events": _ParquetSink(staging["quarantine.events"], f"{part_dir}/{tag}.parquet", _table_schema("quarantine.events"), buffer_rows),
        "events": _ParquetSink(staging["events"], f"{tag}.parquet", events_stage_schema(), buffer_rows),
    }
    per_file: dict[str, list[int]] = {}
    dates: set = set()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for batch in classify_batches(batches, landing_date=landing_date, future_tolerance_seconds=future_tolerance_seconds, fast_path=fast_path):
            t = pa.Table.from_batches([batch])
            sinks["bronze.events"].add(bronze_table(t, ingested_at=ingested_at))
            sinks["quarantine.events"].add(quarantine_table(t, ingested_at=ingested_at))
            ev = events_table(t, landing_date=landing_date, ingested_at=ingested_at)
            sinks["events"].add(ev)
            if ev.num_rows:
                dates.update(pc.unique(ev["event_date"]).to_pylist())
            q = pa.table({"f": t["_source_file"], "q": pc.cast(pc.is_valid(t["reason"]), pa.int64())})
            for f, nq, nl in zip(*q.group_by("f").aggregate([("q", "sum"), ("q", "count")]).select(["f", "q_sum", "q_count"]).to_pydict().values()):
                acc = per_file.setdefault(f, [0, 0])
                acc[0] += nl
                acc[1] += nq
        staged = [(name, sink.rel_path, sink.close()) for name, sink in sinks.items()]
    finally:
        if gc_was_enabled:
            gc.enable()
    rows = [("staged_file", name, rel, n, None, None, None, None) for name, rel, n in staged if n]
    rows += [("file_stats", None, None, None, f, nl, nl - nq, nq) for f, (nl, nq) in sorted(per_file.items())]
    rows += [("event_date", None, d.isoformat(), None, None, None, None, None) for d in sorted(dates)]
    cols = list(zip(*rows)) if rows else [[] for _ in range(8)]
    yield pa.RecordBatch.from_arrays(
        [pa.array(cols[i], typ) for i, typ in enumerate([pa.string(), pa.string(), pa.string(), pa.int64(), pa.string(), pa.int64(), pa.int64(), pa.int64()])],
        names=[c.split()[0] for c in MANIFEST_DDL.split(", ")],
    )


def corrupt_file_table(files: list["LandingFile"], *, ingested_at: datetime) -> pa.Table:
    """One quarantine row (reason ``corrupt_file``, line 0, no raw line) per unreadable file
    (quarantine.events columns without ``landing_date``)."""
    bad = [f for f in files if not f.readable]
    n = len(bad)
    cols = [pa.nulls(n, pa.string()), _const(C.REASON_CORRUPT_FILE, pa.string(), n), pa.array([f.error for f in bad], pa.string()),
            pa.nulls(n, pa.string()), _const(0, pa.int64(), n), pa.array([f.relative_path for f in bad], pa.string()),
            _const(ingested_at, pa.timestamp("us", tz="UTC"), n)]
    return pa.Table.from_arrays(cols, schema=_table_schema("quarantine.events"))


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

    Flow: one Spark job reads the landing lines and runs :func:`classify_and_stage` in the Python
    workers, which write bronze, quarantine and typed-event Parquet files to staging folders; the
    driver commits the bronze and quarantine files as they are, reads the staged events back with
    Spark to deduplicate them into silver, derives the dimension upserts, and reconciles.
    """
    import pyarrow.parquet as pq
    from functools import partial

    from pyspark.sql import functions as F

    from reelhouse.lake.catalog import get_table
    from reelhouse.sources.landing import list_landing_files

    t0 = time.time()
    run_version = int(run_version if run_version is not None else time.time() * 1000)
    ingested_at = datetime.now(timezone.utc)
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

    def app(table: str) -> dict:
        return {"app_id": f"reelhouse.ingest.{table}.{landing_date.isoformat()}", "app_version": run_version}

    def record(table: str, res, t_commit: float) -> None:
        report.table_versions[table] = res.version
        report.phase_seconds[table] = round(time.time() - t_commit, 3)
        if res.skipped:
            report.skipped_tables.append(table)

    meta = {"landing_date": landing_date.isoformat(), "step": "ingest"}
    by_landing = {"landing_date": [landing_date]}
    staged = {t: lake.staging_area(t) for t in ("bronze.events", "quarantine.events")}
    events_stage = lake.staging_area("silver.events")  # input of the dedupe, never committed
    conf_keys = split_settings(files)
    saved = {k: spark.conf.get(k, None) for k in conf_keys}
    for k, v in conf_keys.items():
        spark.conf.set(k, v)
    try:
        manifest: list = []
        if any(f.readable for f in files):
            fn = partial(
                classify_and_stage, landing_date=landing_date,
                future_tolerance_seconds=config.ingest.future_tolerance_seconds, ingested_at=ingested_at,
                staging={"bronze.events": staged["bronze.events"].path, "quarantine.events": staged["quarantine.events"].path,
                         "events": events_stage.path},
            )
            with phase("parse + classify + stage"):
                manifest = read_landing_lines(spark, files).mapInArrow(fn, MANIFEST_DDL).collect()
        staged_files = {t: [r["path"] for r in manifest if r["record"] == "staged_file" and r["table_name"] == t]
                        for t in ("bronze.events", "quarantine.events", "events")}
        corrupt = corrupt_file_table(files, ingested_at=ingested_at)
        if corrupt.num_rows:
            rel = f"landing_date={landing_date.isoformat()}/corrupt-files.parquet"
            os.makedirs(os.path.dirname(os.path.join(staged["quarantine.events"].path, rel)), exist_ok=True)
            pq.write_table(corrupt, os.path.join(staged["quarantine.events"].path, rel))
            staged_files["quarantine.events"].append(rel)

        for table in ("quarantine.events", "bronze.events"):
            t_commit = time.time()
            res = lake.commit_staged(staged.pop(table), mode="overwrite_partitions", files=staged_files[table],
                                     partitions=by_landing, metadata=meta, **app(table))
            record(table, res, t_commit)

        touched = sorted({date.fromisoformat(r["path"]) for r in manifest if r["record"] == "event_date"})
        report.event_dates = [d.isoformat() for d in touched]
        t_commit = time.time()
        if touched and staged_files["events"]:
            events = spark.read.schema(_spark_schema_of(events_stage_schema())).parquet(
                *[f"{events_stage.path}/{p}" for p in staged_files["events"]]
            )
            prior = lake.read("silver.events", where={"event_date": touched}).where(
                F.col("landing_date") != F.lit(landing_date)
            ).select("event_id")
            kept = deduplicate(events, prior).drop("_line_number")
        else:
            kept = spark.createDataFrame([], _schema("silver.events"))
        res = lake.write(kept, "silver.events", mode="overwrite_partitions", partitions=by_landing, metadata=meta, **app("silver.events"))
        record("silver.events", res, t_commit)
        lake.discard(events_stage)

        silver_today = lake.read("silver.events", where=by_landing)
        with phase("publish events read back"):
            # Spark 4 may hand back string_view columns; conform to the catalog
            # schema so filters and merges compare like with like.
            videos = to_videos(silver_today).toArrow()
            spec = get_table("silver.videos")
            videos = videos.select(spec.column_names).cast(spec.arrow_schema())
        n_videos = videos.num_rows
        if n_videos:
            t_commit = time.time()
            res = lake.merge(videos, "silver.videos", on=["video_id"],
                             update_when="s.published_at < t.published_at OR (s.published_at = t.published_at AND s.publish_event_id < t.publish_event_id)",
                             **app("silver.videos"))
            record("silver.videos", res, t_commit)
            import pyarrow.compute as pc

            current = lake.read_arrow("silver.videos", filter=pc.field("video_id").isin(videos["video_id"]))
            hashtags = video_hashtags_table(current)
            t_commit = time.time()
            res = lake.merge(hashtags, "silver.video_hashtags", on=["video_id", "hashtag"], **app("silver.video_hashtags"))
            record("silver.video_hashtags", res, t_commit)
        else:
            # a source without publish events (a log of views only, a catalogue older than the
            # lake) still has the video dimensions, empty: readers and the gate find the tables
            lake.ensure("silver.videos")
            lake.ensure("silver.video_hashtags")
        report.videos_upserted = n_videos

        stats_rows = [(r["_source_file"], r["lines_read"], r["rows_valid"]) for r in manifest if r["record"] == "file_stats"]
        file_stats = spark.createDataFrame(stats_rows, "_source_file string, lines_read long, rows_valid long")
        quarantined = lake.read("quarantine.events", where=by_landing).select("_source_file", "reason")
        recon = reconcile(file_stats, silver_today.select("_source_file"), quarantined, landing_date=landing_date, ingested_at=ingested_at)
        t_commit = time.time()
        res = lake.write(recon, "ops.ingest_reconciliation", mode="overwrite_partitions", partitions=by_landing,
                         metadata=meta, **app("ops.ingest_reconciliation"))
        record("ops.ingest_reconciliation", res, t_commit)

        rec = lake.read("ops.ingest_reconciliation", where=by_landing).agg(
            F.sum("lines_read"), F.sum("rows_kept"), F.sum("duplicates_dropped"), F.sum("rows_quarantined"),
            F.min(F.col("balanced").cast("int")),
        ).collect()[0]
        report.lines_read, report.rows_kept, report.duplicates_dropped, report.rows_quarantined = (int(x or 0) for x in rec[:4])
        report.balanced = bool(rec[4]) if rec[4] is not None else True
        report.quarantined_by_reason = {r["reason"]: r["count"] for r in quarantined.groupBy("reason").count().collect()}
        if report.balanced:
            report.message = "ok"
        else:
            report.message = "reconciliation mismatch: see ops.ingest_reconciliation where balanced = false"
    finally:
        for s in staged.values():
            lake.discard(s)
        lake.discard(events_stage)
        for k, v in saved.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
    report.seconds = round(time.time() - t0, 3)
    return report


def _spark_schema_of(schema: pa.Schema):
    """Spark StructType of an Arrow schema (via the catalog's type mapping)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _schema(name: str):
    from reelhouse.lake.catalog import get_table, spark_schema

    return spark_schema(get_table(name))


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_jobs/ingest.py --date YYYY-MM-DD [--run-version N]``: ingest one landing date; prints the report
    as JSON (see :func:`reelhouse.jobs.step_main`)."""
    from reelhouse.jobs import step_main

    return step_main(run, "ingest", argv)


if __name__ == "__main__":
    sys.exit(main())
