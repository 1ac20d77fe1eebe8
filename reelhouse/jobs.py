"""Scaffolding shared by every pipeline step (``spark_jobs/<step>.py``), written once.

* :class:`StepReport` — the base of every step report (a dataclass; :meth:`StepReport.to_dict`
  is what ``spark-submit`` prints as JSON and the CLI formats with :func:`format_report`);
* :func:`default_run_version` — the application-transaction version of a run (default: now, in
  epoch milliseconds);
* :func:`app_id` / :func:`app_transaction` — the application id of a step's commit of one table
  for one date, ``reelhouse.<step>.<table>.<date>`` (``reelhouse.<step>.<date>`` for a step that
  names no table); the order check (:meth:`reelhouse.pipeline.Step.done_app_id`) builds them here too;
* :func:`step_main` — the ``spark-submit`` entry point of every step (``--date``,
  ``--run-version``, lock, order check, JSON report on stdout, summary line on stderr);
* :func:`format_report` — one line for a step report.

Nothing heavy is imported at module level: the Airflow DAGs import :mod:`reelhouse.pipeline`,
which imports this module, while the scheduler parses them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Callable, Sequence


@dataclass
class StepReport:
    """Base of every step report: subclasses are dataclasses adding the step's fields (counts,
    dates as ISO strings, ``seconds`` of wall time, ``message``); ``balanced: False`` in a report
    makes :func:`step_main` exit 1."""

    def to_dict(self) -> dict[str, Any]:
        """The report as a plain dict (field order = declaration order), JSON-serialisable with
        ``default=str``."""
        return asdict(self)


def default_run_version(run_version: int | None = None) -> int:
    """``run_version`` as an int, or now in epoch milliseconds (UTC) when it is None: the
    application-transaction version of a run (a retry that reuses it is a no-op)."""
    return int(run_version if run_version is not None else time.time() * 1000)


def app_id(step: str, day: date, table: str | None = None) -> str:
    """Application id of ``step``'s commit of ``table`` for ``day``:
    ``reelhouse.<step>.<table>.<YYYY-MM-DD>``, or ``reelhouse.<step>.<YYYY-MM-DD>`` without a table
    (e.g. ``reelhouse.ingest.silver.events.2024-06-01``, ``reelhouse.training_examples.2024-06-01``).
    """
    return f"reelhouse.{step}.{table}.{day.isoformat()}" if table else f"reelhouse.{step}.{day.isoformat()}"


def app_transaction(step: str, day: date, run_version: int, table: str | None = None) -> dict[str, Any]:
    """``{"app_id": app_id(step, day, table), "app_version": run_version}``: the keyword arguments
    of an idempotent :class:`reelhouse.lake.Lake` write, merge or staged commit."""
    return {"app_id": app_id(step, day, table), "app_version": run_version}


def format_report(report: Any) -> str:
    """One summary for a step report: a report with its own ``summary()`` (the gate's verdict, the
    publish) gives that; ingest reports get the reconciliation figures; others ``key=value`` pairs."""
    if hasattr(report, "summary"):
        return report.summary()
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
    from reelhouse.lake.locks import RunLockError, lake_lock
    from reelhouse.pipeline import OutOfOrderError, check_order

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
