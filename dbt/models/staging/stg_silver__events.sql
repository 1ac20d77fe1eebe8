-- silver.events, renamed and cast: one row per valid, deduplicated interaction event.
select
    event_id,
    event_type,
    event_time                          as event_at,
    event_date,
    landing_date,
    user_id,
    video_id,
    creator_id,
    cast(play_time_ms as bigint)        as play_time_ms,
    cast(video_duration_ms as bigint)   as video_duration_ms,
    coalesce(region, 'UNKNOWN')         as region,
    platform,
    app_version
from {{ source('silver', 'events') }}
