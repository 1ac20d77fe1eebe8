"""Table maintenance over fourteen generated nights of ingest (written as an 8-slot cluster writes
them: eight read tasks a night — ``spark.sql.files.minPartitionNum`` 8 — each writing its own file
per partition; local[2] writes two, see README "Retention and table maintenance"), and over a copy of the
demo lake (every step of four nights): compaction cuts silver.events' files by 5x or more with the
same contents, a filtered read by user_id touches fewer files by the log's statistics, retention
drops what is past each layer's policy, vacuum removes replaced files, a second run is a no-op,
maintenance waits for the lake's run lock, and the nightly's results are unchanged after it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from lake_hash import table_hash

from reelhouse.lake.catalog import TABLES

pytestmark = pytest.mark.integration

START = dt.date(2024, 6, 1)
NIGHTS = [START + dt.timedelta(days=k) for k in range(14)]
RUN_DAY = NIGHTS[-1] + dt.timedelta(days=1)
RUN_IDENTITY = {"run_id", "published_at", "seconds", "decided_at", "decision_id"}  # beyond lake_hash's


def content_hash(table: pa.Table, float_digits: int | None = None) -> str:
    """:func:`lake_hash.table_hash` without the run-identity columns of any table (floats rounded to
    ``float_digits`` when given: a sum over rows in another order moves by ulps)."""
    return table_hash(table, ignore=RUN_IDENTITY, float_digits=float_digits)


def files_touched(lake, table: str, column: str, value: str) -> int:
    """Files a reader scans for ``column = value`` when it skips by the Delta log's min/max."""
    adds = pa.table(lake.delta_table(table).get_add_actions(flatten=True))
    lo, hi = adds.column(f"min.{column}").to_pylist(), adds.column(f"max.{column}").to_pylist()
    return sum(1 for a, b in zip(lo, hi) if a is None or b is None or a <= value <= b)


def _config(root, **retention):
    from reelhouse.config import load_config

    environ = {**{k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")},
               "REELHOUSE__PATHS__LANDING": str(root / "landing"), "REELHOUSE__PATHS__LAKE": str(root / "lake")}
    cfg = load_config("test", environ=environ)
    return dataclasses.replace(cfg, retention=dataclasses.replace(cfg.retention, **retention)) if retention else cfg


@pytest.fixture(scope="module")
def nights(spark, tmp_path_factory):
    """Fourteen nights of ingest (3k events a day), then the state before any maintenance."""
    from reelhouse.lake import Lake
    from reelhouse.pipeline import run_date
    from reelhouse.sources.generator import generate
    from reelhouse.spark import scoped_conf

    root = tmp_path_factory.mktemp("maintenance")
    cfg = _config(root)
    generate(cfg.paths.landing, start=START, days=len(NIGHTS), events_per_day=3_000, seed=21)
    lake = Lake.from_config(cfg, spark)
    with scoped_conf(spark, {"spark.sql.files.minPartitionNum": "8"}):
        for d in NIGHTS:
            run_date(d, steps=["ingest"], spark=spark, config=cfg, log=lambda m: None)
    users = pc.value_counts(lake.read_arrow("silver.events", columns=["user_id"]).column("user_id")).to_pylist()
    user = max(users, key=lambda v: v["counts"])["values"]
    before = {"files": len(lake.files("silver.events")), "hash": content_hash(lake.read_arrow("silver.events")),
              "bronze_hash": content_hash(lake.read_arrow("bronze.events")),
              "touched": files_touched(lake, "silver.events", "user_id", user)}
    return {"root": root, "cfg": cfg, "lake": lake, "user": user, "before": before}


@pytest.fixture(scope="module")
def compacted(nights):
    from reelhouse.ops.maintenance import maintain

    lake, cfg = nights["lake"], nights["cfg"]
    report = maintain(lake, cfg, RUN_DAY, steps=["optimize"], tables=["silver.events", "bronze.events"],
                      log=lambda m: None)
    return {**nights, "report": report}


def test_compaction_cuts_silver_events_files_5x_with_identical_contents(compacted):
    lake, before = compacted["lake"], compacted["before"]
    after = len(lake.files("silver.events"))
    print(f"\nsilver.events after 14 nights: {before['files']} files → {after} ({before['files'] / after:.1f}x)")
    assert before["files"] >= 5 * after
    assert content_hash(lake.read_arrow("silver.events")) == before["hash"]
    assert content_hash(lake.read_arrow("bronze.events")) == before["bronze_hash"]
    rows = lake.read_arrow("ops.table_maintenance").to_pylist()
    mine = [r for r in rows if r["run_id"] == compacted["report"].run_id and r["table_name"] == "silver.events"]
    assert mine and all(r["operation"] == "zorder" and r["files_after"] <= r["files_before"] for r in mine)
    assert sum(r["files_before"] - r["files_after"] for r in mine) == before["files"] - after
    assert all(r["bytes_before"] > 0 and r["bytes_after"] > 0 and r["seconds"] >= 0 for r in mine)
    assert {h["operation"] for h in lake.history("silver.events", len(mine))} == {"OPTIMIZE"}


def test_a_filtered_read_by_user_touches_fewer_files(compacted):
    lake, before = compacted["lake"], compacted["before"]
    after = files_touched(lake, "silver.events", "user_id", compacted["user"])
    print(f"\nfiles a user_id = {compacted['user']} read touches (log min/max): {before['touched']} → {after}")
    assert after < before["touched"]
    t = lake.read_arrow("silver.events", filter=pc.field("user_id") == compacted["user"])
    assert t.num_rows > 0 and set(t.column("user_id").to_pylist()) == {compacted["user"]}


def test_a_second_run_commits_nothing(compacted):
    from reelhouse.ops.maintenance import maintain

    lake, cfg = compacted["lake"], compacted["cfg"]
    versions = {t: lake.version(t) for t in ("silver.events", "bronze.events")}
    report = maintain(lake, cfg, RUN_DAY, steps=["optimize"], tables=list(versions), log=lambda m: None)
    assert report.rows == [] and {t: lake.version(t) for t in versions} == versions


def test_retention_drops_what_each_layer_keeps_no_longer(compacted):
    from reelhouse.ops.maintenance import maintain
    from reelhouse.sources.landing import landing_dates

    lake = compacted["lake"]
    cfg = _config(compacted["root"], bronze_days=7, quarantine_days=7, landing_days=10, silver_days=None)
    silver = lake.count("silver.events")
    lines = {d: lake.count("bronze.events") for d in [0]}
    report = maintain(lake, cfg, RUN_DAY, steps=["retention"], log=lambda m: None)
    bronze_dates = set(lake.read_arrow("bronze.events", columns=["landing_date"]).column("landing_date").to_pylist())
    assert min(bronze_dates) == RUN_DAY - dt.timedelta(days=7)
    assert lake.count("silver.events") == silver  # silver_days: null keeps it
    assert min(landing_dates(cfg.paths.landing)) == RUN_DAY - dt.timedelta(days=10)
    by_table = {r["table_name"]: r for r in report.rows}
    assert by_table["bronze.events"]["rows_deleted"] == lines[0] - lake.count("bronze.events") > 0
    assert by_table["landing"]["files_after"] < by_table["landing"]["files_before"]
    again = maintain(lake, cfg, RUN_DAY, steps=["retention"], log=lambda m: None)
    assert again.rows == []


def test_vacuum_checkpoints_and_removes_replaced_files(compacted):
    from reelhouse.ops.maintenance import maintain

    lake = compacted["lake"]
    cfg = _config(compacted["root"], delta_history_hours=0)
    current = set(lake.files("silver.events"))
    report = maintain(lake, cfg, RUN_DAY, steps=["vacuum"], tables=["silver.events"], log=lambda m: None)
    ops = {r["operation"] for r in report.rows}
    assert ops == {"checkpoint", "vacuum"}
    table_dir = lake.path("silver.events")
    on_disk = {os.path.relpath(os.path.join(d, f), table_dir) for d, _, fs in os.walk(table_dir) for f in fs
               if f.endswith(".parquet") and "_delta_log" not in d}
    assert on_disk == current  # replaced files gone, the snapshot's all there
    assert any(f.endswith(".checkpoint.parquet") for f in os.listdir(os.path.join(table_dir, "_delta_log")))
    assert content_hash(lake.read_arrow("silver.events")) == compacted["before"]["hash"]


def test_maintenance_waits_for_the_run_lock_of_a_nightly(compacted):
    """A nightly step holds the lake's run lock: maintenance started beside it waits, and fails
    after ``lake.lock_timeout_seconds`` naming the holder."""
    from reelhouse.lake.locks import RunLockError
    from reelhouse.ops.maintenance import maintain

    lake = compacted["lake"]
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sys, time; from reelhouse.lake.locks import lake_lock\n"
                                "with lake_lock(sys.argv[1], 'nightly ingest 2024-06-15', log=lambda m: None):\n"
                                "    print('held', flush=True); time.sleep(60)"), lake.root],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        cfg = dataclasses.replace(compacted["cfg"], lake_lock_timeout_seconds=1.0)
        versions = {t: lake.version(t) for t in TABLES if lake.exists(t)}
        with pytest.raises(RunLockError, match="nightly ingest 2024-06-15"):
            maintain(lake, cfg, RUN_DAY, log=lambda m: None)
        assert {t: lake.version(t) for t in versions} == versions
    finally:
        holder.kill()
        holder.wait()


def test_the_nightlys_results_are_unchanged_after_maintenance(demo_lake, spark, tmp_path):
    """Every table of the demo lake keeps its contents through a full maintenance run (retention
    off, vacuum at once), and rerunning its last night afterwards gives the same gold tables."""
    from reelhouse.lake import Lake
    from reelhouse.ops.maintenance import maintain
    from reelhouse.pipeline import SPARK_STEPS, run_date

    shutil.copytree(demo_lake.root / "landing", tmp_path / "landing")
    shutil.copytree(demo_lake.lake_root, tmp_path / "lake", ignore=shutil.ignore_patterns("_mlflow", "_bi"))
    cfg = _config(tmp_path, landing_days=None, bronze_days=None, quarantine_days=None, training_examples_days=None,
                  delta_history_hours=0)
    lake = Lake.from_config(cfg, spark)
    reference = Lake(str(demo_lake.lake_root))  # read only
    names = [n for n in sorted(TABLES) if lake.exists(n)]
    before = {n: content_hash(lake.read_arrow(n)) for n in names}
    files_before = sum(len(lake.files(n)) for n in names)
    report = maintain(lake, cfg, demo_lake.days[-1] + dt.timedelta(days=1), log=lambda m: None)
    assert report.rows and {n: content_hash(lake.read_arrow(n)) for n in names} == before
    assert sum(len(lake.files(n)) for n in names) < files_before
    run_date(demo_lake.days[-1], steps=SPARK_STEPS, spark=spark, config=cfg, log=lambda m: None)
    # the rerun reads Z-ordered files: its sums run in another row order (floats to 6 decimals)
    gold = [n for n in names if n.startswith(("gold.", "silver."))]
    assert ({n: content_hash(lake.read_arrow(n), 6) for n in gold}
            == {n: content_hash(reference.read_arrow(n), 6) for n in gold})
