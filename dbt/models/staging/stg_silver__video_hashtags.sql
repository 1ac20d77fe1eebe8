-- silver.video_hashtags, renamed and cast: one row per (video, normalised hashtag).
select
    video_id,
    hashtag,
    cast(position as integer)           as hashtag_position,
    creator_id,
    published_at,
    published_date
from {{ source('silver', 'video_hashtags') }}
