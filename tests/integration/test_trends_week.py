"""A generated week through ingest, daily stats and trends: planted trends are found, the spam
burst and the steady tag are not, gold reconciles with silver, reruns leave the same data."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reelhouse.sources.generator import generate
from reelhouse.pipeline import run_date

pytestmark = pytest.mark.integration

START = dt.date(2024, 6, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(7)]


@pytest.fixture(scope="module")
def week(spark, tmp_path_factory):
    from reelhouse.config import load_config
    from reelhouse.lake import Lake

    root = tmp_path_factory.mktemp("week")
    landing = root / "landing"
    generate(landing, start=START, days=7, events_per_day=100_000, seed=7, n_trending_hashtags=10)
    cfg = load_config("test", environ={"REELHOUSE__PATHS__LANDING": str(landing), "REELHOUSE__PATHS__LAKE": str(root / "lake")})
    for d in DAYS:  # the steps under test (features and the gate are tested elsewhere)
        run_date(d, steps=["ingest", "daily_stats", "trends"], spark=spark, config=cfg, log=lambda m: None)
    truth = json.loads((landing / "_ground_truth" / "generation.json").read_text())
    return Lake.from_config(cfg, spark), cfg, truth


def top(lake, table, ds, n, region="ALL"):
    rows = lake.read_pandas(table, where={"ds": ds})
    rows = rows[rows.region == region].sort_values("rank")
    return list(rows.hashtag)[:n]


def test_planted_trends_are_found(week):
    lake, _, truth = week
    planted = {t["tag"] for t in truth["trending_hashtags"]}
    assert len(planted) == 10
    peak = {dt.date.fromisoformat(t["peak_date"]) for t in truth["trending_hashtags"]}
    for day in peak:
        top10 = top(lake, "gold.trending_hashtags", day, 10)
        assert sum(t in planted for t in top10) / 10 >= 0.9, top10
    for t in truth["trending_hashtags"]:
        start = dt.date.fromisoformat(t["start_date"])
        entered = [d for d in (start, start + dt.timedelta(days=1)) if t["tag"] in top(lake, "gold.trending_hashtags", d, 10)]
        assert entered, f"{t['tag']} not in the top 10 within a day of {start}"


def test_spam_and_steady_tags_do_not_trend(week):
    lake, _, truth = week
    spam = truth["spam_hashtag"]["tag"]
    steady = {t["tag"] for t in truth["steady_hashtags"]}
    for day in DAYS[1:]:
        top20 = top(lake, "gold.trending_hashtags", day, 20)
        assert spam not in top20 and not steady & set(top20), (day, top20)
    # yet the spam tag is big in raw events on its burst day
    burst = dt.date.fromisoformat(truth["spam_hashtag"]["burst_date"])
    stats = lake.read_pandas("gold.hashtag_daily_stats", where={"ds": burst})
    row = stats[(stats.region == "ALL") & (stats.hashtag == spam)].iloc[0]
    assert row.likes + row.plays > 20 * row.engaged_users
    assert row.engaged_users_weighted < 0.5 * row.engaged_users


def test_gold_reconciles_with_silver(week):
    lake, _, _ = week
    silver = lake.read_pandas("silver.events", columns=["event_type", "event_date", "video_id"])
    silver = silver[silver.video_id.notna()]
    vs = lake.read_pandas("gold.video_daily_stats")
    vs = vs[vs.region == "ALL"]
    for day in DAYS:
        s = silver[silver.event_date == day].event_type.value_counts()
        g = vs[vs.ds == day]
        assert g.plays.sum() == s.get("play", 0) and g.impressions.sum() == s.get("impression", 0)
        assert g.likes.sum() == s.get("like", 0) and g.shares.sum() == s.get("share", 0)
    regions = lake.read_pandas("gold.video_daily_stats", where={"ds": DAYS[2]})
    per_region = regions[regions.region != "ALL"].plays.sum()
    assert per_region == regions[regions.region == "ALL"].plays.sum()  # regions partition ALL


def test_rankings_have_movement_and_top_videos(week):
    lake, cfg, truth = week
    r = lake.read_pandas("gold.hashtag_rankings", where={"ds": DAYS[4]})
    r = r[r.region == "ALL"]
    assert len(r) >= cfg.trends.rankings_top_n
    assert r.engagement_rank.is_unique and r.top_videos.map(len).between(1, 3).all()
    planted = {t["tag"] for t in truth["trending_hashtags"]}
    moved = r[r.hashtag.isin(planted)]
    assert (moved.engagement_rank_change.dropna() > 0).mean() > 0.5  # trends climb the engagement ranking
    first = lake.read_pandas("gold.hashtag_rankings", where={"ds": DAYS[0]})
    assert first.is_new_entry.all() and first.engagement_rank_change.isna().all()


def test_gold_rerun_is_idempotent(week, spark):
    lake, cfg, _ = week
    day = DAYS[-1]  # the last landing date: no later landing date adds late events to its stats
    tables = ["gold.video_daily_stats", "gold.hashtag_daily_stats", "gold.hashtag_trend_scores", "gold.trending_hashtags", "gold.hashtag_rankings"]

    def snapshot():
        out = {}
        for t in tables:
            df = lake.read_pandas(t, where={"ds": day}).round(9)  # Spark float sums are not order-exact
            out[t] = df.sort_values(list(df.columns[:3])).reset_index(drop=True).to_json()
        return out

    before = snapshot()
    run_date(day, steps=["daily_stats", "trends"], spark=spark, config=cfg, log=lambda m: None)
    assert snapshot() == before
