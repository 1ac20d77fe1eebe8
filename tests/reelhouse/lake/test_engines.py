"""The Lake facade and its storage engines: the engine is chosen once from config, the write
options are typed, the delta-spark engine builds the same Delta writes as before (no JVM needed:
a recording stand-in for Spark's writer), and ``vacuum`` removes what killed writes leave behind.
No Spark session: every write here goes through Arrow."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import reelhouse.lake as lake_pkg
from reelhouse.lake import DeltaRsBridgeEngine, DeltaSparkEngine, Lake, LakeError, StorageEngine
from reelhouse.lake import staging
from reelhouse.lake.catalog import get_table

REPO = Path(__file__).resolve().parents[3]
TABLE = "ops.ingest_reconciliation"
D1, D2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)


def recon(day: dt.date, files: list[str]) -> pa.Table:
    ts = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    return pa.Table.from_pylist(
        [{"_source_file": f, "file_status": "ok", "lines_read": 3, "rows_kept": 3, "duplicates_dropped": 0,
          "rows_quarantined": 0, "balanced": True, "_ingested_at": ts, "landing_date": day} for f in files],
        schema=get_table(TABLE).arrow_schema(),
    )


# ----------------------------------------------------------------------------- engine choice
def test_engine_is_chosen_once_from_config(tmp_path, monkeypatch):
    from reelhouse.config import load_config

    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(tmp_path / "lake"))
    cfg = load_config("test")
    assert cfg.lake_engine == "delta-rs"
    assert type(Lake.from_config(cfg).engine) is DeltaRsBridgeEngine
    spark_lake = Lake.from_config(dataclasses.replace(cfg, lake_engine="delta-spark"))
    assert type(spark_lake.engine) is DeltaSparkEngine
    assert spark_lake._spark is None  # no SparkSession (no JVM) to build the lake
    assert spark_lake.root == str(tmp_path / "lake")
    assert type(Lake(str(tmp_path)).engine) is DeltaRsBridgeEngine  # the default
    with pytest.raises(TypeError, match="StorageEngine class"):
        Lake(str(tmp_path), engine="delta-spark")  # type: ignore[arg-type]
    with pytest.raises(LakeError, match=r"unknown lake engine 'hive'.*\['delta-rs', 'delta-spark'\]"):
        Lake.from_config(dataclasses.replace(cfg, lake_engine="hive"))  # type: ignore[arg-type]


def test_engines_share_one_interface_and_nothing_branches_on_the_engine_name():
    for engine in (DeltaRsBridgeEngine, DeltaSparkEngine):
        assert issubclass(engine, StorageEngine)
        assert not engine.__abstractmethods__
    assert StorageEngine.__abstractmethods__ == {"read", "write", "commit_staged", "merge", "delete", "redact", "optimize"}
    # the storage engine is an object now: no code compares a lake's engine (or an engine name)
    # any more (reelhouse.notebook's engine= is the reader's output format, not a storage engine)
    branching = re.compile(r"""(\.engine|lake_engine)\s*[!=]=|[!=]=\s*["']delta-(rs|spark)["']""")
    offenders = []
    for folder in ("reelhouse", "spark_jobs", "dags"):
        for path in (REPO / folder).rglob("*.py"):
            offenders += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in branching.finditer(path.read_text())]
    assert offenders == []


class _Recorder:
    """Stands in for a Spark DataFrame / DataFrameWriter / reader: records every call."""

    def __init__(self, log: list, name: str = "df"):
        self.log, self.name = log, name

    def __getattr__(self, attr):
        def call(*args, **kwargs):
            self.log.append((attr, args))
            return self
        return call

    @property
    def write(self):
        self.log.append(("write", ()))
        return self


def test_delta_spark_engine_writes_replace_where_and_app_transactions(tmp_path):
    """The delta-spark write, as it always was: format delta, partitionBy, replaceWhere over the
    replaced partitions, txnAppId/txnVersion, save to the table path; a save that leaves the
    version unchanged reports skipped."""
    log: list = []
    engine = DeltaSparkEngine(lambda: pytest.fail("no SparkSession needed"))
    spec = get_table("silver.events")
    lake = Lake(str(tmp_path))
    lake.ensure(spec.name)  # version 0
    path = lake.path(spec.name)
    filters = [("event_date", "in", ["2024-01-01", "2024-01-02"]), ("landing_date", "=", "2024-01-03")]
    res = engine.write(_Recorder(log), spec, path, mode="overwrite_partitions", filters=filters,
                       app_id="ingest", app_version=7, metadata=None)
    assert log == [
        ("write", ()), ("format", ("delta",)), ("mode", ("overwrite",)),
        ("partitionBy", ("event_date", "landing_date")),
        ("option", ("replaceWhere", "event_date IN ('2024-01-01', '2024-01-02') AND landing_date IN ('2024-01-03')")),
        ("option", ("txnAppId", "ingest")), ("option", ("txnVersion", 7)),
        ("save", (path,)),
    ]
    assert res.table == "silver.events" and res.version == 0 and res.skipped  # nothing was committed
    log.clear()
    engine.write(_Recorder(log), spec, "/t", mode="append", filters=None, app_id=None, app_version=None,
                 metadata=None)
    assert [c for c in log if c[0] in ("mode", "option")] == [("mode", ("append",))]


# ----------------------------------------------------------------------------- typed options
SNIPPET = """
import pyarrow as pa
from reelhouse.lake import Lake

lake = Lake("/x")
t = pa.table({})
staged = lake.staging_area("ops.online_publishes")
lake.write_arrow(t, "ops.online_publishes", mode="append")
lake.write_arrow(t, "ops.online_publishes", mode="overwrite")
lake.write_arrow(t, "ops.online_publishes", mode="overwrite_partitions", partitions={"ds": ["2024-06-01"]})
lake.commit_staged(staged, mode="overwrite_partitions", partitions={"ds": ["2024-06-01"]}, app_id="a", app_version=1)
lake.write(t, "ops.online_publishes", mode="append", app_id="a", app_version=1)
lake.write_arrow(t, "ops.online_publishes", mode="append", partitions={"ds": ["2024-06-01"]})  # line 13
lake.write_arrow(t, "ops.online_publishes", mode="overwrite_partitions")  # line 14
lake.commit_staged(staged, mode="overwrite", partitions={"ds": ["2024-06-01"]})  # line 15
lake.write(t, "ops.online_publishes", mode="overwrite_partitions")  # line 16
lake.write(t, "ops.online_publishes", mode="replace")  # line 17
"""


def test_mode_and_partitions_are_checked_by_the_type_checker(tmp_path):
    pytest.importorskip("mypy")
    (tmp_path / "snippet.py").write_text(SNIPPET)
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nfollow_imports = skip\nignore_missing_imports = True\n"
        "[mypy-reelhouse.*]\nfollow_imports = silent\n")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental", "--cache-dir", os.devnull,
         "snippet.py"],
        cwd=tmp_path, env={**os.environ, "MYPYPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
    ).stdout
    errors = sorted({int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line})
    assert errors == [13, 14, 15, 16, 17], out
    assert out.count("No overload variant") == 5, out


def test_mode_and_partitions_are_checked_at_run_time_too(tmp_path):
    lake = Lake(str(tmp_path))
    with pytest.raises(ValueError, match="needs partitions"):
        lake.write_arrow(recon(D1, ["a"]), TABLE, mode="overwrite_partitions")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="unknown write mode 'replace'"):
        lake.write_arrow(recon(D1, ["a"]), TABLE, mode="replace")  # type: ignore[call-overload]
    staged = lake.staging_area(TABLE)
    with pytest.raises(ValueError, match="only goes with mode='overwrite_partitions'"):
        lake.commit_staged(staged, mode="append", partitions={"landing_date": [D1]})  # type: ignore[call-overload]
    assert not os.path.exists(staged.path)  # a refused commit drops its staging folder
    assert lake.version(TABLE) == 0


# ----------------------------------------------------------------------------- vacuum
def _files(table_dir: str) -> set[str]:
    """Every file under the table directory except the Delta log, relative to it."""
    out = set()
    for dirpath, dirs, names in os.walk(table_dir):
        dirs[:] = [d for d in dirs if d != "_delta_log"]
        out |= {os.path.relpath(os.path.join(dirpath, n), table_dir) for n in names}
    return out


def _referenced(lake: Lake) -> set[str]:
    return set(pa.table(lake.delta_table(TABLE).get_add_actions(flatten=False)).column("path").to_pylist())


def _age(table_dir: str, rels, hours: float) -> None:
    t = time.time() - hours * 3600
    for rel in rels:
        os.utime(os.path.join(table_dir, rel), (t, t))


def test_vacuum_removes_what_killed_writes_leave_and_nothing_the_log_references(tmp_path, monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    lake.write_arrow(recon(D1, ["a", "b"]), TABLE, mode="append")
    lake.write_arrow(recon(D2, ["c"]), TABLE, mode="append")
    path = lake.path(TABLE)
    committed = _files(path)
    assert committed == _referenced(lake) and len(committed) == 2

    # 1. killed while its Parquet files were being staged: files under _staging, never committed
    staged = lake.staging_area(TABLE)
    os.makedirs(f"{staged.path}/landing_date=2024-01-03")
    pq.write_table(recon(D1, ["x"]).drop(["landing_date"]), f"{staged.path}/landing_date=2024-01-03/part-0.parquet")
    Path(staged.path, "_SUCCESS").touch()
    # 2. killed hard between moving its files into the partition folders and the commit (no
    #    Python cleanup ran): data files in landing_date=… that the log never references
    with monkeypatch.context() as mp:
        def killed(*args, **kwargs):
            raise KeyboardInterrupt("killed before the commit")

        mp.setattr(DeltaTable, "create_write_transaction", killed)
        mp.setattr(staging, "discard", lambda staged: None)
        mp.setattr(lake_pkg.engines.os, "remove", lambda p: None)
        with pytest.raises(KeyboardInterrupt):
            lake.write_arrow(recon(D2, ["y", "z"]), TABLE, mode="append")
    leftovers = _files(path) - committed
    assert any(r.startswith("_staging/") for r in leftovers)
    assert any(r.startswith("landing_date=2024-01-02/") for r in leftovers)  # moved, not committed
    assert lake.read_arrow(TABLE).num_rows == 3  # invisible to readers

    # retention: only leftovers older than it go (the staged write of case 1 is 2 h old)
    _age(path, [r for r in leftovers if r.startswith(staged.path.split(path + "/")[1])], 2)
    listed = lake.vacuum(TABLE, retention_hours=1, dry_run=True)
    assert sorted(listed) == sorted(r for r in leftovers if r.startswith(staged.path.split(path + "/")[1]))
    assert _files(path) == committed | leftovers  # a dry run deletes nothing

    removed = lake.vacuum(TABLE, retention_hours=0, dry_run=False)
    assert set(removed) == leftovers
    assert _files(path) == committed == _referenced(lake)
    assert not os.path.exists(os.path.join(path, staging.STAGING_DIR))
    assert lake.read_arrow(TABLE).num_rows == 3
    assert lake.vacuum(TABLE, retention_hours=0, dry_run=True) == []


def test_vacuum_keeps_young_staging_files_and_files_the_log_references(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    lake.write_arrow(recon(D1, ["a"]), TABLE, mode="append")
    path = lake.path(TABLE)
    staged = lake.staging_area(TABLE)
    young = os.path.join(staged.path, "part-0.parquet")
    pq.write_table(recon(D1, ["x"]), young)
    assert lake.vacuum(TABLE, retention_hours=1, dry_run=False) == []
    assert os.path.exists(young)
    # a staged path the log references (never written so by the lake; the log wins)
    rel = os.path.relpath(young, path)
    assert staging.sweep(path, retention_hours=0, dry_run=False, referenced={rel}) == []
    assert os.path.exists(young)
    assert staging.sweep(path, retention_hours=0, dry_run=False, referenced=set()) == [rel]
    assert not os.path.exists(os.path.join(path, staging.STAGING_DIR))
