"""Online-store benchmark: publishing video features into Redis, the project's path vs Feast's.

One partition of ``gold.video_features`` with N rows (``--rows``, default 1,000,000; the view's
12 features of every type the gold tables carry — strings with nulls, int64, doubles with nulls —
and ``feature_time`` = 2024-06-02 00:00 UTC) is written to a temporary lake; then, in the same
run, on the same Redis (127.0.0.1:6379 unless ``--redis``), each path publishes it under its own
Feast project:

1. **project** — :func:`reelhouse.serving.online_store.publish` for the view (``require_gate=False``, no
   record): read the partition through delta-rs, encode keys / values / timestamps
   column-at-a-time, stream ``HSET``s on one connection from a sender thread. Broken down into
   read, encode + queue, and wait-for-Redis seconds by timing its functions; Redis's own CPU
   seconds come from ``INFO cpu`` before/after, the Python process's from ``getrusage``.
2. **feast** — ``FeatureStore.materialize(start, end, feature_views=["video_features"])`` with the
   same registry definitions (Feast's local provider, dask offline store over the same Delta
   table, its ``RedisOnlineStore``). ``--feast-rows`` (default: all N) limits it to the first rows'
   partition when a shorter run is wanted; its rate is computed over the rows it moved.

Then both projects are read back through Feast's ``get_online_features`` for 2,000 sampled
entities and must agree value for value (exit status 1 otherwise). Figures: rows/s = rows
published / wall seconds; **ratio** = project rows/s / Feast rows/s. The target of issue 5 is
≥ 100k rows/s for the project's path.

Usage (from the project root; Redis must be running)::

    .venv/bin/python bench/bench_online_store.py                 # 1M rows both ways
    .venv/bin/python bench/bench_online_store.py --rows 200000   # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    BENCHMARK_SCRIPTS, DEFAULT_MAX_WAIT, CpuMonitor, REPO, code_version, fmt_int, format_rows, machine_info,
    positive_int, wait_for_quiet,
)

DAY = dt.date(2024, 6, 1)


def video_partition(n: int, seed: int = 1):
    """N rows of gold.video_features for DAY, realistic shapes (ids ``v_<n>``, 5 % unknown creators)."""
    import numpy as np
    import pyarrow as pa

    from reelhouse.lake.catalog import get_table

    rng = np.random.default_rng(seed)
    schema = get_table("gold.video_features").arrow_schema()
    ft = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    views7 = rng.zipf(1.6, n).clip(1, 5_000_000)
    nulls = rng.random(n) < 0.05

    def maybe(x):
        return pa.array(x, mask=nulls)

    cols = {
        "video_id": pa.array([f"v_{i}" for i in range(n)]),
        "feature_time": pa.array(np.full(n, int(ft.timestamp() * 1e6)), pa.timestamp("us", tz="UTC")),
        "creator_id": pa.array([f"u_{i}" for i in rng.integers(0, n // 20 + 1, n)], mask=nulls),
        "video_age_hours": maybe(rng.exponential(48.0, n)),
        "video_duration_ms": maybe(rng.integers(3_000, 180_000, n)),
        "views_1d": pa.array(views7 // 3),
        "views_7d": pa.array(views7),
        "impressions_7d": pa.array(views7 * 3),
        "completion_rate_7d": maybe(rng.random(n)),
        "avg_watch_ratio_7d": maybe(rng.random(n) * 2),
        "like_rate_7d": maybe(rng.random(n) * 0.2),
        "share_rate_7d": maybe(rng.random(n) * 0.05),
        "trend_score": pa.array(rng.normal(0, 2, n)),
        "ds": pa.array([DAY] * n, pa.date32()),
    }
    return pa.table(cols).select(schema.names).cast(schema)


def redis_cpu(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user_main_thread"] + info["used_cpu_sys_main_thread"])


def process_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def configure(root: Path, project: str, redis_url: str):
    os.environ.update({
        "REELHOUSE_ENV": "local",
        "REELHOUSE__PATHS__LAKE": str(root / "lake"),
        "REELHOUSE__PATHS__LANDING": str(root / "landing"),
        "REELHOUSE__ONLINE_STORE__TYPE": "redis",
        "REELHOUSE__ONLINE_STORE__PROJECT": project,
        "REELHOUSE__ONLINE_STORE__CONNECTION_STRING": redis_url,
    })
    from reelhouse.config import load_config

    return load_config("local")


def run_project(cfg, lake, client, monitor) -> dict:
    """The project's publish path with a breakdown of its wall time."""
    import reelhouse.serving.online_store as ons
    from reelhouse.serving.writers import RedisWriter

    phases = {"read partition": 0.0, "encode": 0.0, "queue + send": 0.0, "wait for Redis (flush)": 0.0}

    def timed(fn, name):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                phases[name] += time.perf_counter() - t0
        return wrapper

    patches = [(ons, "encode_batch", "encode"), (RedisWriter, "write", "queue + send"),
               (RedisWriter, "flush", "wait for Redis (flush)")]
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    real_read = lake.read_arrow
    lake.read_arrow = timed(real_read, "read partition")
    for obj, attr, name in patches:
        setattr(obj, attr, timed(getattr(obj, attr), name))
    try:
        ons.feature_store(cfg, apply=True)
        r0, p0, s0 = redis_cpu(client), process_cpu(), monitor.snapshot()
        t0 = time.perf_counter()
        report = ons.publish(lake, cfg, DAY, views=["video_features"], require_gate=False, record=False, apply=False)
        wall = time.perf_counter() - t0
        r1, p1, s1 = redis_cpu(client), process_cpu(), monitor.snapshot()
    finally:
        lake.read_arrow = real_read
        for obj, attr, fn in saved:
            setattr(obj, attr, fn)
    rows = report.views[0].rows
    return {"rows": rows, "written": report.views[0].written, "seconds": round(wall, 3),
            "rows_per_s": round(rows / wall, 1), "redis_cpu_seconds": round(r1 - r0, 3),
            "python_cpu_seconds": round(p1 - p0, 3), "other_cores": CpuMonitor.other_cores(s0, s1),
            "phases": {k: round(v, 3) for k, v in phases.items()}}


def run_feast(cfg, client, monitor) -> dict:
    """Feast's own materialize into Redis for the same view."""
    from reelhouse.serving.online_store import feature_store

    store = feature_store(cfg, apply=True)
    start = dt.datetime.combine(DAY, dt.time(), dt.timezone.utc)
    end = start + dt.timedelta(days=2)
    r0, p0, s0 = redis_cpu(client), process_cpu(), monitor.snapshot()
    t0 = time.perf_counter()
    store.materialize(start_date=start, end_date=end, feature_views=["video_features"])
    wall = time.perf_counter() - t0
    r1, p1, s1 = redis_cpu(client), process_cpu(), monitor.snapshot()
    return {"seconds": round(wall, 3), "redis_cpu_seconds": round(r1 - r0, 3),
            "python_cpu_seconds": round(p1 - p0, 3), "other_cores": CpuMonitor.other_cores(s0, s1)}


def compare(cfg_a, cfg_b, n: int, sample: int = 2000) -> dict:
    import numpy as np

    from reelhouse.serving.feature_views import feature_columns
    from reelhouse.serving.online_store import feature_store

    ids = [f"v_{i}" for i in np.random.default_rng(7).choice(n, min(sample, n), replace=False)]
    refs = [f"video_features:{c}" for c, _ in feature_columns("video_features")]
    got = []
    for cfg in (cfg_a, cfg_b):
        got.append(feature_store(cfg, apply=False).get_online_features(
            features=refs, entity_rows=[{"video_id": i} for i in ids]).to_dict())
    diffs = [c for c in got[0] if got[0][c] != got[1][c]]
    missing = sum(v is None for v in got[0]["views_7d"])
    return {"sampled": len(ids), "columns_differing": diffs, "missing_in_project": missing}


def cleanup(client, project: str) -> None:
    for pattern in (f"*{project}", f"reelhouse:{project}:*"):
        batch = []
        for k in client.scan_iter(match=pattern, count=10_000):
            batch.append(k)
            if len(batch) >= 10_000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=positive_int, default=1_000_000)
    p.add_argument("--redis", default="127.0.0.1:6379", help="Redis host:port (Feast's connection string format)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "online_store.json")
    p.add_argument("--tmp-dir", default=None)
    p.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT)
    p.add_argument("--skip-feast", action="store_true", help="only the project's path")
    args = p.parse_args(argv)

    wait = wait_for_quiet(args.max_wait, (*BENCHMARK_SCRIPTS, "bench_online_store.py"))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    code = code_version(("reelhouse", "feature_repo"))
    root = Path(tempfile.mkdtemp(prefix="rh-bench-online-", dir=args.tmp_dir))
    run = uuid.uuid4().hex[:6]
    projects = {"project": f"rh_bench_{run}_ours", "feast": f"rh_bench_{run}_feast"}
    import redis

    host, port = args.redis.split(",")[0].rsplit(":", 1)
    client = redis.Redis(host=host, port=int(port))
    monitor = CpuMonitor()
    started = dt.datetime.now(dt.timezone.utc)
    try:
        cfg = configure(root, projects["project"], args.redis)
        from reelhouse.lake import Lake

        lake = Lake(cfg.paths.lake)
        t0 = time.perf_counter()
        table = video_partition(args.rows)
        lake.write_arrow(table, "gold.video_features", mode="overwrite_partitions", partitions={"ds": [DAY]})
        prep = time.perf_counter() - t0
        del table
        ours = run_project(cfg, lake, client, monitor)
        result = {"rows": args.rows, "prepare_seconds": round(prep, 1), "project": ours}
        if not args.skip_feast:
            cfg_feast = configure(root, projects["feast"], args.redis)
            feast = run_feast(cfg_feast, client, monitor)
            feast["rows"] = args.rows
            feast["rows_per_s"] = round(args.rows / feast["seconds"], 1)
            result["feast"] = feast
            result["ratio"] = round(ours["rows_per_s"] / feast["rows_per_s"], 2)
            result["agreement"] = compare(configure(root, projects["project"], args.redis), cfg_feast, args.rows)
        memory = client.info("memory")["used_memory"]
        result["redis_used_memory_mib"] = round(memory / 2**20, 1)
    finally:
        for proj in projects.values():
            cleanup(client, proj)
        shutil.rmtree(root, ignore_errors=True)

    doc = {"benchmark": "online_store", "started_at": started.isoformat(timespec="seconds"),
           "machine": machine_info(("feast", "redis", "pyarrow")), "code": code, "wait": wait,
           "redis_server": client.info("server")["redis_version"], "result": result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")

    m = doc["machine"]
    print(f"machine: {m['cpu_count']} cores, {m['memory_gib']} GiB; Redis {doc['redis_server']}; "
          f"code {code['commit']}{' (+ uncommitted)' if code['uncommitted_changes'] else ''}")
    print(f"gold.video_features partition: {fmt_int(args.rows)} rows, 12 features (written in {result['prepare_seconds']} s)\n")
    rows = [["path", "rows", "seconds", "rows/s", "Redis CPU s", "Python CPU s", "other cores (incl. Redis)"]]
    for name in ("project", "feast"):
        if name in result:
            r = result[name]
            rows.append([name, fmt_int(r["rows"]), f"{r['seconds']:.1f}", fmt_int(r["rows_per_s"]),
                         f"{r['redis_cpu_seconds']:.1f}", f"{r['python_cpu_seconds']:.1f}", str(r["other_cores"])])
    print(format_rows(rows, left=1))
    if "ratio" in result:
        print(f"\nratio project / feast: {result['ratio']}x   (target: project >= 100,000 rows/s)")
        a = result["agreement"]
        print(f"agreement: {a['sampled']} sampled entities, columns differing {a['columns_differing'] or 'none'}, "
              f"missing {a['missing_in_project']}")
    print("\nproject path, wall seconds by phase (encode/queue overlap with the sender thread):")
    print(format_rows([["phase", "seconds"]] + [[k, f"{v:.2f}"] for k, v in ours["phases"].items()], left=1))
    ok = "agreement" not in result or (not result["agreement"]["columns_differing"] and not result["agreement"]["missing_in_project"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
