"""The lake module: the only code that reads or writes Delta tables.

Two engines behind one API (chosen by ``lake.engine`` in ``conf/``):

``delta-rs`` (default)
    Spark executors write Parquet into a staging folder inside the table directory; the driver
    moves the files into the standard partition layout (``<table>/<col>=<value>/part-….parquet``),
    reads each file's footer for Delta statistics, and commits add/remove actions through
    ``deltalake.DeltaTable.create_write_transaction``. This is the shape of delta-spark's own
    commit protocol (executors write, the driver commits) without the Delta JVM jars, which come
    from Maven and cannot be fetched in locked-down installs. Reads take the snapshot's file list
    from delta-rs and hand it to Spark (or to Arrow/pandas/DuckDB for small data). Files that were
    written but never committed are invisible to every Delta reader and are removed by ``vacuum``.
``delta-spark``
    Plain ``format("delta")`` reads and writes with ``replaceWhere``, ``txnAppId``/``txnVersion``
    and ``DeltaTable.merge``, for clusters that have the Delta jars on the classpath.

Idempotent commits: every write may carry an application transaction ``(app_id, app_version)``
(Delta protocol ``txn`` action; the same mechanism as delta-spark's ``txnAppId``/``txnVersion``).
When the table already records a version ≥ ``app_version`` for ``app_id``, the write is a no-op,
so a retried task cannot commit the same data twice.

Atomic partition overwrite (``mode="overwrite_partitions"``): one commit removes every file of the
named partitions and adds the new ones (``replaceWhere`` semantics); data outside the named
partitions is refused with :class:`LakeWriteError` before anything is committed.

Every table is a standard Delta table (protocol 1/2, no deletion vectors or column mapping) that
delta-rs, DuckDB's delta extension, Polars, pandas and delta-spark open. Timestamps are INT64
microseconds, UTC-adjusted.

Statistics never hide rows: :func:`file_stats` writes min/max that bound every value (or none for
a file), because readers skip files by them and delta-rs 1.6.6 reads a missing bound as "skip";
:meth:`Lake.read_arrow` scans :meth:`Lake.arrow_dataset`, which does not use the log's min/max
at all, so it is exact on tables written before; :meth:`Lake.repair_stats` (``reelhouse lake
repair-stats``) rewrites unsafe statistics of such tables for every other reader.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Sequence
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, CommitProperties, RemoveAction, Transaction

from reelhouse.lake.catalog import TableSpec, get_table, spark_schema

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config

WriteMode = Literal["append", "overwrite_partitions", "overwrite"]
Engine = Literal["delta-rs", "delta-spark"]
#: Partition selection: ``{"event_date": [date(2024, 1, 1), ...]}`` (values or a single value).
PartitionSpec = Mapping[str, Any]

STAGING_DIR = "_staging"


class LakeError(RuntimeError):
    """Base class of lake errors."""


class LakeWriteError(LakeError):
    """A write was refused before commit (rows outside the replaced partitions, nulls in a
    non-nullable column, schema mismatch). Nothing was committed."""


@dataclass(frozen=True)
class CommitResult:
    """Outcome of one write.

    ``version``: table version after the write (the unchanged current version when skipped);
    ``skipped``: True when the application transaction was already committed (idempotent retry);
    ``files_added`` / ``rows_added``: what this commit added; ``partitions``: the partition values
    written, as dicts of column → ISO string.
    """

    table: str
    version: int
    skipped: bool
    files_added: int = 0
    rows_added: int = 0
    partitions: list[dict[str, str]] = field(default_factory=list)


def _iso(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _filters(spec: TableSpec, where: PartitionSpec | None) -> list[tuple[str, str, Any]] | None:
    """Turn ``{"col": value | [values]}`` into delta-rs partition filters (conjunction)."""
    if not where:
        return None
    out: list[tuple[str, str, Any]] = []
    for col, val in where.items():
        if col not in spec.partition_by:
            raise ValueError(
                f"{spec.name}: {col!r} is not a partition column (partition columns: {list(spec.partition_by)})"
            )
        if isinstance(val, (list, tuple, set, frozenset)):
            vals = sorted({_iso(v) for v in val})
            if not vals:
                raise ValueError(f"{spec.name}: empty value list for partition column {col!r}")
            out.append((col, "in", vals))
        else:
            out.append((col, "=", _iso(val)))
    return out


def _matches(filters: list[tuple[str, str, Any]] | None, pv: Mapping[str, str | None]) -> bool:
    for col, op, val in filters or []:
        v = pv.get(col)
        if op == "=" and v != val:
            return False
        if op == "in" and v not in val:
            return False
    return True


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


def file_stats(path: str, spec: TableSpec) -> tuple[int, str]:
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
    holds nulls. Source: Delta protocol, "Per-file Statistics".
    """
    md = pq.read_metadata(path)
    n = md.num_rows
    nullable = {c.name: c.nullable for c in spec.columns}
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
        if col.null_count and not nullable.get(name, True):
            raise LakeWriteError(f"{spec.name}: non-nullable column {name!r} has {col.null_count} nulls in {path}")
        if col.binary or col.null_count == n:
            continue
        b = _bounds(col.min, col.max) if col.min is not None and col.max is not None else None
        if b is None:
            bounded = False
            continue
        mins[name], maxs[name] = b
        if col.floating:
            floats.append(name)
    if bounded and floats and _has_nan_or_inf(path, floats):
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


def _has_nan_or_inf(path: str, columns: Sequence[str]) -> bool:
    """Whether any of the float ``columns`` of the file holds NaN or ±inf (read row group by row
    group; Parquet footers cannot tell)."""
    pf = pq.ParquetFile(path)
    for rg in range(pf.metadata.num_row_groups):
        for c in pf.read_row_group(rg, columns=list(columns)).columns:
            if pa.compute.any(pa.compute.is_nan(c)).as_py() or pa.compute.any(pa.compute.is_inf(c)).as_py():
                return True
    return False


def _logged_stats_unsafe(row: Mapping[str, Any], eligible: Sequence[str], floats: set[str], path: str) -> bool:
    """Whether the logged statistics of one file (a row of ``get_add_actions(flatten=False)``)
    can make a reader skip rows of it or return rows that do not match (see
    :meth:`Lake.repair_stats`). Reads the file's footer, and its float columns when bounded."""
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


def _partition_values(rel_dir: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for seg in rel_dir.split("/"):
        if "=" in seg:
            k, v = seg.split("=", 1)
            v = unquote(v)
            out[k] = None if v == "__HIVE_DEFAULT_PARTITION__" else v
    return out


class Lake:
    """Read and write the catalog's Delta tables under one lake root.

    ``root``: local path (or URI for the delta-spark engine); ``engine``: ``"delta-rs"`` (default)
    or ``"delta-spark"``; ``spark``: the SparkSession to use for Spark reads and writes (created
    from config on first use when omitted).
    """

    def __init__(self, root: str, *, engine: Engine = "delta-rs", spark: "SparkSession | None" = None):
        if engine not in ("delta-rs", "delta-spark"):
            raise ValueError(f"lake engine must be 'delta-rs' or 'delta-spark', got {engine!r}")
        self.root = root.rstrip("/")
        self.engine: Engine = engine
        self._spark = spark

    @classmethod
    def from_config(cls, config: "Config", spark: "SparkSession | None" = None) -> "Lake":
        """The lake described by ``config.paths.lake`` and ``config.lake_engine``."""
        return cls(config.paths.lake, engine=config.lake_engine, spark=spark)

    # ------------------------------------------------------------------ basics
    @property
    def spark(self) -> "SparkSession":
        if self._spark is None:
            from reelhouse.spark import get_spark

            self._spark = get_spark()
        return self._spark

    def path(self, name: str) -> str:
        """Filesystem path (or URI) of table ``name`` (``layer.table``)."""
        return f"{self.root}/{get_table(name).relative_path}"

    def exists(self, name: str) -> bool:
        """True when the table has a Delta log."""
        return DeltaTable.is_deltatable(self.path(name))

    def ensure(self, name: str) -> DeltaTable:
        """Open the table, creating it empty from the catalog schema when it does not exist."""
        spec = get_table(name)
        path = self.path(name)
        if not DeltaTable.is_deltatable(path):
            os.makedirs(path, exist_ok=True) if "://" not in path else None
            try:
                DeltaTable.create(
                    path,
                    schema=spec.arrow_schema(),
                    partition_by=list(spec.partition_by) or None,
                    name=spec.name,
                    description=spec.description,
                    mode="ignore",
                )
            except Exception:
                if not DeltaTable.is_deltatable(path):
                    raise
        return DeltaTable(path)

    def delta_table(
        self, name: str, *, version: int | None = None, timestamp: datetime | str | None = None
    ) -> DeltaTable:
        """The delta-rs handle of a table, optionally at a version or a timestamp (UTC).

        Raises ``KeyError`` for a name not in the catalog and :class:`LakeError` when the table
        has not been written yet.
        """
        path = self.path(name)
        try:
            dt = DeltaTable(path, version=version) if version is not None else DeltaTable(path)
        except TableNotFoundError as exc:
            raise LakeError(f"table {name} does not exist yet at {path}") from exc
        if timestamp is not None:
            if version is not None:
                raise ValueError("give version or timestamp, not both")
            dt.load_as_version(timestamp)
        return dt

    def version(self, name: str) -> int | None:
        """Current table version, or None when the table does not exist."""
        return DeltaTable(self.path(name)).version() if self.exists(name) else None

    def history(self, name: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Commit history, newest first: version, timestamp (ms), operation, parameters,
        operationMetrics and the reelhouse commit metadata."""
        return self.delta_table(name).history(limit)

    def describe(self, name: str) -> dict[str, Any]:
        """Version, row count (sum of the add actions' ``numRecords``), file count, bytes and
        partition count of the current snapshot, read from the Delta log only (no data scan)."""
        dt = self.delta_table(name)
        adds = pa.table(dt.get_add_actions(flatten=True))
        pcols = [c for c in adds.column_names if c.startswith("partition.")]
        parts = adds.select(pcols).group_by(pcols).aggregate([]).num_rows if pcols and adds.num_rows else 0
        return {
            "table": name,
            "version": dt.version(),
            "rows": int(pa.compute.sum(adds["num_records"]).as_py() or 0) if adds.num_rows else 0,
            "files": adds.num_rows,
            "bytes": int(pa.compute.sum(adds["size_bytes"]).as_py() or 0) if adds.num_rows else 0,
            "partitions": parts,
        }

    def partitions(self, name: str, *, where: PartitionSpec | None = None) -> list[dict[str, str]]:
        """Partition values present in the current snapshot (optionally filtered), from the log
        only; e.g. ``[{"event_date": "2024-06-01", "landing_date": "2024-06-02"}, …]``."""
        if not self.exists(name):
            return []
        return DeltaTable(self.path(name)).partitions(_filters(get_table(name), where))

    def transaction_version(self, name: str, app_id: str) -> int | None:
        """Last committed ``app_version`` for ``app_id`` on this table (None if never)."""
        if not self.exists(name):
            return None
        return DeltaTable(self.path(name)).transaction_version(app_id)

    # ------------------------------------------------------------------ reads
    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        timestamp: datetime | str | None = None,
        where: PartitionSpec | None = None,
    ) -> "DataFrame":
        """Read a table (optionally at a version/timestamp, pruned to ``where`` partitions) as a
        Spark DataFrame with the catalog's column order and types. A table that does not exist
        yet reads as an empty DataFrame of the right schema."""
        spec = get_table(name)
        schema = spark_schema(spec)
        if self.engine == "delta-spark":
            reader = self.spark.read.format("delta")
            if version is not None:
                reader = reader.option("versionAsOf", version)
            if timestamp is not None:
                reader = reader.option("timestampAsOf", _iso(timestamp))
            if not self.exists(name):
                return self.spark.createDataFrame([], schema)
            df = reader.load(self.path(name))
            for col, op, val in _filters(spec, where) or []:
                df = df.where(df[col].isin(list(val)) if op == "in" else df[col] == val)
            return df.select(spec.column_names)
        if not self.exists(name):
            if version is not None or timestamp is not None:
                raise LakeError(f"table {name} does not exist yet")
            return self.spark.createDataFrame([], schema)
        dt = self.delta_table(name, version=version, timestamp=timestamp)
        files = dt.file_uris(_filters(spec, where))
        if not files:
            return self.spark.createDataFrame([], schema)
        df = self.spark.read.schema(schema).option("basePath", self.path(name)).parquet(*files)
        return df.select(spec.column_names)

    def read_arrow(
        self,
        name: str,
        *,
        version: int | None = None,
        timestamp: datetime | str | None = None,
        where: PartitionSpec | None = None,
        columns: Sequence[str] | None = None,
        filter: "pa.compute.Expression | None" = None,
    ) -> pa.Table:
        """Read a table through delta-rs into Arrow (no Spark), for small data and consumers.
        ``filter``: an Arrow dataset expression on any column (``pc.field("video_id").isin(ids)``),
        applied while scanning (see :meth:`arrow_dataset`: exact whatever statistics the log has)."""
        spec = get_table(name)
        if not self.exists(name):
            t = spec.arrow_schema().empty_table()
            return t.select(list(columns)) if columns else t
        dataset = self.arrow_dataset(name, version=version, timestamp=timestamp, where=where)
        try:
            t = dataset.to_table(columns=list(columns) if columns else None, filter=filter)
        except pa.ArrowNotImplementedError:
            # delta-rs merge writes Parquet whose Arrow schema says string_view; pyarrow then
            # compares the file's string_view column with the dataset's string statistics and has
            # no kernel for that. Scan (partition-pruned) and apply the filter in memory instead.
            if filter is None:
                raise
            t = dataset.to_table().filter(filter)
            if columns:
                t = t.select(list(columns))
        cols = list(columns) if columns else spec.column_names
        return t.select([c for c in cols if c in t.column_names])

    def arrow_dataset(
        self,
        name: str,
        *,
        version: int | None = None,
        timestamp: datetime | str | None = None,
        where: PartitionSpec | None = None,
    ) -> "pyarrow.dataset.FileSystemDataset":
        """The snapshot's files as a pyarrow dataset (what :meth:`read_arrow` scans), for DuckDB
        (``duckdb.sql("select … from ds where …")`` over ``ds = lake.arrow_dataset(name)``),
        Polars or batch-wise reads; pruned to the ``where`` partitions.

        Each file is guaranteed only its partition values, not the Delta log's min/max
        statistics: row filters are pushed down to the Parquet footers' row-group statistics,
        which pyarrow reads exactly (every file's footer is read once). So a filtered scan is exact
        on any table, including those written before reelhouse wrote safe statistics (long strings
        had no min/max, which delta-rs' own ``DeltaTable.to_pyarrow_dataset`` turns into "skip this
        file" for any filter on that column) and files whose float columns hold NaN (which
        delta-rs' guarantees make pyarrow return for ``x > a``). ``reelhouse lake repair-stats``
        makes the log itself safe for readers that do use it.
        """
        import pyarrow.dataset as pads

        spec = get_table(name)
        dt = self.delta_table(name, version=version, timestamp=timestamp)
        # to_pyarrow_dataset, not to_pyarrow_table: the latter leaves a thread that aborts the
        # interpreter at exit ("terminate called without an active exception", delta-rs #2184)
        dataset = dt.to_pyarrow_dataset(partitions=_filters(spec, where))
        types = {f.name: f.type for f in dataset.schema}
        fragments = []
        for frag in dataset.get_fragments():
            # delta-rs' guarantee = partition equalities (is_null for a null partition) AND stats
            # bounds; keep the partition values only
            keys = pads.get_partition_keys(frag.partition_expression)
            guarantee = pads.scalar(True)
            for col in spec.partition_by:
                if col not in keys:
                    raise LakeError(f"{name}: no partition value for {col!r} in the guarantee of {frag.path}")
                v = keys[col]
                guarantee = guarantee & (
                    pads.field(col).is_null() if v is None else pads.field(col) == pa.scalar(v, types[col]))
            fragments.append(dataset.format.make_fragment(frag.path, filesystem=dataset.filesystem,
                                                          partition_expression=guarantee))
        return pads.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)

    def read_pandas(self, name: str, **kwargs: Any) -> "pd.DataFrame":
        """:meth:`read_arrow` converted to pandas (same keyword arguments)."""
        return self.read_arrow(name, **kwargs).to_pandas()

    # ------------------------------------------------------------------ writes
    def write(
        self,
        df: "DataFrame",
        name: str,
        *,
        mode: WriteMode,
        partitions: PartitionSpec | None = None,
        app_id: str | None = None,
        app_version: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommitResult:
        """Write a Spark DataFrame to table ``name`` in one Delta commit.

        ``mode``: ``append``; ``overwrite_partitions`` (requires ``partitions``: atomically replace
        exactly those partitions; rows outside them raise :class:`LakeWriteError`); ``overwrite``
        (replace the whole table). ``app_id``/``app_version``: application transaction for
        idempotent retries (both or neither). ``metadata``: extra commit info (JSON-able).

        The DataFrame must have every catalog column (extra columns are an error); values are cast
        to the catalog types.
        """
        spec = get_table(name)
        if mode not in ("append", "overwrite_partitions", "overwrite"):
            raise ValueError(f"unknown write mode {mode!r}")
        if (app_id is None) != (app_version is None):
            raise ValueError("app_id and app_version go together")
        if mode == "overwrite_partitions" and not partitions:
            raise ValueError("mode='overwrite_partitions' needs partitions={col: [values]}")
        if mode != "overwrite_partitions" and partitions:
            raise ValueError(f"partitions= only goes with mode='overwrite_partitions' (mode={mode!r} would ignore it)")
        filters = _filters(spec, partitions) if mode == "overwrite_partitions" else None
        df = self._conform(df, spec)
        self.ensure(name)
        if app_id is not None:
            done = self.transaction_version(name, app_id)
            if done is not None and done >= app_version:  # type: ignore[operator]
                return CommitResult(name, self.version(name) or 0, skipped=True)
        if self.engine == "delta-spark":
            return self._write_delta_spark(df, spec, mode, filters, app_id, app_version)
        return self._write_delta_rs(df, spec, mode, filters, app_id, app_version, metadata)

    def _conform(self, df: "DataFrame", spec: TableSpec) -> "DataFrame":
        from pyspark.sql import functions as F

        missing = [c for c in spec.column_names if c not in df.columns]
        extra = [c for c in df.columns if c not in spec.column_names]
        if missing or extra:
            raise LakeWriteError(f"{spec.name}: DataFrame columns do not match the catalog: missing={missing} extra={extra}")
        schema = spark_schema(spec)
        return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])

    def _write_delta_rs(
        self,
        df: "DataFrame",
        spec: TableSpec,
        mode: WriteMode,
        filters: list[tuple[str, str, Any]] | None,
        app_id: str | None,
        app_version: int | None,
        metadata: Mapping[str, Any] | None,
    ) -> CommitResult:
        staged = self.staging_area(spec.name)
        writer = df.write.mode("overwrite").option("compression", "snappy")  # our own, empty folder
        if spec.partition_by:
            writer = writer.partitionBy(*spec.partition_by)
        try:
            writer.parquet(staged.path)
        except BaseException:
            self.discard(staged)
            raise
        return self._commit_staged_delta_rs(staged, spec, None, mode, filters, app_id, app_version, metadata)

    def write_arrow(
        self,
        table: pa.Table,
        name: str,
        *,
        mode: WriteMode,
        partitions: PartitionSpec | None = None,
        app_id: str | None = None,
        app_version: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommitResult:
        """Write a small Arrow table to table ``name`` in one Delta commit, without Spark (for
        results, manifests and other driver-sized data). Same modes, partition checks and
        idempotency as :meth:`write`; the table must have every catalog column (cast to the
        catalog types; extra columns raise :class:`LakeWriteError`)."""
        import pyarrow.dataset as pads

        spec = get_table(name)
        if sorted(table.column_names) != sorted(spec.column_names):
            raise LakeWriteError(f"{spec.name}: Arrow columns do not match the catalog: {sorted(table.column_names)}")
        table = table.select(spec.column_names).cast(spec.arrow_schema())
        staged = self.staging_area(name)
        try:
            if table.num_rows:
                part_schema = pa.schema([spec.arrow_schema().field(c) for c in spec.partition_by])
                pads.write_dataset(
                    table, staged.path, format="parquet",
                    partitioning=pads.partitioning(part_schema, flavor="hive") if spec.partition_by else None,
                    basename_template="part-{i}.parquet", existing_data_behavior="overwrite_or_ignore",
                    file_options=pads.ParquetFileFormat().make_write_options(compression="snappy"),
                )
        except BaseException:
            self.discard(staged)
            raise
        return self.commit_staged(staged, mode=mode, partitions=partitions, app_id=app_id, app_version=app_version,
                                  metadata=metadata)

    # ------------------------------------------------------------------ staged writes
    def staging_area(self, name: str) -> "StagedWrite":
        """A fresh, empty staging folder inside table ``name`` for Parquet files written outside
        Spark's writer (for example by Python workers with pyarrow), to be committed with
        :meth:`commit_staged` or dropped with :meth:`discard`. Files go in the Hive layout of the
        table's partition columns (``landing_date=2024-06-01/part-….parquet``), without the
        partition columns themselves, with the catalog's Arrow types (timestamps µs UTC)."""
        spec = get_table(name)
        self.ensure(name)
        write_id = uuid.uuid4().hex
        path = f"{self.path(spec.name)}/{STAGING_DIR}/{write_id}"
        if "://" not in path:
            os.makedirs(path, exist_ok=True)
        return StagedWrite(spec.name, path, write_id)

    def commit_staged(
        self,
        staged: "StagedWrite",
        *,
        mode: WriteMode,
        files: Sequence[str] | None = None,
        partitions: PartitionSpec | None = None,
        app_id: str | None = None,
        app_version: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommitResult:
        """Commit Parquet files from a :meth:`staging_area` in one Delta commit (same modes,
        partition checks, statistics and application-transaction idempotency as :meth:`write`).

        ``files``: paths relative to the staging folder to commit (default: every Parquet file
        in it); files not listed (a failed task attempt's output) are deleted with the folder.
        The staging folder is removed afterwards, committed or not.
        """
        spec = get_table(staged.table)
        if (app_id is None) != (app_version is None):
            self.discard(staged)
            raise ValueError("app_id and app_version go together")
        if mode == "overwrite_partitions" and not partitions:
            self.discard(staged)
            raise ValueError("mode='overwrite_partitions' needs partitions={col: [values]}")
        if mode != "overwrite_partitions" and partitions:
            self.discard(staged)
            raise ValueError(f"partitions= only goes with mode='overwrite_partitions' (mode={mode!r} would ignore it)")
        filters = _filters(spec, partitions) if mode == "overwrite_partitions" else None
        if app_id is not None:
            done = self.transaction_version(spec.name, app_id)
            if done is not None and done >= app_version:  # type: ignore[operator]
                self.discard(staged)
                return CommitResult(spec.name, self.version(spec.name) or 0, skipped=True)
        if self.engine == "delta-spark":
            try:
                paths = [f"{staged.path}/{f}" for f in (files if files is not None else _parquet_files(staged.path))]
                if not paths:
                    df = self.spark.createDataFrame([], spark_schema(spec))
                else:
                    df = self.spark.read.option("basePath", staged.path).parquet(*paths)
                df = self._conform(df, spec)
                return self._write_delta_spark(df, spec, mode, filters, app_id, app_version)
            finally:
                self.discard(staged)
        return self._commit_staged_delta_rs(staged, spec, files, mode, filters, app_id, app_version, metadata)

    def discard(self, staged: "StagedWrite") -> None:
        """Delete a staging folder and everything in it (nothing there is visible to readers)."""
        shutil.rmtree(staged.path, ignore_errors=True)
        try:
            os.rmdir(os.path.dirname(staged.path))  # only when no other write is staging
        except OSError:
            pass

    def _commit_staged_delta_rs(
        self,
        staged: "StagedWrite",
        spec: TableSpec,
        files: Sequence[str] | None,
        mode: WriteMode,
        filters: list[tuple[str, str, Any]] | None,
        app_id: str | None,
        app_version: int | None,
        metadata: Mapping[str, Any] | None,
    ) -> CommitResult:
        table_path = self.path(spec.name)
        staging, write_id = staged.path, staged.write_id
        moved: list[str] = []
        try:
            staged_files = list(files) if files is not None else _parquet_files(staging)
            actions: list[AddAction] = []
            parts: dict[tuple, dict[str, str]] = {}
            rows = 0
            now_ms = int(time.time() * 1000)
            for rel in sorted(staged_files):
                rel_dir = os.path.dirname(rel)
                pv = _partition_values(rel_dir)
                pv = {c: pv.get(c) for c in spec.partition_by}
                if filters and not _matches(filters, pv):
                    raise LakeWriteError(
                        f"{spec.name}: rows in partition {pv} are outside the partitions being replaced {filters}"
                    )
                src = os.path.join(staging, rel)
                n, stats = file_stats(src, spec)
                if n == 0:
                    continue
                base, ext = os.path.basename(rel).split(".", 1)
                dest_rel = f"{rel_dir}/{base}-{write_id[:12]}.{ext}" if rel_dir else f"{base}-{write_id[:12]}.{ext}"
                dest = os.path.join(table_path, dest_rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.replace(src, dest)
                moved.append(dest)
                rows += n
                parts[tuple(sorted(pv.items()))] = {k: v for k, v in pv.items() if v is not None}
                actions.append(AddAction(dest_rel, os.path.getsize(dest), pv, now_ms, True, stats))
            dt = DeltaTable(table_path)
            if app_id is not None:
                done = dt.transaction_version(app_id)
                if done is not None and done >= app_version:  # type: ignore[operator]
                    raise _AlreadyCommitted()
            if not actions and mode == "append":
                return CommitResult(spec.name, dt.version(), skipped=False)
            info = {"reelhouse.write_id": write_id, "reelhouse.mode": mode}
            info.update({f"reelhouse.{k}": v for k, v in (metadata or {}).items()})
            props = CommitProperties(
                custom_metadata=info,
                app_transactions=[Transaction(app_id, app_version)] if app_id is not None else None,
            )
            dt.create_write_transaction(
                actions,
                mode="append" if mode == "append" else "overwrite",
                schema=spec.arrow_schema(),
                partition_by=list(spec.partition_by) or None,
                partition_filters=filters,
                commit_properties=props,
            )
            moved.clear()  # committed: the files belong to the table now
            version = DeltaTable(table_path).version()
            return CommitResult(spec.name, version, False, len(actions), rows, list(parts.values()))
        except _AlreadyCommitted:
            return CommitResult(spec.name, DeltaTable(table_path).version(), skipped=True)
        finally:
            for p in moved:  # uncommitted: never leave data files behind
                try:
                    os.remove(p)
                except OSError:
                    pass
            self.discard(staged)

    def _write_delta_spark(
        self,
        df: "DataFrame",
        spec: TableSpec,
        mode: WriteMode,
        filters: list[tuple[str, str, Any]] | None,
        app_id: str | None,
        app_version: int | None,
    ) -> CommitResult:
        writer = df.write.format("delta").mode("append" if mode == "append" else "overwrite")
        if spec.partition_by:
            writer = writer.partitionBy(*spec.partition_by)
        if filters:
            clauses = []
            for col, op, val in filters:
                vals = val if op == "in" else [val]
                clauses.append(f"{col} IN ({', '.join(repr(v) for v in vals)})")
            writer = writer.option("replaceWhere", " AND ".join(clauses))
        if app_id is not None:
            writer = writer.option("txnAppId", app_id).option("txnVersion", app_version)
        before = self.version(spec.name)
        writer.save(self.path(spec.name))
        after = self.version(spec.name) or 0
        return CommitResult(spec.name, after, skipped=before == after)

    def merge(
        self,
        df: "DataFrame | pa.Table",
        name: str,
        *,
        on: Sequence[str],
        update_when: str | None = None,
        app_id: str | None = None,
        app_version: int | None = None,
    ) -> CommitResult:
        """Merge-upsert a small DataFrame (collected to the driver) or Arrow table into a dimension
        table.

        Rows whose ``on`` key matches are updated (only where the SQL ``update_when`` predicate
        over aliases ``s`` (source) and ``t`` (target) holds, e.g. ``"s.published_at <
        t.published_at"``); others are inserted. The source must be unique on ``on``
        (:class:`LakeWriteError` otherwise). Idempotent with ``app_id``/``app_version``.
        """
        spec = get_table(name)
        if (app_id is None) != (app_version is None):
            raise ValueError("app_id and app_version go together")
        if isinstance(df, pa.Table):
            if sorted(df.column_names) != sorted(spec.column_names):
                raise LakeWriteError(f"{spec.name}: Arrow columns do not match the catalog: {df.column_names}")
            if self.engine == "delta-spark":
                df = self.spark.createDataFrame(df.select(spec.column_names))
        if not isinstance(df, pa.Table):
            df = self._conform(df, spec)
        self.ensure(name)
        if app_id is not None:
            done = self.transaction_version(name, app_id)
            if done is not None and done >= app_version:  # type: ignore[operator]
                return CommitResult(name, self.version(name) or 0, skipped=True)
        predicate = " AND ".join(f"t.{k} = s.{k}" for k in on)
        if self.engine == "delta-spark":
            from delta.tables import DeltaTable as SparkDeltaTable  # type: ignore[import-not-found]

            m = SparkDeltaTable.forPath(self.spark, self.path(name)).alias("t").merge(df.alias("s"), predicate)
            m = m.whenMatchedUpdateAll(condition=update_when).whenNotMatchedInsertAll()
            m.execute()
            return CommitResult(name, self.version(name) or 0, skipped=False)
        source = (df.select(spec.column_names) if isinstance(df, pa.Table) else df.toArrow()).cast(spec.arrow_schema())
        if source.num_rows == 0:
            return CommitResult(name, self.version(name) or 0, skipped=False)
        keys = source.select(list(on))
        if keys.group_by(list(on)).aggregate([]).num_rows != keys.num_rows:
            raise LakeWriteError(f"{name}: merge source has duplicate keys on {list(on)}")
        dt = DeltaTable(self.path(name))
        props = CommitProperties(
            custom_metadata={"reelhouse.mode": "merge"},
            app_transactions=[Transaction(app_id, app_version)] if app_id is not None else None,
        )
        (
            dt.merge(source, predicate, source_alias="s", target_alias="t", commit_properties=props)
            .when_matched_update_all(predicate=update_when)
            .when_not_matched_insert_all()
            .execute()
        )
        return CommitResult(name, DeltaTable(self.path(name)).version(), False, rows_added=source.num_rows)

    def repair_stats(self, name: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Make the Delta log's file statistics safe for every reader (``reelhouse lake
        repair-stats``), for tables written before :func:`file_stats` wrote safe ones.

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
        snapshot; ``repaired``: files whose statistics were (or, dry run, would be) rewritten).
        Local lakes only.
        """
        spec = get_table(name)
        table_path = self.path(name)
        if "://" in table_path:
            raise LakeError(f"repair_stats works on local lakes only, not {table_path}")
        dt = self.delta_table(name)
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
                pv = {k: (None if v is None else _iso(v)) for k, v in (row.get("partition") or {}).items()}
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

    def vacuum(self, name: str, *, retention_hours: int = 168, dry_run: bool = True) -> list[str]:
        """Delete files no longer referenced (older than ``retention_hours``), and staging
        leftovers of killed writes. Returns the files (to be) deleted."""
        dt = self.delta_table(name)
        return dt.vacuum(retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False)


class _AlreadyCommitted(Exception):
    pass


@dataclass(frozen=True)
class StagedWrite:
    """A staging folder of table ``table`` (from :meth:`Lake.staging_area`): ``path`` is where
    to write Parquet files; ``write_id`` names the write in file names and commit metadata."""

    table: str
    path: str
    write_id: str


def _parquet_files(folder: str) -> list[str]:
    """Data files under ``folder``, relative to it (Spark's ``_SUCCESS``/``.crc`` files skipped)."""
    out = []
    for dirpath, _dirs, names in os.walk(folder):
        for f in names:
            if f.endswith(".parquet") and not f.startswith((".", "_")):
                out.append(os.path.relpath(os.path.join(dirpath, f), folder))
    return out


def tables_in(lake: Lake, names: Iterable[str]) -> dict[str, int | None]:
    """Current version of each named table (None when absent)."""
    return {n: lake.version(n) for n in names}
