"""The whole night, as Airflow runs it, at 1M / 5M / 10M events: wall and CPU seconds and peak
memory per step, events/s end to end, and a DuckDB reference of the same night's daily stats.

For each size N, on a copy of a lake that already holds ``--history-days`` nights (generated
days of ``--history-events`` each, built once and cached in ``/var/tmp/reelhouse-bench/``; see
``--rebuild``), a day of N generated events lands and every step of the night runs the way the
DAGs run it:

* each Spark step is its own ``spark-submit`` of its application with the DAG's conf
  (:func:`reelhouse.spark.spark_conf`: ``local[2]``, the configured driver memory), a fresh JVM;
* the quality gate and the online publish (to Redis, database ``--redis-db``) run in a fresh
  Python process through :func:`reelhouse.pipeline.run_task`, as the Airflow worker runs them;
* the retrain (``reelhouse_retrain``: LightGBM, MLflow registry) runs in a fresh Python process
  through :func:`reelhouse.ml.model.retrain`, as its DAG's task does.

Per step: wall seconds, CPU seconds (the step's whole process tree: ``getrusage`` of the reaped
children), and the peak resident memory of the largest JVM and the largest Python process of the
tree (``/proc/<pid>/status`` VmRSS, polled every 0.2 s). Beside the night, in the same run and
from the same silver files, a DuckDB reference computes ``gold.video_daily_stats`` and
``gold.hashtag_daily_stats`` (the daily_stats step's two tables) into Parquet: the ratio is the
step's seconds over DuckDB's. Likewise the features step's six tables (``gold.user_daily_activity``,
``user_interests``, ``user_features``, ``video_features``, ``creator_features``,
``hashtag_features`` of the night's date, :func:`duckdb_features`) from the same input files; row
counts are checked against the steps' reports (a mismatch is printed as a warning). The reference
of the features step equals Spark's tables value for value on the last date of a lake (checked on
a 3-day 6k-event lake: six tables, every column, doubles to 1e-9); an earlier date differs once
late events have changed its stats, because feature snapshots are not rewritten. The daily_stats
step also reports the seconds of each of its two table writes (``table_seconds``): **hashtag / video**.
trends and training_examples have no DuckDB reference yet.

``--history-compare`` adds the same night at ``--history-compare-events`` (default 1M) on a lake
with 1 night of history and on one with 30: the cost of a night must not grow with history.

    .venv/bin/python bench/bench_nightly.py                        # 1M, 5M, 10M after 7 nights of 200k
    .venv/bin/python bench/bench_nightly.py --sizes 1000000 --history-compare
    .venv/bin/python bench/bench_nightly.py --sizes --history-compare      # only 1 vs 30 nights
    .venv/bin/python bench/bench_nightly.py --quick                 # 300k, 2 nights of 50k: smoke check

Needs Redis on 127.0.0.1:6379 (``make services``). Writes the JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (REPO, CpuMonitor, code_version, contention_warning, duckdb_viewer_aggregates,  # noqa: E402
                     format_rows, machine_info, positive_int, sql_str)

DAY = date(2024, 6, 10)
#: one world for the history and the measured day whatever their sizes (users, catalogue videos,
#: uploads a day; same seed), so the measured day's users and videos have history: features, a
#: trend baseline, a training window the retrain can learn from
WORLD = {"n_users": 200_000, "n_videos": 100_000, "new_videos_per_day": 2_000, "seed": 3}
CACHE = Path(os.environ.get("REELHOUSE_BENCH_CACHE", "/var/tmp/reelhouse-bench"))
DEFAULT_OUT = REPO / "bench" / "results" / "nightly.json"
GiB = 1024 ** 3


# ----------------------------------------------------------------------------- memory
class TreeMemory:
    """Peak resident memory (bytes) of the largest ``java`` and the largest ``python`` process
    below ``pid`` (the process itself included), sampled from ``/proc`` every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak = {"jvm": 0, "python": 0, "tree": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        parent: dict[int, int] = {}
        rss: dict[int, tuple[str, int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            pid = int(entry)
            parent[pid] = int(fields.get("PPid", "0").strip() or 0)
            kb = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
            rss[pid] = (fields.get("Name", "").strip(), kb * 1024)
        tree = {self.pid}
        changed = True
        while changed:
            changed = False
            for pid, pp in parent.items():
                if pp in tree and pid not in tree:
                    tree.add(pid)
                    changed = True
        total = 0
        for pid in tree:
            name, b = rss.get(pid, ("", 0))
            total += b
            kind = "jvm" if name == "java" else "python" if name.startswith("python") else None
            if kind:
                self.peak[kind] = max(self.peak[kind], b)
        self.peak["tree"] = max(self.peak["tree"], total)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except (OSError, ValueError):
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


# ----------------------------------------------------------------------------- the night
def night_env(root: Path, redis_db: int, driver_memory: str | None) -> dict[str, str]:
    """The environment of the steps: REELHOUSE_ENV=local, the lake and landing under ``root``,
    the delta-rs engine, Redis as the online store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE__")}
    env.setdefault("REELHOUSE_SPARK_LOG_LEVEL", "ERROR")  # as make and the DAG's tasks run
    env.update({
        "REELHOUSE_ENV": "local",
        "REELHOUSE__PATHS__LANDING": str(root / "landing"),
        "REELHOUSE__PATHS__LAKE": str(root / "lake"),
        "REELHOUSE__LAKE__ENGINE": "delta-rs",
        "REELHOUSE__ONLINE_STORE__TYPE": "redis",
        "REELHOUSE__ONLINE_STORE__CONNECTION_STRING": f"127.0.0.1:6379,db={redis_db}",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    })
    if driver_memory:
        env["REELHOUSE__SPARK__CONF__spark.driver.memory"] = driver_memory
    return env


RETRAIN = ("from datetime import date; from reelhouse.config import load_config; from reelhouse.lake import Lake; "
           "from reelhouse.ml.model import retrain; cfg = load_config(); "
           "r = retrain(Lake.from_config(cfg), cfg, date.fromisoformat({ds!r})); "
           "print(f'[retrain {ds}] version {{r.version}}, challenger AUC {{r.metrics[\"challenger\"][\"auc\"]:.4f}}, '"
           "f'{{\"promoted\" if r.promoted else \"kept champion\"}}: {{r.reason}}', flush=True)")


def step_commands(env: dict[str, str], ds: str) -> list[tuple[str, list[str]]]:
    """(step, command) for every step of the night in the DAGs' order, then the retrain."""
    from reelhouse.config import load_config
    from reelhouse.pipeline import STEPS
    from reelhouse.spark import spark_conf

    cfg = load_config(environ=env)
    out = []
    for step in STEPS.values():
        if step.kind == "spark":
            cmd = [str(Path(sys.executable).parent / "spark-submit"), "--master", cfg.spark.master,
                   "--name", f"reelhouse-{step.name}-{ds}"]
            for k, v in spark_conf(cfg).items():
                cmd += ["--conf", f"{k}={v}"]
            out.append((step.name, cmd + [step.application, "--date", ds]))
        else:
            out.append((step.name, [sys.executable, "-c",
                                    f"from reelhouse.pipeline import run_task; run_task({step.name!r}, {ds!r})"]))
    out.append(("retrain", [sys.executable, "-c", RETRAIN.format(ds=ds)]))
    return out


def _report(stdout: str) -> dict[str, Any] | None:
    """The JSON report a Spark step printed on stdout (None for the Python steps)."""
    start = stdout.find("{")
    if start < 0:
        return None
    try:  # the JSON document, then (spark-submit merges the streams) the summary line
        return json.JSONDecoder().raw_decode(stdout[start:])[0]
    except ValueError:
        return None


def run_night(label: str, env: dict[str, str], ds: str) -> list[dict[str, Any]]:
    """Run every step of ``ds``; per step wall s, CPU s, peak memory, the summary line and the
    Spark step's JSON report. Raises SystemExit when a step fails."""
    mon = CpuMonitor()
    out = []
    for name, cmd in step_commands(env, ds):
        cpu0, t0, snap0 = _children_cpu(), time.perf_counter(), mon.snapshot()
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with TreeMemory(proc.pid) as mem:
            stdout, stderr = proc.communicate()
        secs, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        other = CpuMonitor.other_cores(snap0, mon.snapshot())
        summary = next((ln for ln in reversed((stderr + "\n" + stdout).splitlines())
                        if ln.startswith((f"[{name}", "quality gate", "publish"))), "")
        if proc.returncode != 0 and not (name == "retrain" and "NotEnoughDataError" in stderr):
            sys.stderr.write(stdout[-3000:] + stderr[-5000:])
            raise SystemExit(f"{label}: step {name} failed (exit {proc.returncode})")
        row = {"step": name, "seconds": round(secs, 2), "cpu_seconds": round(cpu, 2),
               "peak_jvm_gib": round(mem.peak["jvm"] / GiB, 2), "peak_python_gib": round(mem.peak["python"] / GiB, 2),
               "peak_tree_gib": round(mem.peak["tree"] / GiB, 2), "other_cores": other,
               "summary": summary[:300], "report": _report(stdout)}
        print(f"  {label:<10} {name:<24} {secs:7.1f} s  cpu {cpu:7.1f} s  jvm {row['peak_jvm_gib']:5.2f} GiB  "
              f"python {row['peak_python_gib']:5.2f} GiB  {summary[:110]}", flush=True)
        out.append(row)
    return out


# ----------------------------------------------------------------------------- lakes
def history_lake(days: int, events: int, *, rebuild: bool) -> Path:
    """A cached folder (``landing/`` + ``lake/``) holding ``days`` nights before :data:`DAY`, each
    of ``events`` generated events, every step run (in one SparkSession, in a child process)."""
    root = CACHE / f"nightly-history-{days}x{events}-world{WORLD['n_users']}"
    if rebuild:
        shutil.rmtree(root, ignore_errors=True)
    if (root / ".complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    start = DAY - timedelta(days=days)
    code = f"""
import sys
from datetime import date, timedelta
from pathlib import Path
sys.path.insert(0, {str(REPO / 'bench')!r})
from _common import local_env, lake_config, start_spark, run_pipeline
local_env()
root = Path({str(root)!r})
cfg = lake_config(root)
from reelhouse.sources.generator import generate
s = generate(root / "landing", start=date.fromisoformat({start.isoformat()!r}), days={days}, events_per_day={events}, **{WORLD!r})
print(f"history: generated {{s.events_total:,}} events", flush=True)
spark, _ = start_spark(cfg, "bench-nightly-history")
for k in range({days}):
    d = date.fromisoformat({start.isoformat()!r}) + timedelta(days=k)
    print(f"history: {{d}} all steps in {{run_pipeline(spark, cfg, d):.1f}} s", flush=True)
spark.stop()
"""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
    (root / ".complete").write_text(f"{time.perf_counter() - t0:.0f} s\n")
    return root


def day_lake(history: Path, events: int, tmp: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of ``history`` plus :data:`DAY` with ``events`` generated events in its landing zone."""
    from reelhouse.sources.generator import generate

    root = tmp / f"night-{events}"
    shutil.copytree(history, root, symlinks=True)
    t0 = time.perf_counter()
    # the same world (WORLD) as the history: day 0 of this run re-publishes the catalogue, which
    # silver.videos keeps at its earliest publish
    s = generate(root / "landing", start=DAY, days=1, events_per_day=events, **WORLD)
    gen = {"events": s.events_total, "lines": s.lines_total, "files": s.files_written,
           "seconds": round(time.perf_counter() - t0, 1)}
    return root, gen


# ----------------------------------------------------------------------------- DuckDB reference
def duckdb_daily_stats(lake_root: Path, ds_dates: list[str], cfg, out: Path) -> dict[str, Any]:
    """gold.video_daily_stats and gold.hashtag_daily_stats of ``ds_dates`` in DuckDB SQL from the
    silver Parquet files (silver.events partitions of those dates, silver.videos,
    silver.video_hashtags), each into a Parquet file; seconds and rows per table."""
    import duckdb

    from reelhouse.lake import Lake

    lake = Lake(str(lake_root / "lake"))

    def files(name: str, where=None) -> str:
        root = lake.path(name)  # the dataset's file paths are relative to the table's folder
        return "[" + ", ".join(sql_str(f"{root}/{f}") for f in lake.arrow_dataset(name, where=where).files) + "]"

    thr, cap = float(cfg.trends.completion_threshold), float(cfg.trends.spam_event_cap)
    dates = [date.fromisoformat(d) for d in ds_dates]
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"temp_directory": str(out / "tmp")})
    con.execute("SET TimeZone = 'UTC'")
    partials = f"""
        WITH base AS (
            SELECT event_date::DATE AS ds, coalesce(upper(region), 'UNKNOWN') AS region, video_id, user_id,
                {duckdb_viewer_aggregates(thr)}
            FROM read_parquet({files('silver.events', {'event_date': dates})}, hive_partitioning = true)
            WHERE video_id IS NOT NULL
            GROUP BY ALL
        )
        SELECT * FROM base
        UNION ALL
        SELECT ds, 'ALL', video_id, user_id, sum(impressions), sum(plays), sum(watch_ms), sum(known_plays), sum(ratio_sum),
               sum(completes), sum(likes), sum(shares), sum(comments), sum(follows), sum(engaged_events)
        FROM base GROUP BY ds, video_id, user_id"""
    finish = f"""
        sum(impressions)::BIGINT AS impressions, sum(plays)::BIGINT AS plays,
        count(*) FILTER (WHERE impressions + plays > 0) AS unique_viewers,
        sum(watch_ms)::BIGINT AS total_watch_time_ms,
        CASE WHEN sum(plays) > 0 THEN sum(watch_ms) / sum(plays) END AS avg_watch_time_ms,
        CASE WHEN sum(known_plays) > 0 THEN sum(ratio_sum) / sum(known_plays) END AS avg_watch_ratio,
        CASE WHEN sum(known_plays) > 0 THEN sum(completes) / sum(known_plays) END AS completion_rate,
        sum(likes)::BIGINT AS likes, sum(shares)::BIGINT AS shares, sum(comments)::BIGINT AS comments,
        sum(follows)::BIGINT AS follows, count(*) FILTER (WHERE engaged_events > 0) AS engaged_users,
        coalesce(sum(least(1.0, {cap} / engaged_events)) FILTER (WHERE engaged_events > 0), 0.0) AS engaged_users_weighted"""
    videos = f"read_parquet({files('silver.videos')}, hive_partitioning = true)"
    tags = f"read_parquet({files('silver.video_hashtags')}, hive_partitioning = true)"
    date_list = ", ".join(f"DATE '{d}'" for d in ds_dates)
    res: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        con.execute(f"CREATE TEMP TABLE partials AS {partials}")
        t_partials = time.perf_counter() - t0
        video_sql = f"""
            COPY (SELECT s.*, v.creator_id, v.published_date::DATE AS published_date,
                         coalesce(v.published_date::DATE = s.ds, false) AS is_new_video
                  FROM (SELECT ds, region, video_id, {finish} FROM partials GROUP BY ds, region, video_id) s
                  LEFT JOIN (SELECT video_id, creator_id, published_date FROM {videos}) v USING (video_id))
            TO {sql_str(str(out / 'video_daily_stats.parquet'))} (FORMAT parquet)"""
        hashtag_sql = f"""
            COPY (
              WITH t AS (SELECT video_id, hashtag, creator_id FROM {tags}),
              per_user AS (
                SELECT p.ds, p.region, t.hashtag, p.user_id, sum(impressions) AS impressions, sum(plays) AS plays,
                       sum(watch_ms) AS watch_ms, sum(known_plays) AS known_plays, sum(ratio_sum) AS ratio_sum,
                       sum(completes) AS completes, sum(likes) AS likes, sum(shares) AS shares,
                       sum(comments) AS comments, sum(follows) AS follows, sum(engaged_events) AS engaged_events
                FROM partials p JOIN t USING (video_id) GROUP BY ALL),
              stats AS (SELECT ds, region, hashtag, {finish} FROM per_user GROUP BY ds, region, hashtag),
              spread AS (SELECT v.ds, v.region, t.hashtag, count(*) AS distinct_videos,
                                count(DISTINCT t.creator_id) AS distinct_creators
                         FROM (SELECT DISTINCT ds, region, video_id FROM partials) v JOIN t USING (video_id) GROUP BY ALL),
              published AS (SELECT video_id, published_date::DATE AS ds,
                                   unnest([coalesce(upper(region), 'UNKNOWN'), 'ALL']) AS region
                            FROM {videos} WHERE published_date::DATE IN ({date_list})),
              new AS (SELECT p.ds, p.region, t.hashtag, count(DISTINCT p.video_id) AS new_videos
                      FROM published p JOIN t USING (video_id) GROUP BY ALL)
              SELECT * FROM stats LEFT JOIN spread USING (ds, region, hashtag) FULL JOIN new USING (ds, region, hashtag))
            TO {sql_str(str(out / 'hashtag_daily_stats.parquet'))} (FORMAT parquet)"""
        for table, sql in (("gold.video_daily_stats", video_sql), ("gold.hashtag_daily_stats", hashtag_sql)):
            t1 = time.perf_counter()
            con.execute(sql)
            res[table] = {"seconds": round(time.perf_counter() - t1, 3)}
        res["partials_seconds"] = round(t_partials, 3)
        res["seconds"] = round(time.perf_counter() - t0, 3)
        for table, f in (("gold.video_daily_stats", "video_daily_stats"), ("gold.hashtag_daily_stats", "hashtag_daily_stats")):
            res[table]["rows"] = con.execute(f"SELECT count(*) FROM {sql_str(str(out / (f + '.parquet')))}").fetchone()[0]
        res["threads"] = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    finally:
        con.close()
    return res


# ----------------------------------------------------------------------------- DuckDB reference: features
def duckdb_features(lake_root: Path, ds: str, cfg, out: Path) -> dict[str, Any]:
    """The six tables of the features step for ``ds`` in DuckDB SQL, from the same Parquet files the
    step reads: silver.events (``event_date = ds``), silver.video_hashtags, silver.videos,
    gold.user_interests (``ds - 1``), gold.user_daily_activity (the 27 days before ``ds``; ``ds``
    itself is the reference's own), gold.video_daily_stats / gold.hashtag_daily_stats (region ALL,
    ``ds - 6 .. ds``), ds's gold.video_trend_scores / gold.hashtag_trend_scores /
    gold.hashtag_rankings (region ALL). Definitions: :mod:`reelhouse.gold.features`. Each table into
    a Parquet file; seconds and rows per table, total seconds."""
    import duckdb

    from reelhouse.gold.features import feature_time, window
    from reelhouse.lake import Lake
    from reelhouse.lake.catalog import get_table

    lake = Lake(str(lake_root / "lake"))
    d = date.fromisoformat(ds)

    def src(name: str, where=None) -> str:
        root = lake.path(name)
        files = [f"{root}/{f}" for f in lake.arrow_dataset(name, where=where).files]
        if not files:  # an empty input: the catalog's schema, no rows (the table may not exist yet)
            view = "empty_" + name.replace(".", "_")
            con.register(view, get_table(name).arrow_schema().empty_table())
            return view
        return f"read_parquet([{', '.join(sql_str(f) for f in files)}], hive_partitioning = true, union_by_name = true)"

    tr, fc = cfg.trends, cfg.features
    thr, swipe, cap = float(tr.completion_threshold), float(fc.swipe_away_ratio), float(fc.watch_ratio_cap)
    decay, top_k = 0.5 ** (1.0 / float(fc.interest_half_life_days)), int(fc.top_k_interests)
    ft = feature_time(d).strftime("%Y-%m-%d %H:%M:%S+00")
    d7, day = (d - timedelta(days=6)).isoformat(), f"DATE '{ds}'"
    week = window(d, 7)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"temp_directory": str(out / "tmp")})
    con.execute("SET TimeZone = 'UTC'")
    known = "(event_type = 'play' AND video_duration_ms > 0 AND play_time_ms IS NOT NULL)"
    weighted = lambda rate: (f"sum({rate} * plays) FILTER (WHERE {rate} IS NOT NULL) / "  # noqa: E731
                             f"nullif(sum(plays) FILTER (WHERE {rate} IS NOT NULL), 0)")
    ratio = lambda num, den: f"CASE WHEN sum({den}) > 0 THEN sum({num}) / sum({den}) END"  # noqa: E731
    sql = {
        "gold.user_daily_activity": f"""
            SELECT user_id, count(*)::BIGINT AS events, count(*) FILTER (WHERE event_type = 'play') AS plays,
                   count(*) FILTER (WHERE {known}) AS plays_with_duration,
                   count(*) FILTER (WHERE {known} AND play_time_ms >= video_duration_ms * {thr}) AS completes,
                   count(*) FILTER (WHERE {known} AND play_time_ms < video_duration_ms * {swipe}) AS swipe_aways,
                   coalesce(sum(least(play_time_ms / video_duration_ms, {cap})) FILTER (WHERE {known}), 0.0) AS watch_ratio_sum,
                   count(*) FILTER (WHERE event_type = 'like') AS likes, count(*) FILTER (WHERE event_type = 'share') AS shares,
                   {day} AS ds
            FROM events WHERE user_id IS NOT NULL GROUP BY user_id""",
        "gold.user_interests": f"""
            WITH deltas AS (
                SELECT user_id, hashtag, sum(signal) AS delta
                FROM (SELECT user_id, video_id,
                             CASE WHEN play_time_ms >= video_duration_ms * {thr} THEN 1.0
                                  WHEN play_time_ms < video_duration_ms * {swipe} THEN -1.0 END AS signal
                      FROM events WHERE {known} AND user_id IS NOT NULL) p
                JOIN (SELECT DISTINCT video_id, hashtag FROM {src('silver.video_hashtags')}) t USING (video_id)
                WHERE signal IS NOT NULL GROUP BY user_id, hashtag HAVING sum(signal) != 0),
            prev AS (SELECT user_id, hashtag, score * {decay} AS carried
                     FROM {src('gold.user_interests', {'ds': [d - timedelta(days=1)]})}),
            merged AS (SELECT user_id, hashtag, coalesce(carried, 0.0) + coalesce(delta, 0.0) AS score
                       FROM prev FULL JOIN deltas USING (user_id, hashtag))
            SELECT user_id, hashtag, score, rank::INT AS rank, {day} AS ds
            FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY score DESC, hashtag) AS rank
                  FROM merged WHERE abs(score) > 1e-6)
            WHERE rank <= {top_k}""",
        "gold.user_features": f"""
            WITH activity AS (
                SELECT user_id, events, plays, plays_with_duration, completes, watch_ratio_sum, likes, shares, ds::DATE AS ds
                FROM {src('gold.user_daily_activity', {'ds': window(d, 28)[:-1]})}
                UNION ALL SELECT user_id, events, plays, plays_with_duration, completes, watch_ratio_sum, likes, shares, ds
                FROM uda),
            agg AS (
                SELECT user_id, sum(CASE WHEN ds >= {day} THEN events ELSE 0 END)::BIGINT AS events_1d,
                       sum(CASE WHEN ds >= DATE '{d7}' THEN events ELSE 0 END)::BIGINT AS events_7d,
                       sum(events)::BIGINT AS events_28d, sum(plays)::BIGINT AS plays_28d,
                       count(DISTINCT CASE WHEN events > 0 THEN ds END)::INT AS active_days_28d,
                       {ratio('watch_ratio_sum', 'plays_with_duration')} AS avg_watch_ratio_28d,
                       {ratio('completes', 'plays_with_duration')} AS completion_rate_28d,
                       {ratio('likes', 'plays')} AS like_rate_28d, {ratio('shares', 'plays')} AS share_rate_28d
                FROM activity GROUP BY user_id),
            top AS (SELECT user_id, list(hashtag ORDER BY rank) AS top_hashtags,
                           list(score ORDER BY rank) AS top_hashtag_scores FROM ui GROUP BY user_id)
            SELECT agg.*, top_hashtags, top_hashtag_scores, TIMESTAMPTZ '{ft}' AS feature_time, {day} AS ds
            FROM agg LEFT JOIN top USING (user_id)""",
        "gold.video_features": f"""
            WITH agg AS (
                SELECT video_id, sum(CASE WHEN ds = {day} THEN plays ELSE 0 END)::BIGINT AS views_1d,
                       sum(plays)::BIGINT AS views_7d, sum(impressions)::BIGINT AS impressions_7d,
                       {weighted('completion_rate')} AS completion_rate_7d, {weighted('avg_watch_ratio')} AS avg_watch_ratio_7d,
                       {ratio('likes', 'plays')} AS like_rate_7d, {ratio('shares', 'plays')} AS share_rate_7d
                FROM vstats GROUP BY video_id),
            t AS (SELECT video_id, trend_score FROM {src('gold.video_trend_scores', {'ds': [d]})} WHERE region = 'ALL')
            SELECT agg.video_id, TIMESTAMPTZ '{ft}' AS feature_time, v.creator_id,
                   CASE WHEN v.published_at IS NOT NULL
                        THEN (epoch(TIMESTAMPTZ '{ft}') - floor(epoch(v.published_at))) / 3600.0 END AS video_age_hours,
                   v.video_duration_ms, views_1d, views_7d, impressions_7d, completion_rate_7d, avg_watch_ratio_7d,
                   like_rate_7d, share_rate_7d, coalesce(t.trend_score, 0.0) AS trend_score, {day} AS ds
            FROM agg LEFT JOIN videos v USING (video_id) LEFT JOIN t USING (video_id)""",
        "gold.creator_features": f"""
            WITH v AS (SELECT video_id, creator_id, published_date::DATE AS published_date FROM videos
                       WHERE published_at < TIMESTAMPTZ '{ft}'),
            output AS (SELECT creator_id, count(*)::BIGINT AS videos_total,
                              sum(CASE WHEN published_date >= DATE '{d7}' THEN 1 ELSE 0 END)::BIGINT AS videos_7d
                       FROM v GROUP BY creator_id),
            reach AS (SELECT v.creator_id, count(DISTINCT CASE WHEN s.plays > 0 THEN s.video_id END) AS active_videos_7d,
                             sum(s.plays)::BIGINT AS views_7d, {weighted('completion_rate')} AS completion_rate_7d,
                             {ratio('likes', 'plays')} AS like_rate_7d, sum(s.follows)::BIGINT AS follows_7d
                      FROM vstats s JOIN v USING (video_id) GROUP BY v.creator_id)
            SELECT creator_id, TIMESTAMPTZ '{ft}' AS feature_time, videos_total, videos_7d,
                   coalesce(active_videos_7d, 0)::BIGINT AS active_videos_7d, coalesce(views_7d, 0)::BIGINT AS views_7d,
                   completion_rate_7d, like_rate_7d, coalesce(follows_7d, 0)::BIGINT AS follows_7d, {day} AS ds
            FROM output LEFT JOIN reach USING (creator_id)
            WHERE videos_7d > 0 OR views_7d IS NOT NULL""",
        "gold.hashtag_features": f"""
            WITH agg AS (
                SELECT hashtag, sum(CASE WHEN ds = {day} THEN plays ELSE 0 END)::BIGINT AS views_1d,
                       sum(plays)::BIGINT AS views_7d, {weighted('completion_rate')} AS completion_rate_7d,
                       {ratio('likes', 'plays')} AS like_rate_7d, sum(new_videos)::BIGINT AS new_videos_7d
                FROM (SELECT hashtag, ds::DATE AS ds, plays, completion_rate, likes, new_videos
                      FROM {src('gold.hashtag_daily_stats', {'ds': week})} WHERE region = 'ALL') GROUP BY hashtag),
            t AS (SELECT hashtag, trend_score FROM {src('gold.hashtag_trend_scores', {'ds': [d]})} WHERE region = 'ALL'),
            r AS (SELECT hashtag, trend_rank FROM {src('gold.hashtag_rankings', {'ds': [d]})} WHERE region = 'ALL')
            SELECT hashtag, TIMESTAMPTZ '{ft}' AS feature_time, views_1d, views_7d, completion_rate_7d, like_rate_7d,
                   new_videos_7d, coalesce(t.trend_score, 0.0) AS trend_score, r.trend_rank::INT AS trend_rank, {day} AS ds
            FROM agg LEFT JOIN t USING (hashtag) LEFT JOIN r USING (hashtag)""",
    }
    res: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        con.execute(f"""CREATE TEMP VIEW events AS SELECT user_id, video_id, event_type, play_time_ms, video_duration_ms
                        FROM {src('silver.events', {'event_date': [d]})}""")
        con.execute(f"""CREATE TEMP VIEW videos AS SELECT video_id, creator_id, published_at, published_date, video_duration_ms
                        FROM {src('silver.videos')}""")
        con.execute(f"""CREATE TEMP VIEW vstats AS SELECT video_id, ds::DATE AS ds, plays, impressions, completion_rate,
                               avg_watch_ratio, likes, shares, follows
                        FROM {src('gold.video_daily_stats', {'ds': week})} WHERE region = 'ALL'""")
        # the two tables user_features reads are the reference's own (as the step reads what it wrote)
        for table, name in (("gold.user_daily_activity", "uda"), ("gold.user_interests", "ui")):
            t1 = time.perf_counter()
            con.execute(f"CREATE TEMP TABLE {name} AS {sql[table]}")
            con.execute(f"COPY {name} TO {sql_str(str(out / (table + '.parquet')))} (FORMAT parquet)")
            res[table] = {"seconds": round(time.perf_counter() - t1, 3),
                          "rows": con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]}
        for table in ("gold.user_features", "gold.video_features", "gold.creator_features", "gold.hashtag_features"):
            t1 = time.perf_counter()
            path = out / (table + ".parquet")
            con.execute(f"COPY ({sql[table]}) TO {sql_str(str(path))} (FORMAT parquet)")
            res[table] = {"seconds": round(time.perf_counter() - t1, 3),
                          "rows": con.execute(f"SELECT count(*) FROM {sql_str(str(path))}").fetchone()[0]}
        res["seconds"] = round(time.perf_counter() - t0, 3)
    finally:
        con.close()
    return res


# ----------------------------------------------------------------------------- main
def measure(label: str, history: Path, events: int, tmp: Path, args) -> dict[str, Any]:
    from reelhouse.config import load_config

    root, gen = day_lake(history, events, tmp)
    print(f"[{label}] {gen['events']:,} events ({gen['lines']:,} lines, {gen['files']} files) generated in "
          f"{gen['seconds']:.0f} s; the night:", flush=True)
    env = night_env(root, args.redis_db, args.driver_memory)
    t0 = time.perf_counter()
    steps = run_night(label, env, DAY.isoformat())
    wall = time.perf_counter() - t0
    daily = next(s for s in steps if s["step"] == "daily_stats")
    ds_dates = (daily["report"] or {}).get("dates") or [DAY.isoformat()]
    duck = duckdb_daily_stats(root, ds_dates, load_config(environ=env), tmp / f"duckdb-{events}")
    feats = next(s for s in steps if s["step"] == "features")
    duck_features = duckdb_features(root, DAY.isoformat(), load_config(environ=env), tmp / f"duckdb-features-{events}")
    for step, ref in ((daily, duck), (feats, duck_features)):
        rows = (step["report"] or {}).get("rows", {})
        for t, n in rows.items():
            if t in ref and n != ref[t]["rows"]:
                print(f"  WARNING: {t}: Spark wrote {n:,} rows, DuckDB {ref[t]['rows']:,}", flush=True)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return {"label": label, "events": gen["events"], "lines": gen["lines"], "generate": gen, "steps": steps,
            "night_seconds": round(wall, 1), "events_per_second": round(gen["events"] / wall, 1),
            "duckdb_daily_stats": duck, "duckdb_features": duck_features, "daily_stats_dates": ds_dates}


def table(results: list[dict[str, Any]]) -> str:
    head = ["step"]
    for r in results:
        head += [f"{r['label']} s", "cpu s", "jvm GiB", "py GiB"]
    rows = [head]
    for i, s in enumerate(results[0]["steps"]):
        line = [s["step"]]
        for r in results:
            x = r["steps"][i]
            line += [f"{x['seconds']:.1f}", f"{x['cpu_seconds']:.1f}", f"{x['peak_jvm_gib']:.2f}", f"{x['peak_python_gib']:.2f}"]
        rows.append(line)
    line = ["night (wall)"]
    for r in results:
        line += [f"{r['night_seconds']:.1f}", "", f"{max(s['peak_jvm_gib'] for s in r['steps']):.2f}",
                 f"{max(s['peak_python_gib'] for s in r['steps']):.2f}"]
    rows.append(line)
    rows.append(["events/s end to end"] + sum(([f"{r['events_per_second']:,.0f}", "", "", ""] for r in results), []))
    return format_rows(rows, left=1)


def ratios(results: list[dict[str, Any]]) -> str:
    rows = [["night", "daily_stats s", "DuckDB s", "ratio", "video table s", "hashtag table s", "hashtag / video",
             "DuckDB video s", "DuckDB hashtag s"]]
    for r in results:
        daily = next(s for s in r["steps"] if s["step"] == "daily_stats")
        ts = (daily["report"] or {}).get("table_seconds", {})
        v, h = ts.get("gold.video_daily_stats"), ts.get("gold.hashtag_daily_stats")
        d = r["duckdb_daily_stats"]
        rows.append([r["label"], f"{daily['seconds']:.1f}", f"{d['seconds']:.2f}", f"{daily['seconds'] / d['seconds']:.1f}",
                     f"{v:.1f}" if v else "—", f"{h:.1f}" if h else "—", f"{h / v:.2f}" if v and h else "—",
                     f"{d['gold.video_daily_stats']['seconds']:.2f}", f"{d['gold.hashtag_daily_stats']['seconds']:.2f}"])
    return format_rows(rows, left=1)


def gold_vs_duckdb(results: list[dict[str, Any]]) -> str:
    """Spark step seconds against the DuckDB reference of the same tables, per night."""
    rows = [["night", "step", "Spark s", "DuckDB s", "ratio"]]
    for r in results:
        for step, key in (("daily_stats", "duckdb_daily_stats"), ("features", "duckdb_features")):
            ref = r.get(key)
            if not ref:
                continue
            s = next(x for x in r["steps"] if x["step"] == step)["seconds"]
            rows.append([r["label"], step, f"{s:.1f}", f"{ref['seconds']:.2f}", f"{s / ref['seconds']:.1f}"])
    return format_rows(rows, left=2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=positive_int, nargs="*", default=[1_000_000, 5_000_000, 10_000_000],
                   help="events of the measured day, one night each (default 1M 5M 10M; none: only --history-compare)")
    p.add_argument("--history-days", type=positive_int, default=7, help="nights already in the lake (default 7)")
    p.add_argument("--history-events", type=positive_int, default=200_000, help="events per history night (default 200k)")
    p.add_argument("--history-compare", action="store_true", help="also 1 vs 30 nights of history at --history-compare-events")
    p.add_argument("--history-compare-events", type=positive_int, default=1_000_000)
    p.add_argument("--quick", action="store_true", help="300k events after 2 nights of 50k: a smoke check")
    p.add_argument("--driver-memory", default=None, help="spark.driver.memory of the Spark steps (default: the configuration's)")
    p.add_argument("--redis-db", type=int, default=9, help="Redis database of the online publish (flushed first)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the cached history lakes")
    p.add_argument("--keep", action="store_true", help="keep each night's lake")
    p.add_argument("--tmp-dir", default=None)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.history_days, args.history_events = [300_000], 2, 50_000
    version = code_version()
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, db=args.redis_db).flushdb()
    except redis.exceptions.ConnectionError as exc:
        raise SystemExit(f"the online publish needs Redis on 127.0.0.1:6379 (make services): {exc}") from None
    tmp = Path(tempfile.mkdtemp(prefix="reelhouse-bench-nightly-", dir=args.tmp_dir))
    results, compare = [], []
    try:
        if args.sizes:
            t0 = time.perf_counter()
            history = history_lake(args.history_days, args.history_events, rebuild=args.rebuild)
            print(f"history: {args.history_days} nights × {args.history_events:,} events ready in "
                  f"{time.perf_counter() - t0:.0f} s ({history})", flush=True)
        for n in args.sizes:
            results.append(measure(f"{n / 1e6:g}M", history, n, tmp, args))
        if args.history_compare:
            for days in (1, 30):
                h = history_lake(days, args.history_events, rebuild=args.rebuild)
                compare.append(measure(f"{days}d hist", h, args.history_compare_events, tmp, args))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not results and not compare:
        raise SystemExit("nothing measured: give --sizes or --history-compare")
    if results:
        print(f"\nthe night of {DAY} as the DAGs run it (spark-submit per Spark step, local[2], delta-rs; gate, "
              f"publish to Redis and retrain in fresh Python processes), after {args.history_days} nights of "
              f"{args.history_events:,} events:")
        print(table(results))
        print("\ndaily_stats against its DuckDB reference (same silver files, same run):")
        print(ratios(results))
        print("\ngold steps against DuckDB references of their tables (the same input files, same run):")
        print(gold_vs_duckdb(results))
    if compare:
        print(f"\nthe same night at {args.history_compare_events:,} events on 1 vs 30 nights of history:")
        print(table(compare))
        a, b = compare
        rows = [["step", "1 night s", "30 nights s", "ratio"]]
        for x, y in zip(a["steps"], b["steps"]):
            rows.append([x["step"], f"{x['seconds']:.1f}", f"{y['seconds']:.1f}", f"{y['seconds'] / x['seconds']:.2f}"])
        rows.append(["night", f"{a['night_seconds']:.1f}", f"{b['night_seconds']:.1f}", f"{b['night_seconds'] / a['night_seconds']:.2f}"])
        print(format_rows(rows, left=1))
    busy = contention_warning((f"{r['label']} {s['step']}", s["other_cores"]) for r in results + compare for s in r["steps"])
    if busy:
        print(busy)
    doc = {"day": DAY.isoformat(), "history_days": args.history_days, "history_events": args.history_events,
           "nights": results, "history_compare": compare, "code": version, "machine": machine_info(["duckdb", "lightgbm"])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
