"""The lake's run lock (reelhouse/lake/locks.py); the date order is tests/reelhouse/test_pipeline.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from reelhouse.lake.locks import RunLockError, holder, lake_lock, lock_path

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
