"""Training-example transforms on tiny frames: labels from what followed an impression,
point-in-time features, deterministic negatives, cohort flags."""

from __future__ import annotations

import datetime as dt

from reelhouse.ml.training_examples import as_of, cohort_flags, impression_labels, sample_negatives

UTC = dt.timezone.utc
D = dt.date(2024, 6, 2)


def at(h: int, m: int = 0) -> dt.datetime:
    return dt.datetime(2024, 6, 2, h, m, tzinfo=UTC)


def events(spark, rows):
    cols = "event_id string, event_type string, event_time timestamp, user_id string, video_id string, play_time_ms long, video_duration_ms long"
    return spark.createDataFrame(rows, cols)


def test_labels_come_from_what_followed_each_impression(spark):
    ev = events(spark, [
        ("i1", "impression", at(8), "u1", "v1", None, None),
        ("p1", "play", at(8, 1), "u1", "v1", 9_500, 10_000),      # complete (>= 90 %), not long (< 18 s)
        ("l1", "like", at(8, 2), "u1", "v1", None, None),
        ("i2", "impression", at(9), "u1", "v1", None, None),      # same pair again: gets only what follows it
        ("p2", "play", at(9, 1), "u1", "v1", 20_000, 10_000),     # loops: complete and long
        ("i3", "impression", at(8), "u2", "v1", None, None),
        ("p3", "play", at(10, 30), "u2", "v1", 9_000, 10_000),    # 2.5 h later: outside the 1 h window
        ("i4", "impression", at(8), "u3", "v2", None, None),      # nothing followed: a negative
        ("p4", "play", at(8, 5), "u3", "v9", 1_000, 10_000),      # another video: not i4's
    ])
    got = {r.example_id: r for r in impression_labels(ev, label_window_seconds=3600, completion_threshold=0.9,
                                                      long_view_ms=18_000).collect()}
    assert set(got) == {"i1", "i2", "i3", "i4"}
    lab = lambda r: (r.label_play, r.label_complete, r.label_like, r.label_long_view)  # noqa: E731
    assert lab(got["i1"]) == (1, 1, 1, 0) and got["i1"].play_time_ms == 9_500
    assert lab(got["i2"]) == (1, 1, 0, 1) and got["i2"].play_time_ms == 20_000
    assert lab(got["i3"]) == (0, 0, 0, 0) and got["i3"].play_time_ms is None
    assert lab(got["i4"]) == (0, 0, 0, 0)


def test_features_are_joined_as_of_the_impression_never_from_the_future(spark):
    ex = spark.createDataFrame([("e_morning", at(8), "u1"), ("e_afternoon", at(13), "u1"), ("e_new", at(8), "u2")],
                               "example_id string, impression_time timestamp, user_id string")
    feats = spark.createDataFrame([
        ("u1", dt.datetime(2024, 6, 1, tzinfo=UTC), 10),   # yesterday's snapshot (ds = May 31)
        ("u1", dt.datetime(2024, 6, 2, tzinfo=UTC), 20),   # today 00:00: known for both
        ("u1", at(12), 777),                                # planted: known only from 12:00
        ("u1", dt.datetime(2024, 6, 3, tzinfo=UTC), 999),  # computed from later events (ds = D)
    ], "user_id string, feature_time timestamp, events_7d long")
    got = {r.example_id: r for r in as_of(ex, feats, key="user_id", prefix="user", columns=["events_7d"]).collect()}
    assert got["e_morning"].user_events_7d == 20
    assert got["e_afternoon"].user_events_7d == 777  # the planted value, only after it is known
    assert got["e_new"].user_events_7d is None and got["e_new"].user_feature_time is None
    assert all(r.user_events_7d != 999 for r in got.values())


def test_sampled_negatives_are_deterministic_unseen_and_all_zero(spark):
    labelled = spark.createDataFrame(
        [(f"i{k}", at(8), f"u{k % 7}", f"v{k % 5}", None, 1, 0, 0, 0) for k in range(400)],
        "example_id string, impression_time timestamp, user_id string, video_id string, play_time_ms long, "
        "label_play int, label_complete int, label_like int, label_long_view int")
    cands = spark.createDataFrame([(f"v{k}",) for k in range(40)], "video_id string")
    a = sample_negatives(labelled, cands, ratio=0.5, seed=7).orderBy("example_id").collect()
    b = sample_negatives(labelled.repartition(3), cands.repartition(2), ratio=0.5, seed=7).orderBy("example_id").collect()
    c = sample_negatives(labelled, cands, ratio=0.5, seed=8).orderBy("example_id").collect()
    assert a == b and a != c
    assert 120 < len(a) < 200  # ~half the impressions, minus draws of pairs already shown
    shown = {(r.user_id, r.video_id) for r in labelled.collect()}
    assert all((r.user_id, r.video_id) not in shown for r in a)
    assert all(r.example_id.startswith("neg:") and r.label_play == r.label_complete == 0 for r in a)
    assert sample_negatives(labelled, cands, ratio=0.0, seed=7).count() == 0


def test_cohort_flags(spark):
    snap = dt.datetime(2024, 6, 2, tzinfo=UTC)  # yesterday's feature snapshot
    rows = [  # example, published_at, user_feature_time, video_feature_time, is_trending_video
        ("fresh", at(1), snap, None, True),          # published 9 h before, no video features yet
        ("day_old", at(1) - dt.timedelta(days=1), snap, snap, None),
        ("unknown_age_seen", None, None, snap, None),  # no publish event, but features were served
        ("unknown_age_unseen", None, snap, None, None),
    ]
    df = spark.createDataFrame([(e, at(10), p, u, v, t) for e, p, u, v, t in rows],
                               "example_id string, impression_time timestamp, published_at timestamp, "
                               "user_feature_time timestamp, video_feature_time timestamp, is_trending_video boolean")
    got = {r.example_id: (r.is_new_user, r.is_new_video, r.is_trending_video) for r in cohort_flags(df).collect()}
    assert got == {"fresh": (False, True, True), "day_old": (False, False, False),
                   "unknown_age_seen": (True, False, False), "unknown_age_unseen": (False, True, False)}
