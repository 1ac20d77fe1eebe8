"""reelhouse.ingest.stage: split settings and their scope, the worker pass that classifies and
stages one task's lines (run here without Spark), its manifest, and the corrupt-file rows."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reelhouse.ingest.stage import (
    MANIFEST_DDL,
    STAGED_OUTPUTS,
    StageManifest,
    classify_and_stage,
    no_split_reads,
    split_settings,
    stage_corrupt_files,
)
from reelhouse.ingest.transforms import events_stage_schema, staged_schema
from reelhouse.sources import contract as C
from reelhouse.sources.landing import LandingFile

DAY = dt.date(2024, 1, 2)
INGESTED = dt.datetime(2024, 1, 3, 1, 0, 0, tzinfo=dt.timezone.utc)
A = "events/date=2024-01-02/hour=05/a.jsonl"
B = "events/date=2024-01-02/hour=06/b.jsonl"


def landing_file(rel: str, size: int, error: str | None = None) -> LandingFile:
    return LandingFile(f"/landing/{rel}", rel, size, error)


def test_split_settings_cover_the_largest_plain_file():
    files = [landing_file(A, 10 << 20), landing_file(B, 3 << 20),
             landing_file("events/date=2024-01-02/hour=07/c.jsonl.gz", 900 << 20),  # gzip: never split
             landing_file("events/date=2024-01-02/hour=08/d.jsonl", 1 << 30, error="unreadable")]
    got = split_settings(files)
    assert got == {"spark.sql.files.maxPartitionBytes": str(2 << 30),
                   "spark.sql.files.openCostInBytes": str((10 << 20) + 1)}
    assert split_settings([landing_file(A, 100)])["spark.sql.files.openCostInBytes"] == str(4 << 20)  # floor 4 MiB
    with pytest.raises(ValueError, match="2 GiB"):
        split_settings([landing_file(A, 2 << 30)])


def test_no_split_reads_restores_the_session_conf(spark):
    key = "spark.sql.files.openCostInBytes"
    before = {k: spark.conf.get(k, None) for k in ("spark.sql.files.maxPartitionBytes", key)}
    files = [landing_file(A, 10 << 20)]
    with no_split_reads(spark, files) as applied:
        assert spark.conf.get(key) == applied[key] == str((10 << 20) + 1)
    assert {k: spark.conf.get(k, None) for k in before} == before
    with pytest.raises(RuntimeError):
        with no_split_reads(spark, files):
            raise RuntimeError("a failed pass")
    assert {k: spark.conf.get(k, None) for k in before} == before


def test_classify_and_stage_writes_every_line_once_and_reports_it(tmp_path):
    good = {"event_id": "e1", "event_type": "like", "event_time": "2024-01-02T05:10:00Z", "user_id": "u1", "video_id": "v1"}
    late = {**good, "event_id": "e2", "event_time": "2024-01-01T23:00:00Z"}
    lines_a = [json.dumps(good), json.dumps(late), "not json", json.dumps({**good, "event_type": "dislike"})]
    lines_b = [json.dumps({**good, "event_id": "e3", "event_time": "2024-01-02T06:10:00Z"})]
    batch = pa.RecordBatch.from_pydict({"value": lines_a + lines_b, "_source_file": [A] * 4 + [B]})
    staging = {t: str(tmp_path / t) for t in STAGED_OUTPUTS}
    out = list(classify_and_stage(iter([batch]), landing_date=DAY, future_tolerance_seconds=3600,
                                  ingested_at=INGESTED, staging=staging, buffer_rows=2))
    assert len(out) == 1 and out[0].schema.names == [c.split()[0] for c in MANIFEST_DDL.split(", ")]
    m = StageManifest.from_rows(out[0].to_pylist())
    assert sorted(m.file_stats) == [(A, 4, 2), (B, 1, 1)]  # (file, lines read, valid lines)
    assert m.event_dates == [dt.date(2024, 1, 1), DAY]
    tables = {t: pa.concat_tables([pq.read_table(f"{staging[t]}/{p}") for p in m.staged_files[t]]) for t in STAGED_OUTPUTS}
    assert tables["bronze.events"].num_rows == 4  # every line that parsed as an object
    assert tables["bronze.events"].schema.equals(staged_schema("bronze.events"))
    assert [p.split("/")[0] for p in m.staged_files["bronze.events"]] == ["landing_date=2024-01-02"]
    assert sorted(tables["quarantine.events"]["reason"].to_pylist()) == sorted(
        [C.REASON_INVALID_JSON, C.REASON_UNKNOWN_EVENT_TYPE])
    ev = tables["events"]
    assert ev.schema.equals(events_stage_schema())
    assert sorted(ev["event_id"].to_pylist()) == ["e1", "e2", "e3"]


def test_stage_manifest_of_no_rows_is_empty():
    m = StageManifest.from_rows([])
    assert m.staged_files == {t: [] for t in STAGED_OUTPUTS} and m.file_stats == [] and m.event_dates == []
    assert StageManifest() == m


def test_stage_corrupt_files_one_quarantine_row_per_unreadable_file(tmp_path):
    files = [landing_file(A, 10), landing_file("events/date=2024-01-02/hour=06/c.jsonl.gz", 5, error="bad gzip")]
    assert stage_corrupt_files(str(tmp_path / "none"), files[:1], landing_date=DAY, ingested_at=INGESTED) == []
    assert not (tmp_path / "none").exists()
    rels = stage_corrupt_files(str(tmp_path), files, landing_date=DAY, ingested_at=INGESTED)
    assert rels == ["landing_date=2024-01-02/corrupt-files.parquet"]
    rows = pq.read_table(tmp_path / rels[0]).to_pylist()
    assert [(r["reason"], r["reason_detail"], r["_source_file"], r["_line_number"], r["raw_line"]) for r in rows] == [
        (C.REASON_CORRUPT_FILE, "bad gzip", "events/date=2024-01-02/hour=06/c.jsonl.gz", 0, None)]
