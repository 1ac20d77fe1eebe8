"""Spark session helpers: a missing Java is a clear error naming the package."""

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
