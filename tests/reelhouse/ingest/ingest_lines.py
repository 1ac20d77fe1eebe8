"""Landing lines for the ingest unit tests (imported by test_classify and test_transforms; pytest
puts this folder on sys.path): an event factory, the classify step over one batch, row helpers."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from reelhouse.ingest.classify import classify_batches

DAY = dt.date(2024, 1, 2)
SRC = "events/date=2024-01-02/hour=05/a.jsonl"
PLAY = dict(event_type="play", play_time_ms=1200, video_duration_ms=30000)
PUBLISH = dict(event_type="publish", creator_id="c1", video_duration_ms=30000, hashtags=["#Dance"])


def ev(**kw):
    """A valid ``like`` event as a dict, overridden by ``kw``; a value of ``...`` drops the key."""
    base = {"event_id": "e1", "event_type": "like", "event_time": "2024-01-02T05:10:00Z", "user_id": "u1", "video_id": "v1"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


def text(line) -> str:
    """A landing line: strings as they are, dicts as JSON (UTF-8, not escaped)."""
    return line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)


def classify(lines, tolerance=3600, source=SRC, fast_path=True) -> pa.Table:
    """classify_batches over one batch of lines (numbered from 1), rows in line order."""
    batch = pa.RecordBatch.from_pydict({"value": [text(x) for x in lines], "_source_file": [source] * len(lines)})
    out = classify_batches(iter([batch]), landing_date=DAY, future_tolerance_seconds=tolerance, fast_path=fast_path)
    return pa.Table.from_batches(list(out)).sort_by("_line_number")


def rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()
