"""The one end-to-end DAG run of `make test`: generate 2 days, run `airflow dags test
reelhouse_nightly` for each, and check the lake against the generator's ground truth; then a 3rd, bad day (a fifth of its
lines garbage) that the quality gate must stop before anything publishes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from airflow_cli import airflow_env, dags_test

from reelhouse.sources.generator import generate

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
START = dt.date(2024, 6, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(2)]  # the second has history: baselines, a training window
BAD_DAY = START + dt.timedelta(days=len(DAYS))


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly")
    landing, lake, home = root / "landing", root / "lake", root / "airflow"
    generate(landing, start=START, days=len(DAYS), events_per_day=20_000, seed=11, corrupt_files=1)
    env = airflow_env(home, spark_master="local[2]", REELHOUSE_ENV="test",
                      REELHOUSE__PATHS__LANDING=str(landing), REELHOUSE__PATHS__LAKE=str(lake))
    logs = {}
    for day in DAYS:
        rc, logs[day] = dags_test(env, "reelhouse_nightly", day.isoformat(), timeout=1200)
        assert rc == 0, logs[day][-5000:]
    # the retrain DAG, as the training-examples Asset would trigger it after the last good day
    rc, logs["retrain_good"] = dags_test(env, "reelhouse_retrain", DAYS[-1].isoformat(), timeout=1200)
    assert rc == 0, logs["retrain_good"][-5000:]
    truth = json.loads((landing / "_ground_truth" / "generation.json").read_text())
    # the bad day is generated apart (its ground truth must not replace the good days') and landed
    generate(root / "bad", start=BAD_DAY, days=1, events_per_day=20_000, seed=12, bad_fraction=0.2,
             late_fraction=0.0)
    shutil.copytree(root / "bad" / "events" / f"date={BAD_DAY.isoformat()}", landing / "events" / f"date={BAD_DAY.isoformat()}")
    _, logs[BAD_DAY] = dags_test(env, "reelhouse_nightly", BAD_DAY.isoformat(), timeout=1200)
    # the bad day's examples were written before the gate stopped it: a retrain validates on them
    # but must not promote
    rc, logs["retrain_bad"] = dags_test(env, "reelhouse_retrain", BAD_DAY.isoformat(), timeout=1200)
    assert rc == 0, logs["retrain_bad"][-5000:]
    return lake, truth, logs


def test_dag_runs_succeed_and_run_spark_submit(airflow_run):
    _, _, logs = airflow_run
    for day in DAYS:
        log = logs[day]
        assert "spark-submit" in log and "--master local[2]" in log
        assert f"--date {day.isoformat()}" in log
        assert "state=success" in log or "DagRun Finished" in log


def test_gate_passes_good_days_and_blocks_the_bad_one_before_publish(airflow_run):
    lake_root, _, logs = airflow_run
    from reelhouse.lake import Lake

    for day in DAYS:
        assert "quality gate " + day.isoformat() + ": PASS" in logs[day], logs[day][-3000:]
        assert "end task task_id=gate_passed" in logs[day]
    bad = logs[BAD_DAY]
    assert "DagRun failed" in bad or "state=failed" in bad, bad[-3000:]
    assert f"quality gate blocked {BAD_DAY.isoformat()}" in bad
    assert "ops.daily_kpis: expect_column_values_to_be_between(column=quarantine_ratio" in bad
    assert "end task task_id=trends" in bad  # gold ran; only the publish side is held back
    assert "end task task_id=gate_passed" not in bad
    results = Lake(str(lake_root)).read_pandas("ops.quality_results")
    verdicts = results.groupby("ds").verdict.first().to_dict()
    assert verdicts == {**{d: "pass" for d in DAYS}, BAD_DAY: "block"}


def test_gated_days_are_published_and_feast_serves_the_gold_values(airflow_run, monkeypatch):
    """The DAG published every good day to the embedded SQLite store; the bad day published nothing.
    The last good day, published again into the real Redis, serves the same values."""
    import uuid

    import numpy as np

    from reelhouse.serving.feature_views import VIEWS, feature_columns
    from reelhouse.config import load_config
    from reelhouse.lake import Lake
    from reelhouse.serving.online_store import feature_store, publish

    lake_root, _, logs = airflow_run
    for day in DAYS:
        assert "end task task_id=publish_online_features" in logs[day], logs[day][-3000:]
    assert "end task task_id=publish_online_features" not in logs[BAD_DAY]
    lake = Lake(str(lake_root))
    pubs = lake.read_pandas("ops.online_publishes")
    assert sorted(set(pubs.ds)) == DAYS and (pubs.rows > 0).all()
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(lake_root))
    last = DAYS[-1]
    project = f"rh_it_{uuid.uuid4().hex[:8]}"
    stores = {"sqlite": load_config("test")}
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__TYPE", "redis")
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__PROJECT", project)
    stores["redis"] = load_config("test")
    report = publish(lake, stores["redis"], last)
    assert report.rows == int(pubs[pubs.ds == last].rows.sum())
    rng = np.random.default_rng(0)
    try:
        for name, cfg in stores.items():
            store = feature_store(cfg, apply=False)
            for view, spec in VIEWS.items():
                gold = lake.read_pandas(spec.table, where={"ds": last})
                sample = gold.iloc[rng.choice(len(gold), min(25, len(gold)), replace=False)]
                feats = [c for c, _ in feature_columns(view)]
                got = store.get_online_features(features=[f"{view}:{c}" for c in feats],
                                                entity_rows=[{spec.join_key: k} for k in sample[spec.join_key]]).to_dict()
                for c in feats:
                    want = [None if v is None or (isinstance(v, float) and v != v) else
                            (list(v) if isinstance(v, np.ndarray) else v) for v in sample[c].tolist()]
                    want = [None if w is not None and not isinstance(w, (list, str)) and pd_isna(w) else w for w in want]
                    assert got[c] == want, (name, view, c)
    finally:
        import redis

        client = redis.Redis()
        keys = [*client.scan_iter(match=f"*{project}", count=10_000), *client.scan_iter(match=f"reelhouse:{project}:*")]
        if keys:
            client.delete(*keys)


def test_retrain_dag_promotes_after_a_gated_day_and_refuses_after_a_blocked_one(airflow_run):
    """`airflow dags test reelhouse_retrain` trains, logs the metrics in the task log, registers a
    version in MLflow and records every decision in ml.model_promotions."""
    from reelhouse.lake import Lake

    lake_root, _, logs = airflow_run
    good, bad = logs["retrain_good"], logs["retrain_bad"]
    for log in (good, bad):
        assert "end task task_id=retrain" in log, log[-3000:]
        assert "challenger AUC" in log and "baseline   AUC" in log and "NDCG@10" in log
    assert f"validate {DAYS[-1].isoformat()}; PROMOTED: no champion yet" in good
    assert f"validate {BAD_DAY.isoformat()}; not promoted: quality gate for {BAD_DAY.isoformat()} is block" in bad
    log = Lake(str(lake_root)).read_pandas("ml.model_promotions").sort_values("decided_at")
    assert log.action.tolist() == ["promote", "reject"]
    assert log.valid_day.tolist() == [DAYS[-1], BAD_DAY] and log.gate_verdict.tolist() == ["pass", "block"]
    assert log.version.tolist() == [1, 2] and log.champion_after.tolist() == [1, 1]
    assert (lake_root / "_mlflow" / "mlflow.db").exists()


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))


def test_reconciliation_is_exact_and_matches_ground_truth(airflow_run):
    lake_root, truth, _ = airflow_run
    from reelhouse.lake import Lake

    lake = Lake(str(lake_root))
    recon = lake.read_pandas("ops.ingest_reconciliation", where={"landing_date": DAYS})
    assert recon.balanced.all()
    for day in DAYS:
        r = recon[recon.landing_date == day]
        t = truth["reconciliation"][day.isoformat()]
        assert r.lines_read.sum() == t["lines"]
        assert r.rows_kept.sum() == t["valid_distinct_events"]
        assert r.duplicates_dropped.sum() == t["duplicate_lines"]
        corrupt = (r.file_status == "corrupt").sum()
        assert r.rows_quarantined.sum() == t["bad_lines"] + corrupt


def test_counts_match_ground_truth(airflow_run):
    lake_root, truth, _ = airflow_run
    from reelhouse.lake import Lake

    lake = Lake(str(lake_root))
    silver = lake.read_pandas("silver.events", columns=["event_id", "event_type", "event_date"], where={"landing_date": DAYS})
    assert silver.event_id.is_unique
    assert len(silver) == sum(truth["reconciliation"][d.isoformat()]["valid_distinct_events"] for d in DAYS)
    for day in DAYS:
        want = truth["events_by_event_date"][day.isoformat()]
        got = silver[silver.event_date == day].event_type.value_counts().to_dict()
        assert got == {k: v for k, v in want.items() if k != "total" and v}
    q = lake.read_pandas("quarantine.events", columns=["reason"], where={"landing_date": DAYS})
    want_q = dict(truth["bad_lines"]["by_reason"])
    want_q["corrupt_file"] = len(truth["corrupt_files"])
    assert q.reason.value_counts().to_dict() == want_q
    videos = lake.read_pandas("silver.videos", columns=["video_id"], where={"published_date": DAYS})
    assert videos.video_id.is_unique and len(videos) == sum(
        truth["events_by_event_date"][d.isoformat()].get("publish", 0) for d in DAYS
    )
    bronze = lake.read_arrow("bronze.events", columns=["_line_number"], where={"landing_date": DAYS})
    assert bronze.num_rows > len(silver)
