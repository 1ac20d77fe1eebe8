"""The Spark standalone cluster on loopback (scripts/services.sh, `make cluster`): one master on
spark://127.0.0.1:7077 and two workers of 1 core each, whose executors run this venv's Python; a
small job from a separate driver process spreads over both workers. Skipped when no master
answers (the cluster is not part of `make services`). Half a minute (a driver JVM and two
executors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

# the deployment tier (make test-deployment): needs the standalone cluster
pytestmark = [pytest.mark.integration, pytest.mark.deployment]

MASTER = "spark://127.0.0.1:7077"
SPARK_DIR = Path(os.environ.get("REELHOUSE_SPARK_DIR", "/var/tmp/reelhouse-spark"))

# The driver, in its own process: the test run already has its one in-process (local) SparkSession.
# No PYSPARK_PYTHON in its environment, so executors start "python3" from the workers' PATH —
# the cluster, not the driver, makes it this venv's Python.
JOB = r"""
import json, os, socket, sys
from pyspark.sql import SparkSession

def executor_jvm():  # the Python worker's nearest `java` ancestor: (pid, main class)
    pid = os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() == "java":
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    return pid, next(a.decode() for a in f.read().split(b"\0") if a.startswith(b"org.apache."))
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    return None, None

def where(rows):
    import time
    import reelhouse
    n = sum(r.id for r in rows)
    time.sleep(0.5)  # long enough that neither executor takes every partition
    jvm_pid, jvm_class = executor_jvm()
    return [{"host": socket.gethostname(), "python_pid": os.getpid(), "jvm_pid": jvm_pid, "jvm_class": jvm_class,
             "cwd": os.getcwd(), "prefix": sys.prefix, "reelhouse": reelhouse.__file__, "sum": n}]

spark = (SparkSession.builder.master(sys.argv[1]).appName("reelhouse-cluster-smoke")
         .config("spark.executor.cores", "1").config("spark.executor.memory", "1g")
         .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.ui.enabled", "false").config("spark.locality.wait", "0s")
         # start only once both executors have registered
         .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
         .config("spark.scheduler.maxRegisteredResourcesWaitingTime", "60s")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
df = spark.range(1000).repartition(4)
total = df.selectExpr("sum(id) as s").collect()[0]["s"]
parts = df.rdd.mapPartitions(where).collect()
import reelhouse
print("RESULT " + json.dumps({"sum": total, "parts": parts, "driver_pid": os.getpid(), "prefix": sys.prefix,
                              "reelhouse": reelhouse.__file__}))
spark.stop()
"""


def _ui_port() -> int:
    """The master's web UI port: REELHOUSE_SPARK_UI_PORT, else the one scripts/services.sh chose
    (8090 unless it was taken), else 8090."""
    if os.environ.get("REELHOUSE_SPARK_UI_PORT"):
        return int(os.environ["REELHOUSE_SPARK_UI_PORT"])
    try:
        return int((SPARK_DIR / "master-ui.port").read_text())
    except (OSError, ValueError):
        return 8090


@pytest.fixture(scope="module")
def status() -> dict:
    """The master's JSON status; skips the module when no master answers."""
    url = f"http://127.0.0.1:{_ui_port()}/json/"
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return json.load(r)
    except (OSError, ValueError) as e:
        pytest.skip(f"no Spark standalone master answers on {url} ({e.__class__.__name__}): "
                    "make cluster starts one (scripts/services.sh start spark)")


def _daemon_pids() -> dict[str, int]:
    """Pids of the daemons scripts/services.sh started (its pid files)."""
    return {p.stem: int(p.read_text()) for p in sorted(SPARK_DIR.glob("*.pid"))}


def test_master_has_two_alive_workers_with_one_core_each(status):
    assert status["url"] == MASTER and status["status"] == "ALIVE"
    assert status["aliveworkers"] == 2
    alive = [w for w in status["workers"] if w["state"] == "ALIVE"]
    assert [(w["host"], w["cores"], w["memory"]) for w in alive] == [("127.0.0.1", 1, 4096)] * 2


def test_daemons_keep_secrets_off_their_command_lines(status):
    """Workers get the venv's Python and the caller's REELHOUSE_*/AWS_* variables through their
    environment; no daemon has a credential in argv, and the master has none at all."""
    pids = _daemon_pids()
    if set(pids) != {"master", "worker-1", "worker-2"}:
        pytest.skip(f"the cluster was not started by scripts/services.sh with {SPARK_DIR} (pid files: {sorted(pids)})")
    secret_words = ("SECRET", "SESSION_TOKEN", "secret.key", "access.key")
    for name, pid in pids.items():
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        assert not [a for a in argv if any(w in a for w in secret_words)], name
        env = dict(v.split("=", 1) for v in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in v)
        assert env["SPARK_LOCAL_IP"] == "127.0.0.1"
        if name == "master":
            assert not [k for k in env if k.startswith(("REELHOUSE_S3_", "AWS_"))]
        else:
            assert Path(env["PYSPARK_PYTHON"]).parent == Path(env["PATH"].split(":")[0])
            assert env["SPARK_WORKER_DIR"] == str(SPARK_DIR / "work" / name)


def test_a_job_runs_in_one_executor_per_worker(status, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    run = subprocess.run([sys.executable, "-c", JOB, MASTER], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path, env=env)
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(lines[0].removeprefix("RESULT "))

    assert result["sum"] == 499500
    parts = result["parts"]
    assert len(parts) == 4 and sum(p["sum"] for p in parts) == 499500
    executors = {p["jvm_pid"] for p in parts}
    assert len(executors) == 2 and None not in executors
    assert {p["jvm_class"] for p in parts} == {"org.apache.spark.executor.CoarseGrainedExecutorBackend"}
    assert result["driver_pid"] not in {p["python_pid"] for p in parts}
    if set(_daemon_pids()) == {"master", "worker-1", "worker-2"}:
        # each executor ran under its own worker (SPARK_WORKER_DIR/<app id>/<executor id>)
        assert {Path(p["cwd"]).parents[1].name for p in parts} == {"worker-1", "worker-2"}
    # executors ran this venv's Python and imported the same reelhouse as the driver
    assert {p["prefix"] for p in parts} == {result["prefix"]} == {sys.prefix}
    assert {p["reelhouse"] for p in parts} == {result["reelhouse"]}
    assert len({p["host"] for p in parts}) == 1
