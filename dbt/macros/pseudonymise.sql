{#-
  pseudonymise(column): the keyed pseudonym of a user id (users and creators alike):
  lower-case hex SHA-256 of  key || ':' || id  (64 characters); NULL for a NULL id.

  The key is never in SQL text. DuckDB: the variable `reelhouse_pseudonym_key`, set on every
  connection by the reelhouse.dbt_pseudonym plugin from $REELHOUSE_PSEUDONYM_KEY; unset -> the
  query fails with an error naming the variable. Spark: Spark SQL variable substitution reads
  ${env:REELHOUSE_PSEUDONYM_KEY} on the driver / Thrift server; unset -> raise_error (unverified
  here: no Spark Thrift server on this machine).
  Why not HMAC: neither DuckDB nor Spark SQL has an HMAC function; the id is a short fixed-format
  string and the pseudonym is not used as a MAC, so the prefix construction's length-extension
  weakness does not apply.
-#}
{% macro pseudonymise(column) -%}
    {{ return(adapter.dispatch('pseudonymise', 'reelhouse')(column)) }}
{%- endmacro %}

{% macro default__pseudonymise(column) -%}
    case when {{ column }} is not null then sha256(
        case when getvariable('reelhouse_pseudonym_key') is null
             then error('REELHOUSE_PSEUDONYM_KEY is not set: the marts hash user ids with a key from the environment (reelhouse dbt … provides one)')::varchar
             else cast(getvariable('reelhouse_pseudonym_key') as varchar) end
        || ':' || {{ column }}) end
{%- endmacro %}

{% macro spark__pseudonymise(column) -%}
    case when {{ column }} is not null then sha2(concat(
        case when '${env:REELHOUSE_PSEUDONYM_KEY}' = concat('$', '{env:REELHOUSE_PSEUDONYM_KEY}')
             then raise_error('REELHOUSE_PSEUDONYM_KEY is not set on the Spark driver')
             else '${env:REELHOUSE_PSEUDONYM_KEY}' end,
        ':', {{ column }}), 256) end
{%- endmacro %}
