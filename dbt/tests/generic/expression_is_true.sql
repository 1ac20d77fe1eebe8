{#- expression_is_true: the SQL boolean `expression` holds on every row (optionally only rows
    matching `where`, via the standard test config). Fails with the rows where it does not. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
