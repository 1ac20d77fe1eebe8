"""dbt build over the real KuaiRand lake (the shared `kuairand_lake` fixture, read through symlinks:
nothing is written into it): every model and test passes, engagement reconciles with gold, and no
raw KuaiRand user id (`kr_u…`) reaches a mart. Lives here because the fixture is defined in
tests/integration/conftest.py (tests/dbt/test_dbt_project.py covers the generated lake)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.integration


def test_dbt_build_on_the_kuairand_lake(kuairand_lake, tmp_path):
    from reelhouse.bi import dbt_runner as bi
    from reelhouse.lake import Lake

    src = Path(kuairand_lake.lake_root)
    lake_root = tmp_path / "lake"
    for name in bi.source_tables():
        layer, table = name.split(".", 1)
        if (src / layer / table).exists():
            (lake_root / layer).mkdir(parents=True, exist_ok=True)
            (lake_root / layer / table).symlink_to(src / layer / table, target_is_directory=True)
    lake_root.mkdir(exist_ok=True)
    created = bi.ensure_sources(Lake(str(lake_root)))  # e.g. ml.model_promotions before any retrain
    cfg = dataclasses.replace(kuairand_lake.config,
                              paths=dataclasses.replace(kuairand_lake.config.paths, lake=str(lake_root)))
    db = tmp_path / "bi" / "reelhouse.duckdb"
    res = bi.run_dbt(cfg, ["build"], db, key="kuairand-integration-key-0123456789")
    print(f"\ndbt build on the KuaiRand lake: {res.seconds:.1f}s (created empty: {created})")
    assert res.success, res.output[-6000:]
    assert not (src / "_bi").exists()  # the shared fixture lake was not written

    gold = Lake(str(src)).read_pandas("gold.video_daily_stats", columns=["ds", "region", "plays", "impressions", "likes"])
    want = gold.groupby(["ds", "region"])[["plays", "impressions", "likes"]].sum().sort_index()
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute("select ds, region, plays, impressions, likes from marts.fct_daily_engagement").df()
        got["ds"] = pd.to_datetime(got.ds).dt.date
        got = got.set_index(["ds", "region"]).sort_index()
        assert list(got.index) == list(want.index)
        assert (got.astype("int64").values == want.astype("int64").values).all()
        leaks = []
        for table in bi.MARTS:
            for col, typ in con.execute("select column_name, data_type from information_schema.columns "
                                        f"where table_schema = 'marts' and table_name = '{table}'").fetchall():
                if typ == "VARCHAR":
                    n = con.execute(f"select count(*) from marts.{table} where \"{col}\" like 'kr\\_u%' escape '\\'").fetchone()[0]
                    leaks += [(table, col)] if n else []
        assert leaks == []
        assert con.execute("select count(*) from marts.mart_creator_leaderboard").fetchone()[0] > 0
