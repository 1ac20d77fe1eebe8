"""The reelhouse CLI: argument and configuration errors, run/backfill/tables/history."""

from __future__ import annotations

import json

import pytest

from reelhouse.cli import main


def test_bad_date_is_an_argument_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--date", "2024-13-01"])
    assert e.value.code == 2 and "not a date" in capsys.readouterr().err


def test_backfill_needs_a_range(capsys, data_dirs):
    assert main(["backfill"]) == 2
    assert main(["backfill", "--start", "2024-01-02", "--end", "2024-01-01"]) == 2
    assert "before start" in capsys.readouterr().err


def test_unknown_step_is_named(capsys, data_dirs):
    assert main(["run", "--date", "2024-01-01", "--steps", "ingest,nope"]) == 2
    assert "unknown step(s) ['nope']" in capsys.readouterr().err


def test_malformed_config_names_the_key(capsys, monkeypatch, data_dirs):
    monkeypatch.setenv("REELHOUSE__LAKE__ENGINE", "iceberg")
    assert main(["tables"]) == 2
    assert "lake.engine" in capsys.readouterr().err


def test_generate_run_tables_history(capsys, spark, data_dirs):
    assert main(["generate", "--start", "2024-06-01", "--days", "1", "--events-per-day", "3000", "--seed", "1"]) == 0
    gen = json.loads(capsys.readouterr().out)
    assert gen["events_total"] >= 3000
    assert main(["run", "--date", "2024-06-01"]) == 0
    out = capsys.readouterr().out
    assert "[ingest 2024-06-01]" in out and "balanced" in out
    assert "silver.events" in out and "(not written yet)" not in out.split("silver.events")[1].splitlines()[0]
    assert main(["history", "silver.events", "--limit", "1"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["operation"] == "WRITE"
    assert main(["backfill", "--start", "2024-06-05", "--end", "2024-06-05"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_unwritable_lake_is_exit_2_before_any_work(capsys, monkeypatch, tmp_path):
    import reelhouse.spark
    from reelhouse.cli import main

    def no_spark(*a, **k):
        raise AssertionError("Spark started before the lake path was checked")

    monkeypatch.setattr(reelhouse.spark, "get_spark", no_spark)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(a_file))
    assert main(["run", "--date", "2024-06-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "paths.lake" in err and str(a_file) in err and "not a folder" in err


def test_forget_and_maintain(capsys, data_dirs):
    """`reelhouse forget` erases and audits a user (a second call is a no-op), `maintain` runs its
    three steps and prints one line each; `forget` without a user or --pending is exit 2."""
    import datetime as dt

    import pyarrow as pa

    from reelhouse.lake import Lake
    from reelhouse.lake.catalog import get_table

    _landing, lake_dir = data_dirs
    lake = Lake(str(lake_dir))
    spec = get_table("gold.user_features")
    rows = [{c.name: ({pa.string(): "x", pa.int64(): 1, pa.int32(): 1, pa.float64(): 0.5}.get(c.type)
                      if not c.nullable else None) for c in spec.columns} | {
        "user_id": u, "ds": dt.date(2024, 6, 1), "feature_time": dt.datetime(2024, 6, 2, tzinfo=dt.timezone.utc)}
        for u in ("u1", "u2")]
    lake.write_arrow(pa.Table.from_pylist(rows, schema=spec.arrow_schema()), "gold.user_features", mode="append")
    assert main(["forget"]) == 2 and "--user" in capsys.readouterr().err
    assert main(["forget", "--user", "u2", "--vacuum-now"]) == 0
    out = capsys.readouterr().out
    assert "complete — 1 rows deleted" in out and "privacy: 1 requests erased" in out and "u2" not in out.split("\n", 1)[1]
    assert lake.read_arrow("gold.user_features").column("user_id").to_pylist() == ["u1"]
    versions = lake.version("gold.user_features")
    assert main(["forget", "--user", "u2"]) == 0 and "0 requests erased" in capsys.readouterr().out
    assert lake.version("gold.user_features") == versions
    assert main(["maintain", "--date", "2024-07-01"]) == 0
    out = capsys.readouterr().out
    assert all(f"{step} 2024-07-01" in out for step in ("retention", "compaction", "vacuum", "maintenance"))
    assert {r["operation"] for r in lake.read_arrow("ops.table_maintenance").to_pylist()} == {"checkpoint"}
