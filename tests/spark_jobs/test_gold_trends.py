"""The trend score on hand-made series: steady, rising, one-day spike, spam, new item."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from reelhouse.config import load_config
from spark_jobs import gold_trends as gt

START = dt.date(2024, 6, 1)
P = load_config("test").trends  # k = 10, min_support = 3 (+0.5 %), half-life 1 day, 7-day window


def score_series(spark, series: dict[str, list[float]], region_users: int = 1000):
    """Run trend_scores day by day over {item: [weighted engaged users per day]}; returns
    {item: [trend_score per day]} (day 0 is the lake's first day)."""
    days = len(next(iter(series.values())))
    history = []  # (ds, region, hashtag, engaged_users_weighted)
    prev = spark.createDataFrame([], "region string, hashtag string, trend_score double")
    out = {k: [] for k in series}
    for t in range(days):
        ds = START + dt.timedelta(days=t)
        today_rows = [("ALL", k, int(v[t]), float(v[t])) for k, v in series.items() if v[t] > 0]
        today = spark.createDataFrame(today_rows, "region string, hashtag string, engaged_users long, engaged_users_weighted double")
        window = [r for r in history if (ds - r[0]).days <= P.baseline_days]
        baseline = spark.createDataFrame(window, "ds date, region string, hashtag string, engaged_users_weighted double")
        available = len({r[0] for r in window})
        users = spark.createDataFrame([("ALL", region_users)], "region string, engaged_users long")
        prev_used = prev if available != 1 else prev.limit(0)  # as run(): ignore the cold-start day
        scores = gt.trend_scores(today, baseline, prev_used, item="hashtag", ds=ds, baseline_days_available=available,
                                 params=P, region_users=users)
        got = {r["hashtag"]: r for r in scores.collect()}
        for k in series:
            out[k].append(got[k]["trend_score"] if k in got else 0.0)
        history += [(ds, "ALL", k, float(v[t])) for k, v in series.items() if v[t] > 0]
        prev = spark.createDataFrame([(r["region"], r["hashtag"], r["trend_score"]) for r in got.values()],
                                     "region string, hashtag string, trend_score double")
    return out


def test_decay_alpha():
    assert gt.decay_alpha(1.0) == pytest.approx(0.5)
    assert gt.decay_alpha(2.0) == pytest.approx(1 - math.sqrt(0.5))


def test_shapes(spark):
    s = score_series(spark, {
        "steady": [500] * 8,
        "rising": [100, 100, 100, 100, 100, 200, 400, 800],
        "spike": [100, 100, 100, 100, 100, 700, 100, 100],
        "spam": [0, 0, 0, 0, 0, 0.5, 0, 0],      # 2,500 likes from 5 accounts weigh 0.1 each
        "small": [1, 1, 1, 2, 2, 4, 4, 4],        # doubling, but below the minimum support
    })
    assert max(s["steady"][1:]) < 0.5                     # steady volume never trends
    assert s["rising"][7] > s["rising"][6] > s["rising"][5] > 3  # a sustained rise keeps climbing
    assert s["spike"][5] > 10
    assert s["spike"][6] == pytest.approx(s["spike"][5] / 2, rel=0.05)  # a blip halves each day …
    assert s["spike"][7] < s["spike"][6] < s["rising"][7]          # … while the rise holds
    assert max(s["spam"]) == 0.0 and max(s["small"]) == 0.0        # minimum support
    assert s["steady"][0] > 0  # cold start: the first day ranks by volume …
    assert s["steady"][1] < 0.5  # … and does not leak into the next day's state


def test_new_item_trends_on_velocity(spark):
    s = score_series(spark, {"old": [100] * 4, "new": [0, 0, 0, 90]})
    assert s["new"][3] == pytest.approx(0.5 * 90 / math.sqrt(P.pseudo_count))
    assert s["new"][3] > s["old"][3]


def test_relative_support(spark):
    # 30 users in a region of 10,000 engaged users is below 0.5 % (50): no score
    s = score_series(spark, {"bg": [100] * 3, "x": [0, 0, 30]}, region_users=10_000)
    assert s["x"][2] == 0.0
    s = score_series(spark, {"bg": [100] * 3, "x": [0, 0, 30]}, region_users=1_000)
    assert s["x"][2] > 0
