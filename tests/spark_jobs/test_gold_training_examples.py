"""The training-examples step: the nightly builds examples with a manifest that rebuilds the
dataset byte for byte, from the Python API and from the CLI."""

from __future__ import annotations

import datetime as dt

import pytest

D = dt.date(2024, 6, 2)


@pytest.fixture(scope="module")
def built_lake(spark, tmp_path_factory):
    """Two generated days run through the whole nightly (ingest → training examples)."""
    import os

    from reelhouse.config import load_config
    from reelhouse.sources.generator import generate
    from reelhouse.lake import Lake
    from reelhouse.pipeline import SPARK_STEPS, run_date

    root = tmp_path_factory.mktemp("training")
    old = {k: os.environ.get(k) for k in ("REELHOUSE__PATHS__LANDING", "REELHOUSE__PATHS__LAKE", "REELHOUSE__TRAINING__NEGATIVE_RATIO")}
    os.environ.update({"REELHOUSE__PATHS__LANDING": str(root / "landing"), "REELHOUSE__PATHS__LAKE": str(root / "lake"),
                       "REELHOUSE__TRAINING__NEGATIVE_RATIO": "0.25"})
    try:
        cfg = load_config("test")
        generate(cfg.paths.landing, start=D - dt.timedelta(days=1), days=2, events_per_day=8_000, seed=5)
        for d in (D - dt.timedelta(days=1), D):
            run_date(d, steps=SPARK_STEPS, spark=spark, config=cfg, log=lambda m: None)
        yield cfg, Lake.from_config(cfg, spark)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_nightly_builds_examples_with_a_manifest_that_rebuilds_byte_for_byte(spark, built_lake):
    import json

    from reelhouse.ml.datasets import load_manifest, rebuild

    cfg, lake = built_lake
    ex = lake.read_pandas("gold.training_examples", where={"ds": D})
    imps = lake.read_pandas("silver.events", columns=["event_id", "event_type"], where={"event_date": [D]})
    assert set(ex[~ex.is_sampled_negative].example_id) == set(imps[imps.event_type == "impression"].event_id)
    assert ex.example_id.is_unique and ex.is_sampled_negative.sum() > 0
    assert (ex[ex.is_sampled_negative][["label_play", "label_complete", "label_like", "label_long_view"]] == 0).all().all()
    assert 0.5 < ex[~ex.is_sampled_negative].label_play.mean() <= 1.0
    # features of D-1 (feature_time = D 00:00), never D's own snapshot
    assert (ex.user_feature_time.dropna() <= ex.impression_time[ex.user_feature_time.notna()]).all()
    assert ex.user_feature_time.notna().any() and ex.user_video_interest.gt(0).any()
    man = lake.read_pandas("ml.dataset_manifests", where={"ds": [D]})
    assert len(man) == 1
    manifest = load_manifest(json.loads(man.manifest_json[0])["build_id"], lake)
    assert manifest["rows"] == len(ex) and manifest["inputs"]["silver.events"] is not None
    assert set(manifest["label_rates"]) == {"label_play", "label_complete", "label_like", "label_long_view"}
    out = rebuild(spark, lake, cfg, manifest)
    assert out["matches"], (out["content_sha256"], manifest["content_sha256"])
    assert out["rows"] == len(ex)


def test_cli_rebuild_from_the_manifest_file(spark, built_lake, capsys, monkeypatch):
    from pathlib import Path

    from reelhouse.cli import main

    cfg, lake = built_lake
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", cfg.paths.lake)
    monkeypatch.setenv("REELHOUSE__PATHS__LANDING", cfg.paths.landing)
    monkeypatch.setenv("REELHOUSE__TRAINING__NEGATIVE_RATIO", "0.25")
    files = sorted((Path(cfg.paths.lake) / "_manifests" / "gold.training_examples" / f"ds={D}").glob("*.json"))
    assert len(files) == 1
    assert main(["dataset", "rebuild", str(files[0])]) == 0
    assert "identical" in capsys.readouterr().out
    assert main(["dataset", "rebuild", "no-such-build"]) == 2
