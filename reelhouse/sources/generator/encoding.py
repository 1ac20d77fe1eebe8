"""Encoding of landing lines: event_time values (RFC 3339 ``Z``, local offset, epoch ms) and the
JSON line of every valid event, written exactly as the event collector would (landing contract v1).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from reelhouse.sources.generator.params import DAY_MS, MIN_MS, EVENT_TYPES, T_FOLLOW, T_PLAY, T_PUBLISH, Params
from reelhouse.sources.generator.sampling import HourEvents
from reelhouse.sources.generator.world import World, offset_suffix

_EXTRA_FIELDS = (
    ',"ab_bucket":"a"', ',"ab_bucket":"b"', ',"network":"wifi"', ',"network":"5g"',
    ',"network":"4g"', ',"ab_bucket":"b","exp_id":1207',
    ',"device":{"model":"SM-G9910","os":"Android 14"}', ',"session_seq":3',
)
_EXTRA_SHARE = 0.005
_CLIENT_MISSING = (0.96, 0.03, 0.01)  # full client fields / without region / none


class TimeFormatter:
    """Fast RFC 3339 formatting: minute prefixes ('YYYY-MM-DDTHH:MM:') for the run's span plus
    'SS.mmm' suffixes, joined per event."""

    def __init__(self, start_ms: int, days: int):
        self.base_min = (start_ms - 3 * DAY_MS) // MIN_MS
        n_min = (days + 6) * 1440
        mins = (np.arange(n_min, dtype=np.int64) + self.base_min) * MIN_MS
        s = np.datetime_as_string(mins.astype("datetime64[ms]"), unit="m")
        self.prefix = np.array([x + ":" for x in s.tolist()], dtype=object)
        self.secms = np.array([f"{i // 1000:02d}.{i % 1000:03d}" for i in range(MIN_MS)], dtype=object)

    def rfc(self, ms: np.ndarray) -> np.ndarray:
        """``YYYY-MM-DDTHH:MM:SS.mmm`` (no offset suffix) of each epoch-ms value of ``ms`` (int64
        array) as an object array of str; values outside the run's span ± 3 days are formatted
        one by one."""
        mi = ms // MIN_MS - self.base_min
        if mi.size and (mi.min() < 0 or mi.max() >= len(self.prefix)):
            return np.array([iso_ms(int(x)) for x in ms.tolist()], dtype=object)
        return self.prefix[mi] + self.secms[ms % MIN_MS]


def iso_ms(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` of epoch milliseconds ``ms`` (UTC, no offset suffix)."""
    d = _dt.datetime(1970, 1, 1) + _dt.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}"


def encode_time(ms: int, enc: int, off_min: int) -> Any:
    """event_time value (Python object for json.dumps) in encoding enc (0 Z, 1 offset, 2 epoch)."""
    if enc == 2:
        return ms
    if enc == 1:
        return iso_ms(ms + off_min * MIN_MS) + offset_suffix(off_min)
    return iso_ms(ms) + "Z"


def format_valid_lines(world: World, params: Params, tf: TimeFormatter, rng: np.random.Generator,
                       ids: list[str], ev: HourEvents) -> list[str]:
    """The JSON lines of an hour's valid events, in line order (vectorised fragments, one f-string
    per line).

    ``ids``: the events' ``event_id`` JSON literals (with quotes), one per event of ``ev``. The
    event_time encoding is drawn per line from the actor's platform mix (or the local offset with
    ``time_encoding="offset"``); client fields are missing on a few % of lines and about 0.5 %
    carry unknown extra fields. Draws from ``rng`` in a fixed order (byte-identical output).
    """
    w = world
    etype, user, video, video_ref, tms = ev.event_type, ev.user, ev.video, ev.video_ref, ev.time_ms
    pt, dnull = ev.play_time_ms, ev.duration_null
    n = len(ids)
    if n == 0:
        return []
    # event_time encodings
    r = rng.random(n)
    ec = w.enc_cum[user]
    enc = (r >= ec[:, 0]).astype(np.int64) + (r >= ec[:, 1])
    if params.time_encoding == "offset":
        enc = np.ones(n, dtype=np.int64)  # every time in the actor's local offset
    time_json = np.empty(n, dtype=object)
    m0 = enc == 0
    if m0.any():
        time_json[m0] = '"' + tf.rfc(tms[m0]) + 'Z"'
    m1 = enc == 1
    if m1.any():
        off = w.off_min[user[m1]]
        time_json[m1] = '"' + tf.rfc(tms[m1] + off * MIN_MS) + w.off_suffix[user[m1]] + '"'
    m2 = enc == 2
    if m2.any():
        time_json[m2] = np.array([str(x) for x in tms[m2].tolist()], dtype=object)
    type_json = np.array(EVENT_TYPES, dtype=object)[etype]
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
