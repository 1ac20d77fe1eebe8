-- Per ds, region (the viewer's; plus 'ALL') and creator: plays of the creator's videos, videos
-- with any event, distinct engaged users (play, like, share, comment or follow on one of the
-- creator's videos — gold's definition, counted across videos, not summed) and follows gained
-- (follow events naming the creator). Creators are raw ids here; marts hash them.
with video_creator as (
    select video_id, creator_id from {{ ref('stg_silver__videos') }}
),
stats as (
    select ds, region, creator_id,
           sum(plays) as plays,
           sum(impressions) as impressions,
           sum(likes) as likes,
           count(*) as active_videos
    from {{ ref('stg_gold__video_daily_stats') }}
    where creator_id is not null
    group by ds, region, creator_id
),
engagement as (
    select e.event_date as ds, e.region, coalesce(e.creator_id, vc.creator_id) as creator_id, e.user_id, e.event_type
    from {{ ref('stg_silver__events') }} as e
    left join video_creator as vc on e.video_id = vc.video_id
    where e.event_type in ('play', 'like', 'share', 'comment', 'follow')
),
engaged as (
    select ds, region, creator_id,
           count(distinct user_id) as engaged_users,
           count(case when event_type = 'follow' then 1 end) as follows_gained
    from engagement where creator_id is not null
    group by ds, region, creator_id
    union all
    select ds, 'ALL' as region, creator_id,
           count(distinct user_id) as engaged_users,
           count(case when event_type = 'follow' then 1 end) as follows_gained
    from engagement where creator_id is not null
    group by ds, creator_id
)
select
    coalesce(s.ds, g.ds)                    as ds,
    coalesce(s.region, g.region)            as region,
    coalesce(s.creator_id, g.creator_id)    as creator_id,
    coalesce(s.plays, 0)                    as plays,
    coalesce(s.impressions, 0)              as impressions,
    coalesce(s.likes, 0)                    as likes,
    coalesce(s.active_videos, 0)            as active_videos,
    coalesce(g.engaged_users, 0)            as engaged_users,
    coalesce(g.follows_gained, 0)           as follows_gained
from stats as s
full outer join engaged as g
    on s.ds = g.ds and s.region = g.region and s.creator_id = g.creator_id
