"""SparkSession construction from configuration.

Local (``local[N]``) is the embedded default; a cluster is a change of ``spark.master`` and
``spark.conf`` in ``conf/``, never of code. Under ``spark-submit`` (the Airflow path) the master and
resources come from the submit command and this module only adds the reelhouse settings.

``lake.engine: delta-spark`` runs Delta inside Spark: :func:`spark_conf` adds the Delta jars
(fetched from Maven Central by the install step, ``make jars``, into ``<venv>/jars``; never at run
time) to ``spark.jars`` and Delta's SQL extension and catalog, for :func:`get_spark` and for the
``spark-submit`` conf the nightly DAG passes.

Paths on an object store (``s3a://``, ``conf/objectstore.yaml``) add the S3A connector: hadoop-aws
and the AWS SDK modules it uses (also from ``make jars``, 26 MB) to ``spark.jars``, and
:func:`reelhouse.objectstore.hadoop_s3a_conf`'s endpoint settings. The key pair is never part of
that conf (it would show on the ``spark-submit`` command line and in the task log):
:func:`get_spark` sets it on the running session's Hadoop configuration, from the environment.
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


class S3AJarsNotFoundError(RuntimeError):
    """Paths on an object store need the S3A jars (hadoop-aws) and the jars folder has none."""


def _jars(directory: str | None, needed: str, error: type[RuntimeError], what: str) -> list[str]:
    """Every jar in ``directory`` (default :func:`jars_dir`), absolute and sorted; raises ``error``
    (``what`` needs …) naming the folder and the make target when none starts with ``needed``."""
    folder = os.path.abspath(directory or jars_dir())
    jars = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".jar")) \
        if os.path.isdir(folder) else []
    if not any(os.path.basename(j).startswith(needed) for j in jars):
        raise error(f"{what} and {folder} has no {needed}*.jar: run `make jars` (part of `make install`; "
                    f"fetches them from Maven Central per jars/pom.xml) or point {JARS_DIR_ENV} at a folder "
                    "holding them.")
    return jars


def delta_jars(directory: str | None = None) -> list[str]:
    """Absolute paths of the jars in ``directory`` (default :func:`jars_dir`), sorted.

    Raises :class:`DeltaJarsNotFoundError` naming the folder and the make target when it holds no
    ``delta-spark_*.jar``.
    """
    return _jars(directory, "delta-spark_", DeltaJarsNotFoundError, "lake.engine delta-spark needs the Delta Lake jars")


def s3a_jars(directory: str | None = None) -> list[str]:
    """Absolute paths of the jars in ``directory`` (default :func:`jars_dir`), sorted — hadoop-aws
    and the AWS SDK modules among them. Raises :class:`S3AJarsNotFoundError` naming the make target
    when there is no ``hadoop-aws-*.jar``."""
    return _jars(directory, "hadoop-aws-", S3AJarsNotFoundError, "s3a:// paths need Spark's S3A connector (hadoop-aws)")


def uses_object_store(config: Config) -> bool:
    """True when the lake or the landing zone of ``config`` is on an object store (``s3a://``)."""
    from reelhouse.objectstore import is_object_store_uri

    return is_object_store_uri(config.paths.lake) or is_object_store_uri(config.paths.landing)


def spark_conf(config: Config, *, delta: bool | None = None, s3a: bool | None = None) -> dict[str, str]:
    """The Spark settings of ``config``: ``spark.conf`` from ``conf/``, plus, when ``delta`` (default:
    whether ``lake.engine`` runs Delta inside Spark, :data:`ENGINE_RUNS_DELTA_IN_SPARK`), the Delta
    jars appended to ``spark.jars`` and :data:`DELTA_SQL_CONF` (Delta's extension appended to any
    configured ``spark.sql.extensions``); when ``s3a`` (default: :func:`uses_object_store`), the
    S3A jars in ``spark.jars`` and the store's endpoint settings (no secrets; see the module
    docstring). Raises :class:`DeltaJarsNotFoundError` /
    :class:`S3AJarsNotFoundError` when needed jars are not installed."""
    conf = dict(config.spark.conf)
    if s3a is None:
        s3a = uses_object_store(config)
    if delta is None:
        delta = ENGINE_RUNS_DELTA_IN_SPARK[config.lake_engine]
    wanted = (delta_jars() if delta else []) + (s3a_jars() if s3a else [])
    if wanted:
        jars = [j for j in conf.get("spark.jars", "").split(",") if j]
        conf["spark.jars"] = ",".join(jars + [j for j in dict.fromkeys(wanted) if j not in jars])
    if s3a:
        from reelhouse.objectstore import hadoop_s3a_conf

        for k, v in hadoop_s3a_conf(config.object_store, credentials=False).items():
            conf.setdefault(k, v)
    if not delta:
        return conf
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
              delta: bool | None = None, s3a: bool | None = None) -> "SparkSession":
    """Return the process's SparkSession, creating it from ``config`` when none is running.

    Sets ``PYSPARK_PYTHON`` to this interpreter so executors import the same ``reelhouse``. Forces
    the settings the lake relies on: UTC session time zone and INT64-microsecond Parquet
    timestamps. ``delta``: load the Delta jars, extension and catalog (default: when ``lake.engine``
    is ``delta-spark``; see :func:`spark_conf`). ``s3a``: the S3A connector (default: when a path
    is on an object store); the store's key pair is then set on the session's Hadoop
    configuration (:func:`set_s3a_credentials`), under ``spark-submit`` too. Raises
    :class:`JavaNotFoundError` when Java is missing and :class:`DeltaJarsNotFoundError` /
    :class:`S3AJarsNotFoundError` when needed jars are not installed.
    """
    from pyspark.sql import SparkSession

    cfg = config or get_config()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if s3a is None:
        s3a = uses_object_store(cfg)
    check_java()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name or cfg.spark.app_name)
    if not _under_spark_submit():
        # under spark-submit the master and conf come from the submit command (the Airflow
        # connection and operator); setting them here would override it
        builder = builder.master(cfg.spark.master)
        conf = spark_conf(cfg, delta=delta, s3a=s3a)
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
    if s3a:
        set_s3a_credentials(spark, cfg)
    return spark


def set_s3a_credentials(spark: "SparkSession", config: Config) -> bool:
    """Set the object store's key pair (:func:`reelhouse.objectstore.s3_credentials`, from the
    environment) on the running session's Hadoop configuration — where S3A reads it on the driver,
    and which Spark ships with each job to the executors — so it never appears in a
    ``spark-submit`` command line. Returns False when the environment names none (S3A's own
    provider chain applies)."""
    from reelhouse.objectstore import hadoop_s3a_conf

    secret = {k: v for k, v in hadoop_s3a_conf(config.object_store).items()
              if k not in hadoop_s3a_conf(config.object_store, credentials=False)}
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    for k, v in secret.items():
        hconf.set(k.removeprefix("spark.hadoop."), v)
    return bool(secret)


def _under_spark_submit() -> bool:
    """spark-submit starts the JVM first and hands its gateway port to the Python driver."""
    return "PYSPARK_GATEWAY_PORT" in os.environ
