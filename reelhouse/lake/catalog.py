"""The table catalog: every Delta table reelhouse writes, with its schema, partitioning and purpose.

A table is named ``<layer>.<name>`` (``bronze.events``, ``silver.events``, ``gold.…``, ``ops.…``) and
lives at ``<lake root>/<layer>/<name>`` (:func:`table_path`). Schemas are declared once here, as
Arrow types, and turned into Spark types by :func:`spark_schema`; the lake module creates tables
from them and refuses writes that do not match.

Types: ``timestamp`` is Delta ``timestamp`` (INT64 microseconds, UTC-adjusted); ``date`` is a
calendar date in UTC; every ``*_ms`` column is a duration in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa

STRING = pa.string()
LONG = pa.int64()
INT = pa.int32()
DOUBLE = pa.float64()
BOOL = pa.bool_()
DATE = pa.date32()
TS = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.field("element", pa.string()))
STRMAP = pa.map_(pa.string(), pa.string())


@dataclass(frozen=True)
class Column:
    """One column: name, Arrow type, nullability and a one-line description (units included)."""

    name: str
    type: pa.DataType
    nullable: bool = True
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A catalog entry.

    ``name``: ``layer.table``; ``partition_by``: partition columns, outermost first;
    ``key``: the columns that identify a row (unique per table version); ``description``: one line.
    """

    name: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...]
    key: tuple[str, ...]
    description: str

    @property
    def layer(self) -> str:
        """The layer part of ``name`` (``silver`` for ``silver.events``)."""
        return split_name(self.name)[0]

    @property
    def table(self) -> str:
        """The table part of ``name`` (``events`` for ``silver.events``)."""
        return split_name(self.name)[1]

    @property
    def column_names(self) -> list[str]:
        """Column names in catalog order."""
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema (column order as declared)."""
        return pa.schema([pa.field(c.name, c.type, c.nullable) for c in self.columns])


def split_name(name: str) -> tuple[str, str]:
    """``(layer, table)`` of a ``layer.table`` name (split at the first dot). Raises
    ``ValueError`` when either part is empty."""
    layer, dot, table = name.partition(".")
    if not (layer and dot and table):
        raise ValueError(f"a table name is 'layer.table', got {name!r}")
    return layer, table


def table_path(root: str, name: str) -> str:
    """Where table ``name`` (``layer.table``) lives under lake root ``root`` (a local path or a
    URI): ``<root>/<layer>/<table>``, trailing slashes of ``root`` dropped, e.g.
    ``table_path("/data/lake/", "silver.events") == "/data/lake/silver/events"``.

    The one place a table's location is built (the lake, Airflow asset URIs, Feast sources).
    The name need not be in :data:`TABLES` (Airflow assets such as ``ops.gate_passed`` are not
    tables); raises ``ValueError`` when it is not of the form ``layer.table``.
    """
    layer, table = split_name(name)
    return f"{root.rstrip('/')}/{layer}/{table}"


def _c(name: str, typ: pa.DataType, desc: str, nullable: bool = True) -> Column:
    return Column(name, typ, nullable, desc)


_INGEST_META = (
    _c("_source_file", STRING, "landing file the line came from, relative to the landing root", False),
    _c("_ingested_at", TS, "when the ingest run that wrote this row started (UTC)", False),
)

_CONTRACT_STRINGS = (
    _c("sound_id", STRING, "sound used by the video (publish)"),
    _c("caption", STRING, "caption text (publish)"),
    _c("region", STRING, "ISO 3166-1 alpha-2 region of the actor"),
    _c("platform", STRING, "client platform"),
    _c("app_version", STRING, "client app version"),
)

TABLES: Final[dict[str, TableSpec]] = {}


def _register(spec: TableSpec) -> TableSpec:
    names = spec.column_names
    assert len(names) == len(set(names)), spec.name
    assert all(p in names for p in spec.partition_by), spec.name
    TABLES[spec.name] = spec
    return spec


BRONZE_EVENTS = _register(TableSpec(
    name="bronze.events",
    description="Every landed line that parsed as a JSON object, as landed: contract fields as raw JSON text.",
    partition_by=("landing_date",),
    key=("_source_file", "_line_number"),
    columns=(
        _c("event_id", STRING, "raw event_id"),
        _c("event_type", STRING, "raw event_type"),
        _c("event_time", STRING, "raw event_time: RFC 3339 text or epoch milliseconds as text"),
        _c("user_id", STRING, "raw user_id"),
        _c("video_id", STRING, "raw video_id"),
        _c("creator_id", STRING, "raw creator_id"),
        _c("play_time_ms", STRING, "raw play_time_ms"),
        _c("video_duration_ms", STRING, "raw video_duration_ms"),
        _c("hashtags", STRING, "raw hashtags as JSON text"),
        *_CONTRACT_STRINGS,
        _c("extra", STRMAP, "fields outside the contract, values as JSON text"),
        _c("_line_number", LONG, "1-based line number within _source_file", False),
        *_INGEST_META,
        _c("landing_date", DATE, "date folder the file landed in (collector arrival, UTC)", False),
    ),
))

QUARANTINE_EVENTS = _register(TableSpec(
    name="quarantine.events",
    description="Landed lines that break the landing contract, with the raw line and a machine-readable reason.",
    partition_by=("landing_date",),
    key=("_source_file", "_line_number"),
    columns=(
        _c("raw_line", STRING, "the line exactly as landed (NULL for a whole corrupt file)"),
        _c("reason", STRING, "reason code from reelhouse.sources.contract.REASON_CODES", False),
        _c("reason_detail", STRING, "human-readable detail, e.g. the offending field"),
        _c("event_id", STRING, "event_id when it could be read"),
        _c("_line_number", LONG, "1-based line number (0 for a whole corrupt file)", False),
        *_INGEST_META,
        _c("landing_date", DATE, "date folder the file landed in", False),
    ),
))

SILVER_EVENTS = _register(TableSpec(
    name="silver.events",
    description="Valid interaction events, typed, UTC, deduplicated by event_id across all runs, hashtags normalised.",
    partition_by=("event_date", "landing_date"),
    key=("event_id",),
    columns=(
        _c("event_id", STRING, "unique event id", False),
        _c("event_type", STRING, "impression | play | like | share | comment | follow | publish", False),
        _c("event_time", TS, "when it happened (client clock), UTC", False),
        _c("user_id", STRING, "the actor (for publish, the creator)", False),
        _c("video_id", STRING, "the video (NULL only for follow)"),
        _c("creator_id", STRING, "creator followed or publishing"),
        _c("play_time_ms", LONG, "play: how long the video played in this view, loops included (ms)"),
        _c("video_duration_ms", LONG, "length of the video (ms); NULL when the client did not know it"),
        _c("hashtags", STRINGS, "publish: normalised hashtags (NFKC, case-folded, no leading #)"),
        *_CONTRACT_STRINGS,
        _c("extra", STRMAP, "fields outside the contract, values as JSON text"),
        *_INGEST_META,
        _c("event_date", DATE, "UTC date of event_time", False),
        _c("landing_date", DATE, "date folder the event landed in; a rerun of that date replaces its rows", False),
    ),
))

SILVER_VIDEOS = _register(TableSpec(
    name="silver.videos",
    description="One row per published video (from publish events); merge-upserted, earliest publish wins.",
    partition_by=("published_date",),
    key=("video_id",),
    columns=(
        _c("video_id", STRING, "video id", False),
        _c("creator_id", STRING, "creator who published it", False),
        _c("published_at", TS, "publish event_time, UTC", False),
        _c("video_duration_ms", LONG, "length of the video (ms)"),
        _c("sound_id", STRING, "sound used"),
        _c("caption", STRING, "caption text"),
        _c("hashtags", STRINGS, "normalised hashtags in the order typed"),
        _c("region", STRING, "creator's region at publish time"),
        _c("publish_event_id", STRING, "event_id of the publish event", False),
        _c("_source_file", STRING, "landing file of the publish event", False),
        _c("published_date", DATE, "UTC date of published_at", False),
    ),
))

SILVER_VIDEO_HASHTAGS = _register(TableSpec(
    name="silver.video_hashtags",
    description="Video-to-hashtag bridge (normalised tags); one row per (video_id, hashtag).",
    partition_by=("published_date",),
    key=("video_id", "hashtag"),
    columns=(
        _c("video_id", STRING, "video id (references silver.videos)", False),
        _c("hashtag", STRING, "normalised hashtag", False),
        _c("position", INT, "0-based position among the video's hashtags", False),
        _c("creator_id", STRING, "creator of the video", False),
        _c("published_at", TS, "publish time of the video, UTC", False),
        _c("published_date", DATE, "UTC date of published_at", False),
    ),
))

OPS_INGEST_RECONCILIATION = _register(TableSpec(
    name="ops.ingest_reconciliation",
    description="Per landing file and run: lines read = rows kept + duplicates dropped + rows quarantined.",
    partition_by=("landing_date",),
    key=("_source_file",),
    columns=(
        _c("_source_file", STRING, "landing file, relative to the landing root", False),
        _c("file_status", STRING, "ok | corrupt", False),
        _c("lines_read", LONG, "lines in the file (0 for a corrupt file)", False),
        _c("rows_kept", LONG, "lines that became new silver.events rows", False),
        _c("duplicates_dropped", LONG, "valid lines whose event_id was already kept (this run or earlier)", False),
        _c("rows_quarantined", LONG, "lines written to quarantine.events", False),
        _c("balanced", BOOL, "lines_read == rows_kept + duplicates_dropped + rows_quarantined", False),
        _c("_ingested_at", TS, "run start, UTC", False),
        _c("landing_date", DATE, "date folder", False),
    ),
))


def get_table(name: str) -> TableSpec:
    """Look up a table by ``layer.name``. Raises ``KeyError`` listing the known tables."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known tables: {sorted(TABLES)}") from None


def spark_schema(spec: TableSpec):
    """The Spark ``StructType`` of a table (requires pyspark)."""
    from pyspark.sql import types as T

    def conv(t: pa.DataType):
        if pa.types.is_string(t):
            return T.StringType()
        if pa.types.is_int64(t):
            return T.LongType()
        if pa.types.is_int32(t):
            return T.IntegerType()
        if pa.types.is_float64(t):
            return T.DoubleType()
        if pa.types.is_boolean(t):
            return T.BooleanType()
        if pa.types.is_date32(t):
            return T.DateType()
        if pa.types.is_timestamp(t):
            return T.TimestampType()
        if pa.types.is_list(t):
            return T.ArrayType(conv(t.value_type), True)
        if pa.types.is_map(t):
            return T.MapType(conv(t.key_type), conv(t.item_type), True)
        raise TypeError(f"no Spark type for Arrow {t}")

    return T.StructType([T.StructField(c.name, conv(c.type), c.nullable) for c in spec.columns])


# ----------------------------------------------------------------------------- gold
_ENGAGEMENT = (
    _c("impressions", LONG, "impression events", False),
    _c("plays", LONG, "play events", False),
    _c("unique_viewers", LONG, "distinct users with an impression or a play", False),
    _c("total_watch_time_ms", LONG, "sum of play_time_ms (ms, loops included)", False),
    _c("avg_watch_time_ms", DOUBLE, "total_watch_time_ms / plays (ms); NULL without plays"),
    _c("avg_watch_ratio", DOUBLE, "mean of play_time_ms / video_duration_ms over plays with a known duration"),
    _c("completion_rate", DOUBLE, "share of plays with a known duration where play_time_ms >= 0.9 x duration, in [0, 1]"),
    _c("likes", LONG, "like events", False),
    _c("shares", LONG, "share events", False),
    _c("comments", LONG, "comment events", False),
    _c("follows", LONG, "follow events triggered from the video", False),
    _c("engaged_users", LONG, "distinct users with a play, like, share, comment or follow", False),
    _c("engaged_users_weighted", DOUBLE,
       "engaged users, each weighted min(1, cap / their events on the item that day): a burst from few accounts counts little", False),
)
_DS_REGION = (
    _c("ds", DATE, "the UTC date summarised (event_date)", False),
    _c("region", STRING, "actor region (ISO 3166-1 alpha-2), UNKNOWN when absent, ALL for all regions", False),
)

GOLD_VIDEO_DAILY_STATS = _register(TableSpec(
    name="gold.video_daily_stats",
    description="Per date, region (and ALL) and video: exposure, watch time, completion and engagement.",
    partition_by=("ds",),
    key=("ds", "region", "video_id"),
    columns=(
        _DS_REGION[1],
        _c("video_id", STRING, "video", False),
        _c("creator_id", STRING, "creator of the video (NULL when its publish event is unknown)"),
        _c("published_date", DATE, "UTC publish date (NULL when unknown)"),
        _c("is_new_video", BOOL, "published on ds", False),
        *_ENGAGEMENT,
        _DS_REGION[0],
    ),
))

GOLD_HASHTAG_DAILY_STATS = _register(TableSpec(
    name="gold.hashtag_daily_stats",
    description="Per date, region (and ALL) and normalised hashtag: engagement over every video carrying it.",
    partition_by=("ds",),
    key=("ds", "region", "hashtag"),
    columns=(
        _DS_REGION[1],
        _c("hashtag", STRING, "normalised hashtag", False),
        *_ENGAGEMENT,
        _c("new_videos", LONG, "videos with this tag published on ds (in this region)", False),
        _c("distinct_videos", LONG, "videos with this tag that had any event on ds", False),
        _c("distinct_creators", LONG, "creators of those videos", False),
        _DS_REGION[0],
    ),
))


def _trend_scores(item: str, item_desc: str) -> TableSpec:
    return _register(TableSpec(
        name=f"gold.{item.replace('_id', '')}_trend_scores",
        description=f"Trend score of every {item_desc} with engagement on ds, per region (and ALL): the state the next day decays.",
        partition_by=("ds",),
        key=("ds", "region", item),
        columns=(
            _DS_REGION[1],
            _c(item, STRING, item_desc, False),
            _c("engaged_users", LONG, "distinct engaged users on ds", False),
            _c("engaged_users_weighted", DOUBLE, "spam-weighted engaged users on ds (the observed count)", False),
            _c("expected", DOUBLE, "mean weighted engaged users over the baseline window (missing days count 0)", False),
            _c("baseline_days_with_data", INT, "days of the baseline window with any engagement", False),
            _c("z_score", DOUBLE, "(observed - expected) / sqrt((expected + pseudo_count + overdispersion x expected^2) x (1 + 1/baseline days))", False),
            _c("lift", DOUBLE, "observed / expected; NULL when expected = 0"),
            _c("raw_score", DOUBLE, "max(z_score, 0) when observed >= the support floor, else 0", False),
            _c("trend_score", DOUBLE, "alpha x raw_score + (1 - alpha) x yesterday's trend_score, alpha = 1 - 0.5^(1/half_life_days)", False),
            _c("is_trending", BOOL, "rising today: supported, z_score >= min_z and observed >= (1 + min_lift) x expected (only these are listed)", False),
            _c("days_trending", INT, "consecutive days is_trending, today included (0 when not rising today)", False),
            _c("is_new_item", BOOL, "no engagement in the baseline window: trends on velocity alone", False),
            _DS_REGION[0],
        ),
    ))


GOLD_VIDEO_TREND_SCORES = _trend_scores("video_id", "video")
GOLD_HASHTAG_TREND_SCORES = _trend_scores("hashtag", "normalised hashtag")

GOLD_TRENDING_VIDEOS = _register(TableSpec(
    name="gold.trending_videos",
    description="Videos rising today (is_trending), at most N per date and region (and ALL), by trend score.",
    partition_by=("ds",),
    key=("ds", "region", "rank"),
    columns=(
        _DS_REGION[1],
        _c("rank", INT, "1 = most trending", False),
        _c("video_id", STRING, "video", False),
        _c("creator_id", STRING, "creator"),
        _c("trend_score", DOUBLE, "see gold.video_trend_scores", False),
        _c("z_score", DOUBLE, "today's surprise, >= min_z (see gold.video_trend_scores)", False),
        _c("lift", DOUBLE, "observed / expected, >= 1 + min_lift; NULL for a new item (no baseline)"),
        _c("days_trending", INT, "consecutive days rising, today included (1 = first day)", False),
        _c("engaged_users", LONG, "distinct engaged users on ds", False),
        _c("expected", DOUBLE, "baseline expectation of weighted engaged users", False),
        _c("is_new_item", BOOL, "no baseline: trending on velocity", False),
        _DS_REGION[0],
    ),
))

GOLD_TRENDING_HASHTAGS = _register(TableSpec(
    name="gold.trending_hashtags",
    description="Hashtags rising today (is_trending), at most N per date and region (and ALL), by trend score.",
    partition_by=("ds",),
    key=("ds", "region", "rank"),
    columns=(
        _DS_REGION[1],
        _c("rank", INT, "1 = most trending", False),
        _c("hashtag", STRING, "normalised hashtag", False),
        _c("trend_score", DOUBLE, "see gold.hashtag_trend_scores", False),
        _c("z_score", DOUBLE, "today's surprise, >= min_z (see gold.hashtag_trend_scores)", False),
        _c("lift", DOUBLE, "observed / expected, >= 1 + min_lift; NULL for a new item (no baseline)"),
        _c("days_trending", INT, "consecutive days rising, today included (1 = first day)", False),
        _c("engaged_users", LONG, "distinct engaged users on ds", False),
        _c("expected", DOUBLE, "baseline expectation of weighted engaged users", False),
        _c("is_new_item", BOOL, "no baseline: trending on velocity", False),
        _DS_REGION[0],
    ),
))

GOLD_HASHTAG_RANKINGS = _register(TableSpec(
    name="gold.hashtag_rankings",
    description="Hashtags in the top N by engagement or by trend score, per date and region, with movement and top videos.",
    partition_by=("ds",),
    key=("ds", "region", "hashtag"),
    columns=(
        _DS_REGION[1],
        _c("hashtag", STRING, "normalised hashtag", False),
        _c("engagement_rank", INT, "rank by engaged_users among all hashtags of ds and region (1 = most)", False),
        _c("trend_rank", INT, "rank among all hashtags of ds and region: those rising today first (= gold.trending_hashtags' ranks), then by trend_score (1 = most)", False),
        _c("engagement_rank_change", INT, "yesterday's engagement_rank minus today's (positive = up); NULL when absent yesterday"),
        _c("trend_rank_change", INT, "yesterday's trend_rank minus today's; NULL when absent yesterday"),
        _c("is_new_entry", BOOL, "not in yesterday's rankings", False),
        _c("engaged_users", LONG, "distinct engaged users on ds", False),
        _c("trend_score", DOUBLE, "see gold.hashtag_trend_scores", False),
        _c("distinct_creators", LONG, "creators of videos with this tag active on ds", False),
        _c("distinct_videos", LONG, "videos with this tag active on ds", False),
        _c("top_videos", STRINGS, "the 3 videos with the most engaged users under this tag on ds (most first)"),
        _DS_REGION[0],
    ),
))


# ----------------------------------------------------------------------------- quality
OPS_QUALITY_RESULTS = _register(TableSpec(
    name="ops.quality_results",
    description="Every check the quality gate ran for a date: table, Delta version validated, expectation, outcome, severity.",
    partition_by=("ds",),
    key=("ds", "table_name", "expectation"),
    columns=(
        _c("table_name", STRING, "the table validated (ops.daily_kpis: the day's aggregate KPIs)", False),
        _c("suite", STRING, "Great Expectations suite name (expectations/<suite>.json)", False),
        _c("delta_version", LONG, "Delta version of the table that was validated; NULL for computed KPIs"),
        _c("expectation", STRING, "expectation type with its column and parameters, e.g. expect_column_values_to_not_be_null(column=event_id)", False),
        _c("expectation_type", STRING, "Great Expectations expectation type (snake_case)", False),
        _c("column_name", STRING, "column checked, comma-separated for compound checks; NULL for table-level checks"),
        _c("success", BOOL, "the expectation held", False),
        _c("severity", STRING, "block | warn: what a failure does to the day's verdict", False),
        _c("observed_value", STRING, "JSON: the observed value or unexpected count/share"),
        _c("details", STRING, "JSON: the expectation's kwargs and Great Expectations' result summary"),
        _c("verdict", STRING, "the day's verdict from this gate run: pass | warn | block", False),
        _c("run_id", STRING, "gate run id (UTC start time, ISO 8601)", False),
        _c("validated_at", TS, "when the gate ran (UTC)", False),
        _c("ds", DATE, "the date gated (landing date / event date of the validated partitions)", False),
    ),
))


# ----------------------------------------------------------------------------- features
# Point-in-time by design: a row of partition ds summarises events up to the end of ds and carries
# feature_time = ds + 1 day 00:00 UTC, the first instant its values are known. A consumer joining
# as of time t may only use rows with feature_time <= t (gold.training_examples, Feast).
_FEATURE_TIME = _c("feature_time", TS, "end of the window summarised (ds + 1 day, 00:00 UTC): the values are known from then on", False)
_FEATURE_DS = _c("ds", DATE, "the last UTC date of the window summarised", False)

GOLD_USER_DAILY_ACTIVITY = _register(TableSpec(
    name="gold.user_daily_activity",
    description="Per date and user: plays, completions, swipe-aways, likes, shares, watch ratio sums — the daily grain user features sum over.",
    partition_by=("ds",),
    key=("ds", "user_id"),
    columns=(
        _c("user_id", STRING, "the user", False),
        _c("events", LONG, "events of any type the user produced on ds", False),
        _c("plays", LONG, "play events", False),
        _c("plays_with_duration", LONG, "plays whose video duration is known", False),
        _c("completes", LONG, "plays with play_time_ms >= completion_threshold x duration", False),
        _c("swipe_aways", LONG, "plays with play_time_ms < swipe_away_ratio x duration", False),
        _c("watch_ratio_sum", DOUBLE, "sum of min(play_time_ms / duration, watch_ratio_cap) over plays with a known duration", False),
        _c("likes", LONG, "like events", False),
        _c("shares", LONG, "share events", False),
        _FEATURE_DS,
    ),
))

GOLD_USER_INTERESTS = _register(TableSpec(
    name="gold.user_interests",
    description="Per date and user: decayed hashtag interest scores from completions (+1) and swipe-aways (-1), top K per user.",
    partition_by=("ds",),
    key=("ds", "user_id", "hashtag"),
    columns=(
        _c("user_id", STRING, "the user", False),
        _c("hashtag", STRING, "normalised hashtag of videos the user played", False),
        _c("score", DOUBLE, "decay x yesterday's score + completions - swipe-aways on ds (half-life interest_half_life_days)", False),
        _c("rank", INT, "1 = the user's strongest interest on ds", False),
        _FEATURE_DS,
    ),
))

GOLD_USER_FEATURES = _register(TableSpec(
    name="gold.user_features",
    description="Per date and user: activity over 1/7/28 days, watch ratio, completion/like/share rates, top-K hashtag interests.",
    partition_by=("ds",),
    key=("ds", "user_id"),
    columns=(
        _c("user_id", STRING, "the user", False),
        _FEATURE_TIME,
        _c("events_1d", LONG, "events on ds", False),
        _c("events_7d", LONG, "events over ds-6 .. ds", False),
        _c("events_28d", LONG, "events over ds-27 .. ds", False),
        _c("plays_28d", LONG, "plays over 28 days", False),
        _c("active_days_28d", INT, "days with any event over 28 days", False),
        _c("avg_watch_ratio_28d", DOUBLE, "mean capped watch ratio over 28 days' plays with a known duration; NULL without"),
        _c("completion_rate_28d", DOUBLE, "completes / plays with a known duration over 28 days, in [0, 1]; NULL without"),
        _c("like_rate_28d", DOUBLE, "likes / plays over 28 days; NULL without plays"),
        _c("share_rate_28d", DOUBLE, "shares / plays over 28 days; NULL without plays"),
        _c("top_hashtags", STRINGS, "the user's top-K hashtags by interest score, strongest first"),
        _c("top_hashtag_scores", pa.list_(pa.field("element", pa.float64())), "their scores, same order"),
        _FEATURE_DS,
    ),
))

GOLD_VIDEO_FEATURES = _register(TableSpec(
    name="gold.video_features",
    description="Per date and video active in the last 7 days: age, views over 1 and 7 days, completion/like/share rates, trend score.",
    partition_by=("ds",),
    key=("ds", "video_id"),
    columns=(
        _c("video_id", STRING, "the video", False),
        _FEATURE_TIME,
        _c("creator_id", STRING, "its creator (NULL when the publish event has not arrived)"),
        _c("video_age_hours", DOUBLE, "hours from published_at to feature_time; NULL when unknown"),
        _c("video_duration_ms", LONG, "duration (ms) from the publish event"),
        _c("views_1d", LONG, "plays on ds", False),
        _c("views_7d", LONG, "plays over ds-6 .. ds", False),
        _c("impressions_7d", LONG, "impressions over 7 days", False),
        _c("completion_rate_7d", DOUBLE, "plays-weighted mean of daily completion_rate over 7 days, in [0, 1]; NULL without"),
        _c("avg_watch_ratio_7d", DOUBLE, "plays-weighted mean of daily avg_watch_ratio over 7 days; NULL without"),
        _c("like_rate_7d", DOUBLE, "likes / plays over 7 days; NULL without plays"),
        _c("share_rate_7d", DOUBLE, "shares / plays over 7 days; NULL without plays"),
        _c("trend_score", DOUBLE, "gold.video_trend_scores.trend_score for region ALL on ds (0 when not scored)", False),
        _FEATURE_DS,
    ),
))

GOLD_CREATOR_FEATURES = _register(TableSpec(
    name="gold.creator_features",
    description="Per date and creator with a video published or active in the last 7 days: output, reach and engagement.",
    partition_by=("ds",),
    key=("ds", "creator_id"),
    columns=(
        _c("creator_id", STRING, "the creator (a user id)", False),
        _FEATURE_TIME,
        _c("videos_total", LONG, "videos published before feature_time", False),
        _c("videos_7d", LONG, "videos published over ds-6 .. ds", False),
        _c("active_videos_7d", LONG, "videos with any play over 7 days", False),
        _c("views_7d", LONG, "plays of the creator's videos over 7 days", False),
        _c("completion_rate_7d", DOUBLE, "plays-weighted completion rate of those plays; NULL without"),
        _c("like_rate_7d", DOUBLE, "likes / plays over 7 days; NULL without plays"),
        _c("follows_7d", LONG, "follow events triggered from the creator's videos over 7 days", False),
        _FEATURE_DS,
    ),
))

GOLD_HASHTAG_FEATURES = _register(TableSpec(
    name="gold.hashtag_features",
    description="Per date and hashtag active in the last 7 days: views, rates, new videos, trend score and rank.",
    partition_by=("ds",),
    key=("ds", "hashtag"),
    columns=(
        _c("hashtag", STRING, "normalised hashtag", False),
        _FEATURE_TIME,
        _c("views_1d", LONG, "plays of videos with the tag on ds", False),
        _c("views_7d", LONG, "plays over ds-6 .. ds", False),
        _c("completion_rate_7d", DOUBLE, "plays-weighted completion rate over 7 days; NULL without"),
        _c("like_rate_7d", DOUBLE, "likes / plays over 7 days; NULL without plays"),
        _c("new_videos_7d", LONG, "videos with the tag published over 7 days", False),
        _c("trend_score", DOUBLE, "gold.hashtag_trend_scores.trend_score for region ALL on ds (0 when not scored)", False),
        _c("trend_rank", INT, "gold.hashtag_rankings.trend_rank for region ALL on ds; NULL when not in the top N"),
        _FEATURE_DS,
    ),
))


# ----------------------------------------------------------------------------- online store
OPS_ONLINE_PUBLISHES = _register(TableSpec(
    name="ops.online_publishes",
    description="Every publish of a date's feature rows to the online store: per feature view, rows read, written, skipped as older, expired.",
    partition_by=("ds",),
    key=("ds", "feature_view"),
    columns=(
        _c("feature_view", STRING, "Feast feature view (reelhouse/serving/feature_views.py)", False),
        _c("source_table", STRING, "the gold table it serves", False),
        _c("source_version", LONG, "Delta version of the gold table that was read; NULL when it did not exist"),
        _c("store", STRING, "sqlite | redis", False),
        _c("rows", LONG, "rows of the date's partition", False),
        _c("written", LONG, "entities written (feature_time not older than the one already served)", False),
        _c("skipped_older", LONG, "entities left alone because a newer feature_time was already published", False),
        _c("expired", LONG, "entities removed: feature_time older than the newest published minus the view's TTL", False),
        _c("seconds", DOUBLE, "wall time of the view's publish (s)", False),
        _c("published_at", TS, "when the publish finished (UTC)", False),
        _c("run_id", STRING, "publish run id", False),
        _c("ds", DATE, "the date published (gold partition ds)", False),
    ),
))


# ----------------------------------------------------------------------------- training data
# Every feature is joined point-in-time: the latest row of its gold feature table whose feature_time
# is at or before the impression (within the view's online TTL, as the online store would serve it).
_USER_FEATURES = ("events_7d", "events_28d", "plays_28d", "active_days_28d", "avg_watch_ratio_28d",
                  "completion_rate_28d", "like_rate_28d", "share_rate_28d")
_VIDEO_FEATURES = ("video_age_hours", "video_duration_ms", "views_1d", "views_7d", "impressions_7d",
                   "completion_rate_7d", "avg_watch_ratio_7d", "like_rate_7d", "share_rate_7d", "trend_score")
_CREATOR_FEATURES = ("videos_total", "views_7d", "completion_rate_7d", "like_rate_7d", "follows_7d")


def _prefixed(prefix: str, source: str, names: tuple[str, ...]) -> tuple[Column, ...]:
    spec = TABLES[source]
    cols = {c.name: c for c in spec.columns}
    return tuple(_c(f"{prefix}_{n}" if not n.startswith(prefix) else n, cols[n].type,
                    f"{source}.{n} as of the impression (NULL: no row within the TTL)") for n in names)


GOLD_TRAINING_EXAMPLES = _register(TableSpec(
    name="gold.training_examples",
    description="One row per impression (plus optional sampled negatives): labels from what followed it, features as of the impression time.",
    partition_by=("ds",),
    key=("example_id",),
    columns=(
        _c("example_id", STRING, "the impression's event_id; sampled negatives: 'neg:' + the impression it was drawn from", False),
        _c("impression_time", TS, "when the impression happened (UTC); features are as of this instant", False),
        _c("user_id", STRING, "the viewer", False),
        _c("video_id", STRING, "the video shown", False),
        _c("creator_id", STRING, "the video's creator (silver.videos; NULL when unknown)"),
        _c("is_sampled_negative", BOOL, "a random (user, video) pair not shown: every label 0", False),
        _c("play_time_ms", LONG, "longest play of the video within label_window_seconds after the impression (ms); NULL without a play"),
        _c("label_play", INT, "1 when a play followed the impression within the label window", False),
        _c("label_complete", INT, "1 when a play reached completion_threshold (0.9) x video_duration_ms", False),
        _c("label_like", INT, "1 when a like followed within the label window", False),
        _c("label_long_view", INT, "1 when a play lasted at least training.long_view_ms", False),
        *_prefixed("user", "gold.user_features", _USER_FEATURES),
        *_prefixed("video", "gold.video_features", _VIDEO_FEATURES),
        *_prefixed("creator", "gold.creator_features", _CREATOR_FEATURES),
        _c("user_video_interest", DOUBLE, "sum of the user's hashtag interest scores (gold.user_interests, as of the impression) over the video's hashtags; 0 when none", False),
        _c("user_video_interest_max", DOUBLE, "the largest of those scores; 0 when none", False),
        _c("is_new_user", BOOL, "no gold.user_features row within the TTL before the impression", False),
        _c("is_new_video", BOOL, "published less than 24 h before the impression, or no video features yet", False),
        _c("is_trending_video", BOOL, "in gold.trending_videos (region ALL) of the day before", False),
        _c("user_feature_time", TS, "feature_time of the user_features row used (NULL: none)"),
        _c("video_feature_time", TS, "feature_time of the video_features row used (NULL: none)"),
        _c("ds", DATE, "UTC date of the impression", False),
    ),
))

ML_DATASET_MANIFESTS = _register(TableSpec(
    name="ml.dataset_manifests",
    description="One row per dataset build: the Delta version of every input, row counts, label rates, time range, seed, content hash.",
    partition_by=("ds",),
    key=("build_id",),
    columns=(
        _c("build_id", STRING, "unique id of the build", False),
        _c("dataset", STRING, "the table built (gold.training_examples)", False),
        _c("dataset_version", LONG, "Delta version of the dataset table the build committed", False),
        _c("rows", LONG, "rows written for ds", False),
        _c("content_sha256", STRING, "SHA-256 of the partition's rows in example_id order (Arrow IPC): what a rebuild must reproduce", False),
        _c("inputs_json", STRING, "JSON: input table -> Delta version read", False),
        _c("label_rates_json", STRING, "JSON: label -> share of rows with label 1", False),
        _c("time_min", TS, "earliest impression_time", False),
        _c("time_max", TS, "latest impression_time", False),
        _c("seed", LONG, "negative-sampling seed", False),
        _c("manifest_json", STRING, "the whole manifest (also written as JSON under <lake>/_manifests/)", False),
        _c("created_at", TS, "when the build ran (UTC)", False),
        _c("ds", DATE, "the date built", False),
    ),
))

ML_MODEL_PROMOTIONS = _register(TableSpec(
    name="ml.model_promotions",
    description="Every champion/challenger decision and rollback of the ranking model, with its reason and metrics.",
    partition_by=("ds",),
    key=("decision_id",),
    columns=(
        _c("decision_id", STRING, "unique id", False),
        _c("model_name", STRING, "MLflow registered model", False),
        _c("action", STRING, "promote | reject | rollback", False),
        _c("version", LONG, "the version decided on (rollback: the version restored)", False),
        _c("previous_champion", LONG, "champion before the decision; NULL when there was none"),
        _c("champion_after", LONG, "champion after the decision; NULL when there is none"),
        _c("reason", STRING, "why, with the numbers compared", False),
        _c("run_id", STRING, "MLflow run of the retrain; NULL for a rollback"),
        _c("valid_day", DATE, "validation day; NULL for a rollback"),
        _c("gate_verdict", STRING, "quality-gate verdict of the validation day"),
        _c("challenger_auc", DOUBLE, "challenger AUC on the validation day"),
        _c("champion_auc", DOUBLE, "champion AUC on the same rows"),
        _c("baseline_auc", DOUBLE, "popularity baseline AUC on the same rows"),
        _c("metrics_json", STRING, "JSON: every metric of every model scored", False),
        _c("decided_at", TS, "when (UTC)", False),
        _c("ds", DATE, "UTC date of decided_at", False),
    ),
))


# ----------------------------------------------------------------------------- privacy and maintenance
OPS_ERASURE_REQUESTS = _register(TableSpec(
    name="ops.erasure_requests",
    description="Pending right-to-be-forgotten requests (GDPR Art. 17 / CCPA): one row per user to erase. "
                "Holds the raw user id only until the request is processed; then the row is deleted (and vacuumed).",
    partition_by=("ds",),
    key=("request_id",),
    columns=(
        _c("request_id", STRING, "id of the request (er_<16 hex> of the subject by default; a rerun of it is a no-op)", False),
        _c("user_id", STRING, "the user to erase (raw id: this table is the only place it may stay, until processed)", False),
        _c("requested_at", TS, "when the request was received (UTC); the deadline runs from here", False),
        _c("requested_by", STRING, "who filed it (cli:<user>, api, …)", False),
        _c("ds", DATE, "UTC date of requested_at", False),
    ),
))

OPS_ERASURES = _register(TableSpec(
    name="ops.erasures",
    description="Audit trail of every erasure: tables touched, rows removed, versions vacuumed. Holds no raw or "
                "pseudonymised user id: the subject is a keyed hash of its own (subject_ref).",
    partition_by=("ds",),
    key=("request_id",),
    columns=(
        _c("request_id", STRING, "the request processed", False),
        _c("subject_ref", STRING, "sha256(key || ':erasure:' || user_id): finds a subject's audit rows, not reversible without the key", False),
        _c("status", STRING, "running | erased (rows gone from every current snapshot) | complete (old versions vacuumed too)", False),
        _c("requested_at", TS, "when the request was received (UTC)", False),
        _c("started_at", TS, "when processing started (UTC)", False),
        _c("erased_at", TS, "when the rows left every current snapshot (UTC); NULL while running"),
        _c("completed_at", TS, "when the last version still holding them was vacuumed (UTC); NULL until then"),
        _c("retention_hours", LONG, "how long deleted rows stay reachable by time travel before the vacuum", False),
        _c("tables_json", STRING, "JSON: table -> {rows_deleted, rows_redacted, files_rewritten, bytes_rewritten, version}", False),
        _c("rows_removed", LONG, "rows deleted from Delta tables, all tables", False),
        _c("rows_redacted", LONG, "rows whose creator id was set to NULL (other users' rows about the subject's videos)", False),
        _c("landing_files_rewritten", LONG, "landing files rewritten without the subject's lines", False),
        _c("landing_lines_removed", LONG, "landing lines removed (the subject's own events)", False),
        _c("online_keys_deleted", LONG, "online-store entities deleted (user, creator, the subject's videos)", False),
        _c("bi_rows_deleted", LONG, "rows deleted from the BI DuckDB file (raw and pseudonymised keys)", False),
        _c("manifests_superseded", LONG, "training-dataset manifests marked superseded (their hash no longer reproduces)", False),
        _c("files_vacuumed", LONG, "files deleted by the vacuums that completed the erasure; NULL until then"),
        _c("ds", DATE, "UTC date of requested_at", False),
    ),
))

OPS_TABLE_MAINTENANCE = _register(TableSpec(
    name="ops.table_maintenance",
    description="Every maintenance operation on a table: retention cut, compaction / Z-order, checkpoint, vacuum, "
                "with files and bytes before and after.",
    partition_by=("ds",),
    key=("run_id", "table_name", "operation", "partition_spec"),
    columns=(
        _c("run_id", STRING, "maintenance run id", False),
        _c("table_name", STRING, "layer.table, or landing (the landing folder)", False),
        _c("operation", STRING, "retention | compact | zorder | checkpoint | vacuum", False),
        _c("partition_spec", STRING, "partition touched (col=value/...), '' for the whole table", False),
        _c("files_before", LONG, "data files in the snapshot (or folder) before", False),
        _c("files_after", LONG, "data files after", False),
        _c("bytes_before", LONG, "bytes of the files the operation rewrote or removed", False),
        _c("bytes_after", LONG, "bytes of the files it wrote", False),
        _c("rows_deleted", LONG, "rows dropped (retention), else 0", False),
        _c("version", LONG, "table version after the operation; NULL for the landing folder"),
        _c("seconds", DOUBLE, "wall time (s)", False),
        _c("detail", STRING, "what was done, in words", False),
        _c("started_at", TS, "when the operation started (UTC)", False),
        _c("ds", DATE, "the maintenance run's date (its data interval end, UTC)", False),
    ),
))
