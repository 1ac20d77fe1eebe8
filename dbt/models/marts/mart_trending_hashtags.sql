-- Hashtag rankings per ds and region (gold.hashtag_rankings: every hashtag in the top N by
-- engagement or by trend score), with movement and whether it is in the day's trending top N
-- (gold.trending_hashtags). Top hashtag of the latest date: region = 'ALL', trend_rank = 1, max(ds).
select
    r.ds,
    r.region,
    r.trend_rank,
    r.hashtag,
    r.trend_score,
    r.engaged_users,
    r.trend_rank_change,
    r.is_new_entry,
    r.engagement_rank,
    r.engagement_rank_change,
    r.top_video_ids,
    r.distinct_videos                       as active_videos,
    r.distinct_creators                     as active_creators,
    t.trend_rank is not null                as is_trending_top_n,
    coalesce(t.is_new_item, false)          as is_new_item,
    t.expected_engaged_users
from {{ ref('stg_gold__hashtag_rankings') }} as r
left join {{ ref('stg_gold__trending_hashtags') }} as t
    on t.ds = r.ds and t.region = r.region and t.hashtag = r.hashtag
