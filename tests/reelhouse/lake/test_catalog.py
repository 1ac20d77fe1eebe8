"""The table catalog: what every entry promises (schema, partitioning, keys, units) and the one
function that says where a table lives. No Spark session: ``spark_schema`` only builds types."""

from __future__ import annotations

import re

import pyarrow as pa
import pytest
from pyspark.sql.pandas.types import to_arrow_schema

from reelhouse.lake import Lake
from reelhouse.lake.catalog import TABLES, Column, TableSpec, get_table, spark_schema, split_name, table_path

SPECS = sorted(TABLES.values(), key=lambda s: s.name)
LAYERS = {"bronze", "quarantine", "silver", "gold", "ops", "ml"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_entry_is_consistent(spec: TableSpec):
    assert TABLES[spec.name] is spec and get_table(spec.name) is spec
    assert re.fullmatch(r"[a-z]+\.[a-z_]+", spec.name) and spec.layer in LAYERS
    assert (spec.layer, spec.table) == tuple(spec.name.split("."))
    names = spec.column_names
    assert len(names) == len(set(names)), "duplicate column"
    assert spec.partition_by, "every table is partitioned"
    assert all(p in names for p in spec.partition_by), "partition column missing from the schema"
    assert spec.key and all(k in names for k in spec.key), "key column missing from the schema"
    cols = {c.name: c for c in spec.columns}
    assert all(not cols[p].nullable for p in spec.partition_by), "a partition column may be null"
    assert spec.description and all(c.description for c in spec.columns)
    assert spec.arrow_schema().names == names


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_spark_and_arrow_schemas_agree(spec: TableSpec):
    spark = spark_schema(spec)
    assert [f.name for f in spark.fields] == spec.column_names
    assert [f.nullable for f in spark.fields] == [c.nullable for c in spec.columns]
    back = to_arrow_schema(spark, timezone="UTC")  # Spark's own Arrow mapping of the Spark schema
    for got, want in zip(back, spec.arrow_schema()):
        assert got.type.equals(want.type), (spec.name, got, want)
        assert got.nullable == want.nullable


def test_units_as_the_catalog_docstring_states():
    """Timestamps are µs UTC, dates are date32, every ``*_ms`` column past bronze (raw text) is a
    number of milliseconds and says so; features carry ``feature_time`` and are partitioned by ds."""
    for spec in SPECS:
        for c in spec.columns:
            if pa.types.is_timestamp(c.type):
                assert c.type == pa.timestamp("us", tz="UTC"), (spec.name, c.name)
            if pa.types.is_date(c.type):
                assert c.type == pa.date32(), (spec.name, c.name)
            if c.name.endswith("_ms") and spec.layer != "bronze":
                assert pa.types.is_integer(c.type) or pa.types.is_floating(c.type), (spec.name, c.name)
                assert "ms" in c.description or c.description.endswith("as of the impression (NULL: no row within the TTL)"), (spec.name, c.name)
        if "feature_time" in spec.column_names:
            assert spec.partition_by == ("ds",), spec.name


def test_unknown_table_is_a_key_error_listing_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown table 'silver\.nope'; known tables: \[.*'silver\.events'"):
        get_table("silver.nope")
    with pytest.raises(KeyError, match="unknown table"):
        Lake("/lake").path("silver.nope")


def test_spark_schema_refuses_types_it_cannot_map():
    spec = TableSpec("ops.x", (Column("d", pa.decimal128(10, 2), False, "a decimal"),), ("d",), ("d",), "test")
    with pytest.raises(TypeError, match="no Spark type"):
        spark_schema(spec)


def test_table_path_is_root_layer_table():
    assert table_path("/data/lake", "silver.events") == "/data/lake/silver/events"
    assert table_path("/data/lake//", "gold.video_features") == "/data/lake/gold/video_features"
    assert table_path("s3://bucket/lake/", "ops.quality_results") == "s3://bucket/lake/ops/quality_results"
    assert table_path("file:///data/lake", "ops.gate_passed") == "file:///data/lake/ops/gate_passed"  # not a table
    assert split_name("ml.model_promotions") == ("ml", "model_promotions")
    for bad in ("events", ".events", "silver.", ""):
        with pytest.raises(ValueError, match="layer.table"):
            table_path("/data/lake", bad)


def test_every_caller_builds_locations_with_table_path(tmp_path):
    from reelhouse.pipeline import asset_uri

    lake = Lake(str(tmp_path) + "/")
    for spec in SPECS:
        assert lake.path(spec.name) == table_path(str(tmp_path), spec.name) == f"{tmp_path}/{spec.layer}/{spec.table}"
        assert asset_uri(spec.name, str(tmp_path)) == "file://" + table_path(str(tmp_path), spec.name)
    assert asset_uri("ops.gate_passed", "s3://b/lake/") == "s3://b/lake/ops/gate_passed"


def test_feast_sources_point_at_the_tables(tmp_path):
    pytest.importorskip("feast")
    from reelhouse.serving.feature_views import VIEWS, build

    objs = build(str(tmp_path), ttl_days={v: 2.0 for v in VIEWS})
    sources = {o.batch_source.path for o in objs if hasattr(o, "batch_source") and o.batch_source is not None}
    assert sources == {table_path(str(tmp_path), v.table) for v in VIEWS.values()}
