"""reelhouse.jobs: the report base, the run version, the application ids every step commits with
(the same strings the order check looks for), and the one-line report format."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import time

import pytest

from reelhouse.jobs import StepReport, app_id, app_transaction, default_run_version, format_report
from reelhouse.pipeline import SPARK_STEPS, STEPS

D = dt.date(2024, 6, 1)


def test_app_ids_name_step_table_and_date():
    assert app_id("ingest", D, "silver.events") == "reelhouse.ingest.silver.events.2024-06-01"
    assert app_id("training_examples", D) == "reelhouse.training_examples.2024-06-01"
    assert app_transaction("trends", D, 7, "gold.trending_videos") == {
        "app_id": "reelhouse.trends.gold.trending_videos.2024-06-01", "app_version": 7}


DONE_IDS = {  # the application ids each Spark step commits its marker table with (unchanged strings)
    "ingest": "reelhouse.ingest.silver.events.2024-06-01",
    "daily_stats": "reelhouse.daily_stats.gold.video_daily_stats.2024-06-01",
    "trends": "reelhouse.trends.gold.video_trend_scores.2024-06-01",
    "features": "reelhouse.features.gold.user_features.2024-06-01",
    "training_examples": "reelhouse.training_examples.2024-06-01",
}


@pytest.mark.parametrize("step", sorted(DONE_IDS))
def test_done_markers_are_the_ids_the_steps_commit_with(step):
    assert STEPS[step].done in STEPS[step].outputs
    assert STEPS[step].done_app_id(D) == DONE_IDS[step]


def test_default_run_version_is_now_in_ms():
    before = int(time.time() * 1000)
    v = default_run_version()
    assert before <= v <= int(time.time() * 1000)
    assert default_run_version(5) == 5 and default_run_version(0) == 0


@pytest.mark.parametrize("step", sorted(SPARK_STEPS))
def test_every_spark_step_reports_through_the_base(step):
    module = importlib.import_module(STEPS[step].entry)
    reports = [v for v in vars(module).values()
               if isinstance(v, type) and dataclasses.is_dataclass(v) and v.__module__ == module.__name__]
    assert reports and all(issubclass(r, StepReport) for r in reports)
    assert callable(module.run) and callable(module.main)


def test_format_report():
    @dataclasses.dataclass
    class R(StepReport):
        ds: str
        rows: int = 0

    assert R("2024-06-01", 3).to_dict() == {"ds": "2024-06-01", "rows": 3}
    assert format_report(R("2024-06-01", 3)) == "ds=2024-06-01, rows=3"
    ingest = {"files": 2, "corrupt_files": 1, "lines_read": 1200, "rows_kept": 1000, "duplicates_dropped": 150,
              "rows_quarantined": 50, "quarantined_by_reason": {"invalid_json": 49, "corrupt_file": 1},
              "event_dates": ["2024-05-31", "2024-06-01"], "balanced": True, "seconds": 2.04}
    assert format_report(ingest) == (
        "2 files (1 corrupt), 1,200 lines → kept 1,000, duplicates 150, quarantined 50 "
        "(corrupt_file 1, invalid_json 49); event dates 2024-05-31,2024-06-01; balanced; 2.0s")
    assert format_report({"lines_read": 0, "files": 0, "message": "nothing to do"}) == "nothing to do"
