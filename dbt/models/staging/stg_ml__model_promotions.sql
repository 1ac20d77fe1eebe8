-- ml.model_promotions, renamed and cast: one row per champion/challenger decision or rollback.
select
    decision_id,
    model_name,
    action,
    cast(version as bigint)                 as model_version,
    cast(previous_champion as bigint)       as previous_champion_version,
    cast(champion_after as bigint)          as champion_version_after,
    reason,
    run_id                                  as mlflow_run_id,
    valid_day                               as valid_date,
    gate_verdict,
    challenger_auc,
    champion_auc,
    baseline_auc,
    metrics_json,
    decided_at,
    ds                                      as decided_date
from {{ source('ml', 'model_promotions') }}
