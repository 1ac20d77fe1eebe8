{#- list_length(column): number of elements of a list/array column (0 for an empty list, NULL for NULL). -#}
{% macro default__list_length(column) -%} len({{ column }}) {%- endmacro %}
{% macro spark__list_length(column) -%} size({{ column }}) {%- endmacro %}
