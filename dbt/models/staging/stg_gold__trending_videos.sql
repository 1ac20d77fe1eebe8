-- gold.trending_videos, renamed and cast: the top N videos per ds and region (incl. ALL).
select
    ds,
    region,
    cast(rank as integer)                   as trend_rank,
    video_id,
    creator_id,
    trend_score,
    cast(engaged_users as bigint)           as engaged_users,
    expected                                as expected_engaged_users,
    is_new_item
from {{ source('gold', 'trending_videos') }}
