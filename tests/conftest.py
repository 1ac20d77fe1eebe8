"""Shared fixtures: one SparkSession for the whole run, isolated lake/landing folders per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("REELHOUSE_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))

os.environ.setdefault("REELHOUSE_ENV", "test")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The one SparkSession of the test run (local[2], test overlay)."""
    from reelhouse.config import load_config
    from reelhouse.spark import get_spark

    cfg = load_config("test")
    session = get_spark(cfg, app_name="reelhouse-tests")
    yield session
    session.stop()


@pytest.fixture
def data_dirs(tmp_path, monkeypatch):
    """Point the configuration at fresh landing and lake folders; returns (landing, lake)."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    monkeypatch.setenv("REELHOUSE__PATHS__LANDING", str(landing))
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(lake))
    return landing, lake


@pytest.fixture
def config(data_dirs):
    from reelhouse.config import load_config

    return load_config("test")


@pytest.fixture
def lake(config, spark):
    from reelhouse.lake import Lake

    return Lake.from_config(config, spark)


@pytest.fixture(scope="session")
def kuairand_log() -> Path:
    path = SHARED_DATASETS / "kuairand" / "log_standard_4_08_to_4_21_27k_like_hate_kcore15.tsv"
    if not path.exists():
        pytest.skip(f"the KuaiRand log is not at {path} (../shared/datasets is absent)")
    return path
