"""The lake with the delta-rs bridge: what only the bridge does (staged files, nothing left behind
by a refused or killed write, Arrow writes without Spark, string_view merges). What every engine
guarantees is tests/reelhouse/lake/test_lake_contract.py."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from reelhouse.lake.catalog import get_table
from reelhouse.lake import LakeWriteError

TABLE = "ops.ingest_reconciliation"
D1, D2, D3 = dt.date(2024, 1, 1), dt.date(2024, 1, 2), dt.date(2024, 1, 3)


def recon_rows(spark, day: dt.date, n: int, tag: str):
    """n reconciliation rows for one landing date; files named <tag><i>."""
    rows = [
        (f"{tag}{i}", "ok", i + 1, i, 1, 0, True, dt.datetime(2024, 1, 5, 12, 0, 0, 123456), day)
        for i in range(n)
    ]
    from reelhouse.lake.catalog import spark_schema

    return spark.createDataFrame(rows, spark_schema(get_table(TABLE)))


def files_of(lake, table=TABLE):
    out = []
    for dirpath, _d, files in os.walk(lake.path(table)):
        out += [os.path.join(dirpath, f) for f in files if f.endswith(".parquet")]
    return sorted(out)


def test_write_creates_standard_delta_table_readable_everywhere(lake, spark):
    res = lake.write(recon_rows(spark, D1, 5, "a"), TABLE, mode="overwrite_partitions", partitions={"landing_date": D1})
    assert not res.skipped and res.rows_added == 5 and res.version == 1
    dtab = DeltaTable(lake.path(TABLE))
    assert dtab.metadata().partition_columns == ["landing_date"]
    arrow = dtab.to_pyarrow_dataset().to_table()
    assert arrow.num_rows == 5
    assert arrow.schema.field("_ingested_at").type.unit == "us"
    assert str(arrow.schema.field("_ingested_at").type.tz) == "UTC"
    # DuckDB over the delta-rs snapshot (its own delta extension needs a download)
    ds = dtab.to_pyarrow_dataset()
    assert duckdb.sql("select count(*), sum(lines_read) from ds").fetchall() == [(5, 15)]
    assert len(lake.read_pandas(TABLE)) == 5
    # Parquet timestamps are INT64 microseconds, not INT96
    for f in files_of(lake):
        col = pq.read_metadata(f).schema.column(pq.read_metadata(f).schema.names.index("_ingested_at"))
        assert col.physical_type == "INT64"
    # Spark reads it back with catalog types, partition column included
    back = lake.read(TABLE)
    assert back.columns == get_table(TABLE).column_names
    assert dict(back.dtypes)["landing_date"] == "date"
    assert back.where("landing_date = '2024-01-01'").count() == 5


def test_rows_outside_replaced_partitions_are_refused_before_commit(lake, spark):
    lake.write(recon_rows(spark, D1, 3, "a"), TABLE, mode="overwrite_partitions", partitions={"landing_date": [D1]})
    before = files_of(lake)
    with pytest.raises(LakeWriteError, match="outside the partitions"):
        lake.write(recon_rows(spark, D3, 2, "x"), TABLE, mode="overwrite_partitions", partitions={"landing_date": [D1]})
    assert lake.version(TABLE) == 1
    assert files_of(lake) == before  # nothing left behind
    assert lake.read(TABLE).count() == 3


def test_write_killed_before_commit_leaves_nothing_visible(lake, spark, monkeypatch):
    lake.write(recon_rows(spark, D1, 3, "a"), TABLE, mode="append")
    before_files = files_of(lake)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("killed between the Parquet write and the commit")

    monkeypatch.setattr(DeltaTable, "create_write_transaction", boom)
    with pytest.raises(KeyboardInterrupt):
        lake.write(recon_rows(spark, D2, 5, "b"), TABLE, mode="append")
    monkeypatch.undo()
    assert lake.version(TABLE) == 1
    assert lake.read(TABLE).count() == 3
    assert DeltaTable(lake.path(TABLE)).to_pyarrow_dataset().count_rows() == 3
    assert files_of(lake) == before_files
    assert not os.path.exists(os.path.join(lake.path(TABLE), "_staging"))


def test_uncommitted_parquet_in_table_dir_is_invisible(lake, spark):
    """A process killed hard (no cleanup) leaves staged files; readers never see them."""
    lake.write(recon_rows(spark, D1, 3, "a"), TABLE, mode="append")
    stray = os.path.join(lake.path(TABLE), "landing_date=2024-01-01", "part-99999-stray.snappy.parquet")
    recon_rows(spark, D1, 50, "z").drop("landing_date").toPandas().to_parquet(stray)
    assert lake.read(TABLE).count() == 3
    assert DeltaTable(lake.path(TABLE)).to_pyarrow_dataset().count_rows() == 3


def test_columns_must_match_catalog(lake, spark):
    df = recon_rows(spark, D1, 1, "a").withColumnRenamed("lines_read", "lines")
    with pytest.raises(LakeWriteError, match="missing=\\['lines_read'\\] extra=\\['lines'\\]"):
        lake.write(df, TABLE, mode="append")


def test_null_in_non_nullable_column_is_refused(lake, spark):
    from pyspark.sql import functions as F

    df = recon_rows(spark, D1, 2, "a").withColumn("file_status", F.lit(None).cast("string"))
    with pytest.raises(LakeWriteError, match="non-nullable column 'file_status'"):
        lake.write(df, TABLE, mode="append")
    assert lake.version(TABLE) == 0  # created empty, nothing committed


def test_merge_upserts_and_is_idempotent(lake, spark):
    from reelhouse.lake.catalog import spark_schema

    spec = get_table("silver.videos")
    ts = dt.datetime(2024, 1, 1, 10)

    def videos(rows):
        return spark.createDataFrame(
            [(v, c, t, 1000, None, None, ["a"], "US", f"e-{v}-{c}", "f", t.date()) for v, c, t in rows],
            spark_schema(spec),
        )

    lake.merge(videos([("v1", "c1", ts), ("v2", "c2", ts)]), "silver.videos", on=["video_id"])
    # v1 arrives again with a later publish (ignored) and v3 is new
    res = lake.merge(
        videos([("v1", "cX", ts + dt.timedelta(hours=1)), ("v3", "c3", ts)]),
        "silver.videos", on=["video_id"], update_when="s.published_at < t.published_at",
        app_id="m", app_version=1,
    )
    again = lake.merge(videos([("v9", "c9", ts)]), "silver.videos", on=["video_id"], app_id="m", app_version=1)
    assert not res.skipped and again.skipped
    got = {r["video_id"]: r["creator_id"] for r in lake.read("silver.videos").collect()}
    assert got == {"v1": "c1", "v2": "c2", "v3": "c3"}
    # delta-rs merge writes string_view Parquet; a column filter over those files must still work
    import pyarrow as pa
    import pyarrow.compute as pc

    picked = lake.read_arrow("silver.videos", filter=pc.field("video_id").isin(pa.array(["v1", "v3"])))
    assert sorted(picked["video_id"].to_pylist()) == ["v1", "v3"]
    with pytest.raises(LakeWriteError, match="duplicate keys"):
        lake.merge(videos([("v4", "a", ts), ("v4", "b", ts)]), "silver.videos", on=["video_id"])


def test_write_arrow_overwrites_partitions_without_spark(tmp_path):
    import datetime as dt

    import pyarrow as pa

    from reelhouse.lake.catalog import get_table
    from reelhouse.lake import Lake, LakeWriteError

    lake = Lake(str(tmp_path / "lake"))
    spec = get_table("ops.ingest_reconciliation")
    ts = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)

    def recon(day, files):
        return pa.Table.from_pylist(
            [{"_source_file": f, "file_status": "ok", "lines_read": 3, "rows_kept": 3, "duplicates_dropped": 0,
              "rows_quarantined": 0, "balanced": True, "_ingested_at": ts, "landing_date": day} for f in files],
            schema=spec.arrow_schema(),
        )

    d1, d2 = dt.date(2024, 1, 1), dt.date(2024, 1, 2)
    lake.write_arrow(pa.concat_tables([recon(d1, ["a", "b"]), recon(d2, ["c"])]), spec.name, mode="append")
    lake.write_arrow(recon(d2, ["x", "y"]), spec.name, mode="overwrite_partitions", partitions={"landing_date": [d2]})
    got = lake.read_arrow(spec.name).sort_by("_source_file")
    assert got["_source_file"].to_pylist() == ["a", "b", "x", "y"]
    with pytest.raises(LakeWriteError):
        lake.write_arrow(recon(d1, ["z"]), spec.name, mode="overwrite_partitions", partitions={"landing_date": [d2]})
    assert lake.read_arrow(spec.name).num_rows == 4
    assert not os.path.exists(os.path.join(lake.path(spec.name), "_staging"))  # refused write left nothing


def test_partitions_without_overwrite_partitions_is_refused(tmp_path):
    import pyarrow as pa

    from reelhouse.lake.catalog import get_table
    from reelhouse.lake import Lake

    spec = get_table("ops.online_publishes")
    empty = spec.arrow_schema().empty_table()
    with pytest.raises(ValueError, match="only goes with mode='overwrite_partitions'"):
        Lake(str(tmp_path)).write_arrow(empty, spec.name, mode="overwrite", partitions={"ds": ["2024-06-01"]})
    assert isinstance(empty, pa.Table)
