"""The gate on the shapes of a real source, not only our generator's: a partial first day, a
catalogue published day by day, no ``platform``/``region``/``app_version``, 36–40-character ids,
``+08:00`` offsets. Healthy days pass or warn; an outage still blocks on such a young lake."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pyarrow as pa
import pytest

from reelhouse.quality.gate import QualityError, load_suites, run_gate, volume_bounds

START = dt.date(2024, 6, 1)
DAYS = [START + dt.timedelta(days=k) for k in range(5)]
REAL_LIKE = dict(first_day_share=0.3, catalogue="growing", client_fields="none", id_style="uuid",
                 time_encoding="offset")


# ----------------------------------------------------------------------------- pure parts
def test_volume_baseline_leaves_partial_days_out_and_uses_the_median():
    d = lambda k: START + dt.timedelta(days=k)  # noqa: E731
    # a partial first day (30 %) then full days: the baseline is the full days only
    counts = {d(0): 300, d(1): 1000, d(2): 1100, d(3): 950}
    lo, hi, hist = volume_bounds(counts, d(4), window_days=7, band=0.5, min_history_days=2, required=True,
                                 partial_share=0.5, max_ratio=3.0)
    assert sorted(hist) == [950, 1000, 1100] and (lo, hi) == (500, 3000)
    # without the partial-day rule the first day would be in the baseline (median 975 → 487)
    assert volume_bounds(counts, d(4), window_days=7, band=0.5, min_history_days=2, required=True)[0] == 487
    # one full day after a partial one is not history enough yet
    assert volume_bounds({d(0): 300, d(1): 1000}, d(2), window_days=7, band=0.5, min_history_days=2,
                         required=True, partial_share=0.5)[:2] == (1, None)
    # an outage day in the window (blocked then) does not lower the baseline for the next days
    counts = {d(0): 1000, d(1): 200, d(2): 1000, d(3): 1000}
    assert volume_bounds(counts, d(4), window_days=7, band=0.5, min_history_days=2, required=True,
                         partial_share=0.5)[2] == [1000, 1000, 1000]
    # history_from: a rolling table counts only days whose window is full
    counts = {d(k): 100 * (k + 1) for k in range(10)}
    _, _, hist = volume_bounds(counts, d(9), window_days=7, band=0.5, min_history_days=2, required=True,
                               history_from=d(6))
    assert sorted(hist) == [700, 800, 900]


def test_declared_partial_days_scale_the_minimum_and_leave_the_baseline():
    d = lambda k: START + dt.timedelta(days=k)  # noqa: E731
    counts = {d(0): 1000, d(1): 900, d(2): 1100, d(3): 600}
    # d(3) is declared 2/3 covered: it is not history for d(4), and d(4) declared 2/3 expects 2/3
    lo, hi, hist = volume_bounds(counts, d(4), window_days=7, band=0.5, min_history_days=2, required=True,
                                 max_ratio=3.0, coverage={d(3): 2 / 3, d(4): 2 / 3})
    assert sorted(hist) == [900, 1000, 1100] and (lo, hi) == (333, 3000)
    # undeclared, the same day keeps the whole-day minimum; 80 % missing blocks either way
    assert volume_bounds(counts, d(4), window_days=7, band=0.5, min_history_days=2, required=True)[0] == 475
    assert 200 < lo  # 20 % of the 1000-row median is below the scaled minimum


def test_coverage_marker_round_trip_and_errors(tmp_path):
    from reelhouse.sources.landing import coverage_json, coverage_path, read_coverage
    from reelhouse.quality.gate import declared_coverage

    utc = dt.timezone.utc
    day = dt.date(2022, 4, 21)
    assert read_coverage(tmp_path, day) is None and declared_coverage(str(tmp_path), [day]) == {}
    path = coverage_path(tmp_path, day)
    path.parent.mkdir(parents=True)
    # +08:00 offsets are normalised to UTC
    start = dt.datetime(2022, 4, 21, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    path.write_bytes(coverage_json(day, start, dt.datetime(2022, 4, 21, 16, tzinfo=utc), "export ends"))
    cov = read_coverage(tmp_path, day)
    assert (cov.start, cov.share, cov.describe()) == (dt.datetime(2022, 4, 21, tzinfo=utc), 2 / 3, "00:00–16:00 UTC (67%)")
    with pytest.raises(ValueError, match="not inside 2022-04-21"):
        coverage_json(day, dt.datetime(2022, 4, 20, 23, tzinfo=utc), dt.datetime(2022, 4, 21, 16, tzinfo=utc), "x")
    path.write_text('{"start": "2022-04-21T00:00:00Z"}')
    with pytest.raises(QualityError, match="_coverage.json: not a landing coverage marker"):
        declared_coverage(str(tmp_path), [day])


def test_a_suite_that_blocks_on_an_optional_contract_field_is_refused(tmp_path):
    suite = {"name": "silver.events", "meta": {"table": "silver.events", "date_column": "landing_date"},
             "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "platform"},
                               "severity": "critical"}]}
    (tmp_path / "silver.events.json").write_text(json.dumps(suite))
    with pytest.raises(QualityError, match="platform.*optional"):
        load_suites(tmp_path)
    suite["expectations"][0]["kwargs"]["column"] = "video_id"  # required for all types but follow
    (tmp_path / "silver.events.json").write_text(json.dumps(suite))
    with pytest.raises(QualityError, match="video_id.*required for impression"):
        load_suites(tmp_path)
    suite["expectations"][0]["severity"] = "warning"
    (tmp_path / "silver.events.json").write_text(json.dumps(suite))
    assert load_suites(tmp_path)


def test_contract_derived_checks_are_in_the_suites():
    from reelhouse.sources.contract import OPTIONAL_FIELDS, REQUIRED_FOR_TYPES

    suites = load_suites()
    silver = [e for e in suites["silver.events"]["expectations"] if e["kwargs"].get("row_condition")]
    assert {e["kwargs"]["column"] for e in silver} == set(REQUIRED_FOR_TYPES)
    assert all(e["severity"] == "critical" for e in silver)
    kpis = {e["kwargs"]["column"]: e["severity"] for e in suites["ops.daily_kpis"]["expectations"]}
    assert {f"{c}_null_share" for c in OPTIONAL_FIELDS} <= set(kpis)
    assert {kpis[f"{c}_null_share"] for c in OPTIONAL_FIELDS} == {"warning"}
    # nothing anywhere blocks on nulls in an optional contract field
    for name, suite in suites.items():
        for e in suite["expectations"]:
            if e["type"] == "expect_column_values_to_not_be_null" and name == "silver.events":
                assert e["kwargs"]["column"] not in OPTIONAL_FIELDS, e


# ----------------------------------------------------------------------------- a young real-like lake
@pytest.fixture(scope="module")
def young_lake(spark, tmp_path_factory):
    """5 days × 6k events in the real-like shape; every step per day, gated as the CLI does."""
    from reelhouse.config import load_config
    from reelhouse.sources.generator import generate
    from reelhouse.lake import Lake
    from reelhouse.pipeline import SPARK_STEPS, run_date

    root = tmp_path_factory.mktemp("young")
    generate(root / "landing", start=START, days=len(DAYS), events_per_day=6_000, seed=11, **REAL_LIKE)
    cfg = load_config("test", environ={"REELHOUSE__PATHS__LANDING": str(root / "landing"),
                                       "REELHOUSE__PATHS__LAKE": str(root / "lake")})
    lake = Lake(cfg.paths.lake)
    verdicts = {}
    for d in DAYS:
        run_date(d, steps=SPARK_STEPS, spark=spark, config=cfg, log=lambda m: None)
        verdicts[d] = run_gate(lake, cfg, d, data_docs=False)
    return root, cfg, verdicts


def test_every_healthy_day_of_a_young_real_like_source_passes_or_warns(young_lake):
    _, _, verdicts = young_lake
    for d, v in verdicts.items():
        assert v.status in ("pass", "warn"), v.summary()
        # what the source does not send is said, not blocked on
        assert {"region", "platform", "app_version"} <= set(v.not_provided), v.summary()
        assert "the source does not provide: " in v.summary()
    # the volume checks were live by the last day (a partial first day + 3 full days of history)
    last = verdicts[DAYS[-1]]
    vol = [r for r in last.results if r.table == "bronze.events" and r.expectation_type == "expect_table_row_count_to_be_between"]
    assert vol and all(r.success for r in vol)
    assert any("min_value" in json.loads(r.details)["kwargs"] and json.loads(r.details)["kwargs"]["min_value"] > 1
               for r in vol), [r.details for r in vol]


def test_an_80_percent_outage_still_blocks_on_the_young_lake(young_lake, tmp_path):
    import pyarrow.compute as pc

    from reelhouse.config import load_config
    from reelhouse.lake import Lake

    root, _, _ = young_lake
    shutil.copytree(root / "lake", tmp_path / "lake")
    cfg = load_config("test", environ={"REELHOUSE__PATHS__LANDING": str(root / "landing"),
                                       "REELHOUSE__PATHS__LAKE": str(tmp_path / "lake")})
    lake = Lake(cfg.paths.lake)
    day = DAYS[-1]
    for table, col in (("bronze.events", "landing_date"), ("gold.user_daily_activity", "ds")):
        t = lake.read_arrow(table, where={col: day})
        keep = pa.array([i % 5 == 0 for i in range(t.num_rows)])
        lake.write_arrow(t.filter(keep), table, mode="overwrite_partitions", partitions={col: [day]})
    v = run_gate(lake, cfg, day, data_docs=False)
    assert v.status == "block"
    blocked = {(r.table, r.expectation_type) for r in v.failures if r.severity == "block"}
    assert ("bronze.events", "expect_table_row_count_to_be_between") in blocked, v.summary()
    assert ("gold.user_daily_activity", "expect_table_row_count_to_be_between") in blocked, v.summary()
    del pc
