"""Tests for the synthetic event generator (reelhouse.sources.generator).

The validator below is an independent, pure-Python reading of the landing contract (it only
imports the contract's constants), so the generator's planted bad lines and its "valid" lines are
checked against the contract rather than against the generator's own idea of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import os
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from reelhouse.sources import contract
from reelhouse.sources.generator import BUILTIN, GROUND_TRUTH_DIR, GROUND_TRUTH_FILE, generate, trend_multiplier

START = dt.date(2024, 5, 1)
TOL_S = 3600
DATASETS = Path(os.environ.get("REELHOUSE_DATASETS_DIR", Path(__file__).resolve().parents[4] / "shared" / "datasets"))
HAVE_DATASETS = (DATASETS / "kuairec-meta" / "kuairec_caption_category.csv").is_file()


# ------------------------------------------------------------------------------------------------
# An independent contract validator
# ------------------------------------------------------------------------------------------------
def event_time_ms(value) -> int | None:
    """Epoch ms of a valid event_time value, None when unparseable/invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and contract.is_rfc3339_with_offset(value):
        try:
            d = dt.datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError:
            return None
        return round(d.timestamp() * 1000)
    return None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_line(line: str, hour_end_ms: int, tolerance_s: int = TOL_S) -> str | None:
    """Reason code for a contract-breaking line, None for a valid one."""
    if not line.strip():
        return contract.REASON_INVALID_JSON
    try:
        obj = json.loads(line)
    except ValueError:
        return contract.REASON_INVALID_JSON
    if not isinstance(obj, dict):
        return contract.REASON_NOT_AN_OBJECT
    for f in contract.ALWAYS_REQUIRED:
        if obj.get(f) is None:
            return contract.REASON_MISSING_FIELD
    et = obj["event_type"]
    if not isinstance(et, str):
        return contract.REASON_WRONG_TYPE
    if et not in contract.EVENT_TYPES:
        return contract.REASON_UNKNOWN_EVENT_TYPE
    for f in contract.REQUIRED_BY_TYPE[et]:
        if f not in obj or (obj[f] is None and (et, f) not in contract.NULLABLE_REQUIRED):
            return contract.REASON_MISSING_FIELD
    for f, kind in contract.FIELD_TYPES.items():
        v = obj.get(f)
        if v is None:
            continue
        ok = {
            "string": lambda x: isinstance(x, str),
            "integer": _is_int,
            "string_list": lambda x: isinstance(x, list) and all(isinstance(e, str) for e in x),
            "event_time": lambda x: isinstance(x, str) or _is_int(x),
        }[kind](v)
        if not ok:
            return contract.REASON_WRONG_TYPE
    ms = event_time_ms(obj["event_time"])
    if ms is None:
        return contract.REASON_INVALID_EVENT_TIME
    if ms > hour_end_ms + tolerance_s * 1000:
        return contract.REASON_FUTURE_EVENT_TIME
    if _is_int(obj.get("play_time_ms")) and obj["play_time_ms"] < 0:
        return contract.REASON_NEGATIVE_PLAY_TIME
    if _is_int(obj.get("video_duration_ms")) and obj["video_duration_ms"] <= 0:
        return contract.REASON_INVALID_DURATION
    return None


# ------------------------------------------------------------------------------------------------
# Reading a landing folder
# ------------------------------------------------------------------------------------------------
def read_landing(root: Path):
    """Parse every landing file. Returns (rows, bad, files) where rows are the valid events
    (dict + _file/_date/_hour/_line), bad is a list of (file, date, reason), files maps relative
    path → line count (None for an unreadable file)."""
    rows, bad, files = [], [], {}
    for path in sorted((root / contract.LANDING_EVENTS_DIR).rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        m = contract.LANDING_FILE_PATTERN.search(rel)
        assert m, f"unexpected file {rel}"
        date, hour = m.group(1), int(m.group(2))
        hour_end = int(dt.datetime.fromisoformat(f"{date}T{hour:02d}:00:00+00:00").timestamp() * 1000) + 3_600_000
        raw = path.read_bytes()
        if rel.endswith(".gz"):
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error):
                files[rel] = None
                continue
        text = raw.decode("utf-8")
        assert text.endswith("\n") or not text
        lines = text.split("\n")[:-1]
        files[rel] = len(lines)
        for i, line in enumerate(lines):
            code = validate_line(line, hour_end)
            if code:
                bad.append((rel, date, code))
            else:
                obj = json.loads(line)
                obj.update(_file=rel, _date=date, _hour=hour, _hour_end=hour_end, _line=line,
                           _ms=event_time_ms(obj["event_time"]))
                rows.append(obj)
    return rows, bad, files


def load_gt(root: Path) -> dict:
    return json.loads((root / GROUND_TRUTH_DIR / GROUND_TRUTH_FILE).read_text("utf-8"))


def read_csv_gz(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8"))))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def date_of(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).date().isoformat()


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 3-day run with every defect switched on."""
    root = tmp_path_factory.mktemp("small")
    summary = generate(root, start=START, days=3, events_per_day=8_000, seed=7, bad_fraction=0.01,
                       duplicate_fraction=0.02, redelivered_files=2, late_fraction=0.02, corrupt_files=2)
    rows, bad, files = read_landing(root)
    return root, summary, load_gt(root), rows, bad, files


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """A 7-day run large enough for the planted trends and the preference signal."""
    root = tmp_path_factory.mktemp("week")
    summary = generate(root, start=START, days=7, events_per_day=40_000, seed=3)
    rows, bad, files = read_landing(root)
    return root, summary, load_gt(root), rows, bad, files


# ------------------------------------------------------------------------------------------------
# Arguments
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 0}, {"events_per_day": 0}, {"bad_fraction": 1.0}, {"bad_fraction": -0.1},
        {"duplicate_fraction": 1.5}, {"late_fraction": 1.0}, {"redelivered_files": -1},
        {"corrupt_files": -2}, {"redelivered_files": 10_000}, {"seed": -1},
        {"future_tolerance_seconds": -5}, {"files_per_hour": 1},
    ],
)
def test_bad_arguments_raise_value_error(tmp_path, kwargs):
    args = dict(start=START, days=1, events_per_day=100)
    args.update(kwargs)
    with pytest.raises(ValueError):
        generate(tmp_path, **args)
    assert not (tmp_path / "events").exists()


def test_missing_dataset_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        generate(tmp_path, start=START, days=1, events_per_day=100, tags_path=tmp_path / "nope.csv")


# ------------------------------------------------------------------------------------------------
# Determinism and layout
# ------------------------------------------------------------------------------------------------
def test_deterministic_bytes_and_atomic_names(tmp_path):
    kw = dict(start=START, days=2, events_per_day=3_000, seed=11, corrupt_files=1, redelivered_files=1)
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, **kw)
    generate(b, **kw)
    ta, tb = tree_bytes(a), tree_bytes(b)
    assert ta.keys() == tb.keys()
    assert all(ta[k] == tb[k] for k in ta)
    # a re-run into the same folder is byte-identical as well and leaves no temp files
    generate(a, **kw)
    assert tree_bytes(a) == tb
    assert not [k for k in ta if k.rsplit("/", 1)[-1].startswith(".")]
    # another seed differs
    c = tmp_path / "c"
    generate(c, **{**kw, "seed": 12})
    assert tree_bytes(c) != ta


def test_rerun_with_other_arguments_removes_stale_parts(tmp_path):
    generate(tmp_path, start=START, days=1, events_per_day=2_000, corrupt_files=3, compress=False)
    generate(tmp_path, start=START, days=1, events_per_day=2_000, corrupt_files=0, compress=True)
    names = [p.name for p in (tmp_path / "events").rglob("*") if p.is_file()]
    assert all(n.endswith(".jsonl.gz") for n in names)
    gt = load_gt(tmp_path)
    assert len(names) == len(gt["files"])


def test_layout_and_file_names(small):
    root, summary, gt, rows, bad, files = small
    dates = {(START + dt.timedelta(days=d)).isoformat() for d in range(3)}
    seen_hours = set()
    for rel in files:
        m = contract.LANDING_FILE_PATTERN.search(rel)
        assert m and m.group(1) in dates and 0 <= int(m.group(2)) <= 23
        assert rel.endswith(".jsonl.gz")
        seen_hours.add((m.group(1), m.group(2)))
    assert len(seen_hours) == 3 * 24
    assert summary.files_written == len(files) == len(gt["files"])
    assert {f["path"] for f in gt["files"]} == set(files)


def test_uncompressed_output(tmp_path):
    generate(tmp_path, start=START, days=1, events_per_day=500, compress=False, redelivered_files=1)
    names = [p.name for p in (tmp_path / "events").rglob("*") if p.is_file()]
    assert names and all(n.endswith(".jsonl") for n in names)
    rows, bad, files = read_landing(tmp_path)
    assert len({r["event_id"] for r in rows}) == 500


def test_builtin_fallback_runs(tmp_path):
    s = generate(tmp_path, start=START, days=1, events_per_day=3_000, tags_path=BUILTIN, kuairand_path=BUILTIN)
    gt = load_gt(tmp_path)
    assert gt["sources"]["vocabulary"]["kind"] == "builtin"
    assert gt["sources"]["calibration"]["kind"] == "builtin"
    assert s.events_per_date == {START.isoformat(): 3_000}


# ------------------------------------------------------------------------------------------------
# Contract conformance and reconciliation
# ------------------------------------------------------------------------------------------------
def test_bad_lines_match_ground_truth_exactly(small):
    root, summary, gt, rows, bad, files = small
    got = Counter(code for _, _, code in bad)
    expected = {k: v for k, v in gt["bad_lines"]["by_reason"].items() if v}
    assert dict(got) == expected
    # every reason code but corrupt_file is planted, evenly
    codes = set(contract.REASON_CODES) - {contract.REASON_CORRUPT_FILE}
    assert set(expected) == codes
    orig = gt["bad_lines"]["by_reason_excluding_redeliveries"]
    assert max(orig.values()) - min(orig.values()) <= 1
    assert summary.bad_lines_by_reason == gt["bad_lines"]["by_reason"]


def test_corrupt_files_are_undecodable_and_listed(small):
    root, summary, gt, rows, bad, files = small
    unreadable = sorted(k for k, v in files.items() if v is None)
    assert unreadable == sorted(gt["corrupt_files"]) and len(unreadable) == 2
    for rel in unreadable:
        raw = (root / rel).read_bytes()
        assert raw[:3] == b"\x1f\x8b\x08"


def test_valid_lines_satisfy_the_contract(small):
    root, summary, gt, rows, bad, files = small
    assert rows
    json.dumps(summary.to_dict())
    for r in rows:
        et = r["event_type"]
        # event_time never past its folder hour's end (no tolerance needed for valid lines), and
        # within the hour or the one before (a next-hour duplicate copy) unless on an earlier date
        assert r["_ms"] < r["_hour_end"]
        if date_of(r["_ms"]) == r["_date"]:
            assert r["_ms"] >= r["_hour_end"] - 2 * 3_600_000
        assert r["_ms"] >= int(dt.datetime(START.year, START.month, START.day, tzinfo=dt.timezone.utc).timestamp() * 1000)
        if et == "play":
            assert r["play_time_ms"] >= 0 and "video_duration_ms" in r
        if et == "follow":
            assert isinstance(r["creator_id"], str)
        if et == "publish":
            assert isinstance(r["hashtags"], list) and r["video_duration_ms"] > 0
            assert r["creator_id"] == r["user_id"]
            assert 5_000 <= r["video_duration_ms"] <= 180_000
        if "region" in r:
            assert len(r["region"]) == 2 and r["region"].isupper()
    # the three event_time encodings are all used, with several offsets
    kinds = Counter()
    for r in rows:
        v = r["event_time"]
        kinds["epoch" if isinstance(v, int) else ("Z" if v.endswith("Z") else v[-6:])] += 1
    assert kinds["epoch"] > 0 and kinds["Z"] > 0 and kinds["+08:00"] > 0
    assert len([k for k in kinds if k not in ("epoch", "Z")]) >= 5
    # unknown extra fields are present on a few lines
    known = set(contract.KNOWN_FIELDS)
    extra = [r for r in rows if set(k for k in r if not k.startswith("_")) - known]
    assert 0 < len(extra) < 0.02 * len(rows)


def test_counts_reconcile_with_files(small):
    root, summary, gt, rows, bad, files = small
    by_date_lines = Counter()
    for rel, n in files.items():
        if n is not None:
            by_date_lines[contract.LANDING_FILE_PATTERN.search(rel).group(1)] += n
    assert dict(by_date_lines) == gt["lines_by_date"] == summary.lines_per_date
    # global: lines = valid distinct + duplicate lines + bad lines
    ids = Counter(r["event_id"] for r in rows)
    total_lines = sum(n for n in files.values() if n is not None)
    dup_lines = sum(c - 1 for c in ids.values())
    assert total_lines == len(ids) + dup_lines + len(bad)
    assert dup_lines == gt["duplicates"]["duplicate_lines"] == summary.duplicates
    assert len(bad) == gt["bad_lines"]["total"]
    # duplicates are verbatim copies
    by_id = defaultdict(set)
    for r in rows:
        by_id[r["event_id"]].add(r["_line"])
    assert all(len(v) == 1 for v in by_id.values())
    # per arrival date: first occurrence defines the date; exact events_per_day
    first = {}
    for r in sorted(rows, key=lambda r: (r["_date"], r["_hour"], r["_file"])):
        first.setdefault(r["event_id"], r)
    per_date = Counter(r["_date"] for r in first.values())
    assert dict(per_date) == summary.events_per_date == {d: 8_000 for d in gt["dates"]}
    types = defaultdict(Counter)
    for r in first.values():
        types[r["_date"]][r["event_type"]] += 1
    for d, c in gt["events_by_arrival_date"].items():
        assert {k: v for k, v in c.items() if k != "total" and v} == dict(types[d])
    ev_types = defaultdict(Counter)
    for r in first.values():
        ev_types[date_of(r["_ms"])][r["event_type"]] += 1
    for d, c in gt["events_by_event_date"].items():
        assert {k: v for k, v in c.items() if k != "total" and v} == dict(ev_types[d])
    # per-date reconciliation block
    for d, rec in gt["reconciliation"].items():
        assert rec["lines"] == rec["valid_distinct_events"] + rec["duplicate_lines"] + rec["bad_lines"]


def test_duplicates_and_redeliveries(small):
    root, summary, gt, rows, bad, files = small
    locations = defaultdict(list)
    for r in rows:
        locations[r["event_id"]].append((r["_file"], r["_date"], r["_hour"]))
    red = {x["copy"]: x["original"] for x in gt["redelivered_files"]}
    assert len(red) == 2
    for copy, orig in red.items():
        assert copy.endswith("-redelivery.jsonl.gz")
        assert copy.rsplit("/", 1)[0] == orig.rsplit("/", 1)[0]
        assert (root / copy).read_bytes() == (root / orig).read_bytes()
    planted = 0
    for eid, locs in locations.items():
        if len(locs) < 2:
            continue
        non_red = [x for x in locs if x[0] not in red]
        if len(non_red) == 2:
            planted += 1
            (f1, d1, h1), (f2, d2, h2) = sorted(non_red, key=lambda x: (x[1], x[2], x[0]))
            assert f1 != f2
            t1 = dt.datetime.fromisoformat(d1) + dt.timedelta(hours=h1)
            t2 = dt.datetime.fromisoformat(d2) + dt.timedelta(hours=h2)
            assert t2 - t1 in (dt.timedelta(0), dt.timedelta(hours=1))
    assert planted == gt["duplicates"]["planted_copies"] > 0


def test_late_events(small):
    root, summary, gt, rows, bad, files = small
    seen, late = set(), Counter()
    for r in rows:
        if r["event_id"] in seen:
            continue
        seen.add(r["event_id"])
        ed = date_of(r["_ms"])
        assert ed <= r["_date"]
        if ed < r["_date"]:
            late[r["_date"]] += 1
            assert ed >= START.isoformat()
    assert sum(late.values()) == gt["late_events"]["total"] == summary.late_events > 0
    assert {k: v for k, v in gt["late_events"]["by_arrival_date"].items() if v} == dict(late)
    assert gt["late_events"]["by_arrival_date"][START.isoformat()] == 0
    # about late_fraction of the events arriving on day >= 1
    n = sum(v for k, v in summary.events_per_date.items() if k != START.isoformat())
    assert 0.01 < sum(late.values()) / n < 0.03


def test_interactions_follow_their_publish(small):
    root, summary, gt, rows, bad, files = small
    publish = {r["video_id"]: r["_ms"] for r in rows if r["event_type"] == "publish"}
    for r in rows:
        if r["event_type"] != "publish" and "video_id" in r:
            assert r["video_id"] in publish
            assert publish[r["video_id"]] < r["_ms"]


def test_event_ids_unique_and_deterministic_format(small):
    root, summary, gt, rows, bad, files = small
    for r in rows[:2000]:
        parts = r["event_id"].split("-")
        assert parts[0] == "e" and parts[1] == "7" and len(parts[2]) == 8
        int(parts[3], 16)


def test_hashtags_are_variously_typed_and_normalise(small):
    root, summary, gt, rows, bad, files = small
    raw = [t for r in rows if r["event_type"] == "publish" for t in r["hashtags"]]
    assert any(t.startswith("#") for t in raw) and any(not t.startswith(("#", "＃", " ")) for t in raw)
    assert any(contract.normalize_hashtag(t) != t for t in raw)
    assert any("\u4e00" <= ch <= "\u9fff" for t in raw for ch in t)  # Chinese tags kept
    planted = {t["tag"] for t in gt["trending_hashtags"]}
    assert len(planted) >= 10
    assert all(t == contract.normalize_hashtag(t) for t in planted)
    norm = {contract.normalize_hashtag(t) for t in raw}
    assert planted <= norm


# ------------------------------------------------------------------------------------------------
# Realism: planted trends, steady tag, spam, preferences
# ------------------------------------------------------------------------------------------------
ENGAGED = {"play", "like", "share", "comment"}


def _tag_users_by_date(rows):
    video_tags = {}
    for r in rows:
        if r["event_type"] == "publish":
            video_tags[r["video_id"]] = set(contract.normalize_hashtags(r["hashtags"]))
    users, events = defaultdict(set), Counter()
    seen = set()
    for r in rows:
        if r["event_id"] in seen or r["event_type"] == "publish":
            continue
        seen.add(r["event_id"])
        d = date_of(r["_ms"])
        for t in video_tags.get(r.get("video_id"), ()):
            events[(t, d)] += 1
            if r["event_type"] in ENGAGED:
                users[(t, d)].add(r["user_id"])
    return users, events


@pytest.mark.skipif(not HAVE_DATASETS, reason="KuaiRec/KuaiRand files not present")
def test_planted_trends_steady_and_spam(week):
    root, summary, gt, rows, bad, files = week
    users, events = _tag_users_by_date(rows)
    dates = gt["dates"]
    trends = gt["trending_hashtags"]
    assert len(trends) >= 10
    start = trends[0]["start_date"]
    assert all(t["start_date"] == start for t in trends)
    si = dates.index(start)
    assert si >= 2 and dates.index(trends[0]["peak_date"]) == si + 2
    for t in trends:
        n = [len(users[(t["tag"], d)]) for d in dates]
        assert n == [t["daily_engaged_users"][d] for d in dates]
        base = sum(n[:si]) / si
        curve = [t["daily_multiplier"][d] for d in dates]
        assert curve[si + 2] == max(curve) and curve[si - 1] == 1.0
        # distinct engaged users rise with the curve
        assert n[si] < n[si + 1] < n[si + 2]
        assert n[si + 2] >= 0.5 * curve[si + 2] * base
        assert n[si + 1] >= 2.5 * base
        assert max(n[:si]) <= 2.0 * base + 5
    steady = gt["steady_hashtags"][0]
    s = [len(users[(steady["tag"], d)]) for d in dates]
    assert min(s) > 5 * max(len(users[(trends[0]["tag"], d)]) for d in dates[:si])
    assert max(s) / min(s) < 1.35
    spam = gt["spam_hashtag"]
    sd = spam["burst_date"]
    assert len(spam["account_ids"]) == 5
    assert events[(spam["tag"], sd)] > max(events[(t["tag"], sd)] for t in trends)  # big raw
    assert len(users[(spam["tag"], sd)]) < 0.1 * min(len(users[(t["tag"], sd)]) for t in trends)
    assert all(events[(spam["tag"], d)] == 0 for d in dates if d != sd)
    # the trend curve function matches the ground truth's description
    assert float(trend_multiplier(-0.5, 10.0)) == 1.0
    assert float(trend_multiplier(2.5, 10.0)) > 9.0


def test_trending_videos_rise(week):
    root, summary, gt, rows, bad, files = week
    dates = gt["dates"]
    vid_users = defaultdict(set)
    for r in rows:
        if r["event_type"] in ENGAGED:
            vid_users[(r["video_id"], date_of(r["_ms"]))].add(r["user_id"])
    assert len(gt["trending_videos"]) == 5
    for tv in gt["trending_videos"]:
        si = dates.index(tv["start_date"])
        n = [len(vid_users[(tv["video_id"], d)]) for d in dates]
        base = max(1.0, sum(n[:si]) / si)
        peak = dates.index(tv["peak_date"]) if tv["peak_date"] in dates else len(dates) - 1
        assert n[peak] > 5 * base


def test_preference_raises_completion_and_likes(week):
    root, summary, gt, rows, bad, files = week
    users = {u["user_id"]: u for u in read_csv_gz(root / GROUND_TRUTH_DIR / "users.csv.gz")}
    videos = {v["video_id"]: v for v in read_csv_gz(root / GROUND_TRUTH_DIR / "videos.csv.gz")}
    seen = set()
    plays = {True: [0, 0], False: [0, 0]}
    likes = Counter()
    imps = Counter()
    ratios = []
    for r in rows:
        if r["event_id"] in seen:
            continue
        seen.add(r["event_id"])
        et = r["event_type"]
        if et not in ("play", "like", "impression"):
            continue
        u, v = users[r["user_id"]], videos[r["video_id"]]
        if u["is_spam"] == "1":
            continue
        pref = v["category"] == u["top_category"]
        if et == "play" and r["video_duration_ms"]:
            plays[pref][0] += 1
            plays[pref][1] += r["play_time_ms"] >= r["video_duration_ms"]
            ratios.append(r["play_time_ms"] / r["video_duration_ms"])
        elif et == "like":
            likes[pref] += 1
        elif et == "impression":
            imps[pref] += 1
    comp = {k: c / n for k, (n, c) in plays.items()}
    assert comp[True] > 1.5 * comp[False]
    like_rate = {k: likes[k] / imps[k] for k in (True, False)}
    assert like_rate[True] > 1.5 * like_rate[False]
    # overall calibration: watch ratio near KuaiRand's, like rate a realistic few percent
    ratios.sort()
    median = ratios[len(ratios) // 2]
    assert 0.6 < median < 1.0
    overall_like = (likes[True] + likes[False]) / (imps[True] + imps[False])
    assert 0.015 < overall_like < 0.08
    # null durations exist (contract's nullable case) but are a minority
    n_null = sum(1 for r in rows if r["event_type"] == "play" and r["video_duration_ms"] is None)
    n_play = sum(1 for r in rows if r["event_type"] == "play")
    assert 0.05 < n_null / n_play < 0.3


def test_popularity_is_heavy_tailed(week):
    root, summary, gt, rows, bad, files = week
    c = Counter(r["video_id"] for r in rows if r["event_type"] == "impression")
    counts = sorted(c.values(), reverse=True)
    top1 = sum(counts[: max(1, len(counts) // 100)])
    assert top1 > 0.08 * sum(counts)  # top 1 % of videos draw well over 1 % of impressions


# ------------------------------------------------------------------------------------------------
# Source shapes (issue 14): options that imitate real sources
# ------------------------------------------------------------------------------------------------
REAL_LIKE = dict(first_day_share=0.3, catalogue="growing", client_fields="no_platform", id_style="uuid",
                 time_encoding="offset")
REAL_EPD = 4_000


def raw_lines(root: Path) -> list[str]:
    """Every line of every readable landing file (valid, duplicate and bad lines alike)."""
    out = []
    for path in sorted((root / contract.LANDING_EVENTS_DIR).rglob("*.jsonl*")):
        raw = path.read_bytes()
        try:
            raw = gzip.decompress(raw) if path.name.endswith(".gz") else raw
        except (OSError, EOFError, zlib.error):
            continue
        out += raw.decode("utf-8").split("\n")[:-1]
    return out


def first_occurrences(rows) -> dict:
    first = {}
    for r in sorted(rows, key=lambda r: (r["_date"], r["_hour"], r["_file"])):
        first.setdefault(r["event_id"], r)
    return first


@pytest.fixture(scope="module")
def real_like(tmp_path_factory):
    """A 3-day run with every source-shape option of a young real source and every defect on."""
    root = tmp_path_factory.mktemp("real_like")
    summary = generate(root, start=START, days=3, events_per_day=REAL_EPD, seed=21, bad_fraction=0.01,
                       duplicate_fraction=0.02, redelivered_files=1, late_fraction=0.02, corrupt_files=1,
                       **REAL_LIKE)
    rows, bad, files = read_landing(root)
    return root, summary, load_gt(root), rows, bad, files


@pytest.mark.parametrize(
    "kwargs",
    [
        {"first_day_share": 0}, {"first_day_share": 0.0}, {"first_day_share": 1.01}, {"first_day_share": -0.3},
        {"first_day_share": float("nan")}, {"first_day_share": True}, {"first_day_share": "0.3"},
        {"catalogue": "grown"}, {"catalogue": None}, {"client_fields": "platform"}, {"client_fields": ""},
        {"id_style": "UUID"}, {"id_style": 36}, {"time_encoding": "Z"}, {"time_encoding": "utc"},
    ],
)
def test_shape_arguments_raise_value_error(tmp_path, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        generate(tmp_path, start=START, days=1, events_per_day=100, **kwargs)
    assert not (tmp_path / "events").exists()


def test_redeliveries_only_in_live_hours_are_checked(tmp_path):
    # share 0.02 → only hour 23 of day 0 is live: 2 regular files, so 3 redeliveries are too many
    with pytest.raises(ValueError, match="redelivered_files"):
        generate(tmp_path, start=START, days=1, events_per_day=500, first_day_share=0.02, redelivered_files=3)


def test_default_shape_options_change_nothing(tmp_path):
    kw = dict(start=START, days=2, events_per_day=2_000, seed=5, corrupt_files=1, redelivered_files=1)
    generate(tmp_path / "a", **kw)
    generate(tmp_path / "b", **kw, first_day_share=1.0, catalogue="preloaded", client_fields="full",
             id_style="short", time_encoding="mixed")
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    assert "source_shape" not in load_gt(tmp_path / "a")["parameters"]


def test_real_like_is_deterministic(tmp_path):
    kw = dict(start=START, days=2, events_per_day=1_500, seed=9, redelivered_files=1, **REAL_LIKE)
    generate(tmp_path / "a", **kw)
    generate(tmp_path / "b", **kw)
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_first_day_share_partial_first_day_in_late_hours(real_like):
    root, summary, gt, rows, bad, files = real_like
    shape = gt["parameters"]["source_shape"]
    assert {k: shape[k] for k in REAL_LIKE} == REAL_LIKE
    h0 = shape["first_live_hour"]
    assert 12 <= h0 <= 20  # the late (UTC) hours of day 0
    go_live = int(dt.datetime(START.year, START.month, START.day, h0, tzinfo=dt.timezone.utc).timestamp() * 1000)
    assert shape["go_live_time"] == f"{START.isoformat()}T{h0:02d}:00:00.000Z"
    d0, d1 = START.isoformat(), (START + dt.timedelta(days=1)).isoformat()
    assert summary.events_per_date[d0] == round(0.3 * REAL_EPD)
    assert summary.events_per_date[d1] == REAL_EPD
    # no file before go-live, every hour after it has files
    hours0 = {int(contract.LANDING_FILE_PATTERN.search(rel).group(2))
              for rel in files if contract.LANDING_FILE_PATTERN.search(rel).group(1) == d0}
    assert hours0 == set(range(h0, 24))
    # nothing happened before go-live (late events of later days included)
    assert min(r["_ms"] for r in rows) >= go_live
    assert gt["events_by_event_date"][d0]["total"] >= summary.events_per_date[d0]


def test_growing_catalogue_publishes_over_the_days(real_like):
    root, summary, gt, rows, bad, files = real_like
    pubs = [gt["events_by_arrival_date"][d]["publish"] for d in gt["dates"]]
    assert 0 < pubs[0] < pubs[1] < pubs[2]  # the catalogue appears over time, uploads grow
    videos = read_csv_gz(root / GROUND_TRUTH_DIR / "videos.csv.gz")
    by_date = Counter(date_of(int(v["publish_time_ms"])) for v in videos)
    assert set(by_date) == set(gt["dates"])
    # the preloaded shape would publish the whole catalogue (n_videos) on day 0 in one minute
    n_cat = gt["parameters"]["n_videos"]
    first_minute = Counter(int(v["publish_time_ms"]) // 60_000 for v in videos).most_common(1)[0][1]
    assert first_minute < 0.2 * n_cat
    # nothing is watched before its publish event's time, and the publish event carries that time
    publish = {r["video_id"]: r["_ms"] for r in rows if r["event_type"] == "publish"}
    assert publish == {v["video_id"]: int(v["publish_time_ms"]) for v in videos if v["video_id"] in publish}
    for r in rows:
        if r["event_type"] != "publish" and "video_id" in r:
            assert r["video_id"] in publish and publish[r["video_id"]] < r["_ms"]
    # distinct watched videos grow day by day
    watched = defaultdict(set)
    for r in rows:
        if r["event_type"] == "impression":
            watched[date_of(r["_ms"])].add(r["video_id"])
    assert len(watched[gt["dates"][0]]) < len(watched[gt["dates"][2]])


def test_client_fields_no_platform(real_like):
    root, summary, gt, rows, bad, files = real_like
    lines = raw_lines(root)
    assert not [x for x in lines if '"platform"' in x or '"app_version"' in x]  # bad lines included
    assert all("platform" not in r and "app_version" not in r for r in rows)
    with_region = sum("region" in r for r in rows)
    assert 0.9 * len(rows) < with_region < len(rows)  # still missing on a few % of lines
    assert all(isinstance(r["region"], str) for r in rows if "region" in r)


def test_client_fields_none(tmp_path):
    generate(tmp_path, start=START, days=1, events_per_day=2_000, seed=3, bad_fraction=0.02, client_fields="none")
    lines = raw_lines(tmp_path)
    assert lines and not [x for x in lines if any(f'"{k}"' in x for k in ("platform", "app_version", "region"))]
    # the latent table keeps the attributes
    users = read_csv_gz(tmp_path / GROUND_TRUTH_DIR / "users.csv.gz")
    assert all(u["region"] and u["platform"] for u in users)


def test_uuid_ids_everywhere(real_like):
    root, summary, gt, rows, bad, files = real_like
    lengths = Counter()
    for r in rows:
        for k in ("event_id", "user_id", "video_id", "creator_id"):
            if k in r:
                assert isinstance(r[k], str) and 36 <= len(r[k]) <= 40, (k, r[k])
                lengths[len(r[k])] += 1
    assert set(lengths) == {36, 39, 40} and lengths[36] > lengths[39] + lengths[40]
    uuid_like = [r["event_id"] for r in rows if len(r["event_id"]) == 36]
    assert all(s[8] == s[13] == s[18] == s[23] == "-" and s[14] == "4" for s in uuid_like)
    # distinct events have distinct ids; a duplicate line repeats its id verbatim
    assert len(first_occurrences(rows)) == summary.events_total
    # the ground truth speaks the same ids
    users = {u["user_id"] for u in read_csv_gz(root / GROUND_TRUTH_DIR / "users.csv.gz")}
    videos = {v["video_id"] for v in read_csv_gz(root / GROUND_TRUTH_DIR / "videos.csv.gz")}
    assert {r["user_id"] for r in rows} <= users
    assert {r["video_id"] for r in rows if "video_id" in r} <= videos
    assert {r["creator_id"] for r in rows if "creator_id" in r} <= users
    assert all(36 <= len(x) <= 40 for x in users | videos)
    planted = [v for t in gt["trending_hashtags"] for v in t["video_ids"]] + gt["spam_hashtag"]["video_ids"]
    assert set(planted) <= videos and set(gt["spam_hashtag"]["account_ids"]) <= users


def test_offset_time_encoding(real_like):
    root, summary, gt, rows, bad, files = real_like
    offsets = Counter()
    per_user = defaultdict(set)
    for r in rows:
        v = r["event_time"]
        assert isinstance(v, str) and not v.endswith(("Z", "z")) and contract.is_rfc3339_with_offset(v)
        offsets[v[-6:]] += 1
        per_user[r["user_id"]].add(v[-6:])
    assert offsets["+08:00"] > 0 and len(offsets) >= 5 and "+00:00" in offsets  # GB: +00:00, not Z
    assert all(len(s) == 1 for s in per_user.values())  # the actor's own offset
    # planted bad lines carry offsets too
    assert not [x for x in raw_lines(root) if 'Z"' in x.split('"event_time":', 1)[-1][:40]]


def test_real_like_counts_and_hashtags(real_like):
    root, summary, gt, rows, bad, files = real_like
    first = first_occurrences(rows)
    per_date = Counter(r["_date"] for r in first.values())
    assert dict(per_date) == summary.events_per_date == {
        d: v["total"] for d, v in gt["events_by_arrival_date"].items()}
    assert sum(n for n in files.values() if n is not None) == summary.lines_total
    assert len(bad) == gt["bad_lines"]["total"] == sum(summary.bad_lines_by_reason.values())
    for d, rec in gt["reconciliation"].items():
        assert rec["lines"] == rec["valid_distinct_events"] + rec["duplicate_lines"] + rec["bad_lines"]
        assert rec["lines"] == summary.lines_per_date[d]
    assert summary.late_events == gt["late_events"]["total"] > 0
    # Chinese and emoji hashtags remain
    raw = [t for r in rows if r["event_type"] == "publish" for t in r["hashtags"]]
    norm = {contract.normalize_hashtag(t) for t in raw}
    assert any("\u4e00" <= ch <= "\u9fff" for t in norm for ch in t)
    assert any(ord(ch) >= 0x1F300 or ch == "\u2764" for t in norm for ch in t)


def test_real_like_run_ingests_balanced(real_like, spark, lake, config, data_dirs):
    """The young-real-source shape passes the pipeline's ingest step and reconciles per date."""
    import shutil

    from spark_jobs import ingest

    root, summary, gt, rows, bad, files = real_like
    landing, _ = data_dirs
    assert config.ingest.future_tolerance_seconds == TOL_S  # the tolerance the run was generated for
    shutil.copytree(root, landing)
    corrupt = Counter(contract.LANDING_FILE_PATTERN.search(p).group(1) for p in summary.corrupt_files)
    for d in gt["dates"][:2]:  # the partial first day and a full day with cross-date copies and late events
        rep = ingest.run(spark, lake, config, dt.date.fromisoformat(d))
        assert rep.balanced, rep.message
        assert rep.rows_kept == gt["events_by_arrival_date"][d]["total"]
        assert rep.duplicates_dropped == gt["duplicates"]["by_date"][d]
        assert rep.rows_quarantined == gt["bad_lines"]["by_date"][d] + corrupt[d]
    silver = lake.read("silver.events")
    assert silver.count() == sum(gt["events_by_arrival_date"][d]["total"] for d in gt["dates"][:2])
    assert silver.where("length(event_id) < 36 OR length(user_id) < 36").count() == 0


# ------------------------------------------------------------------------------------------------
# The ground truth is derived from what was written: recount everything from the landing files
# ------------------------------------------------------------------------------------------------
def truth_from_files(root: Path, gt: dict) -> dict:
    """Every count of the ground truth, recomputed from the landing files alone (the validator
    above, no generator code): the same keys and shapes as generation.json."""
    rows, bad, files = read_landing(root)
    dates = gt["dates"]
    start_ms = int(dt.datetime.fromisoformat(dates[0] + "T00:00:00+00:00").timestamp() * 1000)
    redelivered = {rel for rel in files if rel.endswith(("-redelivery.jsonl.gz", "-redelivery.jsonl"))}
    where = {rel: contract.LANDING_FILE_PATTERN.search(rel) for rel in files}
    # first occurrence of an event = its arrival (copies land in the same or a later hour; a
    # redelivery repeats a file of its own hour, and "-redelivery" sorts before ".jsonl")
    first = {}
    for r in sorted(rows, key=lambda r: (r["_date"], r["_hour"], r["_file"] in redelivered, r["_file"])):
        first.setdefault(r["event_id"], r)
    occurrences = Counter(r["event_id"] for r in rows)
    zero_types = {t: 0 for t in contract.EVENT_TYPES}

    def by_type(key) -> dict:
        out = {d: Counter() for d in dates}
        for r in first.values():
            out[key(r)][r["event_type"]] += 1
        return {d: {"total": sum(c.values()), **{t: c[t] for t in zero_types}} for d, c in out.items()}

    out: dict = {
        "events_by_arrival_date": by_type(lambda r: r["_date"]),
        "events_by_event_date": by_type(lambda r: date_of(r["_ms"])),
    }
    late = [r for r in first.values() if date_of(r["_ms"]) < r["_date"]]
    out["late_events"] = {
        "total": len(late),
        "by_arrival_date": {d: sum(r["_date"] == d for r in late) for d in dates},
        "by_event_date": {d: sum(date_of(r["_ms"]) == d for r in late) for d in dates},
    }
    lines_by_date = Counter()
    for rel, n in files.items():
        lines_by_date[where[rel].group(1)] += n or 0
    out["lines_by_date"] = {d: lines_by_date[d] for d in dates}
    by_reason = Counter(code for _, _, code in bad)
    by_reason_orig = Counter(code for rel, _, code in bad if rel not in redelivered)
    out["bad_lines"] = {
        "total": len(bad),
        "by_reason": {c: by_reason[c] for c in gt["bad_lines"]["by_reason"]},
        "by_reason_excluding_redeliveries": {c: by_reason_orig[c] for c in gt["bad_lines"]["by_reason"]},
        "by_date": {d: sum(x == d for _, x, _ in bad) for d in dates},
    }
    copies = [r for r in rows if first[r["event_id"]] is not r]
    planted = [r for r in copies if r["_file"] not in redelivered]
    out["duplicates"] = {
        "duplicate_lines": sum(n - 1 for n in occurrences.values()),
        "planted_copies": len(planted),
        "planted_copies_cross_date": sum(first[r["event_id"]]["_date"] != r["_date"] for r in planted),
        "redelivered_valid_lines": len(copies) - len(planted),
        "by_date": {d: sum(r["_date"] == d for r in copies) for d in dates},
    }
    out["reconciliation"] = {
        d: {"lines": out["lines_by_date"][d], "valid_distinct_events": out["events_by_arrival_date"][d]["total"],
            "duplicate_lines": out["duplicates"]["by_date"][d], "bad_lines": out["bad_lines"]["by_date"][d]}
        for d in dates
    }
    out["corrupt_files"] = sorted(rel for rel, n in files.items() if n is None)
    # planted tags: their videos from the publish events' hashtags; events by event date
    tag_videos = defaultdict(set)
    for r in first.values():
        if r["event_type"] == "publish":
            for t in contract.normalize_hashtags(r["hashtags"]):
                tag_videos[t].add(r["video_id"])
    # the daily multiplier's weights: interaction events per arrival hour
    hour_events = {d: [0] * 24 for d in dates}
    for r in first.values():
        if r["event_type"] != "publish":
            hour_events[r["_date"]][r["_hour"]] += 1

    def daily(videos: set) -> tuple[dict, dict]:
        events, users = Counter(), defaultdict(set)
        for r in first.values():
            if r.get("video_id") in videos:
                events[date_of(r["_ms"])] += 1
                if r["event_type"] in ENGAGED:
                    users[date_of(r["_ms"])].add(r["user_id"])
        return {d: events[d] for d in dates}, {d: len(users[d]) for d in dates}

    def curve(start_date: str, peak: float) -> dict:
        res = {}
        for k, d in enumerate(dates):
            t = k + (np.arange(24) + 0.5) / 24.0
            m = trend_multiplier(t - dates.index(start_date), peak)
            w = np.array(hour_events[d], dtype=np.float64)
            res[d] = round(float((m * w).sum() / w.sum()) if w.sum() > 0 else float(m.mean()), 3)
        return res

    out["trending_hashtags"] = []
    for t in gt["trending_hashtags"]:
        ev, us = daily(tag_videos[t["tag"]])
        out["trending_hashtags"].append({
            "video_ids": sorted(tag_videos[t["tag"]]), "daily_events": ev, "daily_engaged_users": us,
            "daily_multiplier": curve(t["start_date"], t["peak_multiplier"])})
    out["trending_videos"] = []
    for t in gt["trending_videos"]:
        ev, us = daily({t["video_id"]})
        out["trending_videos"].append({"daily_events": ev, "daily_engaged_users": us,
                                       "daily_multiplier": curve(t["start_date"], t["peak_multiplier"])})
    for key in ("steady_hashtags", "spam_hashtag"):
        tags = gt[key] if key == "steady_hashtags" else [gt[key]]
        got = []
        for t in tags:
            ev, us = daily(tag_videos[t["tag"]])
            got.append({"video_count": len(tag_videos[t["tag"]]), "daily_events": ev, "daily_engaged_users": us})
        out[key] = got
    # per file: lines and bad lines; a redelivery repeats its original, every valid line a copy
    bad_per_file = Counter(rel for rel, _, _ in bad)
    valid_per_file = Counter(r["_file"] for r in rows)
    out["files"] = {rel: (n or 0, bad_per_file[rel]) for rel, n in files.items()}
    out["redelivery_copies"] = {rel: valid_per_file[rel] for rel in redelivered}
    # per hour: the copies in regular files = their valid lines - the events arriving that hour
    arriving = Counter((r["_date"], r["_hour"]) for r in first.values())
    regular_valid = Counter((r["_date"], r["_hour"]) for r in rows if r["_file"] not in redelivered)
    out["hour_copies"] = {k: regular_valid[k] - arriving[k] for k in regular_valid}
    out["events_total"] = len(first)
    out["start_ms"] = start_ms
    return out


def truth_as_written(gt: dict) -> dict:
    """The same view of the ground truth file."""
    keep = ("events_by_arrival_date", "events_by_event_date", "late_events", "lines_by_date", "bad_lines",
            "duplicates", "reconciliation")
    out = {k: gt[k] for k in keep}
    out["corrupt_files"] = sorted(gt["corrupt_files"])
    out["trending_hashtags"] = [
        {"video_ids": sorted(t["video_ids"]), "daily_events": t["daily_events"],
         "daily_engaged_users": t["daily_engaged_users"], "daily_multiplier": t["daily_multiplier"]}
        for t in gt["trending_hashtags"]]
    out["trending_videos"] = [
        {k: t[k] for k in ("daily_events", "daily_engaged_users", "daily_multiplier")} for t in gt["trending_videos"]]
    out["steady_hashtags"] = [{k: t[k] for k in ("video_count", "daily_events", "daily_engaged_users")}
                              for t in gt["steady_hashtags"]]
    out["spam_hashtag"] = [{"video_count": len(gt["spam_hashtag"]["video_ids"]),
                            **{k: gt["spam_hashtag"][k] for k in ("daily_events", "daily_engaged_users")}}]
    out["files"] = {f["path"]: (f["lines"], f["bad_lines"]) for f in gt["files"]}
    out["redelivery_copies"] = {f["path"]: f["duplicate_copies"] for f in gt["files"] if f["kind"] == "redelivery"}
    hour_copies = Counter()
    for f in gt["files"]:
        if f["kind"] == "regular":
            m = contract.LANDING_FILE_PATTERN.search(f["path"])
            hour_copies[(m.group(1), int(m.group(2)))] += f["duplicate_copies"]
    out["hour_copies"] = dict(hour_copies)
    out["events_total"] = sum(v["total"] for v in gt["events_by_arrival_date"].values())
    return out


@pytest.mark.parametrize("fixture", ["small", "real_like"])
def test_ground_truth_equals_counts_from_the_landing_files(fixture, request):
    """Every count of the ground truth (events by arrival/event date and type, late events, lines,
    bad lines by reason/date, duplicates, per-file and per-hour copies, the planted tags' and
    videos' daily events, engaged users and curve weights) equals a recount of the files."""
    root, summary, gt, rows, bad, files = request.getfixturevalue(fixture)
    recount = truth_from_files(root, gt)
    recount.pop("start_ms")
    written = truth_as_written(gt)
    assert written.keys() == recount.keys()
    for key in written:
        assert written[key] == recount[key], key
    # the run did plant every kind of defect the recount checks
    assert gt["late_events"]["total"] and gt["duplicates"]["planted_copies_cross_date"] and gt["corrupt_files"]
    assert gt["duplicates"]["redelivered_valid_lines"] and gt["bad_lines"]["total"]
    assert summary.events_total == recount["events_total"]
    assert summary.duplicates == recount["duplicates"]["duplicate_lines"]


def test_recount_detects_a_truth_that_differs_from_the_files(tmp_path, monkeypatch):
    """The recount above is not vacuous: when the files stop matching the writer's record (every
    follow line rewritten to an unknown event type after encoding), it tells them apart."""
    from reelhouse.sources.generator import writer

    fmt = writer.format_valid_lines

    def follows_as_views(world, params, tf, rng, ids, ev):
        return [x.replace('"event_type":"follow"', '"event_type":"view"') for x in fmt(world, params, tf, rng, ids, ev)]

    monkeypatch.setattr(writer, "format_valid_lines", follows_as_views)
    generate(tmp_path, start=START, days=2, events_per_day=4_000, seed=2, bad_fraction=0.0, duplicate_fraction=0.0,
             redelivered_files=0)
    gt = load_gt(tmp_path)
    recount, written = truth_from_files(tmp_path, gt), truth_as_written(gt)
    follows = sum(v["follow"] for v in gt["events_by_arrival_date"].values())
    assert follows > 0
    assert recount["bad_lines"]["by_reason"][contract.REASON_UNKNOWN_EVENT_TYPE] == follows
    assert written["bad_lines"]["total"] == 0
    assert recount["events_by_arrival_date"] != written["events_by_arrival_date"]
