"""The S3-compatible object store on loopback (SeaweedFS, started by scripts/services.sh, which
`make services` and so `.ci/run` run first): it answers with the project's key pair, holds the
project's buckets, and a Delta table written there by delta-rs reads back identically through
delta-rs, pyarrow's S3 client and DuckDB; starting the services again changes nothing. Seconds."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "scripts" / "services.sh"


def _run_services(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SERVICES), *args], capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def store():
    """The objectstore overlay's configuration, with the server up (started here through
    scripts/services.sh when it is not: a checkout that ran no `make services`)."""
    import pyarrow.fs as pafs

    from reelhouse import objectstore as obs
    from reelhouse.config import load_config

    cfg = load_config("objectstore", environ={k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")})
    fs, _ = obs.pyarrow_filesystem(cfg.object_store, cfg.paths.lake)

    def answers() -> bool:
        try:
            return fs.get_file_info("reelhouse-lake").type == pafs.FileType.Directory
        except OSError:
            return False

    if not answers():
        weed = Path(os.environ.get("REELHOUSE_WEED", REPO / ".tools" / "bin" / "weed"))
        if not weed.exists() and not (shutil.which("go") or Path("/usr/local/go/bin/go").exists()):
            pytest.skip(f"no object store on {cfg.object_store.endpoint}, no {weed} and no Go to build it "
                        "(make objectstore builds SeaweedFS from Go's module proxy)")
        started = _run_services("start", "objectstore")
        assert started.returncode == 0, started.stdout + started.stderr
        assert answers(), f"scripts/services.sh started no usable object store:\n{started.stdout}{started.stderr}"
    return cfg


@pytest.fixture
def prefix(store):
    """A fresh key prefix under the lake bucket, removed afterwards."""
    from reelhouse import objectstore as obs

    uri = f"s3a://reelhouse-lake/_test/{uuid.uuid4().hex[:12]}"
    yield uri
    fs, path = obs.pyarrow_filesystem(store.object_store, uri)
    fs.delete_dir_contents(path, missing_dir_ok=True)
    fs.delete_dir(path)


def test_server_answers_with_the_project_buckets_and_refuses_a_wrong_key(store):
    import pyarrow.fs as pafs

    from reelhouse import objectstore as obs

    fs, _ = obs.pyarrow_filesystem(store.object_store, store.paths.lake)
    infos = fs.get_file_info(["reelhouse-landing", "reelhouse-lake"])
    assert [i.type for i in infos] == [pafs.FileType.Directory] * 2
    wrong, _ = obs.pyarrow_filesystem(store.object_store, store.paths.lake,
                                      environ={"REELHOUSE_S3_ACCESS_KEY": "reelhouse", "REELHOUSE_S3_SECRET_KEY": "wrong"})
    with pytest.raises(OSError, match=r"(?i)signature|access denied|forbidden|403"):
        wrong.get_file_info(pafs.FileSelector("reelhouse-lake", recursive=False))


def test_delta_table_round_trip_through_delta_rs_pyarrow_and_duckdb(store, prefix):
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
    from deltalake import DeltaTable, write_deltalake

    from reelhouse import objectstore as obs

    uri = f"{prefix}/silver/events"
    table_uri = obs.delta_uri(uri)
    opts = obs.delta_storage_options(store.object_store, uri)
    day1 = pa.table({"event_id": ["e1", "e2", "e3"], "event_date": ["2024-06-01"] * 3,
                     "watch_ms": pa.array([1200, None, 30500], pa.int64()), "region": ["US", "BR", "日本"]})
    day2 = pa.table({"event_id": ["e4", "e5"], "event_date": ["2024-06-02"] * 2,
                     "watch_ms": pa.array([7, 8], pa.int64()), "region": ["IN", "US"]})
    write_deltalake(table_uri, day1, partition_by=["event_date"], storage_options=opts)
    write_deltalake(table_uri, day2, mode="append", storage_options=opts)
    # an atomic partition overwrite (delta-rs' replaceWhere): version 2 replaces day 1 only
    day1_fixed = day1.set_column(2, "watch_ms", pa.array([1200, 0, 30500], pa.int64()))
    write_deltalake(table_uri, day1_fixed, mode="overwrite", predicate="event_date = '2024-06-01'", storage_options=opts)
    expected = pa.concat_tables([day1_fixed, day2]).sort_by("event_id")

    dt = DeltaTable(table_uri, storage_options=opts)
    assert dt.version() == 2
    via_delta = dt.to_pyarrow_table().select(expected.column_names).sort_by("event_id")
    assert via_delta.equals(expected.cast(via_delta.schema))
    v0 = DeltaTable(table_uri, version=0, storage_options=opts).to_pyarrow_table()
    assert sorted(v0.column("event_id").to_pylist()) == ["e1", "e2", "e3"]
    assert v0.column("watch_ms").null_count == 1  # time travel sees the first write

    # pyarrow's own S3 client reads the files of the current snapshot, where delta-rs put them
    fs, root = obs.pyarrow_filesystem(store.object_store, uri)
    files = dt.file_uris()
    assert files and all(f.startswith(f"{table_uri}/event_date=") for f in files)
    parts = []
    for f in files:
        part = pq.read_table(f.removeprefix("s3://"), filesystem=fs)
        date = f.split("event_date=")[1].split("/")[0]
        parts.append(part.append_column("event_date", pa.array([date] * part.num_rows)))
    via_pyarrow = pa.concat_tables(parts).select(expected.column_names).sort_by("event_id")
    assert via_pyarrow.equals(expected.cast(via_pyarrow.schema))
    assert fs.get_file_info(f"{root}/_delta_log/00000000000000000002.json").size > 0

    # DuckDB reads the same files through the fsspec view of that client (no httpfs download)
    wrapped, _ = obs.fsspec_filesystem(store.object_store, uri)
    con = duckdb.connect()
    con.register_filesystem(wrapped)
    paths = [f"{wrapped.protocol}://{f.removeprefix('s3://')}" for f in files]
    rows = con.execute("select event_id, watch_ms, region from read_parquet(?, hive_partitioning = true) "
                       "order by event_id", [paths]).fetchall()
    assert rows == list(zip(*(expected.column(c).to_pylist() for c in ("event_id", "watch_ms", "region"))))


def test_a_stale_writer_cannot_overwrite_a_commit(store, prefix):
    """Two writers race for version 1: the store refuses the second PUT of the same log entry
    (If-None-Match), so delta-rs retries as version 2 and no commit is lost."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from reelhouse import objectstore as obs

    uri = obs.delta_uri(f"{prefix}/ops/race")
    opts = obs.delta_storage_options(store.object_store, uri)
    write_deltalake(uri, pa.table({"n": [1]}), storage_options=opts)
    stale = DeltaTable(uri, storage_options=opts)  # sees version 0
    write_deltalake(uri, pa.table({"n": [2]}), mode="append", storage_options=opts)  # version 1
    assert stale.version() == 0
    write_deltalake(stale, pa.table({"n": [3]}), mode="append")  # tries version 1 first
    final = DeltaTable(uri, storage_options=opts)
    assert final.version() == 2 and sorted(final.to_pyarrow_table().column("n").to_pylist()) == [1, 2, 3]


def test_starting_the_services_again_is_a_no_op(store):
    pid_file = Path(os.environ.get("REELHOUSE_S3_DIR", "/var/tmp/reelhouse-seaweedfs")) / "weed.pid"
    before = pid_file.read_text() if pid_file.exists() else None
    again = _run_services("start", "objectstore")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "object store already answering on 127.0.0.1:8333" in again.stdout
    assert "buckets created" not in again.stdout and "started" not in again.stdout
    assert (pid_file.read_text() if pid_file.exists() else None) == before
    status = _run_services("status", "objectstore")
    assert "object store: up on 127.0.0.1:8333 (bucket reelhouse-lake present)" in status.stdout
