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

import csv
import datetime as _dt
import gzip
import io
import hashlib
import json
import math
import os
import re
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reelhouse.sources import contract

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

# ---------------------------------------------------------------------------------------------
# Locations and constants
# ---------------------------------------------------------------------------------------------
_DATASETS_DIR = Path(os.environ.get("REELHOUSE_DATASETS_DIR", Path(__file__).resolve().parents[4] / "shared" / "datasets"))
#: Default KuaiRec caption/category file (hashtag vocabulary); override with ``tags_path``.
DEFAULT_TAGS_PATH = _DATASETS_DIR / "kuairec-meta" / "kuairec_caption_category.csv"
#: Default KuaiRand log extract (calibration); override with ``kuairand_path``.
DEFAULT_KUAIRAND_PATH = (
    _DATASETS_DIR / "kuairand" / "log_standard_4_08_to_4_21_27k_like_hate_kcore15.tsv"
)
#: Pass as ``tags_path`` / ``kuairand_path`` to force the built-in fallback constants.
BUILTIN = "builtin"
GROUND_TRUTH_DIR = "_ground_truth"
GROUND_TRUTH_FILE = "generation.json"
GENERATOR_VERSION = 1

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_MIN_MS = 60_000
#: day 0 hour 0: the pre-existing catalogue is published in the first minute, interactions follow.
_CATALOGUE_WINDOW_MS = 60_000

_TYPES = ("impression", "play", "like", "comment", "share", "follow", "publish")
T_IMP, T_PLAY, T_LIKE, T_COMMENT, T_SHARE, T_FOLLOW, T_PUBLISH = range(7)
_ENGAGED_TYPES = (T_PLAY, T_LIKE, T_COMMENT, T_SHARE)
assert set(_TYPES) == set(contract.EVENT_TYPES)

#: (ISO 3166-1 alpha-2, standard UTC offset in minutes, weight). Illustrative, skewed toward East /
#: South-East Asia to match the Kuaishou-derived vocabulary; includes +05:30/+05:45/+00:00 offsets.
_REGIONS: tuple[tuple[str, int, float], ...] = (
    ("CN", 480, 0.34), ("ID", 420, 0.09), ("US", -300, 0.08), ("BR", -180, 0.06),
    ("TW", 480, 0.04), ("TH", 420, 0.04), ("VN", 420, 0.04), ("PH", 480, 0.03),
    ("MY", 480, 0.03), ("HK", 480, 0.03), ("JP", 540, 0.03), ("IN", 330, 0.03),
    ("MX", -360, 0.025), ("KR", 540, 0.02), ("SG", 480, 0.02), ("GB", 0, 0.02),
    ("DE", 60, 0.015), ("RU", 180, 0.015), ("SA", 180, 0.01), ("AU", 600, 0.01),
    ("CA", -300, 0.01), ("NP", 345, 0.005),
)
_PLATFORMS = ("android", "ios", "web")
_PLATFORM_WEIGHTS = (0.66, 0.29, 0.05)
_APP_VERSIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "android": (("12.4.20", 0.46), ("12.3.40", 0.28), ("12.2.10", 0.16), ("11.9.30", 0.10)),
    "ios": (("12.4.21", 0.58), ("12.3.41", 0.30), ("12.1.0", 0.12)),
    "web": (("web-2024.06.1", 0.80), ("web-2024.05.3", 0.20)),
}
#: event_time encoding mix per platform: (RFC 3339 Z, RFC 3339 local offset, epoch ms).
_ENCODING_MIX = {"android": (0.15, 0.55, 0.30), "ios": (0.75, 0.25, 0.0), "web": (0.10, 0.0, 0.90)}

_EXTRA_FIELDS = (
    ',"ab_bucket":"a"', ',"ab_bucket":"b"', ',"network":"wifi"', ',"network":"5g"',
    ',"network":"4g"', ',"ab_bucket":"b","exp_id":1207',
    ',"device":{"model":"SM-G9910","os":"Android 14"}', ',"session_seq":3',
)
_EXTRA_SHARE = 0.005

# behaviour constants (see module docstring)
_P_PLAY = 0.92
_P_PREF = 0.5
_RHO = 0.7
_WR_MAX = 8.0
_LIKE_A0, _LIKE_AZ, _LIKE_AU = -4.0, 0.8, 2.2
_ZIPF_ALPHA, _ZIPF_Q = 0.9, 5.0
_NEW_RANK_LO = 0.30
_DUR_MIN_MS, _DUR_MAX_MS = 5_000, 180_000
_FOLLOW_WITH_VIDEO = 0.7
_CLIENT_MISSING = (0.96, 0.03, 0.01)  # full client fields / without region / none

# planted-effect constants
_RISE_MID, _RISE_SCALE, _DECAY_START, _DECAY_TAU = 1.3, 0.35, 3.0, 1.5
_TREND_BASE_SHARE = 0.0008
_TREND_PEAK = (8.0, 16.0)
_TV_BASE_SHARE = 0.0004
_TV_PEAK = (12.0, 30.0)
_STEADY_SHARE = 0.04
_SPAM_EVENT_SHARE = 0.04
_SPAM_LEAK_SHARE = 0.00004
_SPAM_PUBLISH_HOUR = 1
_TREND_BONUS, _TV_BONUS, _SPAM_LEAK_BONUS = 0.4, 0.6, -1.5

_PART_RE = re.compile(r"^part-\d{5}(?:-redelivery)?\.jsonl(?:\.gz)?$")

# source shapes (options of generate() that imitate real sources; defaults = the original shape)
_SHAPE_DEFAULTS: dict[str, Any] = {
    "first_day_share": 1.0, "catalogue": "preloaded", "client_fields": "full", "id_style": "short",
    "time_encoding": "mixed",
}
_CATALOGUE_MODES = ("preloaded", "growing")
_CLIENT_FIELD_MODES = ("full", "no_platform", "none")
_ID_STYLES = ("short", "uuid")
_TIME_ENCODINGS = ("mixed", "offset")
#: catalogue="growing": share of the pre-existing catalogue (>= 1 video) live at go-live (launch content).
_LAUNCH_SEED_SHARE = 0.05


def _long_id(seed: int, kind: str, key: Any) -> str:
    """A deterministic 36–40-character id (id_style="uuid"): 80 % a UUID (36), 10 % ``kr-`` + UUID
    (39), 10 % 40 hex digits (a SHA-1-like id), as real logs mix them. ``kind`` separates the
    namespaces (users, videos, events) so ids never collide across them."""
    h = hashlib.blake2b(f"{kind}:{seed}:{key}".encode(), digest_size=20).digest()
    form = h[19] % 10
    if form == 0:
        return h.hex()
    u = str(uuid.UUID(bytes=h[:16], version=4))
    return "kr-" + u if form == 1 else u


def trend_multiplier(t_days: np.ndarray | float, peak: float) -> np.ndarray:
    """Planted trend curve: impression multiplier at ``t_days`` days after the trend start
    (00:00 UTC of the start date), relative to the pre-trend base.

    ``m(t) = 1 + (peak − 1) · rise(t) · decay(t)`` with ``rise = 1 / (1 + exp(−(t − 1.3) / 0.35))``
    and ``decay = exp(−max(0, t − 3) / 1.5)``; ``m = 1`` for ``t < 0``. Returns a float array shaped
    like ``t_days``. Daily means (uniform over the hours) are 1 + f·(peak − 1) with f ≈ 0.12, 0.62,
    0.96, 0.73, 0.38 on the start day and the four days after; the peak day is start + 2.
    """
    t = np.asarray(t_days, dtype=np.float64)
    rise = 1.0 / (1.0 + np.exp(-(t - _RISE_MID) / _RISE_SCALE))
    decay = np.exp(-np.maximum(0.0, t - _DECAY_START) / _DECAY_TAU)
    return np.where(t < 0, 1.0, 1.0 + (peak - 1.0) * rise * decay)


# ---------------------------------------------------------------------------------------------
# Public result
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Vocabulary (KuaiRec) and calibration (KuaiRand)
# ---------------------------------------------------------------------------------------------
_CATEGORY_EN = {
    "民生资讯": "local news", "时尚": "fashion", "其他": "other", "颜值": "looks", "情感": "relationships",
    "美食": "food", "明星娱乐": "celebrities", "舞蹈": "dance", "生活": "lifestyle", "自拍": "selfie",
    "喜剧": "comedy", "亲子": "parenting", "运动": "sports", "艺术": "art", "二次元": "anime",
    "三农": "rural life", "宠物": "pets", "摄影": "photography", "音乐": "music", "健康": "health",
    "健身": "fitness", "美妆": "makeup", "短剧": "short drama", "旅游": "travel", "汽车": "cars",
    "游戏": "gaming", "科学与法律": "science and law", "军事": "military", "读书": "reading",
    "影视综": "film and tv", "教育": "education", "时政资讯": "politics", "人文": "humanities",
    "房产家居": "home", "高新数码": "tech", "星座命理": "astrology", "财经": "finance",
    "奇人异象": "oddities",
}
_N_CATEGORIES = 28
_EMOJI_TAGS = ("🔥", "😂", "❤️", "🥰", "👍", "✨")
_EMOJI_SHARE = 0.02
_STEADY_PREFERRED = ("搞笑", "美食", "正能量")

# Built-in fallback vocabulary: (category, english, tags). Used only without the KuaiRec file.
_BUILTIN_VOCAB: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("美食", ("美食", "家常菜", "美食教程", "foodie", "吃货", "烘焙", "火锅", "街头小吃")),
    ("舞蹈", ("舞蹈", "dance", "街舞", "kpop", "爵士舞", "广场舞", "手势舞", "breaking")),
    ("喜剧", ("搞笑", "段子", "沙雕", "funny", "整蛊", "喜剧", "搞笑视频", "名场面")),
    ("宠物", ("萌宠", "猫咪", "狗狗", "cat", "柯基", "布偶猫", "萌宠驾到", "pets")),
    ("时尚", ("穿搭", "ootd", "时尚", "街拍", "jk", "汉服", "显瘦穿搭", "秋冬穿搭")),
    ("美妆", ("美妆", "makeup", "仿妆", "护肤", "口红试色", "新手化妆", "眼妆", "grwm")),
    ("运动", ("运动", "篮球", "NBA", "足球", "跑步", "滑板", "羽毛球", "骑行")),
    ("健身", ("健身", "fitness", "减脂", "瑜伽", "居家健身", "增肌", "帕梅拉", "打卡")),
    ("音乐", ("音乐", "翻唱", "music", "吉他", "钢琴", "原创音乐", "dj", "说唱")),
    ("游戏", ("游戏", "王者荣耀", "和平精英", "gaming", "原神", "mc", "电竞", "steam")),
    ("旅游", ("旅游", "travel", "旅行vlog", "风景", "露营", "自驾游", "海边", "古镇")),
    ("汽车", ("汽车", "car", "新能源", "改装车", "试驾", "摩托车", "jdm", "越野")),
    ("亲子", ("亲子", "萌娃", "育儿", "宝宝", "母婴", "亲子游戏", "baby", "带娃日常")),
    ("生活", ("生活", "vlog", "日常", "记录生活", "好物分享", "收纳", "租房改造", "独居")),
    ("颜值", ("颜值", "帅哥", "美女", "自拍", "氛围感", "高颜值", "selfie", "素颜")),
    ("情感", ("情感", "爱情", "治愈", "emo", "语录", "正能量", "扎心", "暗恋")),
    ("三农", ("三农", "农村生活", "赶集", "乡村", "种地", "农民", "丰收", "果园")),
    ("二次元", ("二次元", "cosplay", "动漫", "anime", "手办", "lolita", "漫展", "原创动画")),
    ("摄影", ("摄影", "photography", "手机摄影", "人像", "延时摄影", "slomo", "调色", "航拍")),
    ("健康", ("健康", "养生", "中医", "健康科普", "睡眠", "减肥", "饮食", "护眼")),
    ("艺术", ("艺术", "绘画", "书法", "手工", "diy", "art", "陶艺", "插画")),
    ("民生资讯", ("同城热点", "新闻", "民生", "社会", "热点", "本地", "天气", "交通")),
    ("明星娱乐", ("明星", "娱乐", "综艺", "追星", "idol", "饭拍", "演唱会", "路透")),
    ("其他", ("热门", "作品推广", "今天拍点啥", "感谢快手我要上热门", "高清视频", "fyp", "推荐", "上热门")),
)


@dataclass
class _Vocab:
    source: str
    path: str | None
    sha256: str | None
    categories: list[str]
    category_share: np.ndarray  # share of catalogue videos per category
    tags: list[str]  # normalised tags (index = tag id)
    surface: list[str]  # typical raw surface form per tag
    tag_count: np.ndarray
    tag_main_cat: np.ndarray
    cat_tag_ids: list[np.ndarray]
    cat_tag_cum: list[np.ndarray]
    captions: list[list[str]]  # per category: JSON-escaped caption literals (with quotes)
    caption_present: float
    ntags_pmf: np.ndarray  # P(k tags), k = 0..len-1


@dataclass
class _Calib:
    source: str
    path: str | None
    sha256: str | None
    dur_edges: np.ndarray  # 3 duration-bucket edges (ms)
    wr_q: np.ndarray  # (4, Q) quantile function of the watch ratio per bucket
    dur_logmu: float
    dur_logsd: float
    null_duration: float
    comment_like: float
    comment_nolike: float
    share_like: float
    share_nolike: float
    follow_like: float
    follow_nolike: float
    diurnal_local: np.ndarray  # 24 local-hour weights, sum 1
    stats: dict[str, float]


_FALLBACK_WR_Q = np.array(
    [
        [0.0, 0.158, 0.243, 0.312, 0.39, 0.478, 0.579, 0.674, 0.767, 0.863, 0.96, 1.042, 1.108,
         1.172, 1.272, 1.47, 1.724, 1.997, 2.455, 3.429, 8.0],
        [0.0, 0.089, 0.159, 0.214, 0.275, 0.364, 0.462, 0.584, 0.688, 0.796, 0.893, 0.98, 1.051,
         1.099, 1.166, 1.281, 1.493, 1.775, 2.033, 2.626, 8.0],
        [0.0, 0.042, 0.083, 0.122, 0.176, 0.256, 0.378, 0.533, 0.675, 0.822, 0.92, 0.973, 1.014,
         1.035, 1.057, 1.093, 1.162, 1.294, 1.539, 1.955, 8.0],
        [0.0, 0.003, 0.012, 0.02, 0.03, 0.042, 0.058, 0.087, 0.127, 0.196, 0.277, 0.39, 0.53, 0.67,
         0.827, 0.938, 0.992, 1.011, 1.029, 1.093, 4.973],
    ]
)
#: KuaiRand time_ms hour-of-day histogram (UTC hours 0..23).
_FALLBACK_DIURNAL_UTC = np.array(
    [0.0338, 0.0401, 0.0453, 0.052, 0.0682, 0.0603, 0.042, 0.0409, 0.0504, 0.0608, 0.0634, 0.0632,
     0.0607, 0.0667, 0.0709, 0.0564, 0.0346, 0.0185, 0.0095, 0.0059, 0.005, 0.0065, 0.0169, 0.028]
)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _resolve(path: str | os.PathLike | None, default: Path) -> Path | None:
    """None → the default file if it exists, else the fallback; BUILTIN → fallback; a path must
    exist (FileNotFoundError otherwise)."""
    if path is None:
        return default if default.is_file() else None
    if isinstance(path, str) and path == BUILTIN:
        return None
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"dataset file not found: {p}")
    return p


_CACHE: dict[tuple, Any] = {}


def _cached(kind: str, path: Path | None, loader):
    key = (kind, str(path), path.stat().st_mtime_ns if path else None)
    if key not in _CACHE:
        _CACHE[key] = loader(path)
    return _CACHE[key]


def _load_vocab(path: Path | None) -> _Vocab:
    if path is None:
        return _builtin_vocab()
    import pandas as pd

    df = pd.read_csv(
        path,
        lineterminator="\n",
        usecols=["video_id", "caption", "topic_tag", "first_level_category_name"],
        dtype={"caption": str, "topic_tag": str, "first_level_category_name": str},
        keep_default_na=False,
        na_values=[""],
    )
    cats_all = df["first_level_category_name"].fillna("UNKNOWN").astype(str)
    raw_lists = [
        [t.strip() for t in str(s).strip().strip("[]").split(",") if t.strip()] if isinstance(s, str) else []
        for s in df["topic_tag"].tolist()
    ]
    tagged = np.array([len(x) > 0 for x in raw_lists])
    # categories: the largest by tagged videos (UNKNOWN excluded), the rest folded into 其他
    counts: dict[str, int] = {}
    for c, t in zip(cats_all.tolist(), tagged.tolist()):
        if t and c != "UNKNOWN":
            counts[c] = counts.get(c, 0) + 1
    ranked = sorted(counts, key=lambda c: (-counts[c], c))
    keep = ranked[: _N_CATEGORIES - 1]
    if "其他" not in keep:
        keep.append("其他")
    else:
        keep = ranked[:_N_CATEGORIES]
    categories = sorted(keep, key=lambda c: (-counts.get(c, 0), c))
    cat_index = {c: i for i, c in enumerate(categories)}
    other = cat_index["其他"]
    vcat = np.array([cat_index.get(c, other) for c in cats_all.tolist()])
    category_share = np.bincount(vcat, minlength=len(categories)).astype(np.float64)
    category_share /= category_share.sum()

    norm_cache: dict[str, str] = {}
    tag_id: dict[str, int] = {}
    tags: list[str] = []
    surface_counts: list[dict[str, int]] = []
    pair_counts: dict[tuple[int, int], int] = {}
    ntags = []
    for lst, c in zip(raw_lists, vcat.tolist()):
        seen: list[int] = []
        for raw in lst:
            n = norm_cache.get(raw)
            if n is None:
                n = norm_cache[raw] = contract.normalize_hashtag(raw)
            if not n:
                continue
            i = tag_id.get(n)
            if i is None:
                i = tag_id[n] = len(tags)
                tags.append(n)
                surface_counts.append({})
            if i in seen:
                continue
            seen.append(i)
            sc = surface_counts[i]
            sc[raw] = sc.get(raw, 0) + 1
            pair_counts[(c, i)] = pair_counts.get((c, i), 0) + 1
        ntags.append(len(seen))
    surface = [sorted(sc, key=lambda s: (-sc[s], s))[0] for sc in surface_counts]
    n_t, n_c = len(tags), len(categories)
    mat = np.zeros((n_c, n_t))
    for (c, i), k in pair_counts.items():
        mat[c, i] = k
    tag_count = mat.sum(0)
    tag_main_cat = mat.argmax(0)
    cat_tag_ids, cat_tag_cum = [], []
    for c in range(n_c):
        ids = np.flatnonzero(mat[c] > 0)
        if ids.size == 0:  # a category without tags borrows the global frequencies
            ids = np.arange(n_t)
            w = tag_count.copy()
        else:
            w = mat[c, ids]
        cat_tag_ids.append(ids)
        cat_tag_cum.append(np.cumsum(w))
    pmf = np.bincount(np.minimum(ntags, 9), minlength=10).astype(np.float64)
    pmf /= pmf.sum()
    captions: list[list[str]] = [[] for _ in range(n_c)]
    cap_series = df["caption"].tolist()
    n_cap = 0
    for cap, c in zip(cap_series, vcat.tolist()):
        if isinstance(cap, str) and cap.strip():
            n_cap += 1
            if len(captions[c]) < 400:
                captions[c].append(json.dumps(cap[:300], ensure_ascii=False))
    for c in range(n_c):
        if not captions[c]:
            captions[c].append(json.dumps(categories[c], ensure_ascii=False))
    return _Vocab(
        source="kuairec",
        path=str(path),
        sha256=_sha256(path),
        categories=categories,
        category_share=category_share,
        tags=tags,
        surface=surface,
        tag_count=tag_count,
        tag_main_cat=tag_main_cat,
        cat_tag_ids=cat_tag_ids,
        cat_tag_cum=cat_tag_cum,
        captions=captions,
        caption_present=n_cap / max(1, len(cap_series)),
        ntags_pmf=pmf,
    )


def _builtin_vocab() -> _Vocab:
    categories = [c for c, _ in _BUILTIN_VOCAB]
    tags: list[str] = []
    surface: list[str] = []
    tag_id: dict[str, int] = {}
    pairs = []
    for c, (_, lst) in enumerate(_BUILTIN_VOCAB):
        for rank, raw in enumerate(lst):
            n = contract.normalize_hashtag(raw)
            if n not in tag_id:
                tag_id[n] = len(tags)
                tags.append(n)
                surface.append(raw)
            pairs.append((c, tag_id[n], 40.0 / (rank + 1)))
    n_c, n_t = len(categories), len(tags)
    mat = np.zeros((n_c, n_t))
    for c, i, w in pairs:
        mat[c, i] += w
    # generic tags of "其他" appear in every category
    other = categories.index("其他")
    mat[:, mat[other] > 0] += mat[other, mat[other] > 0] * 0.3
    ids = [np.flatnonzero(mat[c] > 0) for c in range(n_c)]
    share = np.linspace(2.0, 1.0, n_c)
    share /= share.sum()
    return _Vocab(
        source="builtin",
        path=None,
        sha256=None,
        categories=categories,
        category_share=share,
        tags=tags,
        surface=surface,
        tag_count=mat.sum(0),
        tag_main_cat=mat.argmax(0),
        cat_tag_ids=ids,
        cat_tag_cum=[np.cumsum(mat[c, i]) for c, i in enumerate(ids)],
        captions=[[json.dumps(f"{c} 日常分享 #{_BUILTIN_VOCAB[k][1][0]}", ensure_ascii=False)]
                  for k, c in enumerate(categories)],
        caption_present=0.87,
        ntags_pmf=np.array([0.43, 0.14, 0.11, 0.09, 0.07, 0.15, 0.01]),
    )


def _load_calib(path: Path | None) -> _Calib:
    if path is None:
        local = np.roll(_FALLBACK_DIURNAL_UTC, 8)
        return _Calib(
            source="builtin", path=None, sha256=None,
            dur_edges=np.array([9876.0, 16783.0, 46924.75]), wr_q=_FALLBACK_WR_Q,
            dur_logmu=10.049, dur_logsd=1.050, null_duration=0.185,
            comment_like=0.0355, comment_nolike=0.0075 * 0.5,
            share_like=0.0063, share_nolike=0.0142 * 0.5,
            follow_like=0.0090, follow_nolike=0.0090 * 0.1,
            diurnal_local=local / local.sum(),
            stats={"watch_ratio_median": 0.800, "watch_ratio_mean": 0.890, "long_view": 0.462,
                   "comment": 0.0301, "forward": 0.0078, "follow": 0.0073, "rows": 0},
        )
    import pandas as pd

    k = pd.read_csv(
        path, sep="\t",
        usecols=["time_ms", "is_follow", "is_comment", "is_forward", "long_view", "play_time_ms",
                 "duration_ms", "label"],
    )
    d = k[k["duration_ms"] > 0]
    dur = d["duration_ms"].to_numpy(np.float64)
    wr = d["play_time_ms"].to_numpy(np.float64) / dur
    edges = np.quantile(dur, [0.25, 0.5, 0.75])
    b = np.searchsorted(edges, dur, side="right")
    qs = np.linspace(0.0, 1.0, 201)
    wr_q = np.vstack([np.quantile(np.minimum(wr[b == i], _WR_MAX), qs) for i in range(4)])
    liked = k[k["label"] == 1]
    hated = k[k["label"] == 0]
    hours = ((k["time_ms"].to_numpy() // _HOUR_MS) % 24).astype(int)
    utc = np.bincount(hours, minlength=24).astype(np.float64)
    local = np.roll(utc, 8)  # UTC hour h is CST hour h+8
    logd = np.log(dur)
    return _Calib(
        source="kuairand",
        path=str(path),
        sha256=_sha256(path),
        dur_edges=edges,
        wr_q=wr_q,
        dur_logmu=float(logd.mean()),
        dur_logsd=float(logd.std()),
        null_duration=float((k["duration_ms"] <= 0).mean()),
        comment_like=float(liked["is_comment"].mean()),
        comment_nolike=float(hated["is_comment"].mean()) * 0.5,
        share_like=float(liked["is_forward"].mean()),
        share_nolike=float(hated["is_forward"].mean()) * 0.5,
        follow_like=float(liked["is_follow"].mean()),
        follow_nolike=float(liked["is_follow"].mean()) * 0.1,
        diurnal_local=local / local.sum(),
        stats={
            "watch_ratio_median": round(float(np.median(wr)), 4),
            "watch_ratio_mean": round(float(wr.mean()), 4),
            "long_view": round(float(k["long_view"].mean()), 4),
            "comment": round(float(k["is_comment"].mean()), 5),
            "forward": round(float(k["is_forward"].mean()), 5),
            "follow": round(float(k["is_follow"].mean()), 5),
            "rows": int(len(k)),
        },
    )


# ---------------------------------------------------------------------------------------------
# Small numeric helpers
# ---------------------------------------------------------------------------------------------
def _phi(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF via Abramowitz & Stegun 7.1.26 erf (|error| < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    rem = total - int(base.sum())
    if rem > 0:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:rem]] += 1
    return base


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in s)


def _has_latin(s: str) -> bool:
    return any("a" <= ch.lower() <= "z" for ch in s)


def _trunc_lognormal(rng: np.random.Generator, n: int, mu: float, sd: float) -> np.ndarray:
    out = np.exp(rng.normal(mu, sd, n))
    bad = (out < _DUR_MIN_MS) | (out > _DUR_MAX_MS)
    while bad.any():
        out[bad] = np.exp(rng.normal(mu, sd, int(bad.sum())))
        bad = (out < _DUR_MIN_MS) | (out > _DUR_MAX_MS)
    return np.round(out).astype(np.int64)


def _offset_suffix(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    m = abs(minutes)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


# ---------------------------------------------------------------------------------------------
# The world: users, videos, planted pools
# ---------------------------------------------------------------------------------------------
@dataclass
class _Pool:
    kind: str  # trend_tag | trending_video | steady | spam_leak
    name: str
    base_share: float
    videos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # sorted video idx
    pub: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    cum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    bonus: float = 0.0
    peak: float = 1.0
    start_day: int = 0  # day index of the curve start (curve kinds)
    active_days: tuple[int, ...] | None = None  # spam_leak: the days it is on
    active_from_hour: int = 0

    def share(self, day: int, t_days_abs: float) -> float:
        if self.kind in ("trend_tag", "trending_video"):
            return self.base_share * float(trend_multiplier(t_days_abs - self.start_day, self.peak))
        if self.kind == "spam_leak":
            if self.active_days and day in self.active_days and (t_days_abs - day) * 24 >= self.active_from_hour:
                return self.base_share
            return 0.0
        return self.base_share


class _World:
    """Everything fixed before the first event: users, catalogue, every video of the run, pools."""

    def __init__(self, p: "_Params", vocab: _Vocab, calib: _Calib):
        self.p = p
        self.vocab = vocab
        self.calib = calib
        rng = np.random.default_rng([p.seed, 0x5EED, 1])
        self.C = C = len(vocab.categories)

        # ---------------- users ----------------
        n_org = p.n_users
        n_spam = p.spam_accounts
        n_all = n_org + n_spam
        self.n_org, self.n_all = n_org, n_all
        ids = rng.choice(90_000_000, size=n_all, replace=False) + 10_000_000
        self.user_ids = [f"u{x:08d}" for x in ids.tolist()]
        if p.id_style == "uuid":
            self.user_ids = [_long_id(p.seed, "user", i) for i in range(n_all)]
        self.user_json = np.array([f'"{u}"' for u in self.user_ids], dtype=object)
        reg_w = np.array([w for _, _, w in _REGIONS])
        self.region = rng.choice(len(_REGIONS), size=n_all, p=reg_w / reg_w.sum())
        self.platform = rng.choice(3, size=n_all, p=np.array(_PLATFORM_WEIGHTS) / sum(_PLATFORM_WEIGHTS))
        appv_idx = np.zeros(n_all, dtype=np.int64)
        self.appv_names: list[str] = []
        for pi, plat in enumerate(_PLATFORMS):
            vers = _APP_VERSIONS[plat]
            base = len(self.appv_names)
            self.appv_names += [v for v, _ in vers]
            m = self.platform == pi
            w = np.array([x for _, x in vers])
            appv_idx[m] = base + rng.choice(len(vers), size=int(m.sum()), p=w / w.sum())
        self.appv = appv_idx
        self.activity = np.exp(rng.normal(0.0, 1.0, n_all))
        self.p_active = rng.beta(2.0, 0.8, n_all)
        self.activity[n_org:] = 0.0  # spam accounts only act in the spam burst
        alpha = 5.0 * vocab.category_share
        g = rng.gamma(np.maximum(alpha, 1e-3)[None, :].repeat(n_all, 0), 1.0)
        g_sum = g.sum(1, keepdims=True)
        g_sum[g_sum <= 0] = 1.0
        self.pref = (g / g_sum).astype(np.float32)
        self.pref_cum = np.cumsum(self.pref, axis=1)
        self.pref_cum[:, -1] = 1.0
        self.off_min = np.array([_REGIONS[r][1] for r in self.region], dtype=np.int64)
        self.off_suffix = np.array([_offset_suffix(int(o)) for o in self.off_min], dtype=object)
        enc = np.array([_ENCODING_MIX[_PLATFORMS[pl]] for pl in self.platform])
        self.enc_cum = np.cumsum(enc, axis=1)[:, :2]
        reg_codes = [r for r, _, _ in _REGIONS]
        full, noreg, none = [], [], []
        for u in range(n_all):
            plat = _PLATFORMS[self.platform[u]]
            av = self.appv_names[self.appv[u]]
            rc = reg_codes[self.region[u]]
            if p.client_fields == "full":
                full.append(f',"region":"{rc}","platform":"{plat}","app_version":"{av}"')
                noreg.append(f',"platform":"{plat}","app_version":"{av}"')
            else:  # the source has no client (platform, app_version); "none": no region either
                full.append(f',"region":"{rc}"' if p.client_fields == "no_platform" else "")
                noreg.append("")
            none.append("")
        self.client = np.array([full, noreg, none], dtype=object).T.copy()  # (n_all, 3)
        # local-hour diurnal per region and UTC hour (hour midpoint)
        R = len(_REGIONS)
        self.reg_curve = np.zeros((R, 24))
        for r, (_, off, _) in enumerate(_REGIONS):
            for h in range(24):
                self.reg_curve[r, h] = calib.diurnal_local[((h * 60 + 30 + off) // 60) % 24]
        # go-live (first_day_share < 1): the last hours of day 0 whose expected share of the
        # population's daily activity reaches first_day_share; nothing happens before
        self.first_hour = 0
        if p.first_day_share < 1.0:
            hw = (np.bincount(self.region[:n_org], weights=self.activity[:n_org], minlength=len(_REGIONS))
                  @ self.reg_curve)
            tail = np.cumsum(hw[::-1])[::-1] / hw.sum()
            self.first_hour = int(np.flatnonzero(tail >= p.first_day_share - 1e-12).max())
        self.live_ms = p.start_ms + self.first_hour * _HOUR_MS
        self.day0_events = (p.events_per_day if p.first_day_share >= 1.0
                            else max(1, round(p.first_day_share * p.events_per_day)))
        self.spam_hour = max(_SPAM_PUBLISH_HOUR, self.first_hour) if p.spam_day == 0 else _SPAM_PUBLISH_HOUR

        # creators: a subset of organic users, Zipf productivity, a main category
        n_cre = max(5, n_org // 25)
        n_cre = min(n_cre, n_org)
        self.creators = rng.choice(n_org, size=n_cre, replace=False)
        cre_w = 1.0 / (np.arange(1, n_cre + 1) ** 1.1)
        rng.shuffle(cre_w)
        self.cre_cum = np.cumsum(cre_w)
        self.cre_cat = rng.choice(C, size=n_cre, p=vocab.category_share)

        # generic (very frequent) tags, used on planted-pool videos
        order = np.argsort(-vocab.tag_count, kind="stable")
        self._select_planted(rng, order)

        # ---------------- videos ----------------
        self._build_videos(rng)

    # .............................................................................................
    def _select_planted(self, rng: np.random.Generator, order: np.ndarray) -> None:
        v, p = self.vocab, self.p
        tags = v.tags
        taken: set[int] = set()
        # steady tag
        cand = [tags.index(t) for t in _STEADY_PREFERRED if t in tags]
        if not cand:
            cand = order[2:12].tolist()
        self.steady_tag = int(cand[int(rng.integers(len(cand)))])
        taken.add(self.steady_tag)
        # generic tags for planted-pool videos: the 12 most frequent others
        self.generic_tags = [int(i) for i in order if int(i) not in taken][:12]
        taken.update(self.generic_tags)
        # trending tags: moderately rare real tags, short, not platform boilerplate
        boiler = ("快手", "热门", "推广", "感谢", "官方", "作品", "小助手", "上热门")

        def ok(i: int, lo: float, hi: float) -> bool:
            t = tags[i]
            return (i not in taken and lo <= v.tag_count[i] <= hi and 1 <= len(t) <= 10
                    and not any(b in t for b in boiler))

        n_tr = p.n_trending_hashtags
        latin = [i for i in range(len(tags)) if ok(i, 2, 60) and _has_latin(tags[i])]
        other = [i for i in range(len(tags)) if ok(i, 2, 60) and not _has_latin(tags[i])]
        if len(latin) + len(other) < n_tr:  # small vocabularies: relax
            latin = [i for i in range(len(tags)) if i not in taken and _has_latin(tags[i])]
            other = [i for i in range(len(tags)) if i not in taken and not _has_latin(tags[i])]
        n_lat = min(len(latin), max(3, n_tr // 4)) if n_tr else 0
        pick_l = rng.choice(len(latin), size=n_lat, replace=False).tolist() if n_lat else []
        n_oth = min(len(other), n_tr - n_lat)
        pick_o = rng.choice(len(other), size=n_oth, replace=False).tolist() if n_oth else []
        self.trend_tags = [latin[i] for i in pick_l] + [other[i] for i in pick_o]
        if len(self.trend_tags) < n_tr:
            raise ValueError(
                f"vocabulary too small for {n_tr} trending hashtags ({len(self.trend_tags)} available)")
        taken.update(self.trend_tags)
        # spam tag
        sp = [i for i in range(len(tags)) if ok(i, 1, 3)] or [i for i in range(len(tags)) if i not in taken]
        self.spam_tag = int(sp[int(rng.integers(len(sp)))])
        taken.add(self.spam_tag)
        self.planted_tags = taken - set(self.generic_tags)  # excluded from organic tagging
        self.trend_peaks = np.round(rng.uniform(*_TREND_PEAK, n_tr), 1)
        self.trend_base = _TREND_BASE_SHARE * rng.uniform(0.75, 1.35, n_tr)

    # .............................................................................................
    def _render_tags(self, tag_ids: list[int], rnd: np.ndarray) -> str:
        """JSON array literal of the tags as a creator would type them; ``rnd``: (len, 2) uniforms."""
        out = []
        for i, r in zip(tag_ids, rnd.tolist()):
            s = self.vocab.surface[i] if i >= 0 else _EMOJI_TAGS[-i - 1]
            n = self.vocab.tags[i] if i >= 0 else contract.normalize_hashtag(s)
            if _has_latin(s):
                if r[0] < 0.15:
                    s2 = s.upper()
                elif r[0] < 0.25:
                    s2 = s.title()
                elif r[0] < 0.32:
                    s2 = _fullwidth(s)
                elif r[0] < 0.55:
                    s2 = s.lower()
                else:
                    s2 = s
            else:
                s2 = s
            if r[1] < 0.55:
                s2 = "#" + s2
            elif r[1] < 0.58:
                s2 = "＃" + s2
            elif r[1] < 0.60:
                s2 = " #" + s2
            lit = self._tag_literal.get(s2)
            if lit is None:
                ok = contract.normalize_hashtag(s2) == n
                lit = self._tag_literal[s2] = json.dumps(s2 if ok else s, ensure_ascii=False)
            out.append(lit)
        return "[" + ",".join(out) + "]"

    def _organic_tags(self, rng: np.random.Generator, rows: list[dict]) -> None:
        """Fill ``tags`` of the rows that have none: k ~ KuaiRec's tags-per-video distribution, tags
        drawn from the category's tag frequencies (planted tags excluded), plus a rare emoji tag."""
        v = self.vocab
        need = np.array([r["tags"] is None for r in rows])
        cats = np.array([r["cat"] for r in rows])
        n = len(rows)
        ks = rng.choice(len(v.ntags_pmf), size=n, p=v.ntags_pmf)
        emoji = np.where(rng.random(n) < _EMOJI_SHARE, rng.integers(0, len(_EMOJI_TAGS), n), -1)
        n_draw = 3 * (len(v.ntags_pmf) - 1) + 3
        planted = self.planted_tags
        for c in range(self.C):
            m = np.flatnonzero(need & (cats == c))
            if m.size == 0:
                continue
            cum = v.cat_tag_cum[c]
            idx = np.minimum(np.searchsorted(cum, rng.random((m.size, n_draw)) * cum[-1], side="right"), len(cum) - 1)
            draws = v.cat_tag_ids[c][idx].tolist()
            for row, i in zip(draws, m.tolist()):
                k = int(ks[i])
                chosen: list[int] = []
                if k:
                    for t in row:
                        if t in planted or t in chosen:
                            continue
                        chosen.append(t)
                        if len(chosen) == k:
                            break
                if emoji[i] >= 0:
                    chosen.append(-1 - int(emoji[i]))
                rows[i]["tags"] = chosen

    # .............................................................................................
    def _hour_pub_times(self, rng: np.random.Generator, day: int, n: int) -> np.ndarray:
        """n publish times on `day`, hours weighted by the population diurnal curve (day 0: from
        the go-live hour on, after the launch window)."""
        p = self.p
        w = (np.bincount(self.region[: self.n_org], weights=self.activity[: self.n_org], minlength=len(_REGIONS))
             @ self.reg_curve)
        if day == 0 and self.first_hour:
            w[: self.first_hour] = 0.0  # the collector is not live yet
        hours = rng.choice(24, size=n, p=w / w.sum())
        lo = p.start_ms + day * _DAY_MS + hours * _HOUR_MS
        off = rng.integers(0, _HOUR_MS, n)
        t = lo + off
        if day == 0:
            h0 = hours == self.first_hour
            t[h0] = lo[h0] + _CATALOGUE_WINDOW_MS + (off[h0] % (_HOUR_MS - _CATALOGUE_WINDOW_MS))
        return t

    def _launch_pubs(self, rng: np.random.Generator, n: int, last_day: int | None = None,
                     seed_share: float = _LAUNCH_SEED_SHARE) -> np.ndarray:
        """Publish times (ms) of ``n`` videos that exist before the run's own uploads.

        ``catalogue="preloaded"``: all in the go-live window (the first minute). ``"growing"``: a
        ``seed_share`` of them (>= 1 when ``seed_share > 0``, the launch content) in that window,
        the rest spread over days 0..``last_day`` (default the last day) with daily counts growing
        linearly (day weight d + 1) at diurnal-weighted hours; all in the window if ``last_day < 0``.
        """
        if self.p.catalogue == "preloaded" or n == 0:
            return self.live_ms + rng.integers(0, _CATALOGUE_WINDOW_MS, n)
        last = self.p.days - 1 if last_day is None else min(last_day, self.p.days - 1)
        if last < 0:
            n_seed = n
        else:
            n_seed = min(n, max(1, round(n * seed_share))) if seed_share > 0 else 0
        parts = [self.live_ms + rng.integers(0, _CATALOGUE_WINDOW_MS, n_seed)]
        if n > n_seed:
            cnt = _largest_remainder(n - n_seed, np.arange(1, last + 2, dtype=np.float64))
            parts += [self._hour_pub_times(rng, d, int(k)) for d, k in enumerate(cnt.tolist()) if k]
        return np.concatenate(parts).astype(np.int64)

    def _build_videos(self, rng: np.random.Generator) -> None:
        p, v, C, cal = self.p, self.vocab, self.C, self.calib
        rows: list[dict] = []  # one per video: pub, creator, cat, tags, pool, weight, role

        def creator_pick(n: int) -> np.ndarray:
            return np.searchsorted(self.cre_cum, rng.random(n) * self.cre_cum[-1], side="right")

        def cats_for(cre_idx: np.ndarray) -> np.ndarray:
            main = self.cre_cat[cre_idx]
            rnd = rng.choice(C, size=len(cre_idx), p=v.category_share)
            return np.where(rng.random(len(cre_idx)) < 0.8, main, rnd)

        n_cat = p.n_videos
        zipf_w = (np.arange(1, n_cat + 1) + _ZIPF_Q) ** -_ZIPF_ALPHA
        # catalogue (organic)
        cre = creator_pick(n_cat)
        cats = cats_for(cre)
        pub = self._launch_pubs(rng, n_cat)
        w = rng.permutation(zipf_w)
        for i in range(n_cat):
            rows.append(dict(pub=int(pub[i]), creator=int(self.creators[cre[i]]), cat=int(cats[i]),
                             tags=None, pool=-1, weight=float(w[i]), role="organic"))
        # new organic uploads per day (long-tail ranks)
        for d in range(p.days):
            n_new = p.new_videos_per_day
            cre = creator_pick(n_new)
            cats = cats_for(cre)
            pubs = self._hour_pub_times(rng, d, n_new)
            ranks = rng.uniform(_NEW_RANK_LO * n_cat, n_cat, n_new)
            for i in range(n_new):
                rows.append(dict(pub=int(pubs[i]), creator=int(self.creators[cre[i]]), cat=int(cats[i]),
                                 tags=None, pool=-1, weight=float((ranks[i] + _ZIPF_Q) ** -_ZIPF_ALPHA),
                                 role="organic"))

        pools: list[_Pool] = []
        self.t_start = p.trend_start_day
        # trending hashtags
        n_pre = max(3, round(n_cat * 0.0005))
        k_new = max(1, round(p.new_videos_per_day * 0.005))
        for j, tag in enumerate(self.trend_tags):
            pool = _Pool("trend_tag", v.tags[tag], float(self.trend_base[j]), bonus=_TREND_BONUS,
                         peak=float(self.trend_peaks[j]), start_day=self.t_start)
            pid = len(pools)
            pools.append(pool)
            cat = int(v.tag_main_cat[tag])
            sound = f"s-trend-{j}"
            pre_pub = self._launch_pubs(rng, n_pre, last_day=self.t_start - 1, seed_share=0.0)
            plan = [(int(t), "trend_tag") for t in pre_pub]
            for d in range(self.t_start, p.days):
                m = float(trend_multiplier(d - self.t_start + 0.5, pool.peak))
                n = max(1, round(k_new * math.sqrt(m)))
                plan += [(int(t), "trend_tag") for t in self._hour_pub_times(rng, d, n)]
            for t, role in plan:
                extra = [self.generic_tags[int(rng.integers(len(self.generic_tags)))]] if rng.random() < 0.5 else []
                c = cat if rng.random() < 0.8 else int(rng.choice(C, p=v.category_share))
                rows.append(dict(pub=t, creator=int(self.creators[creator_pick(1)[0]]), cat=c,
                                 tags=[tag] + extra, pool=pid, weight=float(rng.uniform(0.2, 1.0) ** 2),
                                 role=role, sound=sound if rng.random() < 0.7 else None))
        # trending videos: catalogue-time videos with generic tags only
        self.tv_pools = []
        for j in range(p.n_trending_videos):
            start = min(self.t_start + (j % 2), p.days - 1)
            pool = _Pool("trending_video", f"trending_video_{j}", _TV_BASE_SHARE, bonus=_TV_BONUS,
                         peak=float(np.round(rng.uniform(*_TV_PEAK), 1)), start_day=start)
            pid = len(pools)
            pools.append(pool)
            self.tv_pools.append(pid)
            k = int(rng.integers(1, 3))
            tg = [self.generic_tags[int(i)] for i in rng.choice(len(self.generic_tags), size=k, replace=False)]
            cre_i = creator_pick(1)
            rows.append(dict(pub=int(self.live_ms + rng.integers(0, _CATALOGUE_WINDOW_MS)
                                     if p.catalogue == "preloaded"
                                     else self._launch_pubs(rng, 1, last_day=start - 1, seed_share=0.0)[0]),
                             creator=int(self.creators[cre_i[0]]), cat=int(cats_for(cre_i)[0]),
                             tags=tg, pool=pid, weight=1.0, role="trending_video"))
        # steady tag pool
        pool = _Pool("steady", v.tags[self.steady_tag], _STEADY_SHARE)
        pid = len(pools)
        pools.append(pool)
        self.steady_pool = pid
        n_st = max(10, round(n_cat * 0.02))
        times = [int(t) for t in self._launch_pubs(rng, n_st)]
        for d in range(p.days):
            times += [int(t) for t in self._hour_pub_times(rng, d, max(1, round(p.new_videos_per_day * 0.02)))]
        st_w = rng.permutation((np.arange(1, len(times) + 1) + _ZIPF_Q) ** -_ZIPF_ALPHA)
        for i, t in enumerate(times):
            cre_i = creator_pick(1)
            extra = [self.generic_tags[int(rng.integers(len(self.generic_tags)))]] if rng.random() < 0.4 else []
            rows.append(dict(pub=t, creator=int(self.creators[cre_i[0]]), cat=int(cats_for(cre_i)[0]),
                             tags=[self.steady_tag] + extra, pool=pid, weight=float(st_w[i]), role="steady"))
        # spam: accounts publish on the burst day, organic users leak a few impressions
        self.spam_day = p.spam_day
        pool = _Pool("spam_leak", v.tags[self.spam_tag], _SPAM_LEAK_SHARE, bonus=_SPAM_LEAK_BONUS,
                     active_days=(self.spam_day,) if p.spam_accounts else (),
                     active_from_hour=self.spam_hour + 1)
        pid = len(pools)
        pools.append(pool)
        self.spam_pool = pid
        self.spam_users = np.arange(self.n_org, self.n_all)
        spam_t0 = p.start_ms + self.spam_day * _DAY_MS + self.spam_hour * _HOUR_MS
        for u in self.spam_users.tolist():
            for _ in range(3):
                rows.append(dict(pub=int(spam_t0 + rng.integers(0, _HOUR_MS)), creator=u,
                                 cat=int(rng.choice(C, p=v.category_share)), tags=[self.spam_tag],
                                 pool=pid, weight=1.0, role="spam"))

        self._organic_tags(rng, rows)
        # ---- sort by publish time, materialise arrays ----
        rows.sort(key=lambda r: r["pub"])  # stable: ties keep creation order
        n = len(rows)
        self.n_videos = n
        self.v_pub = np.array([r["pub"] for r in rows], dtype=np.int64)
        self.v_creator = np.array([r["creator"] for r in rows], dtype=np.int64)
        self.v_cat = np.array([r["cat"] for r in rows], dtype=np.int64)
        self.v_pool = np.array([r["pool"] for r in rows], dtype=np.int64)
        self.v_role = [r["role"] for r in rows]
        weight = np.array([r["weight"] for r in rows])
        self.v_dur = _trunc_lognormal(rng, n, cal.dur_logmu, cal.dur_logsd)
        vid = rng.choice(900_000_000, size=n, replace=False) + 100_000_000
        self.video_ids = [f"v{x:09d}" for x in vid.tolist()]
        if p.id_style == "uuid":
            self.video_ids = [_long_id(p.seed, "video", i) for i in range(n)]
        self.vid_frag = np.array([f',"video_id":"{x}"' for x in self.video_ids] + [""], dtype=object)
        n_sounds = max(20, n // 8)
        snd_w = (np.arange(1, n_sounds + 1) + 2.0) ** -1.0
        snd_cum = np.cumsum(snd_w)
        sound_pick = np.searchsorted(snd_cum, rng.random(n) * snd_cum[-1], side="right")
        self.v_tags: list[list[int]] = []
        self._tag_literal: dict[str, str] = {}
        self.pub_tail = np.empty(n + 1, dtype=object)
        self.pub_tail[n] = ""
        cap_present = (rng.random(n) < v.caption_present).tolist()
        cap_u = rng.random(n).tolist()
        n_tags = np.array([len(r["tags"]) for r in rows])
        offs = np.concatenate([[0], np.cumsum(n_tags)]).tolist()
        tag_rnd = rng.random((int(n_tags.sum()), 2))
        durs = self.v_dur.tolist()
        sounds = sound_pick.tolist()
        for i, r in enumerate(rows):
            tags = r["tags"]
            self.v_tags.append(tags)
            caps = v.captions[r["cat"]]
            sound = r.get("sound") or f"s{sounds[i]:07d}"
            cap = f',"caption":{caps[int(cap_u[i] * len(caps))]}' if cap_present[i] else ""
            self.pub_tail[i] = (
                f',"creator_id":{self.user_json[r["creator"]]},"video_duration_ms":{durs[i]}'
                f',"hashtags":{self._render_tags(tags, tag_rnd[offs[i]:offs[i + 1]])},"sound_id":"{sound}"{cap}'
            )
        # organic sampling structures
        self.org_weight = np.where(self.v_pool < 0, weight, 0.0)
        self.glob_cum = np.cumsum(self.org_weight)
        self.cat_v, self.cat_cum, self.cat_pub = [], [], []
        for c in range(C):
            idx = np.flatnonzero((self.v_pool < 0) & (self.v_cat == c))
            self.cat_v.append(idx)
            self.cat_cum.append(np.cumsum(self.org_weight[idx]))
            self.cat_pub.append(self.v_pub[idx])
        for pid, pool in enumerate(pools):
            idx = np.flatnonzero(self.v_pool == pid)
            pool.videos = idx
            pool.pub = self.v_pub[idx]
            pool.cum = np.cumsum(weight[idx])
        self.pools = pools
        # tracked tags: trend tags, steady, spam (a pool video carries exactly one of them)
        self.tracked_names = [v.tags[t] for t in self.trend_tags] + [v.tags[self.steady_tag], v.tags[self.spam_tag]]
        n_tr = len(self.trend_tags)
        pool_to_tracked = np.full(len(pools) + 1, -1, dtype=np.int64)
        for j in range(n_tr):
            pool_to_tracked[j] = j
        pool_to_tracked[self.steady_pool] = n_tr
        pool_to_tracked[self.spam_pool] = n_tr + 1
        self.v_tracked = np.append(pool_to_tracked[self.v_pool], -1)  # index n (no video) → -1
        tv_map = np.full(len(pools) + 1, -1, dtype=np.int64)
        for k, pid in enumerate(self.tv_pools):
            tv_map[pid] = k
        self.v_tv = np.append(tv_map[self.v_pool], -1)
        # affinity standardisation constants (organic mechanism, simulated once)
        m = 20_000
        us = rng.integers(0, self.n_org, m)
        pref_draw = rng.random(m) < _P_PREF
        c_pref = (self.pref_cum[us] < rng.random(m)[:, None]).sum(1)
        glob_share = np.bincount(self.v_cat, weights=self.org_weight, minlength=C)
        glob_share = glob_share / glob_share.sum() if glob_share.sum() > 0 else np.full(C, 1.0 / C)
        c_glob = rng.choice(C, size=m, p=glob_share)
        cc = np.minimum(np.where(pref_draw, c_pref, c_glob), C - 1)
        z = np.log(np.maximum(self.pref[us, cc] * C, 1e-4))
        self.z_mu, self.z_sd = float(z.mean()), float(z.std() or 1.0)


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------
@dataclass
class _Params:
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

    def shape(self) -> dict[str, Any]:
        """The source-shape options (see generate()); equal to _SHAPE_DEFAULTS by default."""
        return {k: getattr(self, k) for k in _SHAPE_DEFAULTS}

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("landing_root")
        d.pop("start_ms")
        for k in _SHAPE_DEFAULTS:
            d.pop(k)
        d["start"] = self.start.isoformat()
        d["trend_start"] = (self.start + _dt.timedelta(days=self.trend_start_day)).isoformat()
        d["spam_date"] = (self.start + _dt.timedelta(days=self.spam_day)).isoformat()
        if self.shape() != _SHAPE_DEFAULTS:  # absent by default: the original ground truth, byte for byte
            d["source_shape"] = self.shape()
        return d


# ---------------------------------------------------------------------------------------------
# Per-hour event generation
# ---------------------------------------------------------------------------------------------
@dataclass
class _Imps:
    """Per-impression arrays of one hour (one row = one impression group)."""

    user: np.ndarray
    video: np.ndarray
    pool: np.ndarray  # -1 organic, -2 spam account, else pool id
    flags: np.ndarray  # (n, 6) bool: impression, play, like, comment, share, follow
    times: np.ndarray  # (n, 6) int64 ms
    play_time: np.ndarray
    dur_null: np.ndarray
    follow_video: np.ndarray

    @staticmethod
    def concat(parts: list["_Imps"]) -> "_Imps":
        return _Imps(*[np.concatenate([getattr(p, f) for p in parts]) for f in _Imps.__dataclass_fields__])

    def take(self, idx) -> "_Imps":
        return _Imps(*[getattr(self, f)[idx] for f in _Imps.__dataclass_fields__])


class _HourGen:
    def __init__(self, world: _World):
        self.w = world
        cal = world.calib
        self.wr_q = np.asarray(cal.wr_q, dtype=np.float64)
        self.nq = self.wr_q.shape[1] - 1

    def user_cdf(self, day_mask: np.ndarray, hour: int) -> np.ndarray:
        w = self.w
        return np.cumsum(w.activity * day_mask * w.reg_curve[w.region, hour])

    def _outcomes(self, rng, n, users, videos, bonus, t_lo, T1, spam=False) -> _Imps:
        w, cal = self.w, self.w.calib
        cat = w.v_cat[videos]
        dur = w.v_dur[videos]
        aff = w.pref[users, cat].astype(np.float64)
        z = np.clip((np.log(np.maximum(aff * w.C, 1e-4)) - w.z_mu) / w.z_sd, -3.0, 3.0)
        if spam:
            play = np.ones(n, dtype=bool)
            u = rng.uniform(0.02, 0.25, n)
        else:
            play = rng.random(n) < _P_PLAY
            u = _phi(_RHO * z + math.sqrt(1 - _RHO * _RHO) * rng.standard_normal(n))
        b = np.searchsorted(cal.dur_edges, dur, side="right")
        pos = np.clip(u, 0.0, 1.0) * self.nq
        lo = np.minimum(pos.astype(np.int64), self.nq - 1)
        frac = pos - lo
        wr = self.wr_q[b, lo] + frac * (self.wr_q[b, lo + 1] - self.wr_q[b, lo])
        wr = np.clip(wr, 0.0, _WR_MAX)
        pt = np.where(play, np.round(wr * dur), 0).astype(np.int64)
        r = rng.random((n, 5))
        if spam:
            like = r[:, 0] < 0.9
            comment = r[:, 1] < 0.45
            share = r[:, 2] < 0.6
            follow = np.zeros(n, dtype=bool)
        else:
            logit = _LIKE_A0 + _LIKE_AZ * z + _LIKE_AU * (u - 0.5) + bonus
            like = play & (r[:, 0] < 1.0 / (1.0 + np.exp(-logit)))
            boost = np.exp(0.3 * z + 0.5 * bonus)
            comment = play & (r[:, 1] < np.where(like, cal.comment_like, cal.comment_nolike) * boost)
            sh_boost = boost * np.where(bonus > 0, 2.0, 1.0)
            share = play & (r[:, 2] < np.where(like, cal.share_like, cal.share_nolike) * sh_boost)
            follow = play & (r[:, 3] < np.where(like, cal.follow_like, cal.follow_nolike))
            follow &= w.v_creator[videos] != users
        flags = np.column_stack([np.ones(n, dtype=bool), play, like, comment, share, follow])
        t0 = t_lo + (rng.random(n) * (T1 - t_lo)).astype(np.int64)
        rr = rng.random((n, 4))
        times = np.empty((n, 6), dtype=np.int64)
        times[:, 0] = t0
        times[:, 1] = t0 + pt + 150 + (rr[:, 0] * 1500).astype(np.int64)
        times[:, 2] = t0 + (pt * (0.2 + 0.8 * rr[:, 1])).astype(np.int64) + 300
        times[:, 3] = t0 + pt + 2000 + (rr[:, 2] * 28000).astype(np.int64)
        times[:, 4] = t0 + (pt * (0.5 + 0.5 * rr[:, 3])).astype(np.int64) + 500
        times[:, 5] = t0 + (pt * (0.3 + 0.7 * rr[:, 1])).astype(np.int64) + 400
        np.minimum(times, T1 - 1, out=times)
        dur_null = play & (r[:, 4] < cal.null_duration) if not spam else np.zeros(n, dtype=bool)
        follow_video = rng.random(n) < _FOLLOW_WITH_VIDEO
        return _Imps(users, videos, np.full(n, -1), flags, times, pt, dur_null, follow_video)

    def organic_batch(self, rng, n, user_cum, cut, t_lo, T1, pool_shares) -> _Imps:
        w = self.w
        users = np.searchsorted(user_cum, rng.random(n) * user_cum[-1], side="right")
        users = np.minimum(users, w.n_org - 1)
        # sources: pool ids with their shares, the rest organic
        shares = np.array([s for _, s in pool_shares]) if pool_shares else np.zeros(0)
        total = float(shares.sum())
        if total > 0.9:
            shares = shares * 0.9 / total
        probs = np.concatenate([[1.0 - float(shares.sum())], shares])
        src = rng.choice(len(probs), size=n, p=probs / probs.sum()) - 1  # -1 organic
        pool_ids = np.array([pid for pid, _ in pool_shares], dtype=np.int64)
        videos = np.zeros(n, dtype=np.int64)
        pool_col = np.full(n, -1, dtype=np.int64)
        bonus = np.zeros(n)
        # planted pools
        for k, pid in enumerate(pool_ids.tolist()):
            idx = np.flatnonzero(src == k)
            if idx.size == 0:
                continue
            pool = w.pools[pid]
            K = int(np.searchsorted(pool.pub, cut, side="left"))
            cum = pool.cum[:K]
            videos[idx] = pool.videos[np.minimum(np.searchsorted(cum, rng.random(idx.size) * cum[-1], side="right"), K - 1)]
            pool_col[idx] = pid
            bonus[idx] = pool.bonus
        # organic
        io = np.flatnonzero(src < 0)
        if io.size:
            Kg = int(np.searchsorted(w.v_pub, cut, side="left"))
            gcum = w.glob_cum[:Kg]
            gtot = float(gcum[-1]) if Kg else 0.0
            use_pref = rng.random(io.size) < _P_PREF
            r = rng.random(io.size)
            vid = np.searchsorted(gcum, r * gtot, side="right") if gtot > 0 else np.zeros(io.size, np.int64)
            vid = np.minimum(vid, max(Kg - 1, 0))
            pu = np.flatnonzero(use_pref)
            if pu.size:
                uu = users[io[pu]]
                rc = rng.random(pu.size)
                cats = np.minimum((w.pref_cum[uu] < rc[:, None]).sum(1), w.C - 1)
                r2 = rng.random(pu.size)
                for c in np.unique(cats).tolist():
                    m = np.flatnonzero(cats == c)
                    Kc = int(np.searchsorted(w.cat_pub[c], cut, side="left"))
                    if Kc == 0 or w.cat_cum[c][Kc - 1] <= 0:
                        continue  # no eligible video of that category yet: keep the global pick
                    cc = w.cat_cum[c][:Kc]
                    j = np.minimum(np.searchsorted(cc, r2[m] * cc[-1], side="right"), Kc - 1)
                    vid[pu[m]] = w.cat_v[c][j]
            videos[io] = vid
        imps = self._outcomes(rng, n, users, videos, bonus, t_lo, T1)
        imps.pool = pool_col
        return imps

    def spam_batch(self, rng, n, cut, t_lo, T1) -> _Imps:
        w = self.w
        pool = w.pools[w.spam_pool]
        K = int(np.searchsorted(pool.pub, cut, side="left"))
        users = rng.choice(w.spam_users, size=n)
        # the ring of accounts pushes all spam videos published so far (its own and each other's)
        videos = pool.videos[:K][rng.integers(0, K, n)]
        imps = self._outcomes(rng, n, users, videos, np.zeros(n), t_lo, T1, spam=True)
        imps.pool = np.full(n, -2, dtype=np.int64)
        return imps


def _fill(gen_batch, need: int, epi: float) -> _Imps | None:
    """Generate impression groups until they hold at least `need` events, then truncate so the
    total is exactly `need` (the last group may lose its trailing events)."""
    if need <= 0:
        return None
    parts: list[_Imps] = []
    total = 0
    while total < need:
        n = int((need - total) / epi * 1.05) + 8
        b = gen_batch(n)
        parts.append(b)
        total += int(b.flags.sum())
    imps = _Imps.concat(parts) if len(parts) > 1 else parts[0]
    cnt = np.cumsum(imps.flags.sum(1))
    k = int(np.searchsorted(cnt, need, side="left"))
    imps = imps.take(slice(0, k + 1))
    excess = int(cnt[k]) - need
    if excess:
        row = imps.flags[k]
        on = np.flatnonzero(row)
        row[on[len(on) - excess:]] = False
    return imps


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------
class _TimeFmt:
    """Fast RFC 3339 formatting: minute prefixes ('YYYY-MM-DDTHH:MM:') for the run's span plus
    'SS.mmm' suffixes, joined per event."""

    def __init__(self, start_ms: int, days: int):
        self.base_min = (start_ms - 3 * _DAY_MS) // _MIN_MS
        n_min = (days + 6) * 1440
        mins = (np.arange(n_min, dtype=np.int64) + self.base_min) * _MIN_MS
        s = np.datetime_as_string(mins.astype("datetime64[ms]"), unit="m")
        self.prefix = np.array([x + ":" for x in s.tolist()], dtype=object)
        self.secms = np.array([f"{i // 1000:02d}.{i % 1000:03d}" for i in range(_MIN_MS)], dtype=object)

    def rfc(self, ms: np.ndarray) -> np.ndarray:
        mi = ms // _MIN_MS - self.base_min
        if mi.size and (mi.min() < 0 or mi.max() >= len(self.prefix)):
            return np.array([_iso_ms(int(x)) for x in ms.tolist()], dtype=object)
        return self.prefix[mi] + self.secms[ms % _MIN_MS]


def _iso_ms(ms: int) -> str:
    d = _dt.datetime(1970, 1, 1) + _dt.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}"


def _encode_time(ms: int, enc: int, off_min: int) -> Any:
    """event_time value (Python object for json.dumps) in encoding enc (0 Z, 1 offset, 2 epoch)."""
    if enc == 2:
        return ms
    if enc == 1:
        return _iso_ms(ms + off_min * _MIN_MS) + _offset_suffix(off_min)
    return _iso_ms(ms) + "Z"


# ---------------------------------------------------------------------------------------------
# Bad lines
# ---------------------------------------------------------------------------------------------
_BAD_CODES = tuple(c for c in contract.REASON_CODES if c != contract.REASON_CORRUPT_FILE)
_UNKNOWN_TYPES = ("view", "dislike", "Play", "LIKE", "live_gift", "stitch", "duet", "save")
_BAD_TIMES = (
    "{naive}", "{naive_space}", "{slash}", "yesterday", "{digits}", "{feb30}", "{date_only}",
)


def _make_bad(code: str, tmpl: dict[str, Any], rng: np.random.Generator, hour_end_ms: int,
              tolerance_ms: int, offset_only: bool = False) -> str:
    """Serialise `tmpl` (a valid event dict) broken in exactly one way that maps to `code`
    (``offset_only``: time_encoding="offset", planted times carry an offset, never ``Z``)."""
    d = dict(tmpl)
    et = d["event_type"]
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    dumps = lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":"))  # noqa: E731
    if code == contract.REASON_INVALID_JSON:
        line = dumps(d)
        kind = int(rng.integers(10))
        if kind < 6:  # truncated mid-line (collector crash)
            return line[: int(rng.integers(1, len(line) - 1))]
        if kind == 6:
            return str(d)  # Python repr: single quotes
        if kind == 7:
            return line[:-1] + ",}"  # trailing comma
        if kind == 8:
            return "<html><body>502 Bad Gateway</body></html>"
        return "   "  # blank (white space only)
    if code == contract.REASON_NOT_AN_OBJECT:
        kind = int(rng.integers(5))
        if kind == 0:
            return dumps([d])
        if kind == 1:
            return str(int(rng.integers(0, 10**6)))
        if kind == 2:
            return dumps(d["event_type"])
        if kind == 3:
            return "null"
        return "[]"
    if code == contract.REASON_MISSING_FIELD:
        req = list(contract.ALWAYS_REQUIRED) + list(contract.REQUIRED_BY_TYPE[et])
        f = pick(req)
        if (et, f) in contract.NULLABLE_REQUIRED or rng.random() < 0.6:
            del d[f]
        else:
            d[f] = None
        return dumps(d)
    if code == contract.REASON_WRONG_TYPE:
        opts = ["user_id_num", "event_id_num"] + (["app_version_num"] if "app_version" in d else [])
        if "video_id" in d:
            opts.append("video_id_num")
        if et == "play":
            opts += ["pt_str", "pt_str", "pt_float", "pt_bool"]
            if d.get("video_duration_ms") is not None:
                opts.append("dur_str")
        if et == "publish":
            opts += ["tags_str", "tags_str", "tags_num_elem", "dur_str"]
        o = pick(opts)
        if o == "user_id_num":
            uid = d["user_id"][1:]
            d["user_id"] = int(uid) if uid.isdigit() else int(rng.integers(1, 10**9))
        elif o == "event_id_num":
            d["event_id"] = int(rng.integers(1, 10**9))
        elif o == "app_version_num":
            d["app_version"] = 12.4
        elif o == "video_id_num":
            vid = d["video_id"][1:]
            d["video_id"] = int(vid) if vid.isdigit() else int(rng.integers(1, 10**9))
        elif o == "pt_str":
            d["play_time_ms"] = str(d["play_time_ms"])
        elif o == "pt_float":
            d["play_time_ms"] = d["play_time_ms"] + 0.5
        elif o == "pt_bool":
            d["play_time_ms"] = True
        elif o == "dur_str":
            d["video_duration_ms"] = str(d["video_duration_ms"])
        elif o == "tags_str":
            d["hashtags"] = " ".join(d["hashtags"]) or "#fyp"
        elif o == "tags_num_elem":
            d["hashtags"] = list(d["hashtags"]) + [2024]
        return dumps(d)
    if code == contract.REASON_UNKNOWN_EVENT_TYPE:
        d["event_type"] = pick(_UNKNOWN_TYPES)
        return dumps(d)
    if code == contract.REASON_INVALID_EVENT_TIME:
        ms = hour_end_ms - _HOUR_MS + int(rng.integers(0, _HOUR_MS))
        iso = _iso_ms(ms)
        form = pick(_BAD_TIMES)
        d["event_time"] = {
            "{naive}": iso,
            "{naive_space}": iso.replace("T", " ")[:19],
            "{slash}": iso[:19].replace("-", "/").replace("T", " "),
            "{digits}": str(ms),
            "{feb30}": "2024-02-30T10:15:00Z",
            "{date_only}": iso[:10],
        }.get(form, form)
        if offset_only and d["event_time"].endswith("Z"):
            d["event_time"] = d["event_time"][:-1] + "+08:00"
        return dumps(d)
    if code == contract.REASON_FUTURE_EVENT_TIME:
        ms = hour_end_ms + tolerance_ms + 60_000 + int(rng.integers(0, 3 * _DAY_MS))
        e = int(rng.integers(3))
        d["event_time"] = _encode_time(ms, 1 if offset_only else e, pick((480, 0, -300, 330)))
        return dumps(d)
    if code == contract.REASON_NEGATIVE_PLAY_TIME:
        d["play_time_ms"] = -int(rng.integers(1, 60_000))
        return dumps(d)
    if code == contract.REASON_INVALID_DURATION:
        d["video_duration_ms"] = 0 if rng.random() < 0.5 else -int(rng.integers(1, 200_000))
        return dumps(d)
    raise AssertionError(code)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _encode_file(lines: list[str], compress: bool) -> bytes:
    raw = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    if compress:
        return gzip.compress(raw, compresslevel=1, mtime=0)
    return raw


# ---------------------------------------------------------------------------------------------
# generate()
# ---------------------------------------------------------------------------------------------
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
    catalogue = _check_choice("catalogue", catalogue, _CATALOGUE_MODES)
    client_fields = _check_choice("client_fields", client_fields, _CLIENT_FIELD_MODES)
    id_style = _check_choice("id_style", id_style, _ID_STYLES)
    time_encoding = _check_choice("time_encoding", time_encoding, _TIME_ENCODINGS)
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
    p = _Params(
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
    vocab = _cached("vocab", _resolve(tags_path, DEFAULT_TAGS_PATH), _load_vocab)
    calib = _cached("calib", _resolve(kuairand_path, DEFAULT_KUAIRAND_PATH), _load_calib)
    world = _World(p, vocab, calib)
    live_files = (days * 24 - world.first_hour) * files_per_hour
    if redelivered_files > live_files:
        raise ValueError(f"redelivered_files={redelivered_files} exceeds the {live_files} regular files "
                         f"(first_day_share={first_day_share}: day 0 has files from hour {world.first_hour})")
    run = _Run(p, world)
    run.execute()
    gt_path = run.write_ground_truth()
    secs = time.perf_counter() - t_begin
    ev_total = int(run.ev_arrival.sum())
    return GenerationSummary(
        landing_root=str(root),
        files_written=len(run.files),
        events_total=ev_total,
        lines_total=int(sum(run.lines_by_date.values())),
        events_per_date={run.dates[d]: int(run.ev_arrival[d].sum()) for d in range(days)},
        lines_per_date=dict(run.lines_by_date),
        bad_lines_by_reason=dict(run.bad_by_reason),
        duplicates=int(run.dup_planted + run.dup_redelivered),
        late_events=int(run.late_by_arrival.sum()),
        redelivered_files=[f["copy"] for f in run.redeliveries],
        corrupt_files=list(run.corrupt_paths),
        ground_truth_path=str(gt_path),
        seconds=round(secs, 3),
        events_per_second=round(ev_total / secs, 1) if secs > 0 else 0.0,
    )


class _Run:
    """One generation run: the hour loop, file writing and the ground-truth tallies."""

    def __init__(self, p: _Params, world: _World):
        self.p, self.w = p, world
        self.gen = _HourGen(world)
        self.tf = _TimeFmt(p.start_ms, p.days)
        self.dates = [(p.start + _dt.timedelta(days=d)).isoformat() for d in range(p.days)]
        self.ymd = [d.replace("-", "") for d in self.dates]
        self.ext = ".jsonl.gz" if p.compress else ".jsonl"
        self.tol_ms = p.future_tolerance_seconds * 1000
        rng = np.random.default_rng([p.seed, 0x5EED, 2])
        fh = world.first_hour  # hours before go-live have no files
        n_slots = (p.days * 24 - fh) * p.files_per_hour
        red = rng.choice(n_slots, size=p.redelivered_files, replace=False) if p.redelivered_files else []
        self.redeliver = {(int(s) // p.files_per_hour + fh, int(s) % p.files_per_hour) for s in red}
        corrupt_hours = rng.integers(fh, p.days * 24, p.corrupt_files) if p.corrupt_files else []
        self.corrupt_per_hour: dict[int, int] = {}
        for g in sorted(int(x) for x in corrupt_hours):
            self.corrupt_per_hour[g] = self.corrupt_per_hour.get(g, 0) + 1
        codes = list(_BAD_CODES)
        rng.shuffle(codes)
        self.bad_codes = codes
        self.bad_counter = 0
        self.bad_acc = 0.0
        self.dup_acc = 0.0
        self.late_acc = 0.0
        # tallies
        D = p.days
        self.files: list[dict[str, Any]] = []
        self.lines_by_date = {d: 0 for d in self.dates}
        self.bad_by_reason = {c: 0 for c in _BAD_CODES}
        self.bad_by_reason_original = {c: 0 for c in _BAD_CODES}
        self.bad_by_date = {d: 0 for d in self.dates}
        self.dup_planted = 0
        self.dup_planted_by_date = {d: 0 for d in self.dates}
        self.dup_cross_date = 0
        self.dup_redelivered = 0
        self.dup_redelivered_by_date = {d: 0 for d in self.dates}
        self.redeliveries: list[dict[str, Any]] = []
        self.corrupt_paths: list[str] = []
        self.ev_arrival = np.zeros((D, 7), dtype=np.int64)
        self.ev_event_date = np.zeros((D, 7), dtype=np.int64)
        self.late_by_arrival = np.zeros(D, dtype=np.int64)
        self.late_by_event_date = np.zeros(D, dtype=np.int64)
        n_tr = len(world.tracked_names)
        self.tracked_events = np.zeros((D, n_tr), dtype=np.int64)
        self.tracked_pairs: list[np.ndarray] = []
        self.tv_events = np.zeros((D, max(1, len(world.tv_pools))), dtype=np.int64)
        self.tv_pairs: list[np.ndarray] = []
        self.hour_budget = np.zeros((D, 24), dtype=np.int64)
        self.id_counter: dict[int, int] = {}
        self.carry: list[str] = []  # duplicate copies for the next hour
        self.carry_from_date: str | None = None
        self.written_paths: dict[Path, set[str]] = {}
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list[Future] = []

    # .............................................................................................
    def execute(self) -> None:
        p, w = self.p, self.w
        try:
            for d in range(p.days):
                self._day(d)
            for f in self.pending:
                f.result()
        finally:
            self.pool.shutdown(wait=True)
        self._cleanup_stale()

    def _submit(self, path: Path, lines: list[str] | None, data: bytes | None = None) -> None:
        self.written_paths.setdefault(path.parent, set()).add(path.name)
        compress = self.p.compress and path.name.endswith(".gz")

        def job() -> None:
            payload = data if data is not None else _encode_file(lines, compress)
            _atomic_write(path, payload)

        self.pending.append(self.pool.submit(job))
        if len(self.pending) > 6:
            self.pending.pop(0).result()

    def _cleanup_stale(self) -> None:
        for folder, names in self.written_paths.items():
            for f in folder.iterdir():
                if f.name not in names and (_PART_RE.match(f.name) or (f.name.startswith(".part-") and f.name.endswith(".tmp"))):
                    f.unlink()

    # .............................................................................................
    def _day(self, d: int) -> None:
        p, w = self.p, self.w
        rng_day = np.random.default_rng([p.seed, 0x5EED, 3, d])
        day_mask = (rng_day.random(w.n_all) < w.p_active).astype(np.float64)
        day_ms = p.start_ms + d * _DAY_MS
        pub_per_hour = np.bincount(((w.v_pub[(w.v_pub >= day_ms) & (w.v_pub < day_ms + _DAY_MS)] - day_ms) // _HOUR_MS),
                                   minlength=24)
        day_events = w.day0_events if d == 0 else p.events_per_day
        inter_total = max(0, day_events - int(pub_per_hour.sum()))
        act_reg = np.bincount(w.region, weights=w.activity * day_mask, minlength=len(_REGIONS))
        hour_w = act_reg @ w.reg_curve
        h_first = w.first_hour if d == 0 else 0
        if h_first:
            hour_w[:h_first] = 0.0  # before go-live
        budget = _largest_remainder(inter_total, hour_w)
        self.hour_budget[d] = budget
        spam = np.zeros(24, dtype=np.int64)
        if p.spam_accounts and d == w.spam_day:
            hours = np.arange(w.spam_hour + 1, 24)
            spam_total = int(round(_SPAM_EVENT_SHARE * day_events))
            spam[hours] = _largest_remainder(spam_total, np.ones(len(hours)))
            spam = np.minimum(spam, budget // 2)
        for h in range(h_first, 24):
            self._hour(d, h, day_mask, int(budget[h] - spam[h]), int(spam[h]))

    def _hour(self, d: int, h: int, day_mask: np.ndarray, need: int, need_spam: int) -> None:
        p, w, gen = self.p, self.w, self.gen
        g = d * 24 + h
        rng = np.random.default_rng([p.seed, 0x5EED, 4, d, h])
        T0 = p.start_ms + g * _HOUR_MS
        T1 = T0 + _HOUR_MS
        t_lo = T0 + (_CATALOGUE_WINDOW_MS if g == w.first_hour else 0)
        cut = t_lo
        t_mid_days = (g + 0.5) / 24.0
        user_cum = gen.user_cdf(day_mask, h)
        if user_cum[-1] <= 0:
            user_cum = np.cumsum(np.ones(w.n_org))
        pool_shares = []
        for pid, pool in enumerate(w.pools):
            s = pool.share(d, t_mid_days)
            if s > 0 and pool.pub.size and pool.pub[0] < cut:
                pool_shares.append((pid, s))
        imps = _fill(lambda n: gen.organic_batch(rng, n, user_cum, cut, t_lo, T1, pool_shares), need, 1.9)
        parts = [x for x in (imps,) if x is not None]
        if need_spam > 0:
            spam_pool = w.pools[w.spam_pool]
            if spam_pool.pub.size and spam_pool.pub[0] < cut:
                sp = _fill(lambda n: gen.spam_batch(rng, n, cut, t_lo, T1), need_spam, 4.0)
                parts.append(sp)
            else:  # spam videos not yet published: organic instead
                extra = _fill(lambda n: gen.organic_batch(rng, n, user_cum, cut, t_lo, T1, pool_shares), need_spam, 1.9)
                parts.append(extra)
        imps = _Imps.concat(parts) if len(parts) > 1 else (parts[0] if parts else None)

        # ---- late groups (arrive now, happened on an earlier date) ----
        late_rows = np.zeros(0, dtype=np.int64)
        if imps is not None and d >= 1 and p.late_fraction > 0:
            sizes = imps.flags.sum(1)
            self.late_acc += p.late_fraction * float(sizes.sum())
            target = int(self.late_acc)
            if target > 0:
                cand = np.flatnonzero(imps.pool != -2)
                order = cand[rng.permutation(cand.size)]
                csum = np.cumsum(sizes[order])
                k = int(np.searchsorted(csum, target, side="left"))
                chosen = order[: k + 1]
                midnight = p.start_ms + d * _DAY_MS
                t0 = imps.times[chosen, 0]
                lateness = (t0 - midnight) + _HOUR_MS + (rng.exponential(5.0, chosen.size) * _HOUR_MS).astype(np.int64)
                lateness = np.minimum(lateness, (t0 - midnight) + 3 * _DAY_MS)
                new_t0 = t0 - lateness
                lb = np.maximum(w.live_ms, w.v_pub[imps.video[chosen]] + 1000)
                new_t0 = np.maximum(new_t0, lb)
                ok = new_t0 + _HOUR_MS <= midnight
                chosen, new_t0, t0 = chosen[ok], new_t0[ok], t0[ok]
                imps.times[chosen] -= (t0 - new_t0)[:, None]
                late_rows = chosen
                self.late_acc -= float(sizes[chosen].sum())
        # ---- expand to events ----
        pub_idx = np.flatnonzero((w.v_pub >= T0) & (w.v_pub < T1))
        n_pub = pub_idx.size
        if imps is not None:
            gi, ti = np.nonzero(imps.flags)
        else:
            gi = ti = np.zeros(0, dtype=np.int64)
        n_int = gi.size
        n = n_pub + n_int
        etype = np.concatenate([np.full(n_pub, T_PUBLISH), ti]).astype(np.int64)
        user = np.concatenate([w.v_creator[pub_idx], imps.user[gi] if n_int else np.zeros(0, np.int64)]).astype(np.int64)
        video = np.concatenate([pub_idx, imps.video[gi] if n_int else np.zeros(0, np.int64)]).astype(np.int64)
        tms = np.concatenate([w.v_pub[pub_idx], imps.times[gi, ti] if n_int else np.zeros(0, np.int64)])
        late = np.zeros(n, dtype=bool)
        if n_int and late_rows.size:
            lm = np.zeros(len(imps.user), dtype=bool)
            lm[late_rows] = True
            late[n_pub:] = lm[gi]
        if n_int:
            is_follow = ti == T_FOLLOW
            video_ref = video.copy()
            video_ref[n_pub:][is_follow & ~imps.follow_video[gi]] = w.n_videos  # follow without video
        else:
            video_ref = video.copy()
        # arrival order: normal events shortly after event_time (same hour); late ones at random
        arrival = np.minimum(tms + rng.integers(0, 5000, n), T1 - 1)
        arrival[late] = T0 + rng.integers(0, _HOUR_MS, int(late.sum()))
        order = np.argsort(arrival, kind="stable")
        etype, user, video, video_ref, tms, late = (a[order] for a in (etype, user, video, video_ref, tms, late))
        pt = np.zeros(n, dtype=np.int64)
        dnull = np.zeros(n, dtype=bool)
        if n_int:
            pt_all = np.concatenate([np.zeros(n_pub, np.int64), imps.play_time[gi]])[order]
            dn_all = np.concatenate([np.zeros(n_pub, bool), imps.dur_null[gi]])[order]
            pt, dnull = pt_all, dn_all

        # ---- tallies on valid distinct events ----
        ev_day = (tms - p.start_ms) // _DAY_MS
        np.add.at(self.ev_arrival[d], etype, 1)
        np.add.at(self.ev_event_date, (ev_day, etype), 1)
        self.late_by_arrival[d] += int(late.sum())
        if late.any():
            np.add.at(self.late_by_event_date, ev_day[late], 1)
        trk = w.v_tracked[video_ref]
        m = trk >= 0
        if m.any():
            np.add.at(self.tracked_events, (ev_day[m], trk[m]), 1)
            eng = m & np.isin(etype, _ENGAGED_TYPES)
            self.tracked_pairs.append((ev_day[eng] * len(w.tracked_names) + trk[eng]) * w.n_all + user[eng])
        tv = w.v_tv[video_ref]
        m = tv >= 0
        if m.any():
            np.add.at(self.tv_events, (ev_day[m], tv[m]), 1)
            eng = m & np.isin(etype, _ENGAGED_TYPES)
            self.tv_pairs.append((ev_day[eng] * len(w.tv_pools) + tv[eng]) * w.n_all + user[eng])

        # ---- bad lines ----
        self.bad_acc += p.bad_fraction / (1.0 - p.bad_fraction) * n if p.bad_fraction > 0 else 0.0
        n_bad = int(self.bad_acc)
        self.bad_acc -= n_bad
        total = n + n_bad
        is_bad = np.zeros(total, dtype=bool)
        if n_bad:
            is_bad[rng.choice(total, size=n_bad, replace=False)] = True
        valid_pos = np.flatnonzero(~is_bad)
        bad_pos = np.flatnonzero(is_bad)
        # event ids: one counter per arrival date, in line order
        base = self._date_counter(d, total)
        pre = f'"e-{p.seed}-{self.ymd[d]}-'
        if p.id_style == "uuid":
            ids = [f'"{_long_id(p.seed, "event", f"{self.ymd[d]}-{i}")}"' for i in range(base, base + total)]
        else:
            ids = [f'{pre}{i:07x}"' for i in range(base, base + total)]
        lines: list[str] = [""] * total
        valid_lines = self._format(rng, [ids[i] for i in valid_pos.tolist()], etype, user, video, video_ref, tms, pt, dnull)
        for pos, line in zip(valid_pos.tolist(), valid_lines):
            lines[pos] = line
        bad_codes_here: list[str] = []
        for pos in bad_pos.tolist():
            code = self.bad_codes[self.bad_counter % len(self.bad_codes)]
            self.bad_counter += 1
            tmpl = self._template(rng, code, ids[pos][1:-1], etype, user, video, video_ref, tms, pt, dnull, T0)
            lines[pos] = _make_bad(code, tmpl, rng, T1, self.tol_ms, offset_only=p.time_encoding == "offset")
            bad_codes_here.append(code)

        # ---- split into parts, duplicates, carry-in ----
        n_parts = max(p.files_per_hour, math.ceil(total / p.max_lines_per_file))
        bounds = np.linspace(0, total, n_parts + 1).astype(np.int64)
        part_of = np.searchsorted(bounds[1:], np.arange(total), side="right")
        part_lines = [lines[bounds[k]: bounds[k + 1]] for k in range(n_parts)]
        part_bad = np.bincount(part_of[bad_pos], minlength=n_parts) if n_bad else np.zeros(n_parts, np.int64)
        bad_code_by_part: list[list[str]] = [[] for _ in range(n_parts)]
        for pos, code in zip(bad_pos.tolist(), bad_codes_here):
            bad_code_by_part[int(part_of[pos])].append(code)
        inserts: list[list[str]] = [[] for _ in range(n_parts)]
        date = self.dates[d]
        # carry-in: copies of the previous hour's events
        carry_in, self.carry = self.carry, []
        for line in carry_in:
            inserts[int(rng.integers(n_parts))].append(line)
        if carry_in and self.carry_from_date != date:
            self.dup_cross_date += len(carry_in)
        landed = len(carry_in)
        self.dup_acc += p.duplicate_fraction * n
        n_dup = min(int(self.dup_acc), n)
        self.dup_acc -= n_dup
        is_last_hour = g == p.days * 24 - 1
        if n_dup:
            chosen = rng.choice(valid_pos, size=n_dup, replace=False)
            nxt = (rng.random(n_dup) < 0.3) & (not is_last_hour)
            for pos, to_next in zip(chosen.tolist(), nxt.tolist()):
                if to_next:
                    self.carry.append(lines[pos])
                else:
                    src = int(part_of[pos])
                    dst = int(rng.integers(n_parts - 1))
                    dst = dst + 1 if dst >= src else dst
                    inserts[dst].append(lines[pos])
                    landed += 1
        self.carry_from_date = date
        self.dup_planted += landed
        self.dup_planted_by_date[date] += landed

        folder = p.landing_root / contract.LANDING_EVENTS_DIR / f"date={self.dates[d]}" / f"hour={h:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(n_parts):
            pl = part_lines[k]
            ins = inserts[k]
            if ins:
                pos = np.sort(rng.integers(0, len(pl) + 1, len(ins)))
                merged: list[str] = []
                prev = 0
                for ps, line in zip(pos.tolist(), ins):
                    merged.extend(pl[prev:ps])
                    merged.append(line)
                    prev = ps
                merged.extend(pl[prev:])
                pl = merged
            name = f"part-{k:05d}{self.ext}"
            path = folder / name
            rel = path.relative_to(p.landing_root).as_posix()
            nb = int(part_bad[k])
            self.files.append(dict(path=rel, kind="regular", lines=len(pl), bad_lines=nb,
                                   duplicate_copies=len(ins)))
            self.lines_by_date[date] += len(pl)
            self.bad_by_date[date] += nb
            for c in bad_code_by_part[k]:
                self.bad_by_reason[c] += 1
                self.bad_by_reason_original[c] += 1
            if (g, k) in self.redeliver:
                data = _encode_file(pl, p.compress)
                self._submit(path, None, data)
                cpath = folder / f"part-{k:05d}-redelivery{self.ext}"
                self._submit(cpath, None, data)
                crel = cpath.relative_to(p.landing_root).as_posix()
                self.files.append(dict(path=crel, kind="redelivery", redelivery_of=rel, lines=len(pl),
                                       bad_lines=nb, duplicate_copies=len(pl) - nb))
                self.redeliveries.append(dict(original=rel, copy=crel, lines=len(pl), bad_lines=nb))
                self.lines_by_date[date] += len(pl)
                self.bad_by_date[date] += nb
                self.dup_redelivered += len(pl) - nb
                self.dup_redelivered_by_date[date] += len(pl) - nb
                for c in bad_code_by_part[k]:
                    self.bad_by_reason[c] += 1
            else:
                self._submit(path, pl)
        for j in range(self.corrupt_per_hour.get(g, 0)):
            name = f"part-{n_parts + j:05d}.jsonl.gz"
            path = folder / name
            crng = np.random.default_rng([p.seed, 0x5EED, 5, g, j])
            body = crng.integers(0, 256, int(crng.integers(512, 4096)), dtype=np.uint8).tobytes()
            # gzip header (mtime 0, OS unknown), then a deflate block with reserved type 11
            data = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\x07" + body
            self._submit(path, None, data)
            rel = path.relative_to(p.landing_root).as_posix()
            self.corrupt_paths.append(rel)
            self.files.append(dict(path=rel, kind="corrupt", lines=0, bad_lines=0, duplicate_copies=0))

    def _date_counter(self, d: int, n: int) -> int:
        """Reserve n event-id numbers of arrival date d; returns the first."""
        base = self.id_counter.get(d, 0)
        self.id_counter[d] = base + n
        return base

    # .............................................................................................
    def _format(self, rng, ids: list[str], etype, user, video, video_ref, tms, pt, dnull) -> list[str]:
        """Valid JSON lines for the hour's events (vectorised fragments, one f-string per line)."""
        w = self.w
        n = len(ids)
        if n == 0:
            return []
        # event_time encodings
        r = rng.random(n)
        ec = w.enc_cum[user]
        enc = (r >= ec[:, 0]).astype(np.int64) + (r >= ec[:, 1])
        if self.p.time_encoding == "offset":
            enc = np.ones(n, dtype=np.int64)  # every time in the actor's local offset
        time_json = np.empty(n, dtype=object)
        m0 = enc == 0
        if m0.any():
            time_json[m0] = '"' + self.tf.rfc(tms[m0]) + 'Z"'
        m1 = enc == 1
        if m1.any():
            off = w.off_min[user[m1]]
            time_json[m1] = '"' + self.tf.rfc(tms[m1] + off * _MIN_MS) + w.off_suffix[user[m1]] + '"'
        m2 = enc == 2
        if m2.any():
            time_json[m2] = np.array([str(x) for x in tms[m2].tolist()], dtype=object)
        type_json = np.array(_TYPES, dtype=object)[etype]
        user_json = w.user_json[user]
        vfrag = w.vid_frag[video_ref]
        tail = np.full(n, "", dtype=object)
        mp = np.flatnonzero(etype == T_PLAY)
        if mp.size:
            durs = w.v_dur[video_ref[mp]]
            tail[mp] = [f',"play_time_ms":{a},"video_duration_ms":{"null" if nl else b}'
                        for a, b, nl in zip(pt[mp].tolist(), durs.tolist(), dnull[mp].tolist())]
        mf = np.flatnonzero(etype == T_FOLLOW)
        if mf.size:
            # a follow without video_id still names the creator of the video it came from
            tail[mf] = ',"creator_id":' + w.user_json[w.v_creator[video[mf]]]
        mpub = np.flatnonzero(etype == T_PUBLISH)
        if mpub.size:
            tail[mpub] = w.pub_tail[video_ref[mpub]]
        rc = rng.random(n)
        variant = (rc >= _CLIENT_MISSING[0]).astype(np.int64) + (rc >= _CLIENT_MISSING[0] + _CLIENT_MISSING[1])
        client = w.client[user, variant]
        extra = np.full(n, "", dtype=object)
        mx = np.flatnonzero(rng.random(n) < _EXTRA_SHARE)
        if mx.size:
            extra[mx] = np.array(_EXTRA_FIELDS, dtype=object)[rng.integers(0, len(_EXTRA_FIELDS), mx.size)]
        return [
            f'{{"event_id":{a},"event_type":"{b}","event_time":{c},"user_id":{u}{v}{t}{cl}{x}}}'
            for a, b, c, u, v, t, cl, x in zip(ids, type_json, time_json, user_json, vfrag, tail, client, extra)
        ]

    def _template(self, rng, code, event_id, etype, user, video, video_ref, tms, pt, dnull, T0) -> dict[str, Any]:
        """A valid event dict to break: a copy of one of the hour's events of a suitable type."""
        w = self.w
        want = {
            contract.REASON_NEGATIVE_PLAY_TIME: (T_PLAY,),
            contract.REASON_INVALID_DURATION: (T_PLAY, T_PUBLISH),
        }.get(code)
        if code == contract.REASON_WRONG_TYPE and rng.random() < 0.6:
            want = (T_PLAY, T_PUBLISH)
        cand = np.flatnonzero(np.isin(etype, want)) if want else np.arange(len(etype))
        if want and code == contract.REASON_INVALID_DURATION:
            cand = cand[~dnull[cand]]
        if cand.size:
            i = int(cand[int(rng.integers(cand.size))])
            et, u, v, t, ptv, dn = int(etype[i]), int(user[i]), int(video_ref[i]), int(tms[i]), int(pt[i]), bool(dnull[i])
            v_orig = int(video[i])
        else:  # synthesise a play (or publish) of a catalogue video
            et = (want or (T_PLAY,))[0]
            u = int(rng.integers(w.n_org))
            v = 0
            t = T0 + int(rng.integers(_HOUR_MS))
            ptv, dn = int(w.v_dur[0]), False
            v_orig = 0
        def enc() -> int:
            e = int(rng.integers(3))
            return 1 if self.p.time_encoding == "offset" else e

        d: dict[str, Any] = {
            "event_id": event_id,
            "event_type": _TYPES[et],
            "event_time": _encode_time(t, enc(), int(w.off_min[u])),
            "user_id": w.user_ids[u],
        }
        if v < w.n_videos:
            d["video_id"] = w.video_ids[v]
        if et == T_PLAY:
            d["play_time_ms"] = ptv
            d["video_duration_ms"] = None if dn else int(w.v_dur[v])
        elif et == T_FOLLOW:
            d["creator_id"] = w.user_ids[int(w.v_creator[v_orig])]
        elif et == T_PUBLISH:
            d = json.loads("{" + f'"event_id":"{event_id}","event_type":"publish","event_time":1,"user_id":"x"'
                           + w.pub_tail[v] + w.vid_frag[v] + "}")
            d["event_time"] = _encode_time(t, enc(), int(w.off_min[u]))
            d["user_id"] = w.user_ids[int(w.v_creator[v])]
        if self.p.client_fields != "none":
            d["region"] = _REGIONS[int(w.region[u])][0]
        if self.p.client_fields == "full":
            d["platform"] = _PLATFORMS[int(w.platform[u])]
            d["app_version"] = w.appv_names[int(w.appv[u])]
        return d

    # .............................................................................................
    def _daily_curves(self, pool: _Pool) -> dict[str, float]:
        out = {}
        for d in range(self.p.days):
            t = d + (np.arange(24) + 0.5) / 24.0
            m = trend_multiplier(t - pool.start_day, pool.peak)
            wts = self.hour_budget[d].astype(np.float64)
            out[self.dates[d]] = round(float((m * wts).sum() / wts.sum()) if wts.sum() > 0 else float(m.mean()), 3)
        return out

    def _distinct(self, pairs: list[np.ndarray], n_keys: int) -> np.ndarray:
        D = self.p.days
        out = np.zeros((D, max(1, n_keys)), dtype=np.int64)
        if pairs and n_keys:
            u = np.unique(np.concatenate(pairs))
            key = u // self.w.n_all
            np.add.at(out, (key // n_keys, key % n_keys), 1)
        return out

    def _parameters(self) -> dict[str, Any]:
        d = self.p.public()
        if "source_shape" in d:
            d["source_shape"]["go_live_time"] = _iso_ms(self.w.live_ms) + "Z"
            d["source_shape"]["first_live_hour"] = self.w.first_hour
        return d

    def write_ground_truth(self) -> Path:
        p, w, v = self.p, self.w, self.w.vocab
        D = p.days
        n_tr = len(w.trend_tags)
        tracked_users = self._distinct(self.tracked_pairs, len(w.tracked_names))
        tv_users = self._distinct(self.tv_pairs, len(w.tv_pools))
        date = lambda k: (p.start + _dt.timedelta(days=k)).isoformat()  # noqa: E731

        def series(arr: np.ndarray, j: int) -> dict[str, int]:
            return {self.dates[d]: int(arr[d, j]) for d in range(D)}

        trends = []
        for j, tag in enumerate(w.trend_tags):
            pool = w.pools[j]
            trends.append({
                "tag": v.tags[tag],
                "surface_form": v.surface[tag],
                "category": v.categories[int(v.tag_main_cat[tag])],
                "start_date": date(pool.start_day),
                "peak_date": date(pool.start_day + 2),
                "peak_multiplier": pool.peak,
                "base_impression_share": round(pool.base_share, 6),
                "daily_multiplier": self._daily_curves(pool),
                "video_ids": [w.video_ids[i] for i in pool.videos.tolist()],
                "daily_engaged_users": series(tracked_users, j),
                "daily_events": series(self.tracked_events, j),
            })
        tvs = []
        for k, pid in enumerate(w.tv_pools):
            pool = w.pools[pid]
            vi = int(pool.videos[0])
            tvs.append({
                "video_id": w.video_ids[vi],
                "creator_id": w.user_ids[int(w.v_creator[vi])],
                "hashtags": [v.tags[t] for t in w.v_tags[vi]],
                "start_date": date(pool.start_day),
                "peak_date": date(pool.start_day + 2),
                "peak_multiplier": pool.peak,
                "base_impression_share": pool.base_share,
                "daily_multiplier": self._daily_curves(pool),
                "daily_engaged_users": series(tv_users, k),
                "daily_events": series(self.tv_events, k),
            })
        st_pool = w.pools[w.steady_pool]
        sp_pool = w.pools[w.spam_pool]
        gt: dict[str, Any] = {
            "generator": "reelhouse.sources.generator",
            "generator_version": GENERATOR_VERSION,
            "contract_version": contract.CONTRACT_VERSION,
            "parameters": self._parameters(),
            "dates": self.dates,
            "sources": {
                "vocabulary": {"kind": v.source, "path": v.path, "sha256": v.sha256,
                               "distinct_tags": len(v.tags), "categories": len(v.categories)},
                "calibration": {"kind": w.calib.source, "path": w.calib.path, "sha256": w.calib.sha256,
                                "reference_stats": w.calib.stats,
                                "null_duration_share": round(w.calib.null_duration, 4),
                                "comment_rate_liked": round(w.calib.comment_like, 5),
                                "share_rate_liked": round(w.calib.share_like, 5),
                                "follow_rate_liked": round(w.calib.follow_like, 5)},
            },
            "trend_curve": {
                "formula": "m(t) = 1 + (M-1) * rise(t) * decay(t), t = days since start 00:00 UTC; m = 1 for t < 0",
                "rise": f"1 / (1 + exp(-(t - {_RISE_MID}) / {_RISE_SCALE}))",
                "decay": f"exp(-max(0, t - {_DECAY_START}) / {_DECAY_TAU})",
                "daily_multiplier": "impression-weighted mean of m over the date's hours",
            },
            "trending_hashtags": trends,
            "trending_videos": tvs,
            "steady_hashtags": [{
                "tag": v.tags[w.steady_tag],
                "surface_form": v.surface[w.steady_tag],
                "impression_share": st_pool.base_share,
                "video_count": int(st_pool.videos.size),
                "daily_engaged_users": series(tracked_users, n_tr),
                "daily_events": series(self.tracked_events, n_tr),
            }],
            "spam_hashtag": {
                "tag": v.tags[w.spam_tag],
                "surface_form": v.surface[w.spam_tag],
                "burst_date": date(w.spam_day),
                "account_ids": [w.user_ids[u] for u in w.spam_users.tolist()],
                "video_ids": [w.video_ids[i] for i in sp_pool.videos.tolist()],
                "daily_engaged_users": series(tracked_users, n_tr + 1),
                "daily_events": series(self.tracked_events, n_tr + 1),
            },
            "bad_lines": {
                "total": int(sum(self.bad_by_reason.values())),
                "by_reason": dict(self.bad_by_reason),
                "by_reason_excluding_redeliveries": dict(self.bad_by_reason_original),
                "by_date": dict(self.bad_by_date),
            },
            "corrupt_files": list(self.corrupt_paths),
            "duplicates": {
                "duplicate_lines": int(self.dup_planted + self.dup_redelivered),
                "planted_copies": int(self.dup_planted),
                "planted_copies_cross_date": int(self.dup_cross_date),
                "redelivered_valid_lines": int(self.dup_redelivered),
                "by_date": {d: int(self.dup_planted_by_date[d] + self.dup_redelivered_by_date[d]) for d in self.dates},
            },
            "redelivered_files": list(self.redeliveries),
            "late_events": {
                "total": int(self.late_by_arrival.sum()),
                "by_arrival_date": {self.dates[d]: int(self.late_by_arrival[d]) for d in range(D)},
                "by_event_date": {self.dates[d]: int(self.late_by_event_date[d]) for d in range(D)},
            },
            "events_by_arrival_date": {
                self.dates[d]: {"total": int(self.ev_arrival[d].sum()),
                                **{t: int(self.ev_arrival[d, k]) for k, t in enumerate(_TYPES)}}
                for d in range(D)
            },
            "events_by_event_date": {
                self.dates[d]: {"total": int(self.ev_event_date[d].sum()),
                                **{t: int(self.ev_event_date[d, k]) for k, t in enumerate(_TYPES)}}
                for d in range(D)
            },
            "lines_by_date": dict(self.lines_by_date),
            "reconciliation": {
                self.dates[d]: {
                    "lines": self.lines_by_date[self.dates[d]],
                    "valid_distinct_events": int(self.ev_arrival[d].sum()),
                    "duplicate_lines": int(self.dup_planted_by_date[self.dates[d]]
                                           + self.dup_redelivered_by_date[self.dates[d]]),
                    "bad_lines": self.bad_by_date[self.dates[d]],
                }
                for d in range(D)
            },
            "files": self.files,
            "latent": {
                "categories": [{"name": c, "english": _CATEGORY_EN.get(c, c)} for c in v.categories],
                "users_file": f"{GROUND_TRUTH_DIR}/users.csv.gz",
                "videos_file": f"{GROUND_TRUTH_DIR}/videos.csv.gz",
                "n_users": w.n_all,
                "n_videos": w.n_videos,
            },
        }
        folder = p.landing_root / GROUND_TRUTH_DIR
        folder.mkdir(parents=True, exist_ok=True)
        # latent tables
        top3 = np.argsort(-w.pref, axis=1, kind="stable")[:, :3]
        is_cre = np.zeros(w.n_all, dtype=bool)
        is_cre[w.creators] = True
        ubuf = io.StringIO()
        cw = csv.writer(ubuf, lineterminator="\n")
        cw.writerow(["user_id", "region", "platform", "app_version", "activity", "p_active", "top_category",
                     "top_categories", "top_weights", "is_creator", "is_spam"])
        top_w = np.take_along_axis(w.pref, top3, axis=1).tolist()
        cats, regs = v.categories, [r for r, _, _ in _REGIONS]
        cw.writerows(
            [uid, regs[rg], _PLATFORMS[pl], w.appv_names[av], f"{ac:.4f}", f"{pa:.3f}", cats[t3[0]],
             "|".join(cats[c] for c in t3), "|".join(f"{x:.4f}" for x in tw), int(cr), int(u >= w.n_org)]
            for u, (uid, rg, pl, av, ac, pa, t3, tw, cr) in enumerate(zip(
                w.user_ids, w.region.tolist(), w.platform.tolist(), w.appv.tolist(), w.activity.tolist(),
                w.p_active.tolist(), top3.tolist(), top_w, is_cre.tolist())))
        vbuf = io.StringIO()
        cw = csv.writer(vbuf, lineterminator="\n")
        cw.writerow(["video_id", "creator_id", "category", "duration_ms", "publish_time_ms", "role", "hashtags"])
        emoji_norm = [contract.normalize_hashtag(e) for e in _EMOJI_TAGS]
        cw.writerows(
            [vid, w.user_ids[cr], v.categories[c], du, pu, role,
             "|".join(v.tags[t] if t >= 0 else emoji_norm[-t - 1] for t in tags)]
            for vid, cr, c, du, pu, role, tags in zip(
                w.video_ids, w.v_creator.tolist(), w.v_cat.tolist(), w.v_dur.tolist(), w.v_pub.tolist(),
                w.v_role, w.v_tags))
        _atomic_write(folder / "users.csv.gz", gzip.compress(ubuf.getvalue().encode("utf-8"), 6, mtime=0))
        _atomic_write(folder / "videos.csv.gz", gzip.compress(vbuf.getvalue().encode("utf-8"), 6, mtime=0))
        path = folder / GROUND_TRUTH_FILE
        _atomic_write(path, (json.dumps(gt, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
        return path
