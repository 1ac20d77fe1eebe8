"""Quality-gate benchmark: the data-quality gate's cost against the gold compute it guards.

The gate (:func:`reelhouse.quality.gate.run_gate`) runs every Great Expectations suite of
``expectations/`` over the partitions one date wrote and returns one verdict.

On one generated day of N events (``--events``, default 5M; landing date ``2024-06-01``, seed 1):

1. generate the day into a fresh temporary landing folder (:func:`reelhouse.sources.generator.generate`,
   the generator's default delivery defects) and ingest it with ``run_date(d, steps=["ingest"])``
   — both timed and reported, not compared;
2. run the gold steps ``run_date(d, steps=["daily_stats"])``, ``["trends"]`` and ``["features"]``,
   each timed: **gold seconds** = daily_stats + trends + features (every table the gate validates);
3. run the quality gate :func:`reelhouse.quality.gate.run_gate` for the day three times:

   * run 1 — every suite of ``expectations/``, Data Docs built, results recorded in
     ``ops.quality_results``: what the nightly ``quality_gate`` task does. It is the first gate of
     this process, so it also pays importing Great Expectations and creating the file GX context
     under ``<lake>/_quality/gx`` (the Airflow task, a fresh process, pays that every night; the
     import alone is also timed in a fresh interpreter and reported);
   * run 2 — the same again, warm (modules imported, the GX project exists; the ``ds`` partition of
     ``ops.quality_results`` is replaced);
   * run 3 — ``data_docs=False, record=False``: validation only, so run 2 − run 3 is the cost of
     the Data Docs build and the results commit.

   Each run is broken down by wrapping functions of :mod:`reelhouse.quality.gate` with timers for its
   duration: ``partition_frame`` (a table's partition, only the suite's columns, delta-rs → pandas),
   ``daily_kpis`` (the one-row KPI frame: reconciliation sums, Delta-log row counts, engagement
   rates from gold), ``video_in_silver_videos`` (the referential-integrity column), ``schema_check``
   and ``partition_row_counts`` (Delta log only), ``_run_suite`` (the GX checkpoint over a frame),
   ``_gx_context`` (import + context), the context's ``build_data_docs`` and ``write_results``.
   Only the outermost wrapped call counts (the row counts ``daily_kpis`` makes are part of its
   time), so the phases add up; whatever is left is reported as "other". The per-suite table gives
   each suite's rows validated, checks, failed checks, and its load / Delta-log / GX seconds.

Figures: **gate/gold** = gate seconds / gold seconds (runs 1 and 2); **rows validated** = Σ of the
verdict's ``rows`` (every row of each table's partition for the date — the gate validates in full,
no sampling — plus the one KPI row); **rows/s** = rows validated / gate seconds. The verdict status
of each run is reported (the generated day has no history, so volume bands and drift are not
applied); the exit status is 1 when the runs disagree. The gate reads the lake through delta-rs
without Spark, as the DAG's task does (``Lake.from_config(cfg)``); ingest and gold run in one
SparkSession (start-up reported separately) in which ingest also pays JVM/JIT warm-up, whereas the
nightly runs each gold step as its own ``spark-submit``.

Usage (from the project root)::

    .venv/bin/python bench/bench_quality.py                   # 5M-event day
    .venv/bin/python bench/bench_quality.py --quick           # 300k-event day (smoke check)
    .venv/bin/python bench/bench_quality.py --events 2000000 --out /tmp/quality.json

Before measuring, the script waits (polling every 30 s, up to ``--max-wait`` seconds, default 20 min)
until no other ``bench_ingest.py`` / ``bench_gold.py`` / ``bench_quality.py`` process is running: the
machine has 2 cores. Each step records how many cores *other* processes used meanwhile (from
``/proc``) and the report flags disturbed steps. Configuration as in ``bench_gold.py`` (helpers in
``bench/_common.py``): ``REELHOUSE_ENV=local`` (Spark ``local[2]``), the delta-rs lake engine,
landing/lake paths in temporary folders (removed at the end; ``--tmp-dir``), ``spark.driver.memory``
8g unless ``REELHOUSE__SPARK__CONF__spark.driver.memory`` is set. The JSON records the commit
measured and any uncommitted changes to ``spark_jobs/``, ``reelhouse/`` or ``expectations/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared helpers
from _common import (  # noqa: E402
    DEFAULT_MAX_WAIT,
    REPO,
    CpuMonitor,
    code_version,
    contention_warning,
    fmt_int,
    format_rows,
    generate_days,
    header_lines,
    lake_config,
    local_env,
    machine_info,
    positive_int,
    rate,
    run_pipeline,
    spark_settings,
    start_spark,
    wait_for_quiet,
)

SEED = 1
BENCH_DATE = date(2024, 6, 1)
DEFAULT_EVENTS = 5_000_000
QUICK_EVENTS = 300_000
DEFAULT_OUT = REPO / "bench" / "results" / "quality.json"
GOLD_STEPS = ("daily_stats", "trends", "features")
#: the three gate runs: name, run_gate keyword arguments, description
GATE_RUNS = (
    ("run 1", {"data_docs": True, "record": True}, "cold: GX import + context, Data Docs, record"),
    ("run 2", {"data_docs": True, "record": True}, "warm: Data Docs, record"),
    ("run 3", {"data_docs": False, "record": False}, "warm: validation only (no Data Docs, no record)"),
)
#: breakdown phases, in report order
PH_CONTEXT = "GX import + context (_gx_context)"
PH_LOAD = "load partitions, delta-rs -> pandas (partition_frame)"
PH_KPIS = "day KPIs (daily_kpis)"
PH_KNOWN = "referential integrity (video_in_silver_videos)"
PH_LOG = "Delta log: schema + row counts (schema_check, partition_row_counts)"
PH_GX = "GX validation (_run_suite)"
PH_DOCS = "Data Docs build"
PH_RECORD = "record ops.quality_results (write_results)"
PH_OTHER = "other (suites, versions, verdict)"
PHASES = (PH_CONTEXT, PH_LOAD, PH_KPIS, PH_KNOWN, PH_LOG, PH_GX, PH_DOCS, PH_RECORD, PH_OTHER)

GOLD_NOTE = (
    "Gold and ingest run in one SparkSession (ingest pays JVM/JIT warm-up); the nightly runs each "
    "gold step as its own spark-submit, paying JVM start-up per step, so gate/gold here is an upper "
    "bound on the gate's share of the nightly's gold + gate time."
)
GATE_NOTE = (
    "The gate reads each table's partition for the date (only the columns its suite names) through "
    "delta-rs into pandas and validates every row; run 1 is what a fresh process (the Airflow task) "
    "pays, run 2 the same work warm, run 3 without the Data Docs build and the ops.quality_results commit."
)


# ----------------------------------------------------------------------------- gate probes
class GateProbe:
    """Wall seconds of the wrapped :mod:`reelhouse.quality.gate` functions during one gate run, per
    phase and per suite (or table). Only outermost wrapped calls count: a wrapped call made inside
    another one is part of the caller's time, so the phases never overlap."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        #: (phase, suite or table) -> seconds
        self.by_key: dict[tuple[str, str], float] = {}
        #: suite -> rows of the frame GX validated
        self.suite_rows: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self._depth = 0

    def wrap(self, phase: str, fn: Callable[..., Any], key: Callable[..., str | None] = lambda *a, **k: None):
        """``fn`` timed under ``phase``, attributed to ``key(*args, **kwargs)`` when not None."""

        def wrapper(*args, **kwargs):
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                secs = time.perf_counter() - t0
                self._depth -= 1
                self.phases[phase] = self.phases.get(phase, 0.0) + secs
                self.calls[phase] = self.calls.get(phase, 0) + 1
                k = key(*args, **kwargs)
                if k is not None:
                    self.by_key[(phase, k)] = self.by_key.get((phase, k), 0.0) + secs

        return wrapper


@contextlib.contextmanager
def probed_gate(probe: GateProbe) -> Iterator[None]:
    """Replace the functions ``run_gate`` looks up in :mod:`reelhouse.quality.gate` with timed wrappers
    (restored on exit). ``build_data_docs`` is wrapped on the context ``_gx_context`` returns."""
    import reelhouse.quality.gate as q

    def run_suite_key(ctx, suite, frame, *args, **kwargs):
        probe.suite_rows[suite["name"]] = probe.suite_rows.get(suite["name"], 0) + len(frame)
        return suite["name"]

    def gx_context(*args, **kwargs):
        ctx = original["_gx_context"](*args, **kwargs)
        try:
            ctx.build_data_docs = probe.wrap(PH_DOCS, ctx.build_data_docs)
        except Exception as exc:  # pragma: no cover - then the build lands in "other"
            print(f"note: could not time build_data_docs ({exc!r}); it is counted in 'other'", flush=True)
        return ctx

    patches: dict[str, Callable[..., Any]] = {
        "_gx_context": probe.wrap(PH_CONTEXT, gx_context),
        "partition_frame": probe.wrap(PH_LOAD, q.partition_frame, lambda lake, table, *a, **k: table),
        "daily_kpis": probe.wrap(PH_KPIS, q.daily_kpis, lambda *a, **k: q.KPI_SUITE),
        "video_in_silver_videos": probe.wrap(PH_KNOWN, q.video_in_silver_videos, lambda *a, **k: "silver.video_hashtags"),
        "schema_check": probe.wrap(PH_LOG, q.schema_check, lambda lake, table, *a, **k: table),
        "partition_row_counts": probe.wrap(PH_LOG, q.partition_row_counts, lambda lake, table, *a, **k: table),
        "_run_suite": probe.wrap(PH_GX, q._run_suite, run_suite_key),
        "write_results": probe.wrap(PH_RECORD, q.write_results),
    }
    original = {name: getattr(q, name) for name in patches}
    for name, fn in patches.items():
        setattr(q, name, fn)
    try:
        yield
    finally:
        for name, fn in original.items():
            setattr(q, name, fn)


def gx_import_seconds() -> float | None:
    """Seconds to ``import great_expectations`` in a fresh interpreter (None if it fails)."""
    code = ("import time; t = time.perf_counter(); import great_expectations; "
            "print(time.perf_counter() - t)")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "GX_ANALYTICS_ENABLED": "False"})
        return round(float(out.stdout.strip().splitlines()[-1]), 3) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def tree_size(path: Path) -> tuple[int, int]:
    """(files, bytes) under ``path`` (0, 0 when it does not exist)."""
    files = [p for p in path.rglob("*") if p.is_file()] if path.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def timed_gate(lake, cfg, d: date, kwargs: dict[str, bool], monitor: CpuMonitor) -> dict[str, Any]:
    """One ``run_gate`` for ``d`` with probes: wall seconds, the verdict's figures, the phase and
    per-suite breakdown, and the contention meanwhile."""
    import reelhouse.quality.gate as q

    probe = GateProbe()
    s0 = monitor.snapshot()
    with probed_gate(probe):
        t0 = time.perf_counter()
        verdict = q.run_gate(lake, cfg, d, **kwargs)
        secs = time.perf_counter() - t0
    other = monitor.other_cores(s0, monitor.snapshot())
    rows = sum(verdict.rows.values())
    phases = {ph: round(probe.phases.get(ph, 0.0), 3) for ph in PHASES if ph != PH_OTHER}
    phases[PH_OTHER] = round(max(0.0, secs - sum(probe.phases.values())), 3)

    suites = q.load_suites()
    per_suite: dict[str, Any] = {}
    for name in sorted(suites, key=lambda n: (n == q.KPI_SUITE, n)):
        table = suites[name]["meta"]["table"]
        checks = [r for r in verdict.results if r.suite == name]

        def at(phase: str, *keys: str) -> float:
            return round(sum(probe.by_key.get((phase, k), 0.0) for k in keys), 3)

        per_suite[name] = {
            "table": table,
            "rows": probe.suite_rows.get(name, verdict.rows.get(table, 0)),
            "checks": len(checks),
            "failed": sum(not r.success for r in checks),
            "failed_blocking": sum(not r.success and r.severity == "block" for r in checks),
            "load_seconds": at(PH_LOAD, table) + at(PH_KPIS, name) + at(PH_KNOWN, table),
            "log_seconds": at(PH_LOG, table),
            "gx_seconds": at(PH_GX, name),
        }
    return {
        "kwargs": kwargs,
        "seconds": round(secs, 3),
        "verdict_seconds": verdict.seconds,
        "status": verdict.status,
        "checks": len(verdict.results),
        "failed": len(verdict.failures),
        "failures": [{"table": r.table, "severity": r.severity, "expectation": r.expectation,
                      "observed_value": r.observed_value} for r in verdict.failures],
        "rows_validated": rows,
        "rows_per_table": dict(verdict.rows),
        "rows_per_second": rate(rows, secs),
        "versions": dict(verdict.versions),
        "docs_built": verdict.docs_path is not None,
        "phases_seconds": phases,
        "phase_calls": dict(probe.calls),
        "suites": per_suite,
        "other_processes_cores": other,
    }


# ----------------------------------------------------------------------------- the benchmark
def bench_day(spark, tmp_root: Path, n: int, monitor: CpuMonitor) -> dict[str, Any]:
    """Generate and ingest the day, time the gold steps, then the three gate runs."""
    from reelhouse.lake import Lake

    root = tmp_root / "day"
    cfg = lake_config(root)
    tag = f"[{fmt_int(n)} events]"
    print(f"{tag} generating ...", flush=True)
    s0 = monitor.snapshot()
    gen = generate_days(root, BENCH_DATE, 1, n, seed=SEED)
    gen["other_processes_cores"] = monitor.other_cores(s0, monitor.snapshot())
    print(f"{tag} generated {fmt_int(gen['lines'])} lines in {gen['seconds']:.1f} s; ingesting ...", flush=True)
    s0 = monitor.snapshot()
    ingest_s = run_pipeline(spark, cfg, BENCH_DATE, ["ingest"])
    ingest = {"seconds": round(ingest_s, 3), "other_processes_cores": monitor.other_cores(s0, monitor.snapshot()),
              "lines_per_second": rate(gen["lines"], ingest_s)}
    ingest["silver_rows"] = Lake.from_config(cfg, spark).describe("silver.events")["rows"]
    print(f"{tag} ingested in {ingest_s:.1f} s ({fmt_int(ingest['silver_rows'])} silver rows)", flush=True)

    gold: dict[str, Any] = {}
    for step in GOLD_STEPS:
        s0 = monitor.snapshot()
        secs = run_pipeline(spark, cfg, BENCH_DATE, [step])
        gold[step] = {"seconds": round(secs, 3), "other_processes_cores": monitor.other_cores(s0, monitor.snapshot())}
        print(f"{tag} {step} in {secs:.1f} s", flush=True)
    gold_s = sum(gold[s]["seconds"] for s in GOLD_STEPS)

    gx_loaded_before = "great_expectations" in sys.modules
    gx_import = None if gx_loaded_before else gx_import_seconds()
    if gx_import is not None:
        print(f"{tag} import great_expectations in a fresh interpreter: {gx_import:.1f} s", flush=True)
    lake = Lake.from_config(cfg)  # as the DAG's quality_gate task: delta-rs reads, no Spark
    gate: dict[str, Any] = {}
    docs = (0, 0)
    for name, kwargs, what in GATE_RUNS:
        print(f"{tag} quality gate {name} ({what}) ...", flush=True)
        gate[name] = timed_gate(lake, cfg, BENCH_DATE, kwargs, monitor)
        gate[name]["description"] = what
        gate[name]["ratio_to_gold"] = round(gate[name]["seconds"] / gold_s, 3) if gold_s > 0 else None
        g = gate[name]
        print(f"{tag} gate {name}: {g['seconds']:.1f} s, {g['status']}, {g['checks']} checks "
              f"({g['failed']} failed), {fmt_int(g['rows_validated'])} rows", flush=True)
        if name == "run 1":
            docs = tree_size(Path(cfg.paths.lake) / "_quality" / "gx" / "uncommitted" / "data_docs")
    statuses = {g["status"] for g in gate.values()}
    result = {
        "events": n,
        "date": BENCH_DATE.isoformat(),
        "generate": gen,
        "ingest": ingest,
        "daily_stats": gold["daily_stats"],
        "trends": gold["trends"],
        "features": gold["features"],
        "gold_seconds": round(gold_s, 3),
        "gx_imported_before_gate": gx_loaded_before,
        "gx_import_seconds_fresh_interpreter": gx_import,
        "gate": gate,
        "data_docs_after_run_1": {"files": docs[0], "bytes": docs[1]},
        "status": gate["run 1"]["status"] if len(statuses) == 1 else "DIFFERS: " + ", ".join(sorted(statuses)),
        "consistent": len(statuses) == 1,
    }
    shutil.rmtree(root, ignore_errors=True)
    return result


# ----------------------------------------------------------------------------- report
def format_summary(r: dict[str, Any]) -> str:
    g1, g2, g3 = (r["gate"][name] for name, _, _ in GATE_RUNS)
    rows = [["events", "daily_stats s", "trends s", "features s", "gold s", "gate run 1 s", "gate run 2 s",
             "run 3 (no docs/record) s", "gate/gold run 1", "gate/gold run 2", "rows validated",
             "rows/s run 1", "rows/s run 2", "verdict"]]
    rows.append([
        fmt_int(r["events"]), f"{r['daily_stats']['seconds']:.1f}", f"{r['trends']['seconds']:.1f}",
        f"{r['features']['seconds']:.1f}", f"{r['gold_seconds']:.1f}", f"{g1['seconds']:.1f}", f"{g2['seconds']:.1f}", f"{g3['seconds']:.1f}",
        f"{g1['ratio_to_gold']:.2f}x", f"{g2['ratio_to_gold']:.2f}x", fmt_int(g1["rows_validated"]),
        fmt_int(g1["rows_per_second"]), fmt_int(g2["rows_per_second"]), r["status"],
    ])
    return format_rows(rows)


def format_phases(r: dict[str, Any]) -> str:
    names = [name for name, _, _ in GATE_RUNS]
    rows = [["phase", *(f"{n} s" for n in names)]]
    for ph in PHASES:
        rows.append([ph, *(f"{r['gate'][n]['phases_seconds'][ph]:.2f}" for n in names)])
    rows.append(["total (wall)", *(f"{r['gate'][n]['seconds']:.2f}" for n in names)])
    return format_rows(rows, left=1)


def format_suites(r: dict[str, Any]) -> str:
    g1, g2 = r["gate"]["run 1"], r["gate"]["run 2"]
    rows = [["suite", "rows", "checks", "failed", "load s (1/2)", "log s (1/2)", "GX s (1/2)"]]
    for name, s1 in g1["suites"].items():
        s2 = g2["suites"].get(name, {})
        pair = lambda k: f"{s1[k]:.2f} / {s2.get(k, 0.0):.2f}"  # noqa: E731
        rows.append([name, fmt_int(s1["rows"]), str(s1["checks"]), str(s1["failed"]),
                     pair("load_seconds"), pair("log_seconds"), pair("gx_seconds")])
    tot = lambda g, k: sum(s[k] for s in g["suites"].values())  # noqa: E731
    rows.append(["total", fmt_int(tot(g1, "rows")), str(tot(g1, "checks")), str(tot(g1, "failed")),
                 *(f"{tot(g1, k):.2f} / {tot(g2, k):.2f}" for k in ("load_seconds", "log_seconds", "gx_seconds"))])
    return format_rows(rows, left=1)


def print_report(doc: dict[str, Any]) -> None:
    r = doc["result"]
    print()
    print("\n".join(header_lines(doc)))
    print(f"SparkSession start-up (excluded below): {doc['spark_startup_seconds']:.1f} s; "
          f"waited {doc['wait']['waited_seconds']:.0f} s for other benchmarks")
    print()
    print(f"quality gate vs gold compute on one day ({r['date']}, no history)")
    gx = r["gx_import_seconds_fresh_interpreter"]
    print(f"   generate {r['generate']['seconds']:.1f} s ({fmt_int(r['generate']['lines'])} lines); "
          f"ingest {r['ingest']['seconds']:.1f} s ({fmt_int(r['ingest']['silver_rows'])} silver rows; not compared)"
          + (f"; import great_expectations (fresh interpreter) {gx:.1f} s" if gx is not None else ""))
    print()
    print(format_summary(r))
    print()
    print("gate phases (only the outermost timed call counts; 'other' = the rest of run_gate):")
    print(format_phases(r))
    print()
    print("per suite (run 1 / run 2; load = delta-rs -> pandas, or the KPI aggregates for ops.daily_kpis; "
          "log = schema + row counts from the Delta log):")
    print(format_suites(r))
    g1 = r["gate"]["run 1"]
    if g1["failures"]:
        print()
        print(f"failed checks (run 1, {r['status']}):")
        for f in g1["failures"]:
            print(f"    [{f['severity']}] {f['table']}: {f['expectation']} — observed {f['observed_value']}")
    d = r["data_docs_after_run_1"]
    print(f"Data Docs after run 1: {d['files']} files, {d['bytes'] / 2**20:.1f} MiB")
    print()
    print("note: " + doc["gold_note"])
    print("note: " + doc["gate_note"])
    measured = [("generate", r["generate"]), ("ingest", r["ingest"])] + [(s, r[s]) for s in GOLD_STEPS]
    measured += [(f"gate {name}", r["gate"][name]) for name, _, _ in GATE_RUNS]
    warning = contention_warning((name, x.get("other_processes_cores")) for name, x in measured)
    if warning:
        print(warning)
    if not r["consistent"]:
        print(f"WARNING: the gate runs disagree: {r['status']}")
    print(f"whole benchmark: {doc['wall_seconds']:.0f} s; results: {doc['out']}")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_quality", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=positive_int, default=DEFAULT_EVENTS,
                   help=f"events of the day (default {DEFAULT_EVENTS:_})")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:_} events (smoke check); overrides --events")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT.relative_to(REPO)})")
    p.add_argument("--tmp-dir", default=None, help="where the temporary landing/lake folders go (default: system temp)")
    p.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT,
                   help="seconds to wait for other running benchmarks before measuring (default 1200)")
    args = p.parse_args(argv)
    events = QUICK_EVENTS if args.quick else args.events

    wall0 = time.perf_counter()
    code = code_version(("spark_jobs", "reelhouse", "expectations"))  # before anything is imported
    started = datetime.now(timezone.utc)
    wait = wait_for_quiet(args.max_wait)
    local_env()

    tmp_root = Path(tempfile.mkdtemp(prefix="reelhouse-bench-quality-", dir=args.tmp_dir))
    spark = None
    monitor = CpuMonitor()
    try:
        cfg = lake_config(tmp_root / "unused")
        spark, startup = start_spark(cfg, "reelhouse-bench-quality")
        result = bench_day(spark, tmp_root, events, monitor)
        from reelhouse.quality.gate import load_suites

        doc = {
            "benchmark": "quality",
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - wall0, 1),
            "out": str(args.out),
            "machine": machine_info(("great_expectations", "pandas")),
            "code": code,
            "wait": wait,
            "settings": {
                "seed": SEED,
                **spark_settings(spark, cfg),
                "quality": asdict(cfg.quality),
                "max_quarantine_ratio": cfg.ingest.max_quarantine_ratio,
                "suites": sorted(load_suites()),
            },
            "spark_startup_seconds": round(startup, 3),
            "gold_note": GOLD_NOTE,
            "gate_note": GATE_NOTE,
            "result": result,
        }
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(tmp_root, ignore_errors=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print_report(doc)
    return 0 if result["consistent"] else 1


if __name__ == "__main__":
    sys.exit(main())
