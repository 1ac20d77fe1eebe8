"""Configuration: overlays, environment overrides, clear errors naming the key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reelhouse.config import PROJECT_ROOT, ConfigError, load_config


@pytest.fixture
def conf_dir(tmp_path, monkeypatch):
    d = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", d)
    monkeypatch.setenv("REELHOUSE_CONF_DIR", str(d))
    return d


def test_every_shipped_overlay_loads(monkeypatch):
    monkeypatch.setenv("REELHOUSE_LAKE_URI", "s3a://bucket/lake")
    for env in ("local", "test", "cluster", "objectstore", "standalone"):
        cfg = load_config(env, environ={})
        assert cfg.env == env
    assert load_config("cluster", environ={}).lake_engine == "delta-spark"
    local = load_config("local", environ={})
    assert local.lake_engine == "delta-rs" and local.spark.master == "local[2]"
    assert Path(local.paths.lake).is_absolute() and local.paths.lake.endswith("data/lake")
    assert local.spark.conf["spark.sql.parquet.outputTimestampType"] == "TIMESTAMP_MICROS"


def test_overlay_and_environment_overrides_win():
    cfg = load_config("test", environ={
        "REELHOUSE__PATHS__LAKE": "/tmp/x/lake",
        "REELHOUSE__INGEST__FUTURE_TOLERANCE_SECONDS": "60",
        "REELHOUSE__SPARK__CONF__spark.driver.memory": "1g",
    })
    assert cfg.paths.lake == "/tmp/x/lake"
    assert cfg.ingest.future_tolerance_seconds == 60
    assert cfg.spark.conf["spark.driver.memory"] == "1g"
    assert cfg.spark.conf["spark.sql.shuffle.partitions"] == "4"  # from test.yaml over base.yaml


def test_env_variable_chooses_overlay():
    assert load_config(environ={"REELHOUSE_ENV": "test"}).env == "test"
    assert load_config(environ={}).env == "local"


def test_unknown_overlay_lists_choices():
    with pytest.raises(ConfigError, match=r"REELHOUSE_ENV='prod'.*choose one of \['cluster', 'local', 'objectstore', 'standalone', 'test'\]"):
        load_config("prod", environ={})


def test_malformed_yaml_names_the_file(conf_dir):
    (conf_dir / "local.yaml").write_text("spark: [unclosed\n")
    with pytest.raises(ConfigError, match="local.yaml: not valid YAML"):
        load_config("local", environ={})


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match="'ingest.future_tolerance_seconds' must be int"):
        load_config("test", environ={"REELHOUSE__INGEST__FUTURE_TOLERANCE_SECONDS": "soon"})
    with pytest.raises(ConfigError, match="'ingest.max_quarantine_ratio' must be in \\[0, 1\\]"):
        load_config("test", environ={"REELHOUSE__INGEST__MAX_QUARANTINE_RATIO": "3"})
    with pytest.raises(ConfigError, match="'lake.engine' must be one of"):
        load_config("test", environ={"REELHOUSE__LAKE__ENGINE": "iceberg"})


def test_unknown_and_missing_keys_are_named(conf_dir):
    (conf_dir / "local.yaml").write_text("ingest:\n  future_tolerance_secs: 5\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['ingest.future_tolerance_secs'\]"):
        load_config("local", environ={})
    (conf_dir / "local.yaml").write_text("")
    base = (conf_dir / "base.yaml").read_text().replace("  lake: data/lake", "")
    (conf_dir / "base.yaml").write_text(base)
    with pytest.raises(ConfigError, match=r"missing key\(s\) \['paths.lake'\]"):
        load_config("local", environ={})


def test_environment_references_expand(conf_dir, monkeypatch):
    (conf_dir / "local.yaml").write_text("paths:\n  lake: ${LAKE_FROM_ENV:-/default/lake}\n")
    assert load_config("local", environ={}).paths.lake == "/default/lake"
    monkeypatch.setenv("LAKE_FROM_ENV", "/from/env")
    assert load_config("local", environ={}).paths.lake == "/from/env"


def test_unknown_key_set_through_the_environment_names_the_variable():
    with pytest.raises(ConfigError, match=r"REELHOUSE__QUALITY__VOLUME_BANDS sets unknown key 'quality.volume_bands'; did you mean 'volume_band'"):
        load_config("test", environ={"REELHOUSE__QUALITY__VOLUME_BANDS": "0.3"})
    with pytest.raises(ConfigError, match=r"REELHOUSE__PATH__LAKE sets unknown key 'path'"):
        load_config("test", environ={"REELHOUSE__PATH__LAKE": "/x"})
    with pytest.raises(ConfigError, match=r"REELHOUSE__ONLINE_STORE__TTL_DAYS__USERS .*known keys of online_store.ttl_days"):
        load_config("test", environ={"REELHOUSE__ONLINE_STORE__TTL_DAYS__USERS": "3"})
    with pytest.raises(ConfigError, match=r"REELHOUSE__PATHS: expected REELHOUSE__<SECTION>__<KEY>"):
        load_config("test", environ={"REELHOUSE__PATHS": "x"})
    # nested keys are case-insensitive like the others; Spark conf keys are free-form and keep their case
    cfg = load_config("test", environ={"REELHOUSE__ONLINE_STORE__TTL_DAYS__USER_FEATURES": "3",
                                       "REELHOUSE__SPARK__CONF__spark.sql.ansi.enabled": "true"})
    assert cfg.online_store.ttl_days["user_features"] == 3
    assert cfg.spark.conf["spark.sql.ansi.enabled"] == "true"


def test_unwritable_lake_paths_are_one_line_naming_key_and_path(tmp_path):
    import os

    from reelhouse.config import check_writable

    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = {
        str(a_file): "is a file, not a folder",
        str(a_file / "lake"): "cannot write there",  # a file where a parent folder should be
        str(tmp_path / "no" / "mount" / "lake"): "a missing mount",
    }
    for path, why in cases.items():
        cfg = load_config("test", environ={"REELHOUSE__PATHS__LAKE": path})
        with pytest.raises(ConfigError) as err:
            check_writable(cfg, "paths.lake", environ={"REELHOUSE__PATHS__LAKE": path})
        msg = str(err.value)
        assert "\n" not in msg and why in msg and f"paths.lake = '{path}'" in msg and "REELHOUSE__PATHS__LAKE" in msg
    if os.geteuid() != 0:  # root writes through permission bits
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        cfg = load_config("test", environ={"REELHOUSE__PATHS__LAKE": str(ro)})
        with pytest.raises(ConfigError, match="cannot write there"):
            check_writable(cfg, "paths.lake")
    # a missing folder whose parent exists is created; object-store URIs are left to the client
    ok = tmp_path / "lake"
    check_writable(load_config("test", environ={"REELHOUSE__PATHS__LAKE": str(ok)}), "paths.lake")
    assert ok.is_dir() and not list(ok.iterdir())
    check_writable(load_config("test", environ={"REELHOUSE__PATHS__LAKE": "s3://bucket/lake"}), "paths.lake")


def test_variables_of_an_explicit_environ_fill_the_references():
    """``load_config(environ=…)`` reads ``${VAR}`` references from that mapping first (then the
    process's environment, then the default)."""
    env = {"REELHOUSE_LAKE_URI": "s3a://bucket/run-1", "SPARK_MASTER_URL": "spark://10.0.0.1:7077"}
    cfg = load_config("standalone", environ=env)
    assert cfg.paths.lake == "s3a://bucket/run-1" and cfg.spark.master == "spark://10.0.0.1:7077"
    assert load_config("standalone", environ={}).paths.lake == "s3a://reelhouse-lake"
