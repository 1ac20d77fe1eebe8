"""Classify landing lines: each line of a landing file becomes a typed event or a quarantine reason.

:func:`classify_batches` is an Arrow batch function (for Spark's ``mapInArrow``, or any iterator of
``pyarrow.RecordBatch``): it checks every line against the event contract
(:mod:`reelhouse.sources.contract`) and returns the raw text of every contract field, the typed
values of valid lines, and for every other line the reason code and detail. The staging pass
(:mod:`reelhouse.ingest.stage`) turns its output into bronze, quarantine and typed-event rows
(:mod:`reelhouse.ingest.transforms`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Iterator

import pyarrow as pa

from reelhouse.sources import contract as C

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


def classify_batches(
    batches: Iterable[pa.RecordBatch], *, landing_date: date, future_tolerance_seconds: int, fast_path: bool = True
) -> Iterator[pa.RecordBatch]:
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
