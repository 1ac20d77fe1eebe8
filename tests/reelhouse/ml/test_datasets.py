"""reelhouse.ml.datasets on a tiny lake: the content hash, recording and loading a manifest (file
and ml.dataset_manifests), and a rebuild that reproduces the hash from the recorded versions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
import datetime as dt
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from reelhouse.lake.catalog import get_table
from reelhouse.ml import datasets
from reelhouse.ml.datasets import (DATASET, ManifestError, content_hash, load_manifest, manifest_dir, partition_hash,
                                    rebuild, record_manifest)
from reelhouse.ml.training_examples import INPUTS, build

UTC = dt.timezone.utc
D = dt.date(2024, 6, 2)


def silver_events(rows) -> pa.Table:
    """rows: (event_id, event_type, hour, minute, user, video, play_ms, duration_ms) on D."""
    recs = [{"event_id": e, "event_type": t, "event_time": dt.datetime(2024, 6, 2, h, m, tzinfo=UTC), "user_id": u,
             "video_id": v, "play_time_ms": p, "video_duration_ms": d, "_source_file": "f",
             "_ingested_at": dt.datetime(2024, 6, 3, tzinfo=UTC), "event_date": D, "landing_date": D}
            for e, t, h, m, u, v, p, d in rows]
    return pa.Table.from_pylist(recs, schema=get_table("silver.events").arrow_schema())


DAY_ONE = [
    ("i1", "impression", 8, 0, "u1", "v1", None, None),
    ("p1", "play", 8, 1, "u1", "v1", 9_500, 10_000),
    ("i2", "impression", 9, 0, "u2", "v1", None, None),
    ("i3", "impression", 9, 30, "u1", "v2", None, None),
    ("l3", "like", 9, 31, "u1", "v2", None, None),
]


@pytest.fixture
def recorded(spark, lake, config):
    """silver.events of D (the only input that exists), the dataset of D committed, its manifest."""
    lake.write_arrow(silver_events(DAY_ONE), "silver.events", mode="append")
    versions = {t: lake.version(t) for t in INPUTS}
    res = lake.write(build(spark, lake, config, D, versions=versions), DATASET, mode="overwrite_partitions",
                     partitions={"ds": [D]})
    return record_manifest(lake, config, D, inputs=versions, dataset_version=res.version)


def test_manifest_records_what_was_built(recorded, lake, config):
    m = recorded
    assert m["dataset"] == DATASET and m["ds"] == D.isoformat() and m["rows"] == 3 and m["sampled_negatives"] == 0
    assert m["inputs"]["silver.events"] == lake.version("silver.events") is not None and m["inputs"]["gold.user_features"] is None
    assert m["label_rates"] == {"label_play": round(1 / 3, 6), "label_complete": round(1 / 3, 6),
                                "label_like": round(1 / 3, 6), "label_long_view": 0.0}
    assert m["time_range"] == ["2024-06-02T08:00:00+00:00", "2024-06-02T09:30:00+00:00"]
    assert m["partitions"]["silver.events"] == [D.isoformat()]
    assert m["seed"] == config.training.seed
    table = lake.read_arrow(DATASET, where={"ds": D})
    assert m["content_sha256"] == content_hash(table)
    path = Path(manifest_dir(config.paths.lake, D)) / f"{m['build_id']}.json"
    assert m["path"] == str(path) and path.is_file()


def test_load_manifest_by_file_and_by_build_id(recorded, lake, tmp_path):
    on_file = load_manifest(recorded["path"])
    assert on_file == {k: v for k, v in recorded.items() if k != "path"}
    assert load_manifest(recorded["build_id"], lake) == on_file
    with pytest.raises(ManifestError, match="no manifest"):
        load_manifest("no-such-build", lake)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError, match="not a JSON manifest"):
        load_manifest(str(bad))


def test_content_hash_ignores_row_order_and_sees_every_value(recorded, lake):
    table = lake.read_arrow(DATASET, where={"ds": D})
    h = content_hash(table)
    assert len(h) == 64 and content_hash(table.take(pa.array([2, 0, 1]))) == h
    flipped = table.set_column(table.schema.get_field_index("label_like"), "label_like",
                               pc.subtract(pa.scalar(1, pa.int32()), table["label_like"]).cast(pa.int32()))
    assert content_hash(flipped) != h
    assert content_hash(table.slice(1)) != h


def _many_examples(lake, n: int) -> pa.Table:
    """n rows shaped like the recorded partition: ids e00000…, labels varying, some nulls."""
    base = lake.read_arrow(DATASET, where={"ds": D})
    t = base.take(pa.array([i % base.num_rows for i in range(n)]))
    t = t.set_column(t.schema.get_field_index("example_id"), "example_id", pa.array([f"e{i:05d}" for i in range(n)]))
    likes = pa.array([i % 3 == 0 for i in range(n)]).cast(t.schema.field("label_like").type)
    t = t.set_column(t.schema.get_field_index("label_like"), "label_like", likes)
    rate = pa.array([None if i % 7 == 0 else i / n for i in range(n)], t.schema.field("video_completion_rate_7d").type)
    return t.set_column(t.schema.get_field_index("video_completion_rate_7d"), "video_completion_rate_7d", rate)


def test_partition_hash_streams_sorted_files_to_the_in_memory_digest(recorded, spark, lake, monkeypatch):
    from reelhouse.lake.catalog import spark_schema

    many = _many_examples(lake, 2_000)
    df = spark.createDataFrame(many.to_pandas(), spark_schema(get_table(DATASET)))
    # as the step writes it: range-partitioned and sorted (orderBy; AQE makes that one file at this
    # size, so the ranges are forced here), several files
    ranged = df.repartitionByRange(4, "ds", "example_id").sortWithinPartitions("ds", "example_id")
    lake.write(ranged, DATASET, mode="overwrite_partitions", partitions={"ds": [D]})
    assert len(lake.files(DATASET)) > 1
    table = lake.read_arrow(DATASET, where={"ds": D})
    expected = {k: content_hash(table, chunk_rows=k) for k in (7, 1 << 20)}
    with monkeypatch.context() as mp:  # the streaming path, never the in-memory fallback
        mp.setattr(datasets, "content_hash", lambda *a, **k: pytest.fail("fell back to the in-memory hash"))
        assert {k: partition_hash(lake, D, chunk_rows=k) for k in (7, 1 << 20)} == expected
    # unsorted files (an older partition, another writer): the in-memory fallback, same digest
    lake.write(df.repartition(4), DATASET, mode="overwrite_partitions", partitions={"ds": [D]})
    assert partition_hash(lake, D, chunk_rows=7) == expected[7]
    assert partition_hash(lake, D) == expected[1 << 20] != content_hash(table.slice(1))


def test_rebuild_reproduces_the_hash_at_the_recorded_versions(recorded, spark, lake, config):
    # later input: a new version of silver.events the manifest did not read
    lake.write_arrow(silver_events([("i9", "impression", 10, 0, "u9", "v9", None, None)]), "silver.events", mode="append")
    # a configuration that differs from the manifest's: rebuild uses the recorded parameters
    changed = dataclasses.replace(config, training=dataclasses.replace(config.training, label_window_seconds=1))
    out = rebuild(spark, lake, changed, recorded)
    assert out["matches"] and out["rows"] == 3 and out["content_sha256"] == recorded["content_sha256"]
    # a manifest recorded before content_hash_algorithm existed is checked with the legacy hash
    table = lake.read_arrow(DATASET, where={"ds": D})
    legacy = {k: v for k, v in recorded.items() if k != "content_hash_algorithm"}
    legacy["content_sha256"] = content_hash(table, algorithm=datasets.LEGACY_HASH_ALGORITHM)
    assert recorded["content_hash_algorithm"] == datasets.HASH_ALGORITHM  # (3 rows: both hashes agree here)
    assert rebuild(spark, lake, config, legacy)["matches"]
    with pytest.raises(ValueError, match="unknown content hash algorithm"):
        content_hash(table, algorithm="md5")
    tampered = json.loads(json.dumps({**recorded, "content_sha256": "0" * 64}))
    assert rebuild(spark, lake, config, tampered)["matches"] is False
