"""Gold benchmark: the nightly gold steps (daily_stats, trends) on a big day against a DuckDB
reference, and their cost as the lake's history grows.

Part 1 — **a big day** (``--events`` N, default 5M, one landing date ``2024-06-01``, seed 1):

1. generate N events into a fresh temporary landing folder (:func:`reelhouse.sources.generator.generate`,
   the generator's default delivery defects) and ingest them with
   ``run_date(d, steps=["ingest"])`` — both timed and reported, not part of the comparison;
2. time the gold steps ``daily_stats`` and ``trends`` separately (the day has no history: trends
   scores every item on velocity). The steps run exactly as ``run_date`` runs them
   (``STEPS[name].runner()(spark, lake, config, d, run_version=…)``) but through a lake that records
   the wall time of each table commit, so the ``gold.video_daily_stats`` commit (Spark is lazy: its
   scan of silver and its aggregation land inside it) is reported on its own;
3. a DuckDB SQL reference that computes the same ``gold.video_daily_stats`` rows — per ds, region
   (``UNKNOWN`` when absent, plus ``ALL``) and video: impressions, plays, unique viewers, total and
   average watch time, average watch ratio over plays with a known duration, completion rate
   (``play_time_ms >= 0.9 × duration``), likes, shares, comments, follows, engaged users (distinct
   and spam-weighted), creator/publish date from ``silver.videos`` — from the SAME silver Parquet
   files (``deltalake.DeltaTable(…).file_uris()`` → ``read_parquet([...], hive_partitioning=true)``;
   DuckDB's delta extension cannot be downloaded here) into one Parquet file. Timed: listing the
   files from the Delta log, the query and the Parquet write.

   Check: DuckDB's row count equals the Spark table's ``ds`` partition row count and the sums of
   impressions / plays / likes (and unique viewers, engaged users) agree; every row is also compared
   column by column (doubles to a relative 1e-9) and the differing rows are counted.

   ``daily_stats`` also writes ``gold.hashtag_daily_stats`` (events × video hashtags, distinct
   videos/creators, new videos per tag), which the reference does not compute, and commits to Delta;
   so ``daily_stats s / DuckDB s`` is an upper bound on reelhouse's overhead and
   ``video table s / DuckDB s`` is the closer like-for-like figure.

Part 2 — **nightly cost vs history length** (``--history-events`` H per day, default 200k):

* lake (b): generate 15 days (``2024-06-01`` … ``06-15``), run every step for days 1–14 and ingest
  day 15 (setup, timed and reported); then time ``daily_stats`` and ``trends`` for day 15, which
  has 14 previous days;
* lake (a): generate 2 days (``2024-06-14``, ``06-15``), run every step for the first and ingest the
  second; then time ``daily_stats`` and ``trends`` for ``06-15``, which has 1 previous day.

Both lakes are set up first; then the final night is timed alternately in a, b, a, b
(``--repeats``, default 2; later runs are reruns that replace the same partitions), so both get the
same JVM warm-up, and the fastest run of each step is the figure compared.

Same events per day, so the two nights should cost about the same; ``ratio = (b) / (a)``. What can
legitimately differ: late events (1 % of a day's events, up to 3 days late) make ``daily_stats``
recompute every event date they touch, and those dates hold full days of silver rows only in the
long lake; trends reads a baseline of ``min(history, 7)`` days of daily stats. The table shows the
dates recomputed, the silver rows they hold and the baseline days, so a difference can be traced.

Usage (from the project root)::

    .venv/bin/python bench/bench_gold.py                      # 5M-event day, 15 × 200k history
    .venv/bin/python bench/bench_gold.py --quick              # 300k-event day, 15 × 50k (smoke check)
    .venv/bin/python bench/bench_gold.py --events 2000000 --history-events 100000 --out /tmp/gold.json

Before measuring, the script waits (polling every 30 s, up to ``--max-wait`` seconds, default 20 min)
until no other ``bench_ingest.py`` / ``bench_gold.py`` / ``bench_quality.py`` process is running: the
machine has 2 cores. Configuration as in ``bench_ingest.py`` (helpers shared through
``bench/_common.py``): ``REELHOUSE_ENV=local`` (Spark ``local[2]``), the delta-rs lake engine,
landing/lake paths in temporary folders (removed at the end; ``--tmp-dir``), ``spark.driver.memory``
8g unless ``REELHOUSE__SPARK__CONF__spark.driver.memory`` is set.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared helpers
from _common import (  # noqa: E402
    DEFAULT_MAX_WAIT,
    REPO,
    CpuMonitor,
    PhaseTimer,
    code_version,
    duckdb_viewer_aggregates,
    contention_warning,
    fmt_int,
    format_rows,
    generate_days,
    header_lines,
    lake_config,
    local_env,
    machine_info,
    positive_int,
    rate,
    run_pipeline,
    spark_settings,
    sql_str,
    start_spark,
    timed_lake_class,
    wait_for_quiet,
)

SEED = 1
BIG_DATE = date(2024, 6, 1)
DEFAULT_EVENTS = 5_000_000
DEFAULT_HISTORY_EVENTS = 200_000
QUICK_EVENTS = 300_000
QUICK_HISTORY_EVENTS = 50_000
HISTORY_START = date(2024, 6, 1)
HISTORY_DAYS = 15  # the long lake: 14 previous days + the measured day
FINAL_DATE = HISTORY_START + timedelta(days=HISTORY_DAYS - 1)
DEFAULT_OUT = REPO / "bench" / "results" / "gold.json"
GOLD_STEPS = ("daily_stats", "trends")
#: relative tolerance for doubles in the row-by-row comparison with DuckDB
REL_TOL = 1e-9

DUCKDB_NOTE = (
    "The DuckDB reference computes gold.video_daily_stats only, from the same silver Parquet files, "
    "into one Parquet file. daily_stats also computes gold.hashtag_daily_stats and commits both to "
    "Delta, so daily_stats s / DuckDB s is an upper bound on reelhouse's overhead; the "
    "gold.video_daily_stats commit alone (its silver scan and aggregation included) is the closer "
    "like-for-like figure."
)
HISTORY_NOTE = (
    "Same events per day in both lakes. Late events (1 % of a day, up to 3 days late) make "
    "daily_stats recompute each event date they touch, and those dates hold full days of silver "
    "rows only in the long lake; trends reads min(history, 7) baseline days of daily stats."
)
ORDER_NOTE = (
    "Everything runs in one Spark JVM, in this order: big day (ingest, daily_stats, trends, DuckDB), "
    "setup of lake b then lake a, then the final night alternately in a and b; the big day's ingest "
    "also pays JVM/JIT warm-up. Runs after the first in a lake are reruns (same partitions replaced)."
)


# ----------------------------------------------------------------------------- helpers
def silver_rows(lake, dates: list[str]) -> int:
    """Rows of silver.events in the given event_date partitions, from the Delta log."""
    import pyarrow as pa

    adds = pa.table(lake.delta_table("silver.events").get_add_actions(flatten=True))
    wanted = set(dates)
    return sum(n or 0 for n, d in zip(adds["num_records"].to_pylist(), adds["partition.event_date"].to_pylist())
               if str(d) in wanted)


def timed_gold_step(spark, cfg, d: date, step: str, lake_cls, monitor: CpuMonitor) -> dict[str, Any]:
    """Run one gold step for ``d`` as ``run_date`` does, through a lake that times every commit."""
    from reelhouse.pipeline import STEPS

    timer = PhaseTimer()
    lake = lake_cls.from_config(cfg, spark)
    lake.timer = timer
    s0 = monitor.snapshot()
    t0 = time.perf_counter()
    report = STEPS[step].runner()(spark, lake, cfg, d, run_version=int(time.time() * 1000))
    secs = time.perf_counter() - t0
    other = monitor.other_cores(s0, monitor.snapshot())
    phases = {k: round(v, 3) for k, v in timer.seconds.items()}
    phases["outside table commits"] = round(secs - sum(timer.seconds.values()), 3)
    rep = report.to_dict()
    out: dict[str, Any] = {
        "seconds": round(secs, 3),
        "report_seconds": rep.get("seconds"),
        "message": rep.get("message"),
        "rows": rep.get("rows", {}),
        "phases_seconds": phases,
        "other_processes_cores": other,
    }
    if step == "daily_stats":
        out["dates"] = rep.get("dates", [])
        out["silver_rows_read"] = silver_rows(lake, out["dates"])
    else:
        out["baseline_days_available"] = rep.get("baseline_days_available")
        out["top_hashtags"] = rep.get("top_hashtags", [])[:5]
    return out


# ----------------------------------------------------------------------------- DuckDB reference
def duckdb_video_daily_stats(lake, cfg, root: Path) -> dict[str, Any]:
    """gold.video_daily_stats in DuckDB SQL from silver.events / silver.videos Parquet files."""
    import duckdb
    from deltalake import DeltaTable

    out_dir = root / "duckdb"
    out_dir.mkdir()
    out = out_dir / "video_daily_stats.parquet"
    thr = float(cfg.trends.completion_threshold)
    cap = float(cfg.trends.spam_event_cap)
    con = duckdb.connect(config={"temp_directory": str(root / "duckdb_tmp")})
    try:
        con.execute("SET TimeZone = 'UTC'")
        threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
        t0 = time.perf_counter()
        # the lake holds one landing date: every silver file is in the event dates daily_stats recomputed
        event_files = DeltaTable(lake.path("silver.events")).file_uris()
        video_files = DeltaTable(lake.path("silver.videos")).file_uris()
        ev_list = "[" + ", ".join(sql_str(f) for f in event_files) + "]"
        videos = (
            f"SELECT video_id, creator_id, published_date::DATE AS published_date "
            f"FROM read_parquet([{', '.join(sql_str(f) for f in video_files)}], hive_partitioning = true)"
            if video_files else "SELECT NULL::VARCHAR AS video_id, NULL::VARCHAR AS creator_id, NULL::DATE AS published_date WHERE false"
        )
        query = f"""
            WITH ev AS (
                SELECT event_date::DATE AS ds,
                       unnest([coalesce(upper(region), 'UNKNOWN'), 'ALL']) AS region,
                       video_id, user_id, event_type, play_time_ms, video_duration_ms
                FROM read_parquet({ev_list}, hive_partitioning = true)
                WHERE video_id IS NOT NULL
            ),
            per_user AS (          -- one row per (ds, region, video, user), as the Spark job
                SELECT ds, region, video_id, user_id, {duckdb_viewer_aggregates(thr)}
                FROM ev
                GROUP BY ds, region, video_id, user_id
            ),
            stats AS (
                SELECT ds, region, video_id,
                    sum(impressions)::BIGINT AS impressions,
                    sum(plays)::BIGINT AS plays,
                    count(*) FILTER (WHERE impressions + plays > 0) AS unique_viewers,
                    sum(watch_ms)::BIGINT AS total_watch_time_ms,
                    sum(known_plays) AS known_plays,
                    sum(ratio_sum) AS ratio_sum,
                    sum(completes) AS completes,
                    sum(likes)::BIGINT AS likes,
                    sum(shares)::BIGINT AS shares,
                    sum(comments)::BIGINT AS comments,
                    sum(follows)::BIGINT AS follows,
                    count(*) FILTER (WHERE engaged_events > 0) AS engaged_users,
                    coalesce(sum(least(1.0, {cap}::DOUBLE / engaged_events)) FILTER (WHERE engaged_events > 0), 0.0)
                        AS engaged_users_weighted
                FROM per_user
                GROUP BY ds, region, video_id
            )
            SELECT s.region, s.video_id, v.creator_id, v.published_date,
                   coalesce(v.published_date = s.ds, false) AS is_new_video,
                   s.impressions, s.plays, s.unique_viewers, s.total_watch_time_ms,
                   CASE WHEN s.plays > 0 THEN s.total_watch_time_ms / s.plays END AS avg_watch_time_ms,
                   CASE WHEN s.known_plays > 0 THEN s.ratio_sum / s.known_plays END AS avg_watch_ratio,
                   CASE WHEN s.known_plays > 0 THEN s.completes / s.known_plays END AS completion_rate,
                   s.likes, s.shares, s.comments, s.follows, s.engaged_users, s.engaged_users_weighted, s.ds
            FROM stats s LEFT JOIN ({videos}) v USING (video_id)
        """
        rows = con.execute(f"COPY ({query}) TO {sql_str(str(out))} (FORMAT parquet, COMPRESSION snappy)").fetchone()[0]
        secs = time.perf_counter() - t0
    finally:
        con.close()
    return {
        "seconds": round(secs, 3),
        "rows_written": int(rows),
        "silver_files": len(event_files),
        "parquet_bytes": out.stat().st_size,
        "threads": threads,
        "path": str(out),
    }


def compare_with_spark(lake, d: date, duck_parquet: str) -> dict[str, Any]:
    """Row count and sums of DuckDB's result against the Spark table's ``ds`` partition, and a
    row-by-row comparison on the key (ds, region, video_id)."""
    import duckdb
    from deltalake import DeltaTable

    gold_files = DeltaTable(lake.path("gold.video_daily_stats")).file_uris()
    gold_files = [f for f in gold_files if f"/ds={d.isoformat()}/" in f]
    sums = ("impressions", "plays", "likes", "unique_viewers", "engaged_users")
    agg = ", ".join(f"sum({c})::BIGINT" for c in sums)
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW spark AS SELECT * FROM read_parquet([{', '.join(sql_str(f) for f in gold_files)}], "
                    f"hive_partitioning = true) WHERE ds::DATE = DATE {sql_str(d.isoformat())}")
        con.execute(f"CREATE VIEW duck AS SELECT * FROM read_parquet({sql_str(duck_parquet)})")
        s = con.execute(f"SELECT count(*), {agg} FROM spark").fetchone()
        k = con.execute(f"SELECT count(*), {agg} FROM duck").fetchone()
        exact = ("creator_id", "published_date", "is_new_video", "impressions", "plays", "unique_viewers",
                 "total_watch_time_ms", "likes", "shares", "comments", "follows", "engaged_users")
        approx = ("avg_watch_time_ms", "avg_watch_ratio", "completion_rate", "engaged_users_weighted")
        cond = " OR ".join(
            [f"s.{c} IS DISTINCT FROM k.{c}" for c in exact]
            + [f"(s.{c} IS NULL) <> (k.{c} IS NULL) OR abs(s.{c} - k.{c}) > {REL_TOL} * greatest(1.0, abs(s.{c}))"
               for c in approx]
        )
        only_spark, only_duck, differ = con.execute(f"""
            SELECT count(*) FILTER (WHERE k.video_id IS NULL),
                   count(*) FILTER (WHERE s.video_id IS NULL),
                   count(*) FILTER (WHERE s.video_id IS NOT NULL AND k.video_id IS NOT NULL AND ({cond}))
            FROM spark s FULL OUTER JOIN duck k
              ON s.ds::DATE = k.ds AND s.region = k.region AND s.video_id = k.video_id
        """).fetchone()
    finally:
        con.close()
    spark_sums = dict(zip(sums, s[1:]))
    duck_sums = dict(zip(sums, k[1:]))
    ok = s[0] == k[0] and spark_sums == duck_sums and only_spark == only_duck == differ == 0
    return {
        "ok": ok,
        "spark_rows": int(s[0]),
        "duckdb_rows": int(k[0]),
        "spark_sums": spark_sums,
        "duckdb_sums": duck_sums,
        "rows_only_in_spark": int(only_spark),
        "rows_only_in_duckdb": int(only_duck),
        "rows_differing": int(differ),
    }


# ----------------------------------------------------------------------------- the two parts
def bench_big_day(spark, tmp_root: Path, n: int, lake_cls, monitor: CpuMonitor) -> dict[str, Any]:
    from reelhouse.lake import Lake

    root = tmp_root / "bigday"
    cfg = lake_config(root)
    tag = f"[big day {fmt_int(n)}]"
    print(f"{tag} generating ...", flush=True)
    gen = generate_days(root, BIG_DATE, 1, n, seed=SEED)
    print(f"{tag} generated {fmt_int(gen['lines'])} lines in {gen['seconds']:.1f} s; ingesting ...", flush=True)
    s0 = monitor.snapshot()
    ingest_s = run_pipeline(spark, cfg, BIG_DATE, ["ingest"])
    ingest = {"seconds": round(ingest_s, 3), "other_processes_cores": monitor.other_cores(s0, monitor.snapshot()),
              "lines_per_second": rate(gen["lines"], ingest_s)}
    lake = Lake.from_config(cfg, spark)
    ingest["silver_rows"] = lake.describe("silver.events")["rows"]
    print(f"{tag} ingested in {ingest_s:.1f} s ({fmt_int(ingest['silver_rows'])} silver rows)", flush=True)
    steps: dict[str, Any] = {}
    for step in GOLD_STEPS:
        steps[step] = timed_gold_step(spark, cfg, BIG_DATE, step, lake_cls, monitor)
        print(f"{tag} {step} in {steps[step]['seconds']:.1f} s", flush=True)
    print(f"{tag} DuckDB reference ...", flush=True)
    s0 = monitor.snapshot()
    duck = duckdb_video_daily_stats(lake, cfg, root)
    duck["other_processes_cores"] = monitor.other_cores(s0, monitor.snapshot())
    print(f"{tag} DuckDB in {duck['seconds']:.1f} s; checking ...", flush=True)
    check = compare_with_spark(lake, BIG_DATE, duck["path"])
    ds_s = steps["daily_stats"]["seconds"]
    video_s = steps["daily_stats"]["phases_seconds"].get("commit gold.video_daily_stats", 0.0)
    result = {
        "events": n,
        "date": BIG_DATE.isoformat(),
        "generate": gen,
        "ingest": ingest,
        "daily_stats": steps["daily_stats"],
        "trends": steps["trends"],
        "gold_seconds": round(ds_s + steps["trends"]["seconds"], 3),
        "video_table_seconds": round(video_s, 3),
        "duckdb": duck,
        "ratio_daily_stats_to_duckdb": round(ds_s / duck["seconds"], 2) if duck["seconds"] > 0 else None,
        "ratio_video_table_to_duckdb": round(video_s / duck["seconds"], 2) if duck["seconds"] > 0 else None,
        "check": check,
    }
    shutil.rmtree(root, ignore_errors=True)  # free the disk before part 2
    return result


def setup_history_lake(spark, tmp_root: Path, name: str, days: int, n: int) -> tuple[Any, dict[str, Any]]:
    """A lake of ``days`` days ending on FINAL_DATE: every step for the first ``days - 1`` days and
    ingest of the last. Returns its configuration and the setup figures."""
    root = tmp_root / name
    cfg = lake_config(root)
    start = FINAL_DATE - timedelta(days=days - 1)
    tag = f"[lake {name}: {days - 1} previous day{'s' if days > 2 else ''}]"
    print(f"{tag} generating {days} × {fmt_int(n)} events ...", flush=True)
    gen = generate_days(root, start, days, n, seed=SEED)
    print(f"{tag} generated in {gen['seconds']:.1f} s; setup ...", flush=True)
    t0 = time.perf_counter()
    per_day = {}
    for k in range(days):
        d = start + timedelta(days=k)
        last = d == FINAL_DATE
        secs = run_pipeline(spark, cfg, d, ["ingest"] if last else None)
        per_day[d.isoformat()] = round(secs, 3)
        print(f"{tag}   {d} {'ingest' if last else 'all steps'}: {secs:.1f} s", flush=True)
    return cfg, {
        "lake": name,
        "previous_days": days - 1,
        "events_per_day": n,
        "final_date": FINAL_DATE.isoformat(),
        "generate": gen,
        "setup_seconds": round(time.perf_counter() - t0, 3),
        "setup_seconds_per_day": per_day,
    }


def bench_history(spark, tmp_root: Path, n: int, repeats: int, lake_cls, monitor: CpuMonitor) -> dict[str, Any]:
    """Set up lake b (14 previous days) and lake a (1 previous day), then time daily_stats and
    trends of FINAL_DATE in a, b, a, b, … order (so both get the same JVM warm-up). Run 2 and later
    are reruns (same partitions replaced). The fastest run per step is the figure compared."""
    cfgs, lakes = {}, {}
    for name, days in (("b", HISTORY_DAYS), ("a", 2)):
        cfgs[name], lakes[name] = setup_history_lake(spark, tmp_root, name, days, n)
        lakes[name]["runs"] = []
    for rep in range(repeats):
        for name in ("a", "b"):
            run = {step: timed_gold_step(spark, cfgs[name], FINAL_DATE, step, lake_cls, monitor) for step in GOLD_STEPS}
            run["gold_seconds"] = round(run["daily_stats"]["seconds"] + run["trends"]["seconds"], 3)
            lakes[name]["runs"].append(run)
            print(f"[lake {name}] {FINAL_DATE} run {rep + 1}/{repeats}: daily_stats {run['daily_stats']['seconds']:.1f} s, "
                  f"trends {run['trends']['seconds']:.1f} s", flush=True)
    for name, r in lakes.items():
        r["daily_stats"] = min((x["daily_stats"] for x in r["runs"]), key=lambda x: x["seconds"])
        r["trends"] = min((x["trends"] for x in r["runs"]), key=lambda x: x["seconds"])
        r["gold_seconds"] = round(r["daily_stats"]["seconds"] + r["trends"]["seconds"], 3)
        shutil.rmtree(tmp_root / name, ignore_errors=True)

    def ratio(step: str) -> float | None:
        x, y = lakes["b"][step], lakes["a"][step]
        x, y = (x, y) if step == "gold_seconds" else (x["seconds"], y["seconds"])
        return round(x / y, 3) if y else None

    return {
        "events_per_day": n,
        "repeats": repeats,
        "a": lakes["a"],
        "b": lakes["b"],
        "ratio": {"daily_stats": ratio("daily_stats"), "trends": ratio("trends"), "gold": ratio("gold_seconds")},
    }


# ----------------------------------------------------------------------------- report
def format_big_day(b: dict[str, Any]) -> str:
    rows = [["events", "silver rows", "ingest s", "daily_stats s", "video table s", "trends s",
             "DuckDB s", "daily_stats/DuckDB", "video table/DuckDB", "check"]]
    rows.append([
        fmt_int(b["events"]), fmt_int(b["ingest"]["silver_rows"]), f"{b['ingest']['seconds']:.1f}",
        f"{b['daily_stats']['seconds']:.1f}", f"{b['video_table_seconds']:.1f}", f"{b['trends']['seconds']:.1f}",
        f"{b['duckdb']['seconds']:.1f}", f"{b['ratio_daily_stats_to_duckdb']:.1f}x",
        f"{b['ratio_video_table_to_duckdb']:.1f}x", "ok" if b["check"]["ok"] else "MISMATCH",
    ])
    return format_rows(rows)


def format_history(h: dict[str, Any]) -> str:
    rows = [["lake", "previous days", "events/day", "dates recomputed", "silver rows read", "baseline days",
             "daily_stats s", "trends s", "gold s", "gold s per run"]]
    for r in (h["a"], h["b"]):
        ds, tr = r["daily_stats"], r["trends"]
        rows.append([
            r["lake"], str(r["previous_days"]), fmt_int(r["events_per_day"]), str(len(ds["dates"])),
            fmt_int(ds["silver_rows_read"]), str(tr["baseline_days_available"]), f"{ds['seconds']:.1f}",
            f"{tr['seconds']:.1f}", f"{r['gold_seconds']:.1f}",
            ", ".join(f"{x['gold_seconds']:.1f}" for x in r["runs"]),
        ])
    rt = h["ratio"]
    rows.append(["ratio b/a", "", "", "", "", "", f"{rt['daily_stats']:.2f}x", f"{rt['trends']:.2f}x", f"{rt['gold']:.2f}x", ""])
    return format_rows(rows)


def _phases(step: dict[str, Any]) -> list[str]:
    return [f"        {secs:8.1f} s  {name}" for name, secs in sorted(step["phases_seconds"].items(), key=lambda kv: -kv[1])]


def print_report(doc: dict[str, Any]) -> None:
    print()
    print("\n".join(header_lines(doc)))
    print(f"SparkSession start-up (excluded below): {doc['spark_startup_seconds']:.1f} s; "
          f"waited {doc['wait']['waited_seconds']:.0f} s for other benchmarks")

    b = doc["big_day"]
    print()
    print(f"1. gold steps on a big day ({b['date']}, no history) vs a DuckDB reference")
    print(f"   generate {b['generate']['seconds']:.1f} s ({fmt_int(b['generate']['lines'])} lines); "
          f"ingest {b['ingest']['seconds']:.1f} s (not compared)")
    print()
    print(format_big_day(b))
    print()
    ck = b["check"]
    print(f"check: rows Spark {fmt_int(ck['spark_rows'])} / DuckDB {fmt_int(ck['duckdb_rows'])}; "
          + ", ".join(f"{k} {fmt_int(ck['spark_sums'][k])} / {fmt_int(ck['duckdb_sums'][k])}" for k in ck["spark_sums"])
          + f"; rows only in Spark {ck['rows_only_in_spark']}, only in DuckDB {ck['rows_only_in_duckdb']}, "
          f"differing {ck['rows_differing']} -> {'OK' if ck['ok'] else 'MISMATCH'}")
    for step in GOLD_STEPS:
        print(f"    {step} {b[step]['seconds']:.1f} s:")
        print("\n".join(_phases(b[step])))

    h = doc["history"]
    print()
    print(f"2. nightly gold cost vs history length (final day {h['a']['final_date']}, "
          f"{fmt_int(h['events_per_day'])} events/day; fastest of {h['repeats']} runs per step, run a, b, a, b …)")
    print(f"   setup: lake a {h['a']['generate']['seconds']:.1f} s generate + {h['a']['setup_seconds']:.1f} s steps; "
          f"lake b {h['b']['generate']['seconds']:.1f} s generate + {h['b']['setup_seconds']:.1f} s steps")
    print()
    print(format_history(h))
    print()
    for r in (h["a"], h["b"]):
        print(f"    lake {r['lake']}: dates recomputed {', '.join(r['daily_stats']['dates'])}")

    print()
    print("note: " + doc["note"])
    print("note: " + doc["history_note"])
    print("note: " + doc["order_note"])
    measured = [("big day " + st, b[st]) for st in (*GOLD_STEPS,)] + [("big day ingest", b["ingest"]),
                                                                      ("big day DuckDB", b["duckdb"])]
    measured += [(f"lake {r['lake']} run {i + 1} {st}", run[st])
                 for r in (h["a"], h["b"]) for i, run in enumerate(r["runs"]) for st in GOLD_STEPS]
    warning = contention_warning((name, x.get("other_processes_cores")) for name, x in measured)
    if warning:
        print(warning)
    print(f"whole benchmark: {doc['wall_seconds']:.0f} s; results: {doc['out']}")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_gold", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=positive_int, default=DEFAULT_EVENTS,
                   help=f"events of the big day (default {DEFAULT_EVENTS:_})")
    p.add_argument("--history-events", type=positive_int, default=DEFAULT_HISTORY_EVENTS,
                   help=f"events per day of the history lakes (default {DEFAULT_HISTORY_EVENTS:_})")
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_EVENTS:_} / {QUICK_HISTORY_EVENTS:_} events (smoke check); overrides the sizes")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT.relative_to(REPO)})")
    p.add_argument("--tmp-dir", default=None, help="where the temporary landing/lake folders go (default: system temp)")
    p.add_argument("--repeats", type=positive_int, default=2,
                   help="timed runs of the final night per history lake, alternating a, b (default 2)")
    p.add_argument("--max-wait", type=float, default=DEFAULT_MAX_WAIT,
                   help="seconds to wait for other running benchmarks before measuring (default 1200)")
    args = p.parse_args(argv)
    events, history_events = (QUICK_EVENTS, QUICK_HISTORY_EVENTS) if args.quick else (args.events, args.history_events)

    wall0 = time.perf_counter()
    code = code_version()  # before anything is imported: what this run measures
    started = datetime.now(timezone.utc)
    wait = wait_for_quiet(args.max_wait)
    local_env()

    tmp_root = Path(tempfile.mkdtemp(prefix="reelhouse-bench-gold-", dir=args.tmp_dir))
    spark = None
    monitor = CpuMonitor()
    lake_cls = timed_lake_class()
    try:
        cfg = lake_config(tmp_root / "unused")
        spark, startup = start_spark(cfg, "reelhouse-bench-gold")

        big = bench_big_day(spark, tmp_root, events, lake_cls, monitor)
        history = bench_history(spark, tmp_root, history_events, args.repeats, lake_cls, monitor)
        doc = {
            "benchmark": "gold",
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - wall0, 1),
            "out": str(args.out),
            "machine": machine_info(("duckdb",)),
            "code": code,
            "wait": wait,
            "settings": {
                "seed": SEED,
                **spark_settings(spark, cfg),
                "trends": {"baseline_days": cfg.trends.baseline_days,
                           "completion_threshold": cfg.trends.completion_threshold,
                           "spam_event_cap": cfg.trends.spam_event_cap},
            },
            "spark_startup_seconds": round(startup, 3),
            "note": DUCKDB_NOTE,
            "history_note": HISTORY_NOTE,
            "order_note": ORDER_NOTE,
            "big_day": big,
            "history": history,
        }
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(tmp_root, ignore_errors=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    print_report(doc)
    return 0 if big["check"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
