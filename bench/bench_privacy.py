"""Erasure and compaction on a lake of many nights (issue 18's benchmark), in one run:

1. **build** (cached in ``--lake-dir``, reused by later runs): ``--days`` generated nights of
   ``--events-per-day`` events, every Spark step of the nightly per night (embedded: local[2],
   local disk, the delta-rs bridge), the landing files kept;
2. **erasure** of ``--users`` users picked at random (seeded) from ``silver.events``, on a fresh
   copy of the lake: ``reelhouse forget`` as the privacy DAG runs it (one batch, vacuum at once),
   seconds end to end and per step, files and bytes rewritten per table, landing files rewritten;
3. **compaction** of the same lake (another fresh copy): ``reelhouse maintain --steps optimize``
   (Z-order by the readers' filter columns), seconds, files before → after, and the same filtered
   read by one user id before and after — through ``Lake.read_arrow`` (pyarrow over the snapshot)
   and through Spark — plus the files the Delta log's min/max statistics let a reader skip to.

    .venv/bin/python bench/bench_privacy.py                               # 14 nights x 1M events
    .venv/bin/python bench/bench_privacy.py --days 3 --events-per-day 100000 --users 10   # a quick look

Prints the tables and writes the JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, code_version, format_rows, machine_info, positive_int  # noqa: E402

START = date(2024, 6, 1)
DEFAULT_OUT = REPO / "bench" / "results" / "privacy.json"


def _env(root: Path) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")},
            "REELHOUSE_ENV": "local", "REELHOUSE__PATHS__LANDING": str(root / "landing"),
            "REELHOUSE__PATHS__LAKE": str(root / "lake"), "REELHOUSE__SPARK__CONF__spark.driver.memory": "8g"}


def build(base: Path, days: int, events: int, spark) -> float:
    from reelhouse.config import load_config
    from reelhouse.pipeline import SPARK_STEPS, run_date
    from reelhouse.sources.generator import generate

    cfg = load_config(environ=_env(base))
    t0 = time.perf_counter()
    generate(cfg.paths.landing, start=START, days=days, events_per_day=events, seed=18)
    for k in range(days):
        d = START + timedelta(days=k)
        t1 = time.perf_counter()
        run_date(d, steps=SPARK_STEPS, spark=spark, config=cfg, log=lambda m: None)
        print(f"  built {d}: {time.perf_counter() - t1:.0f} s", flush=True)
    (base / "BUILT").write_text(json.dumps({"days": days, "events_per_day": events}))
    return time.perf_counter() - t0


def fresh_copy(base: Path, to: Path) -> Path:
    if to.exists():
        shutil.rmtree(to)
    shutil.copytree(base / "landing", to / "landing")
    shutil.copytree(base / "lake", to / "lake", ignore=shutil.ignore_patterns("_mlflow", "_bi"))
    return to


def files_touched(lake, table: str, column: str, value: str) -> int:
    import pyarrow as pa

    adds = pa.table(lake.delta_table(table).get_add_actions(flatten=True))
    lo, hi = adds.column(f"min.{column}").to_pylist(), adds.column(f"max.{column}").to_pylist()
    return sum(1 for a, b in zip(lo, hi) if a is None or b is None or a <= value <= b)


def timed_reads(lake, user: str, repeats: int = 3) -> dict[str, float]:
    import pyarrow.compute as pc

    arrow, spark_s = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n1 = lake.read_arrow("silver.events", filter=pc.field("user_id") == user).num_rows
        arrow.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        n2 = lake.read("silver.events").where(f"user_id = '{user}'").count()
        spark_s.append(time.perf_counter() - t0)
        assert n1 == n2
    return {"rows": n1, "arrow_s": statistics.median(arrow), "spark_s": statistics.median(spark_s)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=positive_int, default=14)
    ap.add_argument("--events-per-day", type=positive_int, default=1_000_000)
    ap.add_argument("--users", type=positive_int, default=100)
    ap.add_argument("--lake-dir", type=Path, default=None, help="where the built lake is kept (default /var/tmp/reelhouse-bench/privacy-<days>x<events>)")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--build-only", action="store_true", help="build (or check) the cached lake and stop")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    base = args.lake_dir or Path(f"/var/tmp/reelhouse-bench/privacy-{args.days}x{args.events_per_day}")
    work = base.parent / (base.name + "-work")

    from reelhouse.config import load_config
    from reelhouse.lake import Lake
    from reelhouse.ops.erasure import process_requests, request_erasure
    from reelhouse.ops.maintenance import maintain
    from reelhouse.spark import get_spark

    cfg0 = load_config(environ=_env(base))
    spark = get_spark(cfg0, app_name="bench-privacy")
    built = json.loads((base / "BUILT").read_text()) if (base / "BUILT").exists() else None
    build_s = None
    if args.rebuild or built != {"days": args.days, "events_per_day": args.events_per_day}:
        if base.exists():
            shutil.rmtree(base)
        base.mkdir(parents=True)
        print(f"building {args.days} nights x {args.events_per_day:,} events in {base}", flush=True)
        build_s = build(base, args.days, args.events_per_day, spark)
        print(f"built in {build_s:.0f} s", flush=True)
    if args.build_only:
        spark.stop()
        return 0

    # ---------------------------------------------------------------- erasure
    root = fresh_copy(base, work / "erasure")
    cfg = load_config(environ=_env(root))
    lake = Lake.from_config(cfg, spark)
    import pyarrow.compute as pc

    all_users = sorted(pc.unique(lake.read_arrow("silver.events", columns=["user_id"]).column("user_id")).to_pylist())
    users = random.Random(18).sample(all_users, min(args.users, len(all_users)))
    events_total = lake.count("silver.events")
    request_erasure(lake, cfg, users, requested_by="bench")
    t0 = time.perf_counter()
    out = process_requests(lake, cfg, retention_hours=0, log=lambda m: None)
    erase_s = time.perf_counter() - t0
    audits = lake.read_arrow("ops.erasures").to_pylist()
    assert len(out["erased"]) == len(users) and all(a["status"] == "complete" for a in audits)
    steps = json.loads(audits[0]["tables_json"])  # batch figures are the same in every row
    erase_rows = [["step", "rows deleted", "rows redacted", "files rewritten", "MiB rewritten", "seconds"]]
    per_table = {}
    for step, info in steps.items():
        deleted = sum(json.loads(a["tables_json"])[step].get("rows_deleted", 0) for a in audits)
        redacted = sum(json.loads(a["tables_json"])[step].get("rows_redacted", 0) for a in audits)
        per_table[step] = {"rows_deleted": deleted, "rows_redacted": redacted,
                           "files_rewritten": info.get("files_rewritten", 0),
                           "bytes_rewritten": info.get("bytes_rewritten", 0), "seconds": info.get("seconds")}
        erase_rows.append([step, f"{deleted:,}", f"{redacted:,}", str(info.get("files_rewritten", "")),
                           f"{info.get('bytes_rewritten', 0) / 2**20:.1f}" if "bytes_rewritten" in info else "",
                           f"{info.get('seconds', 0):.1f}"])
    landing_files = sum(a["landing_files_rewritten"] for a in audits)
    vacuumed = audits[0]["files_vacuumed"]
    print(f"\nerasure of {len(users)} users from {args.days} nights x {args.events_per_day:,} events "
          f"({events_total:,} silver events): {erase_s:.1f} s end to end, landing files rewritten "
          f"{landing_files} (per-user sum), files vacuumed {vacuumed}")
    print(format_rows(erase_rows, left=1))

    # ---------------------------------------------------------------- compaction
    root = fresh_copy(base, work / "compaction")
    cfg = load_config(environ=_env(root))
    lake = Lake.from_config(cfg, spark)
    heavy = max(pc.value_counts(lake.read_arrow("silver.events", columns=["user_id"]).column("user_id")).to_pylist(),
                key=lambda v: v["counts"])["values"]
    files_before = {t: len(lake.files(t)) for t in ("bronze.events", "silver.events", "gold.training_examples")}
    touched_before = files_touched(lake, "silver.events", "user_id", heavy)
    reads_before = timed_reads(lake, heavy)
    t0 = time.perf_counter()
    report = maintain(lake, cfg, START + timedelta(days=args.days), steps=["optimize"], log=lambda m: None)
    compact_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    maintain(lake, cfg, START + timedelta(days=args.days), steps=["vacuum"], log=lambda m: None)
    vacuum_s = time.perf_counter() - t0
    files_after = {t: len(lake.files(t)) for t in files_before}
    touched_after = files_touched(lake, "silver.events", "user_id", heavy)
    reads_after = timed_reads(lake, heavy)
    assert reads_after["rows"] == reads_before["rows"]
    comp_rows = [["", "before", "after", "ratio"]]
    for t in files_before:
        comp_rows.append([f"{t} files", str(files_before[t]), str(files_after[t]),
                          f"{files_before[t] / max(1, files_after[t]):.1f}x"])
    comp_rows.append(["silver.events files a user_id read touches (log min/max)", str(touched_before),
                      str(touched_after), f"{touched_before / max(1, touched_after):.1f}x"])
    comp_rows.append(["filtered read, Lake.read_arrow (s, median of 3)", f"{reads_before['arrow_s']:.2f}",
                      f"{reads_after['arrow_s']:.2f}", f"{reads_before['arrow_s'] / reads_after['arrow_s']:.2f}x"])
    comp_rows.append(["filtered read, Spark count (s, median of 3)", f"{reads_before['spark_s']:.2f}",
                      f"{reads_after['spark_s']:.2f}", f"{reads_before['spark_s'] / reads_after['spark_s']:.2f}x"])
    print(f"\ncompaction + Z-order of every table: {compact_s:.1f} s ({len(report.rows)} partitions rewritten); "
          f"checkpoint + vacuum: {vacuum_s:.1f} s")
    print(format_rows(comp_rows, left=1))

    doc = {"days": args.days, "events_per_day": args.events_per_day, "users": len(users), "build_seconds": build_s,
           "silver_events": events_total,
           "erasure": {"seconds": erase_s, "per_step": per_table, "landing_files_rewritten": landing_files,
                       "files_vacuumed": vacuumed},
           "compaction": {"seconds": compact_s, "vacuum_seconds": vacuum_s, "files_before": files_before,
                          "files_after": files_after, "touched_before": touched_before, "touched_after": touched_after,
                          "read_before": reads_before, "read_after": reads_after,
                          "partitions_rewritten": len(report.rows)},
           "code": code_version(), "machine": machine_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
