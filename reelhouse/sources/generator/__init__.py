"""Synthetic interaction-event generator: the embedded default data source and the benchmark source.

:func:`generate` writes landing files exactly as the event collector would (landing contract v1,
see :mod:`reelhouse.sources.contract`) plus a ground-truth file that later steps are tested against:

* ``<landing_root>/events/date=YYYY-MM-DD/hour=HH/part-NNNNN.jsonl.gz`` (``.jsonl`` with
  ``compress=False``): one JSON object per line; ``date``/``hour`` are the collector's **arrival**
  date/hour in UTC.
* ``<landing_root>/_ground_truth/generation.json``: what was planted (trends, steady tag, spam
  burst), what is broken (bad lines by reason code, corrupt files, duplicates, redeliveries, late
  events) and the per-date totals, so ingest, dedup, trend detection, features and the ranking model
  can be checked against known answers. ``users.csv.gz`` and ``videos.csv.gz`` beside it hold the
  latent attributes (home region, preferred categories, video category, role) that the events
  themselves do not carry.

Everything is deterministic for a seed: no wall clock in any content, gzip ``mtime=0``, every file
written atomically (temp name in the same folder, then :func:`os.replace`), so re-running with the
same arguments leaves byte-identical files.

Modules: :mod:`.calibration` (vocabulary and calibration loaders, dataset paths), :mod:`.world`
(users, creators, videos, planted pools, :func:`trend_multiplier`), :mod:`.sampling` (hourly
impressions and outcomes), :mod:`.defects` (bad lines by reason code, late events, redelivered
and corrupt files), :mod:`.encoding` (event_time values, JSON lines), :mod:`.writer` (the
day/hour run loop, file encoding, atomic writes; it returns an ``Emission``: every event and line
it wrote), :mod:`.truth` (the ground truth, derived from that emission — not tallied in parallel
— so it always equals a recount of the landing files), :mod:`.params` (checked arguments, shared
constants).

The simulated world
-------------------
*Users* have a home region (ISO 3166-1 alpha-2, skewed weights, fixed standard-time UTC offset, DST
ignored), a platform (android/ios/web) and app version, a log-normal activity level, a daily
probability of being active (so daily actives < weekly actives) and STABLE category preferences
drawn once from a Dirichlet over the ~28 content categories (concentration proportional to the
category's catalogue share, total concentration 5, so most users have one to three favourite
categories). *Creators* are a subset of users with a main category (80 % of their uploads).
*Videos* have a category, a duration, a sound, a caption and hashtags.

Per UTC hour the number of interaction events follows the population's diurnal cycle: each user's
weight in an hour is ``activity × active-today × diurnal[local hour]``, so regions peak at their own
evening. Each *impression* picks an active user by that weight and a published video: with
probability 0.5 from the user's own category preference, otherwise from the global popularity (both
Zipf-weighted, see below). An impression expands into ``impression`` → ``play`` (probability 0.92;
``play_time_ms`` = watch ratio × duration, loops allowed so it can exceed the duration) → maybe
``like``, ``comment``, ``share``, ``follow`` (``follow`` carries ``creator_id`` and, 70 % of the time,
the ``video_id`` it was triggered from). The user's affinity for the video's category
(``z = standardised log(C · pref[user, category])``) shifts the watch-ratio quantile through a
Gaussian copula (ρ = 0.7) and enters the like logit, so completion and like rates are clearly
higher on preferred categories (measured on 7 × 200k events: plays of the user's top category
complete 62 % of the time vs 33 % for other plays, and are liked at 4.4 % vs 1.9 % of impressions)
while the population's watch-ratio distribution stays close to the real one. This is the signal a
ranking model can learn.

Calibration and sources
-----------------------
* **Hashtag vocabulary and categories** — KuaiRec 2.0 (Gao et al., CIKM'22, CC BY-SA 4.0)
  ``kuairec_caption_category.csv``, read at run time (``tags_path``): ``topic_tag`` lists (6,041
  distinct tags after contract normalisation), ``first_level_category_name`` (the 28 largest
  categories by tagged videos, ``其他`` = other among them, the rest folded into it), the per-category tag
  frequencies (a new video's tags are drawn from its category's tag frequencies, so tags carry the
  category signal), the number-of-tags distribution (43 % of videos have none) and the captions of
  the category (real text, including inline ``#tags`` and bare ``\\r``, so JSON escaping is
  exercised). A tiny synthetic supplement of emoji tags (``🔥`` ``😂`` ``❤️`` …, 2 % of videos) is added
  because KuaiRec has none. Tags are typed with variations that the contract's normalisation must
  undo: with/without ``#``, full-width ``＃``, upper/title case and full-width letters for Latin tags.
  Output derived from these files inherits CC BY-SA 4.0.
* **Watch ratio, durations, engagement, diurnal cycle** — KuaiRand-27K log extract
  (Gao et al., CIKM'22, CC BY-SA 4.0) ``log_standard_4_08_to_4_21_27k_like_hate_kcore15.tsv``, read at
  run time (``kuairand_path``), never copied:

  - watch ratio ``play_time_ms / duration_ms`` (rows with ``duration_ms > 0``): empirical quantile
    function (201 points) per duration quartile (edges ≈ 9.9 s, 16.8 s, 46.9 s; shorter videos are
    watched — and looped — more), median ≈ 0.80, mean ≈ 0.89, 38 % ≥ 1, capped at 8 loops.
    Long view is taken as ``play_time ≥ min(duration, 18 s)``, a rule that reproduces KuaiRand's
    ``long_view`` flag on 98.5 % of its rows.
  - video duration: log-normal fitted to ``log(duration_ms)`` (μ ≈ 10.05, σ ≈ 1.05, i.e. median
    ≈ 23 s), truncated to 5 s – 3 min (re-drawn outside).
  - share of plays whose client does not know the duration (``video_duration_ms: null``, the
    contract's nullable case): the extract's share of ``duration_ms == 0`` rows, 18.5 %.
  - comment / share (``is_forward``) / follow rates: taken *conditional on like* from the extract's
    liked rows (``label == 1``: 3.5 %, 0.63 %, 0.90 %) and, for non-liked plays, from its hated rows
    (``label == 0``: 0.75 %, 1.4 %, 0.01 %) deflated ×0.5, because ordinary non-liked views engage
    less than explicitly hated ones. Comment/share also scale mildly with affinity.
  - diurnal cycle: the extract's hour-of-day histogram of ``time_ms`` (UTC) shifted to China
    Standard Time (+8 h) is used as the *local-time* activity curve of every region.

  Measured on the output (7 days × 200k events, seed 3): watch-ratio median 0.84, mean 0.81 (the
  extract's mean 0.89 includes loops beyond the 8× cap and videos longer than 3 min), 38.5 % of
  plays ≥ the duration (extract: 38 %), long-view share 55 % (extract 46 %; shorter videos here),
  per impression: play 92 %, like 3.0 %, share 0.9 %, comment 0.6 %, follow 0.1 %.

  **Deviation:** the extract keeps only liked or hated impressions (80.7 % liked), so its like rate
  is useless; the generated like rate is a realistic ≈ 3.3 % of plays (logistic in affinity and
  watch engagement). Follows on non-liked plays use 0.1 × the liked rate instead of the hated
  rows' near-zero rate. Its ``is_click`` (0.66) reflects a double-column feed; this generator models an
  autoplay feed where 92 % of impressions start playing.
* **Popularity** — Zipf–Mandelbrot over catalogue ranks, weight ∝ (rank + 5)^-0.9 (heavy-tailed
  views per video as measured for user-generated video by Cha et al., "I Tube, You Tube, Everybody
  Tubes", IMC 2007). New uploads enter the long tail (rank uniform over the lower 70 % of the
  catalogue's ranks); only the planted trending videos break out.
* Regions, platforms, app versions, the play probability, the emoji supplement and the planted
  effects are illustrative constants, not calibrated.

When a dataset file is absent the generator falls back to built-in constants (derived once from the
same files: 21-point watch-ratio quantiles, the diurnal curve, the rates above) and a small built-in
vocabulary; ``ground_truth["sources"]`` says which was used.

Planted effects (all listed in the ground truth)
------------------------------------------------
* **Trending hashtags** (default 12, normalised tags from the vocabulary, ≥ 3 with Latin letters so
  case/full-width normalisation matters): each has its own pool of videos and gets a share of the
  hour's impressions ``base_share × m(t)``, ``m(t) = 1 + (M − 1) · rise(t) · decay(t)`` with ``t`` in
  days since the trend's start (00:00 UTC), ``rise = logistic((t − 1.3) / 0.35)``,
  ``decay = exp(−max(0, t − 3) / 1.5)``, peak multiplier ``M`` in [8, 16]; ``m = 1`` before the start.
  All trends start together (default: day index ``max(2, 3·days // 7)``, i.e. the 4th day of a
  7-day run) and peak two days later; the daily mean multiplier is ``1 + f·(M − 1)`` with
  f = 0.12, 0.62, 0.96, 0.73, 0.38 on the start day and the four days after (M = 12: ×2.3, ×7.8,
  ×11.5, ×9.0, ×5.1). Creators join: the pool gets new videos each day ∝ √m. Impressions
  come from ordinary users drawn by activity, so distinct users rise with the curve.
* **Trending videos** (default 5): single catalogue videos with the same curve shape (``M`` in
  [12, 30]), starts staggered by 0/1 day; they carry only high-volume generic tags.
* **Steady hashtag**: a popular tag with a flat 4 % of impressions every hour — high volume, must not
  trend.
* **Spam burst**: on the trend peak day a few new accounts (default 5) publish videos tagged with one
  hashtag and then generate 4 % of that day's events on them (bots: flat over the hours, short
  plays, likes, shares, comments) — big in raw counts, tiny in distinct users (the accounts plus a
  handful of organic viewers).

Check (7 days × 200k and × 150k events, seeds 3 and 5): a plain detector — distinct users with a
play/like/comment/share on a tag's videos today vs the mean of the trailing ≤ 7 days, score
``(today + k) / (baseline + k)`` for k ∈ {5, 10, 20}, with or without a 30-user minimum — puts 10
planted tags in its top 10 on the peak day and on start + 1 (3-10 of 10 already on the start day);
the spam tag (≈ 9 distinct users, 6-8k events) and the steady tag never enter it. The ground truth
carries each planted tag's daily distinct engaged users so a detector's test need not recount.

Delivery defects
----------------
``bad_fraction`` of the lines break the contract in exactly ONE way each, cycling over every reason
code except ``corrupt_file`` (counts per code differ by at most one). Variants: truncated lines,
Python-repr lines with single quotes (note: Spark's JSON reader accepts those unless
``allowSingleQuotes=false``), trailing commas, HTML error pages, white-space-only lines; arrays,
numbers, strings, ``null``; absent or null required fields; strings/floats/booleans for integers,
numbers for ids, a string or a non-string element for ``hashtags``; unknown types (``view``,
``Play`` …); event_time without offset, as a date, a digit string, ``2024-02-30``…; event_time ≥ 60 s
past hour end + tolerance; negative play time; zero/negative duration; ``corrupt_files`` adds garbled
``.jsonl.gz`` files (valid gzip header, a deflate block of reserved type, garbage);
``duplicate_fraction`` of events reappear verbatim in another file of the same or the next hour
(possibly across midnight); ``redelivered_files`` whole files are copied again as
``part-NNNNN-redelivery.jsonl.gz``; ``late_fraction`` of the events arriving on day ≥ 1 carry an
event_time on an earlier date (≥ 1 h before the arrival midnight, never before ``start``, always
after the video's publish). About 0.5 % of lines carry unknown extra fields (kept by the contract).

event_time encodings: RFC 3339 UTC (``…T12:34:56.789Z``), RFC 3339 in the user's local offset
(``…T20:34:56.789+08:00``, ``+05:30``, ``+00:00`` …; the same instant) and integer epoch milliseconds,
mixed by platform (ios mostly ``Z``, android mostly local offsets, web mostly epoch ms).

Event ids are ``e-<seed>-<YYYYMMDD>-<n hex>`` with ``n`` counting the lines of the arrival date
(``id_style="short"``, the default; see below for ``"uuid"``).

Source shapes (imitating real sources)
--------------------------------------
By default the output has the shape above: a mature product observed from 00:00 UTC of ``start``,
its whole pre-existing catalogue published in the first minute, full client fields, short ids and
mixed time encodings. Real logs differ, and the quality gate must be calibrated on them, so five
keyword options of :func:`generate` reshape the output (each default leaves every byte unchanged;
a non-default run records them in ``parameters.source_shape`` of the ground truth, with the go-live
time and hour):

* ``first_day_share`` (in (0, 1], default 1): the collector went live during day 0. The go-live
  hour is the latest UTC hour ``h`` whose remaining expected activity (the population's diurnal
  curve over hours ``h..23``) is still ≥ the share — 0.3 gives 14:00 UTC (22:00 in China) — so the
  hourly rates of the live hours stay natural; day 0 then holds ``round(share × events_per_day)``
  events (exact when that exceeds day 0's publish events), all at or after the go-live time: no
  file, no event, no late event and no publish before it. The launch window (see catalogue) is the
  go-live hour's first minute.
* ``catalogue`` (``"preloaded"`` | ``"growing"``): ``"preloaded"`` publishes every pre-existing
  catalogue video in the go-live window (day 0 then carries one ``publish`` per catalogue video,
  ~5 % of ``events_per_day``). ``"growing"`` imitates a young product whose videos appear over
  time: 5 % of the catalogue (at least one video) is launch content in the go-live window, the
  rest is published over the run's days with daily counts growing linearly (day ``d`` weight
  ``d + 1``) at diurnal-weighted hours, on top of the ordinary daily uploads; the planted trend
  pools' pre-existing videos and the trending videos are spread over the days before their trend
  start. Videos are only sampled once published (from the next hour on), so no event refers to a
  video before its ``publish`` event's time, and the number of videos grows day by day.
* ``client_fields`` (``"full"`` | ``"no_platform"`` | ``"none"``): ``"full"`` writes ``region``,
  ``platform`` and ``app_version`` (each missing on a few % of lines, as today); ``"no_platform"``
  never writes ``platform``/``app_version`` (KuaiRand-like sources have no client information);
  ``"none"`` also drops ``region``. Absent keys, never ``null`` (they are optional in the
  contract). The latent users table keeps every attribute.
* ``id_style`` (``"short"`` | ``"uuid"``): ``"uuid"`` makes user (and so creator), video and
  event ids 36–40-character strings as real logs have them: 80 % RFC 4122 version-4 UUID text
  (36), 10 % ``kr-`` + UUID (39), 10 % 40 hex digits; derived by BLAKE2b from (seed, kind, index),
  so deterministic per seed and unique. The ground-truth files use the same ids.
* ``time_encoding`` (``"mixed"`` | ``"offset"``): ``"offset"`` writes every ``event_time`` (also
  the planted bad lines' times) as RFC 3339 in the actor's local offset (``+08:00``, ``+05:30``,
  ``+00:00`` …; never ``Z``, never epoch milliseconds), as a source whose clients log local time.

The combination that imitates a young real source (KuaiRand-like logs a few days after launch):
``first_day_share=0.3, catalogue="growing", client_fields="no_platform", id_style="uuid",
time_encoding="offset"``. Chinese and emoji hashtags are unaffected by any option.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reelhouse.sources.generator.calibration import (
    BUILTIN,
    DEFAULT_KUAIRAND_PATH,
    DEFAULT_TAGS_PATH,
    cached,
    load_calibration,
    load_vocabulary,
    resolve_dataset,
)
from reelhouse.sources.generator.params import (
    CATALOGUE_MODES,
    CLIENT_FIELD_MODES,
    ID_STYLES,
    TIME_ENCODINGS,
    Params,
)
from reelhouse.sources.generator.truth import (
    GROUND_TRUTH_DIR,
    GROUND_TRUTH_FILE,
    derive_ground_truth,
    write_ground_truth,
)
from reelhouse.sources.generator.world import World, trend_multiplier
from reelhouse.sources.generator.writer import Run

__all__ = [
    "BUILTIN",
    "DEFAULT_KUAIRAND_PATH",
    "DEFAULT_TAGS_PATH",
    "GROUND_TRUTH_DIR",
    "GROUND_TRUTH_FILE",
    "GenerationSummary",
    "generate",
    "trend_multiplier",
]


@dataclass
class GenerationSummary:
    """What :func:`generate` wrote.

    ``events_per_date``: valid distinct events per arrival date (folder ``date=``);
    ``lines_per_date``: all lines in that date's files (valid + duplicate copies + bad, including
    redelivered files; corrupt files are not counted as lines); ``bad_lines_by_reason``: bad lines
    per contract reason code (including copies inside redelivered files); ``duplicates``: duplicate
    lines (planted copies + valid lines of redelivered files); ``late_events``: valid distinct events
    whose event_time date is earlier than their arrival date; ``seconds``: wall time;
    ``events_per_second``: valid distinct events / seconds.
    """

    landing_root: str
    files_written: int
    events_total: int
    lines_total: int
    events_per_date: dict[str, int]
    lines_per_date: dict[str, int]
    bad_lines_by_reason: dict[str, int]
    duplicates: int
    late_events: int
    redelivered_files: list[str]
    corrupt_files: list[str]
    ground_truth_path: str
    seconds: float
    events_per_second: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of all fields."""
        return asdict(self)


def _check_fraction(name: str, v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 <= float(v) < 1.0):
        raise ValueError(f"{name} must be a number in [0, 1), got {v!r}")
    return float(v)


def _check_int(name: str, v: int, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _check_share(name: str, v: float) -> float:
    if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v))
            or not (0.0 < float(v) <= 1.0)):
        raise ValueError(f"{name} must be a number in (0, 1], got {v!r}")
    return float(v)


def _check_choice(name: str, v: str, choices: tuple[str, ...]) -> str:
    if not isinstance(v, str) or v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {v!r}")
    return v


def _generate_to_object_store(uri: str, args: dict) -> "GenerationSummary":
    """:func:`generate` into a temporary local folder, then every file uploaded under ``uri`` (an
    ``s3a://`` landing zone) as a collector would; the summary's paths name the URI."""
    import dataclasses
    import shutil
    import tempfile

    from reelhouse.objectstore import join, upload_dir

    tmp = tempfile.mkdtemp(prefix="reelhouse-landing-")
    try:
        import inspect

        kwargs = {k: args[k] for k in inspect.signature(generate).parameters if k != "landing_root"}
        summary = generate(tmp, **kwargs)
        upload_dir(tmp, uri)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rel = os.path.relpath(summary.ground_truth_path, tmp).replace(os.sep, "/")
    return dataclasses.replace(summary, landing_root=uri, ground_truth_path=join(uri, rel))


def generate(
    landing_root: str | os.PathLike,
    *,
    start: _dt.date,
    days: int,
    events_per_day: int,
    seed: int = 0,
    bad_fraction: float = 0.002,
    duplicate_fraction: float = 0.01,
    redelivered_files: int = 1,
    late_fraction: float = 0.01,
    corrupt_files: int = 0,
    compress: bool = True,
    future_tolerance_seconds: int = 3600,
    tags_path: str | os.PathLike | None = None,
    kuairand_path: str | os.PathLike | None = None,
    files_per_hour: int = 2,
    max_lines_per_file: int = 250_000,
    n_users: int | None = None,
    n_videos: int | None = None,
    new_videos_per_day: int | None = None,
    n_trending_hashtags: int = 12,
    n_trending_videos: int = 5,
    spam_accounts: int = 5,
    trend_start: _dt.date | None = None,
    spam_date: _dt.date | None = None,
    first_day_share: float = 1.0,
    catalogue: Literal["preloaded", "growing"] = "preloaded",
    client_fields: Literal["full", "no_platform", "none"] = "full",
    id_style: Literal["short", "uuid"] = "short",
    time_encoding: Literal["mixed", "offset"] = "mixed",
) -> GenerationSummary:
    """Write ``days`` days of synthetic landing files under ``landing_root`` and the ground truth.

    Args:
        landing_root: the landing folder; files go to ``events/date=YYYY-MM-DD/hour=HH/`` (UTC arrival
            date/hour) and ``_ground_truth/``. Existing generator-named files (``part-NNNNN*.jsonl[.gz]``)
            in the hour folders of the generated dates that this run does not write are removed, so a
            re-run never mixes with a previous run's files; other files are left alone.
        start: first arrival date (UTC); a ``datetime.date`` or ``'YYYY-MM-DD'``.
        days: number of consecutive dates (>= 1).
        events_per_day: valid distinct events per arrival date (>= 1). Exact when it exceeds the
            day's publish events (always from a few hundred up); day 0 includes one ``publish`` per
            pre-existing catalogue video (~5 %) unless ``catalogue="growing"``, and holds
            ``round(first_day_share × events_per_day)`` events. Duplicate copies and bad lines come
            on top.
        seed: non-negative integer; the output is a pure function of all arguments.
        bad_fraction: share of lines (in [0, 1)) that break the contract, one violation each, spread
            evenly over every reason code except ``corrupt_file`` (relative to each hour's lines
            before duplicate copies are added).
        duplicate_fraction: share of events (in [0, 1)) delivered twice, the copy verbatim in another
            file of the same or the next hour.
        redelivered_files: whole files delivered again as ``part-NNNNN-redelivery.jsonl[.gz]`` in the
            same folder (0 .. number of regular files).
        late_fraction: share (in [0, 1)) of the events arriving on day >= 1 whose event_time lies on
            an earlier date (never before ``start``).
        corrupt_files: extra garbled ``.jsonl.gz`` files (gzip header, undecodable body).
        compress: gzip (level 1, mtime 0) the regular files (``.jsonl.gz``) or not (``.jsonl``).
        future_tolerance_seconds: the ingest tolerance (>= 0); planted ``future_event_time`` lines lie
            at least 60 s beyond the landing hour's end plus this tolerance, valid lines never past
            the hour's end.
        tags_path: KuaiRec ``kuairec_caption_category.csv``; ``None`` = :data:`DEFAULT_TAGS_PATH` if
            present else the built-in vocabulary; :data:`BUILTIN` forces the built-in one.
        kuairand_path: KuaiRand log extract (TSV); same rules with :data:`DEFAULT_KUAIRAND_PATH`.
        files_per_hour: regular files per hour folder (>= 2, so a duplicate always has another file);
            more when an hour exceeds ``max_lines_per_file`` lines.
        n_users, n_videos, new_videos_per_day: world size; defaults ``events_per_day // 10`` users
            (min 50), ``events_per_day // 20`` catalogue videos (min 50), ``events_per_day // 500``
            uploads a day (min 5).
        n_trending_hashtags, n_trending_videos, spam_accounts: planted effects (0 disables).
        trend_start: first day of the planted trends; default day index ``max(2, 3·days // 7)``
            (capped at the last day). spam_date: the spam burst day; default the trend peak day
            (``trend_start + 2``, capped at the last day).
        first_day_share: share in (0, 1] of ``events_per_day`` that day 0 holds (default 1: the
            whole day). Imitates a collector that went live during day 0: only the late UTC hours
            from the go-live hour on get events (0.3 → from 14:00 UTC), chosen so those hours keep
            their natural rates (see "Source shapes" in the module docstring).
        catalogue: ``"preloaded"`` (default): the whole pre-existing catalogue (``n_videos``) is
            published in the first minute of day 0. ``"growing"``: 5 % of it at go-live, the rest
            spread over the days (growing daily counts), as in a young product; nothing is watched
            before its publish time.
        client_fields: ``"full"`` (default) ``region``/``platform``/``app_version``;
            ``"no_platform"``: no ``platform``/``app_version`` keys on any line (KuaiRand-like
            sources have no client); ``"none"``: no ``region`` either. Keys are absent, not null.
        id_style: ``"short"`` (default: ``u########``, ``v#########``, ``e-<seed>-<date>-<hex>``) or
            ``"uuid"``: user/creator, video and event ids of 36–40 characters (UUID text, ``kr-`` +
            UUID, 40 hex digits), deterministic per seed, as in real logs; ground truth alike.
        time_encoding: ``"mixed"`` (default: ``Z``, local offset or epoch ms by platform) or
            ``"offset"``: every event_time is RFC 3339 in the actor's local offset, never ``Z``.
            The combination imitating a young real source is ``first_day_share=0.3,
            catalogue="growing", client_fields="no_platform", id_style="uuid",
            time_encoding="offset"``.

    Returns:
        :class:`GenerationSummary`.

    Raises:
        ValueError: an argument out of range (days < 1, events_per_day < 1, a fraction outside
            [0, 1), negative counts, redelivered_files above the number of files, dates outside the
            run, a vocabulary too small for the planted tags, first_day_share outside (0, 1], an
            unknown catalogue / client_fields / id_style / time_encoding value).
        FileNotFoundError: an explicit ``tags_path`` / ``kuairand_path`` that does not exist.
    """
    from reelhouse.objectstore import is_object_store_uri

    if is_object_store_uri(str(landing_root)):  # a collector's upload: write locally, then copy
        return _generate_to_object_store(str(landing_root), locals())
    t_begin = time.perf_counter()
    if isinstance(start, str):
        try:
            start = _dt.date.fromisoformat(start)
        except ValueError as e:
            raise ValueError(f"start must be a date or 'YYYY-MM-DD', got {start!r}") from e
    if isinstance(start, _dt.datetime) or not isinstance(start, _dt.date):
        raise ValueError(f"start must be a datetime.date, got {start!r}")
    days = _check_int("days", days, 1)
    events_per_day = _check_int("events_per_day", events_per_day, 1)
    seed = _check_int("seed", seed, 0)
    bad_fraction = _check_fraction("bad_fraction", bad_fraction)
    duplicate_fraction = _check_fraction("duplicate_fraction", duplicate_fraction)
    late_fraction = _check_fraction("late_fraction", late_fraction)
    redelivered_files = _check_int("redelivered_files", redelivered_files, 0)
    corrupt_files = _check_int("corrupt_files", corrupt_files, 0)
    future_tolerance_seconds = _check_int("future_tolerance_seconds", future_tolerance_seconds, 0)
    files_per_hour = _check_int("files_per_hour", files_per_hour, 2)
    max_lines_per_file = _check_int("max_lines_per_file", max_lines_per_file, 1)
    n_trending_hashtags = _check_int("n_trending_hashtags", n_trending_hashtags, 0)
    n_trending_videos = _check_int("n_trending_videos", n_trending_videos, 0)
    spam_accounts = _check_int("spam_accounts", spam_accounts, 0)
    first_day_share = _check_share("first_day_share", first_day_share)
    catalogue = _check_choice("catalogue", catalogue, CATALOGUE_MODES)
    client_fields = _check_choice("client_fields", client_fields, CLIENT_FIELD_MODES)
    id_style = _check_choice("id_style", id_style, ID_STYLES)
    time_encoding = _check_choice("time_encoding", time_encoding, TIME_ENCODINGS)
    if redelivered_files > days * 24 * files_per_hour:
        raise ValueError(
            f"redelivered_files={redelivered_files} exceeds the {days * 24 * files_per_hour} regular files")
    n_users = _check_int("n_users", n_users, 2) if n_users is not None else max(50, events_per_day // 10)
    n_videos = _check_int("n_videos", n_videos, 1) if n_videos is not None else max(50, events_per_day // 20)
    new_videos_per_day = (_check_int("new_videos_per_day", new_videos_per_day, 0)
                          if new_videos_per_day is not None else max(5, events_per_day // 500))

    def day_index(name: str, d: _dt.date | str | None, default: int) -> int:
        if d is None:
            return default
        if isinstance(d, str):
            d = _dt.date.fromisoformat(d)
        k = (d - start).days
        if not 0 <= k < days:
            raise ValueError(f"{name}={d} lies outside the generated dates {start}..{start + _dt.timedelta(days=days - 1)}")
        return k

    t_start = day_index("trend_start", trend_start, min(max(2, 3 * days // 7), days - 1))
    s_day = day_index("spam_date", spam_date, min(t_start + 2, days - 1))
    root = Path(landing_root)
    p = Params(
        landing_root=root, start=start, days=days, events_per_day=events_per_day, seed=seed,
        bad_fraction=bad_fraction, duplicate_fraction=duplicate_fraction,
        redelivered_files=redelivered_files, late_fraction=late_fraction, corrupt_files=corrupt_files,
        compress=bool(compress), future_tolerance_seconds=future_tolerance_seconds,
        files_per_hour=files_per_hour, max_lines_per_file=max_lines_per_file, n_users=n_users,
        n_videos=n_videos, new_videos_per_day=new_videos_per_day,
        n_trending_hashtags=n_trending_hashtags, n_trending_videos=n_trending_videos,
        spam_accounts=spam_accounts, trend_start_day=t_start, spam_day=s_day,
        first_day_share=first_day_share, catalogue=catalogue, client_fields=client_fields,
        id_style=id_style, time_encoding=time_encoding,
        start_ms=int(_dt.datetime(start.year, start.month, start.day, tzinfo=_dt.timezone.utc).timestamp() * 1000),
    )
    vocab = cached("vocab", resolve_dataset(tags_path, DEFAULT_TAGS_PATH), load_vocabulary)
    calib = cached("calib", resolve_dataset(kuairand_path, DEFAULT_KUAIRAND_PATH), load_calibration)
    world = World(p, vocab, calib)
    live_files = (days * 24 - world.first_hour) * files_per_hour
    if redelivered_files > live_files:
        raise ValueError(f"redelivered_files={redelivered_files} exceeds the {live_files} regular files "
                         f"(first_day_share={first_day_share}: day 0 has files from hour {world.first_hour})")
    emission = Run(p, world).execute()
    gt = derive_ground_truth(p, world, emission)
    gt_path = write_ground_truth(p, world, gt)
    secs = time.perf_counter() - t_begin
    ev_total = sum(v["total"] for v in gt["events_by_arrival_date"].values())
    return GenerationSummary(
        landing_root=str(root),
        files_written=len(gt["files"]),
        events_total=ev_total,
        lines_total=int(sum(gt["lines_by_date"].values())),
        events_per_date={d: v["total"] for d, v in gt["events_by_arrival_date"].items()},
        lines_per_date=dict(gt["lines_by_date"]),
        bad_lines_by_reason=dict(gt["bad_lines"]["by_reason"]),
        duplicates=gt["duplicates"]["duplicate_lines"],
        late_events=gt["late_events"]["total"],
        redelivered_files=[f["copy"] for f in gt["redelivered_files"]],
        corrupt_files=list(gt["corrupt_files"]),
        ground_truth_path=str(gt_path),
        seconds=round(secs, 3),
        events_per_second=round(ev_total / secs, 1) if secs > 0 else 0.0,
    )
