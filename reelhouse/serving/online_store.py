"""The online feature store: Feast (SQLite embedded, Redis in production), fed by the publish step.

What the feed's ranking service reads is whatever Feast's ``get_online_features`` returns; this
module puts the gated gold feature rows of a date there, in Feast's own storage format, fast.

- :func:`repo_config` / :func:`feature_store`: a Feast ``RepoConfig`` / ``FeatureStore`` built from
  reelhouse's configuration (``online_store:`` in ``conf/``, chosen by ``REELHOUSE_ENV``), with the
  definitions of ``reelhouse/serving/feature_views.py`` applied to the registry.
- :func:`publish`: the nightly publish step for one date. Refuses a date whose quality gate did
  not pass (:class:`GateNotPassedError`, nothing written). For every feature view it reads the
  date's partition of the gold table (delta-rs, pinned version), encodes keys and values
  column-at-a-time (:func:`reelhouse.serving.feast_encoding.encode_batch`) and writes them with
  the configured writer (:func:`reelhouse.serving.writers.open_writer`):

  * **Redis** (:class:`~reelhouse.serving.writers.RedisWriter`): one ``HSET`` per entity in
    Feast's hash layout, pipelined in batches of ``batch_rows`` entities on one connection. A
    publish log in Redis (``reelhouse:<project>:published:<view>``: which keys were published
    with which feature_time, in ms) lets it skip entities already published with a newer
    feature_time — so a rerun of an older date never overwrites newer values, and a rerun of the
    same date rewrites the same values (idempotent). Feast's own writer
    (``RedisOnlineStore.online_write_batch``) builds one protobuf per value in Python and skips
    equal timestamps; see README "Online store" for the measured difference.
  * **SQLite** (:class:`~reelhouse.serving.writers.SqliteWriter`): one ``INSERT … ON CONFLICT DO
    UPDATE … WHERE excluded.event_ts >= event_ts`` per feature value into Feast's table
    ``<project>_<view>``.

  Then it expires entities whose published feature_time is older than the date's feature_time
  minus the view's TTL (``online_store.ttl_days``), and records one row per view in
  ``ops.online_publishes``.

Errors: :class:`GateNotPassedError` (the gate blocked the date or never ran for it: see
:func:`reelhouse.quality.gate.gate_status`), :class:`reelhouse.serving.writers.OnlineStoreError`
(the store is unreachable or rejected a write; the message names the view and how many batches
had been written — a rerun completes the date).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from reelhouse.quality.gate import gate_status
from reelhouse.serving.feast_encoding import encode_batch
from reelhouse.serving.writers import OnlineWriter, local_state_dir, open_writer, under_lake

if TYPE_CHECKING:  # pragma: no cover
    from feast import FeatureStore, RepoConfig

    from reelhouse.config import Config
    from reelhouse.lake import Lake

PUBLISHES_TABLE = "ops.online_publishes"


class GateNotPassedError(RuntimeError):
    """The date's quality gate blocked it or never ran: nothing is published."""


# ------------------------------------------------------------------ Feast configuration
def repo_config(config: "Config") -> "RepoConfig":
    """Feast's ``RepoConfig`` for this environment: project, local provider, a file registry and
    the SQLite or Redis online store of ``config.online_store`` (entity key serialization v3)."""
    from feast import RepoConfig

    osc = config.online_store
    if osc.type == "redis":
        online: dict[str, Any] = {"type": "redis", "connection_string": osc.connection_string}
        if osc.key_ttl_seconds:
            online["key_ttl_seconds"] = osc.key_ttl_seconds
    else:
        online = {"type": "sqlite", "path": under_lake(osc.path, config.paths.lake)}
    registry = under_lake(osc.registry, config.paths.lake)
    if "://" not in registry:
        Path(registry).parent.mkdir(parents=True, exist_ok=True)
    if online["type"] == "sqlite":
        Path(online["path"]).parent.mkdir(parents=True, exist_ok=True)
    return RepoConfig(
        project=osc.project,
        provider="local",
        registry={"registry_type": "file", "path": registry, "cache_ttl_seconds": 60},
        online_store=online,
        offline_store={"type": "dask"},
        entity_key_serialization_version=3,
        repo_path=Path(local_state_dir(config.paths.lake)),
    )


def feature_store(config: "Config", *, apply: bool = True) -> "FeatureStore":
    """A Feast ``FeatureStore`` on this environment's registry and online store. With ``apply``
    (default) the definitions of ``reelhouse/serving/feature_views.py`` are applied first (idempotent:
    creates the registry and the SQLite tables on first use)."""
    import logging

    from feast import FeatureStore

    from reelhouse.serving.feature_views import build

    logging.getLogger("feast").setLevel(logging.WARNING)
    store = FeatureStore(config=repo_config(config))
    if apply:
        store.apply(build(config.paths.lake, ttl_days=config.online_store.ttl_days))
    return store


# ------------------------------------------------------------------ the publish step
@dataclass
class ViewPublish:
    """What publishing one feature view for a date did: rows read from the gold partition (at
    ``table_version``), entities ``written``, ``skipped_older`` (a newer feature_time was already
    published), ``expired`` entities (older than newest − TTL), ``seconds`` wall time."""

    view: str
    table: str
    table_version: int | None
    rows: int
    written: int
    skipped_older: int
    expired: int
    seconds: float


@dataclass
class PublishReport:
    """One date's publish: the ``store`` type, per-view results, total ``seconds``, ``run_id``."""

    ds: date
    store: str
    views: list[ViewPublish] = field(default_factory=list)
    seconds: float = 0.0
    run_id: str = ""

    @property
    def rows(self) -> int:
        """Rows read from the gold partitions over every view."""
        return sum(v.rows for v in self.views)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able dict (seconds rounded to ms)."""
        return {"ds": self.ds.isoformat(), "store": self.store, "rows": self.rows, "seconds": round(self.seconds, 3),
                "run_id": self.run_id, "views": [v.__dict__ for v in self.views]}

    def summary(self) -> str:
        """Human-readable report: the total line, then one line per view (rows, writes, skips, expiries, rate)."""
        lines = [f"publish {self.ds} → {self.store}: {self.rows:,} rows in {self.seconds:.1f}s"]
        for v in self.views:
            rate = v.rows / v.seconds if v.seconds > 0 else 0.0
            lines.append(f"  {v.view:<17} {v.rows:>10,} rows  written {v.written:,}  older-skipped {v.skipped_older:,}"
                         f"  expired {v.expired:,}  {v.seconds:.2f}s ({rate:,.0f} rows/s)  [{v.table} v{v.table_version}]")
        return "\n".join(lines)


def publish_table(writer: OnlineWriter, view: str, table: pa.Table, *, chunk_rows: int = 200_000) -> int:
    """Encode and write gold rows of ``view`` (a table with the join key, feature_time and the
    view's features) in chunks of ``chunk_rows`` rows, then flush; returns entities written.
    Raises :class:`reelhouse.serving.writers.OnlineStoreError`, ``ValueError`` (a null key or
    feature_time)."""
    from reelhouse.serving.feature_views import VIEWS, feature_columns

    spec = VIEWS[view]
    features = [c for c, _ in feature_columns(view)]
    written = 0
    for batch in table.to_batches(max_chunksize=chunk_rows):
        enc = encode_batch(batch, join_key=spec.join_key, features=features, project=writer.key_project)
        written += writer.write(view, features, enc)
    writer.flush()
    return written


def publish(
    lake: "Lake",
    config: "Config",
    day: date,
    *,
    views: Sequence[str] | None = None,
    require_gate: bool = True,
    record: bool = True,
    apply: bool = True,
    log: Any = None,
) -> PublishReport:
    """Publish ``day``'s gold feature partitions to the online store.

    ``views``: feature views to publish (default all of ``reelhouse.serving.feature_views.VIEWS``);
    ``require_gate``: refuse unless ``ops.quality_results`` holds a pass or warn verdict for the
    date; ``record``: write one row per view to ``ops.online_publishes`` (the date's partition is
    replaced); ``apply``: apply the Feast definitions first (creates registry and SQLite tables).

    Never writes a value older than the one already served (per entity, by feature_time); after
    writing, removes entities whose feature_time is older than this date's feature_time minus the
    view's TTL (so republishing an older date removes no more than its own night did). Raises
    :class:`GateNotPassedError` before writing anything when the gate did not pass,
    :class:`reelhouse.serving.writers.OnlineStoreError` on a store failure (rerunning completes
    the date), ``KeyError`` for an unknown view.
    """
    from reelhouse.serving.feature_views import VIEWS, feature_columns

    log = log or (lambda m: None)
    names = list(views) if views else list(VIEWS)
    unknown = [v for v in names if v not in VIEWS]
    if unknown:
        raise KeyError(f"unknown feature view(s) {unknown}; views are {list(VIEWS)}")
    if require_gate:
        status = gate_status(lake, day)
        if status not in ("pass", "warn"):
            raise GateNotPassedError(
                f"{day}: quality gate verdict is {status or 'missing (the gate has not run)'}; nothing published")
    t0 = time.perf_counter()
    if apply:
        feature_store(config, apply=True)
    report = PublishReport(ds=day, store=config.online_store.type, run_id=uuid.uuid4().hex)
    with open_writer(config) as writer:
        for view in names:
            spec = VIEWS[view]
            tv0 = time.perf_counter()
            features = [c for c, _ in feature_columns(view)]
            version = lake.version(spec.table)
            table = lake.read_arrow(spec.table, version=version, where={"ds": day},
                                    columns=[spec.join_key, "feature_time", *features]) if version is not None else None
            rows = table.num_rows if table is not None else 0
            written = publish_table(writer, view, table) if rows else 0
            expired = 0
            if rows:
                newest_ms = int(pc.max(table.column("feature_time")).cast(pa.int64()).as_py() // 1000)
                ttl_ms = int(config.online_store.ttl_days[view] * 86_400_000)
                expired = writer.expire(view, features, newest_ms - ttl_ms)
            vp = ViewPublish(view=view, table=spec.table, table_version=version, rows=rows, written=written,
                             skipped_older=rows - written, expired=expired, seconds=time.perf_counter() - tv0)
            report.views.append(vp)
            log(f"[publish {day}] {view}: {rows:,} rows, written {written:,}, expired {expired:,} in {vp.seconds:.2f}s")
    report.seconds = time.perf_counter() - t0
    if record:
        write_publishes(lake, report)
    return report


def write_publishes(lake: "Lake", report: PublishReport) -> None:
    """Replace ``report.ds``'s partition of ``ops.online_publishes`` with the report's rows."""
    now = datetime.now(timezone.utc)
    t = pa.table({
        "ds": [report.ds] * len(report.views),
        "feature_view": [v.view for v in report.views],
        "source_table": [v.table for v in report.views],
        "source_version": [v.table_version for v in report.views],
        "store": [report.store] * len(report.views),
        "rows": [v.rows for v in report.views],
        "written": [v.written for v in report.views],
        "skipped_older": [v.skipped_older for v in report.views],
        "expired": [v.expired for v in report.views],
        "seconds": [v.seconds for v in report.views],
        "published_at": [now] * len(report.views),
        "run_id": [report.run_id] * len(report.views),
    })
    from reelhouse.lake.locks import lake_lock

    with lake_lock(lake.root, f"online publish {report.ds}", log=lambda m: None):
        lake.write_arrow(t, PUBLISHES_TABLE, mode="overwrite_partitions", partitions={"ds": [report.ds]})


def online_features(config: "Config", *, user_id: str | None = None, video_id: str | None = None,
                    creator_id: str | None = None, hashtag: str | None = None,
                    store: "FeatureStore | None" = None) -> dict[str, dict[str, Any]]:
    """What the online store serves for the given entities, per feature view:
    ``{view: {feature: value}}`` (values None when absent). With ``video_id`` and no
    ``creator_id``, the creator is the video's ``creator_id`` feature. Uses Feast's
    ``get_online_features``."""
    from reelhouse.serving.feature_views import VIEWS, feature_columns

    store = store or feature_store(config, apply=False)
    wanted = {"user_features": user_id, "video_features": video_id, "hashtag_features": hashtag}
    out: dict[str, dict[str, Any]] = {}
    for view, key in list(wanted.items()) + [("creator_features", None)]:
        if view == "creator_features":
            key = creator_id or (out.get("video_features") or {}).get("creator_id")
        if key is None:
            continue
        spec = VIEWS[view]
        refs = [f"{view}:{c}" for c, _ in feature_columns(view)]
        resp = store.get_online_features(features=refs, entity_rows=[{spec.join_key: key}]).to_dict()
        out[view] = {spec.join_key: key, **{c: resp[c][0] for c, _ in feature_columns(view)}}
    return out
