"""The landing contract (v1) for interaction events, as data.

This module is the single place that names event types, required fields, field types and
quarantine reason codes. The Spark ingest step (``spark_jobs/ingest.py``), the event generator
(``reelhouse.sources.generator``) and the importers all import it, so the three cannot drift apart.

Landing layout: ``<landing>/events/date=YYYY-MM-DD/hour=HH/*.jsonl`` or ``*.jsonl.gz``, one JSON
object per line, UTF-8. Delivery is at-least-once: a whole file may arrive twice and one event may
appear in two files; ``event_id`` identifies an event.

Contract deviation (documented in the README): for ``play`` the key ``video_duration_ms`` is
required but may be JSON ``null`` meaning "the client did not know the length" (18.5 % of the
real KuaiRand rows carry a zero/unknown duration). When it is a number it must be an integer > 0.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal

CONTRACT_VERSION: Final = "v1"

EventType = Literal["impression", "play", "like", "share", "comment", "follow", "publish"]

EVENT_TYPES: Final[tuple[str, ...]] = (
    "impression",
    "play",
    "like",
    "share",
    "comment",
    "follow",
    "publish",
)

#: JSON type each known field must have. ``"string"`` = JSON string, ``"integer"`` = JSON integer
#: (no fraction, no quotes), ``"string_list"`` = JSON array of strings, ``"event_time"`` = RFC 3339
#: string with an offset, or integer epoch milliseconds.
FIELD_TYPES: Final[dict[str, str]] = {
    "event_id": "string",
    "event_type": "string",
    "event_time": "event_time",
    "user_id": "string",
    "video_id": "string",
    "creator_id": "string",
    "play_time_ms": "integer",
    "video_duration_ms": "integer",
    "hashtags": "string_list",
    "sound_id": "string",
    "caption": "string",
    "region": "string",
    "platform": "string",
    "app_version": "string",
}

KNOWN_FIELDS: Final[tuple[str, ...]] = tuple(FIELD_TYPES)

#: Fields every event must carry (non-null).
ALWAYS_REQUIRED: Final[tuple[str, ...]] = ("event_id", "event_type", "event_time", "user_id")

#: Extra fields required per event type (non-null unless listed in NULLABLE_REQUIRED).
REQUIRED_BY_TYPE: Final[dict[str, tuple[str, ...]]] = {
    "impression": ("video_id",),
    "play": ("video_id", "play_time_ms", "video_duration_ms"),
    "like": ("video_id",),
    "share": ("video_id",),
    "comment": ("video_id",),
    "follow": ("creator_id",),
    "publish": ("video_id", "creator_id", "video_duration_ms", "hashtags"),
}

#: (event_type, field) pairs whose key must be present but whose value may be JSON null.
NULLABLE_REQUIRED: Final[frozenset[tuple[str, str]]] = frozenset({("play", "video_duration_ms")})

#: Fields no event type requires: a source may never send them (the KuaiRand log has no
#: ``platform`` or ``region``). The quality gate may warn when their share of nulls drifts, never
#: block on them (``reelhouse.quality.gate``).
OPTIONAL_FIELDS: Final[tuple[str, ...]] = tuple(
    f for f in KNOWN_FIELDS
    if f not in ALWAYS_REQUIRED and not any(f in req for req in REQUIRED_BY_TYPE.values())
)

#: Per field required by some event types only: the event types that require it non-null
#: (``video_id`` → every type but ``follow``). The gate checks these exactly, per event type.
REQUIRED_FOR_TYPES: Final[dict[str, tuple[str, ...]]] = {
    f: tuple(t for t, req in REQUIRED_BY_TYPE.items() if f in req and (t, f) not in NULLABLE_REQUIRED)
    for f in KNOWN_FIELDS
    if f not in ALWAYS_REQUIRED and any(f in req for req in REQUIRED_BY_TYPE.values())
}

# ---------------------------------------------------------------------------------------------
# Quarantine reason codes (machine-readable, stable: dashboards and the quality gate key on them)
# ---------------------------------------------------------------------------------------------
REASON_CORRUPT_FILE: Final = "corrupt_file"  #: the file cannot be decompressed/decoded at all
REASON_INVALID_JSON: Final = "invalid_json"  #: the line is not JSON (or is blank)
REASON_NOT_AN_OBJECT: Final = "not_an_object"  #: valid JSON, but not an object
REASON_MISSING_FIELD: Final = "missing_required_field"  #: a required field absent or null
REASON_WRONG_TYPE: Final = "wrong_type"  #: a known field has the wrong JSON type
REASON_UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
REASON_INVALID_EVENT_TIME: Final = "invalid_event_time"  #: unparseable, or RFC 3339 without offset
REASON_FUTURE_EVENT_TIME: Final = "future_event_time"  #: beyond the landing hour + tolerance
REASON_NEGATIVE_PLAY_TIME: Final = "negative_play_time"  #: play_time_ms < 0
REASON_INVALID_DURATION: Final = "invalid_video_duration"  #: video_duration_ms <= 0

REASON_CODES: Final[tuple[str, ...]] = (
    REASON_CORRUPT_FILE,
    REASON_INVALID_JSON,
    REASON_NOT_AN_OBJECT,
    REASON_MISSING_FIELD,
    REASON_WRONG_TYPE,
    REASON_UNKNOWN_EVENT_TYPE,
    REASON_INVALID_EVENT_TIME,
    REASON_FUTURE_EVENT_TIME,
    REASON_NEGATIVE_PLAY_TIME,
    REASON_INVALID_DURATION,
)

#: RFC 3339 date-time with a mandatory offset (``Z`` or ``±HH:MM``); ``T`` or space separator.
RFC3339_PATTERN: Final = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_RFC3339 = re.compile(RFC3339_PATTERN)

#: Landing path layout; ``date`` and ``hour`` are the collector's arrival date/hour in UTC.
LANDING_EVENTS_DIR: Final = "events"
LANDING_FILE_PATTERN: Final = re.compile(
    r"(?:^|/)events/date=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/[^/]+\.jsonl(\.gz)?$"
)


#: Optional marker a source writes into ``<landing>/events/date=YYYY-MM-DD/`` when it covers only
#: part of that UTC date by construction (an export that starts or ends at midnight of another time
#: zone): ``{"start": RFC 3339, "end": RFC 3339, "reason": str}``, the event-time window [start, end)
#: the source covers. No marker = the source covers the whole date. Ingest never reads it (it is not
#: ``*.jsonl``); the quality gate scales the day's volume minimums by the covered share
#: (``reelhouse.sources.landing.read_coverage``).
LANDING_COVERAGE_FILE: Final = "_coverage.json"


def is_rfc3339_with_offset(value: str) -> bool:
    """True when ``value`` is an RFC 3339 date-time carrying an explicit UTC offset."""
    return bool(_RFC3339.match(value))


def normalize_hashtag(tag: str) -> str:
    """Normalise one hashtag as the contract says: Unicode NFKC, case-folded, leading ``#``
    characters stripped, surrounding white space trimmed.

    ``"#Dance"``, ``"dance"`` and ``"ＤＡＮＣＥ"`` (full-width) all become ``"dance"``; Chinese and
    emoji tags are kept as they are after NFKC (``"#萌宠驾到"`` → ``"萌宠驾到"``). Returns ``""`` for a
    tag that is empty after normalisation; callers drop those.

    Source: Unicode Standard Annex #15 (NFKC) and #44 / Python ``str.casefold`` (full case folding).
    """
    t = unicodedata.normalize("NFKC", tag).casefold().strip()
    return t.lstrip("#").strip()


def normalize_hashtags(tags: list[str] | None) -> list[str] | None:
    """Normalise a list of hashtags: each via :func:`normalize_hashtag`, empties dropped,
    duplicates removed keeping first-seen order. ``None`` stays ``None``."""
    if tags is None:
        return None
    seen: dict[str, None] = {}
    for tag in tags:
        if tag is None:
            continue
        n = normalize_hashtag(tag)
        if n:
            seen.setdefault(n, None)
    return list(seen)


# ---------------------------------------------------------------------------------------------
# The validator: one landed line → (object, reason, detail, event_time in µs)
# ---------------------------------------------------------------------------------------------
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
#: event_time bounds: 0001-01-01 .. 9999-12-31 in epoch milliseconds
_MIN_MS, _MAX_MS = -62135596800000, 253402300799999


def json_kind(value: object) -> str:
    """JSON type name of a decoded value: null, boolean, integer, number, string, array, object."""
    if value is None:
        return "null"
    t = type(value)
    if t is bool:
        return "boolean"
    if t is int:
        return "integer"
    if t is float:
        return "number"
    if t is str:
        return "string"
    if t is list:
        return "array"
    return "object"


def _is_int64(v: object) -> bool:
    return type(v) is int and _INT64_MIN <= v <= _INT64_MAX  # type: ignore[operator]


_TYPE_OK = {
    "string": lambda v: type(v) is str,
    "integer": _is_int64,
    "string_list": lambda v: type(v) is list and all(type(x) is str for x in v),
    "event_time": lambda v: type(v) is str or _is_int64(v),
}
_FIELD_CHECKS = tuple((name, kind, _TYPE_OK[kind]) for name, kind in FIELD_TYPES.items())
_REQUIRED = {
    t: tuple((f, (t, f) in NULLABLE_REQUIRED) for f in fields) for t, fields in REQUIRED_BY_TYPE.items()
}
_EPOCH = None


def parse_event_time_us(value: str | int) -> int | None:
    """event_time → epoch microseconds (UTC), or None when it is not a valid contract time.

    Integers are epoch milliseconds (0001-01-01 .. 9999-12-31). Strings must be RFC 3339 with an
    explicit offset (``Z`` or ``±HH:MM``); fractions beyond microseconds are truncated; impossible
    dates (``2024-02-30``) are invalid. Source: RFC 3339 §5.6.
    """
    global _EPOCH
    if type(value) is int:
        if not _MIN_MS <= value <= _MAX_MS:
            return None
        return value * 1000
    if type(value) is not str or not _RFC3339.match(value):
        return None
    from datetime import datetime, timezone

    if _EPOCH is None:
        _EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
    s = value.upper().replace(" ", "T")
    if "." in s:  # keep at most 6 fraction digits
        head, rest = s.split(".", 1)
        digits = len(rest) - len(rest.lstrip("0123456789"))
        s = head + "." + (rest[:digits][:6]).ljust(6, "0") + rest[digits:]
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def validate_event(obj: dict, max_event_time_us: int) -> tuple[str | None, str | None, int | None]:
    """Check one decoded JSON object against the contract.

    Returns ``(reason, detail, event_time_us)``: ``reason`` is None for a valid event, else the
    first violated rule in this order: wrong_type (any known field that is present and non-null),
    missing_required_field (always-required fields), unknown_event_type, missing_required_field
    (per event type; ``null`` allowed where :data:`NULLABLE_REQUIRED` says so),
    invalid_event_time, future_event_time (``event_time`` > ``max_event_time_us``),
    negative_play_time, invalid_video_duration. Unknown extra fields are allowed.
    """
    for name, kind, ok in _FIELD_CHECKS:
        v = obj.get(name)
        if v is not None and not ok(v):
            return REASON_WRONG_TYPE, f"{name}: expected {kind}, got {json_kind(v)}", None
    for name in ALWAYS_REQUIRED:
        if obj.get(name) is None:
            return REASON_MISSING_FIELD, f"{name} is required", None
    et = obj["event_type"]
    required = _REQUIRED.get(et)
    if required is None:
        return REASON_UNKNOWN_EVENT_TYPE, f"event_type {et}", None
    for name, nullable in required:
        if nullable:
            if name not in obj:
                return REASON_MISSING_FIELD, f"{name} is required for {et} (null allowed)", None
        elif obj.get(name) is None:
            return REASON_MISSING_FIELD, f"{name} is required for {et}", None
    us = parse_event_time_us(obj["event_time"])
    if us is None:
        return REASON_INVALID_EVENT_TIME, f"event_time {obj['event_time']}", None
    if us > max_event_time_us:
        return REASON_FUTURE_EVENT_TIME, f"event_time {obj['event_time']} is after the landing hour + tolerance", None
    play = obj.get("play_time_ms")
    if play is not None and play < 0:
        return REASON_NEGATIVE_PLAY_TIME, f"play_time_ms {play}", None
    dur = obj.get("video_duration_ms")
    if dur is not None and dur <= 0:
        return REASON_INVALID_DURATION, f"video_duration_ms {dur}", None
    return None, None, us


# ---------------------------------------------------------------------------------------------
# The typed fast path: the same rules as msgspec structs, checked in C
# ---------------------------------------------------------------------------------------------
def typed_event_decoder():
    """A msgspec JSON decoder that accepts exactly the lines whose types and required fields
    already satisfy the contract, built from :data:`FIELD_TYPES`, :data:`REQUIRED_BY_TYPE`,
    :data:`ALWAYS_REQUIRED` and :data:`NULLABLE_REQUIRED` (so it cannot drift from them).

    Returns ``(decode, tag_of)``: ``decode(line)`` gives a struct whose fields are
    :data:`KNOWN_FIELDS` minus ``event_type`` in order (``msgspec.structs.astuple``), and
    ``tag_of[type(struct)]`` is its ``event_type``. ``decode`` raises ``msgspec.DecodeError``
    (``ValidationError`` is a subclass) for every line it does not accept: invalid JSON, not an
    object, a wrong type, a missing or null required field, an unknown event type, or an unknown
    extra field (extras are allowed by the contract; such lines simply take the slow path). A line
    it accepts still needs the value checks of :func:`validate_event` from ``invalid_event_time``
    on (time parse, future bound, negative play time, duration).

    Used by the ingest step as a fast path in front of :func:`validate_event` (~4x fewer µs per
    line); the ingest tests check both paths classify every kind of line identically.
    """
    from typing import Annotated, Optional, Union

    import msgspec

    int64 = Annotated[int, msgspec.Meta(ge=_INT64_MIN, le=_INT64_MAX)]
    py_type = {"string": str, "integer": int64, "string_list": list[str], "event_time": Union[str, int64]}
    fields = [f for f in KNOWN_FIELDS if f != "event_type"]
    structs = []
    tag_of: dict[type, str] = {}
    for et, extra_required in REQUIRED_BY_TYPE.items():
        required = set(ALWAYS_REQUIRED) | set(extra_required)
        spec = []
        for f in fields:
            t = py_type[FIELD_TYPES[f]]
            if (et, f) in NULLABLE_REQUIRED:
                spec.append((f, Optional[t]))  # key must be present, null allowed
            elif f in required:
                spec.append((f, t))
            else:
                spec.append((f, Optional[t], None))
        cls = msgspec.defstruct(
            f"Fast_{et}", spec, kw_only=True, tag_field="event_type", tag=et, forbid_unknown_fields=True
        )
        structs.append(cls)
        tag_of[cls] = et
    decoder = msgspec.json.Decoder(Union[tuple(structs)])
    return decoder.decode, tag_of
