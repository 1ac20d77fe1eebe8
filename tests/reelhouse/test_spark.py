"""Spark session helpers: a missing Java is a clear error naming the package; the Delta jars,
extension and catalog are added for lake.engine delta-spark (and the test session), and missing
jars are a clear error naming the make target."""

from __future__ import annotations

import pytest

from reelhouse import spark as rs


def test_missing_java_names_the_package(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(rs.JavaNotFoundError, match="openjdk-17-jre-headless"):
        rs.check_java()


def test_java_is_found_here():
    assert rs.check_java().endswith("java")


def test_session_has_lake_settings(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.sql.parquet.outputTimestampType") == "TIMESTAMP_MICROS"


def _config(engine: str, **conf: str):
    import dataclasses

    from reelhouse.config import load_config

    cfg = load_config("test")
    return dataclasses.replace(cfg, lake_engine=engine,
                               spark=dataclasses.replace(cfg.spark, conf={**cfg.spark.conf, **conf}))


def test_delta_spark_conf_adds_the_jars_extension_and_catalog(monkeypatch, tmp_path):
    for name in ("delta-spark_4.2_2.13-4.4.0.jar", "delta-storage-4.4.0.jar", "notes.txt"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv(rs.JARS_DIR_ENV, str(tmp_path))
    conf = rs.spark_conf(_config("delta-spark", **{"spark.jars": "/opt/other.jar",
                                                   "spark.sql.extensions": "com.example.Ext"}))
    assert conf["spark.jars"].split(",") == ["/opt/other.jar", str(tmp_path / "delta-spark_4.2_2.13-4.4.0.jar"),
                                             str(tmp_path / "delta-storage-4.4.0.jar")]
    assert conf["spark.sql.extensions"] == "com.example.Ext,io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    # the bridge needs none of it, unless asked (the test session)
    plain = _config("delta-rs")
    assert rs.spark_conf(plain) == dict(plain.spark.conf)
    assert "spark.jars" in rs.spark_conf(plain, delta=True)


def test_missing_delta_jars_name_the_make_target(monkeypatch, tmp_path):
    monkeypatch.setenv(rs.JARS_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(rs.DeltaJarsNotFoundError, match=r"run `make jars`"):
        rs.spark_conf(_config("delta-spark"))
    assert rs.spark_conf(_config("delta-rs"))  # the bridge starts without them


def test_the_test_session_runs_delta(spark):
    assert "DeltaSparkSessionExtension" in spark.conf.get("spark.sql.extensions")
    assert any("delta-spark_" in j for j in spark.conf.get("spark.jars").split(","))
