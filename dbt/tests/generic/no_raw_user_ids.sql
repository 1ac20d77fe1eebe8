{#- no_raw_user_ids: no text column of the model holds a raw user id (any user_id or creator_id
    seen in silver.events or silver.videos). Marts expose user_key / creator_key only. Fails with
    (column_name, value) for every leak. The model's text columns are read from the database when
    the test runs, so a column added later is covered without editing the test. -#}
{% test no_raw_user_ids(model) %}
{%- set text_columns = [] -%}
{%- if execute -%}
  {%- for col in adapter.get_columns_in_relation(model) if col.is_string() -%}
    {%- do text_columns.append(col.name) -%}
  {%- endfor -%}
{%- endif %}
with raw_ids as (
    select user_id as raw_id from {{ ref('stg_silver__events') }}
    union
    select creator_id from {{ ref('stg_silver__events') }} where creator_id is not null
    union
    select creator_id from {{ ref('stg_silver__videos') }}
)
{%- if text_columns | length == 0 %}
select cast(null as string) as column_name, cast(null as string) as value where false
{%- else %}
{%- for c in text_columns %}
select '{{ c }}' as column_name, cast({{ adapter.quote(c) }} as string) as value
from {{ model }}
where {{ adapter.quote(c) }} in (select raw_id from raw_ids)
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- endif %}
{% endtest %}
