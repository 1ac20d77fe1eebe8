"""Per-layer retention and table maintenance: what keeps the lake small and fast as nights pile up.

Run weekly by DAG ``reelhouse_maintenance`` and by ``reelhouse maintain`` (:func:`maintain`):

1. **retention** (:func:`apply_retention`): partitions older than the layer's retention
   (``retention:`` in conf/, days back from the run's date) are deleted from bronze, quarantine,
   silver, gold and the training examples (a Delta ``DELETE`` on the partition column: whole
   files are removed, nothing rewritten), and landing date folders past ``landing_days`` are
   deleted;
2. **compaction and Z-order** (:func:`optimize_tables`): each partition holding two or more small
   files (under half ``maintenance.target_file_mb``) is rewritten into files of about that size —
   Z-ordered by the columns its readers filter by (``maintenance.zorder_by``) — by delta-rs
   ``optimize.compact``/``z_order`` or delta-spark ``OPTIMIZE … ZORDER BY``; a
   ``dataChange=false`` commit, contents unchanged. A partition already compact is left alone, so a
   second run commits nothing;
3. **checkpoint and vacuum** (:func:`vacuum_tables`): a Delta checkpoint per table (and log
   entries past ``delta.logRetentionDuration`` cleaned), then VACUUM of files replaced more than
   ``retention.delta_history_hours`` ago.

Every operation that changed something is a row of ``ops.table_maintenance`` (files and bytes
before/after, seconds). Never concurrent with the nightly on the same table: the whole run holds
the lake's run lock (:func:`reelhouse.lake.locks.lake_lock`), which every nightly step takes; on an
object store (no lock) the DAG's schedule keeps them apart and Delta's optimistic concurrency makes
a clash fail the OPTIMIZE (``dataChange=false`` never conflicts with a concurrent append; an
overwrite of the same partition does), and the next run retries it.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import pyarrow as pa

from reelhouse.lake.catalog import TABLES, get_table
from reelhouse.lake.engines import RowMatch

if TYPE_CHECKING:  # pragma: no cover
    from reelhouse.config import Config
    from reelhouse.lake import Lake

LOG_TABLE = "ops.table_maintenance"
#: table -> (partition column, ``retention`` key) of the layers with a retention
RETENTION_RULES: Mapping[str, tuple[str, str]] = {
    "bronze.events": ("landing_date", "bronze_days"),
    "quarantine.events": ("landing_date", "quarantine_days"),
    "silver.events": ("event_date", "silver_days"),
    "gold.training_examples": ("ds", "training_examples_days"),
    **{name: ("ds", "gold_days") for name in TABLES
       if name.startswith("gold.") and name != "gold.training_examples"},
}


@dataclass
class MaintenanceReport:
    """The rows a maintenance run recorded (dicts of ``ops.table_maintenance``) and its run id."""

    run_id: str
    day: date
    rows: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        """One line per operation kind: tables touched, files before → after, seconds."""
        by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self.rows:
            by[r["operation"]].append(r)
        if not by:
            return f"maintenance {self.day}: nothing to do"
        parts = []
        for op in ("retention", "compact", "zorder", "checkpoint", "vacuum"):
            rs = by.get(op)
            if not rs:
                continue
            fb, fa = sum(r["files_before"] for r in rs), sum(r["files_after"] for r in rs)
            extra = f", {sum(r['rows_deleted'] for r in rs)} rows dropped" if op == "retention" else ""
            parts.append(f"{op} {len({r['table_name'] for r in rs})} tables ({fb} → {fa} files{extra}, "
                         f"{sum(r['seconds'] for r in rs):.1f} s)")
        return f"maintenance {self.day}: " + "; ".join(parts)


def _row(run_id: str, day: date, table: str, op: str, partition: str, *, files_before: int, files_after: int,
         bytes_before: int, bytes_after: int, rows_deleted: int = 0, version: int | None, seconds: float,
         detail: str, started: datetime) -> dict[str, Any]:
    return {"run_id": run_id, "table_name": table, "operation": op, "partition_spec": partition,
            "files_before": files_before, "files_after": files_after, "bytes_before": bytes_before,
            "bytes_after": bytes_after, "rows_deleted": rows_deleted, "version": version,
            "seconds": round(seconds, 3), "detail": detail, "started_at": started, "ds": day}


def _partition_label(values: Mapping[str, Any]) -> str:
    return "/".join(f"{k}={v}" for k, v in values.items())


# ----------------------------------------------------------------------------- retention
def apply_retention(lake: "Lake", config: "Config", day: date, *, run_id: str,
                    log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Drop what is past each layer's retention on ``day`` (cutoff = ``day`` − days: partitions
    strictly before it go). Returns the ``ops.table_maintenance`` rows (tables that lost rows, and
    the landing folder when date folders went)."""
    rows = []
    for table, (col, key) in RETENTION_RULES.items():
        days = getattr(config.retention, key)
        if days is None or not lake.exists(table):
            continue
        cutoff = day - timedelta(days=days)
        started = datetime.now(timezone.utc)
        r = lake.delete_rows(table, RowMatch(col, "before", (cutoff,)), metadata={"maintenance": run_id})
        if r.committed:
            rows.append(_row(run_id, day, table, "retention", f"{col}<{cutoff}", files_before=r.files_before,
                             files_after=r.files_after, bytes_before=r.bytes_removed, bytes_after=r.bytes_added,
                             rows_deleted=r.rows, version=r.version, seconds=r.seconds,
                             detail=f"{key}={days}: {r.rows} rows before {col} {cutoff}", started=started))
    if config.retention.landing_days is not None:
        row = _landing_retention(config.paths.landing, day - timedelta(days=config.retention.landing_days),
                                 run_id=run_id, day=day)
        if row:
            rows.append(row)
    log(f"retention {day}: {sum(r['rows_deleted'] for r in rows)} rows from "
        f"{sum(1 for r in rows if r['table_name'] != 'landing')} tables"
        + (f", {next(r['files_before'] - r['files_after'] for r in rows if r['table_name'] == 'landing')} landing files"
           if any(r["table_name"] == "landing" for r in rows) else ""))
    return rows


def _landing_retention(landing_root: str, cutoff: date, *, run_id: str, day: date) -> dict[str, Any] | None:
    from reelhouse.objectstore import filesystem, join, list_files
    from reelhouse.sources.contract import LANDING_EVENTS_DIR
    from reelhouse.sources.landing import landing_dates

    t0, started = time.perf_counter(), datetime.now(timezone.utc)
    dates = landing_dates(landing_root)
    old = [d for d in dates if d < cutoff]
    if not old:
        return None
    before = list_files(join(str(landing_root), LANDING_EVENTS_DIR))
    removed_files = removed_bytes = 0
    for d in old:
        folder = join(str(landing_root), LANDING_EVENTS_DIR, f"date={d.isoformat()}")
        files = list_files(folder)
        removed_files += len(files)
        removed_bytes += sum(s for _, s in files)
        fs, path = filesystem(folder)
        fs.delete_dir(path)
    return _row(run_id, day, "landing", "retention", f"date<{cutoff}", files_before=len(before),
                files_after=len(before) - removed_files, bytes_before=removed_bytes, bytes_after=0,
                rows_deleted=0, version=None, seconds=time.perf_counter() - t0,
                detail=f"{len(old)} date folders before {cutoff} deleted", started=started)


# ----------------------------------------------------------------------------- compaction
def small_file_partitions(lake: "Lake", table: str, *, target_size: int) -> list[dict[str, str]]:
    """Partitions of ``table`` holding two or more files under ``target_size / 2`` bytes (what
    :func:`optimize_tables` rewrites), as dicts column -> value string."""
    spec = get_table(table)
    adds = pa.table(lake.delta_table(table).get_add_actions(flatten=True))
    if adds.num_rows == 0:
        return []
    cols = [f"partition.{c}" for c in spec.partition_by]
    groups: dict[tuple, int] = defaultdict(int)
    sizes = adds.column("size_bytes").to_pylist()
    values = list(zip(*[adds.column(c).to_pylist() for c in cols])) if cols else [()] * adds.num_rows
    for v, size in zip(values, sizes):
        if size < target_size // 2:
            groups[v] += 1
    return [{c: (x.isoformat() if hasattr(x, "isoformat") else str(x)) for c, x in zip(spec.partition_by, v)}
            for v, n in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])) if n >= 2]


def optimize_tables(lake: "Lake", config: "Config", day: date, *, run_id: str, tables: Iterable[str] | None = None,
                    log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Compact (and Z-order, per ``maintenance.zorder_by``) every partition with small files of
    ``tables`` (default: every catalog table that exists). Returns the ``ops.table_maintenance``
    rows, one per partition rewritten."""
    target = config.maintenance.target_file_mb * 1024 * 1024
    rows = []
    for table in tables or sorted(TABLES):
        if not lake.exists(table):
            continue
        zorder = tuple(config.maintenance.zorder_by.get(table, ()))
        for part in small_file_partitions(lake, table, target_size=target):
            started = datetime.now(timezone.utc)
            r = lake.optimize(table, partition=part or None, zorder_by=zorder, target_size=target,
                              metadata={"maintenance": run_id})
            if r.committed:
                rows.append(_row(run_id, day, table, "zorder" if zorder else "compact", _partition_label(part),
                                 files_before=r.files_removed, files_after=r.files_added,
                                 bytes_before=r.bytes_removed, bytes_after=r.bytes_added, version=r.version,
                                 seconds=r.seconds, started=started,
                                 detail=(f"z-order by {', '.join(zorder)}: " if zorder else "compact: ")
                                 + f"{r.files_removed} → {r.files_added} files"))
    fb, fa = sum(r["files_before"] for r in rows), sum(r["files_after"] for r in rows)
    log(f"compaction {day}: {len(rows)} partitions of {len({r['table_name'] for r in rows})} tables, "
        f"{fb} → {fa} files")
    return rows


# ----------------------------------------------------------------------------- checkpoint + vacuum
def vacuum_tables(lake: "Lake", config: "Config", day: date, *, run_id: str, tables: Iterable[str] | None = None,
                  log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """A checkpoint of every existing table, then VACUUM with ``retention.delta_history_hours``.
    Returns the ``ops.table_maintenance`` rows (a checkpoint row per table; a vacuum row where files
    went)."""
    hours = config.retention.delta_history_hours
    rows, removed_total = [], 0
    for table in tables or sorted(TABLES):
        if not lake.exists(table):
            continue
        started, t0 = datetime.now(timezone.utc), time.perf_counter()
        n_files = len(lake.files(table))
        lake.checkpoint(table)
        rows.append(_row(run_id, day, table, "checkpoint", "", files_before=n_files, files_after=n_files,
                         bytes_before=0, bytes_after=0, version=lake.version(table),
                         seconds=time.perf_counter() - t0, detail="checkpoint + log cleanup", started=started))
        started, t0 = datetime.now(timezone.utc), time.perf_counter()
        removed = lake.vacuum(table, retention_hours=hours, dry_run=False)
        if removed:
            removed_total += len(removed)
            rows.append(_row(run_id, day, table, "vacuum", "", files_before=n_files + len(removed), files_after=n_files,
                             bytes_before=0, bytes_after=0, version=lake.version(table),
                             seconds=time.perf_counter() - t0, started=started,
                             detail=f"{len(removed)} files no version younger than {hours} h references"))
    log(f"vacuum {day}: {sum(1 for r in rows if r['operation'] == 'checkpoint')} tables checkpointed, "
        f"{removed_total} old files deleted (retention {hours} h)")
    return rows


def record(lake: "Lake", rows: Sequence[Mapping[str, Any]]) -> None:
    """Append ``rows`` to ``ops.table_maintenance`` (one commit; nothing for no rows)."""
    if not rows:
        return
    spec = get_table(LOG_TABLE)
    lake.write_arrow(pa.Table.from_pylist([dict(r) for r in rows], schema=spec.arrow_schema()), LOG_TABLE,
                     mode="append")


def maintain(lake: "Lake", config: "Config", day: date, *,
             steps: Sequence[str] = ("retention", "optimize", "vacuum"), tables: Iterable[str] | None = None,
             log: Callable[[str], None] = print) -> MaintenanceReport:
    """One maintenance run for ``day`` (the DAG's data interval end): the ``steps`` in order,
    holding the lake's run lock throughout, each step's rows appended to ``ops.table_maintenance``
    as it ends. ``tables``: limit compaction and vacuum to these. Raises
    :class:`reelhouse.lake.locks.RunLockError` when a nightly holds the lock past
    ``lake.lock_timeout_seconds``; ``ValueError`` for an unknown step."""
    from reelhouse.lake.locks import lake_lock

    unknown = set(steps) - {"retention", "optimize", "vacuum"}
    if unknown:
        raise ValueError(f"unknown maintenance step(s) {sorted(unknown)}: use retention, optimize, vacuum")
    report = MaintenanceReport(f"mt-{day.isoformat()}-{uuid.uuid4().hex[:8]}", day)
    table_list = list(tables) if tables is not None else None
    with lake_lock(lake.root, f"maintenance {day}", timeout_seconds=config.lake_lock_timeout_seconds, log=log):
        for step in steps:
            if step == "retention":
                rows = apply_retention(lake, config, day, run_id=report.run_id, log=log)
            elif step == "optimize":
                rows = optimize_tables(lake, config, day, run_id=report.run_id, tables=table_list, log=log)
            else:
                rows = vacuum_tables(lake, config, day, run_id=report.run_id, tables=table_list, log=log)
            record(lake, rows)
            report.rows.extend(rows)
    log(report.summary())
    return report
