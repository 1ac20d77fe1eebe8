"""The lake: the only code that reads or writes Delta tables.

:class:`Lake` (:mod:`reelhouse.lake.facade`) is the public API: reads (Spark, Arrow, pandas,
pyarrow datasets), writes (``append``, atomic ``overwrite_partitions``, ``overwrite``), staged
writes, merges, history, ``describe``, ``vacuum`` and ``repair_stats``. It delegates to one storage
engine (:mod:`reelhouse.lake.engines`), chosen by ``lake.engine`` in ``conf/`` once, in
:meth:`Lake.from_config`:

``delta-rs`` (default, :class:`~reelhouse.lake.engines.DeltaRsBridgeEngine`)
    Spark executors write Parquet into a staging folder inside the table directory
    (:mod:`reelhouse.lake.staging`); the driver moves the files into the standard partition layout
    (``<table>/<col>=<value>/part-….parquet``), reads each file's footer for Delta statistics
    (:mod:`reelhouse.lake.stats`), and commits add/remove actions through
    ``deltalake.DeltaTable.create_write_transaction``. This is the shape of delta-spark's own
    commit protocol (executors write, the driver commits) without Delta inside the JVM. Reads take
    the snapshot's file list from delta-rs and hand it to Spark (or to Arrow/pandas/DuckDB for
    small data). Files that were
    written but never committed are invisible to every Delta reader and are removed by
    :meth:`Lake.vacuum`.
``delta-spark`` (:class:`~reelhouse.lake.engines.DeltaSparkEngine`)
    Delta inside Spark: ``format("delta")`` writes with ``replaceWhere``, ``txnAppId``/``txnVersion``,
    ``DeltaTable.merge``, Delta SQL time travel (``VERSION AS OF``); the Delta jars come from
    Maven Central at install time (``make jars``) and :func:`reelhouse.spark.spark_conf` loads them.

The write checks live in :mod:`reelhouse.lake.checks`; table locations in
:func:`reelhouse.lake.catalog.table_path`.

Idempotent commits: every write may carry an application transaction ``(app_id, app_version)``
(Delta protocol ``txn`` action; the same mechanism as delta-spark's ``txnAppId``/``txnVersion``).
When the table already records a version ≥ ``app_version`` for ``app_id``, the write is a no-op,
so a retried task cannot commit the same data twice.

Atomic partition overwrite (``mode="overwrite_partitions"``): one commit removes every file of the
named partitions and adds the new ones (``replaceWhere`` semantics); data outside the named
partitions is refused with :class:`LakeWriteError` before anything is committed. ``partitions=``
goes with that mode and only with it (checked by the type checker through overloads, and at run
time).

Every table is a standard Delta table (protocol 1/2, no deletion vectors or column mapping) that
delta-rs, DuckDB's delta extension, Polars, pandas and delta-spark open. Timestamps are INT64
microseconds, UTC-adjusted.

Statistics never hide rows: :func:`~reelhouse.lake.stats.file_stats` writes min/max that bound
every value (or none for a file), because readers skip files by them and delta-rs 1.6.6 reads a
missing bound as "skip"; :meth:`Lake.read_arrow` scans :meth:`Lake.arrow_dataset`, which does not
use the log's min/max at all, so it is exact on tables written before; :meth:`Lake.repair_stats`
(``reelhouse lake repair-stats``) rewrites unsafe statistics of such tables for every other reader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from reelhouse.lake.checks import PartitionSpec, WriteMode
    from reelhouse.lake.engines import CommitResult, DeltaRsBridgeEngine, DeltaSparkEngine, RowMatch, StorageEngine
    from reelhouse.lake.errors import LakeError, LakeWriteError
    from reelhouse.lake.facade import Lake, TableRewrite, tables_in
    from reelhouse.lake.staging import StagedWrite

#: Public name → the module defining it. Imported on first use, so that importing a light module
#: of the package (``reelhouse.lake.catalog`` for table names and :func:`~reelhouse.lake.catalog.table_path`,
#: as Airflow DAG files do at parse time) does not load delta-rs.
_EXPORTS = {
    "CommitResult": "reelhouse.lake.engines",
    "DeltaRsBridgeEngine": "reelhouse.lake.engines",
    "DeltaSparkEngine": "reelhouse.lake.engines",
    "Lake": "reelhouse.lake.facade",
    "LakeError": "reelhouse.lake.errors",
    "LakeWriteError": "reelhouse.lake.errors",
    "PartitionSpec": "reelhouse.lake.checks",
    "RowMatch": "reelhouse.lake.engines",
    "TableRewrite": "reelhouse.lake.facade",
    "StagedWrite": "reelhouse.lake.staging",
    "StorageEngine": "reelhouse.lake.engines",
    "WriteMode": "reelhouse.lake.checks",
    "tables_in": "reelhouse.lake.facade",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The public names of :data:`__all__`, from their modules (PEP 562)."""
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'reelhouse.lake' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
