"""spark_jobs.ingest: the whole step on a hand-made landing date (late events, duplicates, corrupt
gzip, reruns, a retry with the same run version, a date without files, the spark-submit entry point)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os

from reelhouse.sources import contract as C
from spark_jobs import ingest

DAY = dt.date(2024, 1, 2)


def ev(**kw):
    base = {"event_id": "e1", "event_type": "like", "event_time": "2024-01-02T05:10:00Z", "user_id": "u1", "video_id": "v1"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


PLAY = dict(event_type="play", play_time_ms=1200, video_duration_ms=30000)
PUBLISH = dict(event_type="publish", creator_id="c1", video_duration_ms=30000, hashtags=["#Dance"])


# ----------------------------------------------------------------------------- the step
def write_landing(landing, hour, name, lines, gz=False, raw: bytes | None = None):
    d = landing / "events" / f"date={DAY}" / f"hour={hour:02d}"
    d.mkdir(parents=True, exist_ok=True)
    text = "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in lines)
    p = d / name
    if raw is not None:
        p.write_bytes(raw)
    elif gz:
        with gzip.open(p, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def sample_landing(landing):
    pub = ev(event_id="p1", event_time="2024-01-02T05:00:00Z", **{**PUBLISH, "hashtags": ["#Dance", "ＤＡＮＣＥ", "萌宠驾到"]})
    a = [pub, ev(event_id="e1", **PLAY), ev(event_id="e2"), ev(event_id="late", event_time="2024-01-01T23:00:00Z"),
         ev(event_id="bad", **{**PLAY, "play_time_ms": -3}), "garbage"]
    write_landing(landing, 5, "a.jsonl", a)
    write_landing(landing, 5, "a-redelivered.jsonl.gz", a, gz=True)  # the same file delivered twice
    write_landing(landing, 6, "b.jsonl", [ev(event_id="e1", **PLAY), ev(event_id="e3", event_time="2024-01-02T06:10:00Z")])
    write_landing(landing, 6, "c.jsonl.gz", [], raw=b"\x1f\x8b\x08\x00" + os.urandom(64))
    write_landing(landing, 6, ".tmp-partial.jsonl", ["ignored: hidden temp file"])


def test_step_end_to_end_reconciles(spark, lake, config, data_dirs):
    landing, _ = data_dirs
    sample_landing(landing)
    rep = ingest.run(spark, lake, config, DAY)
    assert rep.files == 4 and rep.corrupt_files == 1
    assert rep.lines_read == 6 + 6 + 2
    # first copy by (file, line): "a-redelivered.jsonl.gz" sorts before "a.jsonl"
    assert (rep.rows_kept, rep.duplicates_dropped, rep.rows_quarantined) == (5, 5, 5)
    assert rep.quarantined_by_reason == {C.REASON_NEGATIVE_PLAY_TIME: 2, C.REASON_INVALID_JSON: 2, C.REASON_CORRUPT_FILE: 1}
    assert rep.balanced
    assert rep.event_dates == ["2024-01-01", "2024-01-02"]
    silver = {r["event_id"]: r for r in lake.read("silver.events").collect()}
    assert set(silver) == {"p1", "e1", "e2", "late", "e3"}
    assert silver["late"]["event_date"] == dt.date(2024, 1, 1) and silver["late"]["landing_date"] == DAY
    recon = {r["_source_file"].rsplit("/", 1)[1]: r for r in lake.read("ops.ingest_reconciliation").collect()}
    assert all(r["balanced"] for r in recon.values())
    got = {k: (r["lines_read"], r["rows_kept"], r["duplicates_dropped"], r["rows_quarantined"]) for k, r in recon.items()}
    assert got == {
        "a-redelivered.jsonl.gz": (6, 4, 0, 2),
        "a.jsonl": (6, 0, 4, 2),
        "b.jsonl": (2, 1, 1, 0),
        "c.jsonl.gz": (0, 0, 0, 1),
    }
    assert recon["c.jsonl.gz"]["file_status"] == "corrupt"
    assert lake.read("bronze.events").count() == 12  # every line that parsed as an object (5 + 5 + 2)
    assert [r["hashtag"] for r in lake.read("silver.video_hashtags").orderBy("position").collect()] == ["dance", "萌宠驾到"]
    q = lake.read("quarantine.events").where("reason = 'corrupt_file'").collect()
    assert q[0]["_source_file"].endswith("c.jsonl.gz") and q[0]["raw_line"] is None


def test_source_without_publish_events_still_has_empty_video_dimensions(spark, lake, config, data_dirs):
    # a log of views only (the KuaiRand extract): the dimension tables exist, empty, so readers and
    # the gate's schema checks find them
    landing, _ = data_dirs
    write_landing(landing, 5, "a.jsonl", [ev(event_id="e1", **PLAY), ev(event_id="e2")])
    rep = ingest.run(spark, lake, config, DAY)
    assert rep.balanced and rep.rows_kept == 2 and rep.videos_upserted == 0
    for table in ("silver.videos", "silver.video_hashtags"):
        assert lake.exists(table) and lake.read_arrow(table).num_rows == 0


def test_step_rerun_is_idempotent_and_dedupes_across_dates(spark, lake, config, data_dirs):
    landing, _ = data_dirs
    sample_landing(landing)
    ingest.run(spark, lake, config, DAY)
    cols = ["event_id", "event_type", "event_time", "hashtags", "event_date", "landing_date", "_source_file"]
    first = sorted(tuple(map(str, r)) for r in lake.read("silver.events").select(cols).collect())
    counts = {t: lake.read(t).count() for t in ingest.INGEST_TABLES}
    rep = ingest.run(spark, lake, config, DAY)
    assert rep.skipped_tables == []  # a new execution recomputes …
    assert sorted(tuple(map(str, r)) for r in lake.read("silver.events").select(cols).collect()) == first  # … same content
    assert {t: lake.read(t).count() for t in ingest.INGEST_TABLES} == counts
    # the next landing date redelivers e2 and p1: duplicates of what the first date kept
    nxt = DAY + dt.timedelta(days=1)
    d = landing / "events" / f"date={nxt}" / "hour=00"
    d.mkdir(parents=True)
    (d / "x.jsonl").write_text(json.dumps(ev(event_id="e2")) + "\n" + json.dumps(ev(event_id="new", event_time="2024-01-03T00:05:00Z")) + "\n")
    rep2 = ingest.run(spark, lake, config, nxt)
    assert (rep2.rows_kept, rep2.duplicates_dropped) == (1, 1)
    assert lake.read("silver.events").groupBy("event_id").count().where("count > 1").count() == 0


def test_same_run_version_is_a_no_op(spark, lake, config, data_dirs):
    landing, _ = data_dirs
    sample_landing(landing)
    ingest.run(spark, lake, config, DAY, run_version=5)
    versions = {t: lake.version(t) for t in ingest.INGEST_TABLES}
    rep = ingest.run(spark, lake, config, DAY, run_version=5)
    assert set(rep.skipped_tables) >= {"quarantine.events", "bronze.events", "silver.events", "ops.ingest_reconciliation"}
    assert {t: lake.version(t) for t in ingest.INGEST_TABLES} == versions


def test_date_without_files_is_a_successful_no_op(spark, lake, config, data_dirs):
    rep = ingest.run(spark, lake, config, dt.date(2030, 1, 1))
    assert rep.files == 0 and "no landing files" in rep.message
    assert not lake.exists("silver.events")


def test_main_prints_report(spark, data_dirs, capsys):
    landing, _ = data_dirs
    write_landing(landing, 5, "a.jsonl", [ev()])
    assert ingest.main(["--date", DAY.isoformat()]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows_kept"] == 1 and out["balanced"] is True
