"""spark_jobs.ingest: every pure transform on tiny frames, one test per quarantine reason, and
the whole step on a hand-made landing date (late events, duplicates, corrupt gzip, reruns)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os

import pyarrow as pa
import pytest

from reelhouse.sources import contract as C
from spark_jobs import ingest

DAY = dt.date(2024, 1, 2)
SRC = "events/date=2024-01-02/hour=05/a.jsonl"
INGESTED = dt.datetime(2024, 1, 3, 1, 0, 0)


def ev(**kw):
    base = {"event_id": "e1", "event_type": "like", "event_time": "2024-01-02T05:10:00Z", "user_id": "u1", "video_id": "v1"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


def text(line) -> str:
    return line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)


def classify(lines, tolerance=3600, source=SRC, fast_path=True) -> pa.Table:
    """classify_batches over one batch of lines (numbered from 1), rows in line order."""
    batch = pa.RecordBatch.from_pydict({"value": [text(x) for x in lines], "_source_file": [source] * len(lines)})
    out = ingest.classify_batches(iter([batch]), landing_date=DAY, future_tolerance_seconds=tolerance, fast_path=fast_path)
    return pa.Table.from_batches(list(out)).sort_by("_line_number")


def rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


PLAY = dict(event_type="play", play_time_ms=1200, video_duration_ms=30000)
PUBLISH = dict(event_type="publish", creator_id="c1", video_duration_ms=30000, hashtags=["#Dance"])

# one line per reason code (corrupt_file is a whole-file reason, tested on the step below)
REASON_CASES = {
    C.REASON_INVALID_JSON: ['{"event_id": "e1", "event_type": "like"', ""],
    C.REASON_NOT_AN_OBJECT: ["[1, 2, 3]", '"just a string"', "42"],
    C.REASON_MISSING_FIELD: [
        ev(event_id=...), ev(user_id=None), ev(event_time=...), ev(video_id=...),
        ev(**{**PLAY, "play_time_ms": ...}), ev(**{**PLAY, "video_duration_ms": ...}),
        ev(event_type="follow", video_id=...), ev(**{**PUBLISH, "hashtags": ...}),
    ],
    C.REASON_WRONG_TYPE: [
        ev(user_id=123), ev(**{**PLAY, "play_time_ms": "1200"}), ev(**{**PLAY, "play_time_ms": 12.5}),
        ev(**{**PUBLISH, "hashtags": "#dance"}), ev(**{**PUBLISH, "hashtags": [1, 2]}),
        ev(event_time=True), ev(region=["US"]), ev(event_id={"id": 1}),
    ],
    C.REASON_UNKNOWN_EVENT_TYPE: [ev(event_type="dislike"), ev(event_type="PLAY")],
    C.REASON_INVALID_EVENT_TIME: [ev(event_time="2024-01-02T05:10:00"), ev(event_time="yesterday"), ev(event_time="2024-13-45T99:00:00Z")],
    C.REASON_FUTURE_EVENT_TIME: [ev(event_time="2024-01-02T07:00:01Z"), ev(event_time=1704182401000)],
    C.REASON_NEGATIVE_PLAY_TIME: [ev(**{**PLAY, "play_time_ms": -1})],
    C.REASON_INVALID_DURATION: [ev(**{**PLAY, "video_duration_ms": 0}), ev(**{**PUBLISH, "video_duration_ms": -5})],
}


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast", "slow"])
@pytest.mark.parametrize("reason", [r for r in C.REASON_CODES if r != C.REASON_CORRUPT_FILE])
def test_each_reason_code(reason, fast_path):
    lines = REASON_CASES[reason]
    got = [r["reason"] for r in rows(classify(lines, fast_path=fast_path))]
    assert got == [reason] * len(lines)


EDGE_TIMES = [
    "2024-01-02T05:10:00Z", "2024-01-02 05:10:00Z", "2024-01-02t05:10:00z", "2024-01-02T05:10:00.123456789Z",
    "2024-01-02T05:10:00.5+23:59", "2024-01-02T24:00:00Z", "2024-01-01T23:59:60Z", "2023-02-29T00:00:00Z",
    "2024-02-29T00:00:00-00:00", "2024-01-02T05:10:00+24:00", "0001-01-01T01:00:00+01:00", "2024-01-02T05:10:00",
    "2024-01-02", 1704172200000, -62135596800001, 253402300799999, 2**63 - 1,
]


def test_fast_and_slow_paths_classify_identically():
    """The typed fast path and the per-object slow path give the same row for every kind of line."""
    lines = [ev(event_id=f"t{i}", event_time=t) for i, t in enumerate(EDGE_TIMES)]
    lines += [x for cases in REASON_CASES.values() for x in cases]
    lines += [ev(**PLAY), ev(**{**PLAY, "video_duration_ms": None}), ev(**PUBLISH, region="de"), ev(ab="x"),
              '{"event_id": "dup", "event_type": "like", "event_time": 1704172200000, "user_id": "a", "user_id": "b", "video_id": "v"}', ev(**{**PUBLISH, "hashtags": ["#A", "ａ", ""]})]
    fast, slow = classify(lines, fast_path=True), classify(lines, fast_path=False)
    for name in fast.column_names:
        assert fast[name].equals(slow[name]), (name, [(a, b) for a, b in zip(fast[name].to_pylist(), slow[name].to_pylist()) if a != b][:3])
    assert sum(r["reason"] is None for r in rows(fast)) >= 10


def test_valid_lines_pass():
    good = [
        ev(),
        ev(event_time="2024-01-02T13:10:00.123+08:00"),  # offset, same instant range
        ev(event_time=1704172200000),  # epoch ms
        ev(event_time="2024-01-02t05:10:00z"),
        ev(**PLAY),
        ev(**{**PLAY, "video_duration_ms": None}),  # unknown duration is allowed for play
        ev(**PUBLISH, caption="hello", sound_id="s1", region="us"),
        ev(**{**PUBLISH, "hashtags": []}),
        ev(event_type="follow", video_id=..., creator_id="c9"),
        ev(event_time="2024-01-02T07:00:00Z"),  # hour end 06:00 + 1 h tolerance, inclusive
        ev(ab_bucket="b", nested={"x": 1}),  # unknown fields are kept, not rejected
        ev(event_time="2023-12-30T23:00:00Z"),  # late: an earlier date than the folder
    ]
    got = rows(classify(good))
    assert [(r["_line_number"], r["reason"], r["reason_detail"]) for r in got if r["reason"]] == []


def test_future_tolerance_comes_from_config():
    line = [ev(event_time="2024-01-02T06:30:00Z")]
    assert rows(classify(line, tolerance=3600))[0]["reason"] is None
    assert rows(classify(line, tolerance=60))[0]["reason"] == C.REASON_FUTURE_EVENT_TIME


def test_reason_detail_names_the_field():
    r = rows(classify([ev(**{**PLAY, "play_time_ms": "1200"})]))[0]
    assert r["reason_detail"] == "play_time_ms: expected integer, got string"


def test_events_table_types_normalises_and_keeps_extras():
    c = classify([
        ev(**{**PUBLISH, "hashtags": ["#Dance", "ＤＡＮＣＥ", "dance", " #萌宠驾到 ", "🐶", "#", ""]}, region="de", ab="x"),
        ev(event_id="e2", event_time="2024-01-01T23:59:59.5-01:00", **PLAY),
    ])
    events = ingest.events_table(c, landing_date=DAY, ingested_at=INGESTED)
    assert events.schema == ingest.events_stage_schema()
    by_id = {r["event_id"]: r for r in rows(events)}
    pub = by_id["e1"]
    assert pub["hashtags"] == ["dance", "萌宠驾到", "🐶"]
    assert pub["region"] == "DE" and pub["extra"] == [("ab", "x")]
    play = by_id["e2"]
    assert play["event_time"] == dt.datetime(2024, 1, 2, 0, 59, 59, 500000, tzinfo=dt.timezone.utc)
    assert play["event_date"] == DAY and play["landing_date"] == DAY  # event_date is the UTC date
    assert play["play_time_ms"] == 1200 and play["video_duration_ms"] == 30000 and play["extra"] == []
    assert play["_ingested_at"] == INGESTED.replace(tzinfo=dt.timezone.utc)


def test_bronze_keeps_every_object_line_as_text():
    c = classify([ev(**PLAY), ev(event_type="dislike"), "not json", "[1]"])
    bronze = rows(ingest.bronze_table(c, ingested_at=INGESTED))
    assert [b["_line_number"] for b in bronze] == [1, 2]
    assert bronze[0]["play_time_ms"] == "1200" and bronze[1]["event_type"] == "dislike"
    q = rows(ingest.quarantine_table(c, ingested_at=INGESTED))
    assert [(x["_line_number"], x["reason"], x["raw_line"]) for x in q] == [
        (2, C.REASON_UNKNOWN_EVENT_TYPE, json.dumps(ev(event_type="dislike"))),
        (3, C.REASON_INVALID_JSON, "not json"),
        (4, C.REASON_NOT_AN_OBJECT, "[1]"),
    ]
    assert q[0]["event_id"] == "e1" and q[1]["event_id"] is None


def events_df(spark, classified: pa.Table):
    return spark.createDataFrame(ingest.events_table(classified, landing_date=DAY, ingested_at=INGESTED))


def test_deduplicate_within_run_and_against_prior(spark):
    c = pa.concat_tables([
        classify([ev(event_id="a"), ev(event_id="b"), ev(event_id="a"), ev(event_id="c")], source="events/date=2024-01-02/hour=05/z.jsonl"),
        classify([ev(event_id="a")], source="events/date=2024-01-02/hour=04/y.jsonl"),
    ])
    events = events_df(spark, c)
    prior = spark.createDataFrame([("c",)], "event_id string")
    kept = ingest.deduplicate(events, prior).collect()
    assert sorted((r["event_id"], r["_source_file"], r["_line_number"]) for r in kept) == [
        ("a", "events/date=2024-01-02/hour=04/y.jsonl", 1),  # first by (file, line)
        ("b", "events/date=2024-01-02/hour=05/z.jsonl", 2),
    ]


def test_videos_and_hashtags_earliest_publish_wins(spark):
    c = classify([
        ev(event_id="p2", event_time="2024-01-02T05:30:00Z", **{**PUBLISH, "hashtags": ["#B"]}),
        ev(event_id="p1", event_time="2024-01-02T05:20:00Z", **{**PUBLISH, "hashtags": ["#A", "#Fun"]}),
        ev(event_id="x", **PLAY),
    ])
    events = events_df(spark, c).drop("_line_number")
    videos = ingest.to_videos(events).collect()
    assert len(videos) == 1 and videos[0]["publish_event_id"] == "p1" and videos[0]["hashtags"] == ["a", "fun"]
    tags = ingest.video_hashtags_table(ingest.to_videos(events).toArrow()).to_pylist()
    assert [(t["video_id"], t["hashtag"], t["position"]) for t in tags] == [("v1", "a", 0), ("v1", "fun", 1)]


def test_video_hashtags_table_positions_per_video():
    from reelhouse.lake.catalog import get_table

    ts = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    rows_ = [(f"v{i}", tags) for i, tags in enumerate([["x"], [], ["a", "b", "c"], ["d", "e"]])]
    videos = pa.Table.from_pylist(
        [{"video_id": v, "creator_id": "c", "published_at": ts, "video_duration_ms": 1, "hashtags": t,
          "publish_event_id": v, "_source_file": "f", "published_date": DAY} for v, t in rows_],
        schema=pa.schema([f for f in get_table("silver.videos").arrow_schema()]),
    ).slice(1)  # a sliced input: list offsets do not start at 0
    got = [(r["video_id"], r["hashtag"], r["position"]) for r in ingest.video_hashtags_table(videos).to_pylist()]
    assert got == [("v2", "a", 0), ("v2", "b", 1), ("v2", "c", 2), ("v3", "d", 0), ("v3", "e", 1)]


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
