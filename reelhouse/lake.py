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
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Sequence
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, CommitProperties, Transaction

from reelhouse.catalog import TableSpec, get_table, spark_schema

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


def _stat_value(v: Any) -> Any:
    if isinstance(v, datetime):
        # Delta stats: ISO 8601 with milliseconds, UTC
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bytes):
        return None
    return v


def file_stats(path: str, spec: TableSpec) -> tuple[int, str]:
    """Read one Parquet footer and build Delta add-action statistics.

    Returns ``(num_rows, stats_json)`` with ``numRecords``, ``nullCount`` for every top-level
    column and ``minValues``/``maxValues`` for primitive columns (strings only when ≤ 32 chars,
    so a truncated max never under-states the true max). Source: Delta protocol, "Per-file
    Statistics". Raises :class:`LakeWriteError` when a non-nullable column holds nulls.
    """
    md = pq.read_metadata(path)
    n = md.num_rows
    nullable = {c.name: c.nullable for c in spec.columns}
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    schema = md.schema
    top_level: dict[str, list[int]] = {}
    for i in range(len(schema)):
        top_level.setdefault(schema.column(i).path.split(".")[0], []).append(i)
    for name, idxs in top_level.items():
        primitive = len(idxs) == 1 and "." not in schema.column(idxs[0]).path
        nc = 0
        lo = hi = None
        ok = True
        for rg in range(md.num_row_groups):
            st = md.row_group(rg).column(idxs[0]).statistics
            if st is None or not st.has_null_count:
                ok = False
                break
            if primitive:
                nc += st.null_count
                if st.has_min_max:
                    lo = st.min if lo is None else min(lo, st.min)
                    hi = st.max if hi is None else max(hi, st.max)
        if not ok:
            continue
        if primitive:
            nulls[name] = nc
            if nc and not nullable.get(name, True):
                raise LakeWriteError(f"{spec.name}: non-nullable column {name!r} has {nc} nulls in {path}")
            if lo is not None:
                lo_v, hi_v = _stat_value(lo), _stat_value(hi)
                if isinstance(lo_v, str) and (len(lo_v) > 32 or len(hi_v) > 32):
                    continue
                if lo_v is not None and hi_v is not None:
                    mins[name], maxs[name] = lo_v, hi_v
    stats = {"numRecords": n, "minValues": mins, "maxValues": maxs, "nullCount": nulls}
    return n, json.dumps(stats, default=str)


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
        applied while scanning."""
        spec = get_table(name)
        if not self.exists(name):
            t = spec.arrow_schema().empty_table()
            return t.select(list(columns)) if columns else t
        dt = self.delta_table(name, version=version, timestamp=timestamp)
        # to_pyarrow_dataset, not to_pyarrow_table: the latter leaves a thread that aborts the
        # interpreter at exit ("terminate called without an active exception", delta-rs #2184)
        dataset = dt.to_pyarrow_dataset(partitions=_filters(spec, where))
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
