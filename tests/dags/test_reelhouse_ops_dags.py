"""The privacy and maintenance DAGs: they parse, are thin, are wired as documented, and one
`airflow dags test` of each runs on a small lake: the privacy DAG erases a pending request, the
maintenance DAG compacts and records what it did."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    from airflow.dag_processing.dagbag import DagBag

    b = DagBag(dag_folder=str(REPO / "dags"))
    assert b.import_errors == {}
    return b


def test_privacy_dag_erases_then_completes_daily(bag):
    dag = bag.dags["reelhouse_privacy"]
    assert set(dag.task_ids) == {"complete_due", "erase_pending"}
    assert {d.task_id for d in dag.get_task("erase_pending").downstream_list} == {"complete_due"}
    assert dag.max_active_runs == 1 and not dag.catchup
    assert "ops.erasures" in dag.doc_md and "run lock" in dag.doc_md


def test_maintenance_dag_is_weekly_retention_then_optimize_then_vacuum(bag):
    dag = bag.dags["reelhouse_maintenance"]
    assert {d.task_id for d in dag.get_task("retention").downstream_list} == {"optimize"}
    assert {d.task_id for d in dag.get_task("optimize").downstream_list} == {"vacuum"}
    assert dag.max_active_runs == 1 and "run lock" in dag.doc_md
    assert dag.schedule == "0 4 * * 0"


@pytest.mark.parametrize("name", ["reelhouse_privacy.py", "reelhouse_maintenance.py"])
def test_dag_files_are_thin(name):
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        "heavy = [m for m in ('pyspark', 'pandas', 'spark_jobs', 'deltalake', 'great_expectations', 'duckdb') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / name)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout


def _small_lake(root: Path):
    """silver.events of two users over two landing dates, three appends per date (small files); u1
    only in the first append of each date."""
    from reelhouse.lake import Lake
    from reelhouse.lake.catalog import get_table

    lake = Lake(str(root / "lake"))
    spec = get_table("silver.events")
    t0 = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    for day in (dt.date(2024, 6, 1), dt.date(2024, 6, 2)):
        for k in range(3):
            rows = [{c: None for c in spec.column_names} | {
                "event_id": f"e{day.day}{k}{i}", "event_type": "play", "user_id": "u1" if k == 0 and i % 2 else "u0",
                "video_id": f"v{i}",
                "event_time": t0, "event_date": day, "landing_date": day, "_source_file": f"f{k}",
                "_ingested_at": t0} for i in range(4)]
            for r in rows:
                for f in spec.columns:
                    if r[f.name] is None and not f.nullable:
                        r[f.name] = {pa.string(): "x", pa.int64(): 0, pa.int32(): 0, pa.float64(): 0.0,
                                     pa.bool_(): False}.get(f.type, r[f.name])
            lake.write_arrow(pa.Table.from_pylist(rows, schema=spec.arrow_schema()), "silver.events", mode="append")
    return lake


def test_airflow_dags_test_runs_both(tmp_path):
    from reelhouse.config import load_config
    from reelhouse.ops.erasure import request_erasure

    lake = _small_lake(tmp_path)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")},
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
           "REELHOUSE_ENV": "test", "REELHOUSE__PATHS__LANDING": str(tmp_path / "landing"),
           "REELHOUSE__PATHS__LAKE": str(tmp_path / "lake"), "REELHOUSE__PRIVACY__ERASURE_RETENTION_HOURS": "0"}
    cfg = load_config("test", environ=env)
    (rid,) = request_erasure(lake, cfg, ["u1"], requested_by="test")
    mig = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert mig.returncode == 0, mig.stderr[-3000:]
    out = subprocess.run([AIRFLOW, "dags", "test", "reelhouse_privacy", "2024-06-10"], env=env,
                         capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0 and "state=success" in log, log[-5000:]
    assert f"erasure {rid}: complete — 4 rows deleted" in log and "privacy: 1 requests erased" in log
    assert "complete_due" in log and "past the" not in log
    assert set(lake.read_arrow("silver.events", columns=["user_id"]).column("user_id").to_pylist()) == {"u0"}
    (audit,) = lake.read_arrow("ops.erasures").to_pylist()
    assert audit["status"] == "complete" and json.loads(audit["tables_json"])["silver.events"]["rows_deleted"] == 4

    files = len(lake.files("silver.events"))
    out = subprocess.run([AIRFLOW, "dags", "test", "reelhouse_maintenance", "2024-06-16"], env=env,
                         capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0 and "state=success" in log, log[-5000:]
    assert "compaction 2024-06-" in log and "vacuum 2024-06-" in log
    assert len(lake.files("silver.events")) == 2 < files  # one file per partition
    ops = {r["operation"] for r in lake.read_arrow("ops.table_maintenance").to_pylist()}
    assert {"zorder", "checkpoint"} <= ops
