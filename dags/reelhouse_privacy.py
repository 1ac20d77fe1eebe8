"""reelhouse_privacy: process right-to-be-forgotten requests every day (``ops.erasure_requests``).

Thin by design: schedule, wiring and docs; the work is ``reelhouse.ops.erasure``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

DOC_MD = """
### reelhouse_privacy

Daily. Erases every user with a pending row in **`ops.erasure_requests`** (filed by
`reelhouse forget --user U --queue`, or by a support tool appending rows), following the Delta
GDPR blueprint: bronze first, then silver and gold; the landing files; the online store; the BI
DuckDB file; training-dataset manifests marked superseded (`reelhouse.ops.erasure`, README
"Privacy"). Each request gets an audit row in **`ops.erasures`** (no raw id in it).

1. `erase_pending` — holds the lake's run lock (never beside a nightly step), erases every pending
   request in one batch (each table rewritten once for all of them), deletes the request rows. A request interrupted between tables resumes
   on the retry; a request already erased is a no-op. Summary per request: rows deleted and
   redacted, landing files rewritten, online entities and BI rows deleted.
2. `complete_due` — VACUUMs the tables of erasures older than `privacy.erasure_retention_hours`
   (the deleted rows were readable by time travel until then) and marks them `complete`. Warns
   about requests past `privacy.deadline_days` (one month, GDPR Art. 12(3)).
"""

with DAG(
    dag_id="reelhouse_privacy",
    description="erase users on request: every table, landing files, online store, BI; audited in ops.erasures",
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    doc_md=DOC_MD,
    tags=["reelhouse", "privacy", "ops"],
    default_args={"retries": 2, "retry_delay": pendulum.duration(minutes=10)},
) as dag:

    @task(task_id="erase_pending", doc_md="Erase every pending request in ops.erasure_requests (lake run lock held).")
    def erase_pending() -> dict:
        from reelhouse.config import get_config
        from reelhouse.lake import Lake
        from reelhouse.lake.locks import lake_lock
        from reelhouse.ops.erasure import erase_batch, pending_requests

        cfg = get_config()
        lake = Lake.from_config(cfg)
        log = lambda m: print(m, flush=True)  # noqa: E731
        done, noop = [], []
        with lake_lock(lake.root, "reelhouse_privacy", timeout_seconds=cfg.lake_lock_timeout_seconds, log=log):
            for r in erase_batch(lake, cfg, pending_requests(lake), log=log):
                (noop if r.noop else done).append(r.request_id)
        print(f"privacy: {len(done)} requests erased, {len(noop)} already done", flush=True)
        return {"erased": done, "noop": noop}

    @task(task_id="complete_due", doc_md="Vacuum the erasures whose retention passed; mark them complete.")
    def complete_due(data_interval_end=None) -> dict:
        from datetime import datetime, timedelta, timezone

        import pyarrow.compute as pc

        from reelhouse.config import get_config
        from reelhouse.lake import Lake
        from reelhouse.lake.locks import lake_lock
        from reelhouse.ops.erasure import AUDIT, vacuum_due

        cfg = get_config()
        lake = Lake.from_config(cfg)
        log = lambda m: print(m, flush=True)  # noqa: E731
        now = datetime.now(timezone.utc)
        with lake_lock(lake.root, "reelhouse_privacy", timeout_seconds=cfg.lake_lock_timeout_seconds, log=log):
            completed = vacuum_due(lake, cfg, now=now, log=log)
        late = []
        if lake.exists(AUDIT):
            open_ = lake.read_arrow(AUDIT, filter=pc.field("status") != "complete").to_pylist()
            late = [r["request_id"] for r in open_
                    if r["requested_at"] + timedelta(days=cfg.privacy.deadline_days) < now]
        print(f"privacy: {len(completed)} erasures completed by vacuum"
              + (f"; WARNING {len(late)} past the {cfg.privacy.deadline_days}-day deadline: {', '.join(late)}" if late else ""),
              flush=True)
        return {"completed": completed, "overdue": late}

    erase_pending() >> complete_due()
