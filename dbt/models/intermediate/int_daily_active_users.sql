-- Distinct active users per ds and actor region, plus region 'ALL' (a user active in two regions
-- counts once in ALL). Active = any event other than publish (impression, play, like, share,
-- comment, follow) on that UTC date.
with activity as (
    select event_date as ds, region, user_id
    from {{ ref('stg_silver__events') }}
    where event_type <> 'publish'
)
select ds, region, count(distinct user_id) as active_users
from activity
group by ds, region
union all
select ds, 'ALL' as region, count(distinct user_id) as active_users
from activity
group by ds
