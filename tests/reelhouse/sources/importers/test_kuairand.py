"""Tests for ``reelhouse.sources.importers.kuairand``: a hand-made TSV and the real KuaiRand extract."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from reelhouse.sources import contract
from reelhouse.sources.importers.kuairand import (
    LANDING_FILE_NAME,
    SOURCE_FILE_NAME,
    ImportSummary,
    import_kuairand,
)

DATASET_DIR = Path(__file__).resolve().parents[4].parent / "shared" / "datasets" / "kuairand"
REAL_FILE = DATASET_DIR / SOURCE_FILE_NAME

HEADER = (
    "user_id\tvideo_id\tdate\thourmin\ttime_ms\tis_click\tis_follow\tis_comment\tis_forward\t"
    "long_view\tplay_time_ms\tduration_ms\tcomment_stay_time\tis_profile_enter\tlabel\ttimestamp"
)

# 2022-04-10T08:59:09.287Z, 2022-04-11T08:09:12.983Z, 2022-04-11T08:16:33.737Z (+ one repeat)
TINY_ROWS = [
    "\t".join(r.split())
    for r in (
        "111 3892024 20220410 1700 1649581149287 1 0 0 0 1 46186 45916 7639 0 1 2022-04-10T08:59:09",
        "111 2629583 20220411 1600 1649664552983 1 1 1 1 0 14549 0 5045 1 1 2022-04-11T08:09:12",
        "7 1135013 20220411 1600 1649664993737 0 0 0 0 0 5148 9000 0 0 0 2022-04-11T08:16:33",
        "7 1135013 20220411 1700 1649664993737 0 0 0 0 0 5148 9000 0 0 0 2022-04-11T08:16:33",
    )
]


def _write_tsv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def _landing_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / contract.LANDING_EVENTS_DIR).rglob("*"))
        if p.is_file() and p.name != contract.LANDING_COVERAGE_FILE
    }


def _check_contract(event: dict) -> None:
    """Required fields present with the contract's JSON types (null only where allowed)."""
    etype = event["event_type"]
    assert etype in contract.EVENT_TYPES
    for name in contract.ALWAYS_REQUIRED + contract.REQUIRED_BY_TYPE[etype]:
        assert name in event, (name, event)
        value = event[name]
        if value is None:
            assert (etype, name) in contract.NULLABLE_REQUIRED, (name, event)
            continue
        kind = contract.FIELD_TYPES[name]
        if kind == "string":
            assert isinstance(value, str) and value, (name, event)
        elif kind in ("integer", "event_time"):
            assert isinstance(value, int) and not isinstance(value, bool), (name, event)
    for name, value in event.items():
        kind = contract.FIELD_TYPES.get(name)
        if kind == "string" and value is not None:
            assert isinstance(value, str)
        if name.startswith("kr_"):
            assert isinstance(value, int) and not isinstance(value, bool)
    if etype == "play":
        assert event["play_time_ms"] >= 0
        assert event["video_duration_ms"] is None or event["video_duration_ms"] > 0


# ------------------------------------------------------------------------------------------------
# hand-made TSV
# ------------------------------------------------------------------------------------------------
def test_tiny_tsv_exact_events(tmp_path: Path) -> None:
    src = _write_tsv(tmp_path / "log.tsv", HEADER, TINY_ROWS)
    landing = tmp_path / "landing"

    summary = import_kuairand(src, landing)

    files = _landing_files(landing)
    assert list(files) == [
        f"events/date=2022-04-10/hour=08/{LANDING_FILE_NAME}",
        f"events/date=2022-04-11/hour=08/{LANDING_FILE_NAME}",
    ]
    # whole China-local days from the local midnight nearest the first event (04-11 00:00 +08:00,
    # widened to the first event's hour) to the one nearest the last (04-12 00:00 +08:00)
    assert summary.coverage == {dt.date(2022, 4, 10): "08:00–24:00 UTC (67%)",
                                dt.date(2022, 4, 11): "00:00–16:00 UTC (67%)"}
    day1_raw = files[f"events/date=2022-04-10/hour=08/{LANDING_FILE_NAME}"].decode()
    day1 = [json.loads(x) for x in day1_raw.splitlines()]
    assert day1 == [
        {
            "event_id": "kr-111-3892024-1649581149287-impression",
            "event_type": "impression",
            "event_time": 1649581149287,
            "user_id": "kr_u111",
            "video_id": "kr_v3892024",
        },
        {
            "event_id": "kr-111-3892024-1649581149287-play",
            "event_type": "play",
            "event_time": 1649581149287,
            "user_id": "kr_u111",
            "video_id": "kr_v3892024",
            "play_time_ms": 46186,
            "video_duration_ms": 45916,
            "kr_is_click": 1,
            "kr_long_view": 1,
            "kr_label": 1,
            "kr_comment_stay_time_ms": 7639,
            "kr_is_profile_enter": 0,
        },
        {
            "event_id": "kr-111-3892024-1649581149287-like",
            "event_type": "like",
            "event_time": 1649581149287,
            "user_id": "kr_u111",
            "video_id": "kr_v3892024",
        },
    ]

    day2_raw = files[f"events/date=2022-04-11/hour=08/{LANDING_FILE_NAME}"].decode()
    assert day2_raw.endswith("\n")
    day2 = [json.loads(x) for x in day2_raw.splitlines()]
    t1, t2 = 1649664552983, 1649664993737
    assert [(e["event_time"], e["event_type"]) for e in day2] == [
        (t1, "impression"),
        (t1, "play"),
        (t1, "like"),
        (t1, "share"),
        (t1, "comment"),
        (t1, "follow"),
        # the repeated source row (label 0 = hate: no like) is kept as delivered, same event_ids
        (t2, "impression"),
        (t2, "impression"),
        (t2, "play"),
        (t2, "play"),
    ]
    play1 = day2[1]
    assert play1["video_duration_ms"] is None  # duration_ms 0 = unknown
    assert play1["kr_comment_stay_time_ms"] == 5045 and play1["kr_is_profile_enter"] == 1
    assert day2[5] == {
        "event_id": f"kr-111-2629583-{t1}-follow",
        "event_type": "follow",
        "event_time": t1,
        "user_id": "kr_u111",
        "video_id": "kr_v2629583",
        "creator_id": "kr_creator_of_v2629583",
    }
    assert day2[3]["event_id"] == f"kr-111-2629583-{t1}-share"
    assert set(day2[3]) == {"event_id", "event_type", "event_time", "user_id", "video_id"}
    assert day2[6] == day2[7] and day2[8] == day2[9]
    assert day2[8]["user_id"] == "kr_u7" and day2[8]["kr_label"] == 0
    assert day2[8]["video_duration_ms"] == 9000
    for event in day1 + day2:
        _check_contract(event)
        assert "platform" not in event and "region" not in event

    assert summary.rows_read == 4 and summary.rows_selected == 4
    assert summary.distinct_rows == 3
    assert summary.events_by_type == {
        "impression": 4, "play": 4, "like": 2, "share": 1, "comment": 1, "follow": 1,
    }
    assert summary.events_total == 13
    assert summary.files_written == 2 and summary.files_unchanged == 0
    assert summary.dates == [dt.date(2022, 4, 10), dt.date(2022, 4, 11)]
    as_dict = summary.to_dict()
    json.dumps(as_dict)
    assert as_dict["dates"] == ["2022-04-10", "2022-04-11"]
    assert as_dict["events_total"] == 13


def test_output_independent_of_source_row_order(tmp_path: Path) -> None:
    a = import_kuairand(_write_tsv(tmp_path / "a.tsv", HEADER, TINY_ROWS), tmp_path / "la")
    b = import_kuairand(_write_tsv(tmp_path / "b.tsv", HEADER, TINY_ROWS[::-1]), tmp_path / "lb")
    assert a.files == b.files
    assert _landing_files(tmp_path / "la") == _landing_files(tmp_path / "lb")


def test_dates_filter(tmp_path: Path) -> None:
    src = _write_tsv(tmp_path / "log.tsv", HEADER, TINY_ROWS)
    summary = import_kuairand(src, tmp_path / "landing", dates=[dt.date(2022, 4, 11)])
    assert summary.rows_read == 4 and summary.rows_selected == 3
    assert summary.dates == [dt.date(2022, 4, 11)]
    assert list(_landing_files(tmp_path / "landing")) == [
        f"events/date=2022-04-11/hour=08/{LANDING_FILE_NAME}"
    ]


def test_folder_path_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        import_kuairand(tmp_path / "nope.tsv", tmp_path / "landing")
    with pytest.raises(FileNotFoundError, match=SOURCE_FILE_NAME):
        import_kuairand(tmp_path, tmp_path / "landing")
    _write_tsv(tmp_path / SOURCE_FILE_NAME, HEADER, TINY_ROWS[:1])
    summary = import_kuairand(tmp_path, tmp_path / "landing")
    assert summary.source == str((tmp_path / SOURCE_FILE_NAME).resolve())
    assert summary.events_by_type["play"] == 1


def test_missing_columns_are_named(tmp_path: Path) -> None:
    cols = HEADER.split("\t")
    keep = [i for i, c in enumerate(cols) if c not in ("label", "duration_ms")]
    header = "\t".join(cols[i] for i in keep)
    rows = ["\t".join(r.split("\t")[i] for i in keep) for r in TINY_ROWS]
    src = _write_tsv(tmp_path / "log.tsv", header, rows)
    with pytest.raises(ValueError, match=r"duration_ms, label"):
        import_kuairand(src, tmp_path / "landing")
    assert not (tmp_path / "landing").exists()


def test_comma_separated_file_gets_a_hint(tmp_path: Path) -> None:
    src = _write_tsv(
        tmp_path / "log.csv", HEADER.replace("\t", ","), [r.replace("\t", ",") for r in TINY_ROWS]
    )
    with pytest.raises(ValueError, match="TAB-separated"):
        import_kuairand(src, tmp_path / "landing")


def test_non_integer_value_is_named(tmp_path: Path) -> None:
    bad = TINY_ROWS[1].split("\t")
    bad[10] = "abc"  # play_time_ms
    src = _write_tsv(tmp_path / "log.tsv", HEADER, [TINY_ROWS[0], "\t".join(bad)])
    with pytest.raises(ValueError, match=r"'play_time_ms'.*data row 2"):
        import_kuairand(src, tmp_path / "landing")


def test_bad_file_name_rejected(tmp_path: Path) -> None:
    src = _write_tsv(tmp_path / "log.tsv", HEADER, TINY_ROWS)
    with pytest.raises(ValueError, match="jsonl"):
        import_kuairand(src, tmp_path / "landing", file_name="x.json")


# ------------------------------------------------------------------------------------------------
# the real KuaiRand extract
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImportSummary, Path]:
    if not REAL_FILE.is_file():
        pytest.skip(f"KuaiRand extract not available at {REAL_FILE}")
    landing = tmp_path_factory.mktemp("kuairand_landing")
    return import_kuairand(REAL_FILE, landing), landing


@pytest.fixture(scope="module")
def real_source() -> pd.DataFrame:
    if not REAL_FILE.is_file():
        pytest.skip(f"KuaiRand extract not available at {REAL_FILE}")
    return pd.read_csv(REAL_FILE, sep="\t")


@pytest.fixture(scope="module")
def real_events(real_import: tuple[ImportSummary, Path]) -> list[tuple[str, dict]]:
    _, landing = real_import
    out = []
    for rel, data in _landing_files(landing).items():
        for line in data.decode("utf-8").splitlines():
            out.append((rel, json.loads(line)))
    return out


def test_real_counts(
    real_import: tuple[ImportSummary, Path],
    real_source: pd.DataFrame,
    real_events: list[tuple[str, dict]],
) -> None:
    summary, _ = real_import
    src = real_source
    n_distinct = len(src.drop_duplicates(["user_id", "video_id", "time_ms"]))
    assert len(src) == 41_828 and n_distinct == 41_704

    plays = [e for _, e in real_events if e["event_type"] == "play"]
    assert len(plays) == len(src)
    assert len({e["event_id"] for e in plays}) == n_distinct
    by_type: dict[str, int] = {}
    for _, e in real_events:
        by_type[e["event_type"]] = by_type.get(e["event_type"], 0) + 1
    expected = {
        "impression": len(src),
        "play": len(src),
        "like": int((src["label"] == 1).sum()),
        "share": int((src["is_forward"] == 1).sum()),
        "comment": int((src["is_comment"] == 1).sum()),
        "follow": int((src["is_follow"] == 1).sum()),
    }
    assert by_type == expected
    assert summary.events_by_type == expected
    assert summary.rows_read == len(src) and summary.distinct_rows == n_distinct

    # one event_id never names two different events
    by_id: dict[str, dict] = {}
    for _, e in real_events:
        assert by_id.setdefault(e["event_id"], e) == e


def test_real_lines_follow_the_contract(real_events: list[tuple[str, dict]]) -> None:
    for _, event in real_events:
        _check_contract(event)


def test_real_null_durations_only_where_source_is_zero(
    real_source: pd.DataFrame, real_events: list[tuple[str, dict]]
) -> None:
    src = real_source
    keyed = src[["user_id", "video_id", "time_ms", "duration_ms"]].itertuples(index=False)
    duration = {(f"kr_u{u}", f"kr_v{v}", t): d for u, v, t, d in keyed}
    nulls = 0
    for _, e in real_events:
        if e["event_type"] != "play":
            continue
        d = duration[(e["user_id"], e["video_id"], e["event_time"])]
        if e["video_duration_ms"] is None:
            nulls += 1
            assert d == 0
        else:
            assert e["video_duration_ms"] == d > 0
    assert nulls == int((src["duration_ms"] == 0).sum())


def test_real_layout_and_hours(
    real_import: tuple[ImportSummary, Path], real_events: list[tuple[str, dict]]
) -> None:
    summary, landing = real_import
    files = _landing_files(landing)
    assert list(files) == list(summary.files)
    assert summary.files_written == len(files)
    seen_dates = set()
    for rel in files:
        m = contract.LANDING_FILE_PATTERN.search(rel)
        assert m, rel
        seen_dates.add(dt.date.fromisoformat(m.group(1)))
    assert summary.dates == sorted(seen_dates)
    assert summary.dates[0] == dt.date(2022, 4, 7) and summary.dates[-1] == dt.date(2022, 4, 21)

    for rel, event in real_events:
        m = contract.LANDING_FILE_PATTERN.search(rel)
        start = dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}:00:00+00:00")
        start_ms = int(start.timestamp() * 1000)
        assert start_ms <= event["event_time"] < start_ms + 3_600_000, (rel, event)

    # lines are sorted within each file
    for data in files.values():
        keys = []
        for line in data.decode().splitlines():
            e = json.loads(line)
            keys.append(
                (
                    e["event_time"],
                    int(e["user_id"].removeprefix("kr_u")),
                    int(e["video_id"].removeprefix("kr_v")),
                    contract.EVENT_TYPES.index(e["event_type"]),
                )
            )
        assert keys == sorted(keys)

    leftovers = [p for p in landing.rglob("*") if p.is_file() and not p.name.endswith(".jsonl")
                 and p.name != contract.LANDING_COVERAGE_FILE]
    assert leftovers == []


def test_real_partial_dates_carry_coverage_markers(real_import: tuple[ImportSummary, Path]) -> None:
    """The export holds whole China-local days: its first and last UTC dates are partial and
    say so; every date in between has no marker (the whole day)."""
    from reelhouse.sources.landing import read_coverage

    summary, landing = real_import
    declared = {d: read_coverage(landing, d) for d in summary.dates}
    partial = {d: c for d, c in declared.items() if c is not None}
    assert sorted(partial) == [dt.date(2022, 4, 7), dt.date(2022, 4, 21)]
    first, last = partial[dt.date(2022, 4, 7)], partial[dt.date(2022, 4, 21)]
    # the first rows are at 15:44 UTC (23:44 +08:00); the export ends at midnight +08:00 = 16:00 UTC
    assert (first.start.hour, first.end) == (15, dt.datetime(2022, 4, 8, tzinfo=dt.timezone.utc))
    assert (last.start.hour, last.end.hour) == (0, 16) and abs(last.share - 2 / 3) < 1e-9
    assert summary.coverage == {dt.date(2022, 4, 7): "15:00–24:00 UTC (38%)", dt.date(2022, 4, 21): "00:00–16:00 UTC (67%)"}
    assert "UTC+08:00" in last.reason


def test_real_second_import_changes_nothing(real_import: tuple[ImportSummary, Path]) -> None:
    first, landing = real_import
    before = _landing_files(landing)
    mtimes = {p: p.stat().st_mtime_ns for p in landing.rglob("*.jsonl")}

    second = import_kuairand(REAL_FILE.parent, landing)  # the folder form this time

    assert _landing_files(landing) == before
    assert {p: p.stat().st_mtime_ns for p in landing.rglob("*.jsonl")} == mtimes
    assert second.files_written == 0 and second.files_unchanged == len(before)
    assert second.files == first.files
    assert second.events_by_type == first.events_by_type
    assert second.dates == first.dates


def test_real_reimport_into_fresh_root_is_byte_identical(
    real_import: tuple[ImportSummary, Path], tmp_path: Path
) -> None:
    _, landing = real_import
    import_kuairand(REAL_FILE, tmp_path)
    assert _landing_files(tmp_path) == _landing_files(landing)
