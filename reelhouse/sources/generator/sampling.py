"""Hourly impression sampling and outcomes: who sees which video when, and what follows.

An impression picks an active user by ``activity × active-today × diurnal[local hour]`` and a
published video (a planted pool's share of the hour, else organic: the user's category preference
or global popularity, both Zipf-weighted); it expands into ``impression`` → ``play`` → maybe
``like``/``comment``/``share``/``follow`` with times in the hour (epoch milliseconds, UTC). See the
package docstring for the calibration.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reelhouse.sources.generator.calibration import WR_MAX
from reelhouse.sources.generator.params import HOUR_MS, T_FOLLOW, T_PUBLISH
from reelhouse.sources.generator.world import P_PREF, World

# behaviour constants (see the package docstring)
_P_PLAY = 0.92
_RHO = 0.7
_LIKE_A0, _LIKE_AZ, _LIKE_AU = -4.0, 0.8, 2.2
_FOLLOW_WITH_VIDEO = 0.7


def _phi(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF via Abramowitz & Stegun 7.1.26 erf (|error| < 1.5e-7)."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


@dataclass
class Impressions:
    """Per-impression arrays of one hour (one row = one impression group, ``n`` rows).

    ``user``/``video``: indexes into the world; ``pool``: -1 organic, -2 spam account, else the
    planted pool's id; ``flags``/``times``: (n, 6) for impression, play, like, comment, share,
    follow (bool; event_time in epoch ms UTC); ``play_time``: ms (0 without a play);
    ``dur_null``: the play is written with ``video_duration_ms: null``; ``follow_video``: the
    follow carries the ``video_id`` it was triggered from.
    """

    user: np.ndarray
    video: np.ndarray
    pool: np.ndarray  # -1 organic, -2 spam account, else pool id
    flags: np.ndarray  # (n, 6) bool: impression, play, like, comment, share, follow
    times: np.ndarray  # (n, 6) int64 ms
    play_time: np.ndarray
    dur_null: np.ndarray
    follow_video: np.ndarray

    @staticmethod
    def concat(parts: list["Impressions"]) -> "Impressions":
        """The rows of ``parts`` in order."""
        return Impressions(*[np.concatenate([getattr(p, f) for p in parts]) for f in Impressions.__dataclass_fields__])

    def take(self, idx: slice | np.ndarray) -> "Impressions":
        """The rows selected by ``idx``."""
        return Impressions(*[getattr(self, f)[idx] for f in Impressions.__dataclass_fields__])


class HourSampler:
    """Samples impression groups and their outcomes in the world (watch ratio through a Gaussian
    copula on the user's category affinity, like logit, comment/share/follow rates)."""

    def __init__(self, world: World):
        self.w = world
        cal = world.calib
        self.wr_q = np.asarray(cal.wr_q, dtype=np.float64)
        self.nq = self.wr_q.shape[1] - 1

    def user_cdf(self, day_mask: np.ndarray, hour: int) -> np.ndarray:
        """(n_users,) cumulative sampling weight ``activity × day_mask × diurnal[local hour]`` of
        every user for UTC hour ``hour``."""
        w = self.w
        return np.cumsum(w.activity * day_mask * w.reg_curve[w.region, hour])

    def _outcomes(self, rng, n, users, videos, bonus, t_lo, T1, spam=False) -> Impressions:
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
        wr = np.clip(wr, 0.0, WR_MAX)
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
        return Impressions(users, videos, np.full(n, -1), flags, times, pt, dur_null, follow_video)

    def organic_batch(self, rng: np.random.Generator, n: int, user_cum: np.ndarray, cut: int, t_lo: int,
                      T1: int, pool_shares: list[tuple[int, float]]) -> Impressions:
        """``n`` impression groups of ordinary users (drawn by ``user_cum``): a share of them on
        the planted pools (``pool_shares``: (pool id, share of the hour), at most 0.9 in total),
        the rest organic; only videos published before ``cut`` (ms); times in ``[t_lo, T1)``."""
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
            use_pref = rng.random(io.size) < P_PREF
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

    def spam_batch(self, rng: np.random.Generator, n: int, cut: int, t_lo: int, T1: int) -> Impressions:
        """``n`` impression groups of the spam ring on its videos published before ``cut`` (ms):
        short plays, mostly liked/shared/commented, no follows; times in ``[t_lo, T1)``."""
        w = self.w
        pool = w.pools[w.spam_pool]
        K = int(np.searchsorted(pool.pub, cut, side="left"))
        users = rng.choice(w.spam_users, size=n)
        # the ring of accounts pushes all spam videos published so far (its own and each other's)
        videos = pool.videos[:K][rng.integers(0, K, n)]
        imps = self._outcomes(rng, n, users, videos, np.zeros(n), t_lo, T1, spam=True)
        imps.pool = np.full(n, -2, dtype=np.int64)
        return imps


def fill(gen_batch: Callable[[int], Impressions], need: int, epi: float) -> Impressions | None:
    """Generate impression groups until they hold at least `need` events, then truncate so the
    total is exactly `need` (the last group may lose its trailing events)."""
    if need <= 0:
        return None
    parts: list[Impressions] = []
    total = 0
    while total < need:
        n = int((need - total) / epi * 1.05) + 8
        b = gen_batch(n)
        parts.append(b)
        total += int(b.flags.sum())
    imps = Impressions.concat(parts) if len(parts) > 1 else parts[0]
    cnt = np.cumsum(imps.flags.sum(1))
    k = int(np.searchsorted(cnt, need, side="left"))
    imps = imps.take(slice(0, k + 1))
    excess = int(cnt[k]) - need
    if excess:
        row = imps.flags[k]
        on = np.flatnonzero(row)
        row[on[len(on) - excess:]] = False
    return imps


@dataclass
class HourEvents:
    """The valid distinct events of one landing hour, in line (arrival) order; ``n`` rows each.

    ``event_type``: codes into :data:`~reelhouse.sources.generator.params.EVENT_TYPES`;
    ``user``: user index; ``video``: video index (a follow: the video it came from);
    ``video_ref``: the video as written (``World.n_videos`` = no ``video_id`` key, a follow
    without video); ``time_ms``: event_time, epoch ms UTC; ``play_time_ms``: 0 unless a play;
    ``duration_null``: a play written with ``video_duration_ms: null``.
    """

    event_type: np.ndarray
    user: np.ndarray
    video: np.ndarray
    video_ref: np.ndarray
    time_ms: np.ndarray
    play_time_ms: np.ndarray
    duration_null: np.ndarray

    def __len__(self) -> int:
        return len(self.event_type)


def expand_hour(world: World, rng: np.random.Generator, imps: Impressions | None, late_rows: np.ndarray,
                T0: int, T1: int) -> HourEvents:
    """The hour's events: the publish events of videos published in ``[T0, T1)`` (ms) and every
    flagged event of ``imps``, ordered by arrival — shortly after event_time within the hour, the
    impression groups ``late_rows`` (already shifted to an earlier date) at a random time of it."""
    w = world
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
    arrival[late] = T0 + rng.integers(0, HOUR_MS, int(late.sum()))
    order = np.argsort(arrival, kind="stable")
    etype, user, video, video_ref, tms = (a[order] for a in (etype, user, video, video_ref, tms))
    pt = np.zeros(n, dtype=np.int64)
    dnull = np.zeros(n, dtype=bool)
    if n_int:
        pt = np.concatenate([np.zeros(n_pub, np.int64), imps.play_time[gi]])[order]
        dnull = np.concatenate([np.zeros(n_pub, bool), imps.dur_null[gi]])[order]
    return HourEvents(etype, user, video, video_ref, tms, pt, dnull)


def sample_hour(sampler: HourSampler, rng: np.random.Generator, *, day: int, hour: int, day_mask: np.ndarray,
                need: int, need_spam: int, t_lo: int, T1: int) -> Impressions | None:
    """The impression groups of hour ``hour`` of day index ``day``: exactly ``need`` organic events
    (planted pools included) and ``need_spam`` spam-ring events (organic ones while no spam video
    is published yet), with times in ``[t_lo, T1)`` (ms); None when both are 0.

    ``day_mask``: (n_users,) 1.0 for the users active that day, else 0.0.
    """
    w = sampler.w
    g = day * 24 + hour
    cut = t_lo
    t_mid_days = (g + 0.5) / 24.0
    user_cum = sampler.user_cdf(day_mask, hour)
    if user_cum[-1] <= 0:
        user_cum = np.cumsum(np.ones(w.n_org))
    pool_shares = []
    for pid, pool in enumerate(w.pools):
        s = pool.share(day, t_mid_days)
        if s > 0 and pool.pub.size and pool.pub[0] < cut:
            pool_shares.append((pid, s))
    imps = fill(lambda n: sampler.organic_batch(rng, n, user_cum, cut, t_lo, T1, pool_shares), need, 1.9)
    parts = [x for x in (imps,) if x is not None]
    if need_spam > 0:
        spam_pool = w.pools[w.spam_pool]
        if spam_pool.pub.size and spam_pool.pub[0] < cut:
            sp = fill(lambda n: sampler.spam_batch(rng, n, cut, t_lo, T1), need_spam, 4.0)
            parts.append(sp)
        else:  # spam videos not yet published: organic instead
            extra = fill(lambda n: sampler.organic_batch(rng, n, user_cum, cut, t_lo, T1, pool_shares), need_spam, 1.9)
            parts.append(extra)
    return Impressions.concat(parts) if len(parts) > 1 else (parts[0] if parts else None)
