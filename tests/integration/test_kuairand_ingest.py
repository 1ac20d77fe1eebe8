"""The real KuaiRand log end to end: import → every step for each date → silver matches the
source, gold reconciles with silver, and the ranking model trains on its training examples."""

from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.integration


def test_kuairand_import_then_backfill(kuairand_log, kuairand_lake, spark):
    from reelhouse.lake import Lake

    summary = kuairand_lake.summary
    lake = Lake.from_config(kuairand_lake.config, spark)
    assert len(summary.dates) == 15
    reports = [r["ingest"] for r in kuairand_lake.reports]
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


def test_kuairand_training_examples_and_model(kuairand_lake, spark, tmp_path):
    """The real log's impressions become training examples (one per distinct impression, features
    as of it) and a challenger trains on a week and validates on the next day, beside the
    popularity baseline. Trained on a copy: the shared fixture's lake is left as it is."""
    import datetime as dt
    import shutil

    from reelhouse.config import load_config
    from reelhouse.lake import Lake
    from reelhouse.ml.model import retrain

    src = Lake.from_config(kuairand_lake.config, spark)
    silver = src.read_pandas("silver.events", columns=["event_type", "event_date"])
    examples = src.read_pandas("gold.training_examples", columns=["ds", "example_id", "label_play", "label_complete",
                                                                  "label_like"])
    imps = silver[silver.event_type == "impression"].groupby("event_date").size()
    # one example per impression of every date, no sampled negatives in the test overlay
    assert examples.groupby("ds").size().to_dict() == imps.to_dict()
    assert examples.example_id.is_unique and examples.label_play.eq(1).all()  # every KuaiRand row is a play
    assert 0 < examples.label_complete.mean() < 1 and examples.label_like.mean() > 0.5  # the extract: 80.7 % liked
    root = tmp_path / "lake"
    shutil.copytree(kuairand_lake.lake_root, root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REELHOUSE__PATHS__LAKE", str(root))
        mp.setenv("REELHOUSE__PATHS__LANDING", str(tmp_path / "landing"))
        cfg = load_config("test")
        result = retrain(Lake.from_config(cfg, spark), cfg, dt.date(2022, 4, 20), window_days=7, require_gate=False)
    print(result.summary())
    ch, base = result.metrics["challenger"], result.metrics["baseline"]
    assert ch["rows"] == imps[dt.date(2022, 4, 20)]
    assert ch["auc"] > 0.5 and ch["auc"] > base["auc"], result.summary()
    assert 0.5 < ch["calibration"] < 2.0 and ch["normalized_entropy"] < 1.0, result.summary()
    assert result.promoted and len(result.train_days) == 7


def test_every_kuairand_date_passes_or_warns_the_gate(kuairand_lake, spark):
    """A real source the gate was not written for (no region, platform, publish events or real
    creators; a partial first day) is healthy: no date may block, and the verdict says what the
    source does not provide."""
    from reelhouse.lake import Lake
    from reelhouse.quality.gate import latest_verdicts

    lake = Lake.from_config(kuairand_lake.config, spark)
    verdicts = latest_verdicts(lake, limit=100)
    assert len(verdicts) == len(kuairand_lake.summary.dates)
    assert set(verdicts.verdict) <= {"pass", "warn"}, verdicts.to_string()
    assert verdicts.blocking.sum() == 0
    provided = lake.read_pandas("ops.quality_results", columns=["ds", "expectation_type", "column_name", "observed_value"])
    provided = provided[provided.expectation_type == "optional_field_provided"]
    missing = provided[provided.observed_value.str.contains('"provided": false')]
    assert {"region", "platform", "app_version"} <= set(missing.column_name)
