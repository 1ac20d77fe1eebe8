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
