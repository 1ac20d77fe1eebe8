"""Import the real KuaiRand interaction log into landing files (landing contract v1).

Dataset
-------
KuaiRand — Chongming Gao, Shijun Li, Yuan Zhang, Jiawei Chen, Biao Li, Wenqiang Lei, Peng Jiang,
Xiangnan He: *KuaiRand: An Unbiased Sequential Recommendation Dataset with Randomly Exposed
Videos*, CIKM '22, pp. 3953-3957, https://doi.org/10.1145/3511808.3557624. Data licensed
**CC BY-SA 4.0** by its authors (github.com/chongminggao/KuaiRand, Zenodo record 10439422); the
landing files written here are derived from it, so share-alike applies if they are redistributed.

The file read is ``log_standard_4_08_to_4_21_27k_like_hate_kcore15.tsv`` (see
``shared/datasets/kuairand/SOURCE.md``): a third-party, TAB-separated, filtered extract of the
KuaiRand-27K standard log, 2022-04-07T15:44Z .. 2022-04-21T15:51Z, 41,828 rows. It keeps only
impressions the user liked or hated (``label`` = 1 liked, 0 hated), so it is heavily
selection-biased: there are no plain views.

Mapping (one source row → several events, all at the row's ``time_ms``)
-----------------------------------------------------------------------
=============  ==============================  ================================================
event_type     emitted when                    fields
=============  ==============================  ================================================
impression     every row                       event_id, event_type, event_time, user_id,
                                               video_id
play           every row                       the above + play_time_ms, video_duration_ms,
                                               kr_is_click, kr_long_view, kr_label,
                                               kr_comment_stay_time_ms, kr_is_profile_enter
like           ``label == 1``                  event_id, event_type, event_time, user_id,
                                               video_id
share          ``is_forward == 1``             same as like
comment        ``is_comment == 1``             same as like
follow         ``is_follow == 1``              event_id, event_type, event_time, user_id,
                                               video_id, creator_id
=============  ==============================  ================================================

- ``event_time``: ``time_ms`` as an integer of epoch milliseconds (UTC). The source's ``date`` /
  ``hourmin`` columns are China local time rounded to the hour and ``timestamp`` is a naive-UTC
  rendering of ``time_ms``; none of them is used.
- ``user_id`` = ``"kr_u<user_id>"``, ``video_id`` = ``"kr_v<video_id>"``.
- ``play_time_ms`` = ``play_time_ms``; ``video_duration_ms`` = ``duration_ms`` when > 0, else JSON
  ``null`` (the dataset's 0 means "unknown"; ``reelhouse.sources.contract`` allows null for ``play``).
- ``kr_*`` fields are KuaiRand-specific extras carried on the ``play`` event (the contract keeps
  unknown fields): ``kr_is_click`` (``is_click``), ``kr_long_view`` (``long_view``), ``kr_label``
  (``label``: 1 like, 0 hate), ``kr_comment_stay_time_ms`` (``comment_stay_time``, ms),
  ``kr_is_profile_enter`` (``is_profile_enter``). All integers.
- **Surrogate creator.** ``follow`` needs ``creator_id`` but the log has no author column, and its
  video ids are not in the id space of the KuaiRand-Pure video table (which has ``author_id``), so
  no real author can be joined. Each video gets its own surrogate creator
  ``"kr_creator_of_v<video_id>"``: follows of the same video count toward the same creator, and
  follows of different videos never merge. The ``follow`` event also keeps the ``video_id`` it
  happened on (the contract does not require it for ``follow`` but allows it).
- No field the source lacks is invented (no ``platform``, ``region``, ``app_version``...).
- ``event_id`` = ``"kr-<user_id>-<video_id>-<time_ms>-<event_type>"`` (raw source ids): stable
  across imports. The extract holds 124 repeated (user_id, video_id, time_ms) rows (identical in
  every field used here); they are **not** dropped: they yield repeated lines with the same
  event_ids, exactly like an at-least-once redelivery, and the ingest deduplicates them.

Coverage: the log is exported by whole China-local days (UTC+08:00, 04-08..04-21), so its first
and last UTC dates are partial by construction (2022-04-07 from 15:00 UTC, 2022-04-21 until 16:00
UTC). For such a date the import writes the landing contract's coverage marker
``events/date=YYYY-MM-DD/_coverage.json`` (``reelhouse.sources.contract.LANDING_COVERAGE_FILE``) with the
covered window, so the quality gate expects that share of a day's volume, not a whole day's.

Layout: ``<landing_root>/events/date=YYYY-MM-DD/hour=HH/kuairand-log.jsonl``, date and hour of
``time_ms`` in UTC (matches ``contract.LANDING_FILE_PATTERN``). Lines are sorted by (time_ms,
user_id, video_id, event-type order of ``contract.EVENT_TYPES``, line text), so output does not
depend on the row order of the source. Each file is written atomically (a dot-named ``.tmp`` file in
the same folder, then ``os.replace``); a file whose bytes are already identical is left untouched,
so a second import changes nothing.

Command line: ``python -m reelhouse.sources.importers.kuairand SOURCE LANDING_ROOT [--date YYYY-MM-DD ...]``
prints the :class:`ImportSummary` as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from reelhouse.sources import contract, landing

#: Name of the extract inside ``shared/datasets/kuairand/``; used when ``path`` is a folder.
SOURCE_FILE_NAME = "log_standard_4_08_to_4_21_27k_like_hate_kcore15.tsv"
#: Name of the landing file written in every ``date=/hour=`` folder.
LANDING_FILE_NAME = "kuairand-log.jsonl"

USER_PREFIX = "kr_u"
VIDEO_PREFIX = "kr_v"
CREATOR_PREFIX = "kr_creator_of_v"
EVENT_ID_PREFIX = "kr"

#: Source columns the importer reads; all must hold integers without gaps.
REQUIRED_COLUMNS: tuple[str, ...] = (
    "user_id",
    "video_id",
    "time_ms",
    "is_click",
    "is_follow",
    "is_comment",
    "is_forward",
    "long_view",
    "play_time_ms",
    "duration_ms",
    "comment_stay_time",
    "is_profile_enter",
    "label",
)

#: Event types this importer can emit (``publish`` never: the log has no uploads).
IMPORTED_EVENT_TYPES: tuple[str, ...] = ("impression", "play", "like", "share", "comment", "follow")

_MS_PER_HOUR = 3_600_000
_MS_PER_DAY = 86_400_000
_EPOCH = dt.date(1970, 1, 1)
#: The source's local day boundary: KuaiRand's ``date`` column counts China-local days (UTC+08:00).
SOURCE_TZ = dt.timezone(dt.timedelta(hours=8))
_MS_SOURCE_OFFSET = 8 * _MS_PER_HOUR


@dataclass(frozen=True)
class ImportSummary:
    """What one :func:`import_kuairand` call read and wrote.

    Attributes:
        source: the TSV file read (absolute path).
        landing_root: the landing root written under (absolute path).
        rows_read: data rows in the source file.
        rows_selected: rows inside the ``dates`` filter (= ``rows_read`` without a filter).
        distinct_rows: distinct (user_id, video_id, time_ms) among the selected rows; equals the
            number of distinct ``play`` event_ids.
        events_by_type: lines written per event type, repeated rows included, in contract order.
        files: every landing file of this import, relative to ``landing_root``, sorted.
        files_written: files created or replaced by this call.
        files_unchanged: files that already had identical bytes and were left untouched.
        dates: the UTC dates covered, sorted.
        coverage: the partial UTC dates among ``dates`` and the window each covers
            (``"16:00–24:00 UTC (33 %)"``); a coverage marker was written for each.
    """

    source: str
    landing_root: str
    rows_read: int
    rows_selected: int
    distinct_rows: int
    events_by_type: dict[str, int]
    files: tuple[str, ...]
    files_written: int
    files_unchanged: int
    dates: list[dt.date] = field(default_factory=list)
    coverage: dict[dt.date, str] = field(default_factory=dict)

    @property
    def events_total(self) -> int:
        """All lines written, over every event type."""
        return sum(self.events_by_type.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the summary (dates as ``YYYY-MM-DD`` strings)."""
        return {
            "source": self.source,
            "landing_root": self.landing_root,
            "rows_read": self.rows_read,
            "rows_selected": self.rows_selected,
            "distinct_rows": self.distinct_rows,
            "events_by_type": dict(self.events_by_type),
            "events_total": self.events_total,
            "files": list(self.files),
            "files_written": self.files_written,
            "files_unchanged": self.files_unchanged,
            "dates": [d.isoformat() for d in self.dates],
            "coverage": {d.isoformat(): c for d, c in sorted(self.coverage.items())},
        }


def resolve_source(path: str | os.PathLike[str]) -> Path:
    """Return the TSV file for ``path``: the file itself, or :data:`SOURCE_FILE_NAME` in a folder.

    Raises:
        FileNotFoundError: ``path`` does not exist, or is a folder without :data:`SOURCE_FILE_NAME`;
            the message names the path looked for.
    """
    p = Path(path)
    if p.is_dir():
        candidate = p / SOURCE_FILE_NAME
        if not candidate.is_file():
            raise FileNotFoundError(
                f"KuaiRand log not found: {candidate} (folder {p} has no {SOURCE_FILE_NAME})"
            )
        return candidate.resolve()
    if not p.is_file():
        raise FileNotFoundError(f"KuaiRand log not found: {p}")
    return p.resolve()


def read_kuairand_log(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the TAB-separated KuaiRand log into a DataFrame of :data:`REQUIRED_COLUMNS` (int64).

    Other columns (``date``, ``hourmin``, ``timestamp``) are not read.

    Raises:
        FileNotFoundError: see :func:`resolve_source`.
        ValueError: required columns are missing (all of them are named), or a required column
            holds an empty or non-integer value (the column and the first bad data row are named).
    """
    src = resolve_source(path)
    header = pd.read_csv(src, sep="\t", nrows=0).columns
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        hint = ""
        if len(header) == 1 and "," in str(header[0]):
            hint = " (the header has one column containing commas: the file must be TAB-separated)"
        raise ValueError(f"{src}: missing required column(s) {', '.join(missing)}{hint}")
    df = pd.read_csv(src, sep="\t", usecols=list(REQUIRED_COLUMNS))
    for col in REQUIRED_COLUMNS:
        s = df[col]
        if pd.api.types.is_integer_dtype(s.dtype):
            continue
        num = pd.to_numeric(s, errors="coerce")
        bad = num.isna() | (num != np.floor(num))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{src}: column {col!r} must hold integers; data row {i + 1} has {s.iloc[i]!r}"
            )
        df[col] = num.astype("int64")
    return df[list(REQUIRED_COLUMNS)].astype("int64")


def import_kuairand(
    path: str | os.PathLike[str],
    landing_root: str | os.PathLike[str],
    *,
    dates: Iterable[dt.date] | None = None,
    file_name: str = LANDING_FILE_NAME,
) -> ImportSummary:
    """Turn the KuaiRand log into landing files under ``landing_root`` (landing contract v1).

    Args:
        path: the TSV extract, or the folder holding :data:`SOURCE_FILE_NAME`.
        landing_root: the landing root; files go to
            ``<landing_root>/events/date=YYYY-MM-DD/hour=HH/<file_name>`` (UTC date/hour of
            ``time_ms``). Folders are created as needed.
        dates: only import rows whose ``time_ms`` falls on these UTC dates (e.g. to land one day
            at a time); ``None`` imports everything.
        file_name: landing file name in each hour folder; must end in ``.jsonl``.

    Output: one JSON object per line, UTF-8, ``\\n``-terminated. Every line has ``event_id``
    (string), ``event_type``, ``event_time`` (integer epoch **milliseconds**, UTC), ``user_id``
    (``"kr_u<id>"``) and ``video_id`` (``"kr_v<id>"``). ``play`` adds ``play_time_ms`` (integer ms
    ≥ 0), ``video_duration_ms`` (integer ms > 0, or ``null`` when the source says 0 = unknown) and
    the integer extras ``kr_is_click``, ``kr_long_view``, ``kr_label``,
    ``kr_comment_stay_time_ms`` (ms), ``kr_is_profile_enter``. ``follow`` adds ``creator_id``
    (surrogate ``"kr_creator_of_v<video_id>"``). See the module docstring for the full mapping.

    Idempotent: a second call with the same inputs leaves every file byte-identical and untouched
    (``files_written == 0``). Files of hours not produced by this call are never removed.

    Returns:
        an :class:`ImportSummary`.

    Raises:
        FileNotFoundError: the source file (or the expected file in the folder) does not exist.
        ValueError: missing or non-integer required columns (see :func:`read_kuairand_log`), or a
            ``file_name`` that does not end in ``.jsonl`` / contains a path separator.
    """
    if not file_name.endswith(".jsonl") or "/" in file_name or os.sep in file_name:
        raise ValueError(f"file_name must be a plain name ending in .jsonl, got {file_name!r}")
    src = resolve_source(path)
    root = Path(landing_root).resolve()
    df = read_kuairand_log(src)
    rows_read = len(df)
    window = source_window(df["time_ms"]) if rows_read else None

    if dates is not None:
        wanted = np.array(sorted({(d - _EPOCH).days for d in dates}), dtype="int64")
        df = df[np.isin(df["time_ms"].to_numpy() // _MS_PER_DAY, wanted)]
    df = df.reset_index(drop=True)
    rows_selected = len(df)
    distinct_rows = int((~df.duplicated(["user_id", "video_id", "time_ms"])).sum())

    events = _build_event_lines(df)
    events_by_type = {t: int((events["event_type"] == t).sum()) for t in IMPORTED_EVENT_TYPES}

    files: list[str] = []
    written = unchanged = 0
    covered: set[dt.date] = set()
    if len(events):
        events = events.sort_values(
            ["time_ms", "user_id", "video_id", "type_rank", "line"], kind="stable"
        )
        hour_bucket = events["time_ms"].to_numpy() // _MS_PER_HOUR
        # rows are sorted by time_ms, so each hour bucket is one contiguous slice
        starts = np.flatnonzero(np.r_[True, hour_bucket[1:] != hour_bucket[:-1]])
        ends = np.r_[starts[1:], len(hour_bucket)]
        lines = events["line"].to_numpy()
        for start, end in zip(starts, ends):
            hour_start = dt.datetime.fromtimestamp(
                int(hour_bucket[start]) * 3600, tz=dt.timezone.utc
            )
            rel = (
                f"{contract.LANDING_EVENTS_DIR}/date={hour_start:%Y-%m-%d}/"
                f"hour={hour_start:%H}/{file_name}"
            )
            data = ("\n".join(lines[start:end]) + "\n").encode("utf-8")
            if _write_atomic(root / rel, data):
                written += 1
            else:
                unchanged += 1
            files.append(rel)
            covered.add(hour_start.date())

    coverage: dict[dt.date, str] = {}
    for day in sorted(covered):
        lo = dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)
        start, end = max(lo, window[0]), min(lo + dt.timedelta(days=1), window[1])
        if (start, end) == (lo, lo + dt.timedelta(days=1)):
            continue
        reason = ("KuaiRand is exported by whole China-local days (UTC+08:00): "
                  f"{window[0].astimezone(SOURCE_TZ):%Y-%m-%d %H:%M%z} .. {window[1].astimezone(SOURCE_TZ):%Y-%m-%d %H:%M%z}")
        _write_atomic(landing.coverage_path(root, day), landing.coverage_json(day, start, end, reason))
        coverage[day] = landing.read_coverage(root, day).describe()

    return ImportSummary(
        source=str(src),
        landing_root=str(root),
        rows_read=rows_read,
        rows_selected=rows_selected,
        distinct_rows=distinct_rows,
        events_by_type=events_by_type,
        files=tuple(sorted(files)),
        files_written=written,
        files_unchanged=unchanged,
        dates=sorted(covered),
        coverage=coverage,
    )


def source_window(time_ms: pd.Series) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` (aware UTC datetimes) the export covers. The log holds whole China-local
    days (:data:`SOURCE_TZ`; its ``date`` column runs 20220408..20220421), so the window runs from
    the local midnight nearest the first ``time_ms`` to the one nearest the last, widened to the
    hours of any event outside it (the extract's first rows are at 23:44 local the day before,
    which the source's rounded ``hourmin`` files under 04-08)."""
    first, last = int(time_ms.min()), int(time_ms.max())

    def nearest_midnight(ms: int) -> int:
        return (ms + _MS_SOURCE_OFFSET + _MS_PER_DAY // 2) // _MS_PER_DAY * _MS_PER_DAY - _MS_SOURCE_OFFSET

    lo = min(nearest_midnight(first), first // _MS_PER_HOUR * _MS_PER_HOUR)
    hi = max(nearest_midnight(last), (last // _MS_PER_HOUR + 1) * _MS_PER_HOUR)
    utc = dt.timezone.utc
    return dt.datetime.fromtimestamp(lo / 1000, tz=utc), dt.datetime.fromtimestamp(hi / 1000, tz=utc)


def _build_event_lines(df: pd.DataFrame) -> pd.DataFrame:
    """One row per event: ``time_ms``, ``user_id``, ``video_id`` (raw ints, for sorting),
    ``type_rank``, ``event_type`` and the serialised JSON ``line``.

    Lines are built by vectorised string concatenation. That is safe without JSON escaping because
    every interpolated value is a decimal integer or a fixed ASCII prefix plus an integer.
    """
    uid = df["user_id"].astype(str)
    vid = df["video_id"].astype(str)
    tms = df["time_ms"].astype(str)
    id_stem = f'{{"event_id":"{EVENT_ID_PREFIX}-' + uid + "-" + vid + "-" + tms + "-"
    time_user = '","event_time":' + tms + f',"user_id":"{USER_PREFIX}' + uid + '"'
    video = f',"video_id":"{VIDEO_PREFIX}' + vid + '"'

    def base(event_type: str) -> pd.Series:
        return id_stem + event_type + f'","event_type":"{event_type}' + time_user + video

    duration = df["duration_ms"]
    duration_json = duration.astype(str).where(duration > 0, "null")
    play_extra = (
        ',"play_time_ms":' + df["play_time_ms"].astype(str)
        + ',"video_duration_ms":' + duration_json
        + ',"kr_is_click":' + df["is_click"].astype(str)
        + ',"kr_long_view":' + df["long_view"].astype(str)
        + ',"kr_label":' + df["label"].astype(str)
        + ',"kr_comment_stay_time_ms":' + df["comment_stay_time"].astype(str)
        + ',"kr_is_profile_enter":' + df["is_profile_enter"].astype(str)
    )
    follow_extra = f',"creator_id":"{CREATOR_PREFIX}' + vid + '"'

    everyone = pd.Series(True, index=df.index)
    specs: list[tuple[str, pd.Series, pd.Series | str]] = [
        ("impression", everyone, ""),
        ("play", everyone, play_extra),
        ("like", df["label"] == 1, ""),
        ("share", df["is_forward"] == 1, ""),
        ("comment", df["is_comment"] == 1, ""),
        ("follow", df["is_follow"] == 1, follow_extra),
    ]
    parts = []
    for event_type, mask, extra in specs:
        line = base(event_type) + extra + "}"
        part = df.loc[mask, ["time_ms", "user_id", "video_id"]].copy()
        part["type_rank"] = contract.EVENT_TYPES.index(event_type)
        part["event_type"] = event_type
        part["line"] = line[mask]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _write_atomic(target: Path, data: bytes) -> bool:
    """Write ``data`` to ``target`` atomically; return False (and touch nothing) when ``target``
    already holds exactly these bytes.

    The temporary file is dot-named and ends in ``.tmp`` in the target's folder, so a concurrent
    landing scan (``*.jsonl``) never sees a half-written file.
    """
    try:
        if target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: import the log and print the summary as JSON. Returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m reelhouse.sources.importers.kuairand",
        description="Import the KuaiRand log into landing files (landing contract v1).",
    )
    parser.add_argument("source", help="the KuaiRand TSV, or the folder holding it")
    parser.add_argument("landing_root", help="landing root (events/date=.../hour=... go under it)")
    parser.add_argument(
        "--date",
        action="append",
        type=dt.date.fromisoformat,
        dest="dates",
        help="only this UTC date (YYYY-MM-DD); repeatable",
    )
    args = parser.parse_args(argv)
    try:
        summary = import_kuairand(args.source, args.landing_root, dates=args.dates)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
