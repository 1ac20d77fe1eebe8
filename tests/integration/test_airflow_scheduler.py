"""Airflow as data engineers run it: PostgreSQL metadata database, LocalExecutor, api-server +
scheduler + dag-processor + triggerer (``scripts/airflow.sh``, what ``make airflow`` starts), the
three DAGs of ``dags/`` unpaused, two generated dates created as one backfill with Airflow's
default concurrency — and, while it runs, ``reelhouse run`` from the CLI on the same lake.

Checked: every run ends green (the run unpausing creates for yesterday, which has no landing data,
is a skip); each Spark step ran the dates in order; the lake equals the generator's ground truth
(no cross-date duplicate kept); the retrain ran only from the gate's Asset events (the first day a
skip, the others decided and recorded); dbt built every mart on a fresh BI database; the task logs
end with their summaries. The per-task wall times are printed (``-s``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from reelhouse.sources.generator import generate

# the deployment tier (make test-deployment): a whole Airflow deployment, ~10 minutes
pytestmark = [pytest.mark.integration, pytest.mark.deployment]

REPO = Path(__file__).resolve().parents[2]
START = dt.date(2024, 6, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(2)]  # the first a retrain skip, the second decided
DAGS = ("reelhouse_nightly", "reelhouse_retrain", "reelhouse_dbt")
TERMINAL = {"success", "failed"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _json_tail(text: str):
    """The JSON document an ``airflow … -o json`` command printed after its warnings."""
    for line in reversed(text.splitlines()):
        if line.startswith("[") or line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON in: {text[-2000:]}")


class Scheduler:
    def __init__(self, root: Path):
        self.root = root
        self.home = root / "airflow"
        self.db = f"reelhouse_it_{uuid.uuid4().hex[:8]}"
        bindir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "VENV_BIN": bindir,
            "AIRFLOW_HOME": str(self.home),
            "REELHOUSE_AIRFLOW_DB": self.db,
            "REELHOUSE_AIRFLOW_PORT": str(_free_port()),
            "REELHOUSE_ENV": "test",
            "REELHOUSE__PATHS__LANDING": str(root / "landing"),
            "REELHOUSE__PATHS__LAKE": str(root / "lake"),
        }
        self.env.pop("REELHOUSE_PSEUDONYM_KEY", None)
        # the CLI environment is the one the components get
        out = self.script("env")
        for line in out.splitlines():
            k, _, v = line.removeprefix("export ").partition("=")
            self.env[k] = subprocess.run(["bash", "-c", f"printf %s {v}"], capture_output=True, text=True).stdout

    def script(self, cmd: str) -> str:
        out = subprocess.run([str(REPO / "scripts" / "airflow.sh"), cmd], env=self.env, capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out.stdout

    def airflow(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(["airflow", *args], env=self.env, capture_output=True, text=True, timeout=300)
        if check:
            assert out.returncode == 0, f"airflow {' '.join(args)}: {out.stdout[-2000:]}{out.stderr[-3000:]}"
        return out

    def runs(self, dag_id: str) -> list[dict]:
        return _json_tail(self.airflow("dags", "list-runs", dag_id, "-o", "json").stdout)

    def task_states(self, dag_id: str, run_id: str) -> list[dict]:
        return _json_tail(self.airflow("tasks", "states-for-dag-run", dag_id, run_id, "-o", "json").stdout)


@pytest.fixture(scope="module")
def scheduler_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("scheduler")
    generate(root / "landing", start=START, days=len(DAYS), events_per_day=8_000, seed=11, corrupt_files=1)
    truth = json.loads((root / "landing" / "_ground_truth" / "generation.json").read_text())
    af = Scheduler(root)
    t0 = time.time()
    af.script("start")
    try:
        deadline = time.time() + 300
        while True:  # the dag-processor has serialized the DAGs once unpause finds them
            if all(af.airflow("dags", "unpause", d, check=False).returncode == 0 for d in DAGS):
                break
            assert time.time() < deadline, (af.home / "logs" / "dag-processor.log").read_text()[-3000:]
            time.sleep(5)
        af.airflow("backfill", "create", "--dag-id", "reelhouse_nightly", "--from-date", DAYS[0].isoformat(),
                   "--to-date", DAYS[-1].isoformat(), "--reprocess-behavior", "failed")
        # the CLI beside the DAG on the same lake: it waits for the lock, runs, or refuses out of order
        cli = subprocess.run([str(Path(sys.executable).parent / "reelhouse"), "run", "--date", DAYS[1].isoformat()],
                             env=af.env, capture_output=True, text=True, timeout=1800)
        deadline = time.time() + 3000
        stable = 0
        while stable < 2:
            time.sleep(20)
            runs = {d: af.runs(d) for d in DAGS}
            backfill = [r for r in runs["reelhouse_nightly"] if r["run_id"].startswith("backfill__")]
            done = len(backfill) == len(DAYS) and all(r["state"] in TERMINAL for rs in runs.values() for r in rs)
            consumers = runs["reelhouse_retrain"] and runs["reelhouse_dbt"]
            stable = stable + 1 if done and consumers else 0
            assert time.time() < deadline, json.dumps(runs, indent=1)[-4000:]
        wall = time.time() - t0
        tasks = {(d, r["run_id"]): af.task_states(d, r["run_id"]) for d in DAGS for r in runs[d]}
        yield af, truth, runs, tasks, cli, wall
    finally:
        af.script("stop")
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "reelhouse", "--if-exists", af.db],
                       env={**af.env, "PGPASSWORD": "reelhouse"}, capture_output=True, timeout=120)


def _seconds(t: dict) -> float:
    if not t["start_date"] or not t["end_date"]:
        return 0.0
    return (dt.datetime.fromisoformat(t["end_date"]) - dt.datetime.fromisoformat(t["start_date"])).total_seconds()


def test_every_run_is_green_and_the_unpause_run_is_a_skip(scheduler_run):
    af, _, runs, tasks, _, wall = scheduler_run
    for dag_id, rs in runs.items():
        assert rs and all(r["state"] == "success" for r in rs), (dag_id, rs)
    scheduled = [r for r in runs["reelhouse_nightly"] if r["run_id"].startswith("scheduled__")]
    assert scheduled, runs["reelhouse_nightly"]  # unpausing created the run for yesterday: no landing data
    states = {t["task_id"]: t["state"] for t in tasks[("reelhouse_nightly", scheduled[0]["run_id"])]}
    assert states.pop("landing_available") == "success" and set(states.values()) == {"skipped"}, states
    # the per-task wall times of the backfill (the closing note's table)
    print(f"\nreal scheduler: {wall:.0f} s from start to the last consumer run")
    rows: dict[str, list[float]] = {}
    for (dag_id, _run), ts in tasks.items():
        for t in ts:
            rows.setdefault(f"{dag_id}.{t['task_id']}", []).append(_seconds(t))
    for name, secs in sorted(rows.items()):
        print(f"  {name:55s} runs {len(secs):2d}  mean {sum(secs) / len(secs):6.1f} s  max {max(secs):6.1f} s")


def test_each_spark_step_ran_the_dates_in_order(scheduler_run):
    from reelhouse.pipeline import SPARK_STEPS

    _, _, runs, tasks, _, _ = scheduler_run
    backfill = sorted((r for r in runs["reelhouse_nightly"] if r["run_id"].startswith("backfill__")),
                      key=lambda r: r["logical_date"])
    assert [r["logical_date"][:10] for r in backfill] == [d.isoformat() for d in DAYS]
    for step in SPARK_STEPS:
        spans = []
        for r in backfill:
            t = next(t for t in tasks[("reelhouse_nightly", r["run_id"])] if t["task_id"] == step)
            assert t["state"] == "success", t
            spans.append((dt.datetime.fromisoformat(t["start_date"]), dt.datetime.fromisoformat(t["end_date"])))
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end, (step, spans)


def test_the_lake_equals_the_ground_truth(scheduler_run):
    from reelhouse.lake import Lake

    af, truth, _, _, cli, _ = scheduler_run
    lake = Lake(af.env["REELHOUSE__PATHS__LAKE"])
    # the CLI run beside the backfill either waited for the lock and ran in order, or refused
    assert cli.returncode in (0, 75), cli.stdout[-2000:] + cli.stderr[-2000:]
    if cli.returncode == 75:
        assert "has not been through ingest" in cli.stderr or "being written by" in cli.stderr, cli.stderr[-2000:]
    recon = lake.read_pandas("ops.ingest_reconciliation")
    assert recon.balanced.all() and sorted(set(recon.landing_date)) == DAYS
    for day in DAYS:
        r, t = recon[recon.landing_date == day], truth["reconciliation"][day.isoformat()]
        assert (r.lines_read.sum(), r.rows_kept.sum(), r.duplicates_dropped.sum()) == (
            t["lines"], t["valid_distinct_events"], t["duplicate_lines"]), day
    silver = lake.read_pandas("silver.events", columns=["event_id", "landing_date"])
    assert silver.event_id.is_unique  # no cross-date duplicate kept, whatever ran at once
    assert len(silver) == sum(truth["reconciliation"][d.isoformat()]["valid_distinct_events"] for d in DAYS)
    verdicts = lake.read_pandas("ops.quality_results", columns=["ds", "verdict"]).groupby("ds").verdict.first()
    assert sorted(verdicts.index) == DAYS and set(verdicts) <= {"pass", "warn"}


def test_the_retrain_follows_the_gate_and_skips_the_first_day(scheduler_run):
    from reelhouse.lake import Lake

    af, _, runs, tasks, _, _ = scheduler_run
    states = [t["state"] for (d, _), ts in tasks.items() if d == "reelhouse_retrain" for t in ts]
    assert set(states) <= {"success", "skipped"} and "success" in states, states
    decisions = Lake(af.env["REELHOUSE__PATHS__LAKE"]).read_pandas("ml.model_promotions")
    assert len(decisions) >= 1 and set(decisions.valid_day) <= set(DAYS[1:])  # day 1 has no training window
    assert set(decisions.gate_verdict) <= {"pass", "warn"}  # never before its gate
    assert decisions.valid_day.max() == DAYS[-1] and "promote" in set(decisions.action)
    logs = list((af.home / "logs" / "dag_id=reelhouse_retrain").rglob("task_id=retrain/attempt=*.log"))
    text = "\n".join(p.read_text() for p in logs)
    assert "challenger AUC" in text and '"level":"error"' not in text


def test_dbt_built_every_mart_on_a_fresh_bi_database(scheduler_run):
    import duckdb

    from reelhouse.bi import dbt_runner as bi

    af, _, runs, tasks, _, _ = scheduler_run
    for (d, _), ts in tasks.items():
        if d == "reelhouse_dbt":
            assert all(t["state"] == "success" for t in ts), ts
    db = Path(af.env["REELHOUSE__PATHS__LAKE"]) / "_bi" / "reelhouse.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        marts = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        assert marts == set(bi.MARTS)
        assert con.execute("select count(*) from marts.fct_daily_engagement").fetchone()[0] > 0


def test_task_logs_end_with_their_summary(scheduler_run):
    af, _, _, _, _, _ = scheduler_run
    base = af.home / "logs" / "dag_id=reelhouse_nightly"
    day = DAYS[-1]
    run = next(p for p in base.iterdir() if p.name.startswith(f"run_id=backfill__{(day + dt.timedelta(days=1)).isoformat()}"))

    def events(task: str) -> list[dict]:
        path = sorted((run / f"task_id={task}").glob("attempt=*.log"))[-1]
        return [json.loads(x) for x in path.read_text().splitlines() if x.startswith("{")]

    gate = [e.get("event", "") for e in events("quality_gate")]
    verdict = next(i for i, e in enumerate(gate) if e.startswith(f"quality gate {day.isoformat()}:"))
    assert len(gate) - verdict < 15, gate[verdict:]  # the verdict is at the end, not behind GX noise
    for step in ("ingest", "trends"):
        ev = events(step)
        assert not [e for e in ev if " INFO " in e.get("event", "")], [e["event"] for e in ev][:10]  # no Spark INFO
        assert any(e.get("event", "").startswith(f"[{step} {day.isoformat()}]") for e in ev[-15:]), [e.get("event") for e in ev[-15:]]
