-- gold.video_daily_stats, renamed and cast: one row per ds, region (incl. ALL) and video.
select
    ds,
    region,
    video_id,
    creator_id,
    published_date,
    is_new_video,
    cast(impressions as bigint)             as impressions,
    cast(plays as bigint)                   as plays,
    cast(unique_viewers as bigint)          as unique_viewers,
    cast(total_watch_time_ms as bigint)     as watch_time_ms,
    avg_watch_time_ms,
    avg_watch_ratio,
    completion_rate,
    cast(likes as bigint)                   as likes,
    cast(shares as bigint)                  as shares,
    cast(comments as bigint)                as comments,
    cast(follows as bigint)                 as follows,
    cast(engaged_users as bigint)           as engaged_users,
    engaged_users_weighted
from {{ source('gold', 'video_daily_stats') }}
