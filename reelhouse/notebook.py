"""The notebook API: the lake as a data scientist sees it, in a handful of functions.

::

    from reelhouse import notebook as rh

    rh.tables()                                          # every catalog table: layer, version, rows, last commit
    df = rh.read("gold.trending_hashtags", where={"ds": ["2024-06-04"]})
    df = rh.read("gold.video_daily_stats", start="2024-06-02", end="2024-06-04", columns=["ds", "video_id", "plays"])
    old = rh.read("gold.trending_hashtags", version=1)   # time travel (or timestamp="2024-06-05T10:00:00Z")
    sdf = rh.read("silver.events", engine="spark")       # a Spark DataFrame for big tables
    rh.history("gold.trending_hashtags")                 # Delta commits, newest first
    rh.verdicts()                                        # the quality gate's verdict per ds, with the failed checks
    rh.champion()                                        # the ranking model the champion alias points at, with metrics

A thin layer over :class:`reelhouse.lake.Lake` (all reads), :mod:`reelhouse.lake.catalog` (names,
schemas, descriptions), :func:`reelhouse.quality.gate.latest_verdicts` and the model registry
(:func:`reelhouse.ml.model.champion_version`, ``ml.model_promotions``). Nothing here writes.

The lake is found through the normal configuration (:func:`reelhouse.config.get_config`:
``REELHOUSE_ENV`` picks the overlay, ``REELHOUSE__PATHS__LAKE`` overrides the lake root), so the
same notebook runs on ``make demo`` data, in tests and on a cluster; every function also takes
``config=`` to point elsewhere.

Units: timestamps are UTC (``datetime64[us, UTC]`` in pandas), ``*_ms`` columns are milliseconds,
``ds`` / ``event_date`` are UTC calendar dates.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

import pyarrow as pa

from reelhouse.lake.catalog import TABLES, TableSpec, get_table
from reelhouse.lake import Lake, LakeError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyspark.sql import DataFrame

    from reelhouse.config import Config

__all__ = [
    "Champion", "UnknownTableError", "VersionNotFoundError",
    "champion", "history", "lake", "read", "tables", "verdicts",
]

ReadEngine = Literal["pandas", "spark", "arrow"]
Layer = Literal["bronze", "quarantine", "silver", "gold", "ops", "ml"]

TABLES_COLUMNS = ["table", "layer", "description", "partition_by", "version", "rows", "files", "bytes", "last_commit"]
HISTORY_COLUMNS = ["version", "timestamp", "operation", "mode", "step", "ds", "files_added", "files_removed",
                   "rows_added", "parameters", "metadata"]
VERDICT_COLUMNS = ["ds", "verdict", "checks", "failed", "blocking", "validated_at", "run_id", "failures"]


class UnknownTableError(KeyError):
    """A table name that is not in the catalog. The message names the closest matches and every
    known table. (A ``KeyError``, like :func:`reelhouse.lake.catalog.get_table`.)"""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class VersionNotFoundError(LakeError):
    """A ``version`` or ``timestamp`` the table's Delta log does not have (before the table was
    created, after its newest commit, or removed by log cleanup)."""


# ----------------------------------------------------------------------------- plumbing
def lake(*, config: "Config | None" = None) -> Lake:
    """The :class:`~reelhouse.lake.Lake` of ``config`` (default: :func:`reelhouse.config.get_config`,
    i.e. ``REELHOUSE_ENV`` + ``REELHOUSE__*`` overrides). Spark starts only when a Spark read needs it."""
    if config is None:
        from reelhouse.config import get_config

        config = get_config()
    return Lake.from_config(config)


def _spec(name: str) -> TableSpec:
    try:
        return get_table(name)
    except KeyError:
        close = difflib.get_close_matches(name, list(TABLES), n=3, cutoff=0.5)
        close += [t for t in TABLES if t.split(".", 1)[1] == name and t not in close]
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownTableError(f"unknown table {name!r}; {hint}known tables: {', '.join(sorted(TABLES))}") from None


def _utc(ms: int | float | None) -> "pd.Timestamp | None":
    import pandas as pd

    return None if ms is None else pd.Timestamp(int(ms), unit="ms", tz="UTC")


def _check_version(lk: Lake, name: str, version: int | None, timestamp: datetime | str | None) -> None:
    """Raise :class:`VersionNotFoundError` unless the table's log has ``version`` / ``timestamp``."""
    if version is None and timestamp is None:
        return
    if version is not None and timestamp is not None:
        raise ValueError("give version or timestamp, not both")
    if not lk.exists(name):
        raise VersionNotFoundError(f"{name} has not been written yet: it has no version {version if version is not None else timestamp}")
    commits = lk.history(name)
    versions = sorted(int(c["version"]) for c in commits)
    span = f"versions {versions[0]}..{versions[-1]}" if versions else "no versions"
    if version is not None:
        if not isinstance(version, int) or isinstance(version, bool):
            raise TypeError(f"version must be an int, got {version!r}")
        if version not in versions:
            raise VersionNotFoundError(f"{name} has no version {version}; its Delta log has {span}")
        return
    ts = _as_utc(timestamp)
    first = min(c["timestamp"] for c in commits)
    if ts.timestamp() * 1000 < first:
        raise VersionNotFoundError(
            f"{name} did not exist at {ts.isoformat()}: its first commit (version {versions[0]}) is at "
            f"{_utc(first).isoformat()}; {span}")


def _as_utc(ts: datetime | str) -> datetime:
    """A timestamp as an aware UTC datetime; naive values and strings without an offset are UTC."""
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if not isinstance(ts, datetime):
        raise TypeError(f"timestamp must be a datetime or an ISO 8601 string, got {ts!r}")
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def _iso_day(v: date | str, what: str) -> str:
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, date):
        return v.isoformat()
    try:
        return date.fromisoformat(str(v)).isoformat()
    except ValueError:
        raise ValueError(f"{what} must be a date or 'YYYY-MM-DD', got {v!r}") from None


def _range_where(lk: Lake, spec: TableSpec, where: Mapping[str, Any] | None, start, end, on: str | None,
                 version: int | None, timestamp) -> dict[str, Any] | None:
    """Fold ``start``/``end`` (inclusive) on partition column ``on`` into an explicit ``where``
    value list, from the partitions present in the snapshot being read (Delta log only)."""
    where = dict(where or {})
    if start is None and end is None:
        return where or None
    col = on or next((c for c in spec.partition_by if pa.types.is_date32(spec.arrow_schema().field(c).type)), None)
    if col is None or col not in spec.partition_by:
        raise ValueError(f"{spec.name}: start/end need a date partition column (on=); partition columns: {list(spec.partition_by)}")
    lo = _iso_day(start, "start") if start is not None else None
    hi = _iso_day(end, "end") if end is not None else None
    if lo and hi and lo > hi:
        raise ValueError(f"start {lo} is after end {hi}")
    present = {p[col] for p in lk.delta_table(spec.name, version=version, timestamp=timestamp).partitions()
               if p.get(col) is not None}
    chosen = {v for v in present if (lo is None or v >= lo) and (hi is None or v <= hi)}
    if col in where:
        given = where[col] if isinstance(where[col], (list, tuple, set, frozenset)) else [where[col]]
        chosen &= {_iso_day(v, col) for v in given}
    where[col] = sorted(chosen)
    return where


# ----------------------------------------------------------------------------- tables
def tables(*, layer: Layer | None = None, include_missing: bool = True, config: "Config | None" = None) -> "pd.DataFrame":
    """Every catalog table with its current Delta state, one row per table, ordered by name.

    Columns: ``table`` (``layer.name``), ``layer``, ``description``, ``partition_by`` (list of
    partition columns, outermost first), ``version`` (current Delta version, ``<NA>`` when not
    written yet), ``rows`` / ``files`` / ``bytes`` (current snapshot, from the add actions'
    statistics: no data is scanned), ``last_commit`` (UTC time of the newest commit).

    ``layer``: only that layer's tables; ``include_missing=False`` drops tables not written yet.
    Raises ``ValueError`` for an unknown layer.
    """
    import pandas as pd

    layers = sorted({s.layer for s in TABLES.values()})
    if layer is not None and layer not in layers:
        raise ValueError(f"unknown layer {layer!r}; layers: {layers}")
    lk = lake(config=config)
    rows = []
    for name in sorted(TABLES):
        spec = TABLES[name]
        if layer is not None and spec.layer != layer:
            continue
        row: dict[str, Any] = {"table": name, "layer": spec.layer, "description": spec.description,
                               "partition_by": list(spec.partition_by)}
        if lk.exists(name):
            info = lk.describe(name)
            last = lk.history(name, 1)
            row.update(version=info["version"], rows=info["rows"], files=info["files"], bytes=info["bytes"],
                       last_commit=_utc(last[0]["timestamp"]) if last else None)
        elif not include_missing:
            continue
        rows.append(row)
    out = pd.DataFrame(rows, columns=TABLES_COLUMNS)
    for c in ("version", "rows", "files", "bytes"):
        out[c] = out[c].astype("Int64")
    out["last_commit"] = pd.to_datetime(out["last_commit"], utc=True)
    return out


# ----------------------------------------------------------------------------- read
def read(
    table: str,
    *,
    version: int | None = None,
    timestamp: datetime | str | None = None,
    where: Mapping[str, Any] | None = None,
    start: date | str | None = None,
    end: date | str | None = None,
    on: str | None = None,
    columns: Sequence[str] | None = None,
    engine: ReadEngine = "pandas",
    config: "Config | None" = None,
) -> "pd.DataFrame | pa.Table | DataFrame":
    """Read a table, at its current version or any earlier one, pruned to partitions.

    ``table``: ``layer.name`` (see :func:`tables`). ``version`` (an int from :func:`history`) or
    ``timestamp`` (``datetime`` or ISO 8601 string; naive = UTC): the snapshot to read (Delta
    time travel: the newest version committed at or before that time); not both.
    ``where``: partition filter, ``{"ds": ["2024-06-01", "2024-06-02"]}`` or
    ``{"ds": date(2024, 6, 1)}``; only partition columns (others raise ``ValueError``; filter rows
    in pandas/Spark after reading). ``start`` / ``end``: inclusive date range on the date partition
    column ``on`` (default: the first date partition column, e.g. ``ds``, or ``event_date`` for
    ``silver.events``); combined with ``where`` as an intersection. ``columns``: the columns to
    return, in that order (default: all, in catalog order).

    ``engine``: ``"pandas"`` (default; a ``pandas.DataFrame``), ``"arrow"`` (a ``pyarrow.Table``)
    — both read through delta-rs without Spark, for data that fits in memory — or ``"spark"`` (a
    lazy ``pyspark.sql.DataFrame``; starts the configured SparkSession). Schema: the catalog's
    (``reelhouse.lake.catalog``; ``timestamp`` columns are UTC, ``*_ms`` milliseconds). A table not
    written yet reads as an empty frame with that schema.

    Raises :class:`UnknownTableError` (a ``KeyError``) for a name not in the catalog,
    :class:`VersionNotFoundError` for a version/timestamp the Delta log does not have,
    ``ValueError`` for a bad engine, filter, date or column.
    """
    if engine not in ("pandas", "spark", "arrow"):
        raise ValueError(f"engine must be 'pandas', 'spark' or 'arrow', got {engine!r}")
    spec = _spec(table)
    if columns is not None:
        unknown = [c for c in columns if c not in spec.column_names]
        if unknown:
            raise ValueError(f"{table}: unknown columns {unknown}; columns: {spec.column_names}")
    lk = lake(config=config)
    _check_version(lk, table, version, timestamp)
    if timestamp is not None:
        timestamp = _as_utc(timestamp)
    exists = lk.exists(table)
    where = _range_where(lk, spec, where, start, end, on, version, timestamp) if exists else where
    empty = bool(where) and any(isinstance(v, list) and not v for v in where.values())
    if engine == "spark":
        if empty:
            from reelhouse.lake.catalog import spark_schema

            df = lk.spark.createDataFrame([], spark_schema(spec))
        else:
            df = lk.read(table, version=version, timestamp=timestamp, where=where)
        return df.select(list(columns)) if columns else df
    if empty:
        t = spec.arrow_schema().empty_table()
        t = t.select(list(columns)) if columns else t
    else:
        t = lk.read_arrow(table, version=version, timestamp=timestamp, where=where, columns=columns)
    return t if engine == "arrow" else t.to_pandas()


# ----------------------------------------------------------------------------- history
def _commit_actions(table_path: str, version: int) -> tuple[int, int, int | None] | None:
    """``(files added, files removed, rows added)`` of one commit, from its ``_delta_log`` JSON file
    (a local lake or one on an object store; None for a log file removed by cleanup). Rows are None
    when an add action carries no ``numRecords`` statistic."""
    from reelhouse.objectstore import read_bytes

    path = f"{table_path.removeprefix('file://')}/_delta_log/{version:020d}.json"
    try:
        actions = [json.loads(line) for line in read_bytes(path).decode("utf-8").splitlines() if line.strip()]
    except OSError:
        return None
    added = [a["add"] for a in actions if "add" in a]
    removed = sum(1 for a in actions if "remove" in a)
    rows: int | None = 0
    for a in added:
        n = json.loads(a["stats"]).get("numRecords") if a.get("stats") else None
        rows = None if n is None or rows is None else rows + int(n)
    return len(added), removed, rows


def history(table: str, *, limit: int | None = None, config: "Config | None" = None) -> "pd.DataFrame":
    """The Delta commits of a table, newest first, one row per version.

    Columns: ``version`` (int; pass it to :func:`read` to time-travel), ``timestamp`` (commit time,
    UTC), ``operation`` (Delta operation: ``CREATE TABLE``, ``WRITE``, ``MERGE``, …), ``mode``
    (reelhouse write mode: ``append`` | ``overwrite_partitions`` | ``overwrite`` | ``merge``;
    ``None`` for the creation), ``step`` (the pipeline step that wrote it, when recorded), ``ds``
    (the date partition a step wrote, ISO text, when recorded), ``files_added`` / ``files_removed``
    (the commit's add/remove actions) and ``rows_added`` (rows in the files it added: a merge or a
    partition overwrite counts every row it rewrote), ``<NA>`` when unknown, ``parameters``
    (dict: the Delta operation parameters), ``metadata`` (dict: every ``reelhouse.*`` commit-info
    entry, e.g. ``write_id``, ``verdict``).

    ``limit``: the newest N commits. Raises :class:`UnknownTableError`, and
    :class:`reelhouse.lake.LakeError` when the table has not been written yet.
    """
    import pandas as pd

    _spec(table)
    lk = lake(config=config)
    rows = []
    for c in lk.history(table, limit):
        version = int(c["version"])
        meta = {k.removeprefix("reelhouse."): v for k, v in c.items() if k.startswith("reelhouse.")}
        metrics = c.get("operationMetrics") or {}
        counts = _commit_actions(lk.path(table), version) or (
            metrics.get("num_added_files"), metrics.get("num_removed_files"),
            metrics.get("num_target_rows_inserted", metrics.get("num_added_rows")))
        rows.append({
            "version": version, "timestamp": _utc(c.get("timestamp")), "operation": c.get("operation"),
            "mode": meta.get("mode"), "step": meta.get("step"), "ds": meta.get("ds"),
            "files_added": counts[0], "files_removed": counts[1], "rows_added": counts[2],
            "parameters": dict(c.get("operationParameters") or {}), "metadata": meta,
        })
    out = pd.DataFrame(rows, columns=HISTORY_COLUMNS).sort_values("version", ascending=False, ignore_index=True)
    for col in ("files_added", "files_removed", "rows_added"):
        out[col] = out[col].astype("Int64")
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
    return out


# ----------------------------------------------------------------------------- quality
def verdicts(*, limit: int = 30, config: "Config | None" = None) -> "pd.DataFrame":
    """The quality gate's recorded verdict per date, newest ``ds`` first (``ops.quality_results``).

    Columns: ``ds`` (date gated), ``verdict`` (``pass`` | ``warn`` | ``block``), ``checks`` (checks
    run), ``failed`` (checks that failed), ``blocking`` (failed checks of severity ``block``),
    ``validated_at`` (when the gate ran, UTC), ``run_id``, ``failures`` (list of dicts, blocking
    first: ``table``, ``expectation``, ``severity``, ``observed_value`` (JSON text)). Empty (same
    columns) when the gate never ran. The counts come from
    :func:`reelhouse.quality.gate.latest_verdicts`.
    """
    import pandas as pd

    from reelhouse.quality.gate import RESULTS_TABLE, latest_verdicts

    lk = lake(config=config)
    out = latest_verdicts(lk, limit=limit)
    if out.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    checks = lk.read_pandas(RESULTS_TABLE, where={"ds": list(out["ds"])},
                            columns=["ds", "run_id", "table_name", "expectation", "severity", "success",
                                     "observed_value", "validated_at"])
    at = checks.groupby(["ds", "run_id"])["validated_at"].max().rename("validated_at")
    bad = checks[~checks["success"]].assign(_order=lambda d: d["severity"] != "block")
    bad = bad.sort_values(["_order", "table_name", "expectation"])
    failures = {
        key: [{"table": r.table_name, "expectation": r.expectation, "severity": r.severity,
               "observed_value": r.observed_value} for r in grp.itertuples()]
        for key, grp in bad.groupby(["ds", "run_id"], sort=False)
    }
    out = out.join(at, on=["ds", "run_id"])
    out["failures"] = [failures.get((d, r), []) for d, r in zip(out["ds"], out["run_id"])]
    return out[VERDICT_COLUMNS]


# ----------------------------------------------------------------------------- model
@dataclass(frozen=True)
class Champion:
    """The ranking model the registry's ``champion`` alias points at.

    ``model_name`` / ``version``: the MLflow registered model version; ``promoted_at``: when the
    decision that made it champion was recorded (UTC); ``action``: ``promote`` or ``rollback``;
    ``reason``: why, with the numbers compared; ``run_id``: the MLflow run that trained it;
    ``valid_day``: its validation day; ``gate_verdict``: the quality gate's verdict of that day;
    ``auc`` / ``champion_auc`` / ``baseline_auc``: AUC of this model, of the champion it replaced
    (None when there was none) and of the popularity baseline on the validation day's rows;
    ``metrics``: every metric recorded at the decision, ``{"challenger" | "champion" |
    "baseline": {"auc", "log_loss", "ndcg_at_10", "normalized_entropy", "calibration", "rows", …}}``.
    For a rollback the metrics are those of the decision that first promoted the version, when
    recorded.
    """

    model_name: str
    version: int
    promoted_at: datetime | None
    action: str | None
    reason: str | None
    run_id: str | None
    valid_day: date | None
    gate_verdict: str | None
    auc: float | None
    champion_auc: float | None
    baseline_auc: float | None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def metrics_frame(self) -> "pd.DataFrame":
        """:attr:`metrics` as a DataFrame: one row per model scored (challenger, champion,
        baseline), one column per metric."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.metrics, orient="index")


def _nan_none(v: Any) -> Any:
    try:
        import pandas as pd

        return None if v is None or pd.isna(v) else v
    except (TypeError, ValueError):
        return v


def champion(*, config: "Config | None" = None) -> Champion | None:
    """The current champion of the ranking model, with the metrics it was promoted on, or None
    when no version holds the ``champion`` alias yet.

    The version comes from the MLflow registry (the alias is the truth the ranking service
    follows); the decision and its metrics from ``ml.model_promotions`` (the newest decision whose
    ``champion_after`` is that version; metrics from the newest ``promote`` of that version).
    """
    from reelhouse.ml.model import MODEL_NAME, PROMOTIONS_TABLE, champion_version

    if config is None:
        from reelhouse.config import get_config

        config = get_config()
    version = champion_version(config)
    if version is None:
        return None
    lk = lake(config=config)
    p = lk.read_pandas(PROMOTIONS_TABLE) if lk.exists(PROMOTIONS_TABLE) else None
    if p is None or p.empty:
        return Champion(MODEL_NAME, version, None, None, None, None, None, None, None, None, None)
    p = p[p["model_name"] == MODEL_NAME].sort_values("decided_at")
    decision = p[p["champion_after"] == version].tail(1)
    promoted = p[(p["action"] == "promote") & (p["version"] == version)].tail(1)
    src = promoted if not promoted.empty else decision
    d = decision.iloc[0] if not decision.empty else None
    s = src.iloc[0] if not src.empty else None
    return Champion(
        model_name=MODEL_NAME,
        version=version,
        promoted_at=d["decided_at"].to_pydatetime() if d is not None else None,
        action=d["action"] if d is not None else None,
        reason=d["reason"] if d is not None else None,
        run_id=_nan_none(s["run_id"]) if s is not None else None,
        valid_day=_nan_none(s["valid_day"]) if s is not None else None,
        gate_verdict=_nan_none(s["gate_verdict"]) if s is not None else None,
        auc=_nan_none(s["challenger_auc"]) if s is not None else None,
        champion_auc=_nan_none(s["champion_auc"]) if s is not None else None,
        baseline_auc=_nan_none(s["baseline_auc"]) if s is not None else None,
        metrics=json.loads(s["metrics_json"]) if s is not None else {},
    )
