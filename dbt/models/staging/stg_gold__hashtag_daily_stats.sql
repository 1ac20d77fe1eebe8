-- gold.hashtag_daily_stats, renamed and cast: one row per ds, region (incl. ALL) and hashtag.
select
    ds,
    region,
    hashtag,
    cast(impressions as bigint)             as impressions,
    cast(plays as bigint)                   as plays,
    cast(unique_viewers as bigint)          as unique_viewers,
    cast(total_watch_time_ms as bigint)     as watch_time_ms,
    avg_watch_time_ms,
    completion_rate,
    cast(likes as bigint)                   as likes,
    cast(shares as bigint)                  as shares,
    cast(comments as bigint)                as comments,
    cast(follows as bigint)                 as follows,
    cast(engaged_users as bigint)           as engaged_users,
    engaged_users_weighted,
    cast(new_videos as bigint)              as new_videos,
    cast(distinct_videos as bigint)         as distinct_videos,
    cast(distinct_creators as bigint)       as distinct_creators
from {{ source('gold', 'hashtag_daily_stats') }}
