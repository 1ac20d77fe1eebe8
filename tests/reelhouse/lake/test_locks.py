"""The lake's run lock and the date order of the nightly (reelhouse/lake/locks.py)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import time

import pytest

from reelhouse.lake.locks import OutOfOrderError, RunLockError, holder, lake_lock, lock_path

START = dt.date(2024, 6, 1)


def _hold_in_subprocess(lake_root, seconds: float) -> subprocess.Popen:
    """Another process (as the CLI beside an Airflow task would be) holding the lock."""
    code = textwrap.dedent(f"""
        import sys, time
        from reelhouse.lake.locks import lake_lock
        with lake_lock({str(lake_root)!r}, "reelhouse run 2024-06-02", log=lambda m: None):
            print("held", flush=True)
            time.sleep({seconds})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_waits_and_a_timeout_names_the_holder(tmp_path):
    proc = _hold_in_subprocess(tmp_path, 3.0)
    try:
        assert holder(str(tmp_path))["holder"] == "reelhouse run 2024-06-02"
        with pytest.raises(RunLockError, match=r"being written by reelhouse run 2024-06-02 \(pid \d+ .*gave up after"):
            with lake_lock(str(tmp_path), "test", timeout_seconds=0.5, log=lambda m: None):
                pass
        lines: list[str] = []
        t0 = time.monotonic()
        with lake_lock(str(tmp_path), "airflow ingest 2024-06-03", timeout_seconds=30, log=lines.append):
            waited = time.monotonic() - t0
            assert holder(str(tmp_path))["holder"] == "airflow ingest 2024-06-03"
        assert waited > 1.0 and lines[0].startswith("run lock: waiting — the lake is being written by reelhouse run")
        assert lines[-1].startswith("run lock: acquired after")
    finally:
        proc.wait(timeout=30)


def test_the_lock_is_reentrant_in_a_process_and_released_after(tmp_path):
    with lake_lock(str(tmp_path), "outer", log=lambda m: None):
        with lake_lock(str(tmp_path), "inner", timeout_seconds=0, log=lambda m: None):
            assert holder(str(tmp_path))["holder"] == "outer"
    # released: another process takes it at once
    _hold_in_subprocess(tmp_path, 0).wait(timeout=30)
    assert lock_path("s3a://bucket/lake") is None and lock_path(f"file://{tmp_path}") == tmp_path / "_locks" / "run.lock"


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
    from reelhouse.lake.locks import check_order

    with pytest.raises(OutOfOrderError):
        check_order(lake, config.paths.landing, "trends", d4)
    check_order(lake, config.paths.landing, "trends", d4, start_date=d4)
