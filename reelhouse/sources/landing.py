"""The landing zone: finding a date's files and checking that they can be read.

Layout (landing contract v1): ``<landing>/events/date=YYYY-MM-DD/hour=HH/*.jsonl[.gz]``. ``date`` and
``hour`` are the collector's arrival date and hour in UTC.

A source that covers only part of a UTC date by construction declares it with the date's coverage
marker ``_coverage.json`` (:func:`read_coverage`, :func:`coverage_json`).

The landing root is a local folder or an object-store URI (``s3a://reelhouse-landing``): listing
and reading go through pyarrow filesystems (:func:`reelhouse.objectstore.filesystem`), and a
:class:`LandingFile`'s ``path`` is then a URI that Spark's S3A reads.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reelhouse.objectstore import filesystem, is_object_store_uri, join, list_files, read_bytes
from reelhouse.sources.contract import LANDING_COVERAGE_FILE, LANDING_EVENTS_DIR, LANDING_FILE_PATTERN


@dataclass(frozen=True)
class LandingFile:
    """One landing file. ``path``: absolute path; ``relative_path``: below the landing root (the
    ``_source_file`` value stored in every table); ``size``: bytes; ``error``: why the file cannot be
    read at all (None when readable)."""

    path: str
    relative_path: str
    size: int
    error: str | None = None

    @property
    def readable(self) -> bool:
        """True when the file could be opened and decompressed (``error`` is None)."""
        return self.error is None


def date_dir(landing_root: str, landing_date: date) -> Path | str:
    """Folder of one landing date: a ``Path`` under a local landing root, the URI (``str``)
    under an object-store one."""
    uri = join(str(landing_root), LANDING_EVENTS_DIR, f"date={landing_date.isoformat()}")
    return uri if is_object_store_uri(uri) else Path(landing_root) / LANDING_EVENTS_DIR / f"date={landing_date.isoformat()}"


def _check(path: str) -> str | None:
    """Return why a file cannot be read, or None. A ``.gz`` file is decompressed to its end (a
    garbled or truncated gzip fails here, not half-way through a Spark job)."""
    if not path.endswith(".gz"):
        return None
    try:
        fs, key = filesystem(path)  # the bytes as stored: pyarrow would decompress .gz itself
        with fs.open_input_stream(key, compression=None) as raw, gzip.GzipFile(fileobj=raw) as fh:
            while fh.read(1 << 22):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        return f"unreadable gzip: {type(exc).__name__}: {exc}"
    return None


def list_landing_files(landing_root: str, landing_date: date, *, check: bool = True) -> list[LandingFile]:
    """All landing files of ``landing_date`` (sorted by relative path), each checked for
    readability when ``check`` (gzip integrity, in parallel threads: zlib releases the GIL).

    Files that do not match the contract's naming (``*.jsonl`` / ``*.jsonl.gz`` under an
    ``hour=HH`` folder) are ignored, as are hidden and temporary files (leading ``.`` or ``_``),
    which is how collectors and importers stage atomic writes. Returns ``[]`` when the date has
    no folder.
    """
    base = str(date_dir(landing_root, landing_date))
    prefix = f"{LANDING_EVENTS_DIR}/date={landing_date.isoformat()}"
    found: list[tuple[str, str, int]] = []
    for rel_in_date, size in list_files(base):
        if rel_in_date.rsplit("/", 1)[-1].startswith((".", "_")):
            continue
        full = join(base, rel_in_date)
        rel = f"{prefix}/{rel_in_date}"
        if LANDING_FILE_PATTERN.search(rel):
            found.append((full, rel, size))
    found.sort(key=lambda t: t[1])
    if not check:
        return [LandingFile(p, r, s) for p, r, s in found]
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2))) as pool:
        errors = list(pool.map(_check, [p for p, _, _ in found]))
    return [LandingFile(p, r, s, e) for (p, r, s), e in zip(found, errors)]


def landing_dates(landing_root: str) -> list[date]:
    """Every date that has a landing folder, sorted."""
    import pyarrow.fs as pafs

    fs, base = filesystem(join(str(landing_root), LANDING_EVENTS_DIR))
    try:
        infos = fs.get_file_info(pafs.FileSelector(base, recursive=False, allow_not_found=True))
    except FileNotFoundError:
        return []
    out = []
    for i in infos:
        name = i.path.rstrip("/").rsplit("/", 1)[-1]
        if i.type == pafs.FileType.Directory and name.startswith("date="):
            try:
                out.append(date.fromisoformat(name[5:]))
            except ValueError:
                continue
    return sorted(out)


def has_landing_files(landing_root: str, day: date) -> bool:
    """True when ``day`` has at least one landing file (contract naming; none = a quiet day)."""
    return bool(list_landing_files(landing_root, day, check=False))


def previous_landing_date(landing_root: str, day: date) -> date | None:
    """The latest date before ``day`` that has landing files, or None."""
    for d in sorted((d for d in landing_dates(landing_root) if d < day), reverse=True):
        if has_landing_files(landing_root, d):
            return d
    return None


@dataclass(frozen=True)
class Coverage:
    """The part ``[start, end)`` (UTC) of date ``day`` a source declares it covers, and why."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime
    reason: str

    @property
    def share(self) -> float:
        """Covered fraction of the 24-hour date, 0 < share <= 1."""
        return (self.end - self.start).total_seconds() / 86400.0

    def describe(self) -> str:
        """``"00:00–16:00 UTC (67%)"``."""
        end = "24:00" if self.end.date() > self.day else f"{self.end:%H:%M}"
        return f"{self.start:%H:%M}–{end} UTC ({self.share:.0%})"


def coverage_path(landing_root: str | os.PathLike[str], day: dt.date) -> Path | str:
    """``<landing_root>/events/date=YYYY-MM-DD/_coverage.json`` (a ``Path``, or the URI under an
    object-store landing root)."""
    d = date_dir(str(landing_root), day)
    return d / LANDING_COVERAGE_FILE if isinstance(d, Path) else join(d, LANDING_COVERAGE_FILE)


def coverage_json(day: dt.date, start: dt.datetime, end: dt.datetime, reason: str) -> bytes:
    """The marker's bytes for the window ``[start, end)`` of ``day`` (aware datetimes).

    Raises:
        ValueError: a naive datetime, or a window that is empty or not inside ``day`` (UTC).
    """
    cov = _coverage(day, start, end, reason)
    body = {"start": cov.start.isoformat().replace("+00:00", "Z"), "end": cov.end.isoformat().replace("+00:00", "Z"),
            "reason": reason}
    return (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def read_coverage(landing_root: str | os.PathLike[str], day: dt.date) -> Coverage | None:
    """The declared coverage of ``day`` under ``landing_root``, or None (no marker: the whole day).

    Raises:
        ValueError: a marker that is not ``{"start", "end", "reason"}`` with a window inside ``day``
            (the message names the file).
    """
    path = coverage_path(landing_root, day)
    try:
        body = json.loads(read_bytes(str(path)).decode("utf-8"))
        start = dt.datetime.fromisoformat(str(body["start"]).replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(str(body["end"]).replace("Z", "+00:00"))
        return _coverage(day, start, end, str(body.get("reason", "")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a landing coverage marker ({exc})") from exc


def _coverage(day: dt.date, start: dt.datetime, end: dt.datetime, reason: str) -> Coverage:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("coverage start and end need a UTC offset")
    utc = dt.timezone.utc
    start, end = start.astimezone(utc), end.astimezone(utc)
    lo = dt.datetime.combine(day, dt.time(), tzinfo=utc)
    if not (lo <= start < end <= lo + dt.timedelta(days=1)):
        raise ValueError(f"coverage window {start.isoformat()}..{end.isoformat()} is not inside {day.isoformat()} (UTC)")
    return Coverage(day, start, end, reason)
