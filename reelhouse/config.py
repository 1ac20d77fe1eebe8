"""Configuration as data: ``conf/base.yaml`` plus one overlay chosen by ``REELHOUSE_ENV``.

Resolution order (later wins):

1. ``conf/base.yaml``
2. ``conf/<REELHOUSE_ENV>.yaml`` (``REELHOUSE_ENV`` defaults to ``local``; ``test`` and ``cluster``
   ship too)
3. environment overrides ``REELHOUSE__<SECTION>__<KEY>=value`` (e.g.
   ``REELHOUSE__PATHS__LAKE=/tmp/lake``, ``REELHOUSE__INGEST__FUTURE_TOLERANCE_SECONDS=60``);
   Spark conf keys keep their dots: ``REELHOUSE__SPARK__CONF__spark.driver.memory=2g``.

String values may reference the environment as ``${VAR}`` or ``${VAR:-default}``. Relative paths
resolve against ``REELHOUSE_HOME`` (default: the project root, the parent of ``conf/``). The conf
folder itself can be moved with ``REELHOUSE_CONF_DIR``. Secrets never live in these files.

Errors: :class:`ConfigError` names the file and the key for a malformed file, an unknown key, a
missing key or a value of the wrong type.
"""

from __future__ import annotations

import dataclasses

import os
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml

LakeEngine = Literal["delta-rs", "delta-spark"]
_ENGINES = ("delta-rs", "delta-spark")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A configuration file or override is malformed; the message names the file and key."""


@dataclass(frozen=True)
class PathsConfig:
    """Where data lives. ``landing``: collector drop zone; ``lake``: root of all Delta tables."""

    landing: str
    lake: str


@dataclass(frozen=True)
class SparkConfig:
    """Spark master URL, application name and arbitrary ``spark.*`` settings."""

    master: str
    app_name: str
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestConfig:
    """Ingest tolerances.

    ``future_tolerance_seconds``: how far (seconds) an event_time may lie past the end of the
    landing hour it arrived in before it is quarantined as ``future_event_time``.
    ``max_quarantine_ratio``: share of a date's lines (0..1) that may be quarantined before the
    quality gate blocks the date.
    """

    future_tolerance_seconds: int
    max_quarantine_ratio: float


@dataclass(frozen=True)
class TrendsConfig:
    """Trend-score parameters (see README "Trend score" and ``reelhouse/gold/trends.py``).

    ``baseline_days``: trailing days averaged into the expectation; ``pseudo_count``: smoothing
    k (users); ``overdispersion``: φ of the negative-binomial variance ``e + φ·e²``; ``min_z`` /
    ``min_lift``: an item is listed (rising today) only when its z ≥ ``min_z`` and observed ≥
    ``(1 + min_lift) × expected``; ``min_support`` / ``min_support_share`` /
    ``min_support_excess``: an item needs at least ``max(min_support, min(min_support_share × the
    region's engaged users that day, expected + min_support_excess))`` weighted engaged users to
    score; ``half_life_days``: decay of the previous score; ``spam_event_cap``: events per user, item and day counted in full;
    ``top_n`` / ``rankings_top_n``: rows kept per date and region; ``completion_threshold``: share
    of the duration (0..1] at which a play counts as complete.
    """

    baseline_days: int
    pseudo_count: float
    min_support: float
    min_support_share: float
    half_life_days: float
    spam_event_cap: int
    top_n: int
    rankings_top_n: int
    completion_threshold: float
    overdispersion: float = 0.04
    min_z: float = 3.0
    min_lift: float = 0.5
    min_support_excess: float = 40.0


@dataclass(frozen=True)
class QualityConfig:
    """Quality-gate parameters (``reelhouse/quality/gate.py``, ``expectations/``).

    ``window_days``: trailing partitions the volume and drift baselines are taken over;
    ``volume_band``: a partition's volume below ``median × (1 − volume_band)`` of the trailing
    full days blocks (checked from Delta log statistics); ``volume_max_ratio``: above
    ``median × volume_max_ratio`` it warns (a surge is news, not a defect: duplicates are caught
    by key uniqueness); ``partial_day_share``: trailing days below this share of the window's
    median are partial or outage days (a source's first day, a blocked day) and left out of the
    baseline; ``volume_min_history_days``: full days of history the volume check needs before it
    applies; ``min_history_days``: the same for drift (cold start); ``drift_tolerance``: relative
    change of a day KPI (completion rate, like rate) against its trailing mean that raises a
    warning; ``null_share_tolerance``: absolute change (0..1) of an optional contract field's
    share of nulls against its trailing median that raises a warning; ``min_on_date_share``:
    share (0..1) of a landing date's silver events whose event_date must be that date (freshness).
    """

    window_days: int
    volume_band: float
    min_history_days: int
    drift_tolerance: float
    min_on_date_share: float
    volume_max_ratio: float = 3.0
    partial_day_share: float = 0.5
    volume_min_history_days: int = 2
    null_share_tolerance: float = 0.2


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature parameters (``reelhouse/gold/features.py``).

    ``swipe_away_ratio``: a play shorter than this share of the duration (0..1) is a swipe-away
    and lowers interest; ``watch_ratio_cap``: watch ratios (loops included) are capped at this
    before averaging; ``interest_half_life_days``: half-life of a hashtag interest score;
    ``top_k_interests``: interests kept per user.
    """

    swipe_away_ratio: float
    watch_ratio_cap: float
    interest_half_life_days: float
    top_k_interests: int


@dataclass(frozen=True)
class TrainingConfig:
    """Training-dataset parameters (``reelhouse/ml/training_examples.py``).

    ``label_window_seconds``: events of the same user and video up to this long after an
    impression (and before the next impression of that pair) are its outcome; ``long_view_ms``:
    a play at least this long (ms) is a long view; ``negative_ratio``: sampled negatives per
    impression (0 = none; random videos the user was not shown, every label 0); ``seed``: the
    sampling seed (sampling hashes ids with it, so a rebuild draws the same pairs).
    """

    label_window_seconds: int
    long_view_ms: int
    negative_ratio: float
    seed: int


@dataclass(frozen=True)
class OnlineStoreConfig:
    """The online feature store the publish step writes (``reelhouse/serving/online_store.py``).

    ``type``: ``sqlite`` (embedded default, a file) or ``redis`` (production); ``project``: the
    Feast project (part of every Redis key and SQLite table name); ``path``: the SQLite file and
    ``registry``: Feast's registry file (both relative to the lake root unless absolute or a URI);
    ``connection_string``: Redis ``host:port[,db=N][,password=…]`` (Feast's format);
    ``key_ttl_seconds``: optional wall-clock expiry (seconds) Redis sets on every key written,
    0 = none (Feast's option of the same name); ``ttl_days``: per feature view, how long (days of
    event time) a value stays servable after the newest published feature_time — older entities
    are removed by the publish step; ``batch_rows``: entities per Redis round trip.
    """

    type: Literal["sqlite", "redis"]
    project: str
    path: str
    registry: str
    connection_string: str
    key_ttl_seconds: int
    ttl_days: Mapping[str, float]
    batch_rows: int


DeltaCommit = Literal["conditional_put", "unsafe_rename"]


@dataclass(frozen=True)
class ObjectStoreConfig:
    """The S3-compatible object store behind ``s3://`` / ``s3a://`` paths
    (``reelhouse/objectstore.py`` turns it into delta-rs, pyarrow, fsspec and Hadoop options).

    ``endpoint``: the S3 API URL (``http://127.0.0.1:8333``, the loopback SeaweedFS of
    ``scripts/services.sh``), ``None`` for AWS itself; ``region``: the signing region;
    ``path_style``: buckets in the path (``endpoint/bucket/key``) rather than the host name;
    ``allow_http``: plain HTTP allowed (a loopback or test endpoint only); ``delta_commit``: how
    delta-rs commits a log entry — ``conditional_put`` (``If-None-Match``: safe against a
    concurrent writer) or ``unsafe_rename`` (one writer only). No credentials here: they come from
    the environment (:func:`reelhouse.objectstore.s3_credentials`).
    """

    endpoint: str | None = None
    region: str = "us-east-1"
    path_style: bool = False
    allow_http: bool = False
    delta_commit: DeltaCommit = "conditional_put"


@dataclass(frozen=True)
class RetentionConfig:
    """How long each layer keeps its data (``retention:`` in conf/, README "Retention"), in days
    counted back from the maintenance run's date; None keeps it forever.

    ``landing_days``: landing date folders; ``bronze_days`` / ``quarantine_days``: by landing_date;
    ``silver_days``: ``silver.events`` by event_date; ``gold_days``: the gold aggregate and feature
    tables by ds; ``training_examples_days``: ``gold.training_examples`` by ds;
    ``delta_history_hours``: how long a version stays readable by time travel after a later
    commit replaced its files (the vacuum's retention, hours).
    """

    landing_days: int | None = 30
    bronze_days: int | None = 30
    quarantine_days: int | None = 30
    silver_days: int | None = None
    gold_days: int | None = None
    training_examples_days: int | None = 90
    delta_history_hours: int = 168


@dataclass(frozen=True)
class MaintenanceConfig:
    """Table maintenance (``maintenance:``, README "Table maintenance"): ``target_file_mb``: the
    size compaction aims at (MiB); ``zorder_by``: table -> the columns its readers filter by
    (Z-ordered within each partition; tables not listed are only compacted)."""

    target_file_mb: int = 128
    zorder_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PrivacyConfig:
    """Erasure policy (``privacy:``, README "Privacy"): ``erasure_retention_hours``: how long the
    versions that still hold an erased user's rows stay readable by time travel before the
    privacy DAG vacuums them (0: at once); ``deadline_days``: the legal deadline from request to
    completion (GDPR Art. 12(3): one month), which the DAG reports against."""

    erasure_retention_hours: int = 168
    deadline_days: int = 30


@dataclass(frozen=True)
class Config:
    """The resolved configuration of one environment (``env``)."""

    env: str
    paths: PathsConfig
    lake_engine: LakeEngine
    spark: SparkConfig
    ingest: IngestConfig
    trends: TrendsConfig
    quality: QualityConfig
    features: FeaturesConfig
    online_store: OnlineStoreConfig
    training: TrainingConfig
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: the S3-compatible store behind s3:// / s3a:// paths (object_store: in conf/)
    object_store: ObjectStoreConfig = field(default_factory=ObjectStoreConfig)
    #: seconds a run waits for the lake's run lock (reelhouse.lake.locks) before failing; 0 = fail at once
    lake_lock_timeout_seconds: float = 3600.0
    #: the first landing date this lake takes in; earlier landing dates are not required to be
    #: processed first (reelhouse.lake.locks.check_order). None: every landing date with files
    lake_start_date: date | None = None
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    @property
    def lake_root(self) -> str:
        """``paths.lake``: the root of every Delta table (a local path or a URI)."""
        return self.paths.lake

    @property
    def landing_root(self) -> str:
        """``paths.landing``: the landing zone root."""
        return self.paths.landing


def _conf_dir() -> Path:
    return Path(os.environ.get("REELHOUSE_CONF_DIR", PROJECT_ROOT / "conf"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _env_overrides(environ: Mapping[str, str], known: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``REELHOUSE__<SECTION>__<KEY>[__<SUBKEY>]=value`` variables as a nested mapping.

    ``known``: the base configuration; every key must exist in it (base.yaml lists every key,
    since a missing one is an error), except below ``spark.conf`` where any Spark key goes.
    Raises :class:`ConfigError` naming the variable for an unknown key (with the close matches)."""
    import difflib

    out: dict[str, Any] = {}
    for key, value in sorted(environ.items()):
        if not key.startswith("REELHOUSE__"):
            continue
        parts = key[len("REELHOUSE__"):].split("__")
        # section and key names are lower-case; spark conf keys keep their case
        parts = [p.lower() for p in parts[:2]] + (parts[2:] if parts[:2] == ["spark", "conf"] else [p.lower() for p in parts[2:]])
        if len(parts) < 2 or not all(parts):
            raise ConfigError(f"environment variable {key}: expected REELHOUSE__<SECTION>__<KEY>, "
                              f"e.g. REELHOUSE__PATHS__LAKE")
        if known is not None:
            node_k: Any = known
            for i, p in enumerate(parts):
                if i == 2 and parts[:2] == ["spark", "conf"]:
                    break
                if not isinstance(node_k, Mapping) or p not in node_k:
                    where = ".".join(parts[:i]) or "the configuration"
                    choices = sorted(node_k) if isinstance(node_k, Mapping) else []
                    close = difflib.get_close_matches(p, choices, n=3)
                    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else (
                        f"; known keys of {where}: {choices}" if choices else "")
                    raise ConfigError(f"environment variable {key} sets unknown key '{'.'.join(parts[: i + 1])}'{hint}")
                node_k = node_k[p]
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return out


def _expand(value: Any, where: str, environ: Mapping[str, str] | None = None) -> Any:
    """``${VAR}`` / ``${VAR:-default}`` references in ``value``: from ``environ`` (the mapping
    given to :func:`load_config`), else the process environment, else the default."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            var, default = m.group(1), m.group(2)
            if environ is not None and var in environ:
                return environ[var]
            if var in os.environ:
                return os.environ[var]
            if default is not None:
                return default
            raise ConfigError(f"{where}: environment variable {var} is not set and has no default")
        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}", environ) for k, v in value.items()}
    return value


def _section(raw: Mapping[str, Any], name: str, allowed: set[str], src: str) -> Mapping[str, Any]:
    sec = raw.get(name)
    if not isinstance(sec, Mapping):
        raise ConfigError(f"{src}: key '{name}' must be a mapping")
    unknown = set(sec) - allowed
    if unknown:
        raise ConfigError(f"{src}: unknown key(s) {sorted(f'{name}.{u}' for u in unknown)}")
    missing = allowed - set(sec)
    if missing:
        raise ConfigError(f"{src}: missing key(s) {sorted(f'{name}.{m}' for m in missing)}")
    return sec


def _typed(value: Any, kind: type, key: str, src: str) -> Any:
    try:
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        if kind is float:
            return float(value)
        if kind is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        pass
    raise ConfigError(f"{src}: key '{key}' must be {kind.__name__}, got {value!r}")


def _resolve_path(p: str, home: Path) -> str:
    if "://" in p or Path(p).is_absolute():
        return p
    return str((home / p).resolve())


def check_writable(config: "Config", *keys: str, environ: Mapping[str, str] | None = None) -> None:
    """Make sure each configured folder (``"paths.lake"``, ``"paths.landing"``) can be written:
    create it when missing, then write and remove a probe file. Object-store URIs
    (``s3://``, ``s3a://``, ``gs://``, ``abfss://``) are left to the storage client.

    Raises :class:`ConfigError` in one line naming the key, where its value comes from (the
    environment variable or the config files) and the path: a file where a folder should be, a
    read-only or permission-denied folder, or a folder whose parent and grandparent do not exist
    outside the project (most often a mount that is not there — reelhouse does not create a
    lake on the root disk in its place)."""
    environ = os.environ if environ is None else environ
    for key in keys:
        section, name = key.split(".", 1)
        value = str(getattr(getattr(config, section), name))
        if re.match(r"^[a-z][a-z0-9+.-]*://", value) and not value.startswith("file://"):
            continue
        path = Path(value.removeprefix("file://"))
        var = f"REELHOUSE__{section.upper()}__{name.upper()}"
        origin = f"set by {var}" if var in environ else f"from conf/ ({config.env} overlay); override with {var}"
        where = f"{key} = {str(path)!r} ({origin})"
        try:
            if path.exists() and not path.is_dir():
                raise ConfigError(f"{where}: is a file, not a folder")
            if not path.exists():
                inside = path.resolve().is_relative_to(PROJECT_ROOT.resolve())
                if not inside and not path.parent.exists() and not path.parent.parent.exists():
                    raise ConfigError(f"{where}: neither the folder nor its parent {str(path.parent)!r} exists "
                                      "(a missing mount?); create it or point the key elsewhere")
                path.mkdir(parents=True, exist_ok=True)
            probe = path / f".reelhouse-write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot write there ({exc.strerror or exc})") from None


def load_config(env: str | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate the configuration for ``env`` (default ``$REELHOUSE_ENV`` or ``local``).

    Raises :class:`ConfigError` naming the file and key for any malformed input, or when the
    overlay file for ``env`` does not exist.
    """
    environ = os.environ if environ is None else environ
    env = env or environ.get("REELHOUSE_ENV", "local")
    conf_dir = _conf_dir()
    base_path = conf_dir / "base.yaml"
    if not base_path.exists():
        raise ConfigError(f"{base_path}: base configuration not found (set REELHOUSE_CONF_DIR?)")
    raw = _read_yaml(base_path)
    overlay = conf_dir / f"{env}.yaml"
    if not overlay.exists():
        choices = sorted(p.stem for p in conf_dir.glob("*.yaml") if p.stem != "base")
        raise ConfigError(f"REELHOUSE_ENV={env!r}: no overlay {overlay}; choose one of {choices}")
    raw = _deep_merge(raw, _read_yaml(overlay))
    raw = _deep_merge(raw, _env_overrides(environ, known=raw))
    src = f"{base_path.name}+{overlay.name}"
    raw = _expand(raw, src, environ)

    unknown = set(raw) - {"paths", "lake", "spark", "ingest", "trends", "quality", "features", "online_store", "training",
                         "object_store", "retention", "maintenance", "privacy"}
    if unknown:
        raise ConfigError(f"{src}: unknown top-level key(s) {sorted(unknown)}")
    home = Path(environ.get("REELHOUSE_HOME", PROJECT_ROOT))
    paths = _section(raw, "paths", {"landing", "lake"}, src)
    lake = _section(raw, "lake", {"engine", "lock_timeout_seconds", "start_date"}, src)
    spark = _section(raw, "spark", {"master", "app_name", "conf"}, src)
    ingest = _section(raw, "ingest", {"future_tolerance_seconds", "max_quarantine_ratio"}, src)

    trend_types = {"baseline_days": int, "pseudo_count": float, "min_support": float, "min_support_share": float,
                   "half_life_days": float, "overdispersion": float, "min_z": float, "min_lift": float,
                   "min_support_excess": float,
                   "spam_event_cap": int, "top_n": int, "rankings_top_n": int, "completion_threshold": float}
    tr = _section(raw, "trends", set(trend_types), src)
    trends = {k: _typed(tr[k], t, f"trends.{k}", src) for k, t in trend_types.items()}
    for k, v in trends.items():
        if v < 0 or (v == 0 and k not in ("pseudo_count", "min_support_share", "overdispersion", "min_lift")):
            raise ConfigError(f"{src}: key 'trends.{k}' must be > 0, got {v}")
    if trends["completion_threshold"] > 1:
        raise ConfigError(f"{src}: key 'trends.completion_threshold' must be in (0, 1], got {trends['completion_threshold']}")
    quality_types = {"window_days": int, "volume_band": float, "min_history_days": int,
                     "drift_tolerance": float, "min_on_date_share": float, "volume_max_ratio": float,
                     "partial_day_share": float, "volume_min_history_days": int,
                     "null_share_tolerance": float}
    qs = _section(raw, "quality", set(quality_types), src)
    quality = {k: _typed(qs[k], t, f"quality.{k}", src) for k, t in quality_types.items()}
    for k, v in quality.items():
        if v <= 0:
            raise ConfigError(f"{src}: key 'quality.{k}' must be > 0, got {v}")
    if quality["min_on_date_share"] > 1 or quality["volume_band"] >= 1:
        raise ConfigError(f"{src}: keys 'quality.min_on_date_share' must be <= 1 and 'quality.volume_band' < 1")
    if quality["partial_day_share"] >= 1 or quality["null_share_tolerance"] > 1 or quality["volume_max_ratio"] <= 1:
        raise ConfigError(f"{src}: keys 'quality.partial_day_share' must be < 1, 'quality.null_share_tolerance' "
                          f"<= 1 and 'quality.volume_max_ratio' > 1")
    feature_types = {"swipe_away_ratio": float, "watch_ratio_cap": float, "interest_half_life_days": float,
                     "top_k_interests": int}
    fs = _section(raw, "features", set(feature_types), src)
    features = {k: _typed(fs[k], t, f"features.{k}", src) for k, t in feature_types.items()}
    for k, v in features.items():
        if v <= 0:
            raise ConfigError(f"{src}: key 'features.{k}' must be > 0, got {v}")
    if features["swipe_away_ratio"] >= 1:
        raise ConfigError(f"{src}: key 'features.swipe_away_ratio' must be < 1, got {features['swipe_away_ratio']}")
    online_store = _online_store(raw, src)
    training_types = {"label_window_seconds": int, "long_view_ms": int, "negative_ratio": float, "seed": int}
    ts_ = _section(raw, "training", set(training_types), src)
    training = {k: _typed(ts_[k], t, f"training.{k}", src) for k, t in training_types.items()}
    for k in ("label_window_seconds", "long_view_ms"):
        if training[k] <= 0:
            raise ConfigError(f"{src}: key 'training.{k}' must be > 0, got {training[k]}")
    if training["negative_ratio"] < 0:
        raise ConfigError(f"{src}: key 'training.negative_ratio' must be >= 0, got {training['negative_ratio']}")
    engine = _typed(lake["engine"], str, "lake.engine", src)
    lock_timeout = _typed(lake["lock_timeout_seconds"], float, "lake.lock_timeout_seconds", src)
    if lock_timeout < 0:
        raise ConfigError(f"{src}: key 'lake.lock_timeout_seconds' must be >= 0, got {lock_timeout}")
    start_date = lake["start_date"]
    if start_date is not None:
        try:
            start_date = start_date if isinstance(start_date, date) else date.fromisoformat(str(start_date))
        except ValueError:
            raise ConfigError(f"{src}: key 'lake.start_date' must be a date YYYY-MM-DD or null, got {start_date!r}") from None
    if engine not in _ENGINES:
        raise ConfigError(f"{src}: key 'lake.engine' must be one of {_ENGINES}, got {engine!r}")
    spark_conf = spark["conf"] or {}
    if not isinstance(spark_conf, Mapping):
        raise ConfigError(f"{src}: key 'spark.conf' must be a mapping")
    ratio = _typed(ingest["max_quarantine_ratio"], float, "ingest.max_quarantine_ratio", src)
    if not 0.0 <= ratio <= 1.0:
        raise ConfigError(f"{src}: key 'ingest.max_quarantine_ratio' must be in [0, 1], got {ratio}")
    tol = _typed(ingest["future_tolerance_seconds"], int, "ingest.future_tolerance_seconds", src)
    if tol < 0:
        raise ConfigError(f"{src}: key 'ingest.future_tolerance_seconds' must be >= 0, got {tol}")

    return Config(
        env=env,
        paths=PathsConfig(
            landing=_resolve_path(_typed(paths["landing"], str, "paths.landing", src), home),
            lake=_resolve_path(_typed(paths["lake"], str, "paths.lake", src), home),
        ),
        lake_engine=engine,  # type: ignore[arg-type]
        lake_lock_timeout_seconds=lock_timeout,
        lake_start_date=start_date,
        spark=SparkConfig(
            master=_typed(spark["master"], str, "spark.master", src),
            app_name=_typed(spark["app_name"], str, "spark.app_name", src),
            conf={str(k): _typed(v, str, f"spark.conf.{k}", src) for k, v in spark_conf.items()},
        ),
        ingest=IngestConfig(future_tolerance_seconds=tol, max_quarantine_ratio=ratio),
        trends=TrendsConfig(**trends),
        quality=QualityConfig(**quality),
        features=FeaturesConfig(**features),
        online_store=online_store,
        training=TrainingConfig(**training),
        raw=raw,
        object_store=_object_store(raw, src),
        retention=_retention(raw, src),
        maintenance=_maintenance(raw, src),
        privacy=_privacy(raw, src),
    )


def _retention(raw: Mapping[str, Any], src: str) -> RetentionConfig:
    sec = raw.get("retention") or {}
    if not isinstance(sec, Mapping):
        raise ConfigError(f"{src}: key 'retention' must be a mapping")
    known = {f.name for f in dataclasses.fields(RetentionConfig)}
    unknown = set(sec) - known
    if unknown:
        raise ConfigError(f"{src}: unknown key(s) in 'retention': {sorted(unknown)}")
    out: dict[str, Any] = {}
    for k, v in sec.items():
        if v is None and k != "delta_history_hours":
            out[k] = None
            continue
        n = _typed(v, int, f"retention.{k}", src)
        if n < (0 if k == "delta_history_hours" else 1):
            raise ConfigError(f"{src}: key 'retention.{k}' must be >= {0 if k == 'delta_history_hours' else 1} "
                              f"(or null: keep forever), got {n}")
        out[k] = n
    return RetentionConfig(**out)


def _maintenance(raw: Mapping[str, Any], src: str) -> MaintenanceConfig:
    sec = raw.get("maintenance") or {}
    if not isinstance(sec, Mapping) or set(sec) - {"target_file_mb", "zorder_by"}:
        raise ConfigError(f"{src}: 'maintenance' takes target_file_mb and zorder_by, got {sorted(sec) if isinstance(sec, Mapping) else sec!r}")
    size = _typed(sec.get("target_file_mb", 128), int, "maintenance.target_file_mb", src)
    if size < 1:
        raise ConfigError(f"{src}: key 'maintenance.target_file_mb' must be >= 1, got {size}")
    z = sec.get("zorder_by") or {}
    if not isinstance(z, Mapping) or not all(isinstance(v, (list, tuple)) and v for v in z.values()):
        raise ConfigError(f"{src}: key 'maintenance.zorder_by' must map table names to non-empty column lists")
    return MaintenanceConfig(target_file_mb=size, zorder_by={str(k): tuple(str(c) for c in v) for k, v in z.items()})


def _privacy(raw: Mapping[str, Any], src: str) -> PrivacyConfig:
    sec = raw.get("privacy") or {}
    if not isinstance(sec, Mapping) or set(sec) - {"erasure_retention_hours", "deadline_days"}:
        raise ConfigError(f"{src}: 'privacy' takes erasure_retention_hours and deadline_days")
    hours = _typed(sec.get("erasure_retention_hours", 168), int, "privacy.erasure_retention_hours", src)
    days = _typed(sec.get("deadline_days", 30), int, "privacy.deadline_days", src)
    if hours < 0 or days < 1 or hours > days * 24:
        raise ConfigError(f"{src}: 'privacy.erasure_retention_hours' must be in [0, deadline_days x 24] "
                          f"(the vacuum must finish before the deadline), got {hours} h vs {days} days")
    return PrivacyConfig(erasure_retention_hours=hours, deadline_days=days)


def _flag(value: Any, key: str, src: str) -> bool:
    """A YAML boolean, or its spelling in an environment override (true/false, 1/0, yes/no)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ConfigError(f"{src}: key '{key}' must be true or false, got {value!r}")


def _object_store(raw: Mapping[str, Any], src: str) -> ObjectStoreConfig:
    sec = _section(raw, "object_store", {"endpoint", "region", "path_style", "allow_http", "delta_commit"}, src)
    endpoint = sec["endpoint"]
    if endpoint in (None, "", "null"):
        endpoint = None
    else:
        endpoint = _typed(endpoint, str, "object_store.endpoint", src).rstrip("/")
        if not re.match(r"^https?://[^/\s]+$", endpoint):
            raise ConfigError(f"{src}: key 'object_store.endpoint' must be http(s)://host[:port] or null, got {endpoint!r}")
    allow_http = _flag(sec["allow_http"], "object_store.allow_http", src)
    if endpoint and endpoint.startswith("http://") and not allow_http:
        raise ConfigError(f"{src}: key 'object_store.endpoint' is plain HTTP ({endpoint}) but "
                          "'object_store.allow_http' is false")
    commit = _typed(sec["delta_commit"], str, "object_store.delta_commit", src)
    if commit not in ("conditional_put", "unsafe_rename"):
        raise ConfigError(f"{src}: key 'object_store.delta_commit' must be 'conditional_put' or "
                          f"'unsafe_rename', got {commit!r}")
    return ObjectStoreConfig(
        endpoint=endpoint,
        region=_typed(sec["region"], str, "object_store.region", src),
        path_style=_flag(sec["path_style"], "object_store.path_style", src),
        allow_http=allow_http,
        delta_commit=commit,  # type: ignore[arg-type]
    )


def _online_store(raw: Mapping[str, Any], src: str) -> OnlineStoreConfig:
    keys = {"type", "project", "path", "registry", "connection_string", "key_ttl_seconds", "ttl_days", "batch_rows"}
    os_ = _section(raw, "online_store", keys, src)
    kind = _typed(os_["type"], str, "online_store.type", src)
    if kind not in ("sqlite", "redis"):
        raise ConfigError(f"{src}: key 'online_store.type' must be 'sqlite' or 'redis', got {kind!r}")
    project = _typed(os_["project"], str, "online_store.project", src)
    if not re.fullmatch(r"[A-Za-z0-9_]+", project):
        raise ConfigError(f"{src}: key 'online_store.project' must be letters, digits and '_', got {project!r}")
    ttl = os_["ttl_days"]
    if not isinstance(ttl, Mapping) or not ttl:
        raise ConfigError(f"{src}: key 'online_store.ttl_days' must be a mapping feature view -> days")
    ttl_days = {str(k): _typed(v, float, f"online_store.ttl_days.{k}", src) for k, v in ttl.items()}
    for k, v in ttl_days.items():
        if v <= 0:
            raise ConfigError(f"{src}: key 'online_store.ttl_days.{k}' must be > 0, got {v}")
    key_ttl = _typed(os_["key_ttl_seconds"], int, "online_store.key_ttl_seconds", src)
    batch = _typed(os_["batch_rows"], int, "online_store.batch_rows", src)
    if key_ttl < 0 or batch <= 0:
        raise ConfigError(f"{src}: keys 'online_store.key_ttl_seconds' must be >= 0 and 'online_store.batch_rows' > 0")
    return OnlineStoreConfig(
        type=kind,  # type: ignore[arg-type]
        project=project,
        path=_typed(os_["path"], str, "online_store.path", src),
        registry=_typed(os_["registry"], str, "online_store.registry", src),
        connection_string=_typed(os_["connection_string"], str, "online_store.connection_string", src),
        key_ttl_seconds=key_ttl,
        ttl_days=ttl_days,
        batch_rows=batch,
    )


@lru_cache(maxsize=1)
def _cached(env: str, fingerprint: tuple[tuple[str, str], ...]) -> Config:
    return load_config(env)


def get_config() -> Config:
    """The configuration for the current process environment (cached per environment state)."""
    env = os.environ.get("REELHOUSE_ENV", "local")
    fp = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("REELHOUSE")))
    return _cached(env, fp)
