"""Feast definitions: the entities, feature views and feature services the feed reads.

Four entities (``user``, ``video``, ``creator``, ``hashtag``; string join keys ``user_id``,
``video_id``, ``creator_id``, ``hashtag``), one feature view per gold feature table, each over
the table's Delta directory (``FileSource`` with ``DeltaFormat``, event timestamp
``feature_time`` = the end of the day the row summarises, UTC), and two feature services:

- ``ranking``: user, video and creator features — what the ranking model scores a
  (user, candidate video) pair with;
- ``hashtag_trends``: hashtag features, for trend surfaces.

The feature columns of a view are the catalog columns of its table (``reelhouse/lake/catalog.py``)
minus the join key, ``feature_time`` and the partition column ``ds``, so a column added to a gold
feature table appears online without touching this file. TTLs (days of event time) come from the
configuration (``online_store.ttl_days``), like every other tunable.

Nothing here touches the network or the lake at import; :func:`build` makes the objects for a
lake root. ``reelhouse.serving.online_store.feature_store()`` applies them to the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Mapping


@dataclass(frozen=True)
class ViewSpec:
    """One online feature view: ``name``; the gold ``table`` it serves; its ``entity`` and
    ``join_key``; a ``description``."""

    name: str
    table: str
    entity: str
    join_key: str
    description: str


ENTITIES: dict[str, tuple[str, str]] = {
    "user": ("user_id", "A viewer of the feed."),
    "video": ("video_id", "A published video."),
    "creator": ("creator_id", "A user who publishes videos."),
    "hashtag": ("hashtag", "A normalised hashtag (NFKC, case-folded, no leading #)."),
}

VIEWS: dict[str, ViewSpec] = {v.name: v for v in (
    ViewSpec("user_features", "gold.user_features", "user", "user_id",
             "Activity over 1/7/28 days, watch ratio, completion/like/share rates, top-K hashtag interests."),
    ViewSpec("video_features", "gold.video_features", "video", "video_id",
             "Age, views over 1/7 days, completion/like/share rates, trend score."),
    ViewSpec("creator_features", "gold.creator_features", "creator", "creator_id",
             "Output, reach and engagement of a creator's videos over 7 days."),
    ViewSpec("hashtag_features", "gold.hashtag_features", "hashtag", "hashtag",
             "Views, rates, new videos, trend score and rank of a hashtag."),
)}

SERVICES: dict[str, tuple[str, ...]] = {
    "ranking": ("user_features", "video_features", "creator_features"),
    "hashtag_trends": ("hashtag_features",),
}

NON_FEATURE_COLUMNS = ("feature_time", "ds")


def feature_columns(view: str) -> list[tuple[str, Any]]:
    """``(column, arrow type)`` of every feature of ``view``, in catalog order."""
    from reelhouse.lake.catalog import get_table

    spec = VIEWS[view]
    schema = get_table(spec.table).arrow_schema()
    return [(f.name, f.type) for f in schema if f.name not in (spec.join_key, *NON_FEATURE_COLUMNS)]


def _feast_dtype(arrow_type: Any) -> Any:
    import pyarrow as pa
    from feast.types import Array, Float64, Int32, Int64, String

    if pa.types.is_string(arrow_type):
        return String
    if pa.types.is_int32(arrow_type):
        return Int32
    if pa.types.is_int64(arrow_type):
        return Int64
    if pa.types.is_float64(arrow_type):
        return Float64
    if pa.types.is_list(arrow_type) and pa.types.is_string(arrow_type.value_type):
        return Array(String)
    if pa.types.is_list(arrow_type) and pa.types.is_float64(arrow_type.value_type):
        return Array(Float64)
    raise TypeError(f"no Feast type for Arrow {arrow_type}")


def build(lake_root: str, *, ttl_days: Mapping[str, float]) -> list[Any]:
    """The Feast objects (entities, feature views, feature services) for a lake at ``lake_root``.

    ``ttl_days``: feature view name → TTL in days (every view needs one). Raises ``KeyError``
    naming a view without a TTL.
    """
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.data_format import DeltaFormat

    from reelhouse.lake.catalog import split_name, table_path

    missing = [v for v in VIEWS if v not in ttl_days]
    if missing:
        raise KeyError(f"online_store.ttl_days has no TTL for feature view(s) {missing}")
    entities = {
        name: Entity(name=name, join_keys=[key], value_type=ValueType.STRING, description=desc)
        for name, (key, desc) in ENTITIES.items()
    }
    views = {}
    for spec in VIEWS.values():
        layer, table = split_name(spec.table)
        source = FileSource(
            name=f"{layer}_{table}",
            path=table_path(lake_root, spec.table),
            timestamp_field="feature_time",
            file_format=DeltaFormat(),
            description=f"Delta table {spec.table}",
        )
        views[spec.name] = FeatureView(
            name=spec.name,
            entities=[entities[spec.entity]],
            ttl=timedelta(days=ttl_days[spec.name]),
            schema=[Field(name=c, dtype=_feast_dtype(t)) for c, t in feature_columns(spec.name)],
            source=source,
            online=True,
            description=spec.description,
            tags={"table": spec.table, "owner": "reelhouse"},
        )
    services = [
        FeatureService(name=name, features=[views[v] for v in members],
                       description=f"{name}: {', '.join(members)}")
        for name, members in SERVICES.items()
    ]
    return [*entities.values(), *views.values(), *services]
