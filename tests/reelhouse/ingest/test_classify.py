"""reelhouse.ingest.classify: one test per quarantine reason, the fast and slow paths line for
line, valid lines, the future bound and the reason detail."""

from __future__ import annotations

import pytest

from reelhouse.sources import contract as C

from ingest_lines import DAY, PLAY, PUBLISH, SRC, classify, ev, rows, text  # noqa: F401



# one line per reason code (corrupt_file is a whole-file reason, tested on the step: tests/spark_jobs/test_ingest.py)
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
