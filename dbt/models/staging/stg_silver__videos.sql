-- silver.videos, renamed and cast: one row per published video.
select
    video_id,
    creator_id,
    published_at,
    published_date,
    cast(video_duration_ms as bigint)   as video_duration_ms,
    sound_id,
    caption,
    hashtags,
    coalesce(region, 'UNKNOWN')         as creator_region,
    publish_event_id
from {{ source('silver', 'videos') }}
