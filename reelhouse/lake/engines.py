"""Storage engines: how the lake's Delta tables are read and written.

One interface, :class:`StorageEngine`, and one class per engine; :class:`reelhouse.lake.Lake`
holds one engine, chosen once from ``lake.engine`` in ``conf/`` by :meth:`Lake.from_config`
(:data:`ENGINES` maps the names to the classes).

:class:`DeltaRsBridgeEngine` (``delta-rs``, default)
    Spark executors (or Python workers with pyarrow) write Parquet into a staging folder inside
    the table directory (:mod:`reelhouse.lake.staging`); the driver moves the files into the
    standard partition layout (``<table>/<col>=<value>/part-….parquet``), reads each file's footer
    for Delta statistics (:func:`reelhouse.lake.stats.file_stats`), and commits add/remove actions
    through ``deltalake.DeltaTable.create_write_transaction``. This is the shape of delta-spark's
    own commit protocol (executors write, the driver commits) without Delta inside the JVM. Reads
    take the snapshot's file list from delta-rs and hand it to Spark. Merges run in delta-rs over
    an Arrow source. On an object store (``s3a://`` tables) the files are committed where Spark
    wrote them (``<table>/staged/<write id>/…``; a rename there would be a copy through the
    client) and delta-rs reaches the store through ``storage_options``
    (:func:`reelhouse.objectstore.storage_options`).
:class:`DeltaSparkEngine` (``delta-spark``)
    Delta inside Spark (jars from Maven Central, ``make jars``): ``format("delta")`` writes with
    ``replaceWhere`` and ``txnAppId``/``txnVersion``, ``DeltaTable.merge``, Delta SQL for time
    travel and commit metrics. Delta's own refusals are raised as the bridge's :class:`LakeWriteError`.

Both pass one contract suite (``tests/reelhouse/lake/test_lake_contract.py``), and each reads what
the other wrote.

Engines do only the engine-specific part of an operation: :class:`~reelhouse.lake.Lake` has
already resolved the table (catalog spec, path), checked the write options, conformed the data to
the catalog schema, created the table when missing and skipped an already committed application
transaction (:mod:`reelhouse.lake.checks`).
"""

from __future__ import annotations

import json
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Literal, Mapping, Sequence

import pyarrow as pa
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, CommitProperties, Transaction

from reelhouse.lake import staging, stats
from reelhouse.lake.catalog import TableSpec, spark_schema
from reelhouse.lake.checks import (
    PartitionFilters,
    PartitionSpec,
    WriteMode,
    already_committed,
    check_partition_scope,
    check_unique_keys,
    conform_dataframe,
    partition_filters,
)
from reelhouse.lake.errors import LakeError, LakeWriteError
from reelhouse.lake.staging import StagedWrite
from reelhouse.objectstore import delta_uri, filesystem, spark_uri, storage_options

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


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


# ----------------------------------------------------------------------------- the Delta log (delta-rs)
def delta_table(path: str, *, version: int | None = None) -> DeltaTable:
    """delta-rs' handle of the table at ``path`` (a local path or an ``s3a://``/``s3://`` URI, with
    the process's object-store options: :func:`reelhouse.objectstore.storage_options`). Raises
    delta-rs' ``TableNotFoundError`` when there is no Delta log."""
    return DeltaTable(delta_uri(path), version=version, storage_options=storage_options(path))


def table_exists(path: str) -> bool:
    """True when ``path`` holds a Delta log."""
    return DeltaTable.is_deltatable(delta_uri(path), storage_options(path))


def table_version(path: str) -> int | None:
    """Current version of the Delta table at ``path``, or None when there is none."""
    return delta_table(path).version() if table_exists(path) else None


def open_table(path: str, name: str, *, version: int | None = None,
               timestamp: datetime | str | None = None) -> DeltaTable:
    """The delta-rs handle of table ``name`` at ``path``, optionally at a version or a timestamp
    (UTC). Raises :class:`LakeError` when the table has not been written yet and ``ValueError``
    when both ``version`` and ``timestamp`` are given."""
    try:
        dt = delta_table(path, version=version)
    except TableNotFoundError as exc:
        raise LakeError(f"table {name} does not exist yet at {path}") from exc
    if timestamp is not None:
        if version is not None:
            raise ValueError("give version or timestamp, not both")
        dt.load_as_version(timestamp)
    return dt


def _merge_predicate(on: Sequence[str]) -> str:
    """``t.k1 = s.k1 AND …``: target ``t`` and source ``s`` match on every ``on`` column."""
    return " AND ".join(f"t.{k} = s.{k}" for k in on)


class _AlreadyCommitted(Exception):
    pass


@dataclass(frozen=True)
class RowMatch:
    """The rows a delete, a redaction or a retention cut touches: ``column`` compared with
    ``values`` by ``op``.

    - ``"in"``: ``column IN values`` (user ids);
    - ``"contains_any"``: ``column`` contains any of ``values`` as a substring (raw landing lines
      holding a quoted id);
    - ``"before"``: ``column < values[0]`` (a date: partitions past retention).

    Each engine renders it in its own SQL dialect (:meth:`sql`); :meth:`arrow` gives the same
    predicate as an Arrow dataset expression (counting the rows first keeps a no-op a no-op: no
    commit when nothing matches). Values are strings or dates; quotes are escaped. Raises
    ``ValueError`` for an unknown op or no values.
    """

    column: str
    op: Literal["in", "contains_any", "before"]
    values: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError(f"RowMatch on {self.column}: no values")
        if self.op not in ("in", "contains_any", "before"):
            raise ValueError(f"RowMatch op {self.op!r}: use in | contains_any | before")

    @staticmethod
    def _literal(value: Any) -> str:
        import datetime as _dt

        if isinstance(value, _dt.datetime):
            return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
        if isinstance(value, _dt.date):
            return f"DATE '{value.isoformat()}'"
        return "'" + str(value).replace("'", "''") + "'"

    def sql(self, dialect: Literal["datafusion", "spark"]) -> str:
        """The predicate as SQL text for delta-rs (DataFusion) or Spark SQL."""
        col = f'"{self.column}"' if dialect == "datafusion" else f"`{self.column}`"
        if self.op == "in":
            return f"{col} IN ({', '.join(self._literal(v) for v in self.values)})"
        if self.op == "before":
            return f"{col} < {self._literal(self.values[0])}"
        fn = "strpos" if dialect == "datafusion" else "instr"
        return "(" + " OR ".join(f"{fn}({col}, {self._literal(v)}) > 0" for v in self.values) + ")"

    def arrow(self) -> "pa.compute.Expression":
        """The predicate as an Arrow dataset expression (nulls never match)."""
        import pyarrow.compute as pc

        field_ = pc.field(self.column)
        if self.op == "in":
            # equalities, not isin: pyarrow has no isin-vs-statistics kernel for the string_view
            # columns delta-rs' DELETE/UPDATE/OPTIMIZE write (string == string_view works)
            expr = None
            for v in self.values:
                e = field_ == pa.scalar(v)
                expr = e if expr is None else (expr | e)
            return expr
        if self.op == "before":
            return field_ < pa.scalar(self.values[0])
        expr = None
        for v in self.values:
            e = pc.match_substring(field_, str(v))
            expr = e if expr is None else (expr | e)
        return expr


@dataclass(frozen=True)
class RewriteMetrics:
    """What one row-level rewrite or compaction committed.

    ``version``: the table version after it; ``rows``: rows deleted (delete) or updated (redact),
    files compacted away (optimize); ``committed``: False when the engine found nothing to do."""

    version: int
    rows: int
    committed: bool


def _props(mode: str, metadata: Mapping[str, Any]) -> CommitProperties:
    return CommitProperties(custom_metadata={"reelhouse.mode": mode,
                                             **{f"reelhouse.{k}": str(v) for k, v in metadata.items()}})


# ----------------------------------------------------------------------------- the interface
class StorageEngine(ABC):
    """How one storage engine reads and writes the catalog's Delta tables.

    ``spark``: a zero-argument callable returning the SparkSession (called only when an operation
    needs Spark, so an engine is built without starting a JVM). Every method gets the table's
    catalog entry ``spec`` and its ``path`` (:func:`reelhouse.lake.catalog.table_path`).
    """

    #: The ``lake.engine`` value that selects this engine.
    name: ClassVar[str]

    def __init__(self, spark: Callable[[], "SparkSession"]) -> None:
        self._spark = spark

    @property
    def spark(self) -> "SparkSession":
        """The SparkSession (created on first use by the provider given at construction)."""
        return self._spark()

    @abstractmethod
    def read(self, spec: TableSpec, path: str, *, version: int | None, timestamp: datetime | str | None,
             where: PartitionSpec | None) -> "DataFrame":
        """The table (optionally at ``version`` or ``timestamp``, pruned to the ``where``
        partitions) as a Spark DataFrame with the catalog's columns in catalog order. A table that
        does not exist yet reads as an empty DataFrame of the catalog schema (the delta-rs bridge
        raises :class:`LakeError` when it is asked for a version or a timestamp of it). Raises
        ``ValueError`` for a ``where`` column that is not a partition column."""

    @abstractmethod
    def write(self, df: "DataFrame", spec: TableSpec, path: str, *, mode: WriteMode,
              filters: PartitionFilters | None, app_id: str | None, app_version: int | None,
              metadata: Mapping[str, Any] | None) -> CommitResult:
        """Write a conformed DataFrame to the existing table in one Delta commit. ``filters``:
        the partitions replaced (``mode="overwrite_partitions"``), else None; ``app_id`` /
        ``app_version``: application transaction recorded with the commit (both or neither);
        ``metadata``: extra commit info. Raises :class:`reelhouse.lake.LakeWriteError` (or the
        engine's own error) for data the checks refuse; nothing is committed then."""

    @abstractmethod
    def commit_staged(self, staged: StagedWrite, spec: TableSpec, path: str, *, files: Sequence[str] | None,
                      mode: WriteMode, filters: PartitionFilters | None, app_id: str | None,
                      app_version: int | None, metadata: Mapping[str, Any] | None) -> CommitResult:
        """Commit the Parquet files of a staging folder (``files``: relative to it; None: every
        Parquet file in it) as :meth:`write` commits a DataFrame. The staging folder is removed
        afterwards, committed or not."""

    @abstractmethod
    def merge(self, source: "DataFrame | pa.Table", spec: TableSpec, path: str, *, on: Sequence[str],
              update_when: str | None, app_id: str | None, app_version: int | None) -> CommitResult:
        """Merge-upsert ``source`` (a conformed Spark DataFrame, or an Arrow table with exactly
        the catalog's columns) into the existing table: rows matching on ``on`` are updated where
        ``update_when`` (SQL over aliases ``s`` and ``t``) holds, others inserted."""

    @abstractmethod
    def delete(self, spec: TableSpec, path: str, match: RowMatch, *, metadata: Mapping[str, Any]) -> RewriteMetrics:
        """Delete the rows ``match`` selects in one commit (Delta ``DELETE``: the files holding
        them are rewritten without them; the old files stay reachable by time travel until a
        vacuum). ``metadata``: commit info (``reelhouse.*``)."""

    @abstractmethod
    def redact(self, spec: TableSpec, path: str, match: RowMatch, *, columns: Sequence[str],
               metadata: Mapping[str, Any]) -> RewriteMetrics:
        """Set ``columns`` (nullable ones) to NULL on the rows ``match`` selects, in one commit
        (Delta ``UPDATE``)."""

    @abstractmethod
    def optimize(self, spec: TableSpec, path: str, *, partition: Mapping[str, str] | None,
                 zorder_by: Sequence[str], target_size: int, metadata: Mapping[str, Any]) -> RewriteMetrics:
        """Compact the small files of one partition (``partition``: column -> ISO value; None: the
        whole table) into files of about ``target_size`` bytes, Z-ordered by ``zorder_by`` when
        given (Delta ``OPTIMIZE [ZORDER BY]``: a ``dataChange=false`` commit)."""


# ----------------------------------------------------------------------------- delta-rs bridge
class DeltaRsBridgeEngine(StorageEngine):
    """``delta-rs``: Spark (or pyarrow) writes Parquet into a staging folder, delta-rs commits it
    (see the module docstring). Checks partition scope (each file's partition folder) and
    nullability (each file's footer) before committing, and the application transaction again
    just before the commit (a concurrent retry that committed meanwhile makes this one a no-op)."""

    name = "delta-rs"

    def read(self, spec: TableSpec, path: str, *, version: int | None, timestamp: datetime | str | None,
             where: PartitionSpec | None) -> "DataFrame":
        schema = spark_schema(spec)
        if not table_exists(path):
            if version is not None or timestamp is not None:
                raise LakeError(f"table {spec.name} does not exist yet")
            return self.spark.createDataFrame([], schema)
        dt = open_table(path, spec.name, version=version, timestamp=timestamp)
        files = [spark_uri(f) for f in dt.file_uris(partition_filters(spec, where))]
        if not files:
            return self.spark.createDataFrame([], schema)
        # Spark takes partition values from the folders below basePath: the table root for files
        # in the partition layout, the write's own folder for files committed in place on an
        # object store (<table>/staged/<write id>/<col>=<value>/…); one read per base, unioned
        root = spark_uri(path).rstrip("/")
        staged = f"{root}/{staging.OBJECT_STORE_STAGING_DIR}/"
        bases: dict[str, list[str]] = {}
        for f in files:
            base = staged + f[len(staged):].split("/", 1)[0] if f.startswith(staged) else root
            bases.setdefault(base, []).append(f)
        frames = [self.spark.read.schema(schema).option("basePath", b).parquet(*fs) for b, fs in bases.items()]
        df = frames[0]
        for other in frames[1:]:
            df = df.unionByName(other)
        return df.select(spec.column_names)

    def write(self, df: "DataFrame", spec: TableSpec, path: str, *, mode: WriteMode,
              filters: PartitionFilters | None, app_id: str | None, app_version: int | None,
              metadata: Mapping[str, Any] | None) -> CommitResult:
        staged = staging.create(path, spec.name)
        writer = df.write.mode("overwrite").option("compression", "snappy")  # our own, empty folder
        if spec.partition_by:
            writer = writer.partitionBy(*spec.partition_by)
        try:
            writer.parquet(staged.path)
        except BaseException:
            staging.discard(staged)
            raise
        return self.commit_staged(staged, spec, path, files=None, mode=mode, filters=filters, app_id=app_id,
                                  app_version=app_version, metadata=metadata)

    def commit_staged(self, staged: StagedWrite, spec: TableSpec, path: str, *, files: Sequence[str] | None,
                      mode: WriteMode, filters: PartitionFilters | None, app_id: str | None,
                      app_version: int | None, metadata: Mapping[str, Any] | None) -> CommitResult:
        staging_path, write_id = staged.path, staged.write_id
        moved: list[str] = []
        in_place = staging.in_place(path)
        fs, staging_root = filesystem(staging_path) if in_place else (None, staging_path)
        committed: list[str] = []  # in place: the staged files the actions name
        keep: list[str] = []  # ... once the commit went through (they belong to the table then)
        try:
            staged_files = list(files) if files is not None else staging.parquet_files(staging_path)
            actions: list[AddAction] = []
            parts: dict[tuple, dict[str, str]] = {}
            rows = 0
            now_ms = int(time.time() * 1000)
            for rel in sorted(staged_files):
                rel_dir = os.path.dirname(rel)
                pv = staging.partition_values(rel_dir)
                pv = {c: pv.get(c) for c in spec.partition_by}
                check_partition_scope(spec, filters, pv)
                if in_place:  # object store: the add action names the file where it was written
                    src = f"{staging_root}/{rel}"
                    n, file_stats = stats.file_stats(src, spec, filesystem=fs)
                    if n == 0:
                        continue
                    dest_rel, size = f"{staging.OBJECT_STORE_STAGING_DIR}/{write_id}/{rel}", fs.get_file_info(src).size
                    committed.append(rel)
                else:
                    src = os.path.join(staging_path, rel)
                    n, file_stats = stats.file_stats(src, spec)  # raises on nulls in a non-nullable column
                    if n == 0:
                        continue
                    base, ext = os.path.basename(rel).split(".", 1)
                    dest_rel = f"{rel_dir}/{base}-{write_id[:12]}.{ext}" if rel_dir else f"{base}-{write_id[:12]}.{ext}"
                    dest = os.path.join(path, dest_rel)
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    os.replace(src, dest)
                    moved.append(dest)
                    size = os.path.getsize(dest)
                rows += n
                parts[tuple(sorted(pv.items()))] = {k: v for k, v in pv.items() if v is not None}
                actions.append(AddAction(dest_rel, size, pv, now_ms, True, file_stats))
            dt = delta_table(path)
            if app_id is not None and already_committed(dt.transaction_version(app_id), app_version):
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
            keep = committed
            version = delta_table(path).version()
            return CommitResult(spec.name, version, False, len(actions), rows, list(parts.values()))
        except _AlreadyCommitted:
            return CommitResult(spec.name, delta_table(path).version(), skipped=True)
        finally:
            for p in moved:  # uncommitted: never leave data files behind
                try:
                    os.remove(p)
                except OSError:
                    pass
            # in place: the committed files stay (``keep``), the rest of the folder goes
            staging.discard(staged, keep=keep) if keep else staging.discard(staged)

    def merge(self, source: "DataFrame | pa.Table", spec: TableSpec, path: str, *, on: Sequence[str],
              update_when: str | None, app_id: str | None, app_version: int | None) -> CommitResult:
        table = (source.select(spec.column_names) if isinstance(source, pa.Table) else source.toArrow()).cast(
            spec.arrow_schema())
        if table.num_rows == 0:
            return CommitResult(spec.name, table_version(path) or 0, skipped=False)
        check_unique_keys(table, spec, on)
        dt = delta_table(path)
        props = CommitProperties(
            custom_metadata={"reelhouse.mode": "merge"},
            app_transactions=[Transaction(app_id, app_version)] if app_id is not None else None,
        )
        (
            dt.merge(table, _merge_predicate(on), source_alias="s", target_alias="t", commit_properties=props)
            .when_matched_update_all(predicate=update_when)
            .when_not_matched_insert_all()
            .execute()
        )
        return CommitResult(spec.name, delta_table(path).version(), False, rows_added=table.num_rows)

    def delete(self, spec: TableSpec, path: str, match: RowMatch, *, metadata: Mapping[str, Any]) -> RewriteMetrics:
        m = delta_table(path).delete(match.sql("datafusion"), commit_properties=_props("delete", metadata))
        return RewriteMetrics(delta_table(path).version(), int(m.get("num_deleted_rows", 0)), True)

    def redact(self, spec: TableSpec, path: str, match: RowMatch, *, columns: Sequence[str],
               metadata: Mapping[str, Any]) -> RewriteMetrics:
        m = delta_table(path).update(updates={c: "NULL" for c in columns}, predicate=match.sql("datafusion"),
                                     commit_properties=_props("redact", metadata))
        return RewriteMetrics(delta_table(path).version(), int(m.get("num_updated_rows", 0)), True)

    def optimize(self, spec: TableSpec, path: str, *, partition: Mapping[str, str] | None,
                 zorder_by: Sequence[str], target_size: int, metadata: Mapping[str, Any]) -> RewriteMetrics:
        dt = delta_table(path)
        before = dt.version()
        filters = [(k, "=", str(v)) for k, v in (partition or {}).items()] or None
        kw = dict(partition_filters=filters, target_size=target_size, max_concurrent_tasks=2,
                  commit_properties=_props("optimize", metadata))
        m = dt.optimize.z_order(list(zorder_by), **kw) if zorder_by else dt.optimize.compact(**kw)
        after = delta_table(path).version()
        return RewriteMetrics(after, int(m.get("numFilesRemoved", 0)), after != before)


# ----------------------------------------------------------------------------- delta-spark
#: Delta's error conditions for data a write check refuses, as :class:`LakeWriteError` (the same
#: refusals as the delta-rs bridge's checks): rows outside ``replaceWhere``, nulls in a NOT NULL
#: column, two source rows for one target row of a MERGE.
_DELTA_REFUSALS: Mapping[str, str] = {
    "DELTA_REPLACE_WHERE_MISMATCH": "rows are outside the partitions being replaced",
    "DELTA_NOT_NULL_CONSTRAINT_VIOLATED": "nulls in a non-nullable column",
    "DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE": "merge source has duplicate keys",
}
#: Session settings that give the next Delta write (a MERGE too) an application transaction.
_TXN_APP_ID, _TXN_VERSION = "spark.databricks.delta.write.txnAppId", "spark.databricks.delta.write.txnVersion"


def _delta_refusal(exc: BaseException, spec: TableSpec) -> LakeWriteError | None:
    """The :class:`LakeWriteError` for a Delta exception that refuses the data (None for others);
    the message keeps Delta's first line (which names the column or the predicate)."""
    text = str(exc)
    for condition, what in _DELTA_REFUSALS.items():
        if condition in text:
            detail = next((line.strip() for line in text.splitlines() if condition in line), condition)
            return LakeWriteError(f"{spec.name}: {what} (Delta: {detail[:500]})")
    return None


def _sql_path(path: str) -> str:
    """``delta.`path``` for Spark SQL (backticks in the path doubled)."""
    return "delta.`" + path.replace("`", "``") + "`"


class DeltaSparkEngine(StorageEngine):
    """``delta-spark``: Delta inside Spark; needs the Delta jars, extension and catalog
    (:func:`reelhouse.spark.spark_conf`: ``make jars``, ``lake.engine: delta-spark``).

    Writes are ``format("delta")`` with ``replaceWhere`` (partition overwrite) and
    ``txnAppId``/``txnVersion`` (application transactions); merges are ``DeltaTable.merge`` with
    the transaction set through Delta's session settings; time travel is Delta SQL (``VERSION AS
    OF``, ``TIMESTAMP AS OF``) and a commit's file and row counts come from ``DESCRIBE HISTORY``
    (its ``operationMetrics``). Partition scope and
    nullability are enforced by Delta's writer (``replaceWhere`` constraint, ``NOT NULL`` columns)
    and its refusals raised as :class:`LakeWriteError`, as the delta-rs bridge's checks raise them;
    merge-key uniqueness is checked on the source (one Spark aggregation), since Delta only refuses
    duplicates that match an existing row. Commit metadata goes to Delta's ``userMetadata`` (JSON of
    the ``reelhouse.*`` entries; :func:`reelhouse_commit` lifts them to where the bridge puts them).

    History stays a read of the log (:meth:`reelhouse.lake.Lake.history`, through delta-rs) for both
    engines: ``DESCRIBE HISTORY`` drops the bridge's own commit-info fields (``reelhouse.step``, …)."""

    name = "delta-spark"

    @property
    def spark(self) -> "SparkSession":
        """The SparkSession; raises :class:`LakeError` naming the fix when it runs without Delta's
        SQL extension (started before ``lake.engine: delta-spark`` was set, or by hand)."""
        session = self._spark()
        if "DeltaSparkSessionExtension" not in (session.conf.get("spark.sql.extensions", None) or ""):
            raise LakeError(
                "lake.engine delta-spark needs a SparkSession with the Delta jars and extension: build it with "
                "reelhouse.spark.get_spark (or pass reelhouse.spark.spark_conf(config) to spark-submit); "
                "the jars come from `make jars`")
        return session

    def read(self, spec: TableSpec, path: str, *, version: int | None, timestamp: datetime | str | None,
             where: PartitionSpec | None) -> "DataFrame":
        filters = partition_filters(spec, where)  # ValueError for a non-partition column, first
        if version is not None and timestamp is not None:
            raise ValueError("give version or timestamp, not both")
        if not table_exists(path):
            if version is not None or timestamp is not None:
                raise LakeError(f"table {spec.name} does not exist yet")
            return self.spark.createDataFrame([], spark_schema(spec))
        if version is not None:
            df = self.spark.sql(f"SELECT * FROM {_sql_path(path)} VERSION AS OF {int(version)}")
        elif timestamp is not None:
            ts = timestamp.isoformat() if isinstance(timestamp, datetime) else str(timestamp)
            df = self.spark.sql(f"SELECT * FROM {_sql_path(path)} TIMESTAMP AS OF '{ts}'")
        else:
            df = self.spark.read.format("delta").load(path)
        for col, op, val in filters or []:
            df = df.where(df[col].isin(list(val)) if op == "in" else df[col] == val)
        return df.select(spec.column_names)

    def write(self, df: "DataFrame", spec: TableSpec, path: str, *, mode: WriteMode,
              filters: PartitionFilters | None, app_id: str | None, app_version: int | None,
              metadata: Mapping[str, Any] | None) -> CommitResult:
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
        if metadata:
            writer = writer.option("userMetadata", _user_metadata(mode, metadata))
        before = table_version(path)
        try:
            writer.save(path)
        except Exception as exc:
            refusal = _delta_refusal(exc, spec)
            if refusal is None:
                raise
            raise refusal from exc
        after = table_version(path)
        if after is None or before == after:  # the txn was already committed (or no table there)
            return CommitResult(spec.name, after or 0, skipped=after is not None)
        return CommitResult(spec.name, after, False, *self._commit_counts(path, after))

    def commit_staged(self, staged: StagedWrite, spec: TableSpec, path: str, *, files: Sequence[str] | None,
                      mode: WriteMode, filters: PartitionFilters | None, app_id: str | None,
                      app_version: int | None, metadata: Mapping[str, Any] | None) -> CommitResult:
        try:
            rels = files if files is not None else staging.parquet_files(staged.path)
            paths = [f"{staged.path}/{f}" for f in rels]
            if not paths:
                df = self.spark.createDataFrame([], spark_schema(spec))
            else:
                df = self.spark.read.option("basePath", staged.path).parquet(*paths)
            df = conform_dataframe(df, spec)
            return self.write(df, spec, path, mode=mode, filters=filters, app_id=app_id, app_version=app_version,
                              metadata=metadata)
        finally:
            staging.discard(staged)

    def merge(self, source: "DataFrame | pa.Table", spec: TableSpec, path: str, *, on: Sequence[str],
              update_when: str | None, app_id: str | None, app_version: int | None) -> CommitResult:
        from delta.tables import DeltaTable as SparkDeltaTable  # type: ignore[import-not-found]
        from pyspark.sql import functions as F

        spark = self.spark
        df = source
        if isinstance(df, pa.Table):
            if df.num_rows == 0:
                return CommitResult(spec.name, table_version(path) or 0, skipped=False)
            check_unique_keys(df, spec, on)
            df = conform_dataframe(spark.createDataFrame(df.select(spec.column_names)), spec)
        elif df.groupBy(*on).agg(F.count(F.lit(1)).alias("n")).where("n > 1").limit(1).count():
            raise LakeWriteError(f"{spec.name}: merge source has duplicate keys on {list(on)}")
        before = table_version(path)
        m = SparkDeltaTable.forPath(spark, path).alias("t").merge(df.alias("s"), _merge_predicate(on))
        m = m.whenMatchedUpdateAll(condition=update_when).whenNotMatchedInsertAll()
        conf = {"spark.databricks.delta.commitInfo.userMetadata": _user_metadata("merge", {})}
        if app_id is not None:
            conf.update({_TXN_APP_ID: app_id, _TXN_VERSION: str(app_version)})
        from reelhouse.spark import scoped_conf

        try:
            with scoped_conf(spark, conf):
                m.execute()
        except Exception as exc:
            refusal = _delta_refusal(exc, spec)
            if refusal is None:
                raise
            raise refusal from exc
        after = table_version(path) or 0
        if before == after:
            return CommitResult(spec.name, after, skipped=app_id is not None)
        return CommitResult(spec.name, after, False, *self._commit_counts(path, after))

    def _rewrite(self, path: str, mode: str, metadata: Mapping[str, Any], run: Callable[[], Any],
                 conf: Mapping[str, str] | None = None) -> tuple[int, dict[str, int]]:
        """Run a Delta command with reelhouse commit metadata; (version after, its operationMetrics)."""
        from reelhouse.spark import scoped_conf

        before = table_version(path)
        with scoped_conf(self.spark, {"spark.databricks.delta.commitInfo.userMetadata": _user_metadata(mode, metadata),
                                      **(conf or {})}):
            run()
        after = table_version(path) or 0
        if after == before:
            return after, {}
        rows = self.spark.sql(f"DESCRIBE HISTORY {_sql_path(path)} LIMIT 1").collect()
        return after, {k: int(v) for k, v in (rows[0]["operationMetrics"] or {}).items() if str(v).isdigit()}

    def delete(self, spec: TableSpec, path: str, match: RowMatch, *, metadata: Mapping[str, Any]) -> RewriteMetrics:
        from delta.tables import DeltaTable as SparkDeltaTable  # type: ignore[import-not-found]

        version, m = self._rewrite(path, "delete", metadata,
                                   lambda: SparkDeltaTable.forPath(self.spark, path).delete(match.sql("spark")))
        return RewriteMetrics(version, m.get("numDeletedRows", 0), bool(m))

    def redact(self, spec: TableSpec, path: str, match: RowMatch, *, columns: Sequence[str],
               metadata: Mapping[str, Any]) -> RewriteMetrics:
        from delta.tables import DeltaTable as SparkDeltaTable  # type: ignore[import-not-found]

        version, m = self._rewrite(path, "redact", metadata, lambda: SparkDeltaTable.forPath(self.spark, path).update(
            match.sql("spark"), {c: "NULL" for c in columns}))
        return RewriteMetrics(version, m.get("numUpdatedRows", 0), bool(m))

    def optimize(self, spec: TableSpec, path: str, *, partition: Mapping[str, str] | None,
                 zorder_by: Sequence[str], target_size: int, metadata: Mapping[str, Any]) -> RewriteMetrics:
        where = " AND ".join(f"`{k}` = '{v}'" for k, v in (partition or {}).items())
        sql = f"OPTIMIZE {_sql_path(path)}" + (f" WHERE {where}" if where else "")
        if zorder_by:
            sql += " ZORDER BY (" + ", ".join(f"`{c}`" for c in zorder_by) + ")"
        version, m = self._rewrite(path, "optimize", metadata, lambda: self.spark.sql(sql).collect(),
                                   {"spark.databricks.delta.optimize.maxFileSize": str(int(target_size))})
        return RewriteMetrics(version, m.get("numRemovedFiles", 0), bool(m))

    def _commit_counts(self, path: str, version: int) -> tuple[int, int]:
        """(files added, rows in them) of commit ``version``, from its ``operationMetrics``
        (``WRITE``: numFiles / numOutputRows; ``MERGE``: target files added / rows inserted, updated
        and copied)."""
        rows = self.spark.sql(f"DESCRIBE HISTORY {_sql_path(path)}").where(f"version = {int(version)}").collect()
        m = {k: int(v) for k, v in (rows[0]["operationMetrics"] or {}).items() if str(v).isdigit()} if rows else {}
        if "numTargetFilesAdded" in m:
            return m["numTargetFilesAdded"], sum(m.get(k, 0) for k in (
                "numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsCopied"))
        return m.get("numFiles", m.get("numAddedFiles", 0)), m.get("numOutputRows", 0)


def _user_metadata(mode: str, metadata: Mapping[str, Any]) -> str:
    """Delta ``userMetadata`` of a reelhouse commit: JSON of its ``reelhouse.*`` entries."""
    info = {"reelhouse.mode": mode}
    info.update({f"reelhouse.{k}": v for k, v in metadata.items()})
    return json.dumps(info, default=str, sort_keys=True)


def reelhouse_commit(commit: Mapping[str, Any]) -> dict[str, Any]:
    """A commit of delta-rs' ``DeltaTable.history`` with its ``reelhouse.*`` metadata as top-level
    keys whichever engine wrote it: the bridge puts them there, delta-spark in ``userMetadata``
    (JSON); a delta-spark commit without metadata gets ``reelhouse.mode`` from its operation."""
    c = dict(commit)
    for k, v in _reelhouse_metadata(c.get("userMetadata")).items():
        c.setdefault(k, v)
    if "reelhouse.mode" not in c:
        mode = _write_mode(str(c.get("operation")), c.get("operationParameters") or {})
        if mode is not None:
            c["reelhouse.mode"] = mode
    return c


def _write_mode(operation: str, params: Mapping[str, str]) -> str | None:
    """The reelhouse write mode of a Delta commit without ``userMetadata``: ``WRITE`` with mode
    Append → ``append``, Overwrite with a ``replaceWhere`` predicate → ``overwrite_partitions``,
    without → ``overwrite``; ``MERGE`` → ``merge``; None for other operations."""
    if operation == "MERGE":
        return "merge"
    if operation != "WRITE":
        return None
    if params.get("mode") == "Append":
        return "append"
    return "overwrite_partitions" if params.get("predicate") not in (None, "", "[]") else "overwrite"


def _reelhouse_metadata(user_metadata: str | None) -> dict[str, Any]:
    """The ``reelhouse.*`` entries of a Delta ``userMetadata`` string ({} when it holds none)."""
    try:
        info = json.loads(user_metadata) if user_metadata else {}
    except ValueError:
        return {}
    return {k: v for k, v in info.items() if k.startswith("reelhouse.")} if isinstance(info, dict) else {}


#: ``lake.engine`` value → engine class.
ENGINES: Mapping[str, type[StorageEngine]] = {e.name: e for e in (DeltaRsBridgeEngine, DeltaSparkEngine)}
