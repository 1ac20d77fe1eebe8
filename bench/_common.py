"""Helpers shared by the benchmark scripts (``bench_ingest.py``, ``bench_gold.py``,
``bench_quality.py``).

The scripts are run as files (``.venv/bin/python bench/bench_x.py`` from the project root), not
imported as a package, so each one puts its own folder on ``sys.path`` and does
``from _common import ...``. Nothing here is imported by ``reelhouse`` or the tests.

What is here:

* formatting — :func:`sql_str` (a SQL string literal), :func:`rate` (items per second),
  :func:`fmt_int` (``1,234,567``), :func:`format_rows` (a plain-text table),
  :func:`contention_warning` (the "timings are disturbed" line);
* provenance — :func:`code_version` (commit + uncommitted changes), :func:`machine_info`
  (cores, memory, versions);
* measuring — :class:`PhaseTimer` (wall seconds per named phase), :class:`CpuMonitor` (cores used
  by *other* processes meanwhile), :func:`timed_lake_class` (a lake that times every commit);
* set-up — :func:`local_env` (``REELHOUSE_ENV=local``, delta-rs, driver memory),
  :func:`lake_config` (a lake in a temporary folder), :func:`start_spark`, :func:`generate_days`,
  :func:`run_pipeline`, :func:`positive_int` (an argparse type);
* waiting — :func:`other_benchmarks` / :func:`wait_for_quiet` (do not measure while another
  benchmark runs: the machine has 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

#: the project root (``bench/..``)
REPO = Path(__file__).resolve().parent.parent
#: ``spark.driver.memory`` unless ``REELHOUSE__SPARK__CONF__spark.driver.memory`` is already set
DRIVER_MEMORY = "8g"
#: average cores used by other processes during a step above which its timing is flagged
BUSY_CORES = 0.25
#: the scripts :func:`wait_for_quiet` waits for by default
BENCHMARK_SCRIPTS = ("bench_ingest.py", "bench_gold.py", "bench_quality.py")
#: seconds between two polls of :func:`wait_for_quiet`
POLL_SECONDS = 30
#: default ``--max-wait`` of the scripts that wait (20 min)
DEFAULT_MAX_WAIT = 20 * 60


# ----------------------------------------------------------------------------- formatting
def sql_str(s: str) -> str:
    """``s`` as a single-quoted SQL string literal (quotes doubled)."""
    return "'" + s.replace("'", "''") + "'"


def duckdb_viewer_aggregates(completion_threshold: float) -> str:
    """DuckDB aggregate expressions of the per-viewer partial sums that
    ``reelhouse.gold.daily_stats.viewer_partials`` computes (for a ``GROUP BY`` over silver events
    with ``event_type``, ``play_time_ms`` / ``video_duration_ms`` in ms): ``impressions``, ``plays``,
    ``watch_ms``, ``known_plays``, ``ratio_sum``, ``completes`` (play >= ``completion_threshold`` x
    duration, loops included), ``likes``, ``shares``, ``comments``, ``follows``, ``engaged_events``.
    The one SQL copy of that aggregate, shared by the benchmarks' DuckDB references."""
    thr = float(completion_threshold)
    return f"""
        count(*) FILTER (WHERE event_type = 'impression') AS impressions,
        count(*) FILTER (WHERE event_type = 'play') AS plays,
        coalesce(sum(play_time_ms) FILTER (WHERE event_type = 'play'), 0) AS watch_ms,
        count(*) FILTER (WHERE event_type = 'play' AND video_duration_ms IS NOT NULL) AS known_plays,
        coalesce(sum(play_time_ms / video_duration_ms)
                 FILTER (WHERE event_type = 'play' AND video_duration_ms IS NOT NULL), 0.0) AS ratio_sum,
        count(*) FILTER (WHERE event_type = 'play' AND video_duration_ms IS NOT NULL
                         AND play_time_ms >= video_duration_ms * {thr}::DOUBLE) AS completes,
        count(*) FILTER (WHERE event_type = 'like') AS likes,
        count(*) FILTER (WHERE event_type = 'share') AS shares,
        count(*) FILTER (WHERE event_type = 'comment') AS comments,
        count(*) FILTER (WHERE event_type = 'follow') AS follows,
        count(*) FILTER (WHERE event_type IN ('play', 'like', 'share', 'comment', 'follow')) AS engaged_events"""


def rate(n: float, seconds: float) -> float:
    """``n / seconds`` rounded to 0.1 (0.0 when ``seconds`` is not positive)."""
    return round(n / seconds, 1) if seconds > 0 else 0.0


def fmt_int(n: float) -> str:
    """``n`` rounded to an integer with thousands separators: ``1,234,567``."""
    return f"{n:,.0f}"


def format_rows(rows: list[list[str]], left: int = 0) -> str:
    """A plain-text table: ``rows[0]`` is the header; columns two spaces apart, right-aligned
    except the first ``left`` ones (left-aligned), and a dashed rule under the header."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if c < left else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def contention_warning(measured: Iterable[tuple[str, float | None]], threshold: float = BUSY_CORES) -> str | None:
    """The warning line for the steps (``(name, other_processes_cores)``) during which other
    processes used at least ``threshold`` cores on average; None when there are none."""
    busy = [(name, cores) for name, cores in measured if cores is not None and cores >= threshold]
    if not busy:
        return None
    return (f"WARNING: other processes on the machine used up to {max(c for _, c in busy):.1f} cores during "
            + ", ".join(name for name, _ in busy) + ": those timings are disturbed; re-run on a quiet machine.")


# ----------------------------------------------------------------------------- provenance
def code_version(paths: Sequence[str] = ("spark_jobs", "reelhouse")) -> dict[str, Any]:
    """The commit measured and the uncommitted changes under ``paths`` (read-only ``git``):
    ``{"commit": short hash or None, "uncommitted_changes": [paths]}``. Call it before importing
    the measured code, so that it describes what the run measures."""
    import subprocess

    def git(*a: str) -> str | None:
        try:
            out = subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.rstrip() if out.returncode == 0 else None

    dirty = git("status", "--porcelain", "--", *paths)
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": sorted(line[3:] for line in dirty.splitlines()) if dirty else [],
    }


def machine_info(extra_packages: Sequence[str] = ()) -> dict[str, Any]:
    """Cores, memory (GiB, from ``/proc/meminfo``), platform, and the versions of Python, Spark,
    deltalake and of each module in ``extra_packages`` (e.g. ``("duckdb",)``; key = module name,
    None when it cannot be imported)."""
    import deltalake
    import pyspark

    mem_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1) if mem_kib else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "spark": pyspark.__version__,
        "deltalake": deltalake.__version__,
    }
    for name in extra_packages:
        try:
            info[name] = getattr(importlib.import_module(name), "__version__", None)
        except ImportError:
            info[name] = None
    return info


def versions_line(machine: dict[str, Any]) -> str:
    """``versions: Python …, Spark …, deltalake …`` plus the extra packages of :func:`machine_info`."""
    base = ("cpu_count", "memory_gib", "platform", "python", "spark", "deltalake")
    extra = "".join(f", {k} {v}" for k, v in machine.items() if k not in base)
    return f"versions: Python {machine['python']}, Spark {machine['spark']}, deltalake {machine['deltalake']}{extra}"


def header_lines(doc: dict[str, Any]) -> list[str]:
    """The first lines of a report: machine, versions, Spark settings and the code measured
    (from ``doc["machine"]``, ``doc["settings"]``, ``doc["code"]``)."""
    m, s, c = doc["machine"], doc["settings"], doc["code"]
    dirty = f" + uncommitted changes to {', '.join(c['uncommitted_changes'])}" if c["uncommitted_changes"] else ""
    return [
        f"machine: {m['cpu_count']} cores, {m['memory_gib']} GiB, {m['platform']}",
        versions_line(m),
        f"spark: {s['spark_master']}, driver memory {s['spark_driver_memory']}, "
        f"shuffle partitions {s['spark_shuffle_partitions']}; lake engine {s['lake_engine']}",
        f"code: commit {c['commit']}{dirty}",
    ]


# ----------------------------------------------------------------------------- measuring
class PhaseTimer:
    """Accumulates wall seconds per named phase (``with timer.phase("x"): ...``; a phase entered
    twice adds up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0


class CpuMonitor:
    """Machine-wide CPU use against this process tree's (the Python driver, the Spark JVM, its
    Python workers), so that a step slowed down by other processes on the machine shows it.

    ``other_cores(start, end)``: average cores used by everything else between two snapshots
    (None where ``/proc`` is unavailable). A process of the tree counts with its own and its reaped
    children's CPU; one that ends between the snapshots drops out of both, so the figure errs
    towards flagging contention, never towards hiding it."""

    def __init__(self) -> None:
        self.root = os.getpid()
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _machine_busy(self) -> float:
        # cpu  user nice system idle iowait irq softirq steal ...
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
        return (sum(fields) - fields[3] - fields[4]) / self.tick

    def _tree_cpu(self) -> dict[int, float]:
        """CPU seconds (utime + stime + cutime + cstime) of every process in this tree."""
        stats: dict[int, tuple[int, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                rest = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            # after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
            stats[int(entry)] = (int(rest[1]), sum(int(x) for x in rest[11:15]) / self.tick)
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in stats.items():
            children.setdefault(ppid, []).append(pid)
        tree: dict[int, float] = {}
        todo = [self.root]
        while todo:
            pid = todo.pop()
            if pid in stats:
                tree[pid] = stats[pid][1]
                todo.extend(children.get(pid, []))
        return tree

    def snapshot(self) -> tuple[float, float, dict[int, float]] | None:
        """(wall clock, machine busy CPU seconds, CPU seconds per process of this tree), or None
        where ``/proc`` cannot be read."""
        try:
            return time.perf_counter(), self._machine_busy(), self._tree_cpu()
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def other_cores(start, end) -> float | None:
        """Average cores used by processes outside this tree between two :meth:`snapshot`\\ s."""
        if start is None or end is None or end[0] <= start[0]:
            return None
        own = sum(max(0.0, cpu - start[2].get(pid, 0.0)) for pid, cpu in end[2].items())
        wall = end[0] - start[0]
        cores = os.cpu_count() or 1
        return round(min(cores, max(0.0, (end[1] - start[1]) - own) / wall), 2)


def timed_lake_class():
    """A :class:`reelhouse.lake.Lake` that times every write and merge (one phase per table,
    ``commit <table>`` / ``merge <table>``, in the :class:`PhaseTimer` set as its ``timer``).
    Spark is lazy, so a commit's time includes computing whatever its DataFrame needs that is not
    cached yet (for gold.video_daily_stats: its silver scan and aggregation)."""
    from reelhouse.lake import Lake

    class TimedLake(Lake):
        timer: PhaseTimer

        def write(self, df, name, **kw):  # type: ignore[override]
            with self.timer.phase(f"commit {name}"):
                return super().write(df, name, **kw)

        def merge(self, df, name, **kw):  # type: ignore[override]
            with self.timer.phase(f"merge {name}"):
                return super().merge(df, name, **kw)

    return TimedLake


# ----------------------------------------------------------------------------- set-up
def local_env(driver_memory: str = DRIVER_MEMORY) -> None:
    """The benchmarks' configuration: the project root on ``sys.path`` (``spark_jobs`` is a folder
    of applications, not an installed package), ``REELHOUSE_ENV=local`` (Spark ``local[2]``), the
    delta-rs lake engine, and ``spark.driver.memory`` unless
    ``REELHOUSE__SPARK__CONF__spark.driver.memory`` is already set."""
    sys.path.insert(0, str(REPO))
    os.environ["REELHOUSE_ENV"] = "local"
    os.environ["REELHOUSE__LAKE__ENGINE"] = "delta-rs"
    os.environ.setdefault("REELHOUSE__SPARK__CONF__spark.driver.memory", driver_memory)


def lake_config(root: Path, landing: Path | None = None):
    """The configuration of a lake under ``root``: landing ``landing`` (default ``root/landing``)
    and lake ``root/lake``, set through ``REELHOUSE__PATHS__LANDING`` / ``REELHOUSE__PATHS__LAKE``.
    Asserts the delta-rs engine (call :func:`local_env` first)."""
    from reelhouse.config import load_config

    os.environ["REELHOUSE__PATHS__LANDING"] = str(landing if landing is not None else root / "landing")
    os.environ["REELHOUSE__PATHS__LAKE"] = str(root / "lake")
    cfg = load_config()
    assert cfg.lake_engine == "delta-rs" and cfg.paths.lake == str(root / "lake"), cfg
    return cfg


def start_spark(cfg, app_name: str) -> tuple[Any, float]:
    """Start the SparkSession (:func:`reelhouse.spark.get_spark`) and run a first tiny job
    (executor threads, codegen set-up); print and return ``(spark, start-up seconds)``."""
    from reelhouse.spark import get_spark

    t0 = time.perf_counter()
    spark = get_spark(cfg, app_name=app_name)
    spark.range(1).collect()  # first job: executor threads, codegen set-up
    startup = time.perf_counter() - t0
    print(f"SparkSession started in {startup:.1f} s ({cfg.spark.master}, "
          f"driver memory {spark.conf.get('spark.driver.memory')})", flush=True)
    return spark, startup


def spark_settings(spark, cfg) -> dict[str, Any]:
    """The settings every report records: env, lake engine, Spark master, driver memory,
    shuffle partitions."""
    return {
        "env": cfg.env,
        "lake_engine": cfg.lake_engine,
        "spark_master": cfg.spark.master,
        "spark_driver_memory": spark.conf.get("spark.driver.memory"),
        "spark_shuffle_partitions": spark.conf.get("spark.sql.shuffle.partitions"),
    }


def generate_days(root: Path, start: date, days: int, n: int, seed: int = 1) -> dict[str, Any]:
    """Generate ``days`` days of ``n`` events from ``start`` into ``root/landing``
    (:func:`reelhouse.sources.generator.generate`, the generator's default defects) and return the timing
    and the summary's counts."""
    from reelhouse.sources.generator import generate

    t0 = time.perf_counter()
    summary = generate(root / "landing", start=start, days=days, events_per_day=n, seed=seed)
    secs = time.perf_counter() - t0
    return {
        "seconds": round(secs, 3),
        "start": start.isoformat(),
        "days": days,
        "events": summary.events_total,
        "lines": summary.lines_total,
        "late_events": summary.late_events,
        "events_per_second": rate(summary.events_total, secs),
    }


def run_pipeline(spark, cfg, d: date, steps: list[str] | None = None) -> float:
    """``reelhouse.pipeline.run_date`` for one date (quietly; ``steps`` None = all); returns its
    wall seconds."""
    from reelhouse.pipeline import run_date

    t0 = time.perf_counter()
    run_date(d, steps=steps, spark=spark, config=cfg, log=lambda _msg: None)
    return time.perf_counter() - t0


def positive_int(text: str) -> int:
    """argparse type: a positive integer (``_`` separators allowed)."""
    try:
        v = int(text.replace("_", ""))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from exc
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


# ----------------------------------------------------------------------------- waiting
def other_benchmarks(scripts: Sequence[str] = BENCHMARK_SCRIPTS) -> list[str]:
    """Command lines of other running processes whose command line names one of ``scripts``
    (this process, its ancestors — e.g. the shell that started it — and its descendants
    excluded)."""
    procs: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        procs[int(entry)] = (ppid, cmd)
    ancestors: set[int] = set()
    pid = os.getpid()
    while pid in procs and pid not in ancestors:
        ancestors.add(pid)
        pid = procs[pid][0]
    descendants = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for p, (pp, _) in procs.items():
            if pp in descendants and p not in descendants:
                descendants.add(p)
                changed = True
    mine = ancestors | descendants
    return [cmd for p, (_, cmd) in sorted(procs.items())
            if p not in mine and any(name in cmd for name in scripts)]


def wait_for_quiet(max_wait: float, scripts: Sequence[str] = BENCHMARK_SCRIPTS) -> dict[str, Any]:
    """Poll every ``POLL_SECONDS`` (30 s) until no other process running one of ``scripts`` is
    left, for at most ``max_wait`` seconds; then measure anyway (with a warning). Returns
    ``{"waited_seconds": …, "still_running": [command lines]}`` for the report."""
    t0 = time.perf_counter()
    others = other_benchmarks(scripts)
    while others and time.perf_counter() - t0 < max_wait:
        print(f"waiting for other benchmark(s) to finish ({time.perf_counter() - t0:.0f} s so far): "
              + "; ".join(c[:120] for c in others), flush=True)
        time.sleep(POLL_SECONDS)
        others = other_benchmarks(scripts)
    waited = round(time.perf_counter() - t0, 1)
    if others:
        print(f"WARNING: still running after {waited:.0f} s, measuring anyway: " + "; ".join(c[:120] for c in others), flush=True)
    return {"waited_seconds": waited, "still_running": others}
