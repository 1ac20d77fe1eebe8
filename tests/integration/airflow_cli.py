"""Running Airflow's CLI against the project's DAGs from a test: a throw-away AIRFLOW_HOME with
the repository's `dags/` folder, the venv's bin first on PATH, then `airflow db migrate` and
`airflow dags test <dag> <date>` as subprocesses (the test process keeps its own SparkSession)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")


def airflow_env(home: Path, *, spark_master: str, **extra: str) -> dict[str, str]:
    """The environment of the CLI: this process's (``REELHOUSE__*`` overrides removed: the test
    says what it wants in ``extra``), AIRFLOW_HOME ``home``, the DAG folder, no examples, the
    ``spark_default`` connection on ``spark_master``; then ``airflow db migrate`` (asserted)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")}
    env = {
        **base,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + base.get("PATH", ""),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": spark_master}),
        **extra,
    }
    mig = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert mig.returncode == 0, mig.stderr[-3000:]
    return env


def dags_test(env: dict[str, str], dag: str, day: str, *, timeout: int = 1800) -> tuple[int, str]:
    """``airflow dags test <dag> <day>``: (exit code, stdout + stderr)."""
    out = subprocess.run([AIRFLOW, "dags", "test", dag, day], env=env, capture_output=True, text=True,
                         timeout=timeout)
    return out.returncode, out.stdout + out.stderr
