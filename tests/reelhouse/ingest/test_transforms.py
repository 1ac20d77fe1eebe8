"""reelhouse.ingest.transforms on tiny frames: typed events, bronze and quarantine rows,
deduplication, videos and hashtags."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from reelhouse.ingest.transforms import (
    bronze_table,
    deduplicate,
    events_stage_schema,
    events_table,
    quarantine_table,
    to_videos,
    video_hashtags_table,
)
from reelhouse.sources import contract as C

from ingest_lines import DAY, PLAY, PUBLISH, SRC, classify, ev, rows, text  # noqa: F401

INGESTED = dt.datetime(2024, 1, 3, 1, 0, 0)


def test_events_table_types_normalises_and_keeps_extras():
    c = classify([
        ev(**{**PUBLISH, "hashtags": ["#Dance", "ＤＡＮＣＥ", "dance", " #萌宠驾到 ", "🐶", "#", ""]}, region="de", ab="x"),
        ev(event_id="e2", event_time="2024-01-01T23:59:59.5-01:00", **PLAY),
    ])
    events = events_table(c, landing_date=DAY, ingested_at=INGESTED)
    assert events.schema == events_stage_schema()
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
    bronze = rows(bronze_table(c, ingested_at=INGESTED))
    assert [b["_line_number"] for b in bronze] == [1, 2]
    assert bronze[0]["play_time_ms"] == "1200" and bronze[1]["event_type"] == "dislike"
    q = rows(quarantine_table(c, ingested_at=INGESTED))
    assert [(x["_line_number"], x["reason"], x["raw_line"]) for x in q] == [
        (2, C.REASON_UNKNOWN_EVENT_TYPE, json.dumps(ev(event_type="dislike"))),
        (3, C.REASON_INVALID_JSON, "not json"),
        (4, C.REASON_NOT_AN_OBJECT, "[1]"),
    ]
    assert q[0]["event_id"] == "e1" and q[1]["event_id"] is None


def events_df(spark, classified: pa.Table):
    return spark.createDataFrame(events_table(classified, landing_date=DAY, ingested_at=INGESTED))


def test_deduplicate_within_run_and_against_prior(spark):
    c = pa.concat_tables([
        classify([ev(event_id="a"), ev(event_id="b"), ev(event_id="a"), ev(event_id="c")], source="events/date=2024-01-02/hour=05/z.jsonl"),
        classify([ev(event_id="a")], source="events/date=2024-01-02/hour=04/y.jsonl"),
    ])
    events = events_df(spark, c)
    prior = spark.createDataFrame([("c",)], "event_id string")
    kept = deduplicate(events, prior).collect()
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
    videos = to_videos(events).collect()
    assert len(videos) == 1 and videos[0]["publish_event_id"] == "p1" and videos[0]["hashtags"] == ["a", "fun"]
    tags = video_hashtags_table(to_videos(events).toArrow()).to_pylist()
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
    got = [(r["video_id"], r["hashtag"], r["position"]) for r in video_hashtags_table(videos).to_pylist()]
    assert got == [("v2", "a", 0), ("v2", "b", 1), ("v2", "c", 2), ("v3", "d", 0), ("v3", "e", 1)]
