"""The landing zone helpers: which files a date has, which dates exist, quiet days, coverage markers."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from reelhouse.sources.landing import (
    Coverage,
    LandingFile,
    coverage_json,
    coverage_path,
    date_dir,
    has_landing_files,
    landing_dates,
    list_landing_files,
    previous_landing_date,
    read_coverage,
)

UTC = dt.timezone.utc
D1 = dt.date(2024, 6, 1)


def put(root: Path, rel: str, data: bytes = b'{"x": 1}\n') -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def test_date_dir_is_the_contract_layout(tmp_path):
    assert date_dir(str(tmp_path), D1) == tmp_path / "events" / "date=2024-06-01"


def test_list_landing_files_keeps_contract_names_sorted_and_ignores_the_rest(tmp_path):
    good = ["events/date=2024-06-01/hour=13/b.jsonl", "events/date=2024-06-01/hour=02/z.jsonl.gz",
            "events/date=2024-06-01/hour=02/a.jsonl"]
    for rel in good:
        put(tmp_path, rel, gz(b"{}\n") if rel.endswith(".gz") else b"{}\n")
    ignored = [
        "events/date=2024-06-01/hour=02/.a.jsonl",          # hidden (a staged atomic write)
        "events/date=2024-06-01/hour=02/_tmp.jsonl",        # temporary
        "events/date=2024-06-01/hour=02/a.json",            # not .jsonl
        "events/date=2024-06-01/hour=02/a.jsonl.tmp",       # not .jsonl[.gz]
        "events/date=2024-06-01/hour=02/a.jsonl.gz.part",
        "events/date=2024-06-01/hour=2/a.jsonl",            # hour not two digits
        "events/date=2024-06-01/hour=02/nested/a.jsonl",    # not directly under hour=HH
        "events/date=2024-06-01/a.jsonl",                   # no hour folder
        "events/date=2024-06-01/_coverage.json",            # the coverage marker
        "events/date=2024-06-02/hour=00/other_day.jsonl",   # another date
    ]
    for rel in ignored:
        put(tmp_path, rel)
    files = list_landing_files(str(tmp_path), D1)
    assert [f.relative_path for f in files] == sorted(good)
    for f in files:
        assert isinstance(f, LandingFile) and f.readable and f.error is None
        assert Path(f.path).is_absolute() and Path(f.path) == tmp_path / f.relative_path
        assert f.size == (tmp_path / f.relative_path).stat().st_size > 0


def test_list_landing_files_of_a_missing_or_empty_date(tmp_path):
    assert list_landing_files(str(tmp_path), D1) == []  # no landing root at all
    (date_dir(str(tmp_path), D1) / "hour=00").mkdir(parents=True)
    assert list_landing_files(str(tmp_path), D1) == []  # folders without files
    assert not has_landing_files(str(tmp_path), D1)


def test_unreadable_gzip_is_reported_not_raised(tmp_path):
    whole = gz(b'{"a": 1}\n' * 2000)
    put(tmp_path, "events/date=2024-06-01/hour=00/ok.jsonl.gz", whole)
    put(tmp_path, "events/date=2024-06-01/hour=00/truncated.jsonl.gz", whole[: len(whole) // 2])
    put(tmp_path, "events/date=2024-06-01/hour=00/garbled.jsonl.gz", b"\x1f\x8b\x08\x00not gzip at all")
    put(tmp_path, "events/date=2024-06-01/hour=00/plain.jsonl", b"not json, but plain files are not checked\n")
    files = {Path(f.relative_path).name: f for f in list_landing_files(str(tmp_path), D1)}
    assert files["ok.jsonl.gz"].readable and files["plain.jsonl"].readable
    for name in ("truncated.jsonl.gz", "garbled.jsonl.gz"):
        assert not files[name].readable
        assert files[name].error.startswith("unreadable gzip: ")
    unchecked = list_landing_files(str(tmp_path), D1, check=False)
    assert [f.relative_path for f in unchecked] == sorted(f.relative_path for f in files.values())
    assert all(f.readable for f in unchecked)  # check=False does not open the files


def test_landing_dates_are_the_date_folders_sorted(tmp_path):
    assert landing_dates(str(tmp_path)) == []
    for d in ("2024-06-03", "2024-06-01", "2024-05-31"):
        (tmp_path / "events" / f"date={d}").mkdir(parents=True)
    (tmp_path / "events" / "date=not-a-date").mkdir()
    (tmp_path / "events" / "date=2024-13-01").mkdir()
    (tmp_path / "events" / "hour=00").mkdir()
    put(tmp_path, "events/date=2024-06-09")  # a file, not a folder
    assert landing_dates(str(tmp_path)) == [dt.date(2024, 5, 31), dt.date(2024, 6, 1), dt.date(2024, 6, 3)]


def test_previous_landing_date_skips_quiet_days(tmp_path):
    root = str(tmp_path)
    put(tmp_path, "events/date=2024-06-01/hour=05/a.jsonl")
    (tmp_path / "events" / "date=2024-06-02" / "hour=00").mkdir(parents=True)  # quiet: empty folders
    put(tmp_path, "events/date=2024-06-03/hour=00/_staging.jsonl")                # quiet: only a temp file
    put(tmp_path, "events/date=2024-06-04/hour=23/b.jsonl.gz", gz(b"{}\n"))
    assert [has_landing_files(root, dt.date(2024, 6, d)) for d in range(1, 6)] == [True, False, False, True, False]
    assert previous_landing_date(root, dt.date(2024, 6, 4)) == dt.date(2024, 6, 1)
    assert previous_landing_date(root, dt.date(2024, 6, 5)) == dt.date(2024, 6, 4)
    assert previous_landing_date(root, dt.date(2024, 6, 10)) == dt.date(2024, 6, 4)
    assert previous_landing_date(root, dt.date(2024, 6, 1)) is None  # strictly before
    assert previous_landing_date(str(tmp_path / "nowhere"), dt.date(2024, 6, 4)) is None


def test_coverage_marker_round_trip(tmp_path):
    start = dt.datetime(2024, 6, 1, 0, tzinfo=UTC)
    end = dt.datetime(2024, 6, 1, 16, tzinfo=UTC)
    assert coverage_path(tmp_path, D1) == tmp_path / "events" / "date=2024-06-01" / "_coverage.json"
    assert read_coverage(tmp_path, D1) is None  # no marker: the whole day
    data = coverage_json(D1, start, end, "export ends at midnight UTC+8")
    body = json.loads(data)
    assert body == {"start": "2024-06-01T00:00:00Z", "end": "2024-06-01T16:00:00Z",
                    "reason": "export ends at midnight UTC+8"}
    path = coverage_path(tmp_path, D1)
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    cov = read_coverage(str(tmp_path), D1)
    assert cov == Coverage(D1, start, end, "export ends at midnight UTC+8")
    assert cov.share == pytest.approx(16 / 24)
    assert cov.describe() == "00:00–16:00 UTC (67%)"
    assert list_landing_files(str(tmp_path), D1) == []  # the marker is not a landing file


def test_coverage_is_normalised_to_utc_and_may_end_at_midnight(tmp_path):
    plus8 = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime(2024, 6, 1, 16, tzinfo=plus8)   # 08:00 UTC
    end = dt.datetime(2024, 6, 2, 8, tzinfo=plus8)      # 24:00 UTC
    body = json.loads(coverage_json(D1, start, end, "ü"))
    assert (body["start"], body["end"]) == ("2024-06-01T08:00:00Z", "2024-06-02T00:00:00Z")
    path = coverage_path(tmp_path, D1)
    path.parent.mkdir(parents=True)
    path.write_bytes(coverage_json(D1, start, end, "ü"))
    cov = read_coverage(tmp_path, D1)
    assert cov.start.tzinfo == UTC and cov.start.hour == 8 and cov.reason == "ü"
    assert cov.share == pytest.approx(16 / 24)
    assert cov.describe() == "08:00–24:00 UTC (67%)"


@pytest.mark.parametrize("start, end, match", [
    (dt.datetime(2024, 6, 1, 0), dt.datetime(2024, 6, 1, 12, tzinfo=UTC), "UTC offset"),
    (dt.datetime(2024, 6, 1, 0, tzinfo=UTC), dt.datetime(2024, 6, 1, 12), "UTC offset"),
    (dt.datetime(2024, 6, 1, 12, tzinfo=UTC), dt.datetime(2024, 6, 1, 12, tzinfo=UTC), "not inside"),  # empty
    (dt.datetime(2024, 6, 1, 13, tzinfo=UTC), dt.datetime(2024, 6, 1, 12, tzinfo=UTC), "not inside"),  # reversed
    (dt.datetime(2024, 5, 31, 23, tzinfo=UTC), dt.datetime(2024, 6, 1, 12, tzinfo=UTC), "not inside"),
    (dt.datetime(2024, 6, 1, 12, tzinfo=UTC), dt.datetime(2024, 6, 2, 0, 1, tzinfo=UTC), "not inside"),
])
def test_coverage_json_refuses_a_window_outside_the_day(start, end, match):
    with pytest.raises(ValueError, match=match):
        coverage_json(D1, start, end, "x")


@pytest.mark.parametrize("body", [
    "not json",
    json.dumps({"end": "2024-06-01T12:00:00Z", "reason": "no start"}),
    json.dumps({"start": "yesterday", "end": "2024-06-01T12:00:00Z", "reason": "x"}),
    json.dumps({"start": "2024-06-01T00:00:00", "end": "2024-06-01T12:00:00Z", "reason": "naive"}),
    json.dumps({"start": "2024-06-02T00:00:00Z", "end": "2024-06-02T12:00:00Z", "reason": "another day"}),
    json.dumps(["2024-06-01T00:00:00Z", "2024-06-01T12:00:00Z"]),
])
def test_read_coverage_rejects_a_malformed_marker_naming_the_file(tmp_path, body):
    path = coverage_path(tmp_path, D1)
    path.parent.mkdir(parents=True)
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match="not a landing coverage marker") as err:
        read_coverage(tmp_path, D1)
    assert str(path) in str(err.value)
