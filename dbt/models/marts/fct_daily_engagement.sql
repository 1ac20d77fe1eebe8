-- Daily engagement per ds and region (incl. 'ALL'): gold.video_daily_stats summed over videos
-- (so every count reconciles with gold), active users from silver.events, new videos from silver.videos.
with video_totals as (
    select
        ds,
        region,
        sum(impressions)                                        as impressions,
        sum(plays)                                              as plays,
        sum(watch_time_ms)                                      as watch_time_ms,
        sum(completion_rate * plays)                            as completion_weighted,
        sum(case when completion_rate is not null then plays else 0 end) as plays_with_completion,
        sum(likes)                                              as likes,
        sum(shares)                                             as shares,
        sum(comments)                                           as comments,
        sum(follows)                                            as follows,
        count(case when plays > 0 or impressions > 0 or likes > 0 or shares > 0
                        or comments > 0 or follows > 0 then 1 end) as active_videos
    from {{ ref('stg_gold__video_daily_stats') }}
    group by ds, region
),
published as (
    select published_date as ds, creator_region as region, count(*) as new_videos
    from {{ ref('stg_silver__videos') }}
    group by published_date, creator_region
    union all
    select published_date as ds, 'ALL' as region, count(*) as new_videos
    from {{ ref('stg_silver__videos') }}
    group by published_date
)
select
    v.ds,
    v.region,
    v.impressions,
    v.plays,
    v.watch_time_ms,
    {{ safe_divide('v.watch_time_ms', 'v.plays') }}                          as avg_watch_time_ms,
    {{ safe_divide('v.completion_weighted', 'v.plays_with_completion') }}    as completion_rate,
    v.likes,
    v.shares,
    v.comments,
    v.follows,
    {{ safe_divide('v.likes', 'v.plays') }}                                  as like_rate,
    coalesce(a.active_users, 0)                                             as active_users,
    v.active_videos,
    coalesce(p.new_videos, 0)                                               as new_videos
from video_totals as v
left join {{ ref('int_daily_active_users') }} as a on a.ds = v.ds and a.region = v.region
left join published as p on p.ds = v.ds and p.region = v.region
