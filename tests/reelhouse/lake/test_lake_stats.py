"""Filtered reads never silently drop (or add) rows: Delta file statistics and the read paths.

The property: for every primitive column, an equality, a range and an ``isin`` filter return exactly
the rows that filtering after a full read returns, through ``Lake.read_arrow``/``read_pandas``,
pyarrow and DuckDB over delta-rs' own ``DeltaTable.to_pyarrow_dataset()`` (which skips files by the
log's min/max), DuckDB over ``Lake.arrow_dataset``, Spark via ``Lake.read`` and
``reelhouse.notebook.read``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import uuid
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pytest
from deltalake import DeltaTable

from reelhouse.lake.catalog import TABLES, get_table, spark_schema
from reelhouse.lake.stats import STATS_STRING_PREFIX, _string_max, _string_min, _timestamp_stat, file_stats

UTC = dt.timezone.utc
EVENTS = "silver.events"
STATS = "gold.video_daily_stats"
BASE = dt.datetime(2024, 6, 1, 8, 0, 0, tzinfo=UTC)


# ----------------------------------------------------------------------------- helpers
def _primitive(t: pa.DataType) -> bool:
    return not (pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t))


def _absent(values: list, t: pa.DataType, present: set) -> list:
    """Values of type ``t`` not in the column: just outside its range and (where the type allows)
    inside it, next to a present value (a timestamp 1 µs after the maximum lies inside the
    millisecond that the statistics round the maximum up to)."""
    lo, hi = values[0], values[-1]
    if pa.types.is_string(t):
        cands = [hi + "~absent", lo + "\t", "", "\U0010ffff" * 3]
    elif pa.types.is_boolean(t):
        cands = []
    elif pa.types.is_integer(t):
        cands = [hi + 1, lo - 1]
    elif pa.types.is_floating(t):
        cands = [hi + 0.5, lo - 0.5]
    elif pa.types.is_timestamp(t):
        cands = [hi + dt.timedelta(microseconds=1), lo - dt.timedelta(microseconds=1)]
    elif pa.types.is_date(t):
        cands = [hi + dt.timedelta(days=1), lo - dt.timedelta(days=1)]
    else:
        cands = []
    return [c for c in cands if c not in present][:2]


def column_filters(table: pa.Table, col: str, *, light: bool = False) -> list[tuple[str, Any, pads.Expression]]:
    """``(op, value, expression)`` for one column: ``is_null``; equality on the minimum, the
    maximum, a middle value and absent values; ``isin`` of them all; ranges at the minimum,
    maximum and middle. ``light``: one absent value, equality on the maximum only (the minimum
    is still probed by ``isin`` and ``<=``), no middle range.
    NaN is never a probe value (NaN rows stay in the data)."""
    t = table.schema.field(col).type
    arr = table[col].drop_null()
    if pa.types.is_floating(t):
        arr = arr.filter(pc.invert(pc.is_nan(arr)))
    values = pc.unique(arr).to_pylist()
    values.sort()
    f = pads.field(col)
    out: list[tuple[str, Any, pads.Expression]] = [("is_null", None, f.is_null())]
    if not values:
        return out
    lo, mid, hi = values[0], values[len(values) // 2], values[-1]
    absent = _absent(values, t, set(values))[: 1 if light else 2]
    scal = lambda v: pa.scalar(v, t)  # noqa: E731
    eq = list(dict.fromkeys([hi] if light else [lo, hi, mid])) + absent
    out += [("==", v, f == scal(v)) for v in eq]
    probes = list(dict.fromkeys([lo, mid, hi] + absent))
    out.append(("in", probes, f.isin(pa.array(probes, t))))
    out += [(">=", hi, f >= scal(hi)), ("<=", lo, f <= scal(lo))]
    if not light:
        out.append((">", mid, f > scal(mid)))
    return out


def _sql(op: str, col: str, value) -> tuple[str, list]:
    q = f'"{col}"'
    if op == "is_null":
        return f"{q} IS NULL", []
    if op == "in":
        return f"{q} IN ({', '.join('?' for _ in value)})", list(value)
    return f"{q} {op} ?", [value]


def _same_rows(got: pa.Table, want: pa.Table, key: list[str]) -> bool:
    """Same number of rows and the same multiset of keys."""
    if got.num_rows != want.num_rows:
        return False
    if not key or not got.num_rows:
        return True
    order = [(c, "ascending") for c in key]
    want_keys = want.select(key).sort_by(order)
    return got.select(key).cast(want_keys.schema).sort_by(order).equals(want_keys)


def check_table(lake, name: str, *, light: bool = False, api_calls: int = 2,
                duck_sources: tuple[str, ...] = ("delta_ds", "lake_ds")) -> dict[str, int]:
    """Every primitive column of ``name``, each filter of :func:`column_filters` (truth: the full
    table filtered in memory) through ``Lake.arrow_dataset`` (what ``read_arrow`` scans), pyarrow
    over delta-rs' ``DeltaTable.to_pyarrow_dataset()`` (skips files by the log's statistics),
    DuckDB over both (``duck_sources``; truth: the same count, or for floats DuckDB over the full
    table in memory, since DuckDB orders NaN above every number and Arrow does not); the
    first ``api_calls`` filters of each column also through ``read_arrow`` and ``read_pandas``.
    Returns what was checked.

    Files written by delta-rs' MERGE (``Lake.merge``) declare string columns as ``string_view`` in
    their embedded Arrow schema; pyarrow then has no kernel to compare them with the dataset's
    ``string`` type and a filtered scan of such a dataset *raises* (pyarrow directly, and DuckDB
    over it). That is a loud failure, not a wrong answer: it is counted (``string_view_errors``),
    while ``read_arrow``/``read_pandas`` (which fall back to filtering in memory) must be exact."""
    spec = get_table(name)
    full = lake.read_arrow(name)
    key = [c for c in spec.key if c in full.column_names]
    delta_ds = DeltaTable(lake.path(name)).to_pyarrow_dataset()
    lake_ds = lake.arrow_dataset(name)
    con = duckdb.connect()
    con.register("mem", full)
    con.register("delta_ds", delta_ds)
    con.register("lake_ds", lake_ds)
    bad: list[str] = []
    n = loud = 0
    for field in full.schema:
        if not _primitive(field.type):
            continue
        for i, (op, value, expr) in enumerate(column_filters(full, field.name, light=light)):
            n += 1
            cols = list(dict.fromkeys(key + [field.name]))
            want = full.select(cols).filter(expr)
            routes = [("Lake.arrow_dataset", lambda: lake_ds.to_table(columns=cols, filter=expr)),
                      ("DeltaTable.to_pyarrow_dataset", lambda: delta_ds.to_table(columns=cols, filter=expr))]
            if i < api_calls:
                routes += [("read_arrow", lambda: lake.read_arrow(name, columns=cols, filter=expr)),
                           ("read_pandas", lambda: pa.Table.from_pandas(lake.read_pandas(name, filter=expr),
                                                                        preserve_index=False))]
            for label, read in routes:
                try:
                    got = read()
                except pa.ArrowNotImplementedError as exc:
                    if "string_view" not in str(exc) or label.startswith("read_"):
                        raise
                    loud += 1  # see the docstring: an error, never wrong rows
                    continue
                if not _same_rows(got, want, key):
                    bad.append(f"{label} {field.name} {op} {value!r}: {got.num_rows} rows, want {want.num_rows}")
            where, params = _sql(op, field.name, value)
            truth = want.num_rows  # DuckDB's semantics differ from Arrow's only for NaN
            if pa.types.is_floating(field.type):
                truth = con.execute(f"select count(*) from mem where {where}", params).fetchone()[0]
            for src in duck_sources:
                try:
                    c = con.execute(f"select count(*) from {src} where {where}", params).fetchone()[0]
                except duckdb.Error as exc:
                    if "string_view" not in str(exc):
                        raise
                    loud += 1
                    continue
                if c != truth:
                    bad.append(f"duckdb over {src} {field.name} {op} {value!r}: {c} rows, want {truth}")
    assert not bad, f"{name}: {len(bad)} of {n} filters wrong:\n" + "\n".join(bad[:40])
    return {"filters": n, "rows": full.num_rows, "files": len(delta_ds.files), "string_view_errors": loud}


# ----------------------------------------------------------------------------- test data
def _long_id(i: int) -> str:
    kind = i % 7
    h = hashlib.sha256(str(i).encode()).hexdigest()
    if kind == 0:
        return str(uuid.UUID(h[:32]))  # 36 characters
    if kind == 1:
        return h  # 64
    if kind == 2:
        return ("evt-" + h * 4)[:200]  # 200
    if kind == 3:
        return "事件编号甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥" * 2 + f"-{i}"  # CJK, > 32
    if kind == 4:
        return "🎬🎉🔥" * 12 + f"-{i}"  # emoji (4-byte UTF-8), > 32
    if kind == 5:
        return "\U0010ffff" * 40 + f"-{i}"  # max code point: no incremented prefix exists
    return "\ud7ff" * 40 + f"-{i}"  # increment would hit the surrogates


def events_rows(n: int, offset: int = 0) -> list[tuple]:
    rows = []
    for j in range(n):
        i = j + offset
        ts = BASE + dt.timedelta(microseconds=1_234_567 * i + 1)
        rows.append((
            _long_id(i), ("play", "like")[i % 2], ts,
            f"u{i % 5}" if i % 3 else "user-" + "👤" * 30 + str(i),
            None if i % 5 == 0 else _long_id(i + 1000),
            None,  # creator_id: all null
            None if i % 3 == 0 else (i - 10) * 1000,
            None if i % 2 else 15_000 + i,
            ["舞蹈", "🎵"] if i % 4 == 0 else None,
            None,  # sound_id: all null
            None if i % 4 == 1 else ("短视频标题" * 10 + "🎉" * (i % 3) if i % 2 else f"c{i}"),
            (None, "US", "JP", "CN")[i % 4], "ios" if i % 2 else None, "1.2.3",
            {"k": "v"} if i % 6 == 0 else None,
            f"landing/events/date=2024-06-0{1 + i % 2}/hour={i % 24:02d}/part-{i:05d}.jsonl.gz",
            BASE + dt.timedelta(hours=20, microseconds=999),
            (BASE + dt.timedelta(days=i % 2)).date(), dt.date(2024, 6, 2),
        ))
    return rows


def write_events(lake, spark, *, files_per_write: int = 3) -> int:
    schema = spark_schema(get_table(EVENTS))
    total = 0
    for offset, n in ((0, 40), (40, 30)):
        df = spark.createDataFrame(events_rows(n, offset), schema).repartition(files_per_write)
        total += lake.write(df, EVENTS, mode="append").rows_added
    return total


def write_video_stats(lake, spark) -> None:
    """Doubles with NaN and ±inf in some files only, booleans, a nullable date."""
    rows = []
    for i in range(30):
        nan_file = i >= 20  # rows of the ds=2024-06-03 partition
        ratio = float("nan") if nan_file and i % 3 == 0 else (float("inf") if nan_file and i == 25 else i / 7)
        rows.append(("US" if i % 2 else "BR", _long_id(i), None if i % 3 else "creator-" + "x" * 40,
                     None if i % 4 == 0 else dt.date(2024, 5, 1 + i % 28), bool(i % 2), i, i // 2, i // 3, i * 1000,
                     None if i % 5 == 0 else i * 1.5, ratio, -0.0 if i == 1 else i / 30,
                     i % 3, i % 4, 0, 0, i, i * 0.25, dt.date(2024, 6, 1 + i // 10)))
    df = spark.createDataFrame(rows, spark_schema(get_table(STATS))).repartition(2)
    lake.write(df, STATS, mode="append")


def _adds(lake, name) -> list[dict]:
    out = []
    log = os.path.join(lake.path(name), "_delta_log")
    for f in sorted(os.listdir(log)):
        if f.endswith(".json"):
            with open(os.path.join(log, f), encoding="utf-8") as fh:
                out += [json.loads(line)["add"] for line in fh if '"add"' in line]
    return out


# ----------------------------------------------------------------------------- unit: bounds
@pytest.mark.parametrize("s", [
    "a" * 10, "a" * 32, "a" * 33, str(uuid.UUID(int=7)), "z" * 200, "事件" * 30, "🎬" * 40,
    "\U0010ffff" * 40, "a" + "\U0010ffff" * 40, "\ud7ff" * 40, "ab\U0010ffff" * 20, "",
])
def test_string_bounds_enclose_the_value_in_utf8_byte_order(s):
    lo, hi = _string_min(s), _string_max(s)
    assert lo.encode() <= s.encode() <= hi.encode()
    assert lo <= s <= hi
    assert len(lo) <= STATS_STRING_PREFIX
    if "\U0010ffff" * STATS_STRING_PREFIX != s[:STATS_STRING_PREFIX]:
        assert len(hi) <= STATS_STRING_PREFIX
    # every longer string with the same prefix stays below the maximum
    assert (s + "\U0010ffff" * 5).encode() <= hi.encode() or hi == s
    for ch in hi:
        assert not 0xD800 <= ord(ch) <= 0xDFFF


def test_timestamp_max_is_rounded_up_and_min_down():
    t = dt.datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert _timestamp_stat(t, upper=False) == "2024-06-01T12:00:00.123Z"
    assert _timestamp_stat(t, upper=True) == "2024-06-01T12:00:00.124Z"
    exact = dt.datetime(2024, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert _timestamp_stat(exact, upper=True) == "2024-06-01T12:00:00.123Z"
    carry = dt.datetime(2024, 12, 31, 23, 59, 59, 999001, tzinfo=UTC)
    assert _timestamp_stat(carry, upper=True) == "2025-01-01T00:00:00.000Z"
    other_tz = dt.datetime(2024, 6, 1, 14, 0, 0, 500, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert _timestamp_stat(other_tz, upper=True) == "2024-06-01T12:00:00.001Z"


def test_file_stats_nan_and_infinity_leave_the_file_without_bounds(tmp_path):
    import pyarrow.parquet as pq

    spec = get_table(STATS)
    base = {c.name: pa.array([None, None], c.type) for c in spec.columns if c.name != "ds"}
    base.update(region=pa.array(["US", "BR"]), video_id=pa.array(["v" * 40, "w"]), is_new_video=pa.array([True, False]),
                **{c: pa.array([1, 2], pa.int64()) for c in ("impressions", "plays", "unique_viewers",
                                                             "total_watch_time_ms", "likes", "shares", "comments",
                                                             "follows", "engaged_users")},
                engaged_users_weighted=pa.array([0.5, 1.5]))
    for label, ratio, bounded in (("finite", [0.25, None], True), ("nan", [float("nan"), 0.5], False),
                                  ("inf", [float("inf"), 0.5], False), ("all-nan", [float("nan")] * 2, False)):
        cols = dict(base, avg_watch_ratio=pa.array(ratio, pa.float64()))
        path = str(tmp_path / f"{label}.parquet")
        pq.write_table(pa.table(cols), path)
        n, stats = file_stats(path, spec)
        st = json.loads(stats)
        assert n == 2 and st["numRecords"] == 2
        assert ("minValues" in st) is bounded, (label, st)
        assert st["nullCount"]["avg_watch_ratio"] == (1 if label == "finite" else 0)
        if bounded:
            assert st["minValues"]["video_id"] == "v" * 32 and st["maxValues"]["video_id"] == "w"
            assert st["minValues"]["avg_watch_ratio"] == st["maxValues"]["avg_watch_ratio"] == 0.25
            assert "creator_id" not in st["minValues"] and st["nullCount"]["creator_id"] == 2


# ----------------------------------------------------------------------------- writes and reads
@pytest.fixture(scope="module")
def written(spark, tmp_path_factory):
    """A lake with :data:`EVENTS` (70 rows, 2 Spark writes of 3 files per partition) and
    :data:`STATS` (30 rows) written through ``Lake.write``, and a config pointing at it. Tests
    only read it."""
    import dataclasses

    from reelhouse.config import load_config
    from reelhouse.lake import Lake

    root = tmp_path_factory.mktemp("stats_lake")
    cfg = load_config("test")
    cfg = dataclasses.replace(cfg, paths=dataclasses.replace(cfg.paths, lake=str(root / "lake")))
    lake = Lake(cfg.paths.lake, spark=spark)
    assert write_events(lake, spark) == 70
    write_video_stats(lake, spark)
    return lake, cfg


def test_stats_of_long_unicode_strings_and_timestamps_are_safe_bounds(written):
    lake, _cfg = written
    adds = _adds(lake, EVENTS)
    assert len(adds) >= 6
    for add in adds:
        st = json.loads(add["stats"])
        assert "minValues" in st, st  # no NaN here: every file is bounded
        rows = pads.dataset(os.path.join(lake.path(EVENTS), add["path"]), format="parquet").to_table()
        n = rows.num_rows
        assert st["numRecords"] == n
        for col in ("event_id", "user_id", "video_id", "caption", "_source_file"):
            values = [v for v in rows[col].to_pylist() if v is not None]
            assert st["nullCount"][col] == n - len(values)
            if values:
                lo, hi = st["minValues"][col], st["maxValues"][col]
                assert all(lo.encode() <= v.encode() <= hi.encode() for v in values), col
                assert len(lo) <= STATS_STRING_PREFIX
        assert st["nullCount"]["creator_id"] == n and "creator_id" not in st["minValues"]  # all null
        ts = rows["event_time"].to_pylist()
        lo = dt.datetime.fromisoformat(st["minValues"]["event_time"].replace("Z", "+00:00"))
        hi = dt.datetime.fromisoformat(st["maxValues"]["event_time"].replace("Z", "+00:00"))
        assert lo <= min(ts) and max(ts) < hi  # the µs maximum is rounded up, never down
    # delta-rs reads the raw UTF-8 bounds back exactly (plane-16 characters included)
    parsed = pa.table(DeltaTable(lake.path(EVENTS)).get_add_actions(flatten=True))
    raw = [json.loads(a["stats"])["maxValues"]["event_id"] for a in _adds(lake, EVENTS)]
    assert sorted(parsed["max.event_id"].to_pylist()) == sorted(raw)
    # files whose doubles hold NaN or ±inf have no bounds; the others have them
    bounded = {a["partitionValues"]["ds"]: "minValues" in json.loads(a["stats"]) for a in _adds(lake, STATS)}
    assert bounded == {"2024-06-01": True, "2024-06-02": True, "2024-06-03": False}


def test_filters_on_every_column_match_a_full_read(written):
    """36/64/200-character, CJK, emoji, U+10FFFF and U+D7FF ids, nulls and all-null columns,
    µs timestamps; NaN/±inf doubles, booleans, dates: every route returns the full read's rows."""
    lake, _cfg = written
    checked = {name: check_table(lake, name) for name in (EVENTS, STATS)}
    assert checked[EVENTS]["rows"] == 70 and checked[EVENTS]["string_view_errors"] == 0
    assert checked[EVENTS]["files"] >= 6 and checked[EVENTS]["filters"] >= 120
    assert checked[STATS]["rows"] == 30 and checked[STATS]["filters"] >= 150


def test_the_reported_case_and_spark_and_notebook_reads(written):
    """One 36-character id (the issue's report) through read_arrow, read_pandas, DuckDB over
    delta-rs' dataset, Spark via Lake.read and reelhouse.notebook.read (which has no row filter
    of its own: partition pruning, then filtering the frame, must see every row)."""
    from pyspark.sql import functions as F

    import reelhouse.notebook as nb

    lake, cfg = written
    full = lake.read_arrow(EVENTS)
    uid = next(v for v in full["event_id"].to_pylist() if len(v) == 36)
    expr = pc.field("event_id") == uid
    assert lake.read_arrow(EVENTS, filter=expr).num_rows == 1
    assert len(lake.read_pandas(EVENTS, filter=expr)) == 1
    ds = DeltaTable(lake.path(EVENTS)).to_pyarrow_dataset()
    assert duckdb.sql(f"select count(*) from ds where event_id = '{uid}'").fetchall()[0][0] == 1

    # Spark via Lake.read: one id of every kind, the extreme code points, a µs maximum
    df = lake.read(EVENTS)
    kinds = {}
    for v in full["event_id"].to_pylist():
        kinds.setdefault((len(v), v[0]), v)
    ids = list(kinds.values())
    assert len(ids) >= 7
    assert df.where(F.col("event_id").isin(ids)).count() == len(ids)
    top = max(full["event_id"].to_pylist())
    assert df.where(F.col("event_id") == top).count() == 1
    t_max = max(full["event_time"].to_pylist())
    assert df.where(F.col("event_time") >= F.lit(t_max)).count() == 1
    cap = max(v for v in full["caption"].to_pylist() if v)
    assert df.where(F.col("caption") == cap).count() == full.filter(pc.field("caption") == cap).num_rows

    pdf = nb.read(EVENTS, config=cfg, start="2024-06-02", end="2024-06-02")
    want = full.filter(pc.field("event_date") == dt.date(2024, 6, 2))
    assert len(pdf) == want.num_rows > 0
    for v in want["event_id"].to_pylist():
        assert (pdf["event_id"] == v).sum() == 1
    assert nb.read(EVENTS, config=cfg, engine="arrow", columns=["event_id"]).num_rows == 70
    assert nb.read(EVENTS, config=cfg, engine="spark").where(F.col("event_id") == uid).count() == 1


def _old_file_stats(path: str, spec) -> tuple[int, str]:
    """The statistics reelhouse wrote before issue 14: strings over 32 characters without
    min/max, timestamp max truncated (not rounded) to the millisecond, NaN ignored."""
    import pyarrow.parquet as pq

    md = pq.read_metadata(path)
    mins, maxs, nulls = {}, {}, {}
    for i in range(md.num_columns):
        col = md.schema.column(i)
        if "." in col.path:
            continue
        st = md.row_group(0).column(i).statistics
        nulls[col.name] = sum(md.row_group(r).column(i).statistics.null_count for r in range(md.num_row_groups))
        if not st.has_min_max:
            continue
        lo = min(md.row_group(r).column(i).statistics.min for r in range(md.num_row_groups))
        hi = max(md.row_group(r).column(i).statistics.max for r in range(md.num_row_groups))
        if isinstance(lo, dt.datetime):
            lo, hi = (v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z" for v in (lo, hi))
        elif isinstance(lo, dt.date):
            lo, hi = lo.isoformat(), hi.isoformat()
        elif isinstance(lo, bytes):
            continue
        if isinstance(lo, str) and (len(lo) > 32 or len(hi) > 32):
            continue
        if isinstance(lo, float) and (math.isnan(lo) or math.isnan(hi)):
            continue
        mins[col.name], maxs[col.name] = lo, hi
    stats = {"numRecords": md.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}
    return md.num_rows, json.dumps(stats)


def test_tables_with_old_statistics_read_correctly_and_repair(lake, spark, config, monkeypatch, capsys):
    """A table written by the current code with the pre-fix statistics: read_arrow / DuckDB over
    Lake.arrow_dataset are exact anyway; delta-rs' own dataset drops rows until
    ``reelhouse lake repair-stats`` rewrites the log (dataChange=false, same rows, old versions
    still readable); a second repair finds nothing."""
    import reelhouse.lake.stats as lake_mod
    from reelhouse.cli import main

    with monkeypatch.context() as mp:
        mp.setattr(lake_mod, "file_stats", _old_file_stats)
        write_events(lake, spark)
        write_video_stats(lake, spark)
    old_version = lake.version(EVENTS)
    full = lake.read_arrow(EVENTS)
    uid = next(v for v in full["event_id"].to_pylist() if len(v) == 36)
    expr = pc.field("event_id") == uid
    # the bug, as delta-rs 1.6.6 shows it on such a table
    assert DeltaTable(lake.path(EVENTS)).to_pyarrow_dataset().to_table(filter=expr).num_rows == 0
    # our read paths are exact regardless of the log's statistics
    assert lake.read_arrow(EVENTS, filter=expr).num_rows == 1
    assert len(lake.read_pandas(EVENTS, filter=expr)) == 1
    lds = lake.arrow_dataset(EVENTS)
    assert duckdb.sql(f"select count(*) from lds where event_id = '{uid}'").fetchall()[0][0] == 1
    nan_expr = pc.field("avg_watch_ratio") > -1.0  # NaN rows must not come back
    stats_full = lake.read_arrow(STATS)
    assert lake.read_arrow(STATS, filter=nan_expr).num_rows == stats_full.filter(nan_expr).num_rows

    # dry run, then repair through the CLI
    assert main(["lake", "repair-stats", EVENTS, STATS, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "need repair" in out and lake.version(EVENTS) == old_version
    files_before = lake.describe(EVENTS)["files"]
    assert main(["lake", "repair-stats", EVENTS, STATS]) == 0
    out = capsys.readouterr().out
    assert f"{EVENTS}: {files_before} of {files_before} files repaired" in out
    assert lake.version(EVENTS) == old_version + 1
    last = lake.history(EVENTS, 1)[0]
    assert last["reelhouse.mode"] == "repair-stats"
    commit = _adds(lake, EVENTS)[-files_before:]
    assert all(a["dataChange"] is False for a in commit)
    assert lake.describe(EVENTS)["rows"] == 70
    # now delta-rs' own dataset (and DuckDB over it) is exact too
    for name in (EVENTS, STATS):
        check_table(lake, name, light=True)
    # the stats repair is idempotent and the pre-repair version still reads
    assert lake.repair_stats(EVENTS)["repaired"] == 0 and lake.repair_stats(STATS)["repaired"] == 0
    assert lake.read_arrow(EVENTS, version=old_version, filter=expr).num_rows == 1
    assert lake.read_arrow(EVENTS, version=old_version).num_rows == 70


# ----------------------------------------------------------------------------- the demo lake
def test_demo_lake_filters_match_full_reads_on_every_table(demo_lake):
    """Every catalog table of the demo lake, every primitive column: ``is_null``, equality on the
    maximum and on an absent value, ``isin`` of minimum/middle/maximum/absent, ``>=`` maximum and
    ``<=`` minimum, through ``Lake.arrow_dataset`` (what read_arrow scans), pyarrow over delta-rs'
    dataset (log statistics) and DuckDB over it (the README's route); ``read_arrow`` once per
    table. The demo lake is only read."""
    from reelhouse.lake import Lake

    lake = Lake(str(demo_lake.lake_root))
    checked = {}
    for name in TABLES:
        if not lake.exists(name):
            continue
        checked[name] = check_table(lake, name, light=True, api_calls=0, duck_sources=("delta_ds",))
        full = lake.read_arrow(name)
        col = next(f.name for f in full.schema if _primitive(f.type))
        v = pc.max(full[col]).as_py()
        if v is not None:
            got = lake.read_arrow(name, filter=pc.field(col) == pa.scalar(v, full.schema.field(col).type))
            assert got.num_rows == full.filter(pc.field(col) == v).num_rows, (name, col)
    assert len(checked) >= 20, sorted(checked)
    assert sum(c["filters"] for c in checked.values()) > 1500
    # only MERGE-written tables (silver.videos, silver.video_hashtags) raise on filtered scans
    loud = sorted(n for n, c in checked.items() if c["string_view_errors"])
    assert set(loud) <= {"silver.videos", "silver.video_hashtags"}, loud
    print("demo lake (rows, files, filters, string_view errors):",
          {n: (c["rows"], c["files"], c["filters"], c["string_view_errors"]) for n, c in checked.items()})
