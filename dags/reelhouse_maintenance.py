"""reelhouse_maintenance: weekly retention, compaction with Z-order, checkpoints and vacuum.

Thin by design: schedule, wiring and docs; the work is ``reelhouse.ops.maintenance``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

DOC_MD = """
### reelhouse_maintenance

Weekly (Sunday 04:00 UTC, after the nightly's usual window). Three tasks, each holding the lake's
run lock — the lock every nightly step takes, so maintenance and a nightly never touch a table at
once (on an object store, where there is no lock, Delta's optimistic concurrency fails a clashing
OPTIMIZE and the next run retries it). Each writes its rows to **`ops.table_maintenance`**.

1. `retention` — drops partitions past each layer's retention (`retention:` in conf/, days back
   from the run's data interval end) and old landing date folders.
2. `optimize` — compacts every partition holding two or more small files, Z-ordered by the
   columns readers filter by (`maintenance.zorder_by`: `user_id`, `video_id`, `hashtag`).
   Contents are unchanged (a `dataChange=false` commit); a compact partition is left alone.
3. `vacuum` — a checkpoint per table, then VACUUM of files replaced more than
   `retention.delta_history_hours` ago (time travel reaches that far back).

By hand: `reelhouse maintain --date YYYY-MM-DD [--steps retention,optimize,vacuum]`.
"""


def _run(step: str, data_interval_end) -> dict:
    from reelhouse.config import get_config
    from reelhouse.lake import Lake
    from reelhouse.ops.maintenance import maintain

    cfg = get_config()
    day = data_interval_end.date()
    report = maintain(Lake.from_config(cfg), cfg, day, steps=[step], log=lambda m: print(m, flush=True))
    return {"run_id": report.run_id, "operations": len(report.rows)}


with DAG(
    dag_id="reelhouse_maintenance",
    description="retention per layer, compaction + Z-order, checkpoints, vacuum (ops.table_maintenance)",
    schedule="0 4 * * 0",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    doc_md=DOC_MD,
    tags=["reelhouse", "maintenance", "ops"],
    default_args={"retries": 1, "retry_delay": pendulum.duration(minutes=15)},
) as dag:

    @task(task_id="retention", doc_md="Drop partitions and landing folders past retention.")
    def retention(data_interval_end=None) -> dict:
        return _run("retention", data_interval_end)

    @task(task_id="optimize", doc_md="Compact small files per partition, Z-ordered by the readers' filter columns.")
    def optimize(data_interval_end=None) -> dict:
        return _run("optimize", data_interval_end)

    @task(task_id="vacuum", doc_md="Checkpoint every table; vacuum files past retention.delta_history_hours.")
    def vacuum(data_interval_end=None) -> dict:
        return _run("vacuum", data_interval_end)

    retention() >> optimize() >> vacuum()
