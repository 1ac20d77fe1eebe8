"""The trend score and the trending lists on hand-made series: steady, rising, one-day spike, spam,
new item, relative support; a moderate riser in a large region, a large flat item with ±20 % noise,
a spike that collapses, a quiet day, a slow burn."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from reelhouse.config import load_config
from reelhouse.gold import trends as gt

START = dt.date(2024, 6, 1)
P = load_config("test").trends  # k = 10, φ = 0.04, min_z = 3, min_lift = 0.5, support 3 / 0.5 % / +40, half-life 1 day


class Series:
    """What :func:`run_series` returns: per item and day, the trend-score row (None when the item
    has none that day) and the published list (hashtags in rank order)."""

    def __init__(self, rows: dict[str, list[dict | None]], lists: list[list[str]]):
        self.rows, self.lists = rows, lists

    def score(self, item: str) -> list[float]:
        return [r["trend_score"] if r else 0.0 for r in self.rows[item]]

    def listed(self, item: str) -> list[bool]:
        return [item in day for day in self.lists]


def run_series(spark, series: dict[str, list[float]], region_users: int = 1000) -> Series:
    """Run trend_scores and top_trending day by day over {item: [weighted engaged users per day]}
    in one region of ``region_users`` engaged users (day 0 is the lake's first day), as run() does."""
    days = len(next(iter(series.values())))
    history = []  # (ds, region, hashtag, engaged_users_weighted)
    prev = spark.createDataFrame([], "region string, hashtag string, trend_score double, days_trending int")
    rows: dict[str, list[dict | None]] = {k: [] for k in series}
    lists = []
    for t in range(days):
        ds = START + dt.timedelta(days=t)
        today_rows = [("R", k, int(round(v[t])), float(v[t])) for k, v in series.items() if v[t] > 0]
        today = spark.createDataFrame(today_rows, "region string, hashtag string, engaged_users long, engaged_users_weighted double")
        window = [r for r in history if (ds - r[0]).days <= P.baseline_days]
        baseline = spark.createDataFrame(window, "ds date, region string, hashtag string, engaged_users_weighted double")
        available = len({r[0] for r in window})
        users = spark.createDataFrame([("R", region_users)], "region string, engaged_users long")
        prev_used = prev if available != 1 else prev.limit(0)  # as run(): ignore the cold-start day
        scores = gt.trend_scores(today, baseline, prev_used, item="hashtag", ds=ds, baseline_days_available=available,
                                 params=P, region_users=users).cache()
        got = {r["hashtag"]: r.asDict() for r in scores.collect()}
        top = gt.top_trending(scores, item="hashtag", top_n=P.top_n).orderBy("rank").collect()
        assert [r["rank"] for r in top] == list(range(1, len(top) + 1))
        lists.append([r["hashtag"] for r in top])
        for k in series:
            rows[k].append(got.get(k))
        history += [(ds, "R", k, float(v[t])) for k, v in series.items() if v[t] > 0]
        prev = spark.createDataFrame([(r["region"], r["hashtag"], r["trend_score"], r["days_trending"]) for r in got.values()],
                                     "region string, hashtag string, trend_score double, days_trending int")
        scores.unpersist()
    return Series(rows, lists)


def listed_rows_meet_the_floors(s: Series):
    """Every listed row is rising today: z ≥ min_z, lift ≥ 1 + min_lift (or new), days_trending ≥ 1."""
    for t, day in enumerate(s.lists):
        for item in day:
            r = s.rows[item][t]
            assert r["is_trending"] and r["z_score"] >= P.min_z and r["days_trending"] >= 1, (t, item, r)
            assert r["lift"] is None or r["lift"] >= 1 + P.min_lift, (t, item, r)
            assert r["engaged_users_weighted"] > r["expected"]


def test_decay_alpha():
    assert gt.decay_alpha(1.0) == pytest.approx(0.5)
    assert gt.decay_alpha(2.0) == pytest.approx(1 - math.sqrt(0.5))


def test_shapes(spark):
    s = run_series(spark, {
        "steady": [500] * 8,
        "rising": [100, 100, 100, 100, 100, 200, 400, 800],
        "spike": [100, 100, 100, 100, 100, 700, 100, 100],
        "spam": [0, 0, 0, 0, 0, 0.5, 0, 0],      # 2,500 likes from 5 accounts weigh 0.1 each
        "small": [1, 1, 1, 2, 2, 4, 4, 4],        # doubling, but below the minimum support
    })
    steady, rising, spike = s.score("steady"), s.score("rising"), s.score("spike")
    assert max(steady[1:]) < 0.5                     # steady volume never trends
    assert rising[7] > rising[6] > rising[5] > 1     # a sustained rise keeps climbing
    assert s.listed("rising")[5:] == [True] * 3
    assert [s.rows["rising"][t]["days_trending"] for t in (5, 6, 7)] == [1, 2, 3]
    assert spike[5] > 10
    assert spike[6] == pytest.approx(spike[5] / 2, rel=0.05)  # a blip's score halves each day …
    assert spike[7] < spike[6] < rising[7]                    # … while the rise holds
    assert s.listed("spike")[5:] == [True, False, False]      # … and it is off the list at once
    assert max(s.score("spam")) == 0.0 and max(s.score("small")) == 0.0  # minimum support
    assert not any(s.listed("spam")) and not any(s.listed("small"))
    assert steady[0] > 0 and s.listed("steady")[0]  # cold start: the first day ranks by volume …
    assert steady[1] < 0.5 and not any(s.listed("steady")[1:])  # … and does not leak into the next day's state
    listed_rows_meet_the_floors(s)


def test_new_item_trends_on_velocity(spark):
    s = run_series(spark, {"old": [100] * 4, "new": [0, 0, 0, 90]})
    # day 3 has 3 days of baseline: z = o / sqrt(k · (1 + 1/3)), half of it in the decayed score
    assert s.score("new")[3] == pytest.approx(0.5 * 90 / math.sqrt(P.pseudo_count * (1 + 1 / 3)))
    assert s.score("new")[3] > s.score("old")[3]
    assert s.lists[3] == ["new"] and s.rows["new"][3]["lift"] is None and s.rows["new"][3]["is_new_item"]


def test_relative_support(spark):
    # 30 new users in a region of 10,000 engaged users: below min(0.5 % = 50, 0 + 40): no score
    s = run_series(spark, {"bg": [100] * 3, "x": [0, 0, 30]}, region_users=10_000)
    assert s.score("x")[2] == 0.0 and not s.listed("x")[2]
    s = run_series(spark, {"bg": [100] * 3, "x": [0, 0, 30]}, region_users=1_000)
    assert s.score("x")[2] > 0 and s.listed("x")[2]


def test_moderate_riser_in_a_large_region_is_listed(spark):
    # ×2.3 over a ~43-user baseline in a region of 25,000: 100 users, below 0.5 % of the region (125)
    # but above expected + 40 (83); a handful of users (2 → 9) is not, nor is a new tag with 30
    s = run_series(spark, {
        "riser": [40, 45, 42, 44, 41, 46, 43, 100],
        "handful": [2, 1, 3, 2, 2, 1, 3, 9],
        "newcomer": [0, 0, 0, 0, 0, 0, 0, 30],
        "bg": [3000, 3100, 2900, 3050, 2950, 3000, 3020, 2980],
    }, region_users=25_000)
    r = s.rows["riser"][7]
    assert s.lists[7] == ["riser"], s.lists[7]
    assert r["lift"] == pytest.approx(100 / 43, rel=0.01) and r["z_score"] > P.min_z and r["days_trending"] == 1
    assert s.score("handful")[7] == 0.0 and s.score("newcomer")[7] == 0.0
    assert not any(any(day) for day in s.lists[1:7])  # nothing rises before: empty lists, not padded ones
    listed_rows_meet_the_floors(s)


def test_large_flat_item_with_noise_never_listed(spark):
    # 20,000 users a day ± 20 %: the low days then a +20 % day (+37 % over the week's mean)
    noise = [0.0, 0.2, -0.2, 0.1, -0.15, 0.05, -0.2, -0.2, -0.2, 0.2, 0.18, -0.1, 0.2, 0.0]
    s = run_series(spark, {"flat": [20_000 * (1 + x) for x in noise], "bg": [50] * len(noise)},
                   region_users=1_000_000)
    assert not any(s.listed("flat")[1:])
    assert max(s.rows["flat"][t]["z_score"] for t in range(1, len(noise))) < P.min_z
    # the same series under a Poisson variance (φ = 0) would have tripped on its +20 % days
    t = 9
    e = sum(20_000 * (1 + x) for x in noise[t - 7:t]) / 7
    assert (20_000 * 1.2 - e) / math.sqrt(e + P.pseudo_count) > 10


def test_spike_then_collapse_leaves_the_list_next_day(spark):
    s = run_series(spark, {"spike": [50, 55, 48, 52, 50, 400, 60, 50, 52], "bg": [200] * 9}, region_users=5_000)
    assert s.listed("spike")[1:] == [False, False, False, False, True, False, False, False]  # day 0: cold start
    r = s.rows["spike"][6]
    assert r["trend_score"] > 5 and not r["is_trending"] and r["days_trending"] == 0  # score decays, list drops it


def test_quiet_day_gives_a_short_list(spark):
    # 30 ordinary items with Poisson-like noise and one real riser on day 8: the list on the quiet
    # days 1..7 is empty or short and nothing on any list is below the floors
    import random

    rng = random.Random(3)
    series = {f"item{i}": [max(0.0, round(rng.gauss(m, math.sqrt(m)))) for _ in range(9)]
              for i, m in enumerate([5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560] * 3)}
    series["riser"] = [60, 62, 58, 61, 59, 60, 63, 60, 180]
    s = run_series(spark, series, region_users=20_000)
    assert all(len(day) <= 2 for day in s.lists[1:8]), s.lists
    assert s.lists[8][0] == "riser"
    listed_rows_meet_the_floors(s)


def test_slow_burn_listed_within_two_days(spark):
    # 100 users a day, then ×1.3 a day for a week from day 7 (130, 169, 220, …)
    burn = [100.0] * 7 + [100 * 1.3 ** (d + 1) for d in range(7)]
    s = run_series(spark, {"burn": burn, "bg": [300] * 14}, region_users=20_000)
    first = s.listed("burn").index(True, 1)  # day 0 is the cold start
    assert 7 <= first <= 9, s.listed("burn")
    assert all(s.listed("burn")[first:first + 3])
    assert s.rows["burn"][first + 2]["days_trending"] == 3
    listed_rows_meet_the_floors(s)


def test_rankings_trend_rank_follows_the_list(spark):
    stats = spark.createDataFrame(
        [("ALL", h, u, 1, 1) for h, u in [("a", 100), ("b", 90), ("c", 80), ("d", 70)]],
        "region string, hashtag string, engaged_users long, distinct_creators long, distinct_videos long")
    # b had yesterday's big spike (high decayed score) but is not rising today; a, c are
    scores = spark.createDataFrame(
        [("ALL", "a", 4.0, 8.0, True), ("ALL", "b", 9.0, -2.0, False), ("ALL", "c", 5.0, 6.0, True),
         ("ALL", "d", 0.1, 0.2, False)],
        "region string, hashtag string, trend_score double, z_score double, is_trending boolean")
    ranks = {r["hashtag"]: r["trend_rank"] for r in gt._ranks(stats, scores).collect()}
    assert ranks == {"c": 1, "a": 2, "b": 3, "d": 4}
