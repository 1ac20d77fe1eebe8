-- One row per published video (silver.videos), creator pseudonymised.
select
    video_id,
    {{ pseudonymise('creator_id') }}        as creator_key,
    published_at,
    published_date,
    video_duration_ms,
    hashtags,
    {{ adapter.dispatch('list_length', 'reelhouse')('hashtags') }} as hashtag_count,
    sound_id,
    caption,
    creator_region
from {{ ref('stg_silver__videos') }}
