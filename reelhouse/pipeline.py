"""The nightly pipeline as data: its steps, in order, and how to run them for a date or a range.

Each step is one Spark application in ``spark_jobs/`` with a ``run(spark, lake, config, date, *,
run_version)`` function (used in-process by the CLI) and a ``main()`` (used by ``spark-submit``
from Airflow). Both paths run the same code; the Airflow DAG ``reelhouse_nightly`` is generated
from :data:`STEPS`, so a step added here appears in the DAG.
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

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
    from reelhouse.lake.catalog import table_path

    root = lake_root.rstrip("/")
    if "://" not in root:
        root = "file://" + (root if root.startswith("/") else "/" + root)
    return table_path(root, table)


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


def format_report(report: Any) -> str:
    """One line for a step report (ingest reports get the reconciliation figures)."""
    d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    if "lines_read" in d:
        if not d.get("files"):
            return d.get("message", "no input")
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(d["quarantined_by_reason"].items()))
        return (
            f"{d['files']} files ({d['corrupt_files']} corrupt), {d['lines_read']:,} lines → kept {d['rows_kept']:,}, "
            f"duplicates {d['duplicates_dropped']:,}, quarantined {d['rows_quarantined']:,}"
            f"{' (' + reasons + ')' if reasons else ''}; event dates {','.join(d['event_dates'])}; "
            f"{'balanced' if d['balanced'] else 'NOT BALANCED'}; {d['seconds']:.1f}s"
        )
    return ", ".join(f"{k}={v}" for k, v in d.items())


def step_main(run: Callable[..., Any], name: str, argv: Sequence[str] | None = None) -> int:
    """The ``spark-submit`` entry point shared by every step: ``--date YYYY-MM-DD [--run-version
    N]``; builds the SparkSession and lake from configuration, runs ``run`` and prints its report
    as JSON. Exit code 0, or 1 when the report says ``balanced: false``."""
    import argparse
    import json

    from reelhouse.config import ConfigError, check_writable, get_config
    from reelhouse.lake import Lake
    from reelhouse.spark import get_spark

    p = argparse.ArgumentParser(prog=name, description=f"reelhouse step {name}")
    p.add_argument("--date", required=True, type=date.fromisoformat, help="the run's date, YYYY-MM-DD")
    p.add_argument("--run-version", type=int, default=None, help="application transaction version (default: now, ms)")
    args = p.parse_args(argv)
    try:
        cfg = get_config()
        check_writable(cfg, "paths.lake")
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from reelhouse.lake.locks import OutOfOrderError, RunLockError, check_order, lake_lock

    spark = get_spark(cfg, app_name=f"reelhouse-{name}-{args.date}")
    lake = Lake.from_config(cfg, spark)
    try:
        with lake_lock(cfg.paths.lake, f"{name} {args.date}", timeout_seconds=cfg.lake_lock_timeout_seconds,
                       log=lambda m: print(m, file=sys.stderr, flush=True)):
            check_order(lake, cfg.paths.landing, name, args.date, start_date=cfg.lake_start_date)
            report = run(spark, lake, cfg, args.date, run_version=args.run_version)
    except (OutOfOrderError, RunLockError) as exc:
        print(f"{name} {args.date}: not run — {exc}", file=sys.stderr, flush=True)
        return 75  # EX_TEMPFAIL: a retry can succeed
    d = report.to_dict()
    print(json.dumps(d, indent=2, default=str, ensure_ascii=False))
    # the task log's last line: the step's one-line summary (stderr: stdout stays one JSON document;
    # spark-submit's caller — Airflow's SparkSubmitHook — logs both streams in order)
    print(f"[{name} {args.date}] {format_report(report)}", file=sys.stderr, flush=True)
    return 1 if d.get("balanced") is False else 0
