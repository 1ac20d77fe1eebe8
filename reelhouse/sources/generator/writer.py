"""The landing-file writer: the day/hour run loop, file encoding and atomic writes.

Per UTC hour the writer samples the hour's events, plants the defects, encodes every line and
writes ``<landing_root>/events/date=YYYY-MM-DD/hour=HH/part-NNNNN.jsonl[.gz]`` (plus redelivered
and corrupt files). It keeps an :class:`Emission`: every valid distinct event it wrote (as arrays)
and, per file, which event each line carries — the one record the ground truth is derived from
(:mod:`reelhouse.sources.generator.truth`).
"""

from __future__ import annotations

import gzip
import math
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from reelhouse.sources import contract
from reelhouse.sources.generator.defects import BadLines, DefectPlan, LateEvents, corrupt_file_bytes
from reelhouse.sources.generator.encoding import TimeFormatter, format_valid_lines
from reelhouse.sources.generator.params import CATALOGUE_WINDOW_MS, DAY_MS, HOUR_MS, Params
from reelhouse.sources.generator.sampling import HourEvents, HourSampler, expand_hour, sample_hour
from reelhouse.sources.generator.world import REGIONS, SPAM_EVENT_SHARE, World, largest_remainder, long_id

_PART_RE = re.compile(r"^part-\d{5}(?:-redelivery)?\.jsonl(?:\.gz)?$")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a temp name (``.<name>.tmp``) in the same folder,
    then :func:`os.replace`."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def encode_file(lines: list[str], compress: bool) -> bytes:
    """A landing file's bytes: UTF-8 lines, each ending in ``\\n`` (empty for no lines); gzip
    level 1 with ``mtime=0`` when ``compress`` (deterministic bytes)."""
    raw = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    if compress:
        return gzip.compress(raw, compresslevel=1, mtime=0)
    return raw


# ---------------------------------------------------------------------------------------------
# What was written
# ---------------------------------------------------------------------------------------------
@dataclass
class EmittedFile:
    """One written landing file.

    ``path``: relative to the landing root (POSIX); ``date``/``hour``: its arrival folder (UTC);
    ``line_events``: (lines,) int64, per line the index of the valid event it carries into
    :class:`Emission`'s event arrays, -1 for a bad line (empty for a corrupt file: no lines);
    ``bad_codes``: the contract reason code of each bad line, in line order;
    ``redelivery_of``: the regular file a redelivery repeats byte for byte.
    """

    path: str
    date: str
    hour: int
    kind: Literal["regular", "redelivery", "corrupt"]
    line_events: np.ndarray
    bad_codes: list[str]
    redelivery_of: str | None = None


@dataclass
class Emission:
    """Everything one run wrote, in writing order.

    Event arrays, one row per valid distinct event (``n_events``), in line order within each
    hour: ``event_type`` (int8 codes into ``EVENT_TYPES``), ``user`` (user index), ``video_ref``
    (video index as written; ``World.n_videos`` = no ``video_id`` key), ``time_ms`` (event_time,
    epoch ms UTC), ``file`` (index into ``files`` of the regular file holding the event's original
    line; its date/hour are the event's arrival date/hour).
    """

    files: list[EmittedFile] = field(default_factory=list)
    event_type: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    user: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    video_ref: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    time_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    file: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def n_events(self) -> int:
        """Number of valid distinct events written."""
        return int(self.event_type.size)


class _EmissionBuilder:
    """Collects the hours' event arrays; :meth:`finish` concatenates them once."""

    def __init__(self) -> None:
        self.files: list[EmittedFile] = []
        self.parts: list[tuple[np.ndarray, ...]] = []
        self.n = 0

    def add_events(self, ev: HourEvents, file_index: np.ndarray) -> int:
        """Record an hour's valid events (``file_index``: their original file per event); returns
        the global index of the first."""
        base = self.n
        self.parts.append((ev.event_type.astype(np.int8), ev.user, ev.video_ref, ev.time_ms,
                           file_index.astype(np.int32)))
        self.n += len(ev)
        return base

    def finish(self) -> Emission:
        """The emission of the run (the hours' arrays concatenated)."""
        if not self.parts:
            return Emission(files=self.files)
        cols = [np.concatenate(c) for c in zip(*self.parts)]
        self.parts = []
        return Emission(self.files, *cols)


# ---------------------------------------------------------------------------------------------
# The run loop
# ---------------------------------------------------------------------------------------------
class Run:
    """One generation run: the day/hour loop, defects and file writing.

    ``execute()`` writes every file (two writer threads, at most 6 files in flight), removes stale
    generator-named files of a previous run from the hour folders it wrote, and returns the
    :class:`Emission`.
    """

    def __init__(self, p: Params, world: World):
        self.p, self.w = p, world
        self.gen = HourSampler(world)
        self.tf = TimeFormatter(p.start_ms, p.days)
        self.dates = p.dates
        self.ymd = [d.replace("-", "") for d in self.dates]
        self.ext = ".jsonl.gz" if p.compress else ".jsonl"
        plan = DefectPlan.draw(p, world.first_hour)
        self.redeliver = plan.redeliver
        self.corrupt_per_hour = plan.corrupt_per_hour
        self.bad = BadLines(p, world, plan.bad_codes)
        self.late = LateEvents(p, world)
        self.dup_acc = 0.0
        self.out = _EmissionBuilder()
        self.id_counter: dict[int, int] = {}
        self.carry: list[tuple[str, int]] = []  # duplicate copies for the next hour: (line, event index)
        self.written_paths: dict[Path, set[str]] = {}
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list[Future] = []

    # .............................................................................................
    def execute(self) -> Emission:
        """Write every file of the run; returns what was written."""
        try:
            for d in range(self.p.days):
                self._day(d)
            for f in self.pending:
                f.result()
        finally:
            self.pool.shutdown(wait=True)
        self._cleanup_stale()
        return self.out.finish()

    def _submit(self, path: Path, lines: list[str] | None, data: bytes | None = None) -> None:
        self.written_paths.setdefault(path.parent, set()).add(path.name)
        compress = self.p.compress and path.name.endswith(".gz")

        def job() -> None:
            payload = data if data is not None else encode_file(lines or [], compress)
            atomic_write(path, payload)

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
        day_ms = p.start_ms + d * DAY_MS
        pub_per_hour = np.bincount(((w.v_pub[(w.v_pub >= day_ms) & (w.v_pub < day_ms + DAY_MS)] - day_ms) // HOUR_MS),
                                   minlength=24)
        day_events = w.day0_events if d == 0 else p.events_per_day
        inter_total = max(0, day_events - int(pub_per_hour.sum()))
        act_reg = np.bincount(w.region, weights=w.activity * day_mask, minlength=len(REGIONS))
        hour_w = act_reg @ w.reg_curve
        h_first = w.first_hour if d == 0 else 0
        if h_first:
            hour_w[:h_first] = 0.0  # before go-live
        budget = largest_remainder(inter_total, hour_w)
        spam = np.zeros(24, dtype=np.int64)
        if p.spam_accounts and d == w.spam_day:
            hours = np.arange(w.spam_hour + 1, 24)
            spam_total = int(round(SPAM_EVENT_SHARE * day_events))
            spam[hours] = largest_remainder(spam_total, np.ones(len(hours)))
            spam = np.minimum(spam, budget // 2)
        for h in range(h_first, 24):
            self._hour(d, h, day_mask, int(budget[h] - spam[h]), int(spam[h]))

    def _hour(self, d: int, h: int, day_mask: np.ndarray, need: int, need_spam: int) -> None:
        p, w = self.p, self.w
        g = d * 24 + h
        rng = np.random.default_rng([p.seed, 0x5EED, 4, d, h])
        T0 = p.start_ms + g * HOUR_MS
        T1 = T0 + HOUR_MS
        t_lo = T0 + (CATALOGUE_WINDOW_MS if g == w.first_hour else 0)
        imps = sample_hour(self.gen, rng, day=d, hour=h, day_mask=day_mask, need=need, need_spam=need_spam,
                           t_lo=t_lo, T1=T1)
        late_rows = self.late.shift(rng, imps, d)  # arrive now, happened on an earlier date
        ev = expand_hour(w, rng, imps, late_rows, T0, T1)
        n = len(ev)

        # ---- bad lines ----
        n_bad = self.bad.count(n)
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
            ids = [f'"{long_id(p.seed, "event", f"{self.ymd[d]}-{i}")}"' for i in range(base, base + total)]
        else:
            ids = [f'{pre}{i:07x}"' for i in range(base, base + total)]
        lines: list[str] = [""] * total
        valid_lines = format_valid_lines(w, p, self.tf, rng, [ids[i] for i in valid_pos.tolist()], ev)
        for pos, line in zip(valid_pos.tolist(), valid_lines):
            lines[pos] = line
        bad_codes_here: list[str] = []
        for pos in bad_pos.tolist():
            code, lines[pos] = self.bad.make(rng, ids[pos][1:-1], ev, T0)
            bad_codes_here.append(code)
        # per line: the index of its event in the emission (-1 = bad line); files come below
        ev_base = self.out.n
        line_ev = np.full(total, -1, dtype=np.int64)
        line_ev[valid_pos] = ev_base + np.arange(n)

        # ---- split into parts, duplicates, carry-in ----
        n_parts = max(p.files_per_hour, math.ceil(total / p.max_lines_per_file))
        bounds = np.linspace(0, total, n_parts + 1).astype(np.int64)
        part_of = np.searchsorted(bounds[1:], np.arange(total), side="right")
        part_lines = [lines[bounds[k]: bounds[k + 1]] for k in range(n_parts)]
        bad_code_by_part: list[list[str]] = [[] for _ in range(n_parts)]
        for pos, code in zip(bad_pos.tolist(), bad_codes_here):
            bad_code_by_part[int(part_of[pos])].append(code)
        inserts: list[list[tuple[str, int]]] = [[] for _ in range(n_parts)]
        # carry-in: copies of the previous hour's events
        carry_in, self.carry = self.carry, []
        for item in carry_in:
            inserts[int(rng.integers(n_parts))].append(item)
        self.dup_acc += p.duplicate_fraction * n
        n_dup = min(int(self.dup_acc), n)
        self.dup_acc -= n_dup
        is_last_hour = g == p.days * 24 - 1
        if n_dup:
            chosen = rng.choice(valid_pos, size=n_dup, replace=False)
            nxt = (rng.random(n_dup) < 0.3) & (not is_last_hour)
            for pos, to_next in zip(chosen.tolist(), nxt.tolist()):
                if to_next:
                    self.carry.append((lines[pos], int(line_ev[pos])))
                else:
                    src = int(part_of[pos])
                    dst = int(rng.integers(n_parts - 1))
                    dst = dst + 1 if dst >= src else dst
                    inserts[dst].append((lines[pos], int(line_ev[pos])))

        date = self.dates[d]
        folder = p.landing_root / contract.LANDING_EVENTS_DIR / f"date={date}" / f"hour={h:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        files = self.out.files
        part_file = np.zeros(n_parts, dtype=np.int64)
        for k in range(n_parts):
            pl = part_lines[k]
            pe = line_ev[bounds[k]: bounds[k + 1]]
            ins = inserts[k]
            if ins:
                at = np.sort(rng.integers(0, len(pl) + 1, len(ins)))
                merged: list[str] = []
                prev = 0
                for ps, (line, _) in zip(at.tolist(), ins):
                    merged.extend(pl[prev:ps])
                    merged.append(line)
                    prev = ps
                merged.extend(pl[prev:])
                pl = merged
                pe = np.insert(pe, at, [e for _, e in ins])
            name = f"part-{k:05d}{self.ext}"
            path = folder / name
            rel = path.relative_to(p.landing_root).as_posix()
            part_file[k] = len(files)
            files.append(EmittedFile(rel, date, h, "regular", pe, bad_code_by_part[k]))
            if (g, k) in self.redeliver:
                data = encode_file(pl, p.compress)
                self._submit(path, None, data)
                cpath = folder / f"part-{k:05d}-redelivery{self.ext}"
                self._submit(cpath, None, data)
                crel = cpath.relative_to(p.landing_root).as_posix()
                files.append(EmittedFile(crel, date, h, "redelivery", pe, bad_code_by_part[k], redelivery_of=rel))
            else:
                self._submit(path, pl)
        for j in range(self.corrupt_per_hour.get(g, 0)):
            path = folder / f"part-{n_parts + j:05d}.jsonl.gz"
            self._submit(path, None, corrupt_file_bytes(p.seed, g, j))
            rel = path.relative_to(p.landing_root).as_posix()
            files.append(EmittedFile(rel, date, h, "corrupt", np.zeros(0, dtype=np.int64), []))
        self.out.add_events(ev, part_file[part_of[valid_pos]])

    def _date_counter(self, d: int, n: int) -> int:
        """Reserve n event-id numbers of arrival date d; returns the first."""
        base = self.id_counter.get(d, 0)
        self.id_counter[d] = base + n
        return base
