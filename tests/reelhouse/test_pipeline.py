"""The nightly as one list of steps (reelhouse/pipeline.py): its shape, the date order, the gate
stopping a date, the in-process task body the DAG calls."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from reelhouse.pipeline import (
    SPARK_STEPS,
    STEPS,
    GateBlockedError,
    OutOfOrderError,
    check_order,
    date_range,
    format_report,
    resolve_steps,
    run_date,
    run_task,
)

START = dt.date(2024, 6, 1)


def test_steps_form_one_ordered_graph_over_catalog_tables():
    from reelhouse.lake.catalog import TABLES

    names = list(STEPS)
    for i, step in enumerate(STEPS.values()):
        assert all(names.index(up) < i for up in step.upstream), step.name  # listed after its upstream
        assert set(step.outputs) <= set(TABLES), step.name
        if step.kind == "spark":
            assert Path(step.application).is_file() and step.entry.startswith("spark_jobs.")
            assert step.done in step.outputs and step.done_app_id(START).endswith(".2024-06-01")
        else:
            assert step.done is None and step.done_app_id(START) is None
            with pytest.raises(ValueError, match="runs in-process"):
                step.application
        assert callable(step.runner())
    gates = [s.name for s in STEPS.values() if s.gate]
    assert gates == ["quality_gate"]
    # the Spark steps build the lake, the gate follows all of them, the publish follows the gate
    assert list(SPARK_STEPS) == names[: len(SPARK_STEPS)]
    assert STEPS["quality_gate"].upstream == (SPARK_STEPS[-1],)
    assert STEPS["publish_online_features"].upstream == ("quality_gate",)


def test_resolve_steps_and_date_range():
    assert [s.name for s in resolve_steps(None)] == list(STEPS)
    assert [s.name for s in resolve_steps(["trends", "ingest"])] == ["ingest", "trends"]  # pipeline order
    with pytest.raises(ValueError, match=r"unknown step\(s\) \['nope'\]"):
        resolve_steps(["ingest", "nope"])
    assert list(date_range(START, START + dt.timedelta(days=2)))[-1] == dt.date(2024, 6, 3)
    with pytest.raises(ValueError, match="before start"):
        list(date_range(START, START - dt.timedelta(days=1)))


# ----------------------------------------------------------------------------- gate and publish wiring
FAKE_STEPS = textwrap.dedent('''
    from dataclasses import dataclass, field

    CALLS = []

    @dataclass
    class Check:
        table: str
        expectation: str
        severity: str
        success: bool = False

    @dataclass
    class Verdict:
        date: object
        status: str
        failures: list = field(default_factory=list)

        def summary(self):
            return f"fake gate {self.date}: {self.status.upper()}"

    class Report:
        def to_dict(self):
            return {"rows": 3, "store": "sqlite", "views": [1, 2]}

    def gate(spark, lake, config, day, *, run_version=None, log=None):
        CALLS.append(("gate", day))
        status = "block" if day.day % 2 == 0 else "warn"
        return Verdict(day, status, [Check("silver.events", "rows between", "block" if status == "block" else "warn")])

    def publish(spark, lake, config, day, *, run_version=None, log=None):
        CALLS.append(("publish", day))
        return Report()
''')


@pytest.fixture
def fake_gate(tmp_path, monkeypatch, config):
    """The gate and publish steps pointed at a fake module: odd days warn, even days block."""
    import dataclasses
    import importlib
    import sys

    (tmp_path / "rh_fake_steps.py").write_text(FAKE_STEPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("rh_fake_steps", None)
    monkeypatch.setitem(STEPS, "quality_gate", dataclasses.replace(STEPS["quality_gate"], entry="rh_fake_steps:gate"))
    monkeypatch.setitem(STEPS, "publish_online_features",
                        dataclasses.replace(STEPS["publish_online_features"], entry="rh_fake_steps:publish"))
    monkeypatch.setattr("reelhouse.config.get_config", lambda *a, **k: config)
    return importlib.import_module("rh_fake_steps")


def test_a_block_verdict_stops_the_date_before_the_publish(fake_gate, config):
    steps = ["quality_gate", "publish_online_features"]
    logs: list[str] = []
    warn_day, block_day = dt.date(2024, 6, 1), dt.date(2024, 6, 2)
    out = run_date(warn_day, steps=steps, config=config, log=logs.append)
    assert list(out) == steps and out["quality_gate"].status == "warn"
    out = run_date(block_day, steps=steps, config=config, log=logs.append)
    assert list(out) == ["quality_gate"] and out["quality_gate"].status == "block"
    assert fake_gate.CALLS == [("gate", warn_day), ("publish", warn_day), ("gate", block_day)]
    assert logs[-1] == f"[{block_day}] stopped by the quality gate: publish_online_features not run"
    assert f"[quality_gate {block_day}] fake gate {block_day}: BLOCK" in logs


def test_run_task_is_the_airflow_body_of_an_in_process_step(fake_gate):
    lines: list[str] = []
    assert run_task("quality_gate", "2024-06-01", log=lines.append) == {
        "status": "warn", "warnings": ["silver.events: rows between"]}
    assert lines == ["fake gate 2024-06-01: WARN"]
    with pytest.raises(GateBlockedError, match="quality gate blocked 2024-06-02: silver.events: rows between") as exc:
        run_task("quality_gate", "2024-06-02", log=lines.append)
    assert exc.value.verdict.status == "block"
    assert run_task("publish_online_features", "2024-06-01", log=lines.append) == {"rows": 3, "store": "sqlite"}
    with pytest.raises(ValueError, match="is a Spark application: spark-submit .*spark_jobs/ingest.py"):
        run_task("ingest", "2024-06-01")


def test_format_report_prefers_a_reports_own_summary():
    class WithSummary:
        def summary(self):
            return "one line"

    assert format_report(WithSummary()) == "one line"
    assert format_report({"rows": 2, "seconds": 1.5}) == "rows=2, seconds=1.5"


# ----------------------------------------------------------------------------- date order (Spark)
def test_dates_run_in_order_and_a_quiet_day_is_skipped(spark, config, lake):
    """The CLI path (run_date): a date whose previous landing date was not ingested fails with a
    clear message and runs once that date is done; a date without landing files is a skip that
    writes nothing and does not break the order (the next date's previous landing date skips it)."""
    from reelhouse.sources.generator import generate
    from reelhouse.pipeline import run_date

    generate(config.paths.landing, start=START, days=2, events_per_day=1_500, seed=3)
    generate(config.paths.landing, start=START + dt.timedelta(days=3), days=1, events_per_day=1_500, seed=4)
    d1, d2, quiet, d4 = (START + dt.timedelta(days=k) for k in range(4))
    steps = ["ingest", "daily_stats"]
    # a new lake starts at its first landing date: a CLI run of d2 racing the DAG's d1 is refused
    with pytest.raises(OutOfOrderError, match="previous landing date 2024-06-01 has not been through ingest"):
        run_date(d2, steps=steps, spark=spark, config=config, log=lambda m: None)
    run_date(d1, steps=steps, spark=spark, config=config, log=lambda m: None)
    with pytest.raises(OutOfOrderError, match=r"ingest 2024-06-04: the previous landing date 2024-06-02 has not been "
                                              r"through ingest.*reelhouse backfill --start 2024-06-02 --end 2024-06-04"):
        run_date(d4, steps=steps, spark=spark, config=config, log=lambda m: None)
    assert sorted(lake.read_pandas("silver.events", columns=["landing_date"]).landing_date.unique()) == [d1]
    run_date(d2, steps=steps, spark=spark, config=config, log=lambda m: None)
    logs: list[str] = []
    assert run_date(quiet, steps=steps, spark=spark, config=config, log=logs.append) == {}
    assert logs == [f"[{quiet}] skipped: no landing files under {config.paths.landing} for this date — nothing to do"]
    reports = run_date(d4, steps=steps, spark=spark, config=config, log=lambda m: None)
    assert reports["ingest"].rows_kept > 0
    # a step run alone is checked against the same step: daily_stats for d4 needs daily_stats of d2
    assert sorted(lake.read_pandas("silver.events", columns=["landing_date"]).landing_date.unique()) == [d1, d2, d4]
    # lake.start_date: a lake that takes in landing data from d4 on does not need d2 first
    with pytest.raises(OutOfOrderError):
        check_order(lake, config.paths.landing, "trends", d4)
    check_order(lake, config.paths.landing, "trends", d4, start_date=d4)
    # steps without a done marker (gate, publish) do not depend on earlier dates
    check_order(lake, config.paths.landing, "quality_gate", d4)
