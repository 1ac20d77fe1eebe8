"""Erasure pieces without Spark: the policy covers every column that holds a user id, landing
lines are removed or edited per user, the audit's keyed hash is neither the id nor the BI
pseudonym, and the deleted rows stay readable by time travel until the retention has passed."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json

import pyarrow as pa
import pytest

from reelhouse.lake.catalog import TABLES


def test_every_catalog_column_holding_a_user_id_is_covered_by_the_policy():
    from reelhouse.ops.erasure import POLICY

    holders = {n for n, s in TABLES.items() for c in s.columns if c.name in ("user_id", "creator_id", "raw_line")}
    holders -= {"ops.erasure_requests"}  # the queue: its rows are deleted when processed
    assert holders <= set(POLICY), holders - set(POLICY)
    for table, actions in POLICY.items():
        cols = {c.name: c for c in TABLES[table].columns}
        for a in actions:
            col = {"delete_user": "user_id", "delete_creator": "creator_id", "redact_creator": "creator_id",
                   "delete_raw": "raw_line"}[a]
            assert col in cols, (table, a)
            if a == "redact_creator":
                assert cols[col].nullable, (table, col)


def test_landing_lines_are_removed_or_edited_per_user(tmp_path):
    from reelhouse.ops.erasure import rewrite_landing

    day = tmp_path / "events" / "date=2024-06-01" / "hour=00"
    day.mkdir(parents=True)
    lines = [
        {"event_id": "1", "event_type": "play", "user_id": "u1", "video_id": "v1", "creator_id": "u9"},
        {"event_id": "2", "event_type": "play", "user_id": "u2", "video_id": "v2", "creator_id": "u1"},
        {"event_id": "3", "event_type": "like", "user_id": "u2", "video_id": "v3", "creator_id": "u3", "caption": "猫 🐱"},
        {"event_id": "4", "event_type": "play", "user_id": "u10", "video_id": "v1"},
    ]
    payload = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines) + '{"user_id": "u1", broken\n'
    (day / "part-0.jsonl.gz").write_bytes(gzip.compress(payload.encode()))
    (day / "part-1.jsonl").write_text(json.dumps(lines[3]) + "\n")
    out = rewrite_landing(str(tmp_path), ["u1"])
    assert out["u1"]["files_rewritten"] == 1 and out["u1"]["lines_removed"] == 2 and out["u1"]["lines_edited"] == 1
    kept = [json.loads(x) for x in gzip.decompress((day / "part-0.jsonl.gz").read_bytes()).decode().splitlines()]
    assert [x["event_id"] for x in kept] == ["2", "3", "4"]
    assert "creator_id" not in kept[0] and kept[1]["caption"] == "猫 🐱" and kept[2]["user_id"] == "u10"
    assert rewrite_landing(str(tmp_path), ["u1"])["u1"]["files_rewritten"] == 0  # a rerun finds nothing


def test_subject_ref_is_keyed_and_not_the_bi_pseudonym():
    from reelhouse.ops.erasure import request_id_for, subject_ref

    key = "k" * 32
    ref = subject_ref("u1", key)
    assert len(ref) == 64 and ref != subject_ref("u1", "x" * 32) and ref != subject_ref("u2", key)
    assert ref != hashlib.sha256(f"{key}:u1".encode()).hexdigest()  # the marts' user_key
    assert request_id_for("u1", key) == "er_" + ref[:16]


def _lake_with_users(root):
    from reelhouse.lake import Lake
    from reelhouse.lake.catalog import get_table

    lake = Lake(str(root / "lake"))
    spec = get_table("gold.user_features")
    fillers = {pa.string(): "x", pa.int64(): 1, pa.int32(): 1, pa.float64(): 0.5}
    rows = []
    for u in ("u1", "u2", "u3"):
        r = {c.name: (fillers.get(c.type) if not c.nullable else None) for c in spec.columns}
        r.update(user_id=u, ds=dt.date(2024, 6, 1), feature_time=dt.datetime(2024, 6, 2, tzinfo=dt.timezone.utc))
        rows.append(r)
    lake.write_arrow(pa.Table.from_pylist(rows, schema=spec.arrow_schema()), "gold.user_features", mode="append")
    return lake


def test_deleted_rows_stay_readable_until_the_retention_has_passed(tmp_path):
    from reelhouse.config import load_config
    from reelhouse.ops.erasure import process_requests, request_erasure

    lake = _lake_with_users(tmp_path)
    environ = {"REELHOUSE__PATHS__LAKE": str(tmp_path / "lake"), "REELHOUSE__PATHS__LANDING": str(tmp_path / "landing")}
    cfg = load_config("test", environ=environ)
    t0 = dt.datetime(2024, 7, 1, tzinfo=dt.timezone.utc)
    (rid,) = request_erasure(lake, cfg, ["u2"], requested_by="test", now=t0)
    logs = []
    out = process_requests(lake, cfg, log=logs.append)  # the policy's retention (168 h)
    assert out["erased"] == [rid] and out["completed"] == []
    users = lambda v=None: set(lake.read_arrow("gold.user_features", version=v).column("user_id").to_pylist())  # noqa: E731
    assert users() == {"u1", "u3"} and users(1) == {"u1", "u2", "u3"}  # time travel still has u2
    (audit,) = lake.read_arrow("ops.erasures").to_pylist()
    assert audit["status"] == "erased" and audit["retention_hours"] == cfg.privacy.erasure_retention_hours == 168
    assert audit["rows_removed"] == 1 and "u2" not in json.dumps(audit, default=str)
    assert not lake.read_arrow("ops.erasure_requests").num_rows  # the raw id left the queue
    # a day later it is not due yet
    assert process_requests(lake, cfg, now=audit["erased_at"] + dt.timedelta(days=1), log=logs.append)["completed"] == []
    assert users(1) == {"u1", "u2", "u3"}
    assert any("privacy: 1 requests erased" in m for m in logs)


def test_a_due_erasure_is_vacuumed_and_completed(tmp_path):
    """Retention 0 with the vacuum deferred: the next run finds it due and vacuums."""
    from reelhouse.config import load_config
    from reelhouse.ops.erasure import process_requests, request_erasure

    lake = _lake_with_users(tmp_path)
    environ = {"REELHOUSE__PATHS__LAKE": str(tmp_path / "lake"), "REELHOUSE__PATHS__LANDING": str(tmp_path / "landing")}
    cfg = load_config("test", environ=environ)
    (rid,) = request_erasure(lake, cfg, ["u2"], requested_by="test")
    first = process_requests(lake, cfg, retention_hours=0, defer_vacuum=True, log=lambda m: None)
    assert first["erased"] == [rid] and first["completed"] == [rid]  # due at once: retention 0
    (audit,) = lake.read_arrow("ops.erasures").to_pylist()
    assert audit["status"] == "complete" and audit["files_vacuumed"] >= 1 and audit["completed_at"]
    with pytest.raises(Exception):
        lake.read_arrow("gold.user_features", version=1)  # the version holding u2 is gone
    again = process_requests(lake, cfg, log=lambda m: None)
    assert again == {**again, "erased": [], "noop": [], "completed": []}


def test_a_corrupt_landing_file_is_rewritten_from_its_readable_part(tmp_path):
    """A gzip file corrupt in its middle still gives up the lines before the damage: the
    subject's lines among them are removed, the other readable lines kept."""
    import os

    from reelhouse.ops.erasure import rewrite_landing

    day = tmp_path / "events" / "date=2024-06-01" / "hour=00"
    day.mkdir(parents=True)
    lines = b"".join(b'{"event_id":"%d","user_id":"%s","pad":"%s"}\n' % (i, b"u1" if i % 50 == 0 else b"u2",
                                                                        os.urandom(16).hex().encode())
                     for i in range(20_000))
    data = bytearray(gzip.compress(lines))
    data[len(data) // 2] ^= 0xFF  # damage in the middle
    (day / "part-0.jsonl.gz").write_bytes(bytes(data))
    out = rewrite_landing(str(tmp_path), ["u1"])
    assert out["u1"]["files_rewritten"] == 1 and out["u1"]["lines_removed"] > 100
    kept = gzip.decompress((day / "part-0.jsonl.gz").read_bytes())
    assert b'"u1"' not in kept and kept.count(b'"u2"') > 5_000
