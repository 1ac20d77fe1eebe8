"""The quality gate: each injected defect blocks and is named; a clean day passes; a warn-only
defect passes with the warning recorded; results land in ops.quality_results."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from reelhouse.quality.gate import (
    load_suites,
    referenced_columns,
    run_gate,
    volume_bounds,
)

START = dt.date(2024, 6, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(4)]
DAY = DAYS[-1]  # three days of history before it: volume and drift checks are live


# ----------------------------------------------------------------------------- pure parts
def test_volume_bounds_use_the_trailing_window():
    counts = {START + dt.timedelta(days=k): 1000 for k in range(7)}
    lo, hi, hist = volume_bounds(counts, START + dt.timedelta(days=7), window_days=7, band=0.5,
                                 min_history_days=3, required=True)
    assert (lo, hi, len(hist)) == (500, 1500, 7)
    # too little history: only "at least one row" for a required table, nothing for others
    assert volume_bounds(counts, START + dt.timedelta(days=1), window_days=7, band=0.5,
                         min_history_days=3, required=True)[:2] == (1, None)
    assert volume_bounds({}, START, window_days=7, band=0.5, min_history_days=3, required=False)[:2] == (0, None)


def test_every_catalog_table_written_nightly_has_a_suite():
    from reelhouse.pipeline import STEPS

    suites = load_suites()
    written = {t for s in STEPS.values() if s.kind == "spark" for t in s.outputs}  # the gate checks what Spark wrote
    assert written <= {s["meta"]["table"] for s in suites.values()}
    assert "ops.daily_kpis" in suites
    for name, suite in suites.items():
        sev = {e["severity"] for e in suite["expectations"]}
        assert sev <= {"critical", "warning"}, name
        assert referenced_columns(suite), name


def test_malformed_suite_is_a_clear_error(tmp_path):
    from reelhouse.quality.gate import QualityError

    (tmp_path / "x.json").write_text('{"name": "x", "expectations": []}')
    with pytest.raises(QualityError, match="x.json"):
        load_suites(tmp_path)


# ----------------------------------------------------------------------------- a generated lake
@pytest.fixture(scope="module")
def clean_lake(spark, tmp_path_factory):
    from reelhouse.config import load_config
    from reelhouse.sources.generator import generate
    from reelhouse.pipeline import SPARK_STEPS, run_date

    root = tmp_path_factory.mktemp("gate")
    # no spam burst: at this size the burst's likes move the day's like rate by ~50 %, which the
    # drift check rightly flags (warn) — the clean baseline here must be clean
    generate(root / "landing", start=START, days=len(DAYS), events_per_day=15_000, seed=5, spam_accounts=0)
    cfg = load_config("test", environ={"REELHOUSE__PATHS__LANDING": str(root / "landing"),
                                       "REELHOUSE__PATHS__LAKE": str(root / "lake")})
    for d in DAYS:
        run_date(d, steps=SPARK_STEPS, spark=spark, config=cfg, log=lambda m: None)
    return root


@pytest.fixture
def gate(clean_lake, tmp_path):
    """A private copy of the clean lake; returns (lake, config, run) with run(**kw) -> verdict."""
    from reelhouse.config import load_config
    from reelhouse.lake import Lake

    shutil.copytree(clean_lake / "lake", tmp_path / "lake")
    cfg = load_config("test", environ={"REELHOUSE__PATHS__LANDING": str(clean_lake / "landing"),
                                       "REELHOUSE__PATHS__LAKE": str(tmp_path / "lake")})
    lake = Lake(cfg.paths.lake)

    def run(**kw):
        kw.setdefault("data_docs", False)
        return run_gate(lake, cfg, DAY, **kw)

    return lake, cfg, run


def rewrite(lake, table: str, column: str, fn) -> None:
    """Replace the DAY partition of ``table`` (partition column ``column``) with fn(rows)."""
    t = lake.read_arrow(table, where={column: DAY})
    lake.write_arrow(fn(t), table, mode="overwrite_partitions", partitions={column: [DAY]})


def set_column(t: pa.Table, name: str, values) -> pa.Table:
    i = t.schema.get_field_index(name)
    return t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))


def blocked_on(verdict, table: str, expectation_prefix: str) -> bool:
    return any(r.table == table and r.expectation.startswith(expectation_prefix) and r.severity == "block"
               for r in verdict.failures)


def test_clean_day_passes_and_is_recorded(gate):
    lake, _, run = gate
    verdict = run(data_docs=True)
    assert verdict.status == "pass", verdict.summary()
    assert len(verdict.results) > 100
    assert verdict.docs_path and verdict.docs_path.endswith("index.html")
    assert "silver/events" in open(verdict.docs_path).read() or "silver.events" in open(verdict.docs_path).read()
    rec = lake.read_pandas("ops.quality_results", where={"ds": DAY})
    assert len(rec) == len(verdict.results) and set(rec.verdict) == {"pass"}
    silver = rec[rec.table_name == "silver.events"]
    assert set(silver.delta_version) == {lake.version("silver.events")}
    # a rerun replaces the date's results instead of adding to them
    run()
    assert len(lake.read_pandas("ops.quality_results", where={"ds": DAY})) == len(verdict.results)


def test_null_spike_blocks(gate):
    # a field the contract requires (video_id on every type but follow) going null blocks
    lake, _, run = gate
    rewrite(lake, "silver.events", "landing_date",
            lambda t: set_column(t, "video_id", [None if i % 3 == 0 and e == "play" else v for i, (v, e) in
                                                 enumerate(zip(t["video_id"].to_pylist(), t["event_type"].to_pylist()))]))
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "silver.events", "expect_column_values_to_not_be_null(column=video_id")


def test_null_spike_in_an_optional_field_warns(gate):
    # region is optional in landing contract v1.1: its share of nulls drifting (4 % → 36 %) is a
    # warning (the gate used to block here; a source without region would never pass)
    lake, _, run = gate
    rewrite(lake, "silver.events", "landing_date",
            lambda t: set_column(t, "region", [None if i % 3 == 0 else r for i, r in enumerate(t["region"].to_pylist())]))
    v = run()
    assert v.status == "warn", v.summary()
    assert [(r.table, r.column, r.severity) for r in v.failures] == [("ops.daily_kpis", "region_null_share", "warn")], v.summary()
    assert "region" not in v.not_provided


def test_duplicate_keys_block(gate):
    lake, _, run = gate
    rewrite(lake, "gold.video_daily_stats", "ds", lambda t: pa.concat_tables([t, t.slice(0, 25)]))
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "gold.video_daily_stats", "expect_compound_columns_to_be_unique(column_list=[region,video_id]")


def test_volume_drop_of_80_percent_blocks(gate):
    lake, _, run = gate
    rewrite(lake, "bronze.events", "landing_date", lambda t: t.slice(0, t.num_rows // 5))
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "bronze.events", "expect_table_row_count_to_be_between")
    failed = next(r for r in v.failures if r.table == "bronze.events")
    assert json.loads(failed.observed_value) < json.loads(failed.details)["kwargs"]["min_value"]


def test_out_of_range_rate_blocks(gate):
    lake, _, run = gate
    rewrite(lake, "gold.video_daily_stats", "ds",
            lambda t: set_column(t, "completion_rate", [1.7 if i < 10 else c for i, c in enumerate(t["completion_rate"].to_pylist())]))
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "gold.video_daily_stats", "expect_column_values_to_be_between(column=completion_rate, min_value=0.0, max_value=1.0")


def test_stale_date_blocks(gate):
    lake, _, run = gate
    stale = DAY - dt.timedelta(days=3)
    rewrite(lake, "silver.events", "landing_date", lambda t: set_column(t, "event_date", [stale] * t.num_rows))
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "silver.events", "expect_column_values_to_be_in_set(column=event_date")


def test_quarantine_ratio_over_threshold_blocks(gate):
    lake, cfg, run = gate
    recon = lake.read_arrow("ops.ingest_reconciliation", where={"landing_date": DAY})
    extra = int(pc.sum(recon["lines_read"]).as_py() * (cfg.ingest.max_quarantine_ratio + 0.05))
    # a file whose lines were mostly bad: the reconciliation and the quarantine rows agree, only the ratio is wrong
    rows = recon.to_pylist()
    rows[0]["lines_read"] += extra
    rows[0]["rows_quarantined"] += extra
    lake.write_arrow(pa.Table.from_pylist(rows, schema=recon.schema), "ops.ingest_reconciliation",
                     mode="overwrite_partitions", partitions={"landing_date": [DAY]})
    q = lake.read_arrow("quarantine.events", where={"landing_date": DAY})
    template = q.slice(0, 1).to_pylist()[0]
    bad = [{**template, "raw_line": "{not json", "reason": "invalid_json", "event_id": None,
            "_source_file": rows[0]["_source_file"], "_line_number": 10_000_000 + i} for i in range(extra)]
    lake.write_arrow(pa.concat_tables([q, pa.Table.from_pylist(bad, schema=q.schema)]), "quarantine.events",
                     mode="overwrite_partitions", partitions={"landing_date": [DAY]})
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "ops.daily_kpis", "expect_column_values_to_be_between(column=quarantine_ratio")
    assert not any(r.expectation.startswith("expect_column_values_to_be_between(column=unreconciled") for r in v.failures)


def test_reconciliation_mismatch_blocks(gate):
    lake, _, run = gate
    # rows lost after the reconciliation was written: silver no longer holds what it says was kept
    rewrite(lake, "silver.events", "landing_date", lambda t: t.slice(10))
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "ops.daily_kpis", "expect_column_values_to_be_between(column=unreconciled_silver_rows")
    # and a file whose own counts do not add up
    rewrite(lake, "ops.ingest_reconciliation", "landing_date",
            lambda t: set_column(t, "balanced", [i != 0 for i in range(t.num_rows)]))
    assert blocked_on(run(), "ops.ingest_reconciliation", "expect_column_values_to_be_in_set(column=balanced")


def test_orphan_hashtag_row_blocks(gate):
    lake, _, run = gate
    def add_orphan(t):
        row = {**t.slice(0, 1).to_pylist()[0], "video_id": "v-orphan", "hashtag": "orphan"}
        return pa.concat_tables([t, pa.Table.from_pylist([row], schema=t.schema)])
    rewrite(lake, "silver.video_hashtags", "published_date", add_orphan)
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "silver.video_hashtags", "expect_column_values_to_be_in_set(column=video_in_silver_videos")


def test_like_rate_drift_warns_and_passes_with_the_warning_recorded(gate):
    lake, _, run = gate
    def triple_likes(t):
        likes = [n * 3 if r == "ALL" else n for n, r in zip(t["likes"].to_pylist(), t["region"].to_pylist())]
        return set_column(t, "likes", likes)
    rewrite(lake, "gold.video_daily_stats", "ds", triple_likes)
    v = run(record=True)
    assert v.status == "warn", v.summary()
    assert [r.expectation.split("(")[1].split(",")[0] for r in v.failures] == ["column=like_rate"]
    rec = lake.read_pandas("ops.quality_results", where={"ds": DAY})
    warned = rec[~rec.success]
    assert list(warned.severity) == ["warn"] and set(rec.verdict) == {"warn"}


def test_cli_gate_exit_codes(gate, monkeypatch, capsys):
    from reelhouse.cli import EXIT_GATE_BLOCKED, main

    lake, cfg, _ = gate
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", cfg.paths.lake)
    monkeypatch.setenv("REELHOUSE__PATHS__LANDING", cfg.paths.landing)
    assert main(["gate", "--date", DAY.isoformat(), "--no-docs"]) == 0
    assert "PASS" in capsys.readouterr().out
    rewrite(lake, "gold.video_daily_stats", "ds", lambda t: t.slice(0, 0))
    assert main(["gate", "--date", DAY.isoformat(), "--no-docs"]) == EXIT_GATE_BLOCKED
    out = capsys.readouterr().out
    assert "BLOCK" in out and "gold.video_daily_stats: expect_table_row_count_to_be_between" in out


def test_schema_drift_is_caught_from_the_delta_log(tmp_path):
    from deltalake import write_deltalake

    from reelhouse.lake.catalog import get_table
    from reelhouse.lake import Lake
    from reelhouse.quality.gate import schema_check

    lake = Lake(str(tmp_path / "lake"))
    spec = get_table("ops.ingest_reconciliation")
    # a writer outside the lake module changed a type and dropped a column
    fields = [pa.field("lines_read", pa.float64()) if f.name == "lines_read" else f
              for f in spec.arrow_schema() if f.name != "file_status"]
    write_deltalake(lake.path(spec.name), pa.schema(fields).empty_table(), partition_by=list(spec.partition_by))
    r = schema_check(lake, spec.name, spec.name, lake.version(spec.name))
    assert not r.success and r.severity == "block"
    assert "missing file_status" in r.observed_value and "lines_read: double" in r.observed_value
    ok = Lake(str(tmp_path / "other"))
    ok.ensure(spec.name)
    assert schema_check(ok, spec.name, spec.name, ok.version(spec.name)).success


def test_feature_row_stamped_in_the_future_blocks(gate):
    """Point-in-time: a feature row of ds must be known at ds + 1 day, not later."""
    lake, _, run = gate
    later = dt.datetime.combine(DAY + dt.timedelta(days=2), dt.time(), tzinfo=dt.timezone.utc)
    rewrite(lake, "gold.video_features", "ds",
            lambda t: set_column(t, "feature_time", [later if i == 0 else v for i, v in enumerate(t["feature_time"].to_pylist())]))
    v = run()
    assert v.status == "block"
    assert blocked_on(v, "gold.video_features", "expect_column_values_to_be_in_set(column=feature_time")


def test_concurrent_gates_for_different_dates_both_succeed(demo_lake, tmp_path):
    """Two `reelhouse gate` processes at once (a backfill's dates in parallel) on one lake: each has
    its own GX context and Data Docs folder, and the results table takes both verdicts."""
    import os
    import shutil
    import subprocess
    import sys

    from reelhouse.lake import Lake
    from reelhouse.quality.gate import latest_verdicts

    root = tmp_path / "lake"
    shutil.copytree(demo_lake.lake_root, root)
    env = {**os.environ, **demo_lake.env, "REELHOUSE__PATHS__LAKE": str(root)}
    days = demo_lake.days[-2:]
    procs = [subprocess.Popen([sys.executable, "-m", "reelhouse.cli", "gate", "--date", d.isoformat()], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for d in days]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for d, p, out in zip(days, procs, outs):
        assert p.returncode == 0, out[-3000:]
        assert f"quality gate {d.isoformat()}: PASS" in out or f"quality gate {d.isoformat()}: WARN" in out, out[-3000:]
        assert (root / "_quality" / "data_docs" / f"ds={d.isoformat()}" / "index.html").exists()
    runs = latest_verdicts(Lake(str(root)), limit=10)
    assert set(days) <= set(runs.ds) and runs.ds.is_unique
