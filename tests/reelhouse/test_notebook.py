"""The notebook API (reelhouse.notebook): tiny lakes of our own for exact time-travel semantics, the
shared demo lake (read-only) for the real tables, the gate's verdicts and the champion model."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pyarrow as pa
import pytest

from reelhouse import notebook as rh
from reelhouse.lake.catalog import TABLES, get_table
from reelhouse.config import load_config
from reelhouse.lake import Lake

TRENDING = "gold.trending_hashtags"
D1, D2, D3 = dt.date(2024, 6, 1), dt.date(2024, 6, 2), dt.date(2024, 6, 3)


def trending_rows(day: dt.date, tags: list[str]) -> pa.Table:
    n = len(tags)
    return pa.table({
        "region": ["ALL"] * n, "rank": list(range(1, n + 1)), "hashtag": tags,
        "trend_score": [float(10 * (n - i)) for i in range(n)], "z_score": [float(20 * (n - i)) for i in range(n)],
        "lift": [2.0] * n, "days_trending": [1] * n, "engaged_users": [100 - i for i in range(n)],
        "expected": [1.0] * n, "is_new_item": [False] * n, "ds": [day] * n,
    })


@pytest.fixture
def tiny(tmp_path):
    """A lake of our own (no Spark): gold.trending_hashtags written D1, D2, then D1 rewritten.
    Versions: 0 create, 1 = D1 [a, b], 2 = + D2 [c], 3 = D1 replaced by [z]. Returns (config, times)
    where times[v] is a UTC instant between version v and v + 1."""
    cfg = load_config("test", environ={"REELHOUSE_ENV": "test", "REELHOUSE__PATHS__LAKE": str(tmp_path / "lake"),
                                       "REELHOUSE__PATHS__LANDING": str(tmp_path / "landing")})
    lake = Lake.from_config(cfg)
    times = {}
    for v, (day, tags) in enumerate([(D1, ["a", "b"]), (D2, ["c"]), (D1, ["z"])], start=1):
        lake.write_arrow(trending_rows(day, tags), TRENDING, mode="overwrite_partitions", partitions={"ds": [day]},
                         metadata={"step": "test", "ds": day.isoformat()})
        time.sleep(0.02)
        times[v] = dt.datetime.now(dt.timezone.utc)
        time.sleep(0.02)
    assert lake.version(TRENDING) == 3
    return cfg, times


# ----------------------------------------------------------------------------- tiny lake
def test_read_any_version_and_timestamp(tiny):
    cfg, times = tiny
    cur = rh.read(TRENDING, config=cfg)
    assert isinstance(cur, pd.DataFrame) and list(cur.columns) == get_table(TRENDING).column_names
    assert sorted(cur["hashtag"]) == ["c", "z"]
    assert sorted(rh.read(TRENDING, version=1, config=cfg)["hashtag"]) == ["a", "b"]
    assert sorted(rh.read(TRENDING, version=2, config=cfg)["hashtag"]) == ["a", "b", "c"]
    assert rh.read(TRENDING, version=0, config=cfg).empty
    # a timestamp reads the newest version committed at or before it (aware, naive-UTC and string forms)
    assert sorted(rh.read(TRENDING, timestamp=times[2], config=cfg)["hashtag"]) == ["a", "b", "c"]
    naive = times[1].replace(tzinfo=None)
    assert sorted(rh.read(TRENDING, timestamp=naive, config=cfg)["hashtag"]) == ["a", "b"]
    assert sorted(rh.read(TRENDING, timestamp=times[1].isoformat(), config=cfg)["hashtag"]) == ["a", "b"]


def test_partition_filters_date_ranges_and_columns(tiny):
    cfg, _ = tiny
    got = rh.read(TRENDING, where={"ds": [D2]}, columns=["hashtag", "ds"], config=cfg)
    assert list(got.columns) == ["hashtag", "ds"] and got["hashtag"].tolist() == ["c"]
    assert rh.read(TRENDING, where={"ds": "2024-06-01"}, config=cfg)["hashtag"].tolist() == ["z"]
    assert sorted(rh.read(TRENDING, start=D1, end="2024-06-02", config=cfg)["hashtag"]) == ["c", "z"]
    assert rh.read(TRENDING, start="2024-06-02", config=cfg)["hashtag"].tolist() == ["c"]
    assert rh.read(TRENDING, end=D1, version=2, config=cfg)["hashtag"].tolist() == ["a", "b"]
    # range ∩ where; a range with no partition reads as an empty frame of the table's schema
    assert rh.read(TRENDING, start=D1, end=D2, where={"ds": [D2, D3]}, config=cfg)["hashtag"].tolist() == ["c"]
    empty = rh.read(TRENDING, start=D3, columns=["ds", "rank"], config=cfg)
    assert empty.empty and list(empty.columns) == ["ds", "rank"]
    arrow = rh.read(TRENDING, engine="arrow", where={"ds": [D1]}, config=cfg)
    assert isinstance(arrow, pa.Table) and arrow.num_rows == 1
    assert arrow.schema.field("ds").type == pa.date32()


def test_clear_errors(tiny):
    cfg, times = tiny
    with pytest.raises(rh.UnknownTableError) as e:
        rh.read("gold.trending_hashtag", config=cfg)
    msg = str(e.value)
    assert "did you mean gold.trending_hashtags" in msg and "known tables:" in msg and "silver.events" in msg
    assert isinstance(e.value, KeyError)
    with pytest.raises(rh.UnknownTableError, match="did you mean .*gold.trending_hashtags"):
        rh.history("trending_hashtags", config=cfg)
    with pytest.raises(rh.VersionNotFoundError, match=r"no version 7; its Delta log has versions 0\.\.3"):
        rh.read(TRENDING, version=7, config=cfg)
    with pytest.raises(rh.VersionNotFoundError, match="did not exist at 2020-01-01"):
        rh.read(TRENDING, timestamp="2020-01-01T00:00:00Z", config=cfg)
    with pytest.raises(rh.VersionNotFoundError, match="has not been written yet"):
        rh.read("gold.trending_videos", version=0, config=cfg)
    with pytest.raises(ValueError, match="version or timestamp, not both"):
        rh.read(TRENDING, version=1, timestamp=times[1], config=cfg)
    with pytest.raises(ValueError, match="engine must be"):
        rh.read(TRENDING, engine="polars", config=cfg)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'hashtag' is not a partition column"):
        rh.read(TRENDING, where={"hashtag": "a"}, config=cfg)
    with pytest.raises(ValueError, match=r"unknown columns \['nope'\]"):
        rh.read(TRENDING, columns=["ds", "nope"], config=cfg)
    with pytest.raises(ValueError, match="start 2024-06-03 is after end 2024-06-01"):
        rh.read(TRENDING, start=D3, end=D1, config=cfg)
    with pytest.raises(ValueError, match="start must be a date"):
        rh.read(TRENDING, start="June 1st", config=cfg)
    with pytest.raises(ValueError, match="unknown layer"):
        rh.tables(layer="platinum", config=cfg)  # type: ignore[arg-type]


def test_history_and_tables_on_a_tiny_lake(tiny):
    cfg, times = tiny
    h = rh.history(TRENDING, config=cfg)
    assert h["version"].tolist() == [3, 2, 1, 0]
    assert h["operation"].iloc[-1] == "CREATE TABLE" and h["mode"].iloc[-1] is None
    assert h["mode"].iloc[0] == "overwrite_partitions" and h["ds"].tolist()[:3] == ["2024-06-01", "2024-06-02", "2024-06-01"]
    assert h["rows_added"].tolist()[:3] == [1, 1, 2] and h["files_removed"].tolist()[:3] == [1, 0, 0]
    assert str(h["timestamp"].dt.tz) == "UTC" and h["timestamp"].is_monotonic_decreasing
    assert h["timestamp"].iloc[1] <= pd.Timestamp(times[2]) < h["timestamp"].iloc[0]
    assert len(rh.history(TRENDING, limit=2, config=cfg)) == 2

    t = rh.tables(config=cfg)
    assert set(t["table"]) == set(TABLES)
    row = t.set_index("table").loc[TRENDING]
    assert (row["layer"], row["version"], row["rows"], row["partition_by"]) == ("gold", 3, 2, ["ds"])
    assert row["last_commit"] == h["timestamp"].iloc[0]
    assert pd.isna(t.set_index("table").loc["silver.events", "version"])
    only = rh.tables(include_missing=False, config=cfg)
    assert only["table"].tolist() == [TRENDING]
    assert rh.tables(layer="silver", include_missing=False, config=cfg).empty
    # no champion and no gate run yet on this lake
    assert rh.champion(config=cfg) is None
    v = rh.verdicts(config=cfg)
    assert v.empty and list(v.columns) == rh.VERDICT_COLUMNS


# ----------------------------------------------------------------------------- demo lake (read-only)
@pytest.fixture(scope="module")
def demo(demo_lake):
    """The demo lake's config; asserts at the end that no test wrote into it."""
    lake = Lake.from_config(demo_lake.config)
    before = {n: lake.version(n) for n in TABLES}
    yield demo_lake.config
    assert {n: lake.version(n) for n in TABLES} == before


def test_tables_match_the_delta_log(demo):
    lake = Lake.from_config(demo)
    t = rh.tables(include_missing=False, config=demo).set_index("table")
    for name in ("silver.events", "gold.trending_hashtags", "ops.quality_results", "ml.model_promotions"):
        info = lake.describe(name)
        assert (t.loc[name, "version"], t.loc[name, "rows"], t.loc[name, "files"]) == (info["version"], info["rows"], info["files"])
        assert t.loc[name, "description"] == get_table(name).description
    assert t.loc["silver.events", "partition_by"] == ["event_date", "landing_date"]
    assert t.loc["gold.trending_hashtags", "rows"] == len(lake.read_pandas("gold.trending_hashtags"))
    assert (t["last_commit"] > pd.Timestamp("2024-01-01", tz="UTC")).all()
    assert set(rh.tables(layer="gold", config=demo)["layer"]) == {"gold"}


def test_read_engines_agree_on_real_tables(demo, demo_lake, spark):
    days = demo_lake.days
    pdf = rh.read("gold.video_daily_stats", start=days[1], end=days[2], columns=["ds", "region", "video_id", "plays"],
                  config=demo)
    assert sorted(set(pdf["ds"])) == days[1:3]
    expected = Lake.from_config(demo).read_pandas("gold.video_daily_stats", where={"ds": days[1:3]})
    assert len(pdf) == len(expected) and pdf["plays"].sum() == expected["plays"].sum()
    sdf = rh.read("gold.video_daily_stats", start=days[1], end=days[2], columns=["ds", "plays"], engine="spark",
                  config=demo)
    assert sdf.columns == ["ds", "plays"]
    assert sdf.count() == len(pdf) and sdf.groupBy().sum("plays").first()[0] == pdf["plays"].sum()
    # event_date is silver.events' date partition column; start/end pick it by default
    ev = rh.read("silver.events", start=days[0], end=days[0], columns=["event_date"], engine="arrow", config=demo)
    assert ev.num_rows > 0 and set(ev.column("event_date").to_pylist()) == {days[0]}


def test_history_counts_are_the_commits(demo):
    h = rh.history("gold.trending_hashtags", config=demo)
    writes = h[h["operation"] == "WRITE"]
    assert len(writes) >= 4 and set(writes["ds"]) >= {"2024-06-01", "2024-06-04"}
    # a quiet day may list nothing (a short list beats a padded one): its commit added 0 rows
    assert (writes["rows_added"] > 0).sum() >= 2, writes[["version", "ds", "rows_added"]].to_string()
    for r in writes.itertuples():
        at_v = rh.read("gold.trending_hashtags", version=r.version, where={"ds": [r.ds]}, config=demo)
        assert len(at_v) == r.rows_added
    with pytest.raises(rh.VersionNotFoundError, match=f"versions 0..{h['version'].max()}"):
        rh.read("gold.trending_hashtags", version=int(h["version"].max()) + 1, config=demo)


def test_verdicts_carry_counts_and_failures(demo, demo_lake):
    from reelhouse.quality.gate import latest_verdicts

    v = rh.verdicts(config=demo)
    assert list(v.columns) == rh.VERDICT_COLUMNS
    assert sorted(v["ds"]) == demo_lake.days and v["ds"].is_monotonic_decreasing
    base = latest_verdicts(Lake.from_config(demo))
    assert v[["ds", "verdict", "checks", "failed", "blocking"]].equals(base[["ds", "verdict", "checks", "failed", "blocking"]])
    assert set(v["verdict"]) <= {"pass", "warn", "block"}
    results = Lake.from_config(demo).read_pandas("ops.quality_results")
    for r in v.itertuples():
        assert len(r.failures) == r.failed
        assert sum(f["severity"] == "block" for f in r.failures) == r.blocking
        day = results[(results["ds"] == r.ds) & ~results["success"]]
        assert sorted(f["expectation"] for f in r.failures) == sorted(day["expectation"])
        assert r.validated_at == results.loc[results["ds"] == r.ds, "validated_at"].max()


def test_champion_is_the_registry_alias_with_its_promotion_metrics(demo, demo_lake):
    from reelhouse.ml.model import champion_version

    c = rh.champion(config=demo)
    assert c is not None and c.version == champion_version(demo)
    promotions = Lake.from_config(demo).read_pandas("ml.model_promotions")
    promoted = promotions[(promotions["action"] == "promote") & (promotions["version"] == c.version)].iloc[-1]
    assert c.action == "promote" and c.run_id == promoted["run_id"] and c.valid_day == demo_lake.days[-1]
    assert c.auc == pytest.approx(promoted["challenger_auc"]) and c.baseline_auc == pytest.approx(promoted["baseline_auc"])
    assert c.promoted_at.tzinfo is not None
    m = c.metrics_frame()
    assert {"challenger", "baseline"} <= set(m.index) and m.loc["challenger", "auc"] == pytest.approx(c.auc)
    assert 0.0 <= c.auc <= 1.0


def test_the_notebook_api_on_a_lake_in_the_object_store(object_store):
    """The same calls on a lake at ``s3a://`` (the loopback store; the bridge commits in place):
    time travel, partition filters and per-commit counts read from the log on the store."""
    import dataclasses
    import uuid

    from reelhouse import objectstore

    if object_store is None:
        pytest.skip("no object store answers on the loopback endpoint (make objectstore)")
    root = f"s3a://reelhouse-lake/_test/notebook-{uuid.uuid4().hex[:10]}"
    base = load_config("test", environ={"REELHOUSE_ENV": "test"})
    cfg = dataclasses.replace(base, object_store=object_store, paths=dataclasses.replace(base.paths, lake=root))
    try:
        lake = Lake.from_config(cfg)
        for day, tags in [(D1, ["a", "b"]), (D2, ["c"]), (D1, ["z"])]:
            lake.write_arrow(trending_rows(day, tags), TRENDING, mode="overwrite_partitions", partitions={"ds": [day]})
        assert sorted(rh.read(TRENDING, config=cfg)["hashtag"]) == ["c", "z"]
        assert sorted(rh.read(TRENDING, version=1, config=cfg)["hashtag"]) == ["a", "b"]
        assert list(rh.read(TRENDING, where={"ds": D2}, config=cfg)["hashtag"]) == ["c"]
        h = rh.history(TRENDING, config=cfg)
        assert list(h["version"]) == [3, 2, 1, 0]
        assert list(h["files_added"][:3]) == [1, 1, 1] and list(h["rows_added"][:3]) == [1, 1, 2]
        assert h["files_removed"].iloc[0] == 1  # D1's [a, b] file replaced
        files = lake.delta_table(TRENDING).file_uris()
        assert files and all(f.startswith(objectstore.delta_uri(root) + "/gold/trending_hashtags/staged/") for f in files)
    finally:
        fs, path = objectstore.filesystem(root)
        fs.delete_dir_contents(path, missing_dir_ok=True)
