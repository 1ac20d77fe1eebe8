"""The nightly pipeline as data: its steps, in order, and how to run them for a date or a range.

One list, :data:`STEPS`, wired by every entry point: the Airflow DAG ``reelhouse_nightly`` makes
one task per step, the CLI (``reelhouse run`` / ``backfill`` / ``demo``) runs them in this process
with :func:`run_date`. Two kinds of step:

* ``spark``: a Spark application in ``spark_jobs/`` with ``run(spark, lake, config, day, *,
  run_version)`` (in-process) and ``main()`` (``spark-submit``, one per Airflow task);
* ``python``: a function of this module run in the orchestrator's process (the Airflow worker):
  the quality gate (:func:`quality_gate`; its ``gate=True`` — a *block* verdict stops what
  follows, :class:`GateBlockedError`) and the online-store publish (:func:`publish_online_features`).

**The meaning of ``--date``** (every step, the CLI, ``spark-submit`` and Airflow's ``{{ ds }}``):
the *landing date* D — the UTC day whose landing folder ``events/date=D/`` the run processes, which
is the Airflow run's data interval start. Each step writes what that landing date determines:
ingest the events in D's files (whatever their event_time), daily_stats the event dates those
events touch, trends and features the day D (features stamped ``feature_time`` = D + 1 day
00:00 UTC), training_examples the impressions of D, the gate the partitions the run wrote for D,
the publish D's feature rows; ``reelhouse model retrain --date D`` validates on D's examples.

Dates run in order, one writer per lake: :func:`run_date` holds the lake's run lock
(:func:`reelhouse.lake.locks.lake_lock`) for the whole date, and :func:`check_order` refuses a
step whose previous landing date it has not processed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from reelhouse.config import Config
    from reelhouse.lake import Lake
    from reelhouse.quality.gate import GateVerdict
    from reelhouse.serving.online_store import PublishReport

from reelhouse.jobs import default_run_version, format_report

SPARK_JOBS_DIR = Path(__file__).resolve().parent.parent / "spark_jobs"

StepKind = Literal["spark", "python"]


class OutOfOrderError(RuntimeError):
    """A step was asked to process a date before the previous landing date was processed by it."""


class GateBlockedError(RuntimeError):
    """The quality gate blocked the date (``verdict``: the :class:`~reelhouse.quality.gate.GateVerdict`);
    nothing after the gate may run for it."""

    def __init__(self, verdict: "GateVerdict"):
        self.verdict = verdict
        blocking = "; ".join(f"{r.table}: {r.expectation}" for r in verdict.failures if r.severity == "block")
        super().__init__(f"quality gate blocked {verdict.date.isoformat()}: {blocking}")


@dataclass(frozen=True)
class Step:
    """One pipeline step.

    ``name`` (the Airflow task id); ``kind`` (``spark``: ``entry`` is a ``spark_jobs.<x>`` module
    with ``run`` and ``main``; ``python``: ``entry`` is ``module:function`` run in-process with
    the same ``(spark, lake, config, day, *, run_version, log)`` signature); ``upstream`` step
    names; ``outputs`` (catalog tables it writes: the DAG's Asset outlets); ``description`` (DAG
    docs); ``done`` (the table whose commit for a date marks the step done for it — the order check
    looks for the application transaction :meth:`done_app_id` in its log; None: the step does not
    depend on earlier dates; ``done_app_table``: whether that id names the table, see
    :func:`reelhouse.jobs.app_id`);
    ``gate`` (its report has a ``status``; ``block`` stops every later step of the date).
    """

    name: str
    kind: StepKind
    entry: str
    upstream: tuple[str, ...]
    outputs: tuple[str, ...]
    description: str
    done: str | None = None
    done_app_table: bool = True
    gate: bool = False

    def done_app_id(self, day: date) -> str | None:
        """The application id of the commit that marks this step done for ``day`` (None without ``done``)."""
        from reelhouse.jobs import app_id

        if self.done is None:
            return None
        return app_id(self.name, day, self.done if self.done_app_table else None)

    @property
    def application(self) -> str:
        """Path of the Spark application file (for ``spark-submit``). Raises ``ValueError`` for a python step."""
        if self.kind != "spark":
            raise ValueError(f"step {self.name} runs in-process, it has no Spark application")
        return str(SPARK_JOBS_DIR / f"{self.entry.rsplit('.', 1)[-1]}.py")

    def runner(self) -> Callable[..., Any]:
        """The step's in-process entry point."""
        module, _, function = self.entry.partition(":")
        return getattr(importlib.import_module(module), function or "run")


STEPS: dict[str, Step] = {s.name: s for s in (
    Step(
        name="ingest",
        kind="spark",
        entry="spark_jobs.ingest",
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
        done="silver.events",
    ),
    Step(
        name="daily_stats",
        kind="spark",
        entry="spark_jobs.gold_daily_stats",
        upstream=("ingest",),
        outputs=("gold.video_daily_stats", "gold.hashtag_daily_stats"),
        description="silver → per date/region/video and hashtag stats, for every event date the landing date touched",
        done="gold.video_daily_stats",
    ),
    Step(
        name="trends",
        kind="spark",
        entry="spark_jobs.gold_trends",
        upstream=("daily_stats",),
        outputs=(
            "gold.video_trend_scores",
            "gold.hashtag_trend_scores",
            "gold.trending_videos",
            "gold.trending_hashtags",
            "gold.hashtag_rankings",
        ),
        description="daily stats → trend scores (vs a 7-day baseline, decayed), trending videos/hashtags, rankings",
        done="gold.video_trend_scores",
    ),
    Step(
        name="features",
        kind="spark",
        entry="spark_jobs.gold_features",
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
        done="gold.user_features",
    ),
    Step(
        name="training_examples",
        kind="spark",
        entry="spark_jobs.gold_training_examples",
        upstream=("features",),
        outputs=("gold.training_examples", "ml.dataset_manifests"),
        description="impressions of ds → labels + features as of the impression time (point-in-time), manifest",
        done="gold.training_examples", done_app_table=False,
    ),
    Step(
        name="quality_gate",
        kind="python",
        entry="reelhouse.pipeline:quality_gate",
        upstream=("training_examples",),
        outputs=("ops.quality_results",),
        description="Great Expectations suites + KPI checks over this date's partitions; a block verdict stops the date",
        gate=True,
    ),
    Step(
        name="publish_online_features",
        kind="python",
        entry="reelhouse.pipeline:publish_online_features",
        upstream=("quality_gate",),
        outputs=("ops.online_publishes",),
        description="the date's gold feature rows → the online feature store (Feast; SQLite or Redis per conf). "
                    "Newer feature_time wins; entities past their TTL are removed; recorded in ops.online_publishes",
    ),
)}

#: the Spark steps, in order: what builds the lake's tables for a date (no gate, no publish)
SPARK_STEPS: tuple[str, ...] = tuple(n for n, s in STEPS.items() if s.kind == "spark")


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


# ----------------------------------------------------------------------------- order of dates
def step_done(lake: "Lake", step: str, day: date) -> bool:
    """True when ``step`` has committed its output for ``day``: the application transaction named
    by the step's ``done`` marker is in the table's Delta log. A step without a marker: False."""
    s = STEPS[step]
    if s.done is None or not lake.exists(s.done):
        return False
    return lake.transaction_version(s.done, s.done_app_id(day)) is not None


def check_order(lake: "Lake", landing_root: str, step: str, day: date, *, start_date: date | None = None) -> None:
    """Raise unless ``step`` may process ``day`` now: the latest earlier landing date that has
    files (quiet days have none) must already be processed by ``step`` — unless it lies before
    ``start_date`` (``lake.start_date``: a lake that takes in landing data from that date on). By
    induction every earlier date then is. A new lake must start at its first landing date too: a
    later date ingested first would keep the copies of events redelivered across the two dates
    that the earlier date owns. Steps without a ``done`` marker (gate, publish) pass.

    Raises:
        OutOfOrderError: naming the date still to process and the command that does it.
    """
    from reelhouse.sources.landing import previous_landing_date

    if step not in STEPS or STEPS[step].done is None:
        return
    prev = previous_landing_date(landing_root, day)
    if prev is None or (start_date is not None and prev < start_date):
        return
    if not step_done(lake, step, prev):
        raise OutOfOrderError(
            f"{step} {day.isoformat()}: the previous landing date {prev.isoformat()} has not been through "
            f"{step} in this lake yet — dates run in order (a date's ingest keeps only events earlier "
            f"dates did not; gold reads earlier days). Run it first: reelhouse backfill --start "
            f"{prev.isoformat()} --end {day.isoformat()} (in Airflow: the run for {prev.isoformat()}; this "
            "task's retry then succeeds). A lake that starts later: set lake.start_date")


# ----------------------------------------------------------------------------- in-process steps
def quality_gate(spark: Any, lake: "Lake", config: "Config", day: date, *, run_version: int | None = None,
                 log: Callable[[str], None] | None = None) -> "GateVerdict":
    """Step ``quality_gate``: every suite and KPI check over ``day``'s partitions
    (:func:`reelhouse.quality.gate.run_gate`), recorded in ``ops.quality_results`` with Data Docs.
    Returns the verdict; a *block* stops the date (:func:`run_date`, :func:`run_task`)."""
    from reelhouse.quality.gate import run_gate

    return run_gate(lake, config, day)


def publish_online_features(spark: Any, lake: "Lake", config: "Config", day: date, *,
                            run_version: int | None = None,
                            log: Callable[[str], None] | None = None) -> "PublishReport":
    """Step ``publish_online_features``: ``day``'s gold feature rows → the online store
    (:func:`reelhouse.serving.online_store.publish`; refuses a date without a pass/warn verdict)."""
    from reelhouse.serving.online_store import publish

    return publish(lake, config, day, log=log)


def _blocked(step: Step, report: Any) -> bool:
    return step.gate and getattr(report, "status", None) == "block"


def run_task(name: str, ds: str, *, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the ``python`` step ``name`` for the date ``ds`` (YYYY-MM-DD) in this process: the body of
    its Airflow task. Logs the step's summary; returns a small JSON-able dict (the task's XCom).

    Raises:
        GateBlockedError: a gate step's verdict is *block* (the DAG fails the task without retry).
        ValueError: ``name`` is not a python step.
    """
    from reelhouse.config import get_config
    from reelhouse.lake import Lake

    step = STEPS[name]
    if step.kind != "python":
        raise ValueError(f"step {name} is a Spark application: spark-submit {step.application}")
    cfg = get_config()
    report = step.runner()(None, Lake.from_config(cfg), cfg, date.fromisoformat(ds), log=log)
    log(format_report(report))
    if _blocked(step, report):
        raise GateBlockedError(report)
    if hasattr(report, "status"):
        return {"status": report.status, "warnings": [f"{r.table}: {r.expectation}" for r in report.failures]}
    return {k: v for k, v in report.to_dict().items() if isinstance(v, (str, int, float, bool))}


# ----------------------------------------------------------------------------- a date in-process
def run_date(
    run_for: date,
    *,
    steps: Sequence[str] | None = None,
    run_version: int | None = None,
    log: Callable[[str], None] = print,
    spark: Any = None,
    config: Any = None,
) -> dict[str, Any]:
    """Run the named steps (default all: the whole nightly, gate and publish included) for one
    date in this process; returns step → report (empty when the date is skipped).

    Holds the lake's run lock for the whole date (:func:`reelhouse.lake.locks.lake_lock`: another
    run writing the lake makes this one wait, up to ``lake.lock_timeout_seconds``) and checks that
    each step already processed the previous landing date (:func:`check_order`). A run that
    starts with ``ingest`` on a date without landing files is a *skip*: nothing is written (a
    quiet day, or the run Airflow creates when a DAG is unpaused). A gate step's *block* verdict
    ends the date there: its report is returned, later steps are not run.

    Raises:
        reelhouse.lake.locks.RunLockError: the lock stayed taken past the timeout.
        OutOfOrderError: a step's previous landing date is not processed yet.
    """
    from reelhouse.config import get_config
    from reelhouse.lake import Lake
    from reelhouse.lake.locks import lake_lock
    from reelhouse.sources.landing import has_landing_files
    from reelhouse.spark import get_spark

    cfg = config or get_config()
    chosen = resolve_steps(steps)
    if chosen and chosen[0].name == "ingest" and not has_landing_files(cfg.paths.landing, run_for):
        log(f"[{run_for}] skipped: no landing files under {cfg.paths.landing} for this date — nothing to do")
        return {}
    if any(s.kind == "spark" for s in chosen):
        spark = spark or get_spark(cfg)
    lake = Lake.from_config(cfg, spark)
    version = default_run_version(run_version)
    out: dict[str, Any] = {}
    with lake_lock(cfg.paths.lake, f"reelhouse run {run_for}", timeout_seconds=cfg.lake_lock_timeout_seconds, log=log):
        for n, step in enumerate(chosen):
            check_order(lake, cfg.paths.landing, step.name, run_for, start_date=cfg.lake_start_date)
            log(f"[{step.name} {run_for}] running …")
            report = step.runner()(spark, lake, cfg, run_for, run_version=version)
            out[step.name] = report
            log(f"[{step.name} {run_for}] {format_report(report)}")
            if _blocked(step, report):
                rest = [s.name for s in chosen[n + 1:]]
                if rest:
                    log(f"[{run_for}] stopped by the quality gate: {', '.join(rest)} not run")
                break
    return out
