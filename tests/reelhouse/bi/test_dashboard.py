"""Data access of the trend dashboard (reelhouse.bi.dashboard), without Streamlit: a tiny DuckDB file
with the marts' contract columns, written here by hand."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest

from reelhouse.bi import dashboard as data

D1, D2 = dt.date(2024, 6, 1), dt.date(2024, 6, 2)

MARTS_SQL = """
create schema marts;
create table marts.fct_daily_engagement as select * from (values
  (date '2024-06-01', 'ALL', 1000, 800, 8000000, 10000.0, 0.40, 50, 10, 5, 2, 300, 120, 30),
  (date '2024-06-02', 'ALL', 1200, 900, 9000000, 10000.0, 0.45, 60,  8, 5, 2, 330, 130, 20),
  (date '2024-06-02', 'US',   400, 300, 3000000, 10000.0, 0.50, 20,  3, 1, 0, 100,  50,  5),
  (date '2024-06-02', 'UNKNOWN', 10, 5,   50000, 10000.0, 0.20,  1,  0, 0, 0,   4,   3,  0)
) t(ds, region, impressions, plays, watch_time_ms, avg_watch_time_ms, completion_rate, likes, shares, comments,
    follows, active_users, active_videos, new_videos);
create table marts.fct_hashtag_daily as select * from (values
  (date '2024-06-01', 'ALL', 'dance', 40, 100, 10, 500000, 3.0),
  (date '2024-06-02', 'ALL', 'dance', 70, 150, 12, 700000, 5.5),
  (date '2024-06-02', 'ALL', '美食',   50, 120,  9, 600000, 6.0)
) t(ds, region, hashtag, engaged_users, plays, likes, watch_time_ms, trend_score);
create table marts.mart_trending_hashtags as select * from (values
  (date '2024-06-01', 'ALL', 1, 'dance', 3.0, 40, null, true, 1, null, ['v1']),
  (date '2024-06-02', 'ALL', 1, '美食',   6.0, 50, null, true, 2, null, ['v2', 'v3']),
  (date '2024-06-02', 'ALL', 2, 'dance', 5.5, 70, -1, false, 1, 0, ['v1'])
) t(ds, region, trend_rank, hashtag, trend_score, engaged_users, trend_rank_change, is_new_entry, engagement_rank,
    engagement_rank_change, top_video_ids);
create table marts.mart_trending_videos as select * from (values
  (date '2024-06-02', 'ALL', 2, 'v1', 'c_a', 4.0, 30, false, 90, 9),
  (date '2024-06-02', 'ALL', 1, 'v2', 'c_b', 7.0, 44, true, 120, 15)
) t(ds, region, trend_rank, video_id, creator_key, trend_score, engaged_users, is_new_item, plays, likes);
create table marts.mart_quality_verdicts as select * from (values
  (date '2024-06-01', 'pass', 241, 0, 0, timestamptz '2024-06-02 01:00:00+00'),
  (date '2024-06-02', 'warn', 241, 0, 2, timestamptz '2024-06-03 01:00:00+00')
) t(ds, verdict, checks, failed_checks, warned_checks, validated_at);
create table marts.mart_data_freshness as select * from (values
  ('gold.trending_hashtags', date '2024-06-02', 3), ('ops.quality_results', date '2024-06-01', 241)
) t(table_name, latest_ds, rows_latest_ds);
create table marts.mart_model_quality as select * from (values
  (timestamptz '2024-06-03 02:00:00+00', 1, 'promote', 'first model', date '2024-06-02', 'pass', 0.71, null, 0.62, true)
) t(decided_at, model_version, action, reason, valid_date, gate_verdict, challenger_auc, champion_auc, baseline_auc,
    is_current_champion);
"""


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "_bi" / "reelhouse.duckdb"
    path.parent.mkdir()
    con = duckdb.connect(str(path))
    con.execute(MARTS_SQL)
    con.close()
    return path


def test_reads_the_marts_as_plain_frames(db):
    data.check_marts(db)
    assert data.dates(db) == [D2, D1]
    assert data.regions(db) == ["ALL", "US", "UNKNOWN"]
    assert data.regions(db, ds=D1) == ["ALL"]
    top = data.trending_hashtags(db, ds=D2, region="ALL", limit=5)
    assert top["hashtag"].tolist() == ["美食", "dance"] and top["movement"].tolist() == ["NEW", "▼ 1"]
    assert list(top["top_video_ids"].iloc[0]) == ["v2", "v3"]
    assert data.trending_hashtags(db, ds=D2, region="ALL", limit=1)["hashtag"].tolist() == ["美食"]
    assert data.trending_hashtags(db, ds=D2, region="US").empty
    s = data.hashtag_series(db, hashtag="dance", region="ALL")
    assert s["ds"].tolist() == [D1, D2] and s["trend_score"].tolist() == [3.0, 5.5] and s["trend_rank"].tolist() == [1, 2]
    assert data.hashtag_series(db, hashtag="dance", end=D1)["ds"].tolist() == [D1]
    v = data.trending_videos(db, ds=D2)
    assert v["video_id"].tolist() == ["v2", "v1"] and v["creator_key"].tolist() == ["c_b", "c_a"]
    assert data.quality_verdict(db, ds=D2)["verdict"] == "WARN"
    assert data.quality_verdict(db, ds=D2)["warned_checks"] == 2
    assert data.quality_verdict(db, ds=dt.date(2024, 6, 9)) is None
    f = data.freshness(db)
    assert f["table_name"].tolist() == ["gold.trending_hashtags", "ops.quality_results"] and f["latest_ds"].iloc[1] == D1
    m = data.model_quality(db)
    assert m["model_version"].tolist() == [1] and bool(m["is_current_champion"].iloc[0])


def test_kpis_with_deltas_vs_the_previous_day(db):
    k = {x.key: x for x in data.kpis(data.daily_engagement(db, region="ALL"), D2)}
    assert (k["plays"].value, k["plays"].delta) == (900, 100)
    assert (k["active_users"].value, k["active_users"].delta) == (330, 30)
    assert k["watch_hours"].value == pytest.approx(2.5) and k["watch_hours"].delta == pytest.approx(1 / 3.6)
    assert k["completion_rate"].delta == pytest.approx(0.05)
    assert k["new_videos"].formatted() == ("20", "-10")
    assert k["completion_rate"].formatted() == ("45.0%", "+5.0 pp")
    assert k["avg_watch_s"].formatted() == ("10.0 s", "0.0 s")
    first = {x.key: x for x in data.kpis(data.daily_engagement(db, region="ALL"), D1)}
    assert first["plays"].value == 800 and first["plays"].delta is None
    us = {x.key: x for x in data.kpis(data.daily_engagement(db, region="US"), D2)}
    assert us["plays"].value == 300 and us["plays"].delta is None
    missing = data.kpis(data.daily_engagement(db, region="ALL"), dt.date(2024, 7, 1))
    assert all(x.value is None and x.formatted() == ("–", None) for x in missing)


def test_movement_text():
    assert [data.movement(3), data.movement(-2), data.movement(0), data.movement(None), data.movement(5, True),
            data.movement(float("nan")), data.movement(pd.NA, pd.NA), data.movement(2, pd.NA)] == [
        "▲ 3", "▼ 2", "=", "NEW", "NEW", "NEW", "NEW", "▲ 2"]


def test_missing_database_or_marts_say_what_to_run(tmp_path, db):
    with pytest.raises(data.MartsNotBuiltError, match=r"no BI database at .*: run `reelhouse dbt build`"):
        data.check_marts(tmp_path / "nope.duckdb")
    with pytest.raises(data.MartsNotBuiltError, match="run `reelhouse dbt build`"):
        data.dates(tmp_path / "nope.duckdb")
    assert data.missing_marts(tmp_path / "nope.duckdb") == list(data.REQUIRED_MARTS)
    con = duckdb.connect(str(db))
    con.execute("drop table marts.mart_trending_videos")
    con.close()
    with pytest.raises(data.MartsNotBuiltError, match=r"has no marts.mart_trending_videos: run `reelhouse dbt build`"):
        data.check_marts(db)


WRITER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])          # read-write: takes the file's lock, like dbt build
    con.execute("create or replace table marts.touch as select 1 as x")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
""")


def test_reads_are_short_lived_and_wait_for_a_writer(db):
    data.trending_hashtags(db, ds=D2)
    # our connection is closed: a writer (dbt) gets the lock at once
    subprocess.run([sys.executable, "-c", WRITER, str(db), "0"], check=True, timeout=60, capture_output=True)
    # while a writer holds the lock: retry, then a clear error
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        with pytest.raises(data.MartsBusyError, match="locked by a writer"):
            data.query(db, "select 1", retry_seconds=0.5)
    finally:
        writer.kill()
        writer.wait()
    # a writer that finishes within the retry window is waited for
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "1"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        assert data.query(db, "select count(*) as n from marts.touch", retry_seconds=20)["n"].tolist() == [1]
    finally:
        writer.wait(30)


def test_streamlit_command_is_headless_without_telemetry(tmp_path):
    cmd = data.streamlit_command(port=8765, duckdb_file=tmp_path / "x.duckdb")
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"] and cmd[4] == str(data.APP) and data.APP.exists()
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.port"] == "8765"
    assert cmd[-3:] == ["--", "--duckdb", str((tmp_path / "x.duckdb").resolve())]
    toml = (data.APP.parent / ".streamlit" / "config.toml").read_text()
    assert "gatherUsageStats = false" in toml
