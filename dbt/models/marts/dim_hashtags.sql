-- One row per normalised hashtag ever published (silver.video_hashtags).
select
    hashtag,
    min(published_at)                       as first_published_at,
    min(published_date)                     as first_published_date,
    max(published_date)                     as last_published_date,
    count(distinct video_id)                as videos,
    count(distinct creator_id)              as creators
from {{ ref('stg_silver__video_hashtags') }}
group by hashtag
