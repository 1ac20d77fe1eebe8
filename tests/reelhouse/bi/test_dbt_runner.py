"""reelhouse.bi.dbt_runner at unit level: where the database and key live, the environment a dbt
process gets, the sources it ensures, how a dbt run is reported, and its error messages. dbt
itself is replaced by a small fake executable (the real ``dbt build`` runs in tests/dbt). ``config``
(tests/conftest.py) is the test configuration on fresh lake and landing folders."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from reelhouse.bi import dbt_runner as bi
from reelhouse.lake.catalog import get_table


def production(config):
    return dataclasses.replace(config, env="cluster")


def on_lake(config, lake: str):
    return dataclasses.replace(config, paths=dataclasses.replace(config.paths, lake=lake))


# ------------------------------------------------------------------ where things live
def test_duckdb_path_defaults_under_the_lake_and_takes_an_override(config, tmp_path, monkeypatch):
    assert bi.duckdb_path(config) == Path(config.paths.lake) / "_bi" / "reelhouse.duckdb"
    assert bi.duckdb_path(on_lake(config, f"file://{tmp_path}/lk")) == tmp_path / "lk" / "_bi" / "reelhouse.duckdb"
    monkeypatch.chdir(tmp_path)
    assert bi.duckdb_path(config, "scratch/x.duckdb") == tmp_path / "scratch" / "x.duckdb"  # resolved, absolute
    assert bi.key_file_path(config) == Path(config.paths.lake) / "_bi" / "pseudonym.key"
    assert bi.key_file_path(config, tmp_path / "db" / "x.duckdb") == tmp_path / "db" / "pseudonym.key"


def test_a_lake_on_an_object_store_keeps_its_duckdb_file_in_the_local_state_folder(config, tmp_path, monkeypatch):
    monkeypatch.setenv("REELHOUSE_STATE_DIR", str(tmp_path / "state"))
    remote = on_lake(config, "s3a://bucket/lake/prod")
    assert bi.duckdb_path(remote) == tmp_path / "state" / "bucket" / "lake" / "prod" / "_bi" / "reelhouse.duckdb"
    assert bi.duckdb_path(remote, tmp_path / "bi.duckdb") == tmp_path / "bi.duckdb"
    assert bi.task_env(remote)["REELHOUSE_LAKE_ROOT"] == "s3://bucket/lake/prod"  # delta-rs' name
    store = dataclasses.replace(remote.object_store, endpoint="http://127.0.0.1:8333", allow_http=True, path_style=True)
    env = bi.dbt_env(dataclasses.replace(remote, object_store=store), key="k" * 16,
                     environ={"REELHOUSE_S3_ACCESS_KEY": "AK", "REELHOUSE_S3_SECRET_KEY": "SK"})
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:8333" and env["AWS_ALLOW_HTTP"] == "true"
    assert env["AWS_ACCESS_KEY_ID"] == "AK" and env["AWS_SECRET_ACCESS_KEY"] == "SK"
    assert "AWS_ENDPOINT_URL" not in bi.task_env(remote)  # the DAG definition's part stays secret-free
    assert not any(k.startswith("AWS_") for k in bi.dbt_env(config, key="k" * 16))  # a local lake


# ------------------------------------------------------------------ the pseudonymisation key
def test_key_from_the_environment_must_be_long_enough(config):
    assert bi.pseudonym_key(config, environ={bi.KEY_ENV: "k" * 16}) == "k" * 16
    assert bi.pseudonym_key(production(config), environ={bi.KEY_ENV: "s" * 64}) == "s" * 64
    with pytest.raises(bi.PseudonymKeyError, match="too short"):
        bi.pseudonym_key(config, environ={bi.KEY_ENV: "k" * 15})
    assert not bi.key_file_path(config).exists()  # an environment key never creates the file


def test_production_never_generates_a_key(config):
    with pytest.raises(bi.PseudonymKeyError, match="is not set.*'cluster'.*secret store"):
        bi.pseudonym_key(production(config), environ={})
    assert not bi.key_file_path(config).exists()


def test_embedded_key_is_created_once_private_and_reused(config, tmp_path):
    key = bi.pseudonym_key(config, environ={})
    path = bi.key_file_path(config)
    assert len(key) == 64 and int(key, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text(encoding="ascii") == key + "\n"
    assert bi.pseudonym_key(config, environ={}) == key  # reused: user_key values stay stable
    other = bi.pseudonym_key(config, tmp_path / "other" / "x.duckdb", environ={})
    assert other != key and (tmp_path / "other" / "pseudonym.key").exists()  # one key per database


# ------------------------------------------------------------------ the dbt environment
def test_task_env_is_non_secret_and_touches_no_file(config):
    env = bi.task_env(on_lake(config, f"file://{config.paths.lake}/"))
    assert env == {
        "REELHOUSE_LAKE_ROOT": config.paths.lake,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "REELHOUSE_DUCKDB_PATH": str(bi.duckdb_path(config)),
        bi.KEY_FILE_ENV: str(bi.key_file_path(config)),
    }
    assert bi.KEY_ENV not in env and not Path(config.paths.lake).exists()
    assert bi.KEY_FILE_ENV not in bi.task_env(production(config))  # production reads only $REELHOUSE_PSEUDONYM_KEY
    spark = bi.task_env(on_lake(config, "s3://bucket/lake"), target="spark")  # no DuckDB file at all
    assert spark == {"REELHOUSE_LAKE_ROOT": "s3://bucket/lake", "DO_NOT_TRACK": "1",
                     "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}


def test_dbt_env_adds_the_key_and_dbt_paths_next_to_the_database(config, tmp_path):
    db = tmp_path / "bi" / "marts.duckdb"
    env = bi.dbt_env(config, db, key="given-key-0123456789")
    assert env[bi.KEY_ENV] == "given-key-0123456789"
    assert env["REELHOUSE_DUCKDB_PATH"] == str(db)
    assert env["DBT_PROFILES_DIR"] == env["DBT_PROJECT_DIR"] == str(bi.DBT_PROJECT_DIR)
    assert (env["DBT_TARGET_PATH"], env["DBT_LOG_PATH"]) == (str(tmp_path / "bi" / "dbt_target"), str(tmp_path / "bi" / "dbt_logs"))
    assert set(bi.task_env(config, db).items()) <= set(env.items())
    assert not (tmp_path / "bi" / "pseudonym.key").exists()  # a given key creates nothing
    generated = bi.dbt_env(config, db, environ={})
    assert generated[bi.KEY_ENV] == (tmp_path / "bi" / "pseudonym.key").read_text().strip()
    assert bi.dbt_env(config, db, environ={bi.KEY_ENV: "from-the-environment"})[bi.KEY_ENV] == "from-the-environment"
    with pytest.raises(bi.PseudonymKeyError):
        bi.dbt_env(production(config), db, environ={})


# ------------------------------------------------------------------ sources
def test_source_tables_are_the_sources_yml_tables_and_in_the_catalog():
    tables = bi.source_tables()
    assert len(tables) == len(set(tables)) > 0
    assert {"silver.events", "gold.video_daily_stats", "ops.quality_results", "ml.model_promotions"} <= set(tables)
    for name in tables:
        get_table(name)  # raises for a table the catalog does not know
    text = bi.SOURCES_YML.read_text(encoding="utf-8")
    for name in tables:  # each source reads the table's own Delta directory
        layer, table = name.split(".")
        assert f"/{layer}/{table}\"" in text


def test_ensure_sources_creates_only_the_missing_tables_empty(config):
    from reelhouse.lake import Lake

    lake = Lake(config.paths.lake)
    lake.ensure("silver.events")
    created = bi.ensure_sources(lake)
    assert sorted(created) == sorted(set(bi.source_tables()) - {"silver.events"})
    for name in bi.source_tables():
        assert lake.exists(name)
        t = lake.read_arrow(name)
        assert t.num_rows == 0 and t.schema.names == get_table(name).arrow_schema().names
    assert bi.ensure_sources(lake) == []


# ------------------------------------------------------------------ results
def test_dbt_result_failures_and_summary():
    nodes = [{"unique_id": "model.a", "status": "success"}, {"unique_id": "test.b", "status": "fail"},
             {"unique_id": "test.c", "status": "warn"}, {"unique_id": "model.d", "status": "error"},
             {"unique_id": "model.e", "status": "runtime error"}, {"unique_id": "model.f", "status": "skipped"}]
    r = bi.DbtResult(False, ["build", "--select", "x"], 12.34, 1, "out", nodes)
    assert [n["unique_id"] for n in r.failures()] == ["test.b", "model.d", "model.e"]  # warn is no failure
    assert r.summary() == ('dbt build --select x: FAILED (exit 1) in 12.3s '
                           '{"error": 1, "fail": 1, "runtime error": 1, "skipped": 1, "success": 1, "warn": 1}')
    ok = bi.DbtResult(True, ["parse"], 0.5, 0, "")
    assert ok.failures() == [] and ok.summary() == "dbt parse: OK in 0.5s {}"


# ------------------------------------------------------------------ running dbt (a fake one)
FAKE_DBT = '''#!{python}
"""A stand-in for dbt: prints what it was started with; `build` writes run_results.json."""
import json, os, sys
args = sys.argv[1:]
print("started " + json.dumps({{"args": args, "cwd": os.getcwd(),
                               "env": {{k: os.environ.get(k) for k in {keys!r}}}}}))
if "ls" in args:
    print("12:00:00  Running with dbt=fake")
    for uid in ("test.p.b", "model.p.a"):
        print(json.dumps({{"unique_id": uid, "name": uid.split(".")[-1], "resource_type": uid.split(".")[0]}}))
if "build" in args:
    target = os.environ["DBT_TARGET_PATH"]
    os.makedirs(target, exist_ok=True)
    results = [{{"unique_id": "model.p.a", "status": "success", "message": "OK", "execution_time": 0.25}},
               {{"unique_id": "test.p.b", "status": "fail", "message": "Got 3 results"}}]
    with open(os.path.join(target, "run_results.json"), "w") as fh:
        json.dump({{"results": results}}, fh)
print("fake dbt to stderr", file=sys.stderr)
sys.exit(int(os.environ.get("FAKE_DBT_EXIT", "0")))
'''
ENV_KEYS = ["REELHOUSE_LAKE_ROOT", "REELHOUSE_DUCKDB_PATH", bi.KEY_ENV, "DBT_TARGET_PATH", "DBT_PROJECT_DIR",
            "DO_NOT_TRACK", "FAKE_DBT_EXIT"]


@pytest.fixture
def fake_dbt(tmp_path, monkeypatch) -> Path:
    exe = tmp_path / "bin" / "dbt"
    exe.parent.mkdir()
    exe.write_text(FAKE_DBT.format(python=sys.executable, keys=ENV_KEYS), encoding="utf-8")
    exe.chmod(0o755)
    monkeypatch.setattr(bi, "dbt_executable", lambda: str(exe))
    return exe


def started_with(result: bi.DbtResult) -> dict:
    first = result.output.splitlines()[0]
    assert first.startswith("started ")
    return json.loads(first.removeprefix("started "))


def test_run_dbt_gives_the_child_the_dbt_env_and_reads_its_results(config, fake_dbt, tmp_path, monkeypatch):
    monkeypatch.delenv(bi.KEY_ENV, raising=False)
    db = tmp_path / "bi" / "x.duckdb"
    result = bi.run_dbt(config, ["build", "--select", "m"], db, key="child-only-key-0123")
    assert result.success and result.returncode == 0 and result.args == ["build", "--select", "m"]
    seen = started_with(result)
    assert seen["args"] == ["build", "--select", "m"] and seen["cwd"] == str(bi.DBT_PROJECT_DIR)
    assert seen["env"][bi.KEY_ENV] == "child-only-key-0123"
    assert seen["env"]["REELHOUSE_DUCKDB_PATH"] == str(db) and seen["env"]["DO_NOT_TRACK"] == "1"
    assert seen["env"]["REELHOUSE_LAKE_ROOT"] == config.paths.lake
    assert "fake dbt to stderr" in result.output  # stdout + stderr
    assert db.parent.is_dir() and not db.exists()  # the folder is made; the file is dbt's business
    assert bi.KEY_ENV not in os.environ  # the key went to the child only
    assert result.nodes == [
        {"unique_id": "model.p.a", "status": "success", "message": "OK", "seconds": 0.25},
        {"unique_id": "test.p.b", "status": "fail", "message": "Got 3 results", "seconds": None},
    ]
    assert [n["unique_id"] for n in result.failures()] == ["test.p.b"]
    # a command that writes no results does not report the previous command's
    again = bi.run_dbt(config, ["parse"], db, key="child-only-key-0123")
    assert again.success and again.nodes == []


def test_run_dbt_reports_a_failing_command_without_raising(config, fake_dbt, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_DBT_EXIT", "2")
    result = bi.run_dbt(config, ["run"], tmp_path / "x.duckdb", key="k" * 16, echo=True)
    assert not result.success and result.returncode == 2
    assert "FAILED (exit 2)" in result.summary()
    printed = capsys.readouterr().out
    assert started_with(result)["args"] == ["run"] and printed == result.output  # echo streams both streams


def test_run_dbt_generates_the_embedded_key_when_none_is_given(config, fake_dbt, tmp_path, monkeypatch):
    monkeypatch.delenv(bi.KEY_ENV, raising=False)
    db = tmp_path / "x.duckdb"
    result = bi.run_dbt(config, ["debug"], db)
    assert started_with(result)["env"][bi.KEY_ENV] == (tmp_path / "pseudonym.key").read_text().strip()


def test_dbt_ls_lines_are_sorted_json_and_a_failure_is_an_error(config, fake_dbt, tmp_path, monkeypatch):
    lines = bi.dbt_ls_lines(config, tmp_path / "x.duckdb")
    assert [json.loads(line)["unique_id"] for line in lines] == ["model.p.a", "test.p.b"]
    assert lines[0] == json.dumps({"name": "a", "resource_type": "model", "unique_id": "model.p.a"})  # sorted keys
    assert not (tmp_path / "pseudonym.key").exists()  # `dbt ls` needs no real key
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")
    with pytest.raises(bi.BIError, match=r"(?s)dbt ls failed:\n.*fake dbt to stderr"):
        bi.dbt_ls_lines(config, tmp_path / "x.duckdb")


def test_dbt_executable_next_to_python_else_on_path(tmp_path, monkeypatch):
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(bi.BIError, match="dbt is not installed"):
        bi.dbt_executable()
    on_path = tmp_path / "elsewhere" / "dbt"
    on_path.parent.mkdir()
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert bi.dbt_executable() == str(on_path)
    (venv_bin / "dbt").write_text("#!/bin/sh\n")
    assert bi.dbt_executable() == str(venv_bin / "dbt")  # this environment's dbt wins


def test_connect_needs_a_built_database_and_is_read_only(config, tmp_path):
    import duckdb

    db = tmp_path / "marts.duckdb"
    with pytest.raises(bi.BIError, match=r"no BI database at .*marts\.duckdb: run `reelhouse dbt build` first"):
        bi.connect(config, db)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 42 AS x")
    con = bi.connect(config, db)
    try:
        assert con.execute("SELECT x FROM t").fetchone() == (42,)
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("CREATE TABLE u (y INT)")
    finally:
        con.close()
