{#- json_number(column, path): the number at JSONPath `path` ('$.a.b') of a JSON text column, as
    double; NULL when absent or not finite. Python's json.dumps writes NaN / Infinity (not JSON),
    so those tokens are read as null first. -#}
{% macro json_number(column, path) -%}
    {{ return(adapter.dispatch('json_number', 'reelhouse')(column, path)) }}
{%- endmacro %}

{% macro default__json_number(column, path) -%}
    try_cast(json_extract_string(
        replace(replace(replace({{ column }}, '-Infinity', 'null'), 'Infinity', 'null'), 'NaN', 'null'),
        '{{ path }}') as double)
{%- endmacro %}

{% macro spark__json_number(column, path) -%}
    cast(get_json_object(
        replace(replace(replace({{ column }}, '-Infinity', 'null'), 'Infinity', 'null'), 'NaN', 'null'),
        '{{ path }}') as double)
{%- endmacro %}
