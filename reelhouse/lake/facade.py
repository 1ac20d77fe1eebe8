"""The :class:`Lake`: the public API of the lake, one object per lake root, delegating to one
storage engine (:mod:`reelhouse.lake.engines`) chosen once, in :meth:`Lake.from_config`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Literal, Mapping, Sequence, overload
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
from deltalake import DeltaTable

from reelhouse.lake import staging, stats
from reelhouse.lake.catalog import TableSpec, get_table, table_path
from reelhouse.lake.checks import (
    PartitionFilters,
    PartitionSpec,
    WriteMode,
    already_committed,
    check_arrow_columns,
    conform_arrow,
    conform_dataframe,
    partition_filters,
    write_filters,
)
from reelhouse.lake.engines import (
    ENGINES,
    CommitResult,
    DeltaRsBridgeEngine,
    RowMatch,
    StorageEngine,
    delta_table,
    open_table,
    reelhouse_commit,
    table_exists,
    table_version,
)
from reelhouse.lake.errors import LakeError
from reelhouse.lake.staging import StagedWrite
from reelhouse.objectstore import delta_uri, filesystem, storage_options

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow.dataset
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import Config


class Lake:
    """Read and write the catalog's Delta tables under one lake root.

    ``root``: local path (or URI for the delta-spark engine); ``engine``: the storage engine class
    (:class:`~reelhouse.lake.engines.DeltaRsBridgeEngine` by default; :meth:`from_config` picks it
    from ``lake.engine``), instantiated once here; ``spark``: the SparkSession to use for Spark
    reads and writes (created from config on first use when omitted). Raises ``TypeError`` when
    ``engine`` is not a :class:`~reelhouse.lake.engines.StorageEngine` class (an engine *name*
    goes through :meth:`from_config`).
    """

    def __init__(self, root: str, *, engine: type[StorageEngine] = DeltaRsBridgeEngine,
                 spark: "SparkSession | None" = None):
        if not (isinstance(engine, type) and issubclass(engine, StorageEngine)):
            raise TypeError(f"engine must be a StorageEngine class, got {engine!r} (engine names: Lake.from_config)")
        self.root = root.rstrip("/")
        self._spark = spark
        self.engine: StorageEngine = engine(lambda: self.spark)

    @classmethod
    def from_config(cls, config: "Config", spark: "SparkSession | None" = None) -> "Lake":
        """The lake described by ``config.paths.lake`` with the engine ``config.lake_engine``
        names (``delta-rs`` → :class:`~reelhouse.lake.engines.DeltaRsBridgeEngine`,
        ``delta-spark`` → :class:`~reelhouse.lake.engines.DeltaSparkEngine`): the one place the
        engine is chosen. Registers ``config.object_store`` as the process's object store
        (:func:`reelhouse.objectstore.register`). Raises :class:`LakeError` for any other engine
        name."""
        try:
            engine = ENGINES[config.lake_engine]
        except KeyError:
            raise LakeError(
                f"unknown lake engine {config.lake_engine!r} (lake.engine): known engines are {sorted(ENGINES)}"
            ) from None
        from reelhouse import objectstore

        objectstore.register(config.object_store)  # s3a:// paths: this config's store
        return cls(config.paths.lake, engine=engine, spark=spark)

    # ------------------------------------------------------------------ basics
    @property
    def spark(self) -> "SparkSession":
        """The SparkSession (:func:`reelhouse.spark.get_spark` on first use when none was given)."""
        if self._spark is None:
            from reelhouse.spark import get_spark

            self._spark = get_spark()
        return self._spark

    def path(self, name: str) -> str:
        """Filesystem path (or URI) of table ``name`` (``layer.table``): ``<root>/<layer>/<table>``
        (:func:`~reelhouse.lake.catalog.table_path`). Raises ``KeyError`` for a name not in the
        catalog."""
        return table_path(self.root, get_table(name).name)

    def exists(self, name: str) -> bool:
        """True when the table has a Delta log."""
        return table_exists(self.path(name))

    def ensure(self, name: str) -> DeltaTable:
        """Open the table, creating it empty from the catalog schema when it does not exist."""
        spec = get_table(name)
        path = self.path(name)
        if not table_exists(path):
            if "://" not in path:
                os.makedirs(path, exist_ok=True)
            try:
                DeltaTable.create(
                    delta_uri(path),
                    storage_options=storage_options(path),
                    schema=spec.arrow_schema(),
                    partition_by=list(spec.partition_by) or None,
                    name=spec.name,
                    description=spec.description,
                    mode="ignore",
                )
            except Exception:
                if not table_exists(path):
                    raise
        return delta_table(path)

    def delta_table(
        self, name: str, *, version: int | None = None, timestamp: datetime | str | None = None
    ) -> DeltaTable:
        """The delta-rs handle of a table, optionally at a version or a timestamp (UTC).

        Raises ``KeyError`` for a name not in the catalog and :class:`LakeError` when the table
        has not been written yet.
        """
        return open_table(self.path(name), name, version=version, timestamp=timestamp)

    def version(self, name: str) -> int | None:
        """Current table version, or None when the table does not exist."""
        return table_version(self.path(name))

    def history(self, name: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Commit history, newest first: version, timestamp (ms), operation, parameters,
        operationMetrics and the reelhouse commit metadata (``reelhouse.<key>``) of either engine's
        commits (:func:`~reelhouse.lake.engines.reelhouse_commit`), read from the log by delta-rs.
        Raises :class:`LakeError` when the table has not been written yet."""
        return [reelhouse_commit(c) for c in self.delta_table(name).history(limit)]

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
        return delta_table(self.path(name)).partitions(partition_filters(get_table(name), where))

    def transaction_version(self, name: str, app_id: str) -> int | None:
        """Last committed ``app_version`` for ``app_id`` on this table (None if never)."""
        if not self.exists(name):
            return None
        return delta_table(self.path(name)).transaction_version(app_id)

    def _already_committed(self, name: str, app_id: str | None, app_version: int | None) -> bool:
        return app_id is not None and already_committed(self.transaction_version(name, app_id), app_version)

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
        yet reads as an empty DataFrame of the right schema (with the delta-rs engine, asking for
        a version or timestamp of it raises :class:`LakeError`). Raises ``ValueError`` for a
        ``where`` column that is not a partition column."""
        spec = get_table(name)
        return self.engine.read(spec, self.path(name), version=version, timestamp=timestamp, where=where)

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
        dataset = dt.to_pyarrow_dataset(partitions=partition_filters(spec, where))
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
    # mode and partitions= go together: the overloads let a type checker refuse
    # ``mode="append", partitions=…`` and ``mode="overwrite_partitions"`` without partitions, as
    # delta-rs' write_deltalake ties ``predicate`` to ``mode="overwrite"``; the runtime check
    # (:func:`reelhouse.lake.checks.write_filters`) stays for untyped callers.
    @overload
    def write(self, df: "DataFrame", name: str, *, mode: Literal["overwrite_partitions"], partitions: PartitionSpec,
              app_id: str | None = None, app_version: int | None = None,
              metadata: Mapping[str, Any] | None = None) -> CommitResult: ...

    @overload
    def write(self, df: "DataFrame", name: str, *, mode: Literal["append", "overwrite"], partitions: None = None,
              app_id: str | None = None, app_version: int | None = None,
              metadata: Mapping[str, Any] | None = None) -> CommitResult: ...

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
        idempotent retries (both or neither); a version at or below the recorded one is a no-op
        (``skipped=True``). ``metadata``: extra commit info (JSON-able; recorded by the delta-rs
        engine as ``reelhouse.<key>``).

        The DataFrame must have every catalog column (extra columns are an error); values are cast
        to the catalog types. Raises ``ValueError`` for inconsistent options (unknown mode,
        ``partitions`` without ``mode="overwrite_partitions"`` or the reverse, ``app_id`` without
        ``app_version``) and :class:`LakeWriteError` for data the checks refuse.
        """
        spec = get_table(name)
        filters = write_filters(spec, mode=mode, partitions=partitions, app_id=app_id, app_version=app_version)
        df = conform_dataframe(df, spec)
        self.ensure(name)
        if self._already_committed(name, app_id, app_version):
            return CommitResult(name, self.version(name) or 0, skipped=True)
        return self.engine.write(df, spec, self.path(name), mode=mode, filters=filters, app_id=app_id,
                                 app_version=app_version, metadata=metadata)

    @overload
    def write_arrow(self, table: pa.Table, name: str, *, mode: Literal["overwrite_partitions"],
                    partitions: PartitionSpec, app_id: str | None = None, app_version: int | None = None,
                    metadata: Mapping[str, Any] | None = None) -> CommitResult: ...

    @overload
    def write_arrow(self, table: pa.Table, name: str, *, mode: Literal["append", "overwrite"],
                    partitions: None = None, app_id: str | None = None, app_version: int | None = None,
                    metadata: Mapping[str, Any] | None = None) -> CommitResult: ...

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
        """Write a small Arrow table to table ``name`` in one Delta commit, without Spark with
        the delta-rs engine (for results, manifests and other driver-sized data). Same modes,
        partition checks, errors and idempotency as :meth:`write`; the table must have every
        catalog column (cast to the catalog types; extra columns raise :class:`LakeWriteError`)."""
        import pyarrow.dataset as pads

        spec = get_table(name)
        filters = write_filters(spec, mode=mode, partitions=partitions, app_id=app_id, app_version=app_version)
        table = conform_arrow(table, spec)
        staged = self.staging_area(name)
        try:
            if table.num_rows:
                part_schema = pa.schema([spec.arrow_schema().field(c) for c in spec.partition_by])
                fs, staged_root = filesystem(staged.path)
                pads.write_dataset(
                    table, staged_root, filesystem=fs, format="parquet",
                    partitioning=pads.partitioning(part_schema, flavor="hive") if spec.partition_by else None,
                    basename_template="part-{i}.parquet", existing_data_behavior="overwrite_or_ignore",
                    file_options=pads.ParquetFileFormat().make_write_options(compression="snappy"),
                )
        except BaseException:
            self.discard(staged)
            raise
        return self._commit_staged(staged, spec, mode=mode, files=None, filters=filters, app_id=app_id,
                                   app_version=app_version, metadata=metadata)

    # ------------------------------------------------------------------ staged writes
    def staging_area(self, name: str) -> StagedWrite:
        """A fresh, empty staging folder inside table ``name`` for Parquet files written outside
        Spark's writer (for example by Python workers with pyarrow), to be committed with
        :meth:`commit_staged` or dropped with :meth:`discard`. Files go in the Hive layout of the
        table's partition columns (``landing_date=2024-06-01/part-….parquet``), without the
        partition columns themselves, with the catalog's Arrow types (timestamps µs UTC). Creates
        the table (empty) when it does not exist."""
        spec = get_table(name)
        self.ensure(name)
        return staging.create(self.path(spec.name), spec.name)

    @overload
    def commit_staged(self, staged: StagedWrite, *, mode: Literal["overwrite_partitions"],
                      files: Sequence[str] | None = None, partitions: PartitionSpec,
                      app_id: str | None = None, app_version: int | None = None,
                      metadata: Mapping[str, Any] | None = None) -> CommitResult: ...

    @overload
    def commit_staged(self, staged: StagedWrite, *, mode: Literal["append", "overwrite"],
                      files: Sequence[str] | None = None, partitions: None = None,
                      app_id: str | None = None, app_version: int | None = None,
                      metadata: Mapping[str, Any] | None = None) -> CommitResult: ...

    def commit_staged(
        self,
        staged: StagedWrite,
        *,
        mode: WriteMode,
        files: Sequence[str] | None = None,
        partitions: PartitionSpec | None = None,
        app_id: str | None = None,
        app_version: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> CommitResult:
        """Commit Parquet files from a :meth:`staging_area` in one Delta commit (same modes,
        partition checks, statistics, errors and application-transaction idempotency as
        :meth:`write`).

        ``files``: paths relative to the staging folder to commit (default: every Parquet file
        in it); files not listed (a failed task attempt's output) are deleted with the folder.
        The staging folder is removed afterwards, committed, skipped or refused.
        """
        spec = get_table(staged.table)
        try:
            filters = write_filters(spec, mode=mode, partitions=partitions, app_id=app_id, app_version=app_version)
        except ValueError:
            self.discard(staged)
            raise
        return self._commit_staged(staged, spec, mode=mode, files=files, filters=filters, app_id=app_id,
                                   app_version=app_version, metadata=metadata)

    def _commit_staged(self, staged: StagedWrite, spec: TableSpec, *, mode: WriteMode, files: Sequence[str] | None,
                       filters: PartitionFilters | None, app_id: str | None, app_version: int | None,
                       metadata: Mapping[str, Any] | None) -> CommitResult:
        """:meth:`commit_staged` after its options were checked: skip an already committed
        application transaction, else hand the staged files to the engine."""
        if self._already_committed(spec.name, app_id, app_version):
            self.discard(staged)
            return CommitResult(spec.name, self.version(spec.name) or 0, skipped=True)
        return self.engine.commit_staged(staged, spec, self.path(spec.name), files=files, mode=mode, filters=filters,
                                         app_id=app_id, app_version=app_version, metadata=metadata)

    def discard(self, staged: StagedWrite) -> None:
        """Delete a staging folder and everything in it (nothing there is visible to readers)."""
        staging.discard(staged)

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
        t.published_at"``); others are inserted. The source must have exactly the catalog's
        columns and be unique on ``on`` (:class:`LakeWriteError` otherwise). Idempotent with
        ``app_id``/``app_version`` (both or neither, ``ValueError`` otherwise).
        """
        spec = get_table(name)
        if (app_id is None) != (app_version is None):
            raise ValueError("app_id and app_version go together")
        if isinstance(df, pa.Table):
            check_arrow_columns(df, spec)
        else:
            df = conform_dataframe(df, spec)
        self.ensure(name)
        if self._already_committed(name, app_id, app_version):
            return CommitResult(name, self.version(name) or 0, skipped=True)
        return self.engine.merge(df, spec, self.path(name), on=on, update_when=update_when, app_id=app_id,
                                 app_version=app_version)

    # ------------------------------------------------------------------ maintenance
    def repair_stats(self, name: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Make the Delta log's file statistics safe for every reader (``reelhouse lake
        repair-stats``), for tables written before :func:`~reelhouse.lake.stats.file_stats` wrote
        safe ones: see :func:`reelhouse.lake.stats.repair_stats` (one ``dataChange=false`` commit).

        Returns ``{"table", "version", "files", "repaired", "dry_run"}`` (``files``: files in the
        snapshot; ``repaired``: files whose statistics were (or, dry run, would be) rewritten).
        Local lakes only (:class:`LakeError` for a URI, and for a table not written yet).
        """
        spec = get_table(name)
        path = self.path(name)
        if "://" in path:
            raise LakeError(f"repair_stats works on local lakes only, not {path}")
        return stats.repair_stats(self.delta_table(name), path, spec, dry_run=dry_run)

    def vacuum(self, name: str, *, retention_hours: int = 168, dry_run: bool = True) -> list[str]:
        """Delete the files of table ``name`` that its Delta log does not reference any more and
        that are at least ``retention_hours`` hours old (0: all of them, whatever their age):

        - files removed by earlier commits (tombstones) and data files the log never referenced
          (a write killed after moving its files into the partition folders, before its commit):
          delta-rs' full vacuum;
        - leftovers of killed writes under ``<table>/_staging/`` (which delta-rs' vacuum skips, as
          it skips every path starting with ``_``): :func:`reelhouse.lake.staging.sweep`, by the
          files' modification time.

        A file the current snapshot references is never deleted. With retention 0, files of a
        write in progress go too: keep a retention longer than any write when writers may run.
        ``dry_run`` (default): only list. Returns the files (to be) deleted, relative to the table
        directory. Raises :class:`LakeError` when the table has not been written yet.
        """
        dt = self.delta_table(name)
        path = self.path(name)
        logged = pa.table(dt.get_add_actions(flatten=False)).column("path").to_pylist()
        referenced = set(logged) | {unquote(p) for p in logged}
        removed = dt.vacuum(retention_hours=retention_hours, dry_run=dry_run, enforce_retention_duration=False,
                            full=True)
        return list(removed) + staging.sweep(path, retention_hours=retention_hours, dry_run=dry_run,
                                             referenced=referenced)


    # ------------------------------------------------------------------ row-level rewrites
    def files(self, name: str) -> dict[str, int]:
        """The current snapshot's data files: path relative to the table -> size in bytes ({} for
        a table not written yet)."""
        if not self.exists(name):
            return {}
        adds = pa.table(self.delta_table(name).get_add_actions(flatten=True))
        return dict(zip(adds.column("path").to_pylist(), adds.column("size_bytes").to_pylist()))

    def count(self, name: str, match: RowMatch | None = None, *, version: int | None = None) -> int:
        """Rows of ``name`` (at ``version``) that ``match`` selects (all rows without one); 0 for a
        table not written yet."""
        if not self.exists(name):
            return 0
        ds = self.arrow_dataset(name, version=version)
        if match is None:
            return ds.count_rows()
        try:
            return ds.count_rows(filter=match.arrow())
        except pa.ArrowNotImplementedError:  # a string_view file (see read_arrow): filter in memory
            return ds.to_table(columns=[match.column]).filter(match.arrow()).num_rows

    def _rewrite(self, name: str, run: "Any") -> "TableRewrite":
        import time

        before = self.files(name)
        t0 = time.perf_counter()
        m = run()
        after = self.files(name)
        removed, added = set(before) - set(after), set(after) - set(before)
        return TableRewrite(name, m.version, m.rows, len(removed), len(added), sum(before[f] for f in removed),
                            sum(after[f] for f in added), m.committed and bool(removed or added),
                            time.perf_counter() - t0, len(before), len(after))

    def delete_rows(self, name: str, match: RowMatch, *, metadata: Mapping[str, Any] | None = None) -> "TableRewrite":
        """Delete the rows of ``name`` that ``match`` selects, in one Delta commit of the lake's
        engine (delta-rs ``DeltaTable.delete`` / delta-spark ``DeltaTable.delete``). The files
        holding them are rewritten without them; the previous files stay reachable by time travel
        until :meth:`vacuum` removes them. Nothing matches: no commit (``committed`` False), so a
        rerun is a no-op. ``metadata``: commit info, stored as ``reelhouse.<key>``. Returns a
        :class:`TableRewrite`."""
        spec = get_table(name)
        if self.count(name, match) == 0:
            return TableRewrite.nothing(name, self.version(name) or 0, len(self.files(name)))
        return self._rewrite(name, lambda: self.engine.delete(spec, self.path(name), match, metadata=metadata or {}))

    def redact(self, name: str, match: RowMatch, *, columns: Sequence[str],
               metadata: Mapping[str, Any] | None = None) -> "TableRewrite":
        """Set ``columns`` to NULL on the rows ``match`` selects (Delta ``UPDATE``), one commit; no
        commit when nothing matches. Raises :class:`LakeError` for a column the catalog does not
        declare nullable."""
        spec = get_table(name)
        nullable = {c.name: c.nullable for c in spec.columns}
        bad = [c for c in columns if not nullable.get(c, False)]
        if bad:
            raise LakeError(f"{name}: cannot redact non-nullable column(s) {bad}")
        if self.count(name, match) == 0:
            return TableRewrite.nothing(name, self.version(name) or 0, len(self.files(name)))
        return self._rewrite(name, lambda: self.engine.redact(spec, self.path(name), match, columns=columns,
                                                              metadata=metadata or {}))

    def optimize(self, name: str, *, partition: Mapping[str, str] | None = None, zorder_by: Sequence[str] = (),
                 target_size: int = 128 * 1024 * 1024, metadata: Mapping[str, Any] | None = None) -> "TableRewrite":
        """Compact one partition's files (``partition``: column -> ISO value; None: the whole
        table) into files of about ``target_size`` bytes, Z-ordered by ``zorder_by`` when given:
        delta-rs ``optimize.compact`` / ``optimize.z_order``, delta-spark ``OPTIMIZE … [ZORDER
        BY]``. Contents are unchanged (a ``dataChange=false`` commit). A partition already in
        one file is left alone (no commit) unless Z-ordering is asked for."""
        spec = get_table(name)
        if not self.exists(name):
            return TableRewrite.nothing(name, 0, 0)
        if partition and not zorder_by:
            files = self.delta_table(name).file_uris(partition_filters=[(k, "=", str(v)) for k, v in partition.items()])
            if len(files) < 2:
                return TableRewrite.nothing(name, self.version(name) or 0, len(files))
        return self._rewrite(name, lambda: self.engine.optimize(spec, self.path(name), partition=partition,
                                                                zorder_by=zorder_by, target_size=target_size,
                                                                metadata=metadata or {}))

    def checkpoint(self, name: str, *, cleanup_log: bool = True) -> None:
        """Write a Delta checkpoint of the current version (readers then replay one Parquet file
        instead of every JSON commit) and, with ``cleanup_log``, delete log entries older than the
        table's ``delta.logRetentionDuration`` (30 days by default): delta-rs
        ``create_checkpoint`` / ``cleanup_metadata``, valid for tables of either engine."""
        dt = self.delta_table(name)
        dt.create_checkpoint()
        if cleanup_log:
            dt.cleanup_metadata()


@dataclass(frozen=True)
class TableRewrite:
    """What :meth:`Lake.delete_rows`, :meth:`Lake.redact` or :meth:`Lake.optimize` did to one table.

    ``rows``: rows deleted or redacted (optimize: files compacted away); ``files_removed`` /
    ``files_added`` and ``bytes_removed`` / ``bytes_added`` (bytes): the snapshot's data files
    before vs after; ``files_before`` / ``files_after``: files in the snapshot; ``seconds``: wall
    time; ``committed``: False when nothing matched (no new version)."""

    table: str
    version: int
    rows: int
    files_removed: int
    files_added: int
    bytes_removed: int
    bytes_added: int
    committed: bool
    seconds: float
    files_before: int
    files_after: int

    @classmethod
    def nothing(cls, table: str, version: int, files: int) -> "TableRewrite":
        """No commit: nothing matched."""
        return cls(table, version, 0, 0, 0, 0, 0, False, 0.0, files, files)


def tables_in(lake: Lake, names: Iterable[str]) -> dict[str, int | None]:
    """Current version of each named table (None when absent)."""
    return {n: lake.version(n) for n in names}
