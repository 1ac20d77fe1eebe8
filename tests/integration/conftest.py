"""Integration fixtures: the real KuaiRand log imported and run through every nightly step once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class KuaiRandLake:
    """The KuaiRand lake: ``summary`` (the import's :class:`ImportSummary`), ``reports`` (one
    ``run_date`` result per date, in date order), ``config`` (points at ``root``), ``env`` (what a
    subprocess needs to see the same lake)."""

    root: Path
    config: object
    summary: object
    reports: list
    env: dict

    @property
    def lake_root(self) -> Path:
        return Path(self.config.paths.lake)


@pytest.fixture(scope="session")
def kuairand_lake(kuairand_log, spark, tmp_path_factory) -> KuaiRandLake:
    """Import → every step for each of the log's 15 dates (gated like the CLI does). Built once;
    tests must not write to it."""
    from reelhouse.config import load_config
    from reelhouse.sources.importers.kuairand import import_kuairand
    from reelhouse.lake import Lake
    from reelhouse.pipeline import SPARK_STEPS, run_date
    from reelhouse.quality.gate import run_gate

    root = tmp_path_factory.mktemp("kuairand")
    env = {"REELHOUSE_ENV": "test", "REELHOUSE__PATHS__LANDING": str(root / "landing"),
           "REELHOUSE__PATHS__LAKE": str(root / "lake")}
    with pytest.MonkeyPatch.context() as mp:  # the session's environment is left as it was
        for k, v in env.items():
            mp.setenv(k, v)
        cfg = load_config("test")
        summary = import_kuairand(kuairand_log, cfg.paths.landing)
        lake = Lake.from_config(cfg, spark)
        reports = []
        for d in summary.dates:
            reports.append(run_date(d, steps=SPARK_STEPS, spark=spark, config=cfg, log=lambda m: None))
            run_gate(lake, cfg, d, data_docs=False, record=True)
    return KuaiRandLake(root, cfg, summary, reports, env)
