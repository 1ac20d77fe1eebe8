"""The nightly pipeline as data: its steps, in order, and how to run them for a date or a range.

Each step is one Spark application in ``spark_jobs/`` with a ``run(spark, lake, config, date, *,
run_version)`` function (used in-process by the CLI) and a ``main()`` (used by ``spark-submit``
from Airflow). Both paths run the same code; the Airflow DAG ``reelhouse_nightly`` is generated
from :data:`STEPS`, so a step added here appears in the DAG.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from reelhouse.jobs import format_report

SPARK_JOBS_DIR = Path(__file__).resolve().parent.parent / "spark_jobs"


@dataclass(frozen=True)
class Step:
    """One pipeline step: ``name``; ``module`` (``spark_jobs.<x>``, with ``run`` and ``main``);
    ``upstream`` step names; ``outputs`` (catalog tables it writes, the DAG's Asset outlets);
    ``description`` for the DAG docs."""

    name: str
    module: str
    upstream: tuple[str, ...]
    outputs: tuple[str, ...]
    description: str

    @property
    def application(self) -> str:
        """Path of the Spark application file (for ``spark-submit``)."""
        return str(SPARK_JOBS_DIR / f"{self.module.rsplit('.', 1)[-1]}.py")

    def runner(self) -> Callable[..., Any]:
        return importlib.import_module(self.module).run


STEPS: dict[str, Step] = {
    "ingest": Step(
        name="ingest",
        module="spark_jobs.ingest",
        upstream=(),
        outputs=(
            "quarantine.events",
            "bronze.events",
            "silver.events",
            "silver.videos",
            "silver.video_hashtags",
            "ops.ingest_reconciliation",
        ),
        description="landing JSON Lines → bronze, quarantine, silver events/videos/hashtags, reconciliation",
    ),
    "daily_stats": Step(
        name="daily_stats",
        module="spark_jobs.gold_daily_stats",
        upstream=("ingest",),
        outputs=("gold.video_daily_stats", "gold.hashtag_daily_stats"),
        description="silver → per date/region/video and hashtag stats, for every event date the landing date touched",
    ),
    "trends": Step(
        name="trends",
        module="spark_jobs.gold_trends",
        upstream=("daily_stats",),
        outputs=(
            "gold.video_trend_scores",
            "gold.hashtag_trend_scores",
            "gold.trending_videos",
            "gold.trending_hashtags",
            "gold.hashtag_rankings",
        ),
        description="daily stats → trend scores (vs a 7-day baseline, decayed), trending videos/hashtags, rankings",
    ),
    "features": Step(
        name="features",
        module="spark_jobs.gold_features",
        upstream=("trends",),
        outputs=(
            "gold.user_daily_activity",
            "gold.user_interests",
            "gold.user_features",
            "gold.video_features",
            "gold.creator_features",
            "gold.hashtag_features",
        ),
        description="silver + gold stats → point-in-time user, video, creator and hashtag features (feature_time = ds + 1 day)",
    ),
    "training_examples": Step(
        name="training_examples",
        module="spark_jobs.gold_training_examples",
        upstream=("features",),
        outputs=("gold.training_examples", "ml.dataset_manifests"),
        description="impressions of ds → labels + features as of the impression time (point-in-time), manifest",
    ),
}


def asset_uri(table: str, lake_root: str) -> str:
    """The Airflow Asset URI of a catalog table: its location (``file://`` for a local lake root,
    the root's own scheme otherwise), e.g. ``file:///data/lake/silver/events``."""
    layer, name = table.split(".", 1)
    root = lake_root.rstrip("/")
    if "://" not in root:
        root = "file://" + (root if root.startswith("/") else "/" + root)
    return f"{root}/{layer}/{name}"


def resolve_steps(names: Sequence[str] | None) -> list[Step]:
    """Steps to run, in pipeline order. ``None`` = all. Raises ``ValueError`` for unknown names."""
    if not names:
        return list(STEPS.values())
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ValueError(f"unknown step(s) {unknown}; steps are {list(STEPS)}")
    return [s for s in STEPS.values() if s.name in names]


def date_range(start: date, end: date) -> Iterator[date]:
    """Every date from ``start`` to ``end`` inclusive. Raises ``ValueError`` when end < start."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def run_date(
    run_for: date,
    *,
    steps: Sequence[str] | None = None,
    run_version: int | None = None,
    log: Callable[[str], None] = print,
    spark: Any = None,
    config: Any = None,
) -> dict[str, Any]:
    """Run the named steps (default all) for one date in this process; returns step → report
    (empty when the date is skipped).

    Holds the lake's run lock for the whole date (:func:`reelhouse.lake.locks.lake_lock`: another run
    writing the lake makes this one wait, up to ``lake.lock_timeout_seconds``) and checks that
    each step already processed the previous landing date (:func:`reelhouse.lake.locks.check_order`).
    A run that starts with ``ingest`` on a date without landing files is a *skip*: nothing is
    written (a quiet day, or the run Airflow creates when a DAG is unpaused).

    Raises:
        reelhouse.lake.locks.RunLockError: the lock stayed taken past the timeout.
        reelhouse.lake.locks.OutOfOrderError: a step's previous landing date is not processed yet.
    """
    from reelhouse.config import get_config
    from reelhouse.lake import Lake
    from reelhouse.sources.landing import has_landing_files
    from reelhouse.lake.locks import check_order, lake_lock
    from reelhouse.spark import get_spark

    cfg = config or get_config()
    chosen = resolve_steps(steps)
    if chosen and chosen[0].name == "ingest" and not has_landing_files(cfg.paths.landing, run_for):
        log(f"[{run_for}] skipped: no landing files under {cfg.paths.landing} for this date — nothing to do")
        return {}
    spark = spark or get_spark(cfg)
    lake = Lake.from_config(cfg, spark)
    version = int(run_version if run_version is not None else time.time() * 1000)
    out: dict[str, Any] = {}
    with lake_lock(cfg.paths.lake, f"reelhouse run {run_for}", timeout_seconds=cfg.lake_lock_timeout_seconds, log=log):
        for step in chosen:
            check_order(lake, cfg.paths.landing, step.name, run_for, start_date=cfg.lake_start_date)
            log(f"[{step.name} {run_for}] running …")
            report = step.runner()(spark, lake, cfg, run_for, run_version=version)
            out[step.name] = report
            log(f"[{step.name} {run_for}] {format_report(report)}")
    return out
