"""The nightly DAG parses cleanly, is thin, and wires one task per step of the pipeline: a
SparkSubmitOperator per Spark step, an in-process task for the gate and the publish."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dag(tmp_path_factory):
    import os

    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags["reelhouse_nightly"]


def test_one_spark_submit_task_per_step(dag):
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    from reelhouse.pipeline import STEPS

    assert set(dag.task_ids) == set(STEPS) | {"landing_available", "quality_gate", "gate_passed", "publish_online_features"}
    for step in (s for s in STEPS.values() if s.kind == "spark"):
        t = dag.get_task(step.name)
        assert isinstance(t, SparkSubmitOperator)
        assert t._conn_id == "spark_default"
        assert Path(t.application).is_file() and t.application == step.application
        assert {u.task_id for u in t.upstream_list} == (set(step.upstream) or {"landing_available"})
        assert t.depends_on_past  # a backfill's dates run each step in date order
        assert t.application_args == ["--date", "{{ ds }}"]
        assert {o.name for o in t.outlets} == set(step.outputs)
        assert t.retries == 2
    assert dag.max_active_runs == 1
    assert "Idempotent" in dag.doc_md


def test_gate_sits_between_gold_and_publish(dag):
    from reelhouse.pipeline import STEPS

    gate = dag.get_task("quality_gate")
    spark = {n: s for n, s in STEPS.items() if s.kind == "spark"}
    leaves = {n for n in spark if not any(n in s.upstream for s in spark.values())}
    assert STEPS["quality_gate"].gate and STEPS["quality_gate"].kind == "python"
    assert {u.task_id for u in gate.upstream_list} == leaves == {"training_examples"}
    assert gate.retries == 2  # a crash is retried; a block raises AirflowFailException, never retried
    assert {d.task_id for d in gate.downstream_list} == {"gate_passed"}
    assert {o.name for o in gate.outlets} == {"ops.quality_results"}
    assert {o.name for o in dag.get_task("gate_passed").outlets} == {"reelhouse.gate_passed"}
    assert "Quality gate" in dag.doc_md


def test_online_store_publish_hangs_below_the_gate(dag):
    from reelhouse.pipeline import STEPS

    assert STEPS["publish_online_features"].upstream == ("quality_gate",)
    publish = dag.get_task("publish_online_features")
    assert {u.task_id for u in publish.upstream_list} == {"gate_passed"}
    assert {o.name for o in publish.outlets} == {"ops.online_publishes"}
    assert "Online store" in dag.doc_md


def test_dag_file_is_thin():
    """Parsing the DAG file must not import Spark, pandas or the Spark jobs."""
    code = (
        "import sys, runpy; runpy.run_path(sys.argv[1]);"
        "heavy = [m for m in ('pyspark', 'pandas', 'spark_jobs', 'deltalake', 'great_expectations') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "reelhouse_nightly.py")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), out.stdout


def test_a_day_without_landing_files_short_circuits_the_whole_run(dag):
    check = dag.get_task("landing_available")
    assert type(check).__name__ == "_ShortCircuitDecoratedOperator" and check.ignore_downstream_trigger_rules
    assert not check.upstream_list and {d.task_id for d in check.downstream_list} == {"ingest"}
    assert "green skip" in dag.doc_md and "--reprocess-behavior" in dag.doc_md


def test_retrain_dag_is_scheduled_on_the_gate_passed_asset(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["reelhouse_retrain"]
    assert [a.name for a in dag.timetable.asset_condition.objects] == ["reelhouse.gate_passed"]
    assert dag.task_ids == ["retrain"] and "champion" in dag.doc_md
    assert {o.name for o in dag.get_task("retrain").outlets} == {"ml.model_promotions"}


def test_spark_submit_conf_carries_the_delta_jars_with_the_delta_spark_engine(tmp_path):
    """With ``lake.engine: delta-spark`` every spark-submit gets the Delta jars (spark.jars) and
    Delta's extension and catalog; with the bridge, conf/'s settings as they are."""
    import json
    import os

    (tmp_path / "delta-spark_4.2_2.13-4.4.0.jar").write_text("")
    code = ("import sys, json, runpy; g = runpy.run_path(sys.argv[1]);"
            "print(json.dumps(g['dag'].get_task('ingest').conf))")
    confs = {}
    for engine in ("delta-spark", "delta-rs"):
        env = {**os.environ, "REELHOUSE__LAKE__ENGINE": engine, "REELHOUSE_JARS_DIR": str(tmp_path),
               "AIRFLOW_HOME": str(tmp_path / "airflow_home")}
        out = subprocess.run([sys.executable, "-c", code, str(REPO / "dags" / "reelhouse_nightly.py")],
                             capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        confs[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    assert confs["delta-spark"]["spark.jars"] == str(tmp_path / "delta-spark_4.2_2.13-4.4.0.jar")
    assert confs["delta-spark"]["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert "spark.jars" not in confs["delta-rs"] and "spark.sql.extensions" not in confs["delta-rs"]
