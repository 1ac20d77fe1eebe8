"""The two storage engines build the same lake: two generated days (~3k events each) through every
Spark step, once with the delta-rs bridge and once with delta-spark, give equal contents in every
table (an order-independent hash per table; what identifies a run rather than the data left out:
its wall-clock times and the dataset build's id, which the manifest's JSON repeats)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pyarrow as pa
import pytest

pytestmark = pytest.mark.integration

#: Columns that identify the run that wrote the row, not data: wall-clock times, and
#: ml.dataset_manifests' random build id and the manifest JSON holding it (the manifest's content
#: hash, input versions and label rates are columns of their own, compared).
RUN_IDENTITY = {"_ingested_at", "validated_at", "created_at", "build_id", "manifest_json"}
DAYS = [dt.date(2024, 6, 1), dt.date(2024, 6, 2)]


def table_hash(table: pa.Table) -> str:
    """SHA-256 over the sorted per-row hashes of ``table`` (JSON of each row, without
    :data:`RUN_IDENTITY` columns): equal for equal row multisets, whatever the file layout."""
    cols = [c for c in table.column_names if c not in RUN_IDENTITY]
    rows = sorted(hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()
                  for r in table.select(cols).to_pylist())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def test_both_engines_build_identical_tables(spark, tmp_path, monkeypatch):
    from reelhouse.config import load_config
    from reelhouse.lake import Lake
    from reelhouse.lake.catalog import TABLES
    from reelhouse.pipeline import SPARK_STEPS, run_date
    from reelhouse.sources.generator import generate

    monkeypatch.setenv("REELHOUSE__PATHS__LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(tmp_path / "lake"))
    base = load_config("test")
    generate(base.paths.landing, start=DAYS[0], days=len(DAYS), events_per_day=3_000, seed=11)
    hashes: dict[str, dict[str, tuple[int, str]]] = {}
    for engine in ("delta-rs", "delta-spark"):
        monkeypatch.setenv("REELHOUSE__LAKE__ENGINE", engine)
        monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(tmp_path / engine))
        cfg = load_config("test")
        assert cfg.lake_engine == engine
        for day in DAYS:
            run_date(day, steps=SPARK_STEPS, run_version=1, spark=spark, config=cfg, log=lambda m: None)
        lake = Lake.from_config(cfg, spark)
        hashes[engine] = {}
        for name in sorted(TABLES):
            if lake.exists(name):
                t = lake.read_arrow(name)
                hashes[engine][name] = (t.num_rows, table_hash(t))
    bridge, native = hashes["delta-rs"], hashes["delta-spark"]
    assert sorted(bridge) == sorted(native)
    assert bridge["silver.events"][0] > 5_000 and bridge["gold.training_examples"][0] > 0
    differing = {n: (bridge[n], native[n]) for n in bridge if bridge[n] != native[n]}
    assert differing == {}
