"""The landing zone: finding a date's files and checking that they can be read.

Layout (landing contract v1): ``<landing>/events/date=YYYY-MM-DD/hour=HH/*.jsonl[.gz]``. ``date`` and
``hour`` are the collector's arrival date and hour in UTC.
"""

from __future__ import annotations

import gzip
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reelhouse.contract import LANDING_EVENTS_DIR, LANDING_FILE_PATTERN


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
        return self.error is None


def date_dir(landing_root: str, landing_date: date) -> Path:
    """Folder of one landing date."""
    return Path(landing_root) / LANDING_EVENTS_DIR / f"date={landing_date.isoformat()}"


def _check(path: str) -> str | None:
    """Return why a file cannot be read, or None. A ``.gz`` file is decompressed to its end (a
    garbled or truncated gzip fails here, not half-way through a Spark job)."""
    if not path.endswith(".gz"):
        return None
    try:
        with gzip.open(path, "rb") as fh:
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
    root = Path(landing_root)
    base = date_dir(landing_root, landing_date)
    if not base.is_dir():
        return []
    found: list[tuple[str, str, int]] = []
    for dirpath, _dirs, files in os.walk(base):
        for name in files:
            if name.startswith((".", "_")):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if LANDING_FILE_PATTERN.search(rel):
                found.append((full, rel, os.path.getsize(full)))
    found.sort(key=lambda t: t[1])
    if not check:
        return [LandingFile(p, r, s) for p, r, s in found]
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2))) as pool:
        errors = list(pool.map(_check, [p for p, _, _ in found]))
    return [LandingFile(p, r, s, e) for (p, r, s), e in zip(found, errors)]


def landing_dates(landing_root: str) -> list[date]:
    """Every date that has a landing folder, sorted."""
    base = Path(landing_root) / LANDING_EVENTS_DIR
    if not base.is_dir():
        return []
    out = []
    for p in base.iterdir():
        if p.is_dir() and p.name.startswith("date="):
            try:
                out.append(date.fromisoformat(p.name[5:]))
            except ValueError:
                continue
    return sorted(out)
