"""One writer per lake: the run lock of the nightly (the order check of dates is
:func:`reelhouse.pipeline.check_order`).

Two runs of the nightly over one lake — a backfill beside the schedule, the CLI beside Airflow,
``airflow backfill create`` with its default of several concurrent runs — must never write at
once, and must not run a date before the dates it builds on:

* ingest keeps the first copy of an event across landing dates by reading what *other* landing
  dates already put in ``silver.events`` (at-least-once delivery puts one event in two dates'
  files), so two ingests at once both keep it, and a later date ingested before an earlier one
  keeps the copy the earlier date should own;
* the gold steps read earlier days' results (trend baselines, rolling feature windows).

So every orchestration entry point (``reelhouse run`` / ``backfill``, each ``spark-submit`` step
of the Airflow DAG, the gate's and the publisher's writes) takes :func:`lake_lock`, and each step
for a date first calls :func:`reelhouse.pipeline.check_order`. A step that finds the lock taken waits (up to
``lake.lock_timeout_seconds``) and says by whom; a step whose previous landing date has not been
processed by that same step fails with :class:`reelhouse.pipeline.OutOfOrderError`, which names the date and the
command that fixes it — its retry then succeeds once the earlier date is done.

The lock is an exclusive ``fcntl.flock`` on ``<lake>/_locks/run.lock`` (POSIX advisory lock: a
local disk or an NFS/POSIX mount shared by every writer). It is re-entrant within a process and
released when the process dies, so a killed task never leaves a stale lock. A lake on an object
store (``s3a://…``) has no such lock: :func:`lake_lock` then only logs that the orchestrator's
ordering (the DAG's ``depends_on_past``) is the guard.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

LOCK_DIR = "_locks"
LOCK_FILE = "run.lock"
#: seconds between two attempts while another run holds the lock
POLL_SECONDS = 1.0


class RunLockError(RuntimeError):
    """The lake's run lock could not be taken within the timeout (message: who holds it, since when)."""


_held: dict[str, list] = {}  # lock path -> [fd, depth]
_guard = threading.Lock()


def lock_path(lake_root: str) -> Path | None:
    """``<lake>/_locks/run.lock`` for a local lake root (``file://`` allowed); None for an object store."""
    root = lake_root[len("file://"):] if lake_root.startswith("file://") else lake_root
    if "://" in root:
        return None
    return Path(root) / LOCK_DIR / LOCK_FILE


def holder(lake_root: str) -> dict | None:
    """Who holds (or last held) the lock: ``{"holder", "pid", "host", "since"}``, or None."""
    path = lock_path(lake_root)
    try:
        text = path.read_text() if path else ""
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None


@contextmanager
def lake_lock(
    lake_root: str,
    what: str,
    *,
    timeout_seconds: float = 3600.0,
    log: Callable[[str], None] = print,
) -> Iterator[None]:
    """Hold the lake's run lock for the ``with`` block; ``what`` says who holds it
    (``"reelhouse run 2024-06-02"``, ``"airflow reelhouse_nightly.ingest 2024-06-02"``), shown to
    anyone waiting. Waits up to ``timeout_seconds`` (polling every :data:`POLL_SECONDS` s; one log
    line when it starts waiting and one when it gets the lock).

    Raises:
        RunLockError: the lock is still held after ``timeout_seconds``.
    """
    import fcntl

    path = lock_path(lake_root)
    if path is None:
        log(f"run lock: {lake_root} is not on a POSIX filesystem; ordering is left to the orchestrator")
        yield
        return
    key = str(path)
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is not None:  # re-entrant: this process already holds it
        try:
            yield
        finally:
            with _guard:
                entry[1] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    t0 = time.monotonic()
    waited = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                elapsed = time.monotonic() - t0
                if elapsed >= timeout_seconds:
                    raise RunLockError(
                        f"the lake {lake_root} is being written by {_describe(holder(lake_root))}; "
                        f"gave up after {elapsed:.0f} s (lake.lock_timeout_seconds={timeout_seconds:g}); "
                        "retry when it has finished") from None
                if not waited:
                    log(f"run lock: waiting — the lake is being written by {_describe(holder(lake_root))}")
                    waited = True
                time.sleep(POLL_SECONDS)
        if waited:
            log(f"run lock: acquired after {time.monotonic() - t0:.0f} s")
        info = {"holder": what, "pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        with _guard:
            _held[key] = [fd, 1]
        try:
            yield
        finally:
            with _guard:
                del _held[key]
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _describe(info: dict | None) -> str:
    if not info:
        return "another run"
    return f"{info.get('holder', '?')} (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"
