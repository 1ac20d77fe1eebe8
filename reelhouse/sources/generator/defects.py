"""Delivery defects: bad lines (one contract violation each, by reason code), late events,
and the plan of redelivered and corrupt files.

See the package docstring ("Delivery defects"). Every draw comes from the caller's generator in a
fixed order, so the output stays a pure function of the arguments.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from reelhouse.sources import contract
from reelhouse.sources.generator.encoding import encode_time, iso_ms
from reelhouse.sources.generator.params import DAY_MS, EVENT_TYPES, HOUR_MS, T_FOLLOW, T_PLAY, T_PUBLISH, Params
from reelhouse.sources.generator.sampling import HourEvents, Impressions
from reelhouse.sources.generator.world import PLATFORMS, REGIONS, World

BAD_CODES = tuple(c for c in contract.REASON_CODES if c != contract.REASON_CORRUPT_FILE)
_UNKNOWN_TYPES = ("view", "dislike", "Play", "LIKE", "live_gift", "stitch", "duet", "save")
_BAD_TIMES = (
    "{naive}", "{naive_space}", "{slash}", "yesterday", "{digits}", "{feb30}", "{date_only}",
)


def make_bad_line(code: str, tmpl: dict[str, Any], rng: np.random.Generator, hour_end_ms: int,
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
        ms = hour_end_ms - HOUR_MS + int(rng.integers(0, HOUR_MS))
        iso = iso_ms(ms)
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
        ms = hour_end_ms + tolerance_ms + 60_000 + int(rng.integers(0, 3 * DAY_MS))
        e = int(rng.integers(3))
        d["event_time"] = encode_time(ms, 1 if offset_only else e, pick((480, 0, -300, 330)))
        return dumps(d)
    if code == contract.REASON_NEGATIVE_PLAY_TIME:
        d["play_time_ms"] = -int(rng.integers(1, 60_000))
        return dumps(d)
    if code == contract.REASON_INVALID_DURATION:
        d["video_duration_ms"] = 0 if rng.random() < 0.5 else -int(rng.integers(1, 200_000))
        return dumps(d)
    raise AssertionError(code)


def bad_template(world: World, params: Params, rng: np.random.Generator, code: str, event_id: str,
                 ev: HourEvents, T0: int) -> dict[str, Any]:
    """A valid event dict to break with ``code``: a copy (new ``event_id``) of one of the hour's
    events of a suitable type, or a synthesised play/publish when the hour has none; ``T0``: the
    landing hour's start (ms)."""
    w = world
    etype, user, video, video_ref, tms = ev.event_type, ev.user, ev.video, ev.video_ref, ev.time_ms
    pt, dnull = ev.play_time_ms, ev.duration_null
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
        t = T0 + int(rng.integers(HOUR_MS))
        ptv, dn = int(w.v_dur[0]), False
        v_orig = 0
    def enc() -> int:
        e = int(rng.integers(3))
        return 1 if params.time_encoding == "offset" else e

    d: dict[str, Any] = {
        "event_id": event_id,
        "event_type": EVENT_TYPES[et],
        "event_time": encode_time(t, enc(), int(w.off_min[u])),
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
        d["event_time"] = encode_time(t, enc(), int(w.off_min[u]))
        d["user_id"] = w.user_ids[int(w.v_creator[v])]
    if params.client_fields != "none":
        d["region"] = REGIONS[int(w.region[u])][0]
    if params.client_fields == "full":
        d["platform"] = PLATFORMS[int(w.platform[u])]
        d["app_version"] = w.appv_names[int(w.appv[u])]
    return d


def corrupt_file_bytes(seed: int, hour_index: int, j: int) -> bytes:
    """The ``j``-th garbled ``.jsonl.gz`` file of run hour ``hour_index`` (day × 24 + hour): a valid
    gzip header (mtime 0, OS unknown), then a deflate block of reserved type 11 and 512–4095 random
    bytes; undecodable by any gzip reader."""
    crng = np.random.default_rng([seed, 0x5EED, 5, hour_index, j])
    body = crng.integers(0, 256, int(crng.integers(512, 4096)), dtype=np.uint8).tobytes()
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\x07" + body


@dataclass
class DefectPlan:
    """File-level defects and the bad-line code order of a run, drawn once per seed.

    ``redeliver``: (run hour index, part number) of the regular files delivered twice;
    ``corrupt_per_hour``: run hour index → number of corrupt files in it; ``bad_codes``: the
    reason codes in the order the bad lines cycle through them.
    """

    redeliver: set[tuple[int, int]]
    corrupt_per_hour: dict[int, int]
    bad_codes: list[str]

    @staticmethod
    def draw(params: Params, first_hour: int) -> DefectPlan:
        """Draw the plan; files exist only from ``first_hour`` of day 0 on (the go-live hour)."""
        p = params
        rng = np.random.default_rng([p.seed, 0x5EED, 2])
        fh = first_hour  # hours before go-live have no files
        n_slots = (p.days * 24 - fh) * p.files_per_hour
        red = rng.choice(n_slots, size=p.redelivered_files, replace=False) if p.redelivered_files else []
        redeliver = {(int(s) // p.files_per_hour + fh, int(s) % p.files_per_hour) for s in red}
        corrupt_hours = rng.integers(fh, p.days * 24, p.corrupt_files) if p.corrupt_files else []
        corrupt_per_hour: dict[int, int] = {}
        for g in sorted(int(x) for x in corrupt_hours):
            corrupt_per_hour[g] = corrupt_per_hour.get(g, 0) + 1
        codes = list(BAD_CODES)
        rng.shuffle(codes)
        return DefectPlan(redeliver, corrupt_per_hour, codes)


class BadLines:
    """Plants ``bad_fraction`` bad lines across the run's hours, cycling over the reason codes
    (counts per code differ by at most one)."""

    def __init__(self, params: Params, world: World, codes: list[str]):
        self.p, self.w = params, world
        self.codes = codes
        self.counter = 0
        self.acc = 0.0
        self.tol_ms = params.future_tolerance_seconds * 1000

    def count(self, n_valid: int) -> int:
        """How many bad lines go with an hour of ``n_valid`` valid lines (a running fraction, so
        the run's total is ``bad_fraction`` of all lines up to rounding)."""
        p = self.p
        self.acc += p.bad_fraction / (1.0 - p.bad_fraction) * n_valid if p.bad_fraction > 0 else 0.0
        n_bad = int(self.acc)
        self.acc -= n_bad
        return n_bad

    def make(self, rng: np.random.Generator, event_id: str, ev: HourEvents, T0: int) -> tuple[str, str]:
        """The next bad line of the hour starting at ``T0`` (ms): ``(reason code, line)``."""
        code = self.codes[self.counter % len(self.codes)]
        self.counter += 1
        tmpl = bad_template(self.w, self.p, rng, code, event_id, ev, T0)
        line = make_bad_line(code, tmpl, rng, T0 + HOUR_MS, self.tol_ms, offset_only=self.p.time_encoding == "offset")
        return code, line


class LateEvents:
    """Moves ``late_fraction`` of the events arriving on day >= 1 to an earlier date: whole
    impression groups, at least 1 h before the arrival midnight, never before go-live and always
    after the video's publish (a running fraction over the hours)."""

    def __init__(self, params: Params, world: World):
        self.p, self.w = params, world
        self.acc = 0.0

    def shift(self, rng: np.random.Generator, imps: Impressions | None, day: int) -> np.ndarray:
        """Shift the times of some impression groups of an hour of day index ``day`` (in place) and
        return their row indexes (int64, empty when none); spam-ring groups are never late."""
        p, w = self.p, self.w
        late_rows = np.zeros(0, dtype=np.int64)
        if imps is not None and day >= 1 and p.late_fraction > 0:
            sizes = imps.flags.sum(1)
            self.acc += p.late_fraction * float(sizes.sum())
            target = int(self.acc)
            if target > 0:
                cand = np.flatnonzero(imps.pool != -2)
                order = cand[rng.permutation(cand.size)]
                csum = np.cumsum(sizes[order])
                k = int(np.searchsorted(csum, target, side="left"))
                chosen = order[: k + 1]
                midnight = p.start_ms + day * DAY_MS
                t0 = imps.times[chosen, 0]
                lateness = (t0 - midnight) + HOUR_MS + (rng.exponential(5.0, chosen.size) * HOUR_MS).astype(np.int64)
                lateness = np.minimum(lateness, (t0 - midnight) + 3 * DAY_MS)
                new_t0 = t0 - lateness
                lb = np.maximum(w.live_ms, w.v_pub[imps.video[chosen]] + 1000)
                new_t0 = np.maximum(new_t0, lb)
                ok = new_t0 + HOUR_MS <= midnight
                chosen, new_t0, t0 = chosen[ok], new_t0[ok], t0[ok]
                imps.times[chosen] -= (t0 - new_t0)[:, None]
                late_rows = chosen
                self.acc -= float(sizes[chosen].sum())
        return late_rows
