-- The quality gate's verdict per ds: the latest gate run of each date (ops.quality_results), with
-- the number of checks, blocking failures and warnings.
with runs as (
    select ds, gate_run_id, max(validated_at) as validated_at
    from {{ ref('stg_ops__quality_results') }}
    group by ds, gate_run_id
),
latest as (
    select ds, gate_run_id, validated_at,
           row_number() over (partition by ds order by validated_at desc, gate_run_id desc) as recency
    from runs
)
select
    q.ds,
    max(q.verdict)                                                          as verdict,
    count(*)                                                                as checks,
    count(case when not q.is_success and q.severity = 'block' then 1 end)   as failed_checks,
    count(case when not q.is_success and q.severity = 'warn' then 1 end)    as warned_checks,
    count(distinct q.table_name)                                            as tables_checked,
    l.gate_run_id,
    l.validated_at
from {{ ref('stg_ops__quality_results') }} as q
join latest as l on l.ds = q.ds and l.gate_run_id = q.gate_run_id and l.recency = 1
group by q.ds, l.gate_run_id, l.validated_at
