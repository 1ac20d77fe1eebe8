"""Stage landing files: the one Spark pass that reads a landing date's files and writes bronze,
quarantine and typed-event Parquet files from the Python workers into staging folders.

:func:`stage_landing` runs :func:`classify_and_stage` over :func:`read_landing_lines` in
``mapInArrow`` and returns the :class:`StageManifest` the driver commits from; :func:`no_split_reads`
sets the Spark file-split settings under which no landing file is split across tasks (and restores
the session's own afterwards); :func:`stage_corrupt_files` stages the quarantine rows of unreadable
files; :func:`read_staged_events` reads the staged typed events back for deduplication.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

import pyarrow as pa

from reelhouse.ingest.classify import classify_batches
from reelhouse.ingest.transforms import (
    bronze_table,
    corrupt_file_table,
    events_stage_schema,
    events_table,
    quarantine_table,
    staged_schema,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from reelhouse.config import ObjectStoreConfig

    from reelhouse.sources.landing import LandingFile


#: Rows of :func:`classify_and_stage`'s manifest (Spark DDL): ``record`` is ``staged_file``
#: (``table_name``, ``path`` relative to that table's staging folder, ``rows``), ``file_stats``
#: (``_source_file``, ``lines_read``, ``rows_valid``, ``rows_quarantined``) or ``event_date``
#: (``path`` = an ISO date some valid event of the task falls on).
MANIFEST_DDL = (
    "record string, table_name string, path string, rows bigint, "
    "_source_file string, lines_read bigint, rows_valid bigint, rows_quarantined bigint"
)


class _ParquetSink:
    """Buffers Arrow tables and writes them as one Parquet file in row groups of ~``buffer_rows``
    under ``root`` (a local folder or an object-store URI; ``store``: that store's settings, for
    a Python worker that has no registered store)."""

    def __init__(self, root: str, rel_path: str, schema: pa.Schema, buffer_rows: int,
                 store: "ObjectStoreConfig | None" = None):
        self.root, self.rel_path, self.schema, self.buffer_rows = root, rel_path, schema, buffer_rows
        self.store = store
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
            from reelhouse.objectstore import filesystem, is_object_store_uri

            if is_object_store_uri(self.root):
                fs, root = filesystem(self.root, self.store)
                self.writer = pq.ParquetWriter(f"{root}/{self.rel_path}", self.schema, compression="snappy",
                                               filesystem=fs)
            else:
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
    batches: Iterable[pa.RecordBatch],
    *,
    landing_date: date,
    future_tolerance_seconds: int,
    ingested_at: datetime,
    staging: dict[str, str],
    fast_path: bool = True,
    buffer_rows: int = 262_144,
    store: "ObjectStoreConfig | None" = None,
) -> Iterator[pa.RecordBatch]:
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
    ``store``: the object store's settings when the staging folders are ``s3a://`` URIs (the
    worker resolves the key pair from its own environment, as S3A does on an executor).
    """
    import gc
    import uuid

    import pyarrow.compute as pc
    from pyspark import TaskContext

    ctx = TaskContext.get()
    tag = f"part-{ctx.partitionId() if ctx else 0:05d}-a{ctx.attemptNumber() if ctx else 0}-{uuid.uuid4().hex[:8]}"
    part_dir = f"landing_date={landing_date.isoformat()}"
    sinks = {
        "bronze.events": _ParquetSink(staging["bronze.events"], f"{part_dir}/{tag}.parquet", staged_schema("bronze.events"), buffer_rows, store),
        "quarantine.events": _ParquetSink(staging["quarantine.events"], f"{part_dir}/{tag}.parquet", staged_schema("quarantine.events"), buffer_rows, store),
        "events": _ParquetSink(staging["events"], f"{tag}.parquet", events_stage_schema(), buffer_rows, store),
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


@contextmanager
def no_split_reads(spark: "SparkSession", files: Sequence["LandingFile"]) -> Iterator[dict[str, str]]:
    """Apply :func:`split_settings` of ``files`` to the session's conf for the ``with`` block and
    restore the previous values afterwards (unset when they were unset), even on error. Yields
    the settings applied. Raises ``ValueError`` as :func:`split_settings` does (conf untouched)."""
    from reelhouse.spark import scoped_conf

    settings = split_settings(list(files))
    with scoped_conf(spark, settings):
        yield settings


#: the staging targets of :func:`classify_and_stage` (``events``: the typed events, input of the
#: deduplication, never committed as staged)
STAGED_OUTPUTS = ("bronze.events", "quarantine.events", "events")


@dataclass
class StageManifest:
    """What the staging pass produced, from the rows of :data:`MANIFEST_DDL` collected on the
    driver: ``staged_files`` (target of :data:`STAGED_OUTPUTS` → Parquet paths relative to its
    staging folder: exactly the files of the successful task attempts), ``file_stats`` (per
    readable landing file: ``(_source_file, lines_read, rows_valid)``) and ``event_dates`` (the
    UTC dates the valid events fall on, sorted)."""

    staged_files: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in STAGED_OUTPUTS})
    file_stats: list[tuple[str, int, int]] = field(default_factory=list)
    event_dates: list[date] = field(default_factory=list)

    @classmethod
    def from_rows(cls, rows: Iterable[dict | object]) -> "StageManifest":
        """Parse manifest rows (``pyspark.sql.Row`` or dicts with the :data:`MANIFEST_DDL` columns)."""
        rows = list(rows)
        return cls(
            staged_files={t: [r["path"] for r in rows if r["record"] == "staged_file" and r["table_name"] == t]
                          for t in STAGED_OUTPUTS},
            file_stats=[(r["_source_file"], r["lines_read"], r["rows_valid"]) for r in rows if r["record"] == "file_stats"],
            event_dates=sorted({date.fromisoformat(r["path"]) for r in rows if r["record"] == "event_date"}),
        )

    def file_stats_frame(self, spark: "SparkSession") -> "DataFrame":
        """:attr:`file_stats` as a DataFrame (``_source_file`` string, ``lines_read`` long,
        ``rows_valid`` long): the input of :func:`reelhouse.ingest.transforms.reconcile`."""
        return spark.createDataFrame(self.file_stats, "_source_file string, lines_read long, rows_valid long")


def stage_landing(
    spark: "SparkSession",
    files: Sequence["LandingFile"],
    *,
    landing_date: date,
    future_tolerance_seconds: int,
    ingested_at: datetime,
    staging: dict[str, str],
) -> StageManifest:
    """Run the staging pass over the readable ``files`` of ``landing_date``: one Spark job reads
    their lines (:func:`read_landing_lines`) and :func:`classify_and_stage` writes bronze,
    quarantine and typed-event Parquet files into the folders of ``staging`` (keys
    :data:`STAGED_OUTPUTS`). Returns the collected :class:`StageManifest` (empty when no file is
    readable). Run it inside :func:`no_split_reads` so no file is split across tasks."""
    from functools import partial

    from reelhouse.objectstore import current_store, is_object_store_uri

    if not any(f.readable for f in files):
        return StageManifest()
    on_store = any(is_object_store_uri(staging[t]) for t in STAGED_OUTPUTS)
    fn = partial(
        classify_and_stage, landing_date=landing_date, future_tolerance_seconds=future_tolerance_seconds,
        ingested_at=ingested_at, staging={t: staging[t] for t in STAGED_OUTPUTS},
        store=current_store() if on_store else None,
    )
    return StageManifest.from_rows(read_landing_lines(spark, list(files)).mapInArrow(fn, MANIFEST_DDL).collect())


def stage_corrupt_files(
    staging_path: str, files: Sequence["LandingFile"], *, landing_date: date, ingested_at: datetime
) -> list[str]:
    """Write the quarantine rows of the unreadable ``files`` (:func:`corrupt_file_table`: one row
    per file, reason ``corrupt_file``) as ``landing_date=<date>/corrupt-files.parquet`` into the
    quarantine.events staging folder ``staging_path``. Returns the staged paths relative to it
    (empty, and nothing written, when every file is readable)."""
    import pyarrow.parquet as pq

    corrupt = corrupt_file_table(list(files), ingested_at=ingested_at)
    if not corrupt.num_rows:
        return []
    from reelhouse.objectstore import filesystem, is_object_store_uri

    rel = f"landing_date={landing_date.isoformat()}/corrupt-files.parquet"
    if is_object_store_uri(staging_path):
        fs, root = filesystem(staging_path)
        pq.write_table(corrupt, f"{root}/{rel}", filesystem=fs)
        return [rel]
    os.makedirs(os.path.dirname(os.path.join(staging_path, rel)), exist_ok=True)
    pq.write_table(corrupt, os.path.join(staging_path, rel))
    return [rel]


def read_staged_events(spark: "SparkSession", staging_path: str, files: Sequence[str]) -> "DataFrame":
    """The typed events :func:`classify_and_stage` staged under ``staging_path`` (``files``:
    relative paths from the manifest), with the columns of
    :func:`reelhouse.ingest.transforms.events_stage_schema` (silver.events' plus
    ``_line_number``)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    from reelhouse.objectstore import spark_uri

    return spark.read.schema(from_arrow_schema(events_stage_schema())).parquet(
        *[spark_uri(f"{staging_path}/{p}") for p in files])
