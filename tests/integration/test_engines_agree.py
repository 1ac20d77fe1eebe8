"""The two storage engines build the same lake: two generated days (~3k events each) through every
Spark step, once with the delta-rs bridge and once with delta-spark, give equal contents in every
table (an order-independent hash per table; what identifies a run rather than the data left out:
its wall-clock times and the dataset build's id, which the manifest's JSON repeats)."""

from __future__ import annotations

import datetime as dt

import pytest
from lake_hash import table_hash

# the deployment tier (make test-deployment): the whole pipeline once per engine
pytestmark = [pytest.mark.integration, pytest.mark.deployment]

DAYS = [dt.date(2024, 6, 1), dt.date(2024, 6, 2)]


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
