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
    """The one SparkSession of the test run (local[2], test overlay), with the Delta jars,
    extension and catalog loaded whatever ``lake.engine`` says: a running session cannot gain a SQL
    extension, the lake contract suite runs both engines in it (and Spark reads of bridge-written
    tables through ``format("delta")``), and Delta's catalog and extension leave the bridge's
    path-based Parquet reads and writes as they are. With Spark's S3A connector too, set for the
    loopback object store (:func:`object_store_config`): tests that put a lake on ``s3a://`` share
    this session. Needs ``make jars`` (part of ``make install``)."""
    import dataclasses

    from reelhouse.config import load_config
    from reelhouse.spark import get_spark

    cfg = dataclasses.replace(load_config("test"), object_store=object_store_config())
    session = get_spark(cfg, app_name="reelhouse-tests", delta=True, s3a=True)
    yield session
    session.stop()


def object_store_config():
    """The loopback object store's settings (the ``objectstore`` overlay's ``object_store:``)."""
    from reelhouse.config import load_config

    return load_config("objectstore", environ={k: v for k, v in os.environ.items()
                                               if not k.startswith("REELHOUSE__")}).object_store


@pytest.fixture(scope="session")
def object_store():
    """The loopback object store (``make objectstore``), registered as the process's store for
    ``s3a://`` paths; None when it does not answer (tests on it skip themselves)."""
    import pyarrow.fs as pafs

    from reelhouse import objectstore

    store = object_store_config()
    fs, _ = objectstore.pyarrow_filesystem(store, "s3a://reelhouse-lake")
    try:
        if fs.get_file_info("reelhouse-lake").type != pafs.FileType.Directory:
            return None
    except OSError:
        return None
    objectstore.register(store)
    return store


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


class DemoLake:
    """A small generated lake shared by the consumer tests (dbt, dashboard, notebook): ``days``
    nightly runs (all steps, each gated like the CLI does) of ``events_per_day`` generated events,
    then one retrain validated on the last day (so a champion exists). ``config`` points at it;
    ``env`` is the environment a subprocess needs to see the same lake."""

    def __init__(self, root: Path, config, days: list, env: dict[str, str]):
        self.root, self.config, self.days, self.env = root, config, days, env

    @property
    def lake_root(self) -> Path:
        return Path(self.config.paths.lake)


@pytest.fixture(scope="session")
def demo_lake(spark, tmp_path_factory) -> DemoLake:
    """Generated 2024-06-01..04 (4 days × 15k events, seed 5), every step + gate per day, one
    retrain on 2024-06-04. Built once per test session; tests must not write to it."""
    import datetime as dt

    from reelhouse.config import load_config
    from reelhouse.sources.generator import generate
    from reelhouse.lake import Lake
    from reelhouse.ml.model import retrain
    from reelhouse.pipeline import SPARK_STEPS, run_date
    from reelhouse.quality.gate import run_gate

    root = tmp_path_factory.mktemp("demo_lake")
    env = {"REELHOUSE_ENV": "test", "REELHOUSE__PATHS__LANDING": str(root / "landing"),
           "REELHOUSE__PATHS__LAKE": str(root / "lake")}
    with pytest.MonkeyPatch.context() as mp:  # the session's environment is left as it was
        for k, v in env.items():
            mp.setenv(k, v)
        cfg = load_config("test")
        start = dt.date(2024, 6, 1)
        days = [start + dt.timedelta(days=k) for k in range(4)]
        generate(cfg.paths.landing, start=start, days=len(days), events_per_day=15_000, seed=5)
        lake = Lake.from_config(cfg, spark)
        for d in days:
            run_date(d, steps=SPARK_STEPS, spark=spark, config=cfg, log=lambda m: None)
            run_gate(lake, cfg, d, data_docs=False, record=True)
        retrain(lake, cfg, days[-1], window_days=2, require_gate=False)
    return DemoLake(root, cfg, days, env)


DEMO_MARTS_KEY = "demo-marts-pseudonym-key-0123456789"


class DemoMarts:
    """The demo lake's dbt marts: ``demo_lake`` (the :class:`DemoLake`), ``duckdb_path`` (a DuckDB
    file under tmp where ``dbt build`` ran, schemas staging / intermediate / marts), ``key`` (the
    pseudonymisation key used), ``config`` (the lake config dbt read), ``build`` (the
    :class:`reelhouse.bi.dbt_runner.DbtResult`)."""

    def __init__(self, demo_lake, duckdb_path: Path, key: str, config, build):
        self.demo_lake, self.duckdb_path, self.key, self.config, self.build = demo_lake, duckdb_path, key, config, build


def overlay_lake(src_root: Path, dst_root: Path, tables) -> Path:
    """A lake at ``dst_root`` whose ``tables`` (``layer.table``) are symlinks to ``src_root``'s where
    those exist, so dbt (and ``ensure_sources``, which creates the missing ones in ``dst_root``) never
    write into a shared fixture lake."""
    for name in tables:
        layer, table = name.split(".", 1)
        src = Path(src_root) / layer / table
        if src.exists():
            (dst_root / layer).mkdir(parents=True, exist_ok=True)
            (dst_root / layer / table).symlink_to(src, target_is_directory=True)
    dst_root.mkdir(parents=True, exist_ok=True)
    return dst_root


@pytest.fixture(scope="session")
def demo_marts(demo_lake, tmp_path_factory) -> DemoMarts:
    """``dbt build`` of dbt/ over the demo lake into ``<tmp>/bi/reelhouse.duckdb`` (key
    :data:`DEMO_MARTS_KEY`). The demo lake is read through symlinks, never written."""
    import dataclasses

    from reelhouse.bi.dbt_runner import ensure_sources, run_dbt, source_tables
    from reelhouse.lake import Lake

    root = tmp_path_factory.mktemp("demo_marts")
    lake_root = overlay_lake(demo_lake.lake_root, root / "lake", source_tables())
    cfg = dataclasses.replace(demo_lake.config, paths=dataclasses.replace(demo_lake.config.paths, lake=str(lake_root)))
    ensure_sources(Lake(str(lake_root)))
    db = root / "bi" / "reelhouse.duckdb"
    build = run_dbt(cfg, ["build"], db, key=DEMO_MARTS_KEY)
    assert build.success, build.output[-5000:]
    return DemoMarts(demo_lake, db, DEMO_MARTS_KEY, cfg, build)
