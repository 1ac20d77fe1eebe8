"""The data quality gate: Great Expectations suites over the partitions one date wrote, one verdict.

``reelhouse gate --date D`` (and the ``quality_gate`` task of ``reelhouse_nightly``) runs every
suite in ``expectations/`` against the partitions the nightly run wrote for ``D`` — ``landing_date``
for bronze, quarantine, silver events and the reconciliation, ``published_date`` for the video
dimensions, ``ds`` for gold — and against one row of day-level KPIs, then combines the results
into a :class:`GateVerdict`:

* ``block`` when any expectation of severity ``critical`` failed (GX's own severity levels:
  ``critical`` → block, ``warning`` → warn); nothing downstream of the gate may publish the date;
* ``warn`` when only ``warning`` expectations failed; the date goes through, the warnings are
  recorded;
* ``pass`` otherwise.

Every check lands in the Delta table ``ops.quality_results`` (partition ``ds = D``, replaced on a
rerun) with the Delta version of the table it validated, and in Great Expectations Data Docs
(HTML) under ``<lake>/_quality/data_docs/ds=YYYY-MM-DD/index.html`` (one in-memory GX context per run).

How it stays cheap (issue: GX on Spark, great_expectations#1788)
----------------------------------------------------------------
No Spark. Each table's partition for ``D`` is read through delta-rs at a pinned Delta version,
**only the columns its suite names**, into pandas (Arrow-backed strings), and validated **in full**
— no sampling, so there is no sampling error to state. Checks that span days or tables are
computed as aggregates and handed to GX as expectation parameters or as the one-row
``ops.daily_kpis`` frame:

* volume — the partition's row count must lie within ``mean × (1 ± volume_band)`` of the trailing
  ``window_days`` partitions, whose row counts come from the Delta log (``numRecords`` of the add
  actions), not from a scan; with fewer than ``min_history_days`` partitions of history the band
  is not applied yet (a partition must still have at least one row where the suite says
  ``required_daily``);
* drift — completion rate (plays-weighted) and like rate (likes / plays) of the day, from
  ``gold.video_daily_stats`` region ``ALL``, must lie within ``trailing mean × (1 ± drift_tolerance)``
  (severity warning);
* quarantine ratio — Σ rows_quarantined / Σ lines_read of the day's reconciliation rows, against
  ``ingest.max_quarantine_ratio``;
* reconciliation exactness — every file ``balanced`` (suite ``ops.ingest_reconciliation``), and
  the reconciliation's Σ rows_kept / Σ rows_quarantined equal to the rows actually committed to
  ``silver.events`` / ``quarantine.events`` for the landing date (counted from the Delta log);
* referential integrity — each ``silver.video_hashtags`` row gets ``video_in_silver_videos``
  (Arrow ``is_in`` against ``silver.videos`` at its validated version), which must be true;
* schema — the Delta schema of every table (names, Arrow types, nullability) must equal the
  catalog's, checked from the Delta log (result ``expect_delta_schema_to_match_catalog``).

Measured: ``bench/bench_quality.py`` (README "Quality gate").
"""

from __future__ import annotations

import json
import logging
import math
import os
import statistics
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

import pyarrow as pa

from reelhouse.lake.catalog import get_table

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from reelhouse.config import Config
    from reelhouse.lake import Lake
    from reelhouse.sources.landing import Coverage

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
KPI_SUITE = "ops.daily_kpis"
RESULTS_TABLE = "ops.quality_results"

Severity = Literal["block", "warn"]
Status = Literal["pass", "warn", "block"]
_SEVERITY: dict[str, Severity] = {"critical": "block", "warning": "warn", "info": "warn"}


class QualityError(RuntimeError):
    """The gate could not run (a malformed suite, a missing table the suite requires)."""


@dataclass(frozen=True)
class CheckResult:
    """One expectation's outcome for one table and date (one row of ``ops.quality_results``).

    ``expectation``: type plus its column/parameters, e.g.
    ``expect_column_values_to_not_be_null(column=region, mostly=0.95)``; ``observed_value`` and
    ``details``: JSON strings (GX's result summary: observed value, unexpected count and share,
    a few unexpected values)."""

    table: str
    suite: str
    delta_version: int | None
    expectation: str
    expectation_type: str
    column: str | None
    success: bool
    severity: Severity
    observed_value: str | None
    details: str


@dataclass
class GateVerdict:
    """The verdict for one date: ``status`` (pass | warn | block), every :class:`CheckResult`,
    the Delta version validated per table, where the Data Docs are, and how long it took (s)."""

    date: date
    status: Status
    results: list[CheckResult]
    versions: dict[str, int | None] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    docs_path: str | None = None
    seconds: float = 0.0
    run_id: str = ""
    not_provided: list[str] = field(default_factory=list)
    coverage: str | None = None

    @property
    def failures(self) -> list[CheckResult]:
        """The failed checks, blocking ones first."""
        bad = [r for r in self.results if not r.success]
        return sorted(bad, key=lambda r: (r.severity != "block", r.table, r.expectation))

    def summary(self) -> str:
        """Human-readable report: verdict line, then one line per failed check with why."""
        n = len(self.results)
        lines = [
            f"quality gate {self.date.isoformat()}: {self.status.upper()} — {n - len(self.failures)}/{n} checks passed "
            f"over {len(self.versions)} tables in {self.seconds:.1f} s"
        ]
        for r in self.failures:
            lines.append(f"  [{r.severity}] {r.table}: {r.expectation} — observed {r.observed_value}")
        if self.not_provided:
            lines.append(f"  the source does not provide: {', '.join(self.not_provided)} "
                         "(optional in the landing contract; null in every event of the day)")
        if self.coverage:
            lines.append(f"  the source covers {self.coverage} of this date (landing coverage marker): "
                         "volume minimums scaled to it")
        if self.docs_path:
            lines.append(f"  Data Docs: {self.docs_path}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- suites
def load_suites(directory: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """Read every ``<table>.json`` Great Expectations 1.x suite of ``directory`` (default: the
    repository's ``expectations/``), keyed by suite name. Each suite's ``meta`` names its
    ``table`` and ``date_column``. Raises :class:`QualityError` for a malformed file."""
    folder = Path(directory) if directory else EXPECTATIONS_DIR
    suites: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            suite = json.loads(path.read_text())
            meta = suite["meta"]
            meta["table"], meta["date_column"]  # noqa: B018  (presence check)
        except (ValueError, KeyError, TypeError) as exc:
            raise QualityError(f"{path}: not a reelhouse expectation suite ({exc!r})") from exc
        _check_contract_severity(suite, path)
        suites[suite["name"]] = suite
    if not suites:
        raise QualityError(f"no expectation suites in {folder}")
    for suite in suites.values():
        suite["expectations"] = list(suite["expectations"]) + contract_expectations(suite["meta"]["table"])
    return suites


#: Tables whose columns are the landing contract's fields one to one.
CONTRACT_TABLES = ("silver.events",)


def _check_contract_severity(suite: Mapping[str, Any], path: Path) -> None:
    """Refuse a suite that blocks on nulls in a field the landing contract makes optional (or
    requires of some event types only, unless the check has a ``row_condition``): such a gate
    blocks every day of a healthy source that never sends the field."""
    from reelhouse.sources.contract import OPTIONAL_FIELDS, REQUIRED_FOR_TYPES

    if suite["meta"]["table"] not in CONTRACT_TABLES:
        return
    for e in suite["expectations"]:
        col = e.get("kwargs", {}).get("column")
        if (e.get("type") == "expect_column_values_to_not_be_null" and e.get("severity", "critical") == "critical"
                and (col in OPTIONAL_FIELDS or (col in REQUIRED_FOR_TYPES and not e["kwargs"].get("row_condition")))):
            raise QualityError(
                f"{path}: blocks on nulls in {col!r}, which landing contract v1.1 makes "
                f"{'optional' if col in OPTIONAL_FIELDS else 'required for ' + ', '.join(REQUIRED_FOR_TYPES[col]) + ' events only'}; "
                "use severity 'warning' (the gate's null-share drift check covers optional fields)")


def contract_expectations(table: str) -> list[dict[str, Any]]:
    """Expectations derived from the landing contract (``reelhouse.sources.contract``), added to the
    table's suite at load time so they cannot drift from it:

    * ``silver.events``: for each field required by some event types only, ``not null`` on the
      rows of those types (``row_condition``), severity critical — e.g. ``video_id`` on every
      type but ``follow``, ``play_time_ms`` on plays;
    * ``ops.daily_kpis``: for each optional field (:data:`reelhouse.sources.contract.OPTIONAL_FIELDS`),
      its share of nulls in the day's ``silver.events`` within the trailing median ± 
      ``quality.null_share_tolerance``, severity **warning**: a source may never send an optional
      field (it is then reported as not provided, and passes), but a collector that stops sending
      one it used to send is worth a look, not a blocked night."""
    from reelhouse.sources.contract import OPTIONAL_FIELDS, REQUIRED_FOR_TYPES

    out: list[dict[str, Any]] = []
    if table == "silver.events":
        for col, types in REQUIRED_FOR_TYPES.items():
            cond = (f'event_type=="{types[0]}"' if len(types) == 1
                    else "event_type in [" + ", ".join(f'"{t}"' for t in types) + "]")
            out.append({"type": "expect_column_values_to_not_be_null",
                        "kwargs": {"column": col, "row_condition": cond, "condition_parser": "pandas"},
                        "meta": {"generated_from": f"landing contract: {col} required for {', '.join(types)}"},
                        "severity": "critical"})
    elif table == KPI_SUITE:
        for col in OPTIONAL_FIELDS:
            out.append({"type": "expect_column_values_to_be_between",
                        "kwargs": {"column": f"{col}_null_share", "min_value": {"$PARAMETER": f"{col}_null_share_min"},
                                   "max_value": {"$PARAMETER": f"{col}_null_share_max"}},
                        "meta": {"generated_from": f"landing contract: {col} is optional"},
                        "severity": "warning"})
    return out


def referenced_columns(suite: Mapping[str, Any]) -> list[str]:
    """Columns a suite's expectations name (``column``, ``column_list``, ``column_A``/``_B``)."""
    cols: list[str] = []
    for e in suite["expectations"]:
        kw = e["kwargs"]
        for c in [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *(kw.get("column_list") or [])]:
            if c and c not in cols:
                cols.append(c)
    return cols


# ----------------------------------------------------------------------------- aggregates
def partition_row_counts(lake: "Lake", table: str, column: str, *, version: int | None = None) -> dict[date, int]:
    """Rows per value of partition column ``column`` from the Delta log's add actions
    (``numRecords``), no data scan. Empty when the table does not exist."""
    if not lake.exists(table):
        return {}
    dt = lake.delta_table(table, version=version)
    adds = pa.table(dt.get_add_actions(flatten=True))
    if not adds.num_rows:
        return {}
    if adds["num_records"].null_count:
        raise QualityError(f"{table}: add actions without numRecords statistics; cannot count rows from the log")
    grouped = adds.group_by(f"partition.{column}").aggregate([("num_records", "sum")])
    out: dict[date, int] = {}
    for d, n in zip(grouped[f"partition.{column}"].to_pylist(), grouped["num_records_sum"].to_pylist()):
        if d is not None:
            out[d if isinstance(d, date) else date.fromisoformat(str(d))] = int(n)
    return out


def volume_bounds(
    counts: Mapping[date, int],
    day: date,
    *,
    window_days: int,
    band: float,
    min_history_days: int,
    required: bool,
    partial_share: float = 0.0,
    max_ratio: float | None = None,
    history_from: date | None = None,
    coverage: Mapping[date, float] | None = None,
) -> tuple[int, int | None, list[int]]:
    """``(min_rows, max_rows, history)`` for ``day``'s volume against a robust baseline.

    ``history`` is the trailing ``window_days`` values before ``day`` that exist (and fall on or
    after ``history_from``, when given: e.g. the first day a rolling window is full), without the
    *partial* ones: values below ``partial_share × median`` of the window — a source's partial
    first day, an outage day that the gate blocked — would drag the baseline down and let the next
    outage through. With ``m`` = the median of ``history``: ``min_rows = floor(m × (1 − band))``
    and ``max_rows = ceil(m × max_ratio)`` (``max_ratio`` defaults to ``1 + band``). The median,
    not the mean, so one odd day in the window moves nothing (a robust location estimate, as in
    median-based anomaly detection). With fewer than ``min_history_days`` values left:
    ``(1 if required else 0, None)`` — only "at least one row" for a table written every day.

    ``coverage``: the share (0..1] of each date the source declares it covers (landing coverage
    markers, :func:`reelhouse.sources.landing.read_coverage`; absent = 1). Declared-partial dates never
    enter ``history``, and ``day``'s minimum is scaled by its share — a source that ends at
    16:00 UTC by construction is expected to bring 2/3 of a day, not a whole one."""
    floor = 1 if required else 0
    share = dict(coverage or {})
    window = [day - timedelta(days=k) for k in range(1, window_days + 1)]
    history = [counts[d] for d in window if d in counts and (history_from is None or d >= history_from)
               and share.get(d, 1.0) >= 1.0]
    if history and partial_share > 0:
        ref = statistics.median(history)
        history = [c for c in history if c >= partial_share * ref]
    if len(history) < min_history_days or not history:
        return floor, None, history
    m = statistics.median(history)
    hi_ratio = (1 + band) if max_ratio is None else max_ratio
    return max(floor, math.floor(m * (1 - band) * min(1.0, share.get(day, 1.0)))), math.ceil(m * hi_ratio), history


def declared_coverage(landing_root: str, days: Sequence[date]) -> dict[date, "Coverage"]:
    """The coverage markers of ``days`` under ``landing_root`` (only the dates that have one).

    Raises:
        QualityError: a malformed marker (the message names the file)."""
    from reelhouse.sources.landing import read_coverage

    out = {}
    for d in days:
        try:
            cov = read_coverage(landing_root, d)
        except ValueError as exc:
            raise QualityError(str(exc)) from exc
        if cov is not None:
            out[d] = cov
    return out


def active_entity_counts(
    lake: "Lake", table: str, date_column: str, active_column: str, days: Sequence[date], *, version: int | None
) -> dict[date, int]:
    """Rows with ``active_column > 0`` per partition of ``table`` among ``days`` (one column read
    through delta-rs at ``version``): the day's active entities of a rolling-window table (users
    with events today in ``gold.user_features``), the part of it that reflects one day."""
    import pyarrow.compute as pc

    if version is None or not days:
        return {}
    t = lake.read_arrow(table, version=version, where={date_column: list(days)}, columns=[date_column, active_column],
                        filter=pc.field(active_column) > 0)
    out: dict[date, int] = {}
    if t.num_rows:
        g = t.group_by(date_column).aggregate([(active_column, "count")])
        for d, n in zip(g[date_column].to_pylist(), g[f"{active_column}_count"].to_pylist()):
            out[d] = int(n)
    return out


def first_partition(counts: Mapping[date, int]) -> date | None:
    """The earliest partition with rows, or None."""
    days = [d for d, n in counts.items() if n]
    return min(days) if days else None


def optional_null_shares(
    lake: "Lake", days: Sequence[date], *, version: int | None, fields: Sequence[str] = ()
) -> dict[date, dict[str, float]]:
    """Per landing date among ``days``: the share (0..1) of ``silver.events`` rows whose optional
    contract field is null, for each of ``fields`` (default: :data:`reelhouse.sources.contract.OPTIONAL_FIELDS`),
    from the Delta log's per-file ``nullCount``/``numRecords`` statistics — no data scan. A field
    whose statistics are missing from some file of a date is left out for that date."""
    from reelhouse.sources.contract import OPTIONAL_FIELDS

    fields = list(fields or OPTIONAL_FIELDS)
    if version is None or not lake.exists("silver.events"):
        return {}
    adds = pa.table(lake.delta_table("silver.events", version=version).get_add_actions(flatten=True))
    if not adds.num_rows:
        return {}
    want = {d.isoformat() if isinstance(d, date) else str(d) for d in days}
    part = [str(v) if v is not None else None for v in adds["partition.landing_date"].to_pylist()]
    rows = adds["num_records"].to_pylist()
    out: dict[date, dict[str, float]] = {}
    for f in fields:
        col = f"null_count.{f}"
        nulls = adds[col].to_pylist() if col in adds.column_names else [None] * adds.num_rows
        acc: dict[str, list[int]] = {}
        bad: set[str] = set()
        for d, n, k in zip(part, rows, nulls):
            if d is None or d[:10] not in want:
                continue
            d = d[:10]
            if k is None or n is None:
                bad.add(d)
                continue
            a = acc.setdefault(d, [0, 0])
            a[0] += int(k)
            a[1] += int(n)
        for d, (k, n) in acc.items():
            if d not in bad and n:
                out.setdefault(date.fromisoformat(d), {})[f] = k / n
    return out


def _engagement_rates(lake: "Lake", days: Sequence[date], version: int | None) -> dict[date, tuple[float, float]]:
    """Per ds: (completion rate weighted by plays, likes / plays) from gold.video_daily_stats, region ALL."""
    import pyarrow.compute as pc

    if not lake.exists("gold.video_daily_stats") or not days:
        return {}
    t = lake.read_arrow(
        "gold.video_daily_stats", version=version, where={"ds": list(days)},
        columns=["ds", "region", "plays", "likes", "completion_rate"],
        filter=pc.field("region") == "ALL",
    )
    out: dict[date, tuple[float, float]] = {}
    for d in set(t["ds"].to_pylist()):
        day = t.filter(pc.equal(t["ds"], pa.scalar(d, pa.date32())))
        plays = pc.sum(day["plays"]).as_py() or 0
        if not plays:
            continue
        rated = day.filter(pc.is_valid(day["completion_rate"]))
        w = pc.sum(pc.multiply(rated["completion_rate"], pc.cast(rated["plays"], pa.float64()))).as_py() or 0.0
        w_plays = pc.sum(rated["plays"]).as_py() or 0
        out[d] = (w / w_plays if w_plays else float("nan"), (pc.sum(day["likes"]).as_py() or 0) / plays)
    return out


def daily_kpis(
    lake: "Lake", config: "Config", day: date, versions: Mapping[str, int | None]
) -> tuple["pd.DataFrame", dict[str, Any]]:
    """The one-row KPI frame of ``day`` and the drift/threshold parameters of suite ``ops.daily_kpis``.

    Columns: ``date``; ``lines_read``; ``quarantine_ratio`` = Σ rows_quarantined / Σ lines_read of
    the day's ``ops.ingest_reconciliation`` (0 when nothing was read);
    ``unreconciled_silver_rows`` = |Σ rows_kept − rows committed to silver.events for the landing
    date| and ``unreconciled_quarantine_rows`` likewise for quarantine.events (row counts from the
    Delta log); ``completion_rate`` = Σ(completion_rate × plays) / Σ plays and ``like_rate`` =
    Σ likes / Σ plays over ``gold.video_daily_stats`` region ALL for ``ds = day`` (NaN without plays).
    Parameters: ``max_quarantine_ratio``, and ``<kpi>_min``/``<kpi>_max`` = trailing mean ×
    (1 ∓ drift_tolerance) over the ``window_days`` before ``day`` ([0, 1] until
    ``min_history_days`` of history exist)."""
    import pandas as pd
    import pyarrow.compute as pc

    q = config.quality
    recon = lake.read_arrow("ops.ingest_reconciliation", version=versions.get("ops.ingest_reconciliation"),
                            where={"landing_date": day})
    lines = int(pc.sum(recon["lines_read"]).as_py() or 0)
    quarantined = int(pc.sum(recon["rows_quarantined"]).as_py() or 0)
    kept = int(pc.sum(recon["rows_kept"]).as_py() or 0)
    silver_rows = partition_row_counts(lake, "silver.events", "landing_date",
                                       version=versions.get("silver.events")).get(day, 0)
    quarantine_rows = partition_row_counts(lake, "quarantine.events", "landing_date",
                                           version=versions.get("quarantine.events")).get(day, 0)
    window = [day - timedelta(days=k) for k in range(0, q.window_days + 1)]
    rates = _engagement_rates(lake, window, versions.get("gold.video_daily_stats"))
    completion, like = rates.get(day, (float("nan"), float("nan")))
    params: dict[str, Any] = {"max_quarantine_ratio": config.ingest.max_quarantine_ratio}
    history = [rates[d] for d in window[1:] if d in rates]
    for i, kpi in enumerate(("completion_rate", "like_rate")):
        past = [h[i] for h in history if not math.isnan(h[i])]
        if len(past) >= q.min_history_days:
            mean = sum(past) / len(past)
            params[f"{kpi}_min"], params[f"{kpi}_max"] = mean * (1 - q.drift_tolerance), mean * (1 + q.drift_tolerance)
        else:
            params[f"{kpi}_min"], params[f"{kpi}_max"] = 0.0, 1.0
    shares = optional_null_shares(lake, window, version=versions.get("silver.events"))
    today = shares.get(day, {})
    null_share_cols: dict[str, float] = {}
    from reelhouse.sources.contract import OPTIONAL_FIELDS

    for col in OPTIONAL_FIELDS:
        null_share_cols[f"{col}_null_share"] = today.get(col, float("nan"))
        past = [shares[d][col] for d in window[1:] if col in shares.get(d, {})]
        if len(past) >= q.min_history_days:
            m = statistics.median(past)
            lo, hi = max(0.0, m - q.null_share_tolerance), min(1.0, m + q.null_share_tolerance)
        else:
            lo, hi = 0.0, 1.0
        params[f"{col}_null_share_min"], params[f"{col}_null_share_max"] = lo, hi
    frame = pd.DataFrame([{
        **null_share_cols,
        "date": pd.Timestamp(day),
        "lines_read": lines,
        "quarantine_ratio": quarantined / lines if lines else 0.0,
        "unreconciled_silver_rows": abs(kept - silver_rows),
        "unreconciled_quarantine_rows": abs(quarantined - quarantine_rows),
        "completion_rate": completion,
        "like_rate": like,
    }])
    return frame, params


def schema_check(lake: "Lake", table: str, suite: str, version: int | None) -> CheckResult:
    """Compare the Delta schema of ``table`` at ``version`` with the catalog: column names and
    order, Arrow types and nullability. Severity block."""
    spec = get_table(table)
    expected = spec.arrow_schema()
    if version is None:
        ok, observed = False, "table does not exist"
    else:
        actual = pa.schema(lake.delta_table(table, version=version).schema())
        diffs = []
        exp_f = {f.name: f for f in expected}
        act_f = {f.name: f for f in actual}
        for name in exp_f.keys() - act_f.keys():
            diffs.append(f"missing {name}")
        for name in act_f.keys() - exp_f.keys():
            diffs.append(f"unexpected {name}")
        for name in exp_f.keys() & act_f.keys():
            e, a = exp_f[name], act_f[name]
            if not _same_type(e.type, a.type):
                diffs.append(f"{name}: {a.type} (catalog {e.type})")
            elif e.nullable != a.nullable:
                diffs.append(f"{name}: nullable={a.nullable} (catalog {e.nullable})")
        ok, observed = not diffs, "; ".join(sorted(diffs)) or "matches"
    return CheckResult(
        table=table, suite=suite, delta_version=version,
        expectation="expect_delta_schema_to_match_catalog()", expectation_type="expect_delta_schema_to_match_catalog",
        column=None, success=ok, severity="block", observed_value=json.dumps(observed),
        details=json.dumps({"catalog": [f"{f.name}:{f.type}" for f in expected]}),
    )


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    # Delta has no string_view / large types; list element names differ between writers.
    if pa.types.is_list(a) and pa.types.is_list(b):
        return _same_type(a.value_type, b.value_type)
    if pa.types.is_map(a) and pa.types.is_map(b):
        return _same_type(a.key_type, b.key_type) and _same_type(a.item_type, b.item_type)
    norm = {pa.large_string(): pa.string(), pa.string_view(): pa.string()}
    return norm.get(a, a) == norm.get(b, b)


# ----------------------------------------------------------------------------- loading
def partition_frame(
    lake: "Lake", table: str, date_column: str, day: date, columns: Sequence[str], version: int | None
) -> "pd.DataFrame":
    """The ``day`` partition of ``table`` at ``version``, only ``columns``, as pandas: strings as
    Arrow-backed ``string[pyarrow]``, dates as ``datetime64``, timestamps UTC."""
    import pandas as pd

    spec = get_table(table)
    cols = [c for c in columns if c in spec.column_names]
    if version is None:
        t = spec.arrow_schema().empty_table().select(cols)
    else:
        t = lake.read_arrow(table, version=version, where={date_column: day}, columns=cols)
    return t.to_pandas(
        types_mapper=lambda typ: pd.StringDtype("pyarrow") if typ in (pa.string(), pa.large_string(), pa.string_view()) else None,
        date_as_object=False,
    )


def video_in_silver_videos(lake: "Lake", video_ids: "pd.Series", version: int | None) -> "pd.Series":
    """Referential integrity as a column: for each ``video_id`` whether ``silver.videos`` (at
    ``version``) has it. Computed with Arrow (``is_in`` against the ids found), so the suite checks
    one boolean column instead of a value set the size of the video table."""
    import pandas as pd
    import pyarrow.compute as pc

    ids = pa.array(video_ids.astype(object).where(video_ids.notna(), None).tolist(), pa.string())
    if not len(ids) or version is None:
        return pd.Series([False] * len(video_ids), index=video_ids.index, dtype=bool)
    unique = pc.unique(ids.drop_null())
    found = lake.read_arrow("silver.videos", version=version, columns=["video_id"], filter=pc.field("video_id").isin(unique))
    return pd.Series(pc.is_in(ids, value_set=found["video_id"].combine_chunks()).fill_null(False).to_numpy(zero_copy_only=False),
                     index=video_ids.index, dtype=bool)


# ----------------------------------------------------------------------------- GX
def _gx_context(docs_dir: Path | None = None):
    """A fresh in-memory (ephemeral) GX context for one gate run, with a Data Docs site under
    ``docs_dir`` when given. Nothing is shared between runs: concurrent gates (a backfill's dates
    at once) cannot read each other's half-written suites, as they did through one file context
    under ``<lake>/_quality/gx`` (``ExpectationSuite() argument after ** must be a mapping``)."""
    import logging

    # GX logs INFO at import ("Skipping registering function …") and per validation: task logs
    # would bury the verdict; its warnings and errors keep their level
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch under 1 GB by hashing all of its values (batch marker
    # "pandas_data_fingerprint", HASH_THRESHOLD): ~8.6 s per validation of a 5M-row silver
    # partition, more than all its expectations together. The gate identifies what it validated by
    # table and Delta version instead (ops.quality_results.delta_version), so it turns that off.
    pandas_execution_engine.HASH_THRESHOLD = 0

    ctx = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # pragma: no cover - cosmetic only
        pass
    if docs_dir is not None:
        ctx.add_data_docs_site(site_name=DOCS_SITE, site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
        })
    return ctx


#: the gate's Data Docs site (one per date: ``<lake>/_quality/data_docs/ds=YYYY-MM-DD/``)
DOCS_SITE = "reelhouse"


def docs_dir(lake_root: str, day: date) -> str:
    """Where the Data Docs of ``day``'s gate runs go: ``<lake>/_quality/data_docs/ds=YYYY-MM-DD/``
    (a local path, or a URI on an object store)."""
    from reelhouse.objectstore import join

    return join(lake_root, "_quality", "data_docs", f"ds={day.isoformat()}")


def _provided_fields(frame: "pd.DataFrame", table: str, suite: str) -> list[CheckResult]:
    """One informational result per optional contract field: whether the day's events carry it
    at all (``provided`` false when its null share is 1). Always ``success``: a source that does
    not send an optional field is healthy; the verdict names what it does not provide."""
    out = []
    for col in [c[: -len("_null_share")] for c in frame.columns if c.endswith("_null_share")]:
        share = frame[f"{col}_null_share"].iloc[0] if len(frame) else float("nan")
        provided = not (share == share and share >= 1.0)
        out.append(CheckResult(
            table=table, suite=suite, delta_version=None, expectation=f"optional_field_provided(column={col})",
            expectation_type="optional_field_provided", column=col, success=True, severity="warn",
            observed_value=json.dumps({"null_share": None if share != share else round(float(share), 6), "provided": provided}),
            details=json.dumps({"notes": "optional in landing contract v1.1: informational, never fails"}),
        ))
    return out


def _describe(e: Mapping[str, Any]) -> str:
    kw = {k: v for k, v in e["kwargs"].items() if k not in ("batch_id", "condition_parser")}
    rc = kw.get("row_condition")
    if isinstance(rc, Mapping):
        kw["row_condition"] = rc.get("pass_through_filter") or rc.get("condition") or json.dumps(rc, default=str)
    parts = []
    for k, v in kw.items():
        if isinstance(v, (list, tuple)) and len(v) > 8:
            v = f"<{len(v)} values>"
        elif isinstance(v, list):
            v = "[" + ",".join(map(str, v)) + "]"
        parts.append(f"{k}={v}")
    return f"{e['type']}({', '.join(parts)})"


def _jsonable(v: Any) -> Any:
    try:
        return json.loads(json.dumps(v, default=str))
    except (TypeError, ValueError):
        return str(v)


def _run_suite(
    ctx, suite: Mapping[str, Any], frame: "pd.DataFrame", params: Mapping[str, Any], table: str, version: int | None,
    *, docs_ids: list | None = None,
):
    """Run one suite through a GX Checkpoint and return its CheckResults; the validation result
    is stored in the context and its identifier appended to ``docs_ids`` (for one Data Docs build
    at the end — GX's per-checkpoint UpdateDataDocsAction re-renders the site every time)."""
    import great_expectations as gx

    name = suite["name"]
    source = ctx.data_sources.add_or_update_pandas("reelhouse")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    try:
        bd = asset.get_batch_definition("partition")
    except (KeyError, LookupError, ValueError):
        bd = asset.add_batch_definition_whole_dataframe("partition")
    gx_suite = ctx.suites.add_or_update(gx.ExpectationSuite(**{k: v for k, v in suite.items() if k != "id"}))
    vd = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=bd, suite=gx_suite))
    cp = ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=name, validation_definitions=[vd], actions=[], result_format="SUMMARY",
    ))
    cp_result = cp.run(batch_parameters={"dataframe": frame}, expectation_parameters=dict(params))
    out: list[CheckResult] = []
    if docs_ids is not None:
        docs_ids.extend(cp_result.run_results.keys())
    for vr in cp_result.run_results.values():
        for r in vr.results:
            cfg = r.expectation_config
            kwargs = {k: v for k, v in cfg.kwargs.items() if k != "batch_id"}
            res = r.result or {}
            observed = res.get("observed_value")
            if observed is None and "unexpected_count" in res:
                observed = {"unexpected_count": res.get("unexpected_count"), "unexpected_percent": res.get("unexpected_percent"),
                            "element_count": res.get("element_count")}
            if r.exception_info and r.exception_info.get("raised_exception"):
                observed = {"exception": r.exception_info.get("exception_message")}
            column = kwargs.get("column") or (",".join(kwargs["column_list"]) if kwargs.get("column_list") else None)
            details = {"kwargs": kwargs, "result": {k: v for k, v in res.items() if k in
                       ("element_count", "unexpected_count", "unexpected_percent", "missing_count", "partial_unexpected_list", "observed_value")}}
            out.append(CheckResult(
                table=table, suite=name, delta_version=version,
                expectation=_describe({"type": cfg.type, "kwargs": kwargs}), expectation_type=cfg.type, column=column,
                success=bool(r.success), severity=_SEVERITY.get(str(getattr(cfg, "severity", "critical")).split(".")[-1].lower(), "block"),
                observed_value=json.dumps(_jsonable(observed)), details=json.dumps(_jsonable(details)),
            ))
    return out


# ----------------------------------------------------------------------------- the gate
def run_gate(
    lake: "Lake",
    config: "Config",
    day: date,
    *,
    suites_dir: str | os.PathLike | None = None,
    record: bool = True,
    data_docs: bool = True,
) -> GateVerdict:
    """Validate everything the nightly run wrote for ``day`` and return the verdict.

    ``record``: write the results to ``ops.quality_results`` (partition ``ds = day``, replaced on a
    rerun, so the table holds the latest gate run per date; earlier runs stay in the Delta
    history). ``data_docs``: build the GX Data Docs of this run under ``<lake>/_quality/data_docs/ds=D/``.
    Raises :class:`QualityError` when a suite is malformed; a table that does not exist yet
    fails its schema check (block) rather than raising."""
    import pandas as pd

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    t0 = time.time()
    run_at = datetime.now(timezone.utc)
    suites = load_suites(suites_dir)
    q = config.quality
    tables = sorted({s["meta"]["table"] for s in suites.values()} - {KPI_SUITE})
    versions = {t: lake.version(t) for t in tables}
    # GX builds the site on a local filesystem: on an object store, in a temporary folder that is
    # uploaded to the same place afterwards
    from reelhouse.objectstore import is_object_store_uri, join, upload_dir

    site_dir = docs_dir(lake.root, day)
    build_dir = tempfile.mkdtemp(prefix="reelhouse-data-docs-") if is_object_store_uri(site_dir) else site_dir
    ctx = _gx_context(Path(build_dir) if data_docs else None)
    declared = declared_coverage(config.paths.landing, [day - timedelta(days=k) for k in range(q.window_days + 1)])
    results: list[CheckResult] = []
    docs_ids: list = []
    rows: dict[str, int] = {}
    frames: dict[str, "pd.DataFrame"] = {}
    not_provided: list[str] = []
    for name in sorted(suites, key=lambda n: (n == KPI_SUITE, n)):
        suite = suites[name]
        meta = suite["meta"]
        table = meta["table"]
        if name == KPI_SUITE:
            frame, params = daily_kpis(lake, config, day, versions)
            results += _run_suite(ctx, suite, frame, params, table, None, docs_ids=docs_ids)
            results += _provided_fields(frame, table, name)
            not_provided = [r.column for r in results if r.expectation_type == "optional_field_provided"
                            and not json.loads(r.observed_value or "{}").get("provided", True)]
            rows[table] = len(frame)
            continue
        version = versions[table]
        results.append(schema_check(lake, table, name, version))
        date_col = meta["date_column"]
        frame = partition_frame(lake, table, date_col, day, referenced_columns(suite), version)
        frames[table] = frame
        rows[table] = len(frame)
        vol = meta.get("volume") or {"kind": "event"}
        counts = partition_row_counts(lake, table, date_col, version=version)
        required = bool(meta.get("required_daily"))
        bounds = dict(window_days=q.window_days, band=q.volume_band, min_history_days=q.volume_min_history_days,
                      partial_share=q.partial_day_share, max_ratio=q.volume_max_ratio,
                      coverage={d: c.share for d, c in declared.items()})
        params: dict[str, Any] = {}
        if vol.get("kind") == "rolling":
            # a rolling-window table grows while the lake is younger than its window: check the
            # day's active entities, or (without an activity column) only full-window days' rows
            if vol.get("active_column"):
                lo, hi = (1 if required else 0), None
                window = [day - timedelta(days=k) for k in range(0, q.window_days + 1)]
                active = active_entity_counts(lake, table, date_col, vol["active_column"], window, version=version)
                a_lo, a_hi, _ = volume_bounds(active, day, required=False, **bounds)
                params.update(active_min_rows=a_lo, active_max_rows=a_hi)
                frame["active_today"] = (frame[vol["active_column"]].fillna(0) > 0).astype("int64")
            else:
                first = first_partition(counts)
                full_from = first + timedelta(days=int(vol.get("window_days", 1)) - 1) if first else None
                lo, hi, _ = volume_bounds(counts, day, required=required, history_from=full_from, **bounds)
        else:
            lo, hi, _ = volume_bounds(counts, day, required=required, **bounds)
        params.update({
            "volume_min_rows": lo, "volume_max_rows": hi,
            # dates go to pandas as datetime64: compare with Timestamps, not datetime.date
            "on_date": [pd.Timestamp(day)], "latest_event_date": pd.Timestamp(day + timedelta(days=1)),
            "min_on_date_share": q.min_on_date_share,
            "top_n": config.trends.top_n,
            "top_k_interests": config.features.top_k_interests,
            # point-in-time: every feature row of ds is stamped with the end of ds
            "feature_time": [pd.Timestamp(datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc))],
            "max_quarantine_ratio": config.ingest.max_quarantine_ratio,
        })
        if table == "silver.video_hashtags":
            frame["video_in_silver_videos"] = video_in_silver_videos(lake, frame["video_id"], versions.get("silver.videos"))
        results += _run_suite(ctx, suite, frame, params, table, version, docs_ids=docs_ids)
    status: Status = "pass"
    if any(not r.success and r.severity == "block" for r in results):
        status = "block"
    elif any(not r.success for r in results):
        status = "warn"
    docs = None
    if data_docs:
        ctx.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=docs_ids)
        if (Path(build_dir) / "index.html").exists():
            if build_dir != site_dir:
                upload_dir(build_dir, site_dir)
            docs = join(site_dir, "index.html")
    if build_dir != site_dir:
        shutil.rmtree(build_dir, ignore_errors=True)
    verdict = GateVerdict(date=day, status=status, results=results, versions=versions, rows=rows, docs_path=docs,
                          run_id=run_at.isoformat(timespec="seconds"), not_provided=not_provided,
                          coverage=declared[day].describe() if day in declared else None)
    if record:
        write_results(lake, verdict, validated_at=run_at)
    verdict.seconds = round(time.time() - t0, 3)
    return verdict


def write_results(lake: "Lake", verdict: GateVerdict, *, validated_at: datetime) -> None:
    """Replace partition ``ds = verdict.date`` of ``ops.quality_results`` with the verdict's rows
    (one Delta commit, application transaction ``reelhouse.gate.<date>``)."""
    spec = get_table(RESULTS_TABLE)
    rows = [{
        "table_name": r.table, "suite": r.suite, "delta_version": r.delta_version, "expectation": r.expectation,
        "expectation_type": r.expectation_type, "column_name": r.column, "success": r.success, "severity": r.severity,
        "observed_value": r.observed_value, "details": r.details, "verdict": verdict.status, "run_id": verdict.run_id,
        "validated_at": validated_at, "ds": verdict.date,
    } for r in verdict.results]
    table = pa.Table.from_pylist(rows, schema=spec.arrow_schema())
    from reelhouse.lake.locks import lake_lock

    with lake_lock(lake.root, f"quality gate {verdict.date}", log=lambda m: None):
        lake.write_arrow(table, RESULTS_TABLE, mode="overwrite_partitions", partitions={"ds": [verdict.date]},
                         app_id=f"reelhouse.gate.{verdict.date.isoformat()}",
                         app_version=int(validated_at.timestamp() * 1000), metadata={"verdict": verdict.status})


def gate_status(lake: "Lake", day: date) -> Status | None:
    """The recorded gate verdict for ``day`` (partition ``ds = day`` of ``ops.quality_results``):
    ``block`` when any recorded row says block, else ``warn`` when any says warn, else ``pass``;
    None when the gate never ran for the date (or the table does not exist yet). Downstream steps
    (publish, model promotion) go ahead only on ``pass`` or ``warn``."""
    if not lake.exists(RESULTS_TABLE):
        return None
    t = lake.read_arrow(RESULTS_TABLE, where={"ds": day}, columns=["verdict"])
    verdicts = set(t.column("verdict").to_pylist())
    if not verdicts:
        return None
    return "block" if "block" in verdicts else ("warn" if "warn" in verdicts else "pass")


def latest_verdicts(lake: "Lake", *, limit: int = 30) -> "pd.DataFrame":
    """The recorded verdict per date, newest first: ds, verdict, checks, failed, blocking, run_id.
    Empty frame when the gate never ran."""
    import pandas as pd

    if not lake.exists(RESULTS_TABLE):
        return pd.DataFrame(columns=["ds", "verdict", "checks", "failed", "blocking", "run_id"])
    df = lake.read_pandas(RESULTS_TABLE, columns=["ds", "verdict", "success", "severity", "run_id"])
    df["failed"] = ~df["success"]
    df["blocking"] = df["failed"] & (df["severity"] == "block")
    out = df.groupby(["ds", "verdict", "run_id"], as_index=False).agg(
        checks=("success", "size"), failed=("failed", "sum"), blocking=("blocking", "sum"))
    return out.sort_values("ds", ascending=False).head(limit).reset_index(drop=True)
