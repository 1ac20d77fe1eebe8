"""The lake contract: what every storage engine guarantees, run once per engine (``engine`` is
``delta-rs``, the bridge, or ``delta-spark``, Delta inside Spark with the jars from ``make jars``),
over tiny frames: atomic partition overwrite, refusal of out-of-scope rows and of nulls in
non-nullable columns, idempotent application transactions, time travel by version and timestamp,
merge, statistics in the log that readers skip files by, history, vacuum; and across engines: a
table written by either is read correctly by the other, by delta-rs (``Lake.read_arrow``), by
DuckDB (over ``Lake.arrow_dataset``) and by Spark's own Delta reader. Every test runs on both
storages too (``storage``): a local folder and the loopback object store (``s3a://``, SeaweedFS of
``make objectstore``; skipped when it does not answer), where the bridge commits its staged files
in place."""

from __future__ import annotations

import datetime as dt
import os
import time

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from reelhouse.lake import DeltaRsBridgeEngine, DeltaSparkEngine, Lake, LakeError, LakeWriteError
from reelhouse.lake.catalog import get_table, spark_schema
from reelhouse.lake.engines import delta_table as DeltaTable

ENGINES = {"delta-rs": DeltaRsBridgeEngine, "delta-spark": DeltaSparkEngine}
TABLE = "ops.ingest_reconciliation"
VIDEOS = "silver.videos"
D1, D2, D3 = dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)
INGESTED = dt.datetime(2024, 1, 5, 12, 0, 0, 123456, tzinfo=dt.timezone.utc)


# delta-spark's cases are the deployment tier (make test-deployment): each starts Delta's own
# machinery inside Spark, ~10-30 s a case
@pytest.fixture(params=[pytest.param(e, marks=pytest.mark.deployment) if e == "delta-spark" else e for e in sorted(ENGINES)])
def engine(request) -> str:
    return request.param


@pytest.fixture(params=["local", "s3"])
def storage(request) -> str:
    return request.param


@pytest.fixture
def lake(engine, storage, spark, tmp_path, object_store):
    if storage == "local":
        yield Lake(str(tmp_path / "lake"), engine=ENGINES[engine], spark=spark)
        return
    import uuid

    from reelhouse import objectstore

    if object_store is None:
        pytest.skip("no object store answers on the loopback endpoint (make objectstore)")
    objectstore.register(object_store)  # another test may have registered its config's store
    root = f"s3a://reelhouse-lake/_test/contract-{uuid.uuid4().hex[:12]}"
    yield Lake(root, engine=ENGINES[engine], spark=spark)
    fs, path = objectstore.filesystem(root)
    fs.delete_dir_contents(path, missing_dir_ok=True)


def recon(spark, day: dt.date, n: int, tag: str, *, start: int = 0):
    """``n`` reconciliation rows of one landing date, files ``<tag><i>``, ``lines_read`` =
    ``start + i + 1``."""
    rows = [(f"{tag}{i}", "ok", start + i + 1, start + i, 1, 0, True, INGESTED, day) for i in range(n)]
    return spark.createDataFrame(rows, spark_schema(get_table(TABLE)))


def content(lake: Lake, **kw) -> set[tuple]:
    """The table's (landing_date, _source_file, lines_read) rows, read by Spark through the Lake."""
    return {(r["landing_date"], r["_source_file"], r["lines_read"]) for r in lake.read(TABLE, **kw).collect()}


def data_files(path: str) -> set[str]:
    """Parquet files under the table folder ``path`` (local or a URI), relative to it."""
    import pyarrow.fs as pafs

    from reelhouse import objectstore

    fs, root = objectstore.filesystem(path)
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True))
    rels = (i.path[len(root):].lstrip("/") for i in infos if i.type == pafs.FileType.File)
    return {r for r in rels if r.endswith(".parquet") and not r.startswith("_delta_log")}


# ----------------------------------------------------------------------------- writes
def test_partition_overwrite_is_atomic_and_scoped(lake):
    s = lake.spark
    lake.write(recon(s, D1, 3, "a"), TABLE, mode="overwrite_partitions", partitions={"landing_date": [D1]})
    lake.write(recon(s, D2, 2, "b"), TABLE, mode="append")
    res = lake.write(recon(s, D1, 2, "c", start=10), TABLE, mode="overwrite_partitions",
                     partitions={"landing_date": [D1]}, metadata={"step": "ingest"})
    assert (res.version, res.skipped, res.files_added >= 1, res.rows_added) == (3, False, True, 2)
    assert content(lake) == {(D1, "c0", 11), (D1, "c1", 12), (D2, "b0", 1), (D2, "b1", 2)}
    # one commit: the version before it still has the old D1 rows next to D2's
    assert content(lake, version=2) == {(D1, f"a{i}", i + 1) for i in range(3)} | {(D2, "b0", 1), (D2, "b1", 2)}
    last = lake.history(TABLE, 1)[0]
    assert (last["version"], last["reelhouse.mode"], last["reelhouse.step"]) == (3, "overwrite_partitions", "ingest")


def test_out_of_scope_rows_are_refused_and_nothing_is_committed(lake):
    s = lake.spark
    lake.write(recon(s, D1, 3, "a"), TABLE, mode="overwrite_partitions", partitions={"landing_date": [D1]})
    before = data_files(lake.path(TABLE))
    with pytest.raises(LakeWriteError, match="outside the partitions being replaced"):
        lake.write(recon(s, D1, 1, "x").unionByName(recon(s, D3, 2, "y")), TABLE, mode="overwrite_partitions",
                   partitions={"landing_date": [D1]})
    assert lake.version(TABLE) == 1
    assert content(lake) == {(D1, f"a{i}", i + 1) for i in range(3)}
    assert lake.describe(TABLE)["files"] == len(before)


def test_nulls_in_non_nullable_column_are_refused(lake):
    from pyspark.sql import functions as F

    df = recon(lake.spark, D1, 2, "a").withColumn("file_status", F.lit(None).cast("string"))
    with pytest.raises(LakeWriteError, match="non-nullable column"):
        lake.write(df, TABLE, mode="append")
    assert lake.version(TABLE) == 0  # created empty, nothing committed
    assert lake.read(TABLE).count() == 0


def test_application_transactions_are_idempotent(lake, engine):
    s = lake.spark
    part = {"landing_date": [D1]}
    first = lake.write(recon(s, D1, 3, "a"), TABLE, mode="overwrite_partitions", partitions=part,
                       app_id="ingest.D1", app_version=5)
    same = lake.write(recon(s, D1, 1, "same"), TABLE, mode="overwrite_partitions", partitions=part,
                      app_id="ingest.D1", app_version=5)
    lower = lake.write(recon(s, D1, 1, "lower"), TABLE, mode="overwrite_partitions", partitions=part,
                       app_id="ingest.D1", app_version=4)
    assert not first.skipped and same.skipped and lower.skipped
    assert same.version == lower.version == first.version == 1
    assert {f for _d, f, _n in content(lake)} == {"a0", "a1", "a2"}
    # the engine itself skips a transaction committed meanwhile (a concurrent retry past the Lake's check)
    spec = get_table(TABLE)
    raced = lake.engine.write(recon(s, D1, 1, "race"), spec, lake.path(TABLE), mode="overwrite_partitions",
                              filters=[("landing_date", "in", ["2024-01-01"])], app_id="ingest.D1",
                              app_version=5, metadata=None)
    assert raced.skipped and lake.version(TABLE) == 1
    higher = lake.write(recon(s, D1, 2, "b"), TABLE, mode="overwrite_partitions", partitions=part,
                        app_id="ingest.D1", app_version=6)
    assert not higher.skipped and higher.version == 2
    assert {f for _d, f, _n in content(lake)} == {"b0", "b1"}
    assert lake.transaction_version(TABLE, "ingest.D1") == 6
    assert DeltaTable(lake.path(TABLE)).transaction_version("ingest.D1") == 6  # the txn action, in the log


# ----------------------------------------------------------------------------- reads
def test_time_travel_by_version_and_timestamp(lake):
    s = lake.spark
    lake.write(recon(s, D1, 2, "a"), TABLE, mode="append")
    time.sleep(1.1)
    cut = dt.datetime.now(dt.timezone.utc)
    time.sleep(1.1)
    lake.write(recon(s, D1, 5, "b"), TABLE, mode="overwrite")
    old = {(D1, "a0", 1), (D1, "a1", 2)}
    assert len(content(lake)) == 5
    assert content(lake, version=1) == old
    assert content(lake, timestamp=cut) == old
    assert content(lake, timestamp=cut.isoformat()) == old
    assert lake.read_arrow(TABLE, version=1).num_rows == 2
    assert lake.read_arrow(TABLE, timestamp=cut).num_rows == 2
    with pytest.raises(ValueError, match="not a partition column"):
        lake.read(TABLE, where={"lines_read": 1})


def test_missing_table_reads_empty_and_time_travel_fails_clearly(lake):
    assert lake.read(TABLE).count() == 0
    assert lake.read(TABLE).columns == get_table(TABLE).column_names
    with pytest.raises(LakeError, match="does not exist"):
        lake.read(TABLE, version=0)


# ----------------------------------------------------------------------------- merge
def _videos(spark, rows):
    spec = get_table(VIDEOS)
    return spark.createDataFrame(
        [(v, c, t, 1000, None, None, ["a"], "US", f"e-{v}-{c}", "f", t.date()) for v, c, t in rows],
        spark_schema(spec))


def test_merge_upserts_where_the_condition_holds_and_is_idempotent(lake):
    s = lake.spark
    ts = dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)
    lake.merge(_videos(s, [("v1", "c1", ts), ("v2", "c2", ts)]), VIDEOS, on=["video_id"])
    later, earlier = ts + dt.timedelta(hours=1), ts - dt.timedelta(hours=1)
    res = lake.merge(_videos(s, [("v1", "late", later), ("v2", "early", earlier), ("v3", "c3", ts)]), VIDEOS,
                     on=["video_id"], update_when="s.published_at < t.published_at", app_id="m", app_version=1)
    assert not res.skipped and res.version == 2
    again = lake.merge(_videos(s, [("v9", "c9", ts)]), VIDEOS, on=["video_id"], app_id="m", app_version=1)
    assert again.skipped and lake.version(VIDEOS) == 2
    assert lake.transaction_version(VIDEOS, "m") == 1
    got = {r["video_id"]: r["creator_id"] for r in lake.read(VIDEOS).collect()}
    assert got == {"v1": "c1", "v2": "early", "v3": "c3"}
    # an Arrow source merges the same way
    arrow = _videos(s, [("v4", "c4", ts)]).toArrow()
    lake.merge(arrow, VIDEOS, on=["video_id"])
    assert lake.read(VIDEOS).count() == 4
    assert lake.history(VIDEOS, 1)[0]["reelhouse.mode"] == "merge"
    # duplicate keys in the source are refused whether or not they match a row
    for key in ("v1", "v5"):
        with pytest.raises(LakeWriteError, match="duplicate keys"):
            lake.merge(_videos(s, [(key, "a", ts), (key, "b", ts)]), VIDEOS, on=["video_id"])
    assert lake.version(VIDEOS) == 3


# ----------------------------------------------------------------------------- statistics, vacuum
def test_statistics_are_in_the_log_and_readers_skip_files_by_them(lake):
    s = lake.spark
    lake.write(recon(s, D1, 4, "a"), TABLE, mode="append")              # lines_read 1..4
    lake.write(recon(s, D2, 3, "b", start=100), TABLE, mode="append")   # lines_read 101..103
    dtab = DeltaTable(lake.path(TABLE))
    adds = pa.table(dtab.get_add_actions(flatten=True)).to_pydict()
    assert sum(adds["num_records"]) == 7
    assert sorted(zip(adds["min.lines_read"], adds["max.lines_read"])) == [(1, 4), (101, 103)] or (
        # Spark may split a partition's rows over several files: the bounds still cover each file
        min(adds["min.lines_read"]) == 1 and max(adds["max.lines_read"]) == 103)
    assert lake.describe(TABLE)["rows"] == 7
    # delta-rs' dataset turns the log's min/max into each file's guarantee: a filter skips files
    ds = dtab.to_pyarrow_dataset()
    everything = len(list(ds.get_fragments()))
    kept = list(ds.get_fragments(filter=pc.field("lines_read") > 100))
    assert 0 < len(kept) < everything
    assert ds.to_table(filter=pc.field("lines_read") > 100).num_rows == 3
    # Spark's Delta reader skips them too (data skipping on the log's statistics)
    df = s.read.format("delta").load(lake.path(TABLE)).where("lines_read > 100")
    assert df.count() == 3
    assert _files_read(df) < everything


def _files_read(df) -> int:
    """Files Spark scans for ``df`` after Delta's data skipping (from the executed plan's scan)."""
    df.count()
    plan = df._jdf.queryExecution().executedPlan()
    scans = [n for n in _plan_nodes(plan) if n.nodeName().startswith("Scan")]
    return sum(int(n.metrics().apply("numFiles").value()) for n in scans)


def _plan_nodes(node):
    yield node
    children = node.children()
    for i in range(children.size()):
        yield from _plan_nodes(children.apply(i))
    inner = getattr(node, "executedPlan", None)
    if node.nodeName() in ("AdaptiveSparkPlan",) and inner is not None:
        yield from _plan_nodes(node.executedPlan())


def test_vacuum_removes_replaced_files_and_keeps_the_snapshot(lake):
    s = lake.spark
    lake.write(recon(s, D1, 3, "a"), TABLE, mode="overwrite_partitions", partitions={"landing_date": [D1]})
    old = data_files(lake.path(TABLE))
    lake.write(recon(s, D1, 2, "b"), TABLE, mode="overwrite_partitions", partitions={"landing_date": [D1]})
    assert lake.vacuum(TABLE, retention_hours=168) == []  # too young
    listed = {os.path.normpath(p) for p in lake.vacuum(TABLE, retention_hours=0)}  # dry run
    # delta-spark writes local files through Hadoop, which adds `.<file>.crc` checksums; the full
    # vacuum removes those too (optional side files: Hadoop reads a file without one unverified),
    # and on an object store the folder markers and `_SUCCESS` of the bridge's in-place writes
    assert {p for p in listed if p.endswith(".parquet")} == old and data_files(lake.path(TABLE)) >= old
    lake.vacuum(TABLE, retention_hours=0, dry_run=False)
    assert not (data_files(lake.path(TABLE)) & old)
    assert {f for _d, f, _n in content(lake)} == {"b0", "b1"}
    assert lake.read_arrow(TABLE).num_rows == 2


# ----------------------------------------------------------------------------- across engines
def test_delete_rows_rewrites_the_matching_files_and_a_rerun_commits_nothing(lake):
    """Row-level delete (erasure, retention) by each engine: one commit, time travel keeps the
    old rows until a vacuum, nothing matched = no commit; the three match kinds."""
    from reelhouse.lake import RowMatch

    s = lake.spark
    lake.write(recon(s, D1, 3, "a"), TABLE, mode="append")
    lake.write(recon(s, D2, 2, "b"), TABLE, mode="append")
    r = lake.delete_rows(TABLE, RowMatch("_source_file", "in", ("a1", "b0")), metadata={"erasure": "er_test"})
    assert (r.committed, r.rows, r.version) == (True, 2, 3) and r.files_removed >= 1 and r.bytes_added > 0
    assert content(lake) == {(D1, "a0", 1), (D1, "a2", 3), (D2, "b1", 2)}
    assert len(content(lake, version=2)) == 5  # still there by time travel, until a vacuum
    assert lake.history(TABLE, 1)[0]["reelhouse.mode"] == "delete"
    again = lake.delete_rows(TABLE, RowMatch("_source_file", "in", ("a1", "b0")))
    assert not again.committed and lake.version(TABLE) == 3
    lake.delete_rows(TABLE, RowMatch("_source_file", "contains_any", ("2", "zz")))
    lake.delete_rows(TABLE, RowMatch("landing_date", "before", (D2,)))
    assert content(lake) == {(D2, "b1", 2)}
    lake.vacuum(TABLE, retention_hours=0, dry_run=False)
    assert content(lake) == {(D2, "b1", 2)}
    with pytest.raises(Exception):
        lake.read_arrow(TABLE, version=2)  # its files are gone: no version holds the rows


def test_redact_nulls_a_nullable_column_and_refuses_a_required_one(lake):
    from reelhouse.lake import RowMatch

    t = "ml.model_promotions"
    spec = get_table(t)
    when = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    rows = [{c: None for c in spec.column_names} | {
        "decision_id": f"d{i}", "model_name": "m", "action": "promote", "version": i, "reason": "r",
        "run_id": f"run{i}", "metrics_json": "{}", "decided_at": when, "ds": D2} for i in range(3)]
    lake.write(lake.spark.createDataFrame(rows, spark_schema(spec)), t, mode="append")
    r = lake.redact(t, RowMatch("run_id", "in", ("run1",)), columns=["run_id"])
    assert r.committed and r.rows == 1
    got = {x["decision_id"]: x["run_id"] for x in lake.read_arrow(t).to_pylist()}
    assert got == {"d0": "run0", "d1": None, "d2": "run2"}
    assert not lake.redact(t, RowMatch("run_id", "in", ("run1",)), columns=["run_id"]).committed
    with pytest.raises(LakeError, match="non-nullable"):
        lake.redact(t, RowMatch("run_id", "in", ("run0",)), columns=["model_name"])


def test_optimize_compacts_a_partition_with_the_same_contents(lake):
    s = lake.spark
    for i in range(4):
        lake.write(recon(s, D1, 2, f"p{i}"), TABLE, mode="append")
    lake.write(recon(s, D2, 1, "q"), TABLE, mode="append")
    before, files_before = content(lake), len(lake.files(TABLE))
    r = lake.optimize(TABLE, partition={"landing_date": D1.isoformat()}, zorder_by=("_source_file",),
                      metadata={"maintenance": "t"})
    assert r.committed and r.files_removed >= 4 and r.files_added == 1
    assert len(lake.files(TABLE)) == files_before - r.files_removed + 1
    assert content(lake) == before
    assert lake.history(TABLE, 1)[0]["operation"] == "OPTIMIZE"
    # a partition already in one file: nothing to do, no commit
    version = lake.version(TABLE)
    assert not lake.optimize(TABLE, partition={"landing_date": D2.isoformat()}).committed
    assert lake.version(TABLE) == version


def test_a_table_written_by_either_engine_is_read_by_every_reader(lake, engine, spark):
    other = Lake(lake.root, engine=ENGINES[next(e for e in ENGINES if e != engine)], spark=spark)
    lake.write(recon(spark, D1, 3, "a"), TABLE, mode="overwrite_partitions", partitions={"landing_date": [D1]})
    other.write(recon(spark, D2, 2, "b", start=10), TABLE, mode="append", app_id="x", app_version=1)
    lake.write(recon(spark, D1, 2, "c", start=20), TABLE, mode="overwrite_partitions",
               partitions={"landing_date": [D1]}, app_id="x", app_version=2)
    expected = {(D1, "c0", 21), (D1, "c1", 22), (D2, "b0", 11), (D2, "b1", 12)}
    assert content(lake) == content(other) == expected
    assert content(other, version=1) == {(D1, f"a{i}", i + 1) for i in range(3)}
    assert other.transaction_version(TABLE, "x") == lake.transaction_version(TABLE, "x") == 2
    # delta-rs, with the catalog's types (timestamps µs UTC)
    arrow = lake.read_arrow(TABLE)
    assert {(r["landing_date"], r["_source_file"], r["lines_read"]) for r in arrow.to_pylist()} == expected
    assert arrow.schema.field("_ingested_at").type == pa.timestamp("us", tz="UTC")
    assert set(arrow.column("_ingested_at").to_pylist()) == {INGESTED}
    # DuckDB over the Arrow dataset
    ds = lake.arrow_dataset(TABLE)  # noqa: F841 (DuckDB reads the local variable)
    assert duckdb.sql("select count(*), sum(lines_read), count(distinct landing_date) from ds").fetchall() == [
        (4, 66, 2)]
    # Spark's own Delta reader and Delta SQL
    direct = spark.read.format("delta").load(lake.path(TABLE))
    assert {(r["landing_date"], r["_source_file"], r["lines_read"]) for r in direct.collect()} == expected
    path = lake.path(TABLE)
    assert spark.sql(f"SELECT count(*) AS n FROM delta.`{path}` VERSION AS OF 1").first()["n"] == 3
    ops = [r["operation"] for r in spark.sql(f"DESCRIBE HISTORY delta.`{path}`").orderBy("version").collect()]
    assert len(ops) == 4 and ops[0] == "CREATE TABLE"
    # the history names each commit's reelhouse write mode, whichever engine wrote it
    assert [c.get("reelhouse.mode") for c in other.history(TABLE)] == [
        "overwrite_partitions", "append", "overwrite_partitions", None]
