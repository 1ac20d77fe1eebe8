-- Creators ranked per ds and region (incl. 'ALL') by plays of their videos (ties: engaged users,
-- then creator_key), creator pseudonymised.
with scored as (
    select
        ds,
        region,
        {{ pseudonymise('creator_id') }}    as creator_key,
        plays,
        impressions,
        likes,
        engaged_users,
        follows_gained,
        active_videos
    from {{ ref('int_creator_daily_activity') }}
)
select
    ds,
    region,
    row_number() over (partition by ds, region order by plays desc, engaged_users desc, creator_key) as leaderboard_rank,
    creator_key,
    plays,
    impressions,
    likes,
    engaged_users,
    follows_gained,
    active_videos
from scored
