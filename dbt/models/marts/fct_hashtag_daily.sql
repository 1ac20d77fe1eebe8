-- A hashtag's daily time series per region (incl. 'ALL'): gold.hashtag_daily_stats with the day's
-- trend score (0 when the hashtag was not scored that day).
select
    s.ds,
    s.region,
    s.hashtag,
    s.engaged_users,
    s.impressions,
    s.plays,
    s.likes,
    s.shares,
    s.comments,
    s.watch_time_ms,
    s.completion_rate,
    s.new_videos,
    s.distinct_videos                       as active_videos,
    s.distinct_creators                     as active_creators,
    coalesce(t.trend_score, 0.0)            as trend_score,
    t.expected_engaged_users,
    coalesce(t.is_new_item, false)          as is_new_item
from {{ ref('stg_gold__hashtag_daily_stats') }} as s
left join {{ ref('stg_gold__hashtag_trend_scores') }} as t
    on t.ds = s.ds and t.region = s.region and t.hashtag = s.hashtag
