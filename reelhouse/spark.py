"""SparkSession construction from configuration.

Local (``local[N]``) is the embedded default; a cluster is a change of ``spark.master`` and
``spark.conf`` in ``conf/``, never of code. Under ``spark-submit`` (the Airflow path) the master and
resources come from the submit command and this module only adds the reelhouse settings.

``lake.engine: delta-spark`` runs Delta inside Spark: :func:`spark_conf` adds the Delta jars
(fetched from Maven Central by the install step, ``make jars``, into ``<venv>/jars``; never at run
time) to ``spark.jars`` and Delta's SQL extension and catalog, for :func:`get_spark` and for the
``spark-submit`` conf the nightly DAG passes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Mapping

from reelhouse.config import Config, get_config

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


#: JVM logging configuration for local sessions: errors only (see the file).
LOG4J2_CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")


#: Delta Lake's SQL extension and catalog (``DESCRIBE HISTORY``, ``VERSION AS OF``, ``delta.`path```).
DELTA_SQL_CONF: Mapping[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
#: Whether a ``lake.engine`` runs Delta inside Spark (then Spark needs the Delta jars and
#: :data:`DELTA_SQL_CONF`); the delta-rs bridge commits through delta-rs and needs neither.
ENGINE_RUNS_DELTA_IN_SPARK: Mapping[str, bool] = {"delta-rs": False, "delta-spark": True}
#: Environment variable naming the folder of the extra JVM jars (default ``<venv>/jars``), for a
#: cluster whose driver runs another Python installation.
JARS_DIR_ENV = "REELHOUSE_JARS_DIR"


class JavaNotFoundError(RuntimeError):
    """Spark needs a Java runtime (17) and none was found on PATH or in JAVA_HOME."""


class DeltaJarsNotFoundError(RuntimeError):
    """``lake.engine: delta-spark`` needs the Delta jars and the jars folder has none."""


def jars_dir() -> str:
    """The folder of the JVM jars reelhouse adds to Spark's classpath: ``$REELHOUSE_JARS_DIR``, else
    ``<sys.prefix>/jars`` (``.venv/jars``, filled by ``make jars`` from ``jars/pom.xml``)."""
    return os.environ.get(JARS_DIR_ENV) or os.path.join(sys.prefix, "jars")


def delta_jars(directory: str | None = None) -> list[str]:
    """Absolute paths of the jars in ``directory`` (default :func:`jars_dir`), sorted.

    Raises :class:`DeltaJarsNotFoundError` naming the folder and the make target when it holds no
    ``delta-spark_*.jar``.
    """
    folder = os.path.abspath(directory or jars_dir())
    jars = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".jar")) \
        if os.path.isdir(folder) else []
    if not any(os.path.basename(j).startswith("delta-spark_") for j in jars):
        raise DeltaJarsNotFoundError(
            f"lake.engine delta-spark needs the Delta Lake jars and {folder} has none: run `make jars` "
            f"(part of `make install`; fetches them from Maven Central per jars/pom.xml) or point "
            f"{JARS_DIR_ENV} at a folder holding them."
        )
    return jars


def spark_conf(config: Config, *, delta: bool | None = None) -> dict[str, str]:
    """The Spark settings of ``config``: ``spark.conf`` from ``conf/``, plus, when ``delta`` (default:
    whether ``lake.engine`` runs Delta inside Spark, :data:`ENGINE_RUNS_DELTA_IN_SPARK`), the Delta
    jars appended to ``spark.jars`` and :data:`DELTA_SQL_CONF` (Delta's extension appended to any
    configured ``spark.sql.extensions``). Raises :class:`DeltaJarsNotFoundError` when Delta is
    needed and the jars are not installed."""
    conf = dict(config.spark.conf)
    if delta is None:
        delta = ENGINE_RUNS_DELTA_IN_SPARK[config.lake_engine]
    if not delta:
        return conf
    jars = [j for j in conf.get("spark.jars", "").split(",") if j]
    conf["spark.jars"] = ",".join(jars + [j for j in delta_jars() if j not in jars])
    extensions = [e for e in conf.get("spark.sql.extensions", "").split(",") if e]
    if DELTA_SQL_CONF["spark.sql.extensions"] not in extensions:
        extensions.append(DELTA_SQL_CONF["spark.sql.extensions"])
    conf["spark.sql.extensions"] = ",".join(extensions)
    conf.setdefault("spark.sql.catalog.spark_catalog", DELTA_SQL_CONF["spark.sql.catalog.spark_catalog"])
    return conf


@contextmanager
def scoped_conf(spark: "SparkSession", settings: Mapping[str, str]) -> Iterator[None]:
    """Set ``settings`` (Spark runtime SQL conf keys → values) on ``spark`` for the ``with`` block
    and restore the previous values afterwards — unset where they were unset — even on error."""
    saved = {k: spark.conf.get(k, None) for k in settings}
    try:
        for k, v in settings.items():
            spark.conf.set(k, v)
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


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


def get_spark(config: Config | None = None, *, app_name: str | None = None,
              delta: bool | None = None) -> "SparkSession":
    """Return the process's SparkSession, creating it from ``config`` when none is running.

    Sets ``PYSPARK_PYTHON`` to this interpreter so executors import the same ``reelhouse``. Forces
    the settings the lake relies on: UTC session time zone and INT64-microsecond Parquet
    timestamps. ``delta``: load the Delta jars, extension and catalog (default: when ``lake.engine``
    is ``delta-spark``; see :func:`spark_conf`). Raises :class:`JavaNotFoundError` when Java is
    missing and :class:`DeltaJarsNotFoundError` when Delta is needed and its jars are not installed.
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
        conf = spark_conf(cfg, delta=delta)
        for k, v in conf.items():
            builder = builder.config(k, v)
        if "spark.driver.extraJavaOptions" not in conf:
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
