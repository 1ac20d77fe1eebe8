"""Ingest: one landing date → bronze.events, quarantine.events, silver.events, silver.videos,
silver.video_hashtags and ops.ingest_reconciliation.

The transforms live in :mod:`reelhouse.ingest` (classify, stage, transforms); :func:`run` reads
the landing files, stages and commits every table through :class:`reelhouse.lake.Lake`;
:func:`main` is the ``spark-submit`` entry point (``spark-submit spark_jobs/ingest.py --date
2024-01-01``).

Idempotency: every table is written per ``landing_date`` with an atomic partition overwrite, so
re-running a date replaces exactly what that date contributed (across every ``event_date`` its
late events touched) and leaves the same content. Deduplication by ``event_id`` is within the
run and against silver rows that *other* landing dates contributed to the same event dates.
Dimension tables are merge-upserted (earliest publish wins). Each commit carries the application
transaction ``(reelhouse.ingest.<table>.<date>, run_version)``: a retried task is a no-op for the
tables it already committed.

Reconciliation, per landing file: ``lines_read = rows_kept + duplicates_dropped +
rows_quarantined``; a file that cannot be decompressed is one ``corrupt_file`` quarantine row.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Iterator

from reelhouse.ingest.stage import (
    StageManifest,
    no_split_reads,
    read_staged_events,
    stage_corrupt_files,
    stage_landing,
)
from reelhouse.ingest.transforms import (
    EARLIEST_PUBLISH_WINS,
    VIDEO_HASHTAG_KEY,
    VIDEO_KEY,
    deduplicate,
    reconcile,
    reconciliation_totals,
    video_hashtags_table,
    videos_table,
)
from reelhouse.jobs import StepReport, app_transaction, default_run_version
from reelhouse.pipeline import STEPS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from reelhouse.config import Config
    from reelhouse.lake import CommitResult, Lake

STEP = "ingest"
INGEST_TABLES = STEPS[STEP].outputs


@dataclass
class IngestReport(StepReport):
    """What one ingest run did. Counts are lines/rows; ``seconds`` is wall time."""

    landing_date: str
    files: int = 0
    corrupt_files: int = 0
    lines_read: int = 0
    rows_kept: int = 0
    duplicates_dropped: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    event_dates: list[str] = field(default_factory=list)
    balanced: bool = True
    videos_upserted: int = 0
    table_versions: dict[str, int | None] = field(default_factory=dict)
    skipped_tables: list[str] = field(default_factory=list)
    phase_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    message: str = ""


def run(
    spark: "SparkSession",
    lake: "Lake",
    config: "Config",
    landing_date: date,
    *,
    run_version: int | None = None,
) -> IngestReport:
    """Ingest one landing date end to end and return the report.

    ``run_version``: the application-transaction version of this run (default: now in epoch ms).
    Reusing the version of a run that already committed makes those commits no-ops (a retry);
    a larger version re-ingests. A date without landing files is a successful no-op.

    Flow: one Spark job reads the landing lines and runs
    :func:`reelhouse.ingest.stage.classify_and_stage` in the Python workers, which write bronze,
    quarantine and typed-event Parquet files to staging folders; the driver commits the bronze and
    quarantine files as they are, reads the staged events back with Spark to deduplicate them into
    silver, derives the dimension upserts, and reconciles.
    """
    import pyarrow.compute as pc
    from pyspark.sql import functions as F

    from reelhouse.lake.catalog import get_table, spark_schema
    from reelhouse.sources.landing import list_landing_files

    t0 = time.time()
    run_version = default_run_version(run_version)
    ingested_at = datetime.now(timezone.utc)
    report = IngestReport(landing_date=landing_date.isoformat())
    files = list_landing_files(config.paths.landing, landing_date)
    if not files:
        report.message = f"no landing files for {landing_date} under {config.paths.landing}: nothing to do"
        report.seconds = round(time.time() - t0, 3)
        return report
    report.files = len(files)
    report.corrupt_files = sum(not f.readable for f in files)

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        t_phase = time.time()
        yield
        report.phase_seconds[name] = round(time.time() - t_phase, 3)

    def app(table: str) -> dict:
        return app_transaction(STEP, landing_date, run_version, table)

    def record(table: str, res: "CommitResult", t_commit: float) -> None:
        report.table_versions[table] = res.version
        report.phase_seconds[table] = round(time.time() - t_commit, 3)
        if res.skipped:
            report.skipped_tables.append(table)

    meta = {"landing_date": landing_date.isoformat(), "step": STEP}
    by_landing = {"landing_date": [landing_date]}
    staged = {t: lake.staging_area(t) for t in ("bronze.events", "quarantine.events")}
    events_stage = lake.staging_area("silver.events")  # input of the dedupe, never committed
    try:
        with no_split_reads(spark, files):
            manifest = StageManifest()
            if any(f.readable for f in files):
                with phase("parse + classify + stage"):
                    manifest = stage_landing(
                        spark, files, landing_date=landing_date,
                        future_tolerance_seconds=config.ingest.future_tolerance_seconds, ingested_at=ingested_at,
                        staging={"bronze.events": staged["bronze.events"].path,
                                 "quarantine.events": staged["quarantine.events"].path, "events": events_stage.path},
                    )
            staged_files = manifest.staged_files
            staged_files["quarantine.events"] += stage_corrupt_files(
                staged["quarantine.events"].path, files, landing_date=landing_date, ingested_at=ingested_at)

            for table in ("quarantine.events", "bronze.events"):
                t_commit = time.time()
                res = lake.commit_staged(staged.pop(table), mode="overwrite_partitions", files=staged_files[table],
                                         partitions=by_landing, metadata=meta, **app(table))
                record(table, res, t_commit)

            touched = manifest.event_dates
            report.event_dates = [d.isoformat() for d in touched]
            t_commit = time.time()
            if touched and staged_files["events"]:
                events = read_staged_events(spark, events_stage.path, staged_files["events"])
                prior = lake.read("silver.events", where={"event_date": touched}).where(
                    F.col("landing_date") != F.lit(landing_date)
                ).select("event_id")
                kept = deduplicate(events, prior).drop("_line_number")
            else:
                kept = spark.createDataFrame([], spark_schema(get_table("silver.events")))
            res = lake.write(kept, "silver.events", mode="overwrite_partitions", partitions=by_landing, metadata=meta,
                             **app("silver.events"))
            record("silver.events", res, t_commit)
            lake.discard(events_stage)

            silver_today = lake.read("silver.events", where=by_landing)
            with phase("publish events read back"):
                videos = videos_table(silver_today)
            n_videos = videos.num_rows
            if n_videos:
                t_commit = time.time()
                res = lake.merge(videos, "silver.videos", on=list(VIDEO_KEY), update_when=EARLIEST_PUBLISH_WINS,
                                 **app("silver.videos"))
                record("silver.videos", res, t_commit)
                current = lake.read_arrow("silver.videos", filter=pc.field("video_id").isin(videos["video_id"]))
                t_commit = time.time()
                res = lake.merge(video_hashtags_table(current), "silver.video_hashtags", on=list(VIDEO_HASHTAG_KEY),
                                 **app("silver.video_hashtags"))
                record("silver.video_hashtags", res, t_commit)
            else:
                # a source without publish events (a log of views only, a catalogue older than the
                # lake) still has the video dimensions, empty: readers and the gate find the tables
                lake.ensure("silver.videos")
                lake.ensure("silver.video_hashtags")
            report.videos_upserted = n_videos

            quarantined = lake.read("quarantine.events", where=by_landing).select("_source_file", "reason")
            recon = reconcile(manifest.file_stats_frame(spark), silver_today.select("_source_file"), quarantined,
                              landing_date=landing_date, ingested_at=ingested_at)
            t_commit = time.time()
            res = lake.write(recon, "ops.ingest_reconciliation", mode="overwrite_partitions", partitions=by_landing,
                             metadata=meta, **app("ops.ingest_reconciliation"))
            record("ops.ingest_reconciliation", res, t_commit)

            totals = reconciliation_totals(lake.read("ops.ingest_reconciliation", where=by_landing))
            report.lines_read, report.rows_kept = totals["lines_read"], totals["rows_kept"]
            report.duplicates_dropped, report.rows_quarantined = totals["duplicates_dropped"], totals["rows_quarantined"]
            report.balanced = totals["balanced"]
            report.quarantined_by_reason = {r["reason"]: r["count"] for r in quarantined.groupBy("reason").count().collect()}
            if report.balanced:
                report.message = "ok"
            else:
                report.message = "reconciliation mismatch: see ops.ingest_reconciliation where balanced = false"
    finally:
        for s in staged.values():
            lake.discard(s)
        lake.discard(events_stage)
    report.seconds = round(time.time() - t0, 3)
    return report


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_jobs/ingest.py --date YYYY-MM-DD [--run-version N]``: ingest one landing date; prints the report
    as JSON (see :func:`reelhouse.jobs.step_main`)."""
    from reelhouse.jobs import step_main

    return step_main(run, STEP, argv)


if __name__ == "__main__":
    sys.exit(main())
