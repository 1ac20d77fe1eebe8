-- Freshness of the main lake tables: newest date (ds; silver.events: event_date) and its row count,
-- as of this build.
{%- set tables = [
    ('silver.events', 'stg_silver__events', 'event_date'),
    ('gold.video_daily_stats', 'stg_gold__video_daily_stats', 'ds'),
    ('gold.hashtag_daily_stats', 'stg_gold__hashtag_daily_stats', 'ds'),
    ('gold.hashtag_trend_scores', 'stg_gold__hashtag_trend_scores', 'ds'),
    ('gold.trending_videos', 'stg_gold__trending_videos', 'ds'),
    ('gold.trending_hashtags', 'stg_gold__trending_hashtags', 'ds'),
    ('gold.hashtag_rankings', 'stg_gold__hashtag_rankings', 'ds'),
    ('ops.quality_results', 'stg_ops__quality_results', 'ds'),
] %}
{%- for table_name, model, date_column in tables %}
select
    '{{ table_name }}'                      as table_name,
    max({{ date_column }})                  as latest_ds,
    count(case when {{ date_column }} = (select max({{ date_column }}) from {{ ref(model) }}) then 1 end) as rows_latest_ds,
    count(distinct {{ date_column }})       as dates,
    count(*)                                as total_rows,
    current_timestamp                       as checked_at
from {{ ref(model) }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
