"""Delta file statistics from Parquet footers, and the repair of unsafe logged statistics.

Statistics never hide rows: :func:`file_stats` writes min/max that bound every value (or none for
a file), because readers skip files by them and delta-rs 1.6.6 reads a missing bound as "skip".
:func:`repair_stats` (``reelhouse lake repair-stats``, through :meth:`reelhouse.lake.Lake.repair_stats`)
rewrites unsafe statistics of tables written before that.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping, Sequence
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.transaction import AddAction, CommitProperties, RemoveAction

from reelhouse.lake.catalog import TableSpec
from reelhouse.lake.checks import check_not_null, iso

#: String statistics keep at most this many code points (Delta's ``dataSkippingStringPrefixLength``).
STATS_STRING_PREFIX = 32


def _string_min(s: str) -> str:
    """A lower bound of ``s`` for ``minValues``: its prefix (a prefix is never greater)."""
    return s[:STATS_STRING_PREFIX]


def _string_max(s: str) -> str:
    """An upper bound of ``s`` for ``maxValues``: ``s`` itself when short, else its prefix with the
    last code point that can be incremented incremented (surrogates skipped) and the rest cut off,
    which is greater than every string starting with that prefix; ``s`` itself when every code
    point of the prefix is U+10FFFF. Code point order is UTF-8 byte order, the order Parquet,
    Arrow, Spark and delta-rs compare strings in."""
    if len(s) <= STATS_STRING_PREFIX:
        return s
    prefix = s[:STATS_STRING_PREFIX]
    for i in range(len(prefix) - 1, -1, -1):
        cp = ord(prefix[i]) + 1
        if 0xD800 <= cp <= 0xDFFF:
            cp = 0xE000
        if cp <= 0x10FFFF:
            return prefix[:i] + chr(cp)
    return s


def _timestamp_stat(v: datetime, *, upper: bool) -> str:
    """Delta statistics text of a timestamp: ISO 8601 in UTC with milliseconds (the precision of
    Delta stats). A minimum is rounded down and a maximum rounded *up* to the millisecond, so a
    microsecond maximum is never under-stated (``12:00:00.123456`` → ``12:00:00.124``)."""
    if v.tzinfo is not None:
        v = v.astimezone(timezone.utc)
    sub_ms = v.microsecond % 1000
    if upper and (sub_ms or getattr(v, "nanosecond", 0)):
        v = v + timedelta(microseconds=1000 - sub_ms)
    return (f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
            f".{v.microsecond // 1000:03d}Z")


def _bounds(lo: Any, hi: Any) -> tuple[Any, Any] | None:
    """``(minValues entry, maxValues entry)`` for a column whose values lie in ``[lo, hi]``, or
    None when no safe JSON bound exists (NaN or infinite floats, bytes, decimals, other types)."""
    if isinstance(lo, bool) and isinstance(hi, bool):
        return lo, hi
    if isinstance(lo, int) and isinstance(hi, int):
        return lo, hi
    if isinstance(lo, float) and isinstance(hi, float):
        return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None
    if isinstance(lo, str) and isinstance(hi, str):
        return _string_min(lo), _string_max(hi)
    if isinstance(lo, datetime) and isinstance(hi, datetime):
        try:
            return _timestamp_stat(lo, upper=False), _timestamp_stat(hi, upper=True)
        except OverflowError:  # a maximum in the last millisecond of year 9999
            return None
    if isinstance(lo, date) and isinstance(hi, date):
        return lo.isoformat(), hi.isoformat()
    return None


def file_stats(path: str, spec: TableSpec, *, filesystem: "Any | None" = None) -> tuple[int, str]:
    """Read one Parquet file's footer and build its Delta add-action statistics.

    Returns ``(num_rows, stats_json)``: ``numRecords``, ``nullCount`` of every primitive column
    and ``minValues``/``maxValues`` that are true bounds of every value in the file, safe for every
    reader that skips files by them (delta-rs' ``to_pyarrow_dataset`` and so DuckDB, Polars and
    dbt-duckdb over it; Spark's Delta reader):

    - strings longer than :data:`STATS_STRING_PREFIX` code points: the minimum is truncated to a
      prefix, the maximum to a prefix whose last code point is incremented (as delta-rs' writer
      does; Delta's JVM writer appends a tie-breaker code point instead), so neither bound is
      ever wrong;
    - timestamps: milliseconds, the minimum rounded down and the maximum rounded up;
    - all-null columns: ``nullCount == numRecords`` and no min/max (readers read that as "only
      nulls").

    delta-rs 1.6.6 does **not** treat a missing min or max of one column as unknown: it turns it
    into a ``col >= null`` / ``col <= null`` guarantee, and pyarrow then skips the file for every
    comparison on that column (0 rows) and answers ``is_valid`` with every row (nulls included).
    So min/max are written for every column or for none: when one eligible column has no safe
    bound (a float column holding NaN or ±inf — Parquet footers leave NaN out of their min/max,
    so float columns are scanned for them —, a row group without statistics, a type without a
    JSON bound), ``minValues``/``maxValues`` are left out for the whole file, which every reader
    treats as "no bounds" (the file is always read). Binary and nested columns have no min/max
    (delta-rs and Delta do not use them). Raises :class:`LakeWriteError` when a non-nullable column
    holds nulls. ``filesystem``: a pyarrow filesystem holding ``path`` (an object store; default
local). Source: Delta protocol, "Per-file Statistics".
    """
    md = pq.read_metadata(path, filesystem=filesystem)
    n = md.num_rows
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    bounded = True  # every eligible column has safe min/max (or holds only nulls)
    floats: list[str] = []
    for name, col in _footer_columns(md).items():
        if col.null_count is None:
            bounded = bounded and col.binary  # without null counts, bounds would hide the nulls
            continue
        nulls[name] = col.null_count
        check_not_null(spec, name, col.null_count, where=path)
        if col.binary or col.null_count == n:
            continue
        b = _bounds(col.min, col.max) if col.min is not None and col.max is not None else None
        if b is None:
            bounded = False
            continue
        mins[name], maxs[name] = b
        if col.floating:
            floats.append(name)
    if bounded and floats and _has_nan_or_inf(path, floats, filesystem=filesystem):
        bounded = False  # Parquet writers leave NaN out of float min/max: no safe bounds
    stats: dict[str, Any] = {"numRecords": n}
    if bounded:
        stats.update(minValues=mins, maxValues=maxs)
    stats["nullCount"] = nulls
    # raw UTF-8, like delta-rs and Delta's JVM writer: delta-rs 1.6.6 decodes JSON-escaped
    # surrogate pairs of plane 16 (U+100000..U+10FFFF) 0x10000 too low
    return n, json.dumps(stats, ensure_ascii=False)


@dataclass(frozen=True)
class _FooterColumn:
    """One top-level primitive column of a Parquet footer, summed over its row groups:
    ``null_count`` (None when a row group has no null count), ``min``/``max`` over the row groups'
    statistics (None when there are no values, or a row group with values has no min/max)."""

    null_count: int | None
    min: Any
    max: Any
    binary: bool
    floating: bool


def _footer_columns(md: "pq.FileMetaData") -> dict[str, _FooterColumn]:
    schema = md.schema
    top_level: dict[str, list[int]] = {}
    for i in range(len(schema)):
        top_level.setdefault(schema.column(i).path.split(".")[0], []).append(i)
    out: dict[str, _FooterColumn] = {}
    for name, idxs in top_level.items():
        col = schema.column(idxs[0])
        if not (len(idxs) == 1 and "." not in col.path):
            continue  # nested: no statistics (delta-rs and Delta skip them too)
        binary = col.physical_type in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY") and col.logical_type.type in (
            "NONE", "UUID") and col.converted_type == "NONE"
        nc: int | None = 0
        lo = hi = None
        known_bounds = True
        for rg in range(md.num_row_groups):
            rg_md = md.row_group(rg)
            st = rg_md.column(idxs[0]).statistics
            if st is None or not st.has_null_count:
                nc = None
                break
            nc += st.null_count
            if st.null_count < rg_md.num_rows:
                if not st.has_min_max:
                    known_bounds = False
                elif known_bounds:
                    lo = st.min if lo is None else min(lo, st.min)
                    hi = st.max if hi is None else max(hi, st.max)
        if nc is None or not known_bounds:
            lo = hi = None
        out[name] = _FooterColumn(nc, lo, hi, binary, col.physical_type in ("FLOAT", "DOUBLE"))
    return out


def _has_nan_or_inf(path: str, columns: Sequence[str], *, filesystem: Any | None = None) -> bool:
    """Whether any of the float ``columns`` of the file holds NaN or ±inf (read row group by row
    group; Parquet footers cannot tell)."""
    pf = pq.ParquetFile(filesystem.open_input_file(path) if filesystem is not None else path)
    for rg in range(pf.metadata.num_row_groups):
        for c in pf.read_row_group(rg, columns=list(columns)).columns:
            if pa.compute.any(pa.compute.is_nan(c)).as_py() or pa.compute.any(pa.compute.is_inf(c)).as_py():
                return True
    return False


def _logged_stats_unsafe(row: Mapping[str, Any], eligible: Sequence[str], floats: set[str], path: str) -> bool:
    """Whether the logged statistics of one file (a row of ``get_add_actions(flatten=False)``)
    can make a reader skip rows of it or return rows that do not match (see
    :func:`repair_stats`). Reads the file's footer, and its float columns when bounded."""
    n = row.get("num_records")
    nc_all, mn_all, mx_all = row.get("null_count") or {}, row.get("min") or {}, row.get("max") or {}
    for c in eligible:
        nc, mn, mx = nc_all.get(c), mn_all.get(c), mx_all.get(c)
        if nc is None and (mn is not None or mx is not None):
            return True  # bounds without a null count hide the nulls
        if (mn is None or mx is None) and (nc is None or n is None or nc != n):
            return True  # a missing bound of a column with values
    footer = _footer_columns(pq.read_metadata(path))
    bounded_floats = []
    for c in eligible:
        mn, mx, col = mn_all.get(c), mx_all.get(c), footer.get(c)
        if mn is None or col is None or col.null_count == n:
            continue
        if col.min is None or col.max is None:
            return True  # values the footer cannot bound
        if not (_logged_bound_holds(mn, col.min, upper=False) and _logged_bound_holds(mx, col.max, upper=True)):
            return True
        if c in floats:
            bounded_floats.append(c)
    return bool(bounded_floats) and _has_nan_or_inf(path, bounded_floats)


def _logged_bound_holds(logged: Any, actual: Any, *, upper: bool) -> bool:
    """Whether a min (``upper=False``) or max read back from the Delta log bounds the file's
    actual min/max from its footer. Timestamps compare at millisecond precision (Delta stats'
    precision; readers widen a maximum by 1 ms)."""
    if isinstance(actual, datetime) and isinstance(logged, datetime):
        actual = actual if actual.tzinfo else actual.replace(tzinfo=timezone.utc)
        logged = logged if logged.tzinfo else logged.replace(tzinfo=timezone.utc)
        actual = actual.replace(microsecond=actual.microsecond // 1000 * 1000)
    try:
        return bool(logged >= actual) if upper else bool(logged <= actual)
    except TypeError:
        return False



def repair_stats(dt: DeltaTable, table_path: str, spec: TableSpec, *, dry_run: bool = False) -> dict[str, Any]:
    """Make the Delta log's file statistics of one local table safe for every reader, for tables
    written before :func:`file_stats` wrote safe ones. ``dt``: the table's delta-rs handle (current
    version); ``table_path``: its local directory.

    A file needs repair when its logged statistics would make a reader skip rows or return
    wrong ones: a column delta-rs takes min/max for holds values but lacks a min or a max
    (older reelhouse left out strings over 32 characters; delta-rs 1.6.6 turns that into
    "skip this file"), or has bounds without a null count, or a logged bound that does not
    enclose the file's values (checked against the Parquet footer; timestamps at millisecond
    precision), or float bounds while the file holds NaN or ±inf (scanned). Its statistics
    are recomputed from the Parquet file and committed in one commit for the table: each such
    file is hard-linked under a new name (copied where links are not supported) and the commit
    removes the old name and adds the new one with the new statistics, both
    ``dataChange=false`` (the same rows, like OPTIMIZE). Renaming is needed because delta-rs
    cannot remove and add one path in a commit; removing the old name also makes delta-rs
    refuse the commit when a concurrent write removed that file meanwhile, instead of bringing
    its rows back. Older versions still read the old names until ``vacuum``.

    Returns ``{"table", "version", "files", "repaired", "dry_run"}`` (``files``: files in the
    snapshot; ``repaired``: files whose statistics were (or, dry run, would be) rewritten;
    ``version``: the table version after the repair).
    """
    adds = pa.table(dt.get_add_actions(flatten=False))
    cols = set(adds.column_names)
    eligible: list[str] = []
    floats: set[str] = set()
    if "min" in cols and pa.types.is_struct(adds.schema.field("min").type):
        for f in adds.schema.field("min").type:
            eligible.append(f.name)
            if pa.types.is_floating(f.type):
                floats.add(f.name)
    todo: list[tuple[dict[str, Any], str]] = []
    for row in adds.to_pylist():
        if row.get("min") is None and row.get("max") is None:
            continue  # no bounds: every reader reads the file
        src = os.path.join(table_path, row["path"])
        if not os.path.exists(src):
            src = os.path.join(table_path, unquote(row["path"]))
        if _logged_stats_unsafe(row, eligible, floats, src):
            todo.append((row, file_stats(src, spec)[1]))
    result = {"table": spec.name, "version": dt.version(), "files": adds.num_rows, "repaired": len(todo),
              "dry_run": dry_run}
    if dry_run or not todo:
        return result
    repair_id = uuid.uuid4().hex
    now_ms = int(time.time() * 1000)
    actions: list[AddAction | RemoveAction] = []
    linked: list[str] = []
    try:
        for row, stats in todo:
            rel = row["path"]
            src = os.path.join(table_path, rel)
            if not os.path.exists(src):
                src = os.path.join(table_path, unquote(rel))
            rel_dir, base = os.path.dirname(rel), os.path.basename(rel)
            stem, ext = base.split(".", 1) if "." in base else (base, "parquet")
            new_rel = f"{rel_dir}/{stem}-{repair_id[:12]}.{ext}" if rel_dir else f"{stem}-{repair_id[:12]}.{ext}"
            dest = os.path.join(os.path.dirname(src), os.path.basename(new_rel))
            try:
                os.link(src, dest)
            except OSError:
                shutil.copy2(src, dest)
            linked.append(dest)
            pv = {k: (None if v is None else iso(v)) for k, v in (row.get("partition") or {}).items()}
            size = int(row["size_bytes"])
            actions.append(RemoveAction(rel, False, now_ms, size, pv))
            actions.append(AddAction(new_rel, size, pv, now_ms, False, stats))
        dt.create_write_transaction(
            actions,
            mode="append",
            schema=dt.schema(),
            partition_by=list(dt.metadata().partition_columns) or None,
            commit_properties=CommitProperties(
                custom_metadata={"reelhouse.mode": "repair-stats", "reelhouse.write_id": repair_id}),
        )
        linked.clear()
    finally:
        for f in linked:  # not committed: drop the new names
            try:
                os.remove(f)
            except OSError:
                pass
    result["version"] = DeltaTable(table_path).version()
    return result
