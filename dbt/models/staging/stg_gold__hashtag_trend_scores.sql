-- gold.hashtag_trend_scores, renamed and cast: one row per ds, region (incl. ALL) and scored hashtag.
select
    ds,
    region,
    hashtag,
    cast(engaged_users as bigint)           as engaged_users,
    engaged_users_weighted,
    expected                                as expected_engaged_users,
    cast(baseline_days_with_data as integer) as baseline_days_with_data,
    z_score,
    raw_score,
    trend_score,
    is_new_item
from {{ source('gold', 'hashtag_trend_scores') }}
