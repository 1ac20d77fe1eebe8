"""reelhouse_retrain: retrain the ranking model when the nightly's quality gate passed a day.

Thin by design: schedule (the ``reelhouse.gate_passed`` Asset), one task, docs. The work is
``reelhouse.ml.model.retrain``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, task

from reelhouse.config import get_config
from reelhouse.pipeline import asset_uri

_cfg = get_config()
GATE_PASSED = Asset(name="reelhouse.gate_passed", uri=asset_uri("ops.gate_passed", _cfg.paths.lake))

DOC_MD = """
### reelhouse_retrain

Runs whenever `reelhouse_nightly`'s quality gate passes a day (the **`reelhouse.gate_passed`**
Asset; its event carries the day, `extra = {"ds": …}` — never before the gate, so a promotion
never races it). Trains a LightGBM challenger predicting `label_complete` on the 3 days before that
day and validates it on that day (a time split, never random); scores the current `champion` and the
popularity baseline on the same rows; logs params, metrics (overall and per cohort: new users, new
videos, trending videos), the dataset manifests and the model to MLflow (`<lake>/_mlflow/` by
default) and registers a version. The `champion` alias moves only when the day's quality gate
passed and the challenger beats the champion's AUC by the margin. Every decision, with its reason,
lands in `ml.model_promotions`; the metrics are in this task's log. Roll back with
`reelhouse model rollback`.

**Which day**: the day of the triggering Asset event (`extra["ds"]`), never "the newest day there
is" — a retrain that runs late still trains for the day whose gate passed. Several gated days
queued into one run (Airflow merges Asset events while a run is active): the newest of *those*
days. A manual run names its day: its conf's `ds`
(`airflow dags trigger reelhouse_retrain -c '{"ds": "2024-06-03"}'`), else its logical date
(`airflow dags test reelhouse_retrain 2024-06-03`); with neither it fails saying so. A day without enough history (the lake's first day:
an empty training window) is a **skip** with the reason, not a failure.
"""

with DAG(
    dag_id="reelhouse_retrain",
    description="LightGBM challenger vs champion on the gated day of the Asset event; MLflow registry; audited promotion",
    schedule=[GATE_PASSED],
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC_MD,
    tags=["reelhouse", "ml", "mlflow"],
) as dag:

    @task(task_id="retrain", retries=0,
          outlets=[Asset(name="ml.model_promotions", uri=asset_uri("ml.model_promotions", _cfg.paths.lake))])
    def retrain_task(triggering_asset_events=None, dag_run=None, ds: str | None = None) -> dict:
        from datetime import date

        from airflow.sdk.exceptions import AirflowSkipException

        from reelhouse.config import get_config
        from reelhouse.lake import Lake
        from reelhouse.ml.model import NotEnoughDataError, retrain

        cfg = get_config()
        lake = Lake.from_config(cfg)
        gated = [e.extra["ds"] for events in (triggering_asset_events or {}).values() for e in events
                 if (e.extra or {}).get("ds")]
        conf = (dag_run.conf or {}) if dag_run is not None else {}
        if gated:
            day = max(date.fromisoformat(d) for d in gated)
        elif conf.get("ds"):
            day = date.fromisoformat(conf["ds"])
        elif ds:
            day = date.fromisoformat(ds)
        else:
            raise ValueError("no reelhouse.gate_passed Asset event and no ds in the run's conf: trigger with "
                             "-c '{\"ds\": \"YYYY-MM-DD\"}' (the day whose gate passed) or give the run a logical date")
        try:
            result = retrain(lake, cfg, day)
        except NotEnoughDataError as exc:
            print(f"retrain {day}: skipped — {exc}", flush=True)
            raise AirflowSkipException(f"retrain {day}: {exc}") from exc
        print(result.summary(), flush=True)
        return {"version": result.version, "promoted": result.promoted, "reason": result.reason,
                "auc": result.metrics["challenger"]["auc"]}

    retrain_task()
