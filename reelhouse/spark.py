"""SparkSession construction from configuration.

Local (``local[N]``) is the embedded default; a cluster is a change of ``spark.master`` and
``spark.conf`` in ``conf/``, never of code. Under ``spark-submit`` (the Airflow path) the master and
resources come from the submit command and this module only adds the reelhouse settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

from reelhouse.config import Config, get_config

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


#: JVM logging configuration for local sessions: errors only (see the file).
LOG4J2_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")


class JavaNotFoundError(RuntimeError):
    """Spark needs a Java runtime (17) and none was found on PATH or in JAVA_HOME."""


def check_java() -> str:
    """Return the path of the ``java`` binary Spark will use.

    Raises :class:`JavaNotFoundError` naming the package to install when there is none.
    """
    home = os.environ.get("JAVA_HOME")
    candidates = [os.path.join(home, "bin", "java")] if home else []
    found = shutil.which("java")
    if found:
        candidates.append(found)
    for c in candidates:
        if os.path.exists(c):
            try:
                subprocess.run([c, "-version"], capture_output=True, timeout=30, check=True)
            except (OSError, subprocess.SubprocessError):
                continue
            return c
    raise JavaNotFoundError(
        "Spark needs Java 17 and no working `java` was found (PATH or JAVA_HOME). "
        "Install it, e.g. `apt-get install openjdk-17-jre-headless` on Debian/Ubuntu, "
        "`brew install openjdk@17` on macOS, then run this again."
    )


def get_spark(config: Config | None = None, *, app_name: str | None = None) -> "SparkSession":
    """Return the process's SparkSession, creating it from ``config`` when none is running.

    Sets ``PYSPARK_PYTHON`` to this interpreter so executors import the same ``reelhouse``. Forces
    the settings the lake relies on: UTC session time zone and INT64-microsecond Parquet
    timestamps. Raises :class:`JavaNotFoundError` when Java is missing.
    """
    from pyspark.sql import SparkSession

    cfg = config or get_config()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    check_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name or cfg.spark.app_name)
    if not _under_spark_submit():
        # under spark-submit the master and conf come from the submit command (the Airflow
        # connection and operator); setting them here would override it
        builder = builder.master(cfg.spark.master)
        for k, v in cfg.spark.conf.items():
            builder = builder.config(k, v)
        if "spark.driver.extraJavaOptions" not in cfg.spark.conf:
            # errors only from the JVM's first line on (setLogLevel below comes after start-up)
            builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{LOG4J2_CONF}")
        if cfg.spark.master.startswith("local"):
            # a local session talks to itself: no "hostname resolves to a loopback address" warning
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    builder = builder.config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("REELHOUSE_SPARK_LOG_LEVEL", "ERROR"))
    return spark


def _under_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands its gateway port to the Python driver."""
    return "PYSPARK_GATEWAY_PORT" in os.environ
