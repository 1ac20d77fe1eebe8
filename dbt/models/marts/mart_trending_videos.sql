-- The top N trending videos per ds and region (gold.trending_videos) with the day's plays and
-- likes in that region (gold.video_daily_stats) and a pseudonymised creator.
select
    t.ds,
    t.region,
    t.trend_rank,
    t.video_id,
    {{ pseudonymise('coalesce(t.creator_id, v.creator_id)') }} as creator_key,
    t.trend_score,
    t.engaged_users,
    t.expected_engaged_users,
    t.is_new_item,
    coalesce(s.plays, 0)                    as plays,
    coalesce(s.likes, 0)                    as likes,
    coalesce(s.impressions, 0)              as impressions,
    s.watch_time_ms,
    s.completion_rate
from {{ ref('stg_gold__trending_videos') }} as t
left join {{ ref('stg_gold__video_daily_stats') }} as s
    on s.ds = t.ds and s.region = t.region and s.video_id = t.video_id
left join {{ ref('stg_silver__videos') }} as v
    on v.video_id = t.video_id
