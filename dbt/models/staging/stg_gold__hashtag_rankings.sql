-- gold.hashtag_rankings, renamed and cast: hashtags in the top N by engagement or trend, per ds and region.
select
    ds,
    region,
    hashtag,
    cast(trend_rank as integer)             as trend_rank,
    cast(trend_rank_change as integer)      as trend_rank_change,
    cast(engagement_rank as integer)        as engagement_rank,
    cast(engagement_rank_change as integer) as engagement_rank_change,
    is_new_entry,
    cast(engaged_users as bigint)           as engaged_users,
    trend_score,
    cast(distinct_creators as bigint)       as distinct_creators,
    cast(distinct_videos as bigint)         as distinct_videos,
    top_videos                              as top_video_ids
from {{ source('gold', 'hashtag_rankings') }}
