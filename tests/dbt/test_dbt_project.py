"""The dbt project (dbt/) over the generated demo lake: builds with every test passing, the marts
reconcile with gold and ml, no raw user id reaches a mart, pseudonyms are keyed, a missing key is
an error, and the Spark target parses."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time

import duckdb
import pandas as pd
import pytest

from reelhouse.bi import dbt_runner as bi
from reelhouse.lake import Lake

RAW_ID = re.compile(r"^(u\d{8}|kr_u\d+)$")


@pytest.fixture(scope="module")
def marts(demo_marts):
    con = duckdb.connect(str(demo_marts.duckdb_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def gold(demo_marts):
    return Lake(str(demo_marts.demo_lake.lake_root))


def test_build_passes_with_every_model_and_test(demo_marts, marts):
    build = demo_marts.build
    print(f"\ndbt build on the demo lake: {build.seconds:.1f}s, {len(build.nodes)} nodes")
    assert build.success and not build.failures()
    statuses = {n["unique_id"].split(".")[0] for n in build.nodes}
    assert statuses == {"model", "test"}
    tables = {(s, t): k for s, t, k in marts.execute(
        "select table_schema, table_name, table_type from information_schema.tables").fetchall()}
    for m in bi.MARTS:
        assert tables[("marts", m)] == "BASE TABLE", m
    staging = {t for (s, t), k in tables.items() if s == "staging"}
    assert len(staging) == len(bi.source_tables()) and all(tables[("staging", t)] == "VIEW" for t in staging)
    # the staging views read DuckDB copies of the sources, so they work in a later process (this one)
    for t in staging:
        assert marts.execute(f"select count(*) from staging.{t}").fetchone()[0] >= 0


def test_daily_engagement_reconciles_with_gold(marts, gold):
    g = gold.read_pandas("gold.video_daily_stats")
    want = (g.groupby(["ds", "region"])[["impressions", "plays", "likes", "shares", "comments", "follows",
                                         "total_watch_time_ms"]].sum()
            .rename(columns={"total_watch_time_ms": "watch_time_ms"}).sort_index())
    got = marts.execute("select * from marts.fct_daily_engagement").df()
    got["ds"] = pd.to_datetime(got.ds).dt.date
    got = got.set_index(["ds", "region"]).sort_index()
    assert list(got.index) == list(want.index)
    for c in want.columns:
        assert (got[c].astype("int64") == want[c].astype("int64")).all(), c
    assert "ALL" in set(got.index.get_level_values("region"))
    # active users: ALL is at most the sum over regions and at least the largest region
    per_region = got[got.index.get_level_values("region") != "ALL"].groupby(level="ds").active_users
    all_ = got.xs("ALL", level="region").active_users
    assert (all_ <= per_region.sum()).all() and (all_ >= per_region.max()).all() and (all_ > 0).all()


def test_trending_hashtags_equal_gold_rankings(marts, gold):
    g = gold.read_pandas("gold.hashtag_rankings")
    got = marts.execute("select ds, region, hashtag, trend_rank, trend_rank_change, is_new_entry "
                        "from marts.mart_trending_hashtags").df()
    got["ds"] = pd.to_datetime(got.ds).dt.date
    key = ["ds", "region", "hashtag"]
    m = got.merge(g[key + ["trend_rank"]], on=key, how="outer", suffixes=("", "_gold"), indicator=True)
    assert (m._merge == "both").all() and (m.trend_rank == m.trend_rank_gold).all()
    top = got[(got.region == "ALL") & (got.trend_rank == 1)].sort_values("ds")
    gold_top = g[(g.region == "ALL") & (g.trend_rank == 1)].sort_values("ds")
    assert top.hashtag.tolist() == gold_top.hashtag.tolist() and len(top) == g.ds.nunique()
    latest = marts.execute("select hashtag from marts.mart_trending_hashtags where region = 'ALL' and trend_rank = 1 "
                           "and ds = (select max(ds) from marts.mart_trending_hashtags)").fetchall()
    assert latest == [(gold_top.hashtag.iloc[-1],)]


def test_model_quality_equals_model_promotions(marts, gold):
    p = gold.read_pandas("ml.model_promotions")
    got = marts.execute("select * from marts.mart_model_quality").df()
    assert len(p) >= 1 and sorted(got.decision_id) == sorted(p.decision_id)
    m = got.merge(p, on="decision_id")
    assert (m.model_version == m.version).all() and (m.action_x == m.action_y).all()
    assert (m.challenger_auc_x == m.challenger_auc_y).all()
    champion = p.sort_values("decided_at").champion_after.iloc[-1]
    assert (got.is_current_champion == (got.model_version == champion)).all()
    assert got.challenger_ndcg_at_10.notna().all() and (got.validation_rows > 0).all()


def test_no_raw_user_id_in_any_mart(demo_marts, marts, gold):
    ev = gold.read_arrow("silver.events", columns=["user_id", "creator_id"]).to_pandas()
    raw = set(ev.user_id) | set(ev.creator_id.dropna())
    assert raw and all(RAW_ID.match(u) for u in list(raw)[:100])
    checked = 0
    for (table,) in marts.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall():
        cols = marts.execute("select column_name, data_type from information_schema.columns "
                             f"where table_schema = 'marts' and table_name = '{table}'").fetchall()
        assert not any(c in ("user_id", "creator_id") for c, _ in cols), table
        for col, typ in cols:
            if typ not in ("VARCHAR", "VARCHAR[]"):
                continue
            expr = f'unnest("{col}")' if typ.endswith("[]") else f'"{col}"'
            values = {v for (v,) in marts.execute(f"select distinct {expr} from marts.{table}").fetchall() if v is not None}
            assert not (values & raw), (table, col)
            assert not any(RAW_ID.match(v) for v in values), (table, col)
            checked += 1
    assert checked >= 20


def _sha(key: str, ident: str) -> str:
    return hashlib.sha256(f"{key}:{ident}".encode()).hexdigest()


def test_pseudonyms_are_keyed(demo_marts, marts, gold, tmp_path):
    videos = gold.read_pandas("silver.videos", columns=["video_id", "creator_id"]).set_index("video_id").creator_id
    dim = marts.execute("select video_id, creator_key from marts.dim_videos").df().set_index("video_id").creator_key
    assert set(dim.index) == set(videos.index)
    # same key -> the same values (a keyed SHA-256 anyone holding the key can recompute) ...
    assert all(dim[v] == _sha(demo_marts.key, videos[v]) for v in dim.index)
    # ... another key -> other values for every creator, the same video rows
    other = tmp_path / "other" / "reelhouse.duckdb"
    t0 = time.time()
    res = bi.run_dbt(demo_marts.config, ["run", "--select", "stg_silver__videos", "dim_videos"], other,
                     key="another-key-for-the-test-9876543210")
    print(f"\ndbt run of 2 models: {time.time() - t0:.1f}s")
    assert res.success, res.output[-3000:]
    with duckdb.connect(str(other), read_only=True) as con:
        dim2 = con.execute("select video_id, creator_key from marts.dim_videos").df().set_index("video_id").creator_key
    assert set(dim2.index) == set(dim.index)
    assert not (dim2.sort_index() == dim.sort_index()).any()
    assert all(dim2[v] == _sha("another-key-for-the-test-9876543210", videos[v]) for v in list(dim2.index)[:200])


def test_missing_key_fails_the_marts_and_production_never_generates_one(demo_marts, tmp_path):
    db = tmp_path / "nokey" / "reelhouse.duckdb"
    res = bi.run_dbt(demo_marts.config, ["run", "--select", "stg_silver__videos", "dim_videos"], db, key="")
    assert not res.success and "REELHOUSE_PSEUDONYM_KEY is not set" in res.output
    assert not (db.parent / "pseudonym.key").exists()
    prod = dataclasses.replace(demo_marts.config, env="cluster")
    with pytest.raises(bi.PseudonymKeyError, match="REELHOUSE_PSEUDONYM_KEY"):
        bi.dbt_env(prod, db, environ={})
    # the embedded default: one generated key per database, reused
    k1 = bi.pseudonym_key(demo_marts.config, db, environ={})
    assert len(k1) == 64 and bi.pseudonym_key(demo_marts.config, db, environ={}) == k1
    assert (db.parent / "pseudonym.key").stat().st_mode & 0o077 == 0
    assert bi.pseudonym_key(demo_marts.config, db, environ={"REELHOUSE_PSEUDONYM_KEY": "x" * 32}) == "x" * 32


def test_key_never_written_by_dbt(demo_marts):
    target = demo_marts.duckdb_path.parent
    for f in target.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".sql", ".msgpack", ".log", ".html"):
            assert demo_marts.key.encode() not in f.read_bytes(), f


def test_ensure_sources_creates_missing_tables_empty(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    created = bi.ensure_sources(lake)
    assert sorted(created) == sorted(bi.source_tables()) and "ml.model_promotions" in created
    assert lake.read_arrow("ml.model_promotions").num_rows == 0
    assert bi.ensure_sources(lake) == []


def test_duckdb_path_and_env(demo_marts, tmp_path):
    cfg = demo_marts.config
    assert bi.duckdb_path(cfg) == bi.Path(cfg.paths.lake) / "_bi" / "reelhouse.duckdb"
    env = bi.dbt_env(cfg, tmp_path / "x.duckdb", key="k" * 20)
    assert env["REELHOUSE_DUCKDB_PATH"] == str(tmp_path / "x.duckdb") and env["DO_NOT_TRACK"] == "1"
    assert env["REELHOUSE_LAKE_ROOT"] == cfg.paths.lake and env["REELHOUSE_PSEUDONYM_KEY"] == "k" * 20
    # a lake on an object store: the database file in the lake's local state folder, not on the store
    remote = bi.duckdb_path(dataclasses.replace(cfg, paths=dataclasses.replace(cfg.paths, lake="s3a://bucket/lake")))
    assert remote.is_absolute() and remote.parts[-4:] == ("bucket", "lake", "_bi", "reelhouse.duckdb")


def test_spark_target_parses(demo_marts, tmp_path):
    res = bi.run_dbt(demo_marts.config, ["parse", "--target", "spark"], tmp_path / "spark" / "x.duckdb", key="k" * 20)
    assert res.success, res.output[-3000:]
