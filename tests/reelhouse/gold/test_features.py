"""gold features on tiny frames: user activity and windows, interest EWMA and top K, video,
creator and hashtag roll-ups, feature_time, and a step run that matches the catalog."""

from __future__ import annotations

import datetime as dt

import pytest

from reelhouse.lake.catalog import get_table, spark_schema
from reelhouse.gold import features as g
from reelhouse.pipeline import STEPS

D = dt.date(2024, 6, 10)
FT = dt.datetime(2024, 6, 11, tzinfo=dt.timezone.utc)


def events_df(spark, rows):
    """rows: (event_type, user, video, play_ms, duration_ms)"""
    cols = "user_id string, video_id string, event_type string, play_time_ms bigint, video_duration_ms bigint"
    return spark.createDataFrame([(u, v, et, p, dur) for et, u, v, p, dur in rows], cols)


def table_df(spark, name, rows):
    return spark.createDataFrame(rows, spark_schema(get_table(name)))


EVENTS = [
    ("impression", "u1", "v1", None, None),
    ("play", "u1", "v1", 9_500, 10_000),    # complete
    ("play", "u1", "v2", 1_000, 10_000),    # swipe-away (< 20 %)
    ("play", "u1", "v2", 5_000, 10_000),    # neither
    ("play", "u1", "v3", 60_000, 10_000),   # looped 6x: complete, ratio capped at 5
    ("like", "u1", "v1", None, None),
    ("play", "u2", "v9", 4_000, None),      # unknown duration: a play, nothing else
    ("share", "u2", "v9", None, None),
]


def test_feature_time_is_the_end_of_the_day():
    assert g.feature_time(D) == FT
    assert g.window(D, 3) == [D - dt.timedelta(days=2), D - dt.timedelta(days=1), D]


def test_user_daily_activity(spark):
    out = {r["user_id"]: r.asDict() for r in g.user_daily_activity(
        events_df(spark, EVENTS), D, completion_threshold=0.9, swipe_away_ratio=0.2, watch_ratio_cap=5.0).collect()}
    u1 = out["u1"]
    assert (u1["events"], u1["plays"], u1["plays_with_duration"], u1["completes"], u1["swipe_aways"], u1["likes"]) == (6, 4, 4, 2, 1, 1)
    assert u1["watch_ratio_sum"] == pytest.approx(0.95 + 0.1 + 0.5 + 5.0)
    u2 = out["u2"]
    assert (u2["plays"], u2["plays_with_duration"], u2["completes"], u2["shares"], u2["watch_ratio_sum"]) == (1, 0, 0, 1, 0.0)
    assert u1["ds"] == D


def test_interest_deltas_and_ewma_top_k(spark):
    tags = table_df(spark, "silver.video_hashtags", [
        ("v1", "cats", 0, "c1", dt.datetime(2024, 6, 1), dt.date(2024, 6, 1)),
        ("v2", "cats", 0, "c1", dt.datetime(2024, 6, 1), dt.date(2024, 6, 1)),
        ("v2", "dogs", 1, "c1", dt.datetime(2024, 6, 1), dt.date(2024, 6, 1)),
        ("v3", "dogs", 0, "c2", dt.datetime(2024, 6, 1), dt.date(2024, 6, 1)),
    ])
    deltas = {(r["user_id"], r["hashtag"]): r["delta"] for r in g.interest_deltas(
        events_df(spark, EVENTS), tags, completion_threshold=0.9, swipe_away_ratio=0.2).collect()}
    # cats: v1 complete (+1), v2 swipe-away (-1) -> 0, dropped; dogs: v2 swipe-away (-1), v3 complete (+1) -> 0
    assert deltas == {}
    deltas = spark.createDataFrame([("u1", "cats", 2.0), ("u1", "dogs", -1.0), ("u1", "fish", 1.0)], "user_id string, hashtag string, delta double")
    previous = spark.createDataFrame([("u1", "cats", 4.0), ("u1", "birds", 8.0), ("u2", "cats", 1.0)], "user_id string, hashtag string, score double")
    out = g.user_interests(previous, deltas, D, half_life_days=1.0, top_k=2).orderBy("user_id", "rank").collect()
    got = [(r["user_id"], r["hashtag"], r["score"], r["rank"]) for r in out]
    # half-life 1 day: yesterday's score halves; birds 4.0, cats 2 + 2 = 4.0 (tie: by name), fish 1, dogs -1
    assert got == [("u1", "birds", 4.0, 1), ("u1", "cats", 4.0, 2), ("u2", "cats", 0.5, 1)]


def test_user_features_windows_and_rates(spark):
    rows = [  # user_id, events, plays, plays_with_duration, completes, swipe_aways, watch_ratio_sum, likes, shares, ds
        ("u1", 10, 4, 4, 2, 1, 3.0, 1, 0, D),
        ("u1", 5, 2, 2, 1, 0, 1.0, 1, 1, D - dt.timedelta(days=3)),
        ("u1", 7, 4, 2, 0, 2, 0.4, 0, 0, D - dt.timedelta(days=20)),
        ("u2", 3, 0, 0, 0, 0, 0.0, 0, 0, D - dt.timedelta(days=10)),
    ]
    activity = table_df(spark, "gold.user_daily_activity", rows)
    interests = table_df(spark, "gold.user_interests", [("u1", "dogs", 1.5, 2, D), ("u1", "cats", 3.0, 1, D)])
    out = {r["user_id"]: r.asDict() for r in g.user_features(activity, interests, D).collect()}
    u1 = out["u1"]
    assert (u1["events_1d"], u1["events_7d"], u1["events_28d"], u1["plays_28d"], u1["active_days_28d"]) == (10, 15, 22, 10, 3)
    assert u1["completion_rate_28d"] == pytest.approx(3 / 8)
    assert u1["avg_watch_ratio_28d"] == pytest.approx(4.4 / 8)
    assert u1["like_rate_28d"] == pytest.approx(2 / 10) and u1["share_rate_28d"] == pytest.approx(1 / 10)
    assert u1["top_hashtags"] == ["cats", "dogs"] and u1["top_hashtag_scores"] == [3.0, 1.5]
    assert u1["feature_time"].replace(tzinfo=dt.timezone.utc) == FT or u1["feature_time"] == FT.replace(tzinfo=None)
    u2 = out["u2"]
    assert (u2["events_1d"], u2["events_7d"], u2["events_28d"]) == (0, 0, 3)
    assert u2["completion_rate_28d"] is None and u2["like_rate_28d"] is None and u2["top_hashtags"] is None


def _defaults(spec):
    import pyarrow as pa

    def d(t):
        if pa.types.is_boolean(t):
            return False
        if pa.types.is_floating(t):
            return 0.0
        if pa.types.is_integer(t):
            return 0
        if pa.types.is_list(t):
            return []
        return None

    return {c.name: d(c.type) for c in spec.columns}


def _stats(spark, rows):
    """rows: (ds, region, video_id, impressions, plays, completion_rate, avg_watch_ratio, likes, shares, follows)"""
    spec = get_table("gold.video_daily_stats")
    out = []
    for ds, region, vid, imp, plays, cr, awr, likes, shares, follows in rows:
        r = _defaults(spec)
        r.update(ds=ds, region=region, video_id=vid, impressions=imp, plays=plays, completion_rate=cr,
                 avg_watch_ratio=awr, likes=likes, shares=shares, follows=follows, avg_watch_time_ms=None,
                 engaged_users_weighted=0.0, creator_id=None, published_date=None)
        out.append(tuple(r[c] for c in spec.column_names))
    return spark.createDataFrame(out, spark_schema(spec))


def test_video_and_creator_features(spark):
    y = D - dt.timedelta(days=1)
    stats = _stats(spark, [
        (D, "ALL", "v1", 10, 8, 0.5, 1.0, 2, 1, 1),
        (y, "ALL", "v1", 5, 2, 1.0, 2.0, 0, 0, 0),
        (D, "US", "v1", 10, 8, 0.5, 1.0, 2, 1, 1),   # region rows are ignored (ALL already sums them)
        (y, "ALL", "v2", 3, 0, None, None, 0, 0, 0),
    ])
    videos = table_df(spark, "silver.videos", [
        ("v1", "c1", dt.datetime(2024, 6, 10, 12), 15_000, None, None, ["a"], "US", "p1", "f", D),
        ("v2", "c1", dt.datetime(2024, 5, 1), 9_000, None, None, [], "US", "p2", "f", dt.date(2024, 5, 1)),
        ("v3", "c2", dt.datetime(2024, 6, 12), 9_000, None, None, [], "US", "p3", "f", dt.date(2024, 6, 12)),  # after feature_time
    ])
    trend = spark.createDataFrame([("ALL", "v1", 2.5), ("US", "v1", 9.0)], "region string, video_id string, trend_score double")
    vf = {r["video_id"]: r.asDict() for r in g.video_features(stats, videos, trend, D).collect()}
    v1 = vf["v1"]
    assert (v1["views_1d"], v1["views_7d"], v1["impressions_7d"], v1["creator_id"], v1["trend_score"]) == (8, 10, 15, "c1", 2.5)
    assert v1["completion_rate_7d"] == pytest.approx((0.5 * 8 + 1.0 * 2) / 10)
    assert v1["like_rate_7d"] == pytest.approx(0.2) and v1["share_rate_7d"] == pytest.approx(0.1)
    assert v1["video_age_hours"] == pytest.approx(12.0)
    assert vf["v2"]["views_7d"] == 0 and vf["v2"]["like_rate_7d"] is None and vf["v2"]["trend_score"] == 0.0
    cf = {r["creator_id"]: r.asDict() for r in g.creator_features(stats, videos, D).collect()}
    assert set(cf) == {"c1"}  # c2's only video is published after feature_time
    c1 = cf["c1"]
    assert (c1["videos_total"], c1["videos_7d"], c1["active_videos_7d"], c1["views_7d"], c1["follows_7d"]) == (2, 1, 1, 10, 1)


def test_hashtag_features(spark):
    spec = get_table("gold.hashtag_daily_stats")

    def row(ds, region, tag, plays, cr, likes, new):
        r = _defaults(spec)
        r.update(ds=ds, region=region, hashtag=tag, plays=plays, completion_rate=cr, likes=likes, new_videos=new,
                 avg_watch_time_ms=None, avg_watch_ratio=None, engaged_users_weighted=0.0)
        return tuple(r[c] for c in spec.column_names)

    stats = spark.createDataFrame([row(D, "ALL", "cats", 4, 0.5, 1, 2), row(D - dt.timedelta(days=2), "ALL", "cats", 6, 0.0, 2, 1),
                                   row(D, "BR", "cats", 4, 0.5, 1, 2)], spark_schema(spec))
    trend = spark.createDataFrame([("ALL", "cats", 1.25)], "region string, hashtag string, trend_score double")
    ranks = spark.createDataFrame([("ALL", "cats", 3)], "region string, hashtag string, trend_rank int")
    (r,) = g.hashtag_features(stats, trend, ranks, D).collect()
    assert (r["views_1d"], r["views_7d"], r["new_videos_7d"], r["trend_score"], r["trend_rank"]) == (4, 10, 3, 1.25, 3)
    assert r["completion_rate_7d"] == pytest.approx(0.2) and r["like_rate_7d"] == pytest.approx(0.3)


def test_outputs_match_the_catalog(spark):
    """Every transform's output has exactly the catalog's columns (the lake refuses anything else)."""
    from reelhouse.lake.checks import conform_dataframe

    ev = events_df(spark, EVENTS)
    act = g.user_daily_activity(ev, D, completion_threshold=0.9, swipe_away_ratio=0.2, watch_ratio_cap=5.0)
    empty = lambda n: spark.createDataFrame([], spark_schema(get_table(n)))  # noqa: E731
    outs = {
        "gold.user_daily_activity": act,
        "gold.user_interests": g.user_interests(empty("gold.user_interests"), spark.createDataFrame([], "user_id string, hashtag string, delta double"), D, half_life_days=7, top_k=3),
        "gold.user_features": g.user_features(empty("gold.user_daily_activity"), empty("gold.user_interests"), D),
        "gold.video_features": g.video_features(empty("gold.video_daily_stats"), empty("silver.videos"), empty("gold.video_trend_scores"), D),
        "gold.creator_features": g.creator_features(empty("gold.video_daily_stats"), empty("silver.videos"), D),
        "gold.hashtag_features": g.hashtag_features(empty("gold.hashtag_daily_stats"), empty("gold.hashtag_trend_scores"), empty("gold.hashtag_rankings"), D),
    }
    assert set(outs) == set(STEPS["features"].outputs)
    for name, df in outs.items():
        assert sorted(df.columns) == sorted(get_table(name).column_names), name
        conform_dataframe(df, get_table(name))  # raises on a type the catalog does not allow
