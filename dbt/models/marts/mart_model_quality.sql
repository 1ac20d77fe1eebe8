-- Every champion/challenger decision and rollback of the ranking model (ml.model_promotions), with
-- the metrics of metrics_json spread into columns and whether the decision's version is the
-- champion now (champion after the latest decision). Empty until the first retrain.
{%- set metrics = ['rows', 'positive_rate', 'auc', 'log_loss', 'normalized_entropy', 'calibration', 'ndcg_at_10'] %}
with decisions as (
    select * from {{ ref('stg_ml__model_promotions') }}
),
current_champion as (
    select champion_version_after as model_version
    from decisions
    order by decided_at desc
    limit 1
)
select
    d.decided_at,
    d.decided_date,
    d.decision_id,
    d.model_name,
    d.model_version,
    d.action,
    d.reason,
    d.valid_date,
    d.gate_verdict,
    d.challenger_auc,
    d.champion_auc,
    d.baseline_auc,
    d.challenger_auc - d.champion_auc                       as auc_gain_vs_champion,
    d.challenger_auc - d.baseline_auc                       as auc_gain_vs_baseline,
    coalesce(d.model_version = c.model_version, false)      as is_current_champion,
    d.previous_champion_version,
    d.champion_version_after,
    d.mlflow_run_id,
    cast({{ json_number('d.metrics_json', '$.challenger.rows') }} as bigint) as validation_rows,
    {%- for who in ['challenger', 'champion', 'baseline'] %}
    {%- for m in metrics if m != 'rows' and not (m == 'auc') %}
    {{ json_number('d.metrics_json', '$.' ~ who ~ '.' ~ m) }} as {{ who }}_{{ m }},
    {%- endfor %}
    {%- endfor %}
    d.metrics_json
from decisions as d
left join current_champion as c on true
