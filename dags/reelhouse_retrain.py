"""reelhouse_retrain: retrain the ranking model when the nightly has written a day's training examples.

Thin by design: schedule (the ``gold.training_examples`` Asset), one task, docs. The work is
``reelhouse.model.retrain``.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset, task

from reelhouse.config import get_config
from reelhouse.pipeline import asset_uri

_cfg = get_config()
EXAMPLES = Asset(name="gold.training_examples", uri=asset_uri("gold.training_examples", _cfg.paths.lake))

DOC_MD = """
### reelhouse_retrain

Runs whenever `reelhouse_nightly` updates the **`gold.training_examples`** Asset. Trains a LightGBM
challenger predicting `label_complete` on the 3 days before the newest day of examples and
validates it on that day (a time split, never random); scores the current `champion` and the
popularity baseline on the same rows; logs params, metrics (overall and per cohort: new users, new
videos, trending videos), the dataset manifests and the model to MLflow (`<lake>/_mlflow/` by
default) and registers a version. The `champion` alias moves only when the day's quality gate
passed and the challenger beats the champion's AUC by the margin. Every decision, with its reason,
lands in `ml.model_promotions`; the metrics are in this task's log. Roll back with
`reelhouse model rollback`.
"""

with DAG(
    dag_id="reelhouse_retrain",
    description="LightGBM challenger vs champion on the newest training day; MLflow registry; audited promotion",
    schedule=[EXAMPLES],
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    doc_md=DOC_MD,
    tags=["reelhouse", "ml", "mlflow"],
) as dag:

    @task(task_id="retrain", retries=0,
          outlets=[Asset(name="ml.model_promotions", uri=asset_uri("ml.model_promotions", _cfg.paths.lake))])
    def retrain_task() -> dict:
        from reelhouse.config import get_config
        from reelhouse.lake import Lake
        from reelhouse.model import latest_examples_day, retrain

        cfg = get_config()
        lake = Lake.from_config(cfg)
        result = retrain(lake, cfg, latest_examples_day(lake))
        print(result.summary(), flush=True)
        return {"version": result.version, "promoted": result.promoted, "reason": result.reason,
                "auc": result.metrics["challenger"]["auc"]}

    retrain_task()
