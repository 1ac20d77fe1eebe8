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


def test_object_store_paths_add_s3a_jars_and_endpoint_but_never_the_key_pair(monkeypatch, tmp_path):
    import dataclasses

    for name in ("hadoop-aws-3.5.0.jar", "s3-2.35.4.jar", "delta-spark_4.2_2.13-4.4.0.jar"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv(rs.JARS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("REELHOUSE_S3_ACCESS_KEY", "AKIDEXAMPLE")
    monkeypatch.setenv("REELHOUSE_S3_SECRET_KEY", "very-secret-value")
    cfg = _config("delta-rs")
    store = dataclasses.replace(cfg.object_store, endpoint="http://127.0.0.1:8333", path_style=True, allow_http=True)
    on_store = dataclasses.replace(cfg, object_store=store,
                                   paths=dataclasses.replace(cfg.paths, lake="s3a://reelhouse-lake/x"))
    assert rs.uses_object_store(on_store) and not rs.uses_object_store(cfg)
    conf = rs.spark_conf(on_store)
    assert sorted(conf["spark.jars"].split(",")) == sorted(str(tmp_path / n) for n in (
        "delta-spark_4.2_2.13-4.4.0.jar", "hadoop-aws-3.5.0.jar", "s3-2.35.4.jar"))
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:8333"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    text = repr(conf)  # what a spark-submit command line (and so a task log) would show
    assert "very-secret-value" not in text and "AKIDEXAMPLE" not in text
    assert "spark.sql.extensions" not in conf  # the bridge: S3A only, no Delta in Spark
    (tmp_path / "hadoop-aws-3.5.0.jar").unlink()
    with pytest.raises(rs.S3AJarsNotFoundError, match=r"hadoop-aws.*run `make jars`"):
        rs.spark_conf(on_store)


def test_the_session_reads_and_writes_s3a_with_the_key_pair_set_at_run_time(spark, object_store):
    """The test session carries S3A (conftest): a DataFrame round trip through the loopback store,
    with the key pair on the Hadoop configuration, not in the Spark conf."""
    import uuid

    from reelhouse import objectstore

    if object_store is None:
        pytest.skip("no object store answers on the loopback endpoint (make objectstore)")
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    assert hconf.get("fs.s3a.secret.key")
    assert spark.conf.get("spark.hadoop.fs.s3a.secret.key", None) is None
    uri = f"s3a://reelhouse-lake/_test/spark-{uuid.uuid4().hex[:10]}"
    try:
        spark.range(100).selectExpr("id", "id % 3 AS k").write.partitionBy("k").parquet(uri)
        assert spark.read.parquet(uri).selectExpr("sum(id)").first()[0] == 4950
    finally:
        fs, path = objectstore.filesystem(uri, object_store)  # whichever store another test registered
        fs.delete_dir_contents(path, missing_dir_ok=True)
