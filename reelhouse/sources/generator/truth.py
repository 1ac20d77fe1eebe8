"""The ground truth of a run, DERIVED FROM WHAT THE WRITER EMITTED.

:func:`derive_ground_truth` computes every count of ``_ground_truth/generation.json`` from the
writer's :class:`~reelhouse.sources.generator.writer.Emission` — the valid distinct events it
wrote (arrays) and, per file, which event or bad line each line is — plus the world's planted
facts (trend tags, pools, curves, latent attributes). Nothing is tallied in parallel by the run
loop, so the truth cannot drift from the files: the counts equal those recomputed by reading the
landing files (``tests/reelhouse/sources/test_generator.py`` checks that).

Definitions (all per UTC date, ``YYYY-MM-DD``):

* an event's *arrival date/hour* is the folder of the regular file holding its original line; its
  *event date* is the date of its event_time;
* *duplicate lines* of a file: its valid lines whose event's original line is in another file
  (planted copies in regular files, every valid line of a redelivered file); a date's duplicates
  are those of its files;
* *late events*: valid distinct events whose event date is before their arrival date;
* a planted tag's (or trending video's) *daily events*: valid distinct events, by event date,
  whose written ``video_id`` is one of its pool's videos (its publish events included; a follow
  without ``video_id`` is not counted); *daily engaged users*: distinct users among those with a
  play/like/comment/share;
* *daily multiplier*: the mean of the trend curve over a date's hours weighted by the hour's
  interaction events (valid distinct non-publish events by arrival hour), the impressions the
  curve's share applied to.
"""

from __future__ import annotations

import csv
import datetime as _dt
import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reelhouse.sources import contract
from reelhouse.sources.generator.calibration import CATEGORY_EN, EMOJI_TAGS
from reelhouse.sources.generator.defects import BAD_CODES
from reelhouse.sources.generator.encoding import iso_ms
from reelhouse.sources.generator.params import (
    DAY_MS,
    ENGAGED_TYPES,
    EVENT_TYPES,
    GENERATOR_VERSION,
    T_PUBLISH,
    Params,
)
from reelhouse.sources.generator.world import (
    DECAY_START,
    DECAY_TAU,
    PLATFORMS,
    REGIONS,
    RISE_MID,
    RISE_SCALE,
    Pool,
    World,
    trend_multiplier,
)
from reelhouse.sources.generator.writer import Emission, atomic_write

GROUND_TRUTH_DIR = "_ground_truth"
GROUND_TRUTH_FILE = "generation.json"


@dataclass
class _Counts:
    """Counts derived from an :class:`Emission` (arrays indexed by day index; ``D`` = days)."""

    dates: list[str]
    files: list[dict[str, Any]]
    lines_by_date: dict[str, int]
    bad_by_reason: dict[str, int]
    bad_by_reason_original: dict[str, int]
    bad_by_date: dict[str, int]
    dup_planted: int
    dup_planted_by_date: dict[str, int]
    dup_cross_date: int
    dup_redelivered: int
    dup_redelivered_by_date: dict[str, int]
    redeliveries: list[dict[str, Any]]
    corrupt_paths: list[str]
    ev_arrival: np.ndarray  # (D, 7) valid distinct events by arrival date and type
    ev_event_date: np.ndarray  # (D, 7) by event date and type
    late_by_arrival: np.ndarray  # (D,)
    late_by_event_date: np.ndarray  # (D,)
    hour_events: np.ndarray  # (D, 24) interaction (non-publish) events by arrival hour
    tracked_events: np.ndarray  # (D, tracked tags) by event date
    tracked_users: np.ndarray  # (D, tracked tags) distinct engaged users by event date
    tv_events: np.ndarray  # (D, max(1, trending videos))
    tv_users: np.ndarray


def _distinct_users(ev_day: np.ndarray, key: np.ndarray, user: np.ndarray, engaged: np.ndarray,
                    days: int, n_keys: int, n_users: int) -> np.ndarray:
    """(days, max(1, n_keys)) distinct engaged users per (event day, key); key -1 = untracked."""
    out = np.zeros((days, max(1, n_keys)), dtype=np.int64)
    m = (key >= 0) & engaged
    if n_keys and m.any():
        u = np.unique((ev_day[m] * n_keys + key[m]) * n_users + user[m])
        k = u // n_users
        np.add.at(out, (k // n_keys, k % n_keys), 1)
    return out


def _count(p: Params, w: World, em: Emission) -> _Counts:
    D = p.days
    dates = p.dates
    day_of = {d: k for k, d in enumerate(dates)}
    # ---- files and lines ----
    n_files = len(em.files)
    f_day = np.array([day_of[f.date] for f in em.files], dtype=np.int64)
    f_hour = np.array([f.hour for f in em.files], dtype=np.int64)
    files: list[dict[str, Any]] = []
    lines_by_date = {d: 0 for d in dates}
    bad_by_reason = {c: 0 for c in BAD_CODES}
    bad_by_reason_original = {c: 0 for c in BAD_CODES}
    bad_by_date = {d: 0 for d in dates}
    dup_planted_by_date = {d: 0 for d in dates}
    dup_redelivered_by_date = {d: 0 for d in dates}
    dup_cross_date = 0
    redeliveries: list[dict[str, Any]] = []
    corrupt_paths: list[str] = []
    for i, f in enumerate(em.files):
        le = f.line_events
        valid = le[le >= 0]
        n_lines, n_bad = int(le.size), int(le.size - valid.size)
        orig = em.file[valid]
        copies = int((orig != i).sum())  # valid lines whose original line is in another file
        if f.kind == "corrupt":
            corrupt_paths.append(f.path)
            files.append(dict(path=f.path, kind="corrupt", lines=0, bad_lines=0, duplicate_copies=0))
            continue
        if f.kind == "regular":
            files.append(dict(path=f.path, kind="regular", lines=n_lines, bad_lines=n_bad, duplicate_copies=copies))
            dup_planted_by_date[f.date] += copies
            dup_cross_date += int((f_day[orig[orig != i]] != f_day[i]).sum())
            for c in f.bad_codes:
                bad_by_reason_original[c] += 1
        else:
            files.append(dict(path=f.path, kind="redelivery", redelivery_of=f.redelivery_of, lines=n_lines,
                              bad_lines=n_bad, duplicate_copies=copies))
            redeliveries.append(dict(original=f.redelivery_of, copy=f.path, lines=n_lines, bad_lines=n_bad))
            dup_redelivered_by_date[f.date] += copies
        lines_by_date[f.date] += n_lines
        bad_by_date[f.date] += n_bad
        for c in f.bad_codes:
            bad_by_reason[c] += 1
    # ---- valid distinct events ----
    et = em.event_type.astype(np.int64)
    arr_day = f_day[em.file] if n_files else np.zeros(0, np.int64)
    arr_hour = f_hour[em.file] if n_files else np.zeros(0, np.int64)
    ev_day = (em.time_ms - p.start_ms) // DAY_MS
    ev_arrival = np.zeros((D, 7), dtype=np.int64)
    np.add.at(ev_arrival, (arr_day, et), 1)
    ev_event_date = np.zeros((D, 7), dtype=np.int64)
    np.add.at(ev_event_date, (ev_day, et), 1)
    late = ev_day < arr_day
    late_by_arrival = np.bincount(arr_day[late], minlength=D).astype(np.int64)
    late_by_event_date = np.bincount(ev_day[late], minlength=D).astype(np.int64)
    hour_events = np.zeros((D, 24), dtype=np.int64)
    inter = et != T_PUBLISH
    np.add.at(hour_events, (arr_day[inter], arr_hour[inter]), 1)
    engaged = np.isin(et, ENGAGED_TYPES)
    n_tracked = len(w.tracked_names)
    trk = w.v_tracked[em.video_ref]
    tracked_events = np.zeros((D, n_tracked), dtype=np.int64)
    np.add.at(tracked_events, (ev_day[trk >= 0], trk[trk >= 0]), 1)
    tv = w.v_tv[em.video_ref]
    tv_events = np.zeros((D, max(1, len(w.tv_pools))), dtype=np.int64)
    np.add.at(tv_events, (ev_day[tv >= 0], tv[tv >= 0]), 1)
    return _Counts(
        dates=dates, files=files, lines_by_date=lines_by_date, bad_by_reason=bad_by_reason,
        bad_by_reason_original=bad_by_reason_original, bad_by_date=bad_by_date,
        dup_planted=sum(dup_planted_by_date.values()), dup_planted_by_date=dup_planted_by_date,
        dup_cross_date=dup_cross_date, dup_redelivered=sum(dup_redelivered_by_date.values()),
        dup_redelivered_by_date=dup_redelivered_by_date, redeliveries=redeliveries, corrupt_paths=corrupt_paths,
        ev_arrival=ev_arrival, ev_event_date=ev_event_date, late_by_arrival=late_by_arrival,
        late_by_event_date=late_by_event_date, hour_events=hour_events, tracked_events=tracked_events,
        tracked_users=_distinct_users(ev_day, trk, em.user, engaged, D, n_tracked, w.n_all),
        tv_events=tv_events,
        tv_users=_distinct_users(ev_day, tv, em.user, engaged, D, len(w.tv_pools), w.n_all),
    )


def _daily_curves(p: Params, c: _Counts, pool: Pool) -> dict[str, float]:
    out = {}
    for d in range(p.days):
        t = d + (np.arange(24) + 0.5) / 24.0
        m = trend_multiplier(t - pool.start_day, pool.peak)
        wts = c.hour_events[d].astype(np.float64)
        out[c.dates[d]] = round(float((m * wts).sum() / wts.sum()) if wts.sum() > 0 else float(m.mean()), 3)
    return out


def _parameters(p: Params, w: World) -> dict[str, Any]:
    d = p.public()
    if "source_shape" in d:
        d["source_shape"]["go_live_time"] = iso_ms(w.live_ms) + "Z"
        d["source_shape"]["first_live_hour"] = w.first_hour
    return d


def derive_ground_truth(p: Params, w: World, em: Emission) -> dict[str, Any]:
    """The content of ``generation.json`` for a run that emitted ``em`` (see the module docstring
    for the definitions; the layout is described in the package docstring). JSON-serialisable."""
    v = w.vocab
    c = _count(p, w, em)
    D = p.days
    n_tr = len(w.trend_tags)
    tracked_users, tv_users = c.tracked_users, c.tv_users
    date = lambda k: (p.start + _dt.timedelta(days=k)).isoformat()  # noqa: E731

    def series(arr: np.ndarray, j: int) -> dict[str, int]:
        return {c.dates[d]: int(arr[d, j]) for d in range(D)}

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
            "daily_multiplier": _daily_curves(p, c, pool),
            "video_ids": [w.video_ids[i] for i in pool.videos.tolist()],
            "daily_engaged_users": series(tracked_users, j),
            "daily_events": series(c.tracked_events, j),
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
            "daily_multiplier": _daily_curves(p, c, pool),
            "daily_engaged_users": series(tv_users, k),
            "daily_events": series(c.tv_events, k),
        })
    st_pool = w.pools[w.steady_pool]
    sp_pool = w.pools[w.spam_pool]
    gt: dict[str, Any] = {
        "generator": "reelhouse.sources.generator",
        "generator_version": GENERATOR_VERSION,
        "contract_version": contract.CONTRACT_VERSION,
        "parameters": _parameters(p, w),
        "dates": c.dates,
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
            "rise": f"1 / (1 + exp(-(t - {RISE_MID}) / {RISE_SCALE}))",
            "decay": f"exp(-max(0, t - {DECAY_START}) / {DECAY_TAU})",
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
            "daily_events": series(c.tracked_events, n_tr),
        }],
        "spam_hashtag": {
            "tag": v.tags[w.spam_tag],
            "surface_form": v.surface[w.spam_tag],
            "burst_date": date(w.spam_day),
            "account_ids": [w.user_ids[u] for u in w.spam_users.tolist()],
            "video_ids": [w.video_ids[i] for i in sp_pool.videos.tolist()],
            "daily_engaged_users": series(tracked_users, n_tr + 1),
            "daily_events": series(c.tracked_events, n_tr + 1),
        },
        "bad_lines": {
            "total": int(sum(c.bad_by_reason.values())),
            "by_reason": dict(c.bad_by_reason),
            "by_reason_excluding_redeliveries": dict(c.bad_by_reason_original),
            "by_date": dict(c.bad_by_date),
        },
        "corrupt_files": list(c.corrupt_paths),
        "duplicates": {
            "duplicate_lines": int(c.dup_planted + c.dup_redelivered),
            "planted_copies": int(c.dup_planted),
            "planted_copies_cross_date": int(c.dup_cross_date),
            "redelivered_valid_lines": int(c.dup_redelivered),
            "by_date": {d: int(c.dup_planted_by_date[d] + c.dup_redelivered_by_date[d]) for d in c.dates},
        },
        "redelivered_files": list(c.redeliveries),
        "late_events": {
            "total": int(c.late_by_arrival.sum()),
            "by_arrival_date": {c.dates[d]: int(c.late_by_arrival[d]) for d in range(D)},
            "by_event_date": {c.dates[d]: int(c.late_by_event_date[d]) for d in range(D)},
        },
        "events_by_arrival_date": {
            c.dates[d]: {"total": int(c.ev_arrival[d].sum()),
                            **{t: int(c.ev_arrival[d, k]) for k, t in enumerate(EVENT_TYPES)}}
            for d in range(D)
        },
        "events_by_event_date": {
            c.dates[d]: {"total": int(c.ev_event_date[d].sum()),
                            **{t: int(c.ev_event_date[d, k]) for k, t in enumerate(EVENT_TYPES)}}
            for d in range(D)
        },
        "lines_by_date": dict(c.lines_by_date),
        "reconciliation": {
            c.dates[d]: {
                "lines": c.lines_by_date[c.dates[d]],
                "valid_distinct_events": int(c.ev_arrival[d].sum()),
                "duplicate_lines": int(c.dup_planted_by_date[c.dates[d]]
                                       + c.dup_redelivered_by_date[c.dates[d]]),
                "bad_lines": c.bad_by_date[c.dates[d]],
            }
            for d in range(D)
        },
        "files": c.files,
        "latent": {
            "categories": [{"name": cat, "english": CATEGORY_EN.get(cat, cat)} for cat in v.categories],
            "users_file": f"{GROUND_TRUTH_DIR}/users.csv.gz",
            "videos_file": f"{GROUND_TRUTH_DIR}/videos.csv.gz",
            "n_users": w.n_all,
            "n_videos": w.n_videos,
        },
    }
    return gt


def write_ground_truth(p: Params, w: World, gt: dict[str, Any]) -> Path:
    """Write ``<landing_root>/_ground_truth/generation.json`` (``gt``) and the latent tables
    ``users.csv.gz`` / ``videos.csv.gz`` beside it (atomically, gzip ``mtime=0``); returns the
    JSON file's path."""
    v = w.vocab
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
    cats, regs = v.categories, [r for r, _, _ in REGIONS]
    cw.writerows(
        [uid, regs[rg], PLATFORMS[pl], w.appv_names[av], f"{ac:.4f}", f"{pa:.3f}", cats[t3[0]],
         "|".join(cats[c] for c in t3), "|".join(f"{x:.4f}" for x in tw), int(cr), int(u >= w.n_org)]
        for u, (uid, rg, pl, av, ac, pa, t3, tw, cr) in enumerate(zip(
            w.user_ids, w.region.tolist(), w.platform.tolist(), w.appv.tolist(), w.activity.tolist(),
            w.p_active.tolist(), top3.tolist(), top_w, is_cre.tolist())))
    vbuf = io.StringIO()
    cw = csv.writer(vbuf, lineterminator="\n")
    cw.writerow(["video_id", "creator_id", "category", "duration_ms", "publish_time_ms", "role", "hashtags"])
    emoji_norm = [contract.normalize_hashtag(e) for e in EMOJI_TAGS]
    cw.writerows(
        [vid, w.user_ids[cr], v.categories[c], du, pu, role,
         "|".join(v.tags[t] if t >= 0 else emoji_norm[-t - 1] for t in tags)]
        for vid, cr, c, du, pu, role, tags in zip(
            w.video_ids, w.v_creator.tolist(), w.v_cat.tolist(), w.v_dur.tolist(), w.v_pub.tolist(),
            w.v_role, w.v_tags))
    atomic_write(folder / "users.csv.gz", gzip.compress(ubuf.getvalue().encode("utf-8"), 6, mtime=0))
    atomic_write(folder / "videos.csv.gz", gzip.compress(vbuf.getvalue().encode("utf-8"), 6, mtime=0))
    path = folder / GROUND_TRUTH_FILE
    atomic_write(path, (json.dumps(gt, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return path
