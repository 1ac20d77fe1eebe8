"""reelhouse_nightly: the nightly batch over one day of interaction events.

Thin by design: schedule, wiring and assets only. One task per step of
``reelhouse.pipeline.STEPS`` (the list the CLI runs too): each Spark step is its application from
``spark_jobs/`` submitted through the Spark provider's ``SparkSubmitOperator`` and the
``spark_default`` connection (moving to a cluster changes the connection, not this file); the
quality gate and the online publish run in the worker (``reelhouse.pipeline.run_task``).
"""

from __future__ import annotations

import sys
from datetime import timedelta

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Asset, task
from airflow.timetables.interval import CronDataIntervalTimetable

from reelhouse.config import get_config
from reelhouse.pipeline import STEPS, asset_uri
from reelhouse.spark import LOG4J2_CONF, spark_conf

DOC_MD = """
### reelhouse_nightly

Turns one day of landed interaction events into the lake's tables. One run per **data interval**
(a UTC day): the run for `2024-06-01` starts after that day ends and processes the landing folder
`events/date=2024-06-01/`.

| task | runs | writes |
|---|---|---|
""" + "\n".join(
    f"| `{s.name}` | "
    + (f"`spark_jobs/{s.entry.rsplit('.', 1)[-1]}.py` (spark-submit)" if s.kind == "spark" else f"`{s.entry}` (in the worker)")
    + f" | {', '.join(f'`{t}`' for t in s.outputs)} |"
    for s in STEPS.values()
) + """

**Idempotent**: every task replaces exactly its date's partitions in one Delta commit per table,
so a rerun, a retry, a cleared task or a catchup run recomputes and leaves the same data. Each
commit records an application transaction (`reelhouse.<step>.<table>.<date>`, version = the
execution's start in ms) in the Delta log, so the log says which execution wrote what.

**Quality gate** (`quality_gate`, after the last gold step): runs every Great Expectations suite
in `expectations/` on the partitions this run wrote, plus the day's KPIs (quarantine ratio,
reconciliation exactness, completion/like-rate drift), and records each check in
`ops.quality_results` and the GX Data Docs under `<lake>/_quality/`. A **block** verdict fails the
task without retrying (the failing expectations are in its log), so nothing below it runs; a
**warn** verdict passes with the warnings recorded. Everything that publishes — the online
feature store, the retrain, the dbt marts — hangs below `gate_passed`, whose Asset
`reelhouse.gate_passed` also schedules the DAGs that consume a gated day.

**Online store** (`publish_online_features`, below `gate_passed`): the date's rows of the gold
feature tables go to the Feast online store (SQLite embedded, Redis in production, from `conf/`),
readable with Feast's `get_online_features` (feature service `ranking`). A value is never
replaced by an older feature_time; entities not republished within their view's TTL are removed.
Each view's rows, writes, skips and expiries land in `ops.online_publishes`.

**A day without landing files is a green skip** (`landing_available`, a short-circuit): nothing
is written, no Asset event is emitted, so neither the retrain nor dbt runs. This is also what the
run for yesterday that unpausing the DAG creates does when nothing has landed for it.

**Dates in order, one writer per lake.** A date's ingest keeps only the events earlier dates did
not (at-least-once delivery), and gold reads earlier days, so the Spark steps have
`depends_on_past=True`: a backfill's runs may start together (Airflow's default allows 10 at
once; `max_active_runs=1` binds only scheduled runs) but each step waits for the same step of the
previous date. Under that, every step takes the lake's run lock (`reelhouse.lake.locks`; it waits for
a `reelhouse run` from the CLI) and refuses a date whose previous landing date it has not
processed (exit 75, retried). Backfill:

    airflow backfill create --dag-id reelhouse_nightly --from-date 2024-06-01 --to-date 2024-06-03 \
        --reprocess-behavior failed

(Airflow requires `--reprocess-behavior` for a DAG with `depends_on_past`; `failed` reruns dates
whose runs failed, `completed` reruns all), or without Airflow `reelhouse backfill --start … --end …`.

**Spark**: master from the `spark_default` connection (default `local[2]`:
`AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type": "spark", "host": "local[2]"}'`); Spark settings from
`conf/` (`REELHOUSE_ENV`).
"""

_cfg = get_config()
# conf/'s spark.conf, plus the Delta jars (spark.jars), extension and catalog with lake.engine delta-spark
_conf = spark_conf(_cfg)
# the driver JVM logs errors only from its first line (spark-submit starts it before Python runs)
_conf.setdefault("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{LOG4J2_CONF}")
GATE_PASSED = Asset(name="reelhouse.gate_passed", uri=asset_uri("ops.gate_passed", _cfg.paths.lake))

with DAG(
    dag_id="reelhouse_nightly",
    description="landing → bronze → silver → gold → quality gate → online feature store, one UTC day per run",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC_MD,
    tags=["reelhouse", "spark", "delta"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "execution_timeout": timedelta(hours=3),
    },
) as dag:

    @task.short_circuit(
        task_id="landing_available",
        retries=0,
        doc_md="True when the data interval's landing folder has files; otherwise the whole run is a green skip.",
    )
    def landing_available(ds: str | None = None) -> bool:
        from datetime import date

        from reelhouse.config import get_config
        from reelhouse.sources.landing import list_landing_files

        landing = get_config().paths.landing
        files = list_landing_files(landing, date.fromisoformat(ds), check=False)
        if files:
            mib = sum(f.size for f in files) / 2**20
            print(f"landing {ds}: {len(files)} files, {mib:.1f} MiB under {landing} — running the nightly", flush=True)
        else:
            print(f"landing {ds}: no files under {landing} — skipping the run (nothing written, no Asset events)",
                  flush=True)
        return bool(files)

    @task(task_id="gate_passed",
          doc_md="The day passed the quality gate (pass or warn): publishing tasks hang below this. Emits the "
                 "`reelhouse.gate_passed` Asset event with extra `{\"ds\": <date>}`: the retrain and dbt DAGs read it.",
          outlets=[GATE_PASSED])
    def gate_passed(ds: str | None = None, outlet_events=None) -> str:
        outlet_events[GATE_PASSED].extra = {"ds": ds}
        print(f"gate passed {ds}: Asset event reelhouse.gate_passed {{'ds': '{ds}'}}", flush=True)
        return ds

    def in_process(step_name: str, ds: str | None = None) -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from reelhouse.pipeline import GateBlockedError, run_task

        try:
            return run_task(step_name, ds, log=lambda m: print(m, flush=True))
        except GateBlockedError as exc:  # a verdict, not a crash: fail without retrying
            raise AirflowFailException(str(exc)) from exc

    tasks = {}
    for step in STEPS.values():
        outlets = [Asset(name=t, uri=asset_uri(t, _cfg.paths.lake)) for t in step.outputs]
        if step.kind == "spark":
            tasks[step.name] = SparkSubmitOperator(
                task_id=step.name,
                doc_md=step.description,
                application=step.application,
                application_args=["--date", "{{ ds }}"],
                conn_id="spark_default",
                name=f"reelhouse-{step.name}-{{{{ ds }}}}",
                conf=_conf,
                env_vars={"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
                outlets=outlets,
                depends_on_past=True,  # a date's step after the previous date's (backfills run in order)
            )
        else:  # in the worker's process: the gate (a crash is retried, a block fails at once), the publish
            tasks[step.name] = task(task_id=step.name, doc_md=step.description, outlets=outlets,
                                    retry_delay=timedelta(seconds=30))(in_process)(step_name=step.name)
    passed = gate_passed()
    for step in STEPS.values():
        for up in step.upstream:
            # what hangs below the gate hangs below gate_passed (as the Asset event's consumers do)
            (passed if STEPS[up].gate else tasks[up]) >> tasks[step.name]
        if step.gate:
            tasks[step.name] >> passed
    landing_available() >> [tasks[name] for name, s in STEPS.items() if not s.upstream]
