"""Erasure end to end on a copy of the demo lake (4 generated nights, gated, one retrain), with
its online store (SQLite, one published day) and BI file (dbt build): three users erased — a
heavy viewer, a creator whose videos others watched, and a user with quarantined raw lines —
the first interrupted between tables and resumed. Then a scan of every table at every
still-readable version, the landing files, the SQLite and DuckDB files finds none of their ids
(raw or pseudonymised); every other user's rows are unchanged; a rerun is a no-op; a nightly
rerun does not bring them back from the landing files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from reelhouse.lake.catalog import TABLES

pytestmark = pytest.mark.integration


#: tables whose rows of an erased creator go (their videos leave the catalogue)
CREATOR_ROWS = {"silver.videos", "silver.video_hashtags", "gold.creator_features"}


def _rows_hash(table: pa.Table, erased: set[str], name: str = "") -> str:
    """Hash of the rows that are not the erased users' own, with creator_id of an erased creator
    read as NULL (what the erasure makes of other users' rows about their videos)."""
    rows = []
    for r in table.to_pylist():
        if r.get("user_id") in erased or (name in CREATOR_ROWS and r.get("creator_id") in erased):
            continue
        if "creator_id" in r and r["creator_id"] in erased:
            r["creator_id"] = None
        if "raw_line" in r and any(json.dumps(u) in (r["raw_line"] or "") for u in erased):
            continue
        rows.append(hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest())
    return hashlib.sha256("\n".join(sorted(rows)).encode()).hexdigest()


def _readable_versions(lake, name):
    for v in range(0, (lake.version(name) or 0) + 1):
        try:
            yield v, lake.read_arrow(name, version=v)
        except Exception:  # its files were vacuumed: no longer readable by time travel
            continue


def _strings(table: pa.Table):
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            yield name, col


@pytest.fixture(scope="module")
def world(demo_lake, spark, tmp_path_factory):
    from reelhouse.bi.dbt_runner import ensure_sources, pseudonym_key, run_dbt
    from reelhouse.config import load_config
    from reelhouse.lake import Lake
    from reelhouse.ops.erasure import erase, pending_requests, process_requests, request_erasure
    from reelhouse.serving.online_store import publish

    root = tmp_path_factory.mktemp("erasure")
    shutil.copytree(demo_lake.root / "landing", root / "landing")
    shutil.copytree(demo_lake.lake_root, root / "lake", ignore=shutil.ignore_patterns("_mlflow", "_bi"))
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")},
               "REELHOUSE__PATHS__LANDING": str(root / "landing"), "REELHOUSE__PATHS__LAKE": str(root / "lake")}
    cfg = load_config("test", environ=environ)
    lake = Lake.from_config(cfg, spark)
    publish(lake, cfg, demo_lake.days[-1], require_gate=False, record=True, log=lambda m: None)
    ensure_sources(lake)
    built = run_dbt(cfg, ["build", "--quiet"])
    assert built.success, built.output[-3000:]

    # the three subjects
    events = lake.read_arrow("silver.events", columns=["user_id", "creator_id", "event_type"])
    videos = lake.read_arrow("silver.videos", columns=["creator_id"])
    watched = pc.value_counts(events.filter(pc.field("creator_id").is_valid()).column("creator_id")).to_pylist()
    creators = set(videos.column("creator_id").to_pylist())
    creator = max((v for v in watched if v["values"] in creators), key=lambda v: v["counts"])["values"]
    viewers = pc.value_counts(events.column("user_id")).to_pylist()
    viewer = max((v for v in viewers if v["values"] != creator and v["values"] not in creators),
                 key=lambda v: v["counts"])["values"]
    raw = " ".join(lake.read_arrow("quarantine.events", columns=["raw_line"]).column("raw_line").to_pylist())
    in_quarantine = [u for u in dict.fromkeys(re.findall(r'"user_id"\s*:\s*"([^"]+)"', raw)) if u not in (creator, viewer)]
    subjects = [viewer, creator] + in_quarantine[:1]
    assert len(subjects) == 3, "the demo lake has no quarantined line with a user id"
    erased = set(subjects)
    key = pseudonym_key(cfg)
    pseudonyms = {hashlib.sha256(f"{key}:{u}".encode()).hexdigest() for u in subjects}
    before = {n: _rows_hash(lake.read_arrow(n), erased, n) for n in sorted(TABLES) if lake.exists(n)}
    before_rows = {n: lake.count(n) for n in before}
    manifests_before = lake.read_arrow("ml.dataset_manifests").num_rows

    ids = request_erasure(lake, cfg, subjects, requested_by="test")
    assert len(pending_requests(lake)) == 3
    first = next(r for r in pending_requests(lake) if r["request_id"] == ids[0])
    with pytest.raises(KeyboardInterrupt):  # killed between silver.events and silver.videos
        erase(lake, cfg, first, retention_hours=0, stop_after="silver.events", log=lambda m: None)
    interrupted = lake.read_arrow("ops.erasures").to_pylist()
    logs: list[str] = []
    result = process_requests(lake, cfg, retention_hours=0, log=logs.append)
    return {"root": root, "cfg": cfg, "lake": lake, "subjects": subjects, "erased": erased, "pseudonyms": pseudonyms,
            "before": before, "before_rows": before_rows, "ids": ids, "interrupted": interrupted, "result": result,
            "logs": logs, "manifests_before": manifests_before, "spark": spark, "demo": demo_lake}


def test_the_interrupted_request_resumed_and_all_three_completed(world):
    (row,) = world["interrupted"]
    assert row["status"] == "running" and "silver.events" in json.loads(row["tables_json"])
    assert sorted(world["result"]["erased"]) == sorted(world["ids"])
    audit = {r["request_id"]: r for r in world["lake"].read_arrow("ops.erasures").to_pylist()}
    assert set(audit) == set(world["ids"])
    for r in audit.values():
        assert r["status"] == "complete" and r["erased_at"] and r["completed_at"] and r["files_vacuumed"] > 0
        assert r["rows_removed"] > 0 and r["landing_files_rewritten"] > 0
        tables = json.loads(r["tables_json"])
        assert set(tables) >= {"online", "landing", "bi", "manifests", "bronze.events", "gold.training_examples"}
    viewer = audit[world["ids"][0]]
    assert viewer["online_keys_deleted"] >= 1 and viewer["bi_rows_deleted"] > 0
    creator = audit[world["ids"][1]]
    assert creator["rows_redacted"] > 0  # other users' events on the creator's videos keep their rows
    assert json.loads(creator["tables_json"])["silver.videos"]["rows_deleted"] > 0
    assert not world["lake"].read_arrow("ops.erasure_requests").num_rows
    assert any("erasure er_" in m and "rows deleted" in m for m in world["logs"])
    assert not any(u in m for m in world["logs"] for u in world["subjects"])  # no id in the task log


def test_no_table_at_any_readable_version_holds_the_subjects(world):
    lake, erased, pseudo = world["lake"], world["erased"], world["pseudonyms"]
    quoted = [json.dumps(u) for u in erased]
    found = []
    for name in sorted(TABLES):
        if not lake.exists(name):
            continue
        for v, t in _readable_versions(lake, name):
            for col, arr in _strings(t):
                values = set(pc.unique(arr).to_pylist())
                if values & (erased | pseudo):
                    found.append((name, v, col))
                if col in ("raw_line", "manifest_json", "tables_json", "observed_value", "details") and any(
                        q in s for s in values if s for q in quoted):
                    found.append((name, v, col, "substring"))
    assert found == []


def test_landing_files_online_store_and_bi_file_hold_none_of_them(world):
    import duckdb

    from reelhouse.bi.dbt_runner import duckdb_path
    from reelhouse.serving.writers import under_lake

    cfg, erased, pseudo = world["cfg"], world["erased"], world["pseudonyms"]
    needles = [u.encode() for u in erased]
    for p in Path(cfg.paths.landing).rglob("*.jsonl*"):
        data = p.read_bytes()
        if p.name.endswith(".gz"):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                data = d.decompress(data)
            except zlib.error:
                data = b""
        assert not any(json.dumps(u).encode() in data for u in erased), p
    sqlite_file = Path(under_lake(cfg.online_store.path, cfg.paths.lake))
    assert sqlite_file.exists()
    blob = sqlite_file.read_bytes() + b"".join(f.read_bytes() for f in sqlite_file.parent.glob(sqlite_file.name + "-*"))
    assert not any(n in blob for n in needles)
    db = duckdb_path(cfg)
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                           "WHERE data_type = 'VARCHAR'").fetchall()
        hits = []
        for schema, table, col in cols:
            vals = list(erased | pseudo)
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{col}" IN ({", ".join("?" * len(vals))})',
                            vals).fetchone()[0]
            if n:
                hits.append((schema, table, col, n))
        assert hits == []
        assert con.execute("SELECT count(*) FROM marts.dim_videos").fetchone()[0] > 0  # the rest is still there
    finally:
        con.close()
    raw = db.read_bytes()
    assert not any(n in raw for n in needles) and not any(p.encode() in raw for p in pseudo)


def test_every_other_users_rows_are_unchanged(world):
    lake, erased = world["lake"], world["erased"]
    after = {n: _rows_hash(lake.read_arrow(n), erased, n) for n in world["before"]}
    changed = {n for n in world["before"] if after[n] != world["before"][n]}
    # the audit and the requests table are written by the erasure; the manifests are marked superseded
    assert changed <= {"ops.erasures", "ops.erasure_requests", "ml.dataset_manifests"}, changed
    assert lake.count("silver.events") < world["before_rows"]["silver.events"]
    assert lake.count("gold.hashtag_daily_stats") == world["before_rows"]["gold.hashtag_daily_stats"]  # aggregates kept


def test_manifests_of_affected_days_are_superseded_and_the_next_build_records_the_erasures(world):
    from reelhouse.ml.datasets import load_manifest
    from reelhouse.ops.erasure import erasures_applied

    lake = world["lake"]
    rows = lake.read_arrow("ml.dataset_manifests").to_pylist()
    assert len(rows) == world["manifests_before"]
    superseded = [json.loads(r["manifest_json"]).get("superseded") for r in rows]
    assert any(s and s["reason"] == "erasure" and s["request_id"] in world["ids"] for s in superseded)
    marked = next(r for r, s in zip(rows, superseded) if s)
    path = next(Path(world["cfg"].paths.lake, "_manifests").rglob(f"{marked['build_id']}.json"))
    assert load_manifest(str(path))["superseded"]["reason"] == "erasure"
    applied = erasures_applied(lake)
    assert applied["count"] == 3 and applied["latest_request_id"] in world["ids"]


def test_a_rerun_of_the_same_requests_is_a_noop(world):
    from reelhouse.ops.erasure import process_requests, request_erasure

    lake, cfg = world["lake"], world["cfg"]
    versions = {n: lake.version(n) for n in TABLES if lake.exists(n)}
    assert request_erasure(lake, cfg, world["subjects"], requested_by="test") == world["ids"]
    out = process_requests(lake, cfg, retention_hours=0, log=lambda m: None)
    assert out["erased"] == [] and out["completed"] == []
    assert {n: lake.version(n) for n in versions} == versions


def test_a_nightly_rerun_does_not_bring_them_back(world):
    from reelhouse.pipeline import run_date

    lake, erased = world["lake"], world["erased"]
    day = world["demo"].days[-1]
    run_date(day, steps=["ingest"], spark=world["spark"], config=world["cfg"], log=lambda m: None)
    t = lake.read_arrow("silver.events", columns=["user_id", "creator_id", "landing_date"])
    assert t.filter(pc.field("landing_date") == day).num_rows > 0
    assert not set(t.column("user_id").to_pylist()) & erased
    assert not set(t.column("creator_id").to_pylist()) & erased
    raw = lake.read_arrow("quarantine.events", columns=["raw_line"]).column("raw_line").to_pylist()
    assert not any(json.dumps(u) in (r or "") for r in raw for u in erased)
