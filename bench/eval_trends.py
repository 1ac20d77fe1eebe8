"""Trend evaluation: how well the trending lists find what is rising now, on data with known trends —
the project's score beside the score it replaced and two naive baselines, in one run.

Two worlds, each scored by the real trends step (``run_date(d, steps=[...])``: the same code the
nightly runs), lists read from ``gold.trending_hashtags``:

1. **generated** — a week of the event generator (:func:`reelhouse.sources.generator.generate`,
   ``--events`` per day, seed 7, 10 planted trending hashtags starting on day 4 and peaking on day 6,
   one steady high-volume tag, one spam burst from 5 accounts), through ``ingest``, ``daily_stats``
   and ``trends``; region ``ALL``. Ground truth: ``<landing>/_ground_truth/generation.json``.
   Relevant on day t: the planted tags whose trend has started. Steady items: the ground truth's
   steady tag, the spam tag and the 50 largest other tags of the days before the trends start.
2. **synthetic** — 21 days of daily stats written straight into ``gold.hashtag_daily_stats`` of one
   region of 25,000 engaged users (``silver.events`` holds one play per user and day, so the
   trends step measures the region's size as it does on real data), with the shapes of issue 14:
   300 background tags (means 1..400, negative-binomial noise φ = 0.04), 15 large flat tags
   (2,000..20,000 users ± 20 % uniform noise), 20 "handful" tags (0.5..3 users jumping once to
   8..15), 8 moderate risers (35..60 users ×2.3, ×3, ×3.5 then flat), 6 one-day spikes (×6, then
   back), 6 slow burns (×1.25 a day for a week, then flat). Relevant on day t: a riser or slow
   burn from its start on, a spike on its spike day only. Steady items: background, large flat and
   handful tags. Days 1..7 have no event: the quiet days.

Methods (lists of at most 10 per day; day 0, the lake's first, is not evaluated):

* **project** — ``gold.trending_hashtags`` ranks 1..10 as the trends step wrote them;
* **previous** — the score this change replaced, re-implemented here in pandas from the same daily
  stats: Poisson ``z = (o − e) / sqrt(e + k)``, support ``o ≥ max(3, 0.5 % × region users)``,
  ``raw = max(z, 0)``, half-life-1-day decay, the top 10 by decayed score > 0;
* **volume** — today's top 10 by (spam-weighted) engaged users;
* **day-over-day** — today's top 10 by ``o_t / max(o_{t−1}, 1)`` among tags with ``o_t ≥ 3``.

Metrics: **precision@10** = listed rows that are relevant / listed rows (over every evaluated day,
quiet days included, so padding a list with noise costs); **recall** = planted trends listed at least
once while rising (generated: start .. peak day; synthetic risers: start .. +2, slow burns start .. +6,
spikes: the spike day); **days to detect** = mean of (first listing day − start) over the trends
found; **steady listed** = listings of steady items (item-days); **after collapse** = spike listings
after the spike day; **rows/quiet day** = mean list length on the days with nothing relevant.

Usage (from the project root)::

    .venv/bin/python bench/eval_trends.py                    # both worlds, 60k events a generated day
    .venv/bin/python bench/eval_trends.py --events 100000    # closer to tests/integration/test_trends_week.py
    .venv/bin/python bench/eval_trends.py --skip-generated   # the synthetic series only (~2 min)

Settings as the other benchmarks (``bench/_common.py``): ``REELHOUSE_ENV=local`` (Spark
``local[2]``), the delta-rs lake engine, temporary lake folders (removed at the end; ``--tmp-dir``),
``spark.driver.memory`` 4g unless ``REELHOUSE__SPARK__CONF__spark.driver.memory`` is set. Prints one
table and writes ``bench/results/trends_eval.json``. Quality figures, not timings: it does not wait
for other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: the shared helpers
from _common import (  # noqa: E402
    REPO,
    code_version,
    format_rows,
    header_lines,
    lake_config,
    local_env,
    machine_info,
    positive_int,
    run_pipeline,
    spark_settings,
    start_spark,
)

DEFAULT_OUT = REPO / "bench" / "results" / "trends_eval.json"
DEFAULT_EVENTS = 60_000
GEN_START = date(2024, 6, 1)
GEN_DAYS = 7
GEN_SEED = 7
SYN_START = date(2024, 7, 1)
SYN_DAYS = 21
SYN_SEED = 14
SYN_REGION = "XL"
SYN_REGION_USERS = 25_000
TOP = 10
METHODS = ("project", "previous", "volume", "day-over-day")
NAIVE_MIN_SUPPORT = 3.0


# ----------------------------------------------------------------------------- methods
def volume_lists(o: "Any", days: list[date]) -> dict[date, list[str]]:
    """Top 10 by today's observed count. ``o``: DataFrame index item, columns days."""
    out = {}
    for d in days[1:]:
        col = o[d][o[d] > 0]
        out[d] = list(col.sort_values(ascending=False, kind="mergesort").index[:TOP])
    return out


def ratio_lists(o: "Any", days: list[date]) -> dict[date, list[str]]:
    """Top 10 by ``o_t / max(o_{t−1}, 1)`` among items with ``o_t ≥ 3``."""
    out = {}
    for t in range(1, len(days)):
        cur, prev = o[days[t]], o[days[t - 1]]
        r = (cur / prev.clip(lower=1.0))[cur >= NAIVE_MIN_SUPPORT]
        out[days[t]] = list(r.sort_values(ascending=False, kind="mergesort").index[:TOP])
    return out


def previous_lists(o: "Any", days: list[date], users: dict[date, float], tr) -> dict[date, list[str]]:
    """The score before issue 14 part 3, from the same daily stats: Poisson z, support
    ``max(min_support, min_support_share × U)``, decayed score, top 10 by score > 0 (day 1 ignores
    the cold-start day's scores, as the step does)."""
    import numpy as np
    import pandas as pd

    alpha = 1.0 - 0.5 ** (1.0 / tr.half_life_days)
    prev = pd.Series(0.0, index=o.index)
    out = {}
    for t, d in enumerate(days):
        window = days[max(0, t - tr.baseline_days):t]
        e = o[window].sum(axis=1) / max(len(window), 1) if window else pd.Series(0.0, index=o.index)
        z = (o[d] - e) / np.sqrt(e + tr.pseudo_count)
        support = o[d] >= max(tr.min_support, tr.min_support_share * users.get(d, 0.0))
        raw = z.clip(lower=0.0).where(support, 0.0)
        base = prev if t != 1 else 0.0 * prev
        score = alpha * raw + (1 - alpha) * base
        if t >= 1:
            s = score[score > 0].sort_values(ascending=False, kind="mergesort")
            out[d] = list(s.index[:TOP])
        prev = score
    return out


def project_lists(lake, region: str, days: list[date]) -> dict[date, list[str]]:
    """``gold.trending_hashtags`` ranks 1..10 of ``region`` per day."""
    df = lake.read_pandas("gold.trending_hashtags", where={"ds": days[1:]})
    df = df[df.region == region]
    out = {d: [] for d in days[1:]}
    for d, g in df.groupby("ds"):
        out[d] = list(g.sort_values("rank").hashtag[:TOP])
    return out


# ----------------------------------------------------------------------------- metrics
def evaluate(lists: dict[date, list[str]], days: list[date], relevant: dict[date, set[str]],
             trends: dict[str, tuple[date, date]], steady: set[str], spikes: dict[str, date]) -> dict[str, Any]:
    """The metrics of one method's lists (see the module docstring). ``trends``: item → (start, end
    of its rising window); ``spikes``: item → spike day."""
    listed = hits = 0
    for d in days[1:]:
        day = lists.get(d, [])
        listed += len(day)
        hits += sum(x in relevant.get(d, set()) for x in day)
    delays, found = [], []
    for item, (start, end) in trends.items():
        on = [d for d in days if start <= d <= end and item in lists.get(d, [])]
        if on:
            found.append(item)
            delays.append((min(on) - start).days)
    quiet = [d for d in days[1:] if not relevant.get(d)]
    return {
        "precision_at_10": round(hits / listed, 3) if listed else None,
        "listed_rows": listed,
        "relevant_rows": hits,
        "recall": round(len(found) / len(trends), 3) if trends else None,
        "trends_found": len(found),
        "trends": len(trends),
        "mean_days_to_detect": round(sum(delays) / len(delays), 2) if delays else None,
        "steady_listed": sum(x in steady for d in days[1:] for x in lists.get(d, [])),
        "after_collapse": sum(1 for item, s in spikes.items() for d in days if d > s and item in lists.get(d, [])),
        "rows_per_quiet_day": round(sum(len(lists.get(d, [])) for d in quiet) / len(quiet), 2) if quiet else None,
        "quiet_days": len(quiet),
        "list_length_by_day": {d.isoformat(): len(lists.get(d, [])) for d in days[1:]},
    }


def all_methods(lake, o, days, users, cfg, region, labels) -> dict[str, Any]:
    lists = {
        "project": project_lists(lake, region, days),
        "previous": previous_lists(o, days, users, cfg.trends),
        "volume": volume_lists(o, days),
        "day-over-day": ratio_lists(o, days),
    }
    return {m: evaluate(lists[m], days, **labels) for m in METHODS}, {
        m: {d.isoformat(): v for d, v in lists[m].items()} for m in METHODS}


def observed_matrix(lake, region: str, days: list[date]):
    """Spam-weighted engaged users per hashtag (rows) and day (columns) of ``region``, 0 when absent."""
    st = lake.read_pandas("gold.hashtag_daily_stats", where={"ds": days},
                          columns=["ds", "region", "hashtag", "engaged_users_weighted"])
    st = st[st.region == region]
    o = st.pivot_table(index="hashtag", columns="ds", values="engaged_users_weighted", aggfunc="sum", fill_value=0.0)
    for d in days:
        if d not in o.columns:
            o[d] = 0.0
    return o[days]


def region_users(lake, days: list[date]) -> dict[str, dict[date, float]]:
    """Distinct engaged users per region and day, as the trends step counts them."""
    from reelhouse.gold.trends import region_engaged_users

    out: dict[str, dict[date, float]] = {}
    for d in days:
        for r in region_engaged_users(lake.read("silver.events", where={"event_date": [d]})).collect():
            out.setdefault(r["region"], {})[d] = float(r["engaged_users"])
    return out


# ----------------------------------------------------------------------------- world 1: generated
def generated_world(spark, root: Path, events: int) -> dict[str, Any]:
    from reelhouse.sources.generator import generate
    from reelhouse.lake import Lake

    t0 = time.perf_counter()
    landing = root / "landing"
    generate(landing, start=GEN_START, days=GEN_DAYS, events_per_day=events, seed=GEN_SEED, n_trending_hashtags=10)
    cfg = lake_config(root, landing)
    days = [GEN_START + timedelta(days=k) for k in range(GEN_DAYS)]
    for d in days:
        run_pipeline(spark, cfg, d, steps=["ingest", "daily_stats", "trends"])
        print(f"  generated world: {d} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    lake = Lake.from_config(cfg, spark)
    truth = json.loads((landing / "_ground_truth" / "generation.json").read_text())
    planted = {t["tag"]: (date.fromisoformat(t["start_date"]), date.fromisoformat(t["peak_date"]))
               for t in truth["trending_hashtags"]}
    o = observed_matrix(lake, "ALL", days)
    start = min(s for s, _ in planted.values())
    before = [d for d in days if d < start]
    others = o.loc[[h for h in o.index if h not in planted], before].mean(axis=1)
    steady = set(others.sort_values(ascending=False).index[:50])
    steady |= {t["tag"] for t in truth["steady_hashtags"]} | {truth["spam_hashtag"]["tag"]}
    relevant = {d: {h for h, (s, _) in planted.items() if d >= s} for d in days}
    users = region_users(lake, days)["ALL"]
    labels = dict(relevant=relevant, trends=planted, steady=steady, spikes={})
    metrics, lists = all_methods(lake, o, days, users, cfg, "ALL", labels)
    return {"world": "generated", "events_per_day": events, "days": [d.isoformat() for d in days],
            "seed": GEN_SEED, "region": "ALL", "planted": len(planted), "steady_items": len(steady),
            "trend_start": start.isoformat(), "seconds": round(time.perf_counter() - t0, 1),
            "metrics": metrics, "lists": lists}


# ----------------------------------------------------------------------------- world 2: synthetic
def synthetic_series(seed: int = SYN_SEED) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """The synthetic world's series {tag: [observed per day]} and its labels (see the docstring)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = SYN_DAYS
    series: dict[str, list[float]] = {}
    kinds: dict[str, str] = {}
    starts: dict[str, int] = {}

    def nb(mean: np.ndarray, phi: float = 0.04) -> np.ndarray:
        lam = mean * rng.gamma(1.0 / phi, phi, size=len(mean))
        return rng.poisson(lam).astype(float)

    for i in range(300):
        m = math.exp(rng.uniform(0.0, math.log(400.0)))
        series[f"bg{i:03d}"], kinds[f"bg{i:03d}"] = list(nb(np.full(n, m))), "background"
    for i in range(15):
        m = math.exp(rng.uniform(math.log(2000.0), math.log(20000.0)))
        series[f"flat{i:02d}"] = list(np.round(m * (1 + rng.uniform(-0.2, 0.2, n))))
        kinds[f"flat{i:02d}"] = "large_flat"
    for i in range(20):
        base = nb(np.full(n, rng.uniform(0.5, 3.0)))
        s = int(rng.integers(8, 19))
        base[s] = float(rng.integers(8, 16))
        series[f"handful{i:02d}"], kinds[f"handful{i:02d}"] = list(base), "handful"
    for i in range(8):
        mult = np.ones(n)
        s = int(rng.integers(8, 17))
        for d in range(s, n):
            mult[d] = (2.3, 3.0)[d - s] if d - s < 2 else 3.5
        name = f"riser{i}"
        series[name], kinds[name], starts[name] = list(nb(rng.uniform(35.0, 60.0) * mult)), "moderate_riser", s
    for i in range(6):
        mult = np.ones(n)
        s = int(rng.integers(8, 19))
        mult[s] = 6.0
        name = f"spike{i}"
        series[name], kinds[name], starts[name] = list(nb(rng.uniform(30.0, 200.0) * mult)), "spike", s
    for i in range(6):
        mult = np.ones(n)
        s = int(rng.integers(8, 13))
        for d in range(s, n):
            mult[d] = 1.25 ** min(d - s + 1, 7)
        name = f"burn{i}"
        series[name], kinds[name], starts[name] = list(nb(rng.uniform(50.0, 150.0) * mult)), "slow_burn", s
    window = {"moderate_riser": 2, "spike": 0, "slow_burn": 6}
    return series, {"kinds": kinds, "starts": starts, "window": window}


def _frame(spec, rows: dict[str, list], n: int):
    """An Arrow table of ``spec``'s columns: ``rows`` where given, else a neutral value (NULL for a
    nullable column, 0 / '' / False / epoch otherwise)."""
    import pyarrow as pa

    cols = {}
    for c in spec.columns:
        if c.name in rows:
            cols[c.name] = pa.array(rows[c.name], type=c.type)
        elif c.nullable:
            cols[c.name] = pa.nulls(n, type=c.type)
        elif pa.types.is_string(c.type):
            cols[c.name] = pa.array(["synthetic"] * n, type=c.type)
        elif pa.types.is_boolean(c.type):
            cols[c.name] = pa.array([False] * n, type=c.type)
        elif pa.types.is_timestamp(c.type):
            cols[c.name] = pa.array([datetime(2024, 1, 1, tzinfo=timezone.utc)] * n, type=c.type)
        else:
            cols[c.name] = pa.array([0] * n, type=pa.int64()).cast(c.type)
    return pa.table(cols, schema=spec.arrow_schema())


def synthetic_world(spark, root: Path) -> dict[str, Any]:
    from reelhouse.lake.catalog import get_table
    from reelhouse.lake import Lake

    t0 = time.perf_counter()
    cfg = lake_config(root)
    lake = Lake.from_config(cfg, spark)
    series, labels = synthetic_series()
    days = [SYN_START + timedelta(days=k) for k in range(SYN_DAYS)]
    tags = sorted(series)
    # gold.hashtag_daily_stats: the series (engaged users = weighted = observed)
    ds, tag, obs = [], [], []
    for t, d in enumerate(days):
        for h in tags:
            if series[h][t] > 0:
                ds.append(d), tag.append(h), obs.append(series[h][t])
    m = len(ds)
    lake.write_arrow(_frame(get_table("gold.hashtag_daily_stats"), {
        "ds": ds, "region": [SYN_REGION] * m, "hashtag": tag, "engaged_users": [int(round(x)) for x in obs],
        "engaged_users_weighted": obs, "unique_viewers": [int(round(x)) for x in obs], "plays": [int(round(x)) for x in obs],
        "distinct_videos": [1] * m, "distinct_creators": [1] * m}, m), "gold.hashtag_daily_stats", mode="append")
    # gold.video_daily_stats: one video a day (the step needs the day's partition)
    lake.write_arrow(_frame(get_table("gold.video_daily_stats"), {
        "ds": days, "region": [SYN_REGION] * len(days), "video_id": ["v-synthetic"] * len(days),
        "engaged_users": [5] * len(days), "engaged_users_weighted": [5.0] * len(days)}, len(days)),
        "gold.video_daily_stats", mode="append")
    lake.write_arrow(_frame(get_table("silver.video_hashtags"), {
        "video_id": ["v-synthetic"], "hashtag": [tags[0]], "position": [0], "published_date": [days[0]]}, 1),
        "silver.video_hashtags", mode="append")
    # silver.events: one play per user of the region and day, so the step measures the region's size
    for d in days:
        u = SYN_REGION_USERS
        lake.write_arrow(_frame(get_table("silver.events"), {
            "event_id": [f"{d}-{i}" for i in range(u)], "event_type": ["play"] * u,
            "event_time": [datetime(d.year, d.month, d.day, 12, tzinfo=timezone.utc)] * u,
            "user_id": [f"u{i}" for i in range(u)], "video_id": ["v-synthetic"] * u, "region": [SYN_REGION] * u,
            "event_date": [d] * u, "landing_date": [d] * u}, u), "silver.events", mode="append")
    for d in days:
        run_pipeline(spark, cfg, d, steps=["trends"])
    print(f"  synthetic world: {len(days)} days scored ({time.perf_counter() - t0:.0f} s)", flush=True)

    kinds, starts, window = labels["kinds"], labels["starts"], labels["window"]
    relevant: dict[date, set[str]] = {d: set() for d in days}
    trends, spikes = {}, {}
    for h, s in starts.items():
        k = kinds[h]
        trends[h] = (days[s], days[min(s + window[k], SYN_DAYS - 1)])
        if k == "spike":
            spikes[h] = days[s]
            relevant[days[s]].add(h)
        else:
            for d in days[s:]:
                relevant[d].add(h)
    steady = {h for h, k in kinds.items() if k in ("background", "large_flat", "handful")}
    o = observed_matrix(lake, SYN_REGION, days)
    users = region_users(lake, days)[SYN_REGION]
    metrics, lists = all_methods(lake, o, days, users, cfg, SYN_REGION,
                                 dict(relevant=relevant, trends=trends, steady=steady, spikes=spikes))
    # per kind: found and days to detect of the project
    by_kind: dict[str, dict[str, Any]] = {}
    proj = {date.fromisoformat(d): v for d, v in lists["project"].items()}
    for h, (s, e) in trends.items():
        k = kinds[h]
        on = [d for d in days if s <= d <= e and h in proj.get(d, [])]
        b = by_kind.setdefault(k, {"items": 0, "found": 0, "days_to_detect": []})
        b["items"] += 1
        if on:
            b["found"] += 1
            b["days_to_detect"].append((min(on) - s).days)
    return {"world": "synthetic", "days": [d.isoformat() for d in days], "seed": SYN_SEED, "region": SYN_REGION,
            "region_users": SYN_REGION_USERS, "items": {k: sum(1 for v in kinds.values() if v == k) for k in sorted(set(kinds.values()))},
            "starts": {h: days[s].isoformat() for h, s in starts.items()}, "steady_items": len(steady),
            "seconds": round(time.perf_counter() - t0, 1), "metrics": metrics, "project_by_kind": by_kind,
            "lists": lists}


# ----------------------------------------------------------------------------- report
def _fmt(v: Any, spec: str = "") -> str:
    return "–" if v is None else format(v, spec)


def format_table(worlds: list[dict[str, Any]]) -> str:
    rows = [["world", "method", "precision@10", "recall", "days to detect", "steady listed", "after collapse",
             "rows/quiet day"]]
    for w in worlds:
        for m in METHODS:
            x = w["metrics"][m]
            rows.append([w["world"], m, _fmt(x["precision_at_10"], ".2f"), f"{x['trends_found']}/{x['trends']}",
                         _fmt(x["mean_days_to_detect"], ".2f"), str(x["steady_listed"]),
                         str(x["after_collapse"]) if w["world"] == "synthetic" else "–",
                         _fmt(x["rows_per_quiet_day"], ".1f")])
    return format_rows(rows, left=2)


def print_report(doc: dict[str, Any]) -> None:
    print()
    print("\n".join(header_lines(doc)))
    tr = doc["settings"]["trends"]
    print("trends: " + ", ".join(f"{k} {v}" for k, v in tr.items()))
    for w in doc["worlds"]:
        if w["world"] == "generated":
            print(f"generated: {GEN_DAYS} days x {w['events_per_day']:,} events (seed {w['seed']}), region ALL, "
                  f"{w['planted']} planted tags from {w['trend_start']}, {w['steady_items']} steady items; {w['seconds']:.0f} s")
        else:
            print(f"synthetic: {len(w['days'])} days, region of {w['region_users']:,} users, items "
                  + ", ".join(f"{k} {v}" for k, v in w["items"].items()) + f"; {w['seconds']:.0f} s")
            print("  project by kind: " + "; ".join(
                f"{k} {b['found']}/{b['items']} found"
                + (f", days to detect {sorted(b['days_to_detect'])}" if b["days_to_detect"] else "")
                for k, b in sorted(w["project_by_kind"].items())))
    print()
    print(format_table(doc["worlds"]))
    print()
    print("precision@10 = relevant listed rows / listed rows (every evaluated day); recall = trends listed while "
          "rising; days to detect = mean first listing day - start; steady listed = item-days; "
          "after collapse = spike listings after the spike day")
    print(f"whole run: {doc['wall_seconds']:.0f} s; results: {doc['out']}")


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eval_trends", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=positive_int, default=DEFAULT_EVENTS,
                   help=f"events per generated day (default {DEFAULT_EVENTS:_})")
    p.add_argument("--skip-generated", action="store_true", help="the synthetic series only")
    p.add_argument("--skip-synthetic", action="store_true", help="the generated week only")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default: {DEFAULT_OUT.relative_to(REPO)})")
    p.add_argument("--tmp-dir", default=None, help="where the temporary lake folders go (default: system temp)")
    args = p.parse_args(argv)

    wall0 = time.perf_counter()
    code = code_version()
    started = datetime.now(timezone.utc)
    local_env(driver_memory="4g")
    tmp_root = Path(tempfile.mkdtemp(prefix="reelhouse-eval-trends-", dir=args.tmp_dir))
    spark = None
    try:
        cfg = lake_config(tmp_root / "unused")
        spark, _ = start_spark(cfg, "reelhouse-eval-trends")
        worlds = []
        if not args.skip_synthetic:
            worlds.append(synthetic_world(spark, tmp_root / "synthetic"))
        if not args.skip_generated:
            worlds.append(generated_world(spark, tmp_root / "generated", args.events))
        worlds.sort(key=lambda w: w["world"])  # generated first
        doc = {
            "benchmark": "eval_trends",
            "started_at": started.isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - wall0, 1),
            "out": str(args.out),
            "machine": machine_info(),
            "code": code,
            "settings": {**spark_settings(spark, cfg),
                         "trends": {k: getattr(cfg.trends, k) for k in (
                             "baseline_days", "pseudo_count", "overdispersion", "min_z", "min_lift", "min_support",
                             "min_support_share", "min_support_excess", "half_life_days", "top_n")}},
            "worlds": worlds,
        }
    finally:
        if spark is not None:
            spark.stop()
        shutil.rmtree(tmp_root, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    print_report(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
