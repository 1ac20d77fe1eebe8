"""gold daily stats on tiny frames: counts, watch ratio, completion, regions, spam weighting."""

from __future__ import annotations

import datetime as dt

import pytest

from reelhouse.lake.catalog import get_table, spark_schema
from reelhouse.gold import daily_stats as g

D = dt.date(2024, 6, 1)
T = dt.datetime(2024, 6, 1, 12)


def events_df(spark, rows):
    """rows: (event_type, user, video, region, play_ms, duration_ms)"""
    cols = "event_date date, region string, video_id string, user_id string, event_type string, play_time_ms bigint, video_duration_ms bigint"
    return spark.createDataFrame([(D, r, v, u, et, p, dur) for et, u, v, r, p, dur in rows], cols)


def videos_df(spark, rows):
    spec = get_table("silver.videos")
    return spark.createDataFrame(
        [(v, c, T, 1000, None, None, tags, reg, f"p-{v}", "f", pd) for v, c, pd, tags, reg in rows], spark_schema(spec)
    )


def partials(events):
    return g.viewer_partials(events, completion_threshold=0.9)


def hashtags_df(spark, rows):
    spec = get_table("silver.video_hashtags")
    return spark.createDataFrame([(v, h, i, c, T, D) for i, (v, h, c) in enumerate(rows)], spark_schema(spec))


ROWS = [
    ("impression", "u1", "v1", "US", None, None),
    ("play", "u1", "v1", "US", 9_500, 10_000),   # complete (>= 90 %)
    ("like", "u1", "v1", "US", None, None),
    ("impression", "u2", "v1", "us", None, None),
    ("play", "u2", "v1", "us", 2_000, 10_000),   # not complete
    ("play", "u2", "v1", "us", 25_000, 10_000),  # looped: ratio 2.5, complete
    ("play", "u3", "v1", None, 4_000, None),     # unknown duration: counted as a play, not in ratios
    ("share", "u3", "v1", None, None, None),
    ("impression", "u4", "v2", "BR", None, None),
]


def test_video_stats_per_region_and_all(spark):
    ev = events_df(spark, ROWS)
    vids = videos_df(spark, [("v1", "c1", D, ["dance"], "US"), ("v2", "c2", D - dt.timedelta(days=3), [], "BR")])
    out = {(r["region"], r["video_id"]): r for r in g.video_daily_stats(partials(ev), vids, spam_event_cap=10).collect()}
    assert set(out) == {("US", "v1"), ("UNKNOWN", "v1"), ("ALL", "v1"), ("BR", "v2"), ("ALL", "v2")}
    a = out[("ALL", "v1")]
    assert (a["impressions"], a["plays"], a["unique_viewers"], a["likes"], a["shares"]) == (2, 4, 3, 1, 1)
    assert a["total_watch_time_ms"] == 40_500 and a["avg_watch_time_ms"] == pytest.approx(10_125)
    assert a["avg_watch_ratio"] == pytest.approx((0.95 + 0.2 + 2.5) / 3)
    assert a["completion_rate"] == pytest.approx(2 / 3)
    assert a["engaged_users"] == 3 and a["engaged_users_weighted"] == pytest.approx(3.0)
    assert a["creator_id"] == "c1" and a["is_new_video"] is True
    us = out[("US", "v1")]
    assert (us["plays"], us["unique_viewers"]) == (3, 2)  # "us" upper-cased into US
    v2 = out[("ALL", "v2")]
    assert v2["plays"] == 0 and v2["avg_watch_time_ms"] is None and v2["completion_rate"] is None
    assert v2["is_new_video"] is False and v2["engaged_users"] == 0


def test_spam_burst_counts_little(spark):
    burst = [("like", f"s{i}", "v9", "US", None, None) for i in range(5) for _ in range(500)]
    normal = [("like", f"n{i}", "v9", "US", None, None) for i in range(3)]
    ev = events_df(spark, burst + normal)
    r = [x for x in g.video_daily_stats(partials(ev), videos_df(spark, []), spam_event_cap=10).collect()
         if x["region"] == "ALL"][0]
    assert r["likes"] == 2503 and r["engaged_users"] == 8
    assert r["engaged_users_weighted"] == pytest.approx(3 + 5 * 10 / 500)


def test_hashtag_stats_spread_and_new_videos(spark):
    ev = events_df(spark, ROWS)
    vids = videos_df(spark, [("v1", "c1", D, ["dance", "fun"], "US"), ("v2", "c2", D, ["dance"], "BR"), ("v3", "c3", D, ["quiet"], "US")])
    tags = hashtags_df(spark, [("v1", "dance", "c1"), ("v1", "fun", "c1"), ("v2", "dance", "c2"), ("v3", "quiet", "c3")])
    out = {(r["region"], r["hashtag"]): r for r in g.hashtag_daily_stats(partials(ev), vids, tags, [D], spam_event_cap=10).collect()}
    dance = out[("ALL", "dance")]
    assert (dance["distinct_videos"], dance["distinct_creators"], dance["new_videos"]) == (2, 2, 2)
    assert dance["unique_viewers"] == 4 and dance["plays"] == 4
    assert out[("ALL", "fun")]["plays"] == 4  # an event counts for every tag of its video
    quiet = out[("US", "quiet")]  # published today, no events: a row with zero engagement
    assert quiet["new_videos"] == 1 and quiet["impressions"] == 0 and quiet["engaged_users_weighted"] == 0.0


def test_a_viewers_spam_weight_on_a_tag_sums_their_events_over_its_videos(spark):
    # 8 likes on each of two videos tagged "dance": within the cap per video (weight 1 each), but 16
    # engaged events on the tag (weight 10 / 16); a second region of the same viewer joins them in ALL
    rows = [("like", "s", v, "US", None, None) for v in ("v1", "v2") for _ in range(8)]
    rows += [("like", "s", "v1", "BR", None, None), ("play", "n", "v2", "US", 3_000, 10_000)]
    ev = events_df(spark, rows)
    vids = videos_df(spark, [("v1", "c1", D, ["dance"], "US"), ("v2", "c2", D, ["dance"], "US")])
    tags = hashtags_df(spark, [("v1", "dance", "c1"), ("v2", "dance", "c2")])
    videos = {(r["region"], r["video_id"]): r for r in g.video_daily_stats(partials(ev), vids, spam_event_cap=10).collect()}
    assert videos[("US", "v1")]["engaged_users_weighted"] == pytest.approx(1.0)
    assert videos[("ALL", "v1")]["likes"] == 9 and videos[("ALL", "v1")]["engaged_users"] == 1
    tag = {(r["region"], r["hashtag"]): r for r in g.hashtag_daily_stats(partials(ev), vids, tags, [D], spam_event_cap=10).collect()}
    us, everywhere = tag[("US", "dance")], tag[("ALL", "dance")]
    assert (us["likes"], us["engaged_users"], us["distinct_videos"]) == (16, 2, 2)
    assert us["engaged_users_weighted"] == pytest.approx(10 / 16 + 1)
    assert everywhere["likes"] == 17 and everywhere["engaged_users_weighted"] == pytest.approx(10 / 17 + 1)
    assert tag[("BR", "dance")]["distinct_videos"] == 1 and tag[("BR", "dance")]["distinct_creators"] == 1
