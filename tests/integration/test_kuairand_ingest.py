"""The real KuaiRand log end to end: import → ingest every date → silver matches the source."""

from __future__ import annotations

import pandas as pd
import pytest

from reelhouse.importers.kuairand import import_kuairand
from reelhouse.pipeline import run_date

pytestmark = pytest.mark.integration


def test_kuairand_import_then_backfill(kuairand_log, spark, config, lake, data_dirs):
    landing, _ = data_dirs
    summary = import_kuairand(kuairand_log, str(landing))
    assert len(summary.dates) == 15
    reports = [run_date(d, spark=spark, config=config, log=lambda m: None)["ingest"] for d in summary.dates]
    assert all(r.balanced for r in reports)
    assert sum(r.rows_quarantined for r in reports) == 0

    src = pd.read_csv(kuairand_log, sep="\t")
    distinct = src.drop_duplicates(["user_id", "video_id", "time_ms"])
    silver = lake.read("silver.events")
    plays = silver.where("event_type = 'play'").select("user_id", "video_id", "event_time", "play_time_ms").toPandas()
    # silver plays = the distinct (user_id, video_id, time_ms) rows of the source, one for one
    assert len(plays) == len(distinct) == 41_704
    got = set(zip(plays.user_id, plays.video_id, plays.event_time.astype("int64") // 1_000_000))
    want = set(zip("kr_u" + distinct.user_id.astype(str), "kr_v" + distinct.video_id.astype(str), distinct.time_ms))
    assert got == want
    assert plays.play_time_ms.sum() == distinct.play_time_ms.sum()
    # likes are the label==1 rows; unknown durations stay NULL, never invented
    assert silver.where("event_type = 'like'").count() == int((distinct.label == 1).sum())
    assert silver.where("event_type = 'play' AND video_duration_ms IS NULL").count() == int((distinct.duration_ms == 0).sum())
    # every event lands in the UTC date of its time_ms; the ingest touched exactly the log's dates
    assert sorted({d for r in reports for d in r.event_dates}) == [d.isoformat() for d in summary.dates]
    # totals reconcile: lines = kept + duplicates (no bad lines in this source)
    assert sum(r.lines_read for r in reports) == summary.events_total
    assert sum(r.rows_kept for r in reports) == silver.count()
    assert silver.groupBy("event_id").count().where("count > 1").count() == 0

    # gold: daily stats and trending videos for every date of the log, totals reconcile with silver
    vs = lake.read_pandas("gold.video_daily_stats")
    tv = lake.read_pandas("gold.trending_videos")
    hs = lake.read_pandas("gold.hashtag_daily_stats")
    for d in summary.dates:
        day = vs[(vs.ds == d) & (vs.region == "ALL")]
        s = silver.where(f"event_date = '{d}'").groupBy("event_type").count().toPandas().set_index("event_type")["count"]
        assert day.plays.sum() == s["play"] and day.impressions.sum() == s["impression"]
        assert day.likes.sum() == s.get("like", 0) and day.shares.sum() == s.get("share", 0)
        assert day.follows.sum() == s.get("follow", 0)
        assert len(tv[(tv.ds == d) & (tv.region == "ALL")]) > 0, f"no trending videos on {d}"
    assert hs.empty  # the log has no publish events, hence no hashtags
