"""One generated night, every step, two deployments side by side in one run:

* ``embedded`` — ``local[2]``, the lake and the landing zone on local disk, the delta-rs bridge
  (``REELHOUSE_ENV=local``);
* ``cluster`` — the Spark standalone cluster of ``make cluster`` (spark://127.0.0.1:7077, two
  workers of 1 core), the lake and the landing zone on the loopback object store of ``make
  objectstore`` (s3a://), Delta inside Spark (``REELHOUSE_ENV=standalone``).

Each step runs as the nightly DAG runs it: a Spark step is one ``spark-submit`` of its application
with the DAG's conf (:func:`reelhouse.spark.spark_conf`) and the deployment's master; the quality
gate and the online publish (to Redis, a database of its own per deployment) run in a fresh Python
process through :func:`reelhouse.pipeline.run_task`, as the Airflow worker runs them. Both
deployments read the same generated landing files (the generator is deterministic: written once
locally, once uploaded). Prints per-step wall seconds and the ratio cluster / embedded, and writes
the JSON to ``--out``.

    make objectstore cluster
    .venv/bin/python bench/bench_nightly_cluster.py                 # 2M events
    .venv/bin/python bench/bench_nightly_cluster.py --events 200000 # a quick look

On one 2-core machine the cluster is not faster (the same two cores, plus an executor JVM per
worker, network hops to the store, and delta-spark's log handling); the point is the figure, and
that the same steps run unchanged on both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, code_version, format_rows, machine_info, positive_int  # noqa: E402

DAY = date(2024, 6, 1)
MASTER = "spark://127.0.0.1:7077"
DEFAULT_OUT = REPO / "bench" / "results" / "nightly_cluster.json"


def deployments(run: str, tmp: Path) -> dict[str, dict[str, str]]:
    """The environment of each deployment (on top of this process's, REELHOUSE__ overrides removed)."""
    return {
        "embedded": {
            "REELHOUSE_ENV": "local",
            "REELHOUSE__PATHS__LANDING": str(tmp / "landing"),
            "REELHOUSE__PATHS__LAKE": str(tmp / "lake"),
            "REELHOUSE__LAKE__ENGINE": "delta-rs",
            "REELHOUSE__SPARK__CONF__spark.driver.memory": "8g",
            "REELHOUSE__ONLINE_STORE__TYPE": "redis",
            "REELHOUSE__ONLINE_STORE__CONNECTION_STRING": "127.0.0.1:6379,db=9",
        },
        "cluster": {
            "REELHOUSE_ENV": "standalone",
            "REELHOUSE_LANDING_URI": f"s3a://reelhouse-landing/{run}",
            "REELHOUSE_LAKE_URI": f"s3a://reelhouse-lake/{run}",
            "REELHOUSE_REDIS": "127.0.0.1:6379,db=10",
            "REELHOUSE_STATE_DIR": str(tmp / "state"),
            "REELHOUSE__SPARK__CONF__spark.driver.memory": "4g",
            "REELHOUSE__SPARK__CONF__spark.executor.memory": "3g",
        },
    }


def step_command(step, env: dict[str, str], ds: str) -> list[str]:
    """The command the nightly DAG runs for ``step``: spark-submit (Spark steps) or run_task."""
    if step.kind != "spark":
        return [sys.executable, "-c", f"from reelhouse.pipeline import run_task; run_task({step.name!r}, {ds!r})"]
    from reelhouse.config import load_config
    from reelhouse.spark import spark_conf

    cfg = load_config(environ=env)
    cmd = [str(Path(sys.executable).parent / "spark-submit"), "--master", cfg.spark.master,
           "--name", f"reelhouse-{step.name}-{ds}"]
    for k, v in spark_conf(cfg).items():
        cmd += ["--conf", f"{k}={v}"]
    return cmd + [step.application, "--date", ds]


def run_night(name: str, env: dict[str, str], ds: str) -> list[dict]:
    """Every step of the night for ``ds`` in the DAG's order; per step its wall seconds and last line."""
    from reelhouse.pipeline import STEPS

    out = []
    for step in STEPS.values():
        t0 = time.perf_counter()
        proc = subprocess.run(step_command(step, env, ds), env=env, cwd=REPO, capture_output=True, text=True)
        secs = time.perf_counter() - t0
        summary = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("[")), "")
        print(f"  {name:<8} {step.name:<24} {secs:7.1f} s  {summary[:140]}", flush=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
            raise SystemExit(f"{name}: step {step.name} failed (exit {proc.returncode})")
        out.append({"step": step.name, "kind": step.kind, "seconds": round(secs, 2), "summary": summary})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=positive_int, default=2_000_000, help="events of the generated day (default 2M)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results")
    p.add_argument("--keep", action="store_true", help="keep the lakes (local folder, object-store prefix)")
    args = p.parse_args(argv)
    version = code_version()
    from reelhouse import objectstore
    from reelhouse.config import load_config

    run = f"_bench/nightly-{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="reelhouse-bench-cluster-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")}
    base["PATH"] = str(Path(sys.executable).parent) + os.pathsep + base.get("PATH", "")
    base["PYSPARK_PYTHON"] = base["PYSPARK_DRIVER_PYTHON"] = sys.executable
    envs = {k: {**base, **v} for k, v in deployments(run, tmp).items()}
    cluster_cfg = load_config(environ=envs["cluster"])
    objectstore.register(cluster_cfg.object_store)
    from reelhouse.sources.generator import generate

    t0 = time.perf_counter()
    gen = dict(start=DAY, days=1, events_per_day=args.events, seed=7)
    summary = generate(tmp / "landing", **gen)
    t_local = time.perf_counter() - t0
    generate(cluster_cfg.paths.landing, **gen)
    t_upload = time.perf_counter() - t0 - t_local
    print(f"generated {summary.events_total:,} events, {summary.lines_total:,} lines, {summary.files_written} files: "
          f"{t_local:.0f} s locally, {t_upload:.0f} s into {cluster_cfg.paths.landing}", flush=True)
    results = {}
    wall = {}
    try:
        for name in ("embedded", "cluster"):
            t = time.perf_counter()
            results[name] = run_night(name, envs[name], DAY.isoformat())
            wall[name] = time.perf_counter() - t
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            import pyarrow.fs as pafs  # noqa: F401

            for bucket in ("reelhouse-landing", "reelhouse-lake"):
                fs, _ = objectstore.filesystem(f"s3a://{bucket}")
                fs.delete_dir_contents(f"{bucket}/{run}", missing_dir_ok=True)
    rows = [["step", "embedded s", "cluster s", "cluster / embedded"]]
    for e, c in zip(results["embedded"], results["cluster"]):
        rows.append([e["step"], f"{e['seconds']:.1f}", f"{c['seconds']:.1f}", f"{c['seconds'] / e['seconds']:.2f}"])
    rows.append(["night (wall)", f"{wall['embedded']:.1f}", f"{wall['cluster']:.1f}", f"{wall['cluster'] / wall['embedded']:.2f}"])
    print(f"\none night of {summary.events_total:,} events ({DAY}), each step as the nightly DAG runs it:")
    print("embedded = local[2] + local disk + delta-rs bridge; cluster = spark://127.0.0.1:7077 (2 workers × 1 core) "
          "+ SeaweedFS s3a:// + delta-spark")
    print(format_rows(rows, left=1))
    doc = {"events": summary.events_total, "lines": summary.lines_total, "files": summary.files_written,
           "day": DAY.isoformat(), "steps": results, "wall_seconds": {k: round(v, 1) for k, v in wall.items()},
           "code": version, "machine": machine_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
