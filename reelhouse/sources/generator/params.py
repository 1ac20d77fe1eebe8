"""The generator's validated parameters and the constants every part of it shares.

:class:`Params` is what :func:`reelhouse.sources.generator.generate` hands to the world, the writer
and the ground truth after checking its arguments; times are epoch milliseconds (UTC).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from reelhouse.sources import contract

GENERATOR_VERSION = 1

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000
#: day 0 hour 0: the pre-existing catalogue is published in the first minute, interactions follow.
CATALOGUE_WINDOW_MS = 60_000

#: event types by index (the int8 codes of the emitted event arrays)
EVENT_TYPES = ("impression", "play", "like", "comment", "share", "follow", "publish")
T_IMP, T_PLAY, T_LIKE, T_COMMENT, T_SHARE, T_FOLLOW, T_PUBLISH = range(7)
#: event types that count a user as engaged with a video (planted-tag distinct users)
ENGAGED_TYPES = (T_PLAY, T_LIKE, T_COMMENT, T_SHARE)
assert set(EVENT_TYPES) == set(contract.EVENT_TYPES)

# source shapes (options of generate() that imitate real sources; defaults = the original shape)
SHAPE_DEFAULTS: dict[str, Any] = {
    "first_day_share": 1.0, "catalogue": "preloaded", "client_fields": "full", "id_style": "short",
    "time_encoding": "mixed",
}
CATALOGUE_MODES = ("preloaded", "growing")
CLIENT_FIELD_MODES = ("full", "no_platform", "none")
ID_STYLES = ("short", "uuid")
TIME_ENCODINGS = ("mixed", "offset")


@dataclass
class Params:
    """The checked arguments of one generation run (see ``generate()`` for their meaning).

    ``trend_start_day`` / ``spam_day`` are day indexes into the run (0 = ``start``); ``start_ms`` is
    00:00 UTC of ``start`` in epoch milliseconds.
    """

    landing_root: Path
    start: _dt.date
    days: int
    events_per_day: int
    seed: int
    bad_fraction: float
    duplicate_fraction: float
    redelivered_files: int
    late_fraction: float
    corrupt_files: int
    compress: bool
    future_tolerance_seconds: int
    files_per_hour: int
    max_lines_per_file: int
    n_users: int
    n_videos: int
    new_videos_per_day: int
    n_trending_hashtags: int
    n_trending_videos: int
    spam_accounts: int
    trend_start_day: int
    spam_day: int
    first_day_share: float = 1.0
    catalogue: str = "preloaded"
    client_fields: str = "full"
    id_style: str = "short"
    time_encoding: str = "mixed"
    start_ms: int = 0

    @property
    def dates(self) -> list[str]:
        """The run's arrival dates, ``YYYY-MM-DD``, one per day index."""
        return [(self.start + _dt.timedelta(days=d)).isoformat() for d in range(self.days)]

    def shape(self) -> dict[str, Any]:
        """The source-shape options (see generate()); equal to :data:`SHAPE_DEFAULTS` by default."""
        return {k: getattr(self, k) for k in SHAPE_DEFAULTS}

    def public(self) -> dict[str, Any]:
        """The parameters as recorded in the ground truth (``parameters``): JSON-serialisable, dates
        as ``YYYY-MM-DD``; ``source_shape`` only when a shape option differs from its default."""
        d = asdict(self)
        d.pop("landing_root")
        d.pop("start_ms")
        for k in SHAPE_DEFAULTS:
            d.pop(k)
        d["start"] = self.start.isoformat()
        d["trend_start"] = (self.start + _dt.timedelta(days=self.trend_start_day)).isoformat()
        d["spam_date"] = (self.start + _dt.timedelta(days=self.spam_day)).isoformat()
        if self.shape() != SHAPE_DEFAULTS:  # absent by default: the original ground truth, byte for byte
            d["source_shape"] = self.shape()
        return d
