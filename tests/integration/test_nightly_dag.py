"""One real end-to-end run: generate 3 days, run `airflow dags test reelhouse_nightly` for each,
and check the lake against the generator's ground truth."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reelhouse.generate import generate

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
START = dt.date(2024, 6, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(3)]


@pytest.fixture(scope="module")
def airflow_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly")
    landing, lake, home = root / "landing", root / "lake", root / "airflow"
    generate(landing, start=START, days=3, events_per_day=20_000, seed=11, corrupt_files=1)
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW_CONN_SPARK_DEFAULT": json.dumps({"conn_type": "spark", "host": "local[2]"}),
        "REELHOUSE_ENV": "test",
        "REELHOUSE__PATHS__LANDING": str(landing),
        "REELHOUSE__PATHS__LAKE": str(lake),
    }
    airflow = str(Path(bindir) / "airflow")
    mig = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert mig.returncode == 0, mig.stderr[-3000:]
    logs = {}
    for day in DAYS:
        out = subprocess.run([airflow, "dags", "test", "reelhouse_nightly", day.isoformat()],
                             env=env, capture_output=True, text=True, timeout=1200)
        logs[day] = out.stdout + out.stderr
        assert out.returncode == 0, logs[day][-5000:]
    truth = json.loads((landing / "_ground_truth" / "generation.json").read_text())
    return lake, truth, logs


def test_dag_runs_succeed_and_run_spark_submit(airflow_run):
    _, _, logs = airflow_run
    for day, log in logs.items():
        assert "spark-submit" in log and "--master local[2]" in log
        assert f"--date {day.isoformat()}" in log
        assert "state=success" in log or "DagRun Finished" in log


def test_reconciliation_is_exact_and_matches_ground_truth(airflow_run):
    lake_root, truth, _ = airflow_run
    from reelhouse.lake import Lake

    lake = Lake(str(lake_root))
    recon = lake.read_pandas("ops.ingest_reconciliation")
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
    silver = lake.read_pandas("silver.events", columns=["event_id", "event_type", "event_date"])
    assert silver.event_id.is_unique
    assert len(silver) == sum(truth["reconciliation"][d.isoformat()]["valid_distinct_events"] for d in DAYS)
    for day in DAYS:
        want = truth["events_by_event_date"][day.isoformat()]
        got = silver[silver.event_date == day].event_type.value_counts().to_dict()
        assert got == {k: v for k, v in want.items() if k != "total" and v}
    q = lake.read_pandas("quarantine.events", columns=["reason"])
    want_q = dict(truth["bad_lines"]["by_reason"])
    want_q["corrupt_file"] = len(truth["corrupt_files"])
    assert q.reason.value_counts().to_dict() == want_q
    videos = lake.read_pandas("silver.videos", columns=["video_id"])
    assert videos.video_id.is_unique and len(videos) == sum(
        truth["events_by_event_date"][d.isoformat()].get("publish", 0) for d in DAYS
    )
    assert lake.describe("bronze.events")["rows"] > len(silver)
