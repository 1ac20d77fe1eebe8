"""Ingest benchmark: landing JSON Lines → committed silver, against a DuckDB reference.

For each size N (events for one landing date) this script, in one process:

1. generates N events into a fresh temporary landing folder with :func:`reelhouse.sources.generator.generate`
   (``start=2024-06-01, days=1, events_per_day=N, seed=1``; gzip JSON Lines with the generator's
   default defects: ~0.2 % bad lines, 1 % duplicate copies, one redelivered file) and times it;
2. runs the project's ingest (:func:`spark_jobs.ingest.run`) for that date into a fresh temporary
   lake (:class:`reelhouse.lake.Lake`, delta-rs engine) and times the whole ``run`` — landing to
   committed bronze/quarantine/silver/dimension tables and the reconciliation — excluding the
   SparkSession start-up, which is measured once and reported separately. Wall time per phase
   is recorded beside it: the landing-file listing/gzip check, timed here, plus ingest's own
   ``IngestReport.phase_seconds`` (each table commit and each Spark action outside commits);
3. runs a DuckDB reference over the SAME landing files: ``read_json`` (newline-delimited, explicit
   columns, ``ignore_errors``) → typed ``event_time`` → one row per ``event_id`` → one Parquet file.

The DuckDB reference does much less than ingest (no contract validation or quarantine, no bronze
copy, no hashtag normalisation, no Delta commit, no reconciliation, no cross-day dedupe), so the
ratio ``ingest seconds / DuckDB seconds`` is an upper bound on reelhouse's overhead.

Each step also records how many cores *other* processes on the machine used meanwhile (from
``/proc``); the report flags disturbed steps. The JSON records the commit measured and any
uncommitted changes to ``spark_jobs/`` or ``reelhouse/``.

Events/s for ingest and DuckDB is *lines read* (every landed line, bad lines and duplicate copies
included) per second; for the generator it is valid distinct events per second.

Usage (from the project root)::

    .venv/bin/python bench/bench_ingest.py                        # 1M and 5M events
    .venv/bin/python bench/bench_ingest.py --quick                # 200k only (smoke check)
    .venv/bin/python bench/bench_ingest.py --sizes 2000000 --out /tmp/ingest.json

Configuration: ``REELHOUSE_ENV=local`` with the landing and lake paths pointed at temporary
folders (``REELHOUSE__PATHS__LANDING`` / ``REELHOUSE__PATHS__LAKE``), the delta-rs lake engine and
``spark.driver.memory`` 8g unless ``REELHOUSE__SPARK__CONF__spark.driver.memory`` is already set.
Temporary folders are removed at the end (``--tmp-dir`` chooses where they go).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared helpers
from _common import (  # noqa: E402
    REPO,
    CpuMonitor,
    PhaseTimer,
    code_version,
    contention_warning,
    fmt_int,
    format_rows,
    header_lines,
    lake_config,
    local_env,
    machine_info,
    rate,
    spark_settings,
    sql_str,
    start_spark,
)

BENCH_DATE = date(2024, 6, 1)
SEED = 1
DEFAULT_SIZES = (1_000_000, 5_000_000)
QUICK_SIZES = (200_000,)
DEFAULT_OUT = REPO / "bench" / "results" / "ingest.json"
TARGET_EVENTS_PER_SECOND = 50_000

DUCKDB_NOTE = (
    "The DuckDB reference reads the same landing files but does less: no contract validation or "
    "quarantine, no bronze copy, no hashtag normalisation, no Delta commit, no reconciliation, no "
    "cross-day dedupe. The ratio (ingest s / DuckDB s) is an upper bound on reelhouse's overhead."
)

WARMUP_EVENTS = 50_000
ORDER_NOTE = (
    f"Sizes run in order in one Spark JVM, after a warm-up ingest of {WARMUP_EVENTS:,} events (JVM JIT, "
    "Python worker start, first shuffle; its time is reported as warmup_seconds). A nightly "
    "spark-submit pays that warm-up once per date: add warmup_seconds to a cold-run estimate."
)
LISTING = "list + gzip-check landing files"
UNACCOUNTED = "rest of run (report reads, set-up)"

# The contract fields the DuckDB reference keeps, with the type it reads them as. event_time is
# read as text (RFC 3339 or epoch-ms digits) and typed in SQL.
_DUCKDB_COLUMNS = {
    "event_id": "VARCHAR",
    "event_type": "VARCHAR",
    "event_time": "VARCHAR",
    "user_id": "VARCHAR",
    "video_id": "VARCHAR",
    "creator_id": "VARCHAR",
    "play_time_ms": "BIGINT",
    "video_duration_ms": "BIGINT",
    "hashtags": "VARCHAR[]",
    "sound_id": "VARCHAR",
    "caption": "VARCHAR",
    "region": "VARCHAR",
    "platform": "VARCHAR",
    "app_version": "VARCHAR",
}


# ----------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def timed_landing_listing(timer: PhaseTimer) -> Iterator[None]:
    """Time :func:`reelhouse.sources.landing.list_landing_files` (listing + gzip integrity check), which
    ingest imports at call time."""
    import reelhouse.sources.landing as landing

    original = landing.list_landing_files

    def wrapper(*args, **kwargs):
        with timer.phase(LISTING):
            return original(*args, **kwargs)

    landing.list_landing_files = wrapper
    try:
        yield
    finally:
        landing.list_landing_files = original


# ----------------------------------------------------------------------------- the three steps
def bench_generate(landing: Path, n: int) -> tuple[dict[str, Any], Any]:
    from reelhouse.sources.generator import generate

    t0 = time.perf_counter()
    summary = generate(landing, start=BENCH_DATE, days=1, events_per_day=n, seed=SEED)
    secs = time.perf_counter() - t0
    day = BENCH_DATE.isoformat()
    landed_bytes = sum(p.stat().st_size for p in (landing / "events").rglob("*") if p.is_file())
    return {
        "seconds": round(secs, 3),
        "events": summary.events_total,
        "lines": summary.lines_per_date[day],
        "files": summary.files_written,
        "landed_bytes": landed_bytes,
        "events_per_second": rate(summary.events_total, secs),
        "lines_per_second": rate(summary.lines_per_date[day], secs),
    }, summary


def bench_ingest(spark, root: Path, landing: Path, summary) -> dict[str, Any]:
    from reelhouse.lake import Lake
    from spark_jobs.ingest import run

    cfg = lake_config(root, landing)

    timer = PhaseTimer()
    lake = Lake(cfg.paths.lake, spark=spark)  # the delta-rs engine (the default)
    with timed_landing_listing(timer):
        t0 = time.perf_counter()
        report = run(spark, lake, cfg, BENCH_DATE)
        secs = time.perf_counter() - t0
    # ingest's own phase timings (one per table commit and per action outside commits) + ours
    phases = {k: round(v, 3) for k, v in timer.seconds.items()}
    phases.update(getattr(report, "phase_seconds", None) or {})
    phases[UNACCOUNTED] = round(max(0.0, secs - sum(phases.values())), 3)

    day = BENCH_DATE.isoformat()
    expected = {
        "lines_read": summary.lines_per_date[day],
        "rows_kept": summary.events_per_date[day],
        "duplicates_dropped": summary.duplicates,
        "rows_quarantined": sum(summary.bad_lines_by_reason.values()) + len(summary.corrupt_files),
    }
    got = {k: getattr(report, k) for k in expected}
    return {
        "seconds": round(secs, 3),
        "report_seconds": report.seconds,
        "lines_read": report.lines_read,
        "rows_kept": report.rows_kept,
        "duplicates_dropped": report.duplicates_dropped,
        "rows_quarantined": report.rows_quarantined,
        "files": report.files,
        "balanced": report.balanced,
        "matches_ground_truth": got == expected,
        "ground_truth": expected,
        "message": report.message,
        "events_per_second": rate(report.lines_read, secs),
        "phases_seconds": phases,
    }


def bench_duckdb(root: Path, landing: Path, lines: int) -> dict[str, Any]:
    import duckdb

    glob = str(landing / "events" / f"date={BENCH_DATE.isoformat()}" / "*" / "*.jsonl.gz")
    out_dir = root / "duckdb"
    out_dir.mkdir()
    out = out_dir / "events.parquet"
    cols = "{" + ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in _DUCKDB_COLUMNS.items()) + "}"
    query = f"""
        SELECT
            event_id, event_type,
            CASE WHEN regexp_full_match(event_time, '[0-9]+')
                 THEN epoch_ms(try_cast(event_time AS BIGINT))::TIMESTAMPTZ
                 ELSE try_cast(event_time AS TIMESTAMPTZ) END AS event_time,
            user_id, video_id, creator_id, play_time_ms, video_duration_ms, hashtags, sound_id,
            caption, upper(region) AS region, platform, app_version, filename AS _source_file
        FROM read_json({sql_str(glob)}, format = 'newline_delimited', columns = {cols},
                       ignore_errors = true, filename = true)
        WHERE event_id IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY filename) = 1
    """
    con = duckdb.connect(config={"temp_directory": str(root / "duckdb_tmp")})
    try:
        con.execute("SET TimeZone = 'UTC'")
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        t0 = time.perf_counter()
        rows = con.execute(f"COPY ({query}) TO {sql_str(str(out))} (FORMAT parquet, COMPRESSION snappy)").fetchone()[0]
        secs = time.perf_counter() - t0
    finally:
        con.close()
    return {
        "seconds": round(secs, 3),
        "rows_written": int(rows),
        "parquet_bytes": out.stat().st_size,
        "threads": int(threads),
        "events_per_second": rate(lines, secs),
    }


# ----------------------------------------------------------------------------- report
def format_table(results: list[dict[str, Any]]) -> str:
    header = ["size", "lines", "generate s", "generate ev/s", "ingest s", "ingest ev/s",
              "duckdb s", "duckdb ev/s", "ratio", "balanced"]
    rows = [header]
    for r in results:
        g, i, d = r["generate"], r["ingest"], r["duckdb"]
        rows.append([
            fmt_int(r["size"]), fmt_int(g["lines"]), f"{g['seconds']:.1f}", fmt_int(g["events_per_second"]),
            f"{i['seconds']:.1f}", fmt_int(i["events_per_second"]), f"{d['seconds']:.1f}",
            fmt_int(d["events_per_second"]), f"{r['ratio']:.1f}x", str(i["balanced"]),
        ])
    return format_rows(rows)


def print_report(doc: dict[str, Any]) -> None:
    print()
    print("\n".join(header_lines(doc)))
    print(f"SparkSession start-up (excluded below): {doc['spark_startup_seconds']:.1f} s")
    print()
    print(format_table(doc["results"]))
    print()
    for r in doc["results"]:
        i = r["ingest"]
        verdict = "meets" if r["meets_target"] else "BELOW"
        print(f"{fmt_int(r['size'])} events: ingest kept {fmt_int(i['rows_kept'])}, duplicates "
              f"{fmt_int(i['duplicates_dropped'])}, quarantined {fmt_int(i['rows_quarantined'])} "
              f"(matches generator ground truth: {i['matches_ground_truth']}); {verdict} the "
              f"{fmt_int(doc['target_events_per_second'])} ev/s target")
        for name, secs in sorted(i["phases_seconds"].items(), key=lambda kv: -kv[1]):
            print(f"    {secs:8.1f} s  {name}")
    print()
    print("note: " + doc["note"])
    print("note: " + ORDER_NOTE)
    warning = contention_warning((f"{step} {fmt_int(r['size'])}", r[step].get("other_processes_cores"))
                                 for r in doc["results"] for step in ("generate", "ingest", "duckdb"))
    if warning:
        print(warning)
    print(f"whole benchmark: {doc['wall_seconds']:.0f} s; results: {doc['out']}")


# ----------------------------------------------------------------------------- main
def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}") from exc
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers, got {text!r}")
    return sizes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_ingest", description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES),
                   help="comma-separated events per day (default: 1000000,5000000)")
    p.add_argument("--quick", action="store_true", help="200k events only (smoke check); overrides --sizes")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT.relative_to(REPO)})")
    p.add_argument("--no-warmup", action="store_true", help="skip the warm-up ingest (the first size then pays JVM warm-up)")
    p.add_argument("--tmp-dir", default=None, help="where the temporary landing/lake folders go (default: system temp)")
    args = p.parse_args(argv)
    sizes = list(QUICK_SIZES) if args.quick else args.sizes

    wall0 = time.perf_counter()
    code = code_version()  # before anything is imported: what this run measures
    started = datetime.now(timezone.utc)
    local_env()

    tmp_root = Path(tempfile.mkdtemp(prefix="reelhouse-bench-", dir=args.tmp_dir))
    spark = None
    results: list[dict[str, Any]] = []
    monitor = CpuMonitor()
    try:
        cfg = lake_config(tmp_root)
        spark, startup = start_spark(cfg, "reelhouse-bench-ingest")

        warmup = None
        if not args.no_warmup:
            t_w = time.perf_counter()
            w_root = tmp_root / "warmup"
            _w_summary = bench_generate(w_root / "landing", WARMUP_EVENTS)[1]
            t_w = time.perf_counter()
            bench_ingest(spark, w_root, w_root / "landing", _w_summary)
            warmup = round(time.perf_counter() - t_w, 1)
            shutil.rmtree(w_root, ignore_errors=True)
            print(f"warm-up ingest of {fmt_int(WARMUP_EVENTS)} events: {warmup:.1f} s", flush=True)

        for n in sizes:
            root = tmp_root / f"n{n}"
            landing = root / "landing"
            print(f"[{fmt_int(n)}] generating ...", flush=True)
            s0 = monitor.snapshot()
            gen, summary = bench_generate(landing, n)
            gen["other_processes_cores"] = monitor.other_cores(s0, monitor.snapshot())
            print(f"[{fmt_int(n)}] generated {fmt_int(gen['lines'])} lines in {gen['seconds']:.1f} s; ingesting ...", flush=True)
            s0 = monitor.snapshot()
            ing = bench_ingest(spark, root, landing, summary)
            ing["other_processes_cores"] = monitor.other_cores(s0, monitor.snapshot())
            print(f"[{fmt_int(n)}] ingested in {ing['seconds']:.1f} s ({fmt_int(ing['events_per_second'])} ev/s, "
                  f"balanced={ing['balanced']}); DuckDB reference ...", flush=True)
            s0 = monitor.snapshot()
            duck = bench_duckdb(root, landing, ing["lines_read"])
            duck["other_processes_cores"] = monitor.other_cores(s0, monitor.snapshot())
            print(f"[{fmt_int(n)}] DuckDB in {duck['seconds']:.1f} s", flush=True)
            results.append({
                "size": n,
                "generate": gen,
                "ingest": ing,
                "duckdb": duck,
                "ratio": round(ing["seconds"] / duck["seconds"], 2) if duck["seconds"] > 0 else None,
                "balanced": ing["balanced"],
                "meets_target": ing["events_per_second"] >= TARGET_EVENTS_PER_SECOND,
            })
            shutil.rmtree(root, ignore_errors=True)  # free the disk before the next size

        doc = {
            "benchmark": "ingest",
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - wall0, 1),
            "out": str(args.out),
            "machine": machine_info(("duckdb",)),
            "code": code,
            "settings": {
                "landing_date": BENCH_DATE.isoformat(),
                "seed": SEED,
                **spark_settings(spark, cfg),
            },
            "spark_startup_seconds": round(startup, 3),
            "warmup_seconds": warmup,
            "warmup_events": None if warmup is None else WARMUP_EVENTS,
            "target_events_per_second": TARGET_EVENTS_PER_SECOND,
            "note": DUCKDB_NOTE,
            "order_note": ORDER_NOTE,
            "results": results,
        }
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(tmp_root, ignore_errors=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print_report(doc)
    return 0 if all(r["balanced"] and r["ingest"]["matches_ground_truth"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
