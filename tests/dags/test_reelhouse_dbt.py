"""The dbt DAG parses fast (no dbt at parse time), renders one task per model plus its tests from
the committed `dbt ls` output (which must match the project) as one `dbt build` task per model, and is scheduled on the
`reelhouse.gate_passed` Asset; an integration test runs it under `airflow dags test` against a
copy-free overlay of the demo lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ.setdefault("AIRFLOW__COSMOS__ENABLE_TELEMETRY", "False")
    from airflow.dag_processing.dagbag import DagBag

    t0 = time.time()
    bag = DagBag(dag_folder=str(REPO / "dags" / "reelhouse_dbt.py"))
    assert bag.import_errors == {}
    assert time.time() - t0 < 20  # far below Airflow's 30 s import timeout: no `dbt ls` at parse time
    return bag.dags["reelhouse_dbt"]


def _models() -> set[str]:
    return {p.stem for p in (REPO / "dbt" / "models").rglob("*.sql")}


def test_one_run_task_per_model_then_the_tests_after_all_models(dag):
    """A fresh BI database: a relationship test must not run before both of its sides are built,
    so every model is built first (one `dbt run` per model, in ref() order), then one `dbt test`."""
    models = _models()
    assert len(models) >= 20
    ids = set(dag.task_ids)
    assert ids == {f"dbt.{m}_run" for m in models} | {"dbt.dbt_test", "ensure_sources", "docs_generate"}
    for m in models:
        assert type(dag.get_task(f"dbt.{m}_run")).__name__ == "DbtRunLocalOperator"
    # dependencies follow ref(): a mart builds after its staging and intermediate models
    ups = {u.task_id for u in dag.get_task("dbt.fct_daily_engagement_run").upstream_list}
    assert {"dbt.stg_gold__video_daily_stats_run", "dbt.int_daily_active_users_run"} <= ups
    test = dag.get_task("dbt.dbt_test")
    assert type(test).__name__ == "DbtTestLocalOperator"
    # the tests run once every model is built: downstream of every leaf model, upstream of the docs
    leaves = {f"dbt.{m}_run" for m in models if not any(d.task_id.endswith("_run") for d in dag.get_task(f"dbt.{m}_run").downstream_list)}
    assert {u.task_id for u in test.upstream_list} == leaves
    assert {t.task_id for t in dag.tasks if not t.upstream_list} == {"ensure_sources"}
    assert {d.task_id for d in dag.get_task("docs_generate").upstream_list} == {"dbt.dbt_test"}


def test_scheduled_on_the_gate_passed_asset_one_task_at_a_time(dag):
    from reelhouse.config import get_config
    from reelhouse.pipeline import asset_uri

    assets = list(dag.timetable.asset_condition.objects)
    assert [(a.name, a.uri) for a in assets] == [
        ("reelhouse.gate_passed", asset_uri("ops.gate_passed", get_config().paths.lake))]
    assert dag.max_active_tasks == 1 and dag.max_active_runs == 1
    assert "gate_passed" in dag.doc_md and "reelhouse dbt build" in dag.doc_md


def test_committed_dbt_ls_file_matches_the_project(tmp_path):
    """Cosmos renders from dbt/cosmos_dbt_ls.json; regenerate it with
    `python -c "from reelhouse.config import get_config; from reelhouse.bi.dbt_runner import write_dbt_ls_file; write_dbt_ls_file(get_config())"`."""
    from reelhouse.bi.dbt_runner import DBT_LS_FILE, dbt_ls_lines
    from reelhouse.config import get_config

    fresh = dbt_ls_lines(get_config(), tmp_path / "ls" / "x.duckdb")
    committed = DBT_LS_FILE.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["unique_id"] for x in committed] == [json.loads(x)["unique_id"] for x in fresh]
    assert committed == fresh


# the deployment tier (make test-deployment), beside the real scheduler that runs this DAG too
@pytest.mark.integration
@pytest.mark.deployment
def test_airflow_dags_test_builds_the_marts(demo_lake, tmp_path):
    from reelhouse.bi import dbt_runner as bi

    lake = tmp_path / "lake"  # the shared fixture's tables through symlinks: dbt writes only under tmp
    for name in bi.source_tables():
        layer, table = name.split(".", 1)
        if (Path(demo_lake.lake_root) / layer / table).exists():
            (lake / layer).mkdir(parents=True, exist_ok=True)
            (lake / layer / table).symlink_to(Path(demo_lake.lake_root) / layer / table, target_is_directory=True)
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "REELHOUSE_ENV": "test",
        "REELHOUSE__PATHS__LANDING": str(tmp_path / "landing"),
        "REELHOUSE__PATHS__LAKE": str(lake),
    }
    env.pop("REELHOUSE_PSEUDONYM_KEY", None)
    airflow = str(Path(bindir) / "airflow")
    mig = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert mig.returncode == 0, mig.stderr[-3000:]
    t0 = time.time()
    out = subprocess.run([airflow, "dags", "test", "reelhouse_dbt", demo_lake.days[-1].isoformat()],
                         env=env, capture_output=True, text=True, timeout=1800)
    log = out.stdout + out.stderr
    print(f"\nairflow dags test reelhouse_dbt: {time.time() - t0:.1f}s")
    assert out.returncode == 0, log[-6000:]
    assert "DagRun Finished" in log and "state=success" in log, log[-3000:]
    db = lake / "_bi" / "reelhouse.duckdb"
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        marts = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        assert marts == set(bi.MARTS)
        assert con.execute("select count(*) from marts.fct_daily_engagement").fetchone()[0] > 0
    assert (lake / "_bi" / "pseudonym.key").exists()  # the embedded per-database key
    assert (lake / "_bi" / "dbt_target" / "index.html").exists()  # docs_generate ran
    assert not (Path(demo_lake.lake_root) / "_bi").exists()  # the shared fixture lake was not written
