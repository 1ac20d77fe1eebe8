"""reelhouse_nightly: the nightly batch over one day of interaction events.

Thin by design: schedule, wiring and assets only. Each task is one Spark application from
``spark_jobs/`` submitted through the Spark provider's ``SparkSubmitOperator`` and the
``spark_default`` connection, so moving to a cluster changes the connection, not this file.
"""

from __future__ import annotations

import sys
from datetime import timedelta

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, Asset
from airflow.timetables.interval import CronDataIntervalTimetable

from reelhouse.config import get_config
from reelhouse.pipeline import STEPS, asset_uri

DOC_MD = """
### reelhouse_nightly

Turns one day of landed interaction events into the lake's tables. One run per **data interval**
(a UTC day): the run for `2024-06-01` starts after that day ends and processes the landing folder
`events/date=2024-06-01/`.

| task | Spark application | writes |
|---|---|---|
""" + "\n".join(
    f"| `{s.name}` | `spark_jobs/{s.module.rsplit('.', 1)[-1]}.py` | {', '.join(f'`{t}`' for t in s.outputs)} |"
    for s in STEPS.values()
) + """

**Idempotent**: every task replaces exactly its date's partitions in one Delta commit per table,
so a rerun, a retry, a cleared task or a catchup run recomputes and leaves the same data. Each
commit records an application transaction (`reelhouse.<step>.<table>.<date>`, version = the
execution's start in ms) in the Delta log, so the log says which execution wrote what.

**Runs one at a time** (`max_active_runs=1`): a date's deduplication reads what earlier dates
ingested. Backfill: `airflow backfill create --dag-id reelhouse_nightly --from-date … --to-date …`
or `reelhouse backfill --start … --end …`.

**Spark**: master from the `spark_default` connection (default `local[2]`:
`AIRFLOW_CONN_SPARK_DEFAULT='{"conn_type": "spark", "host": "local[2]"}'`); Spark settings from
`conf/` (`REELHOUSE_ENV`).
"""

_cfg = get_config()
_conf = {k: v for k, v in _cfg.spark.conf.items()}

with DAG(
    dag_id="reelhouse_nightly",
    description="landing → bronze → silver (→ gold, gate, publish in later steps), one UTC day per run",
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
    tasks = {}
    for step in STEPS.values():
        tasks[step.name] = SparkSubmitOperator(
            task_id=step.name,
            doc_md=step.description,
            application=step.application,
            application_args=["--date", "{{ ds }}"],
            conn_id="spark_default",
            name=f"reelhouse-{step.name}-{{{{ ds }}}}",
            conf=_conf,
            env_vars={"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable},
            outlets=[Asset(name=t, uri=asset_uri(t, _cfg.paths.lake)) for t in step.outputs],
        )
    for step in STEPS.values():
        for up in step.upstream:
            tasks[up] >> tasks[step.name]
