{#- unique_combination_of_columns: no two rows share the same values of `combination_of_columns`
    (the model's grain). Fails with each duplicated key and its count. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
