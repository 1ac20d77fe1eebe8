-- ops.quality_results, renamed and cast: one row per check of every quality-gate run.
select
    ds,
    run_id                                  as gate_run_id,
    validated_at,
    verdict,
    table_name,
    suite                                   as suite_name,
    cast(delta_version as bigint)           as delta_version,
    expectation,
    expectation_type,
    column_name,
    success                                 as is_success,
    severity,
    observed_value                          as observed_value_json,
    details                                 as details_json
from {{ source('ops', 'quality_results') }}
