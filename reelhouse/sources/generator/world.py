"""The simulated world, fixed before the first event: users, creators, every video of the run
(catalogue, daily uploads, planted pools) and the planted trend curve.

See the package docstring ("The simulated world", "Planted effects", "Source shapes") for the
model; all times are epoch milliseconds (UTC).
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reelhouse.sources import contract
from reelhouse.sources.generator.calibration import EMOJI_TAGS, Calibration, Vocab
from reelhouse.sources.generator.params import CATALOGUE_WINDOW_MS, DAY_MS, HOUR_MS, Params


#: (ISO 3166-1 alpha-2, standard UTC offset in minutes, weight). Illustrative, skewed toward East /
#: South-East Asia to match the Kuaishou-derived vocabulary; includes +05:30/+05:45/+00:00 offsets.
REGIONS: tuple[tuple[str, int, float], ...] = (
    ("CN", 480, 0.34), ("ID", 420, 0.09), ("US", -300, 0.08), ("BR", -180, 0.06),
    ("TW", 480, 0.04), ("TH", 420, 0.04), ("VN", 420, 0.04), ("PH", 480, 0.03),
    ("MY", 480, 0.03), ("HK", 480, 0.03), ("JP", 540, 0.03), ("IN", 330, 0.03),
    ("MX", -360, 0.025), ("KR", 540, 0.02), ("SG", 480, 0.02), ("GB", 0, 0.02),
    ("DE", 60, 0.015), ("RU", 180, 0.015), ("SA", 180, 0.01), ("AU", 600, 0.01),
    ("CA", -300, 0.01), ("NP", 345, 0.005),
)
PLATFORMS = ("android", "ios", "web")
_PLATFORM_WEIGHTS = (0.66, 0.29, 0.05)
_APP_VERSIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "android": (("12.4.20", 0.46), ("12.3.40", 0.28), ("12.2.10", 0.16), ("11.9.30", 0.10)),
    "ios": (("12.4.21", 0.58), ("12.3.41", 0.30), ("12.1.0", 0.12)),
    "web": (("web-2024.06.1", 0.80), ("web-2024.05.3", 0.20)),
}
#: event_time encoding mix per platform: (RFC 3339 Z, RFC 3339 local offset, epoch ms).
_ENCODING_MIX = {"android": (0.15, 0.55, 0.30), "ios": (0.75, 0.25, 0.0), "web": (0.10, 0.0, 0.90)}
# behaviour constants (see the package docstring)
P_PREF = 0.5  # share of organic impressions drawn from the user's own category preference
_ZIPF_ALPHA, _ZIPF_Q = 0.9, 5.0
_NEW_RANK_LO = 0.30
_DUR_MIN_MS, _DUR_MAX_MS = 5_000, 180_000
_EMOJI_SHARE = 0.02
_STEADY_PREFERRED = ("搞笑", "美食", "正能量")

# planted-effect constants
RISE_MID, RISE_SCALE, DECAY_START, DECAY_TAU = 1.3, 0.35, 3.0, 1.5
_TREND_BASE_SHARE = 0.0008
_TREND_PEAK = (8.0, 16.0)
_TV_BASE_SHARE = 0.0004
_TV_PEAK = (12.0, 30.0)
_STEADY_SHARE = 0.04
SPAM_EVENT_SHARE = 0.04
_SPAM_LEAK_SHARE = 0.00004
_SPAM_PUBLISH_HOUR = 1
_TREND_BONUS, _TV_BONUS, _SPAM_LEAK_BONUS = 0.4, 0.6, -1.5
#: catalogue="growing": share of the pre-existing catalogue (>= 1 video) live at go-live (launch content).
_LAUNCH_SEED_SHARE = 0.05


def long_id(seed: int, kind: str, key: Any) -> str:
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
    rise = 1.0 / (1.0 + np.exp(-(t - RISE_MID) / RISE_SCALE))
    decay = np.exp(-np.maximum(0.0, t - DECAY_START) / DECAY_TAU)
    return np.where(t < 0, 1.0, 1.0 + (peak - 1.0) * rise * decay)


# ---------------------------------------------------------------------------------------------
# Small numeric helpers
# ---------------------------------------------------------------------------------------------
def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """``total`` split into non-negative int64 parts proportional to ``weights`` (largest remainder
    method, ties to the lower index), summing to ``total``; all zeros when ``total <= 0`` or the
    weights sum to 0."""
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


def offset_suffix(minutes: int) -> str:
    """RFC 3339 offset of a UTC offset in minutes: 480 → ``+08:00``, -300 → ``-05:00``, 0 → ``+00:00``."""
    sign = "+" if minutes >= 0 else "-"
    m = abs(minutes)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


@dataclass
class Pool:
    """A planted pool of videos with its own share of the hour's impressions.

    ``kind``: ``trend_tag`` | ``trending_video`` (share ``base_share × trend_multiplier``) |
    ``steady`` (flat) | ``spam_leak`` (organic viewers of the spam videos on the burst day);
    ``videos``: sorted video indexes, ``pub`` their publish times (ms), ``cum`` cumulative
    sampling weights; ``bonus``: added to the like logit of its impressions.
    """

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
        """The pool's share of the impressions at ``t_days_abs`` days after 00:00 UTC of the
        run's start (an hour's midpoint) on day index ``day``."""
        if self.kind in ("trend_tag", "trending_video"):
            return self.base_share * float(trend_multiplier(t_days_abs - self.start_day, self.peak))
        if self.kind == "spam_leak":
            if self.active_days and day in self.active_days and (t_days_abs - day) * 24 >= self.active_from_hour:
                return self.base_share
            return 0.0
        return self.base_share


class World:
    """Everything fixed before the first event: users, catalogue, every video of the run, pools.

    Users ``0 .. n_org-1`` are organic, ``n_org .. n_all-1`` the spam accounts; per user
    ``user_ids``, ``region``, ``platform``, ``activity``, ``p_active``, ``pref`` (n_all, C category
    preferences). Videos ``0 .. n_videos-1`` are sorted by publish time: ``video_ids``, ``v_pub``
    (ms), ``v_creator``, ``v_cat``, ``v_dur`` (ms), ``v_tags``, ``v_pool`` (-1 organic);
    ``v_tracked`` / ``v_tv`` (n_videos + 1; index ``n_videos`` = no video) map a video to its
    planted tag (``tracked_names``: trend tags, steady, spam) or trending video, -1 otherwise.
    ``first_hour`` / ``live_ms``: the go-live hour of day 0 and its time (ms).
    """

    def __init__(self, p: "Params", vocab: Vocab, calib: Calibration):
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
            self.user_ids = [long_id(p.seed, "user", i) for i in range(n_all)]
        self.user_json = np.array([f'"{u}"' for u in self.user_ids], dtype=object)
        reg_w = np.array([w for _, _, w in REGIONS])
        self.region = rng.choice(len(REGIONS), size=n_all, p=reg_w / reg_w.sum())
        self.platform = rng.choice(3, size=n_all, p=np.array(_PLATFORM_WEIGHTS) / sum(_PLATFORM_WEIGHTS))
        appv_idx = np.zeros(n_all, dtype=np.int64)
        self.appv_names: list[str] = []
        for pi, plat in enumerate(PLATFORMS):
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
        self.off_min = np.array([REGIONS[r][1] for r in self.region], dtype=np.int64)
        self.off_suffix = np.array([offset_suffix(int(o)) for o in self.off_min], dtype=object)
        enc = np.array([_ENCODING_MIX[PLATFORMS[pl]] for pl in self.platform])
        self.enc_cum = np.cumsum(enc, axis=1)[:, :2]
        reg_codes = [r for r, _, _ in REGIONS]
        full, noreg, none = [], [], []
        for u in range(n_all):
            plat = PLATFORMS[self.platform[u]]
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
        R = len(REGIONS)
        self.reg_curve = np.zeros((R, 24))
        for r, (_, off, _) in enumerate(REGIONS):
            for h in range(24):
                self.reg_curve[r, h] = calib.diurnal_local[((h * 60 + 30 + off) // 60) % 24]
        # go-live (first_day_share < 1): the last hours of day 0 whose expected share of the
        # population's daily activity reaches first_day_share; nothing happens before
        self.first_hour = 0
        if p.first_day_share < 1.0:
            hw = (np.bincount(self.region[:n_org], weights=self.activity[:n_org], minlength=len(REGIONS))
                  @ self.reg_curve)
            tail = np.cumsum(hw[::-1])[::-1] / hw.sum()
            self.first_hour = int(np.flatnonzero(tail >= p.first_day_share - 1e-12).max())
        self.live_ms = p.start_ms + self.first_hour * HOUR_MS
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
            s = self.vocab.surface[i] if i >= 0 else EMOJI_TAGS[-i - 1]
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
        emoji = np.where(rng.random(n) < _EMOJI_SHARE, rng.integers(0, len(EMOJI_TAGS), n), -1)
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
        w = (np.bincount(self.region[: self.n_org], weights=self.activity[: self.n_org], minlength=len(REGIONS))
             @ self.reg_curve)
        if day == 0 and self.first_hour:
            w[: self.first_hour] = 0.0  # the collector is not live yet
        hours = rng.choice(24, size=n, p=w / w.sum())
        lo = p.start_ms + day * DAY_MS + hours * HOUR_MS
        off = rng.integers(0, HOUR_MS, n)
        t = lo + off
        if day == 0:
            h0 = hours == self.first_hour
            t[h0] = lo[h0] + CATALOGUE_WINDOW_MS + (off[h0] % (HOUR_MS - CATALOGUE_WINDOW_MS))
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
            return self.live_ms + rng.integers(0, CATALOGUE_WINDOW_MS, n)
        last = self.p.days - 1 if last_day is None else min(last_day, self.p.days - 1)
        if last < 0:
            n_seed = n
        else:
            n_seed = min(n, max(1, round(n * seed_share))) if seed_share > 0 else 0
        parts = [self.live_ms + rng.integers(0, CATALOGUE_WINDOW_MS, n_seed)]
        if n > n_seed:
            cnt = largest_remainder(n - n_seed, np.arange(1, last + 2, dtype=np.float64))
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

        pools: list[Pool] = []
        self.t_start = p.trend_start_day
        # trending hashtags
        n_pre = max(3, round(n_cat * 0.0005))
        k_new = max(1, round(p.new_videos_per_day * 0.005))
        for j, tag in enumerate(self.trend_tags):
            pool = Pool("trend_tag", v.tags[tag], float(self.trend_base[j]), bonus=_TREND_BONUS,
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
            pool = Pool("trending_video", f"trending_video_{j}", _TV_BASE_SHARE, bonus=_TV_BONUS,
                         peak=float(np.round(rng.uniform(*_TV_PEAK), 1)), start_day=start)
            pid = len(pools)
            pools.append(pool)
            self.tv_pools.append(pid)
            k = int(rng.integers(1, 3))
            tg = [self.generic_tags[int(i)] for i in rng.choice(len(self.generic_tags), size=k, replace=False)]
            cre_i = creator_pick(1)
            rows.append(dict(pub=int(self.live_ms + rng.integers(0, CATALOGUE_WINDOW_MS)
                                     if p.catalogue == "preloaded"
                                     else self._launch_pubs(rng, 1, last_day=start - 1, seed_share=0.0)[0]),
                             creator=int(self.creators[cre_i[0]]), cat=int(cats_for(cre_i)[0]),
                             tags=tg, pool=pid, weight=1.0, role="trending_video"))
        # steady tag pool
        pool = Pool("steady", v.tags[self.steady_tag], _STEADY_SHARE)
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
        pool = Pool("spam_leak", v.tags[self.spam_tag], _SPAM_LEAK_SHARE, bonus=_SPAM_LEAK_BONUS,
                     active_days=(self.spam_day,) if p.spam_accounts else (),
                     active_from_hour=self.spam_hour + 1)
        pid = len(pools)
        pools.append(pool)
        self.spam_pool = pid
        self.spam_users = np.arange(self.n_org, self.n_all)
        spam_t0 = p.start_ms + self.spam_day * DAY_MS + self.spam_hour * HOUR_MS
        for u in self.spam_users.tolist():
            for _ in range(3):
                rows.append(dict(pub=int(spam_t0 + rng.integers(0, HOUR_MS)), creator=u,
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
            self.video_ids = [long_id(p.seed, "video", i) for i in range(n)]
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
        pref_draw = rng.random(m) < P_PREF
        c_pref = (self.pref_cum[us] < rng.random(m)[:, None]).sum(1)
        glob_share = np.bincount(self.v_cat, weights=self.org_weight, minlength=C)
        glob_share = glob_share / glob_share.sum() if glob_share.sum() > 0 else np.full(C, 1.0 / C)
        c_glob = rng.choice(C, size=m, p=glob_share)
        cc = np.minimum(np.where(pref_draw, c_pref, c_glob), C - 1)
        z = np.log(np.maximum(self.pref[us, cc] * C, 1e-4))
        self.z_mu, self.z_sd = float(z.mean()), float(z.std() or 1.0)
