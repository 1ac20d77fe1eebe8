"""Data access of the trend dashboard (``dashboards/trend_dashboard.py``): plain functions that read
the dbt marts from the BI DuckDB file and return pandas DataFrames, testable without Streamlit.

The database is the one :func:`reelhouse.bi.dbt_runner.duckdb_path` names (``<lake root>/_bi/reelhouse.duckdb``,
built by ``reelhouse dbt build``). Every function opens its own **read-only** connection and closes
it before returning, so a dbt build that needs the file's write lock is never locked out for
longer than one query. While dbt holds the lock, a read retries for a moment, then raises
:class:`MartsBusyError`.

The marts read (schema ``marts``; columns the dbt project guarantees):
``fct_daily_engagement``, ``fct_hashtag_daily``, ``mart_trending_hashtags``,
``mart_trending_videos``, ``mart_quality_verdicts``, ``mart_data_freshness``,
``mart_model_quality``. Dates (``ds``, ``latest_ds``, ``valid_date``) come back as
``datetime.date``; timestamps are UTC; ``*_ms`` columns are milliseconds.

:func:`streamlit_command` is how ``reelhouse dashboard`` starts the app.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from reelhouse.bi.dbt_runner import BIError
from reelhouse.config import PROJECT_ROOT

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from reelhouse.config import Config

APP = PROJECT_ROOT / "dashboards" / "trend_dashboard.py"
SCHEMA = "marts"
REQUIRED_MARTS = (
    "fct_daily_engagement", "fct_hashtag_daily", "mart_trending_hashtags", "mart_trending_videos",
    "mart_quality_verdicts", "mart_data_freshness", "mart_model_quality",
)
BUILD_HINT = "run `reelhouse dbt build`"
_DATE_COLUMNS = ("ds", "latest_ds", "valid_date")


class MartsNotBuiltError(BIError):
    """The BI database, or one of the marts the dashboard reads, does not exist yet."""


class MartsBusyError(BIError):
    """The BI database stayed locked by a writer (a running ``dbt build``) for the whole retry window."""


# ----------------------------------------------------------------------------- connection
def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def query(db: str | os.PathLike, sql: str, params: Sequence[Any] | None = None, *,
          retry_seconds: float = 5.0) -> "pd.DataFrame":
    """Run one SQL query on a fresh read-only connection to ``db`` and return the result (DATE
    columns named in ``ds``/``latest_ds``/``valid_date`` as ``datetime.date``). The connection is
    closed before returning. Raises :class:`MartsNotBuiltError` when the file does not exist, and
    :class:`MartsBusyError` when a writer holds the file's lock for longer than ``retry_seconds``."""
    import duckdb

    path = Path(db)
    if not path.exists():
        raise MartsNotBuiltError(f"no BI database at {path}: {BUILD_HINT} first")
    deadline = time.monotonic() + retry_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise MartsBusyError(f"{path} is locked by a writer (is `reelhouse dbt build` running?): {exc}") from exc
            time.sleep(0.25)
            continue
        try:
            df = con.execute(sql, list(params or [])).df()
        finally:
            con.close()
        for c in _DATE_COLUMNS:
            if c in df.columns:
                df[c] = [None if v is None or v != v else (v.date() if hasattr(v, "date") else v) for v in df[c]]
        return df


def missing_marts(db: str | os.PathLike) -> list[str]:
    """The marts of :data:`REQUIRED_MARTS` missing from ``db`` (all of them when the file does not
    exist)."""
    if not Path(db).exists():
        return list(REQUIRED_MARTS)
    have = set(query(db, "select table_name from information_schema.tables where table_schema = ?", [SCHEMA])["table_name"])
    return [m for m in REQUIRED_MARTS if m not in have]


def check_marts(db: str | os.PathLike) -> None:
    """Raise :class:`MartsNotBuiltError` (message ends with the command to run) unless every mart
    the dashboard reads exists in ``db``."""
    missing = missing_marts(db)
    if missing:
        where = f"no BI database at {db}" if not Path(db).exists() else f"{db} has no {', '.join(f'{SCHEMA}.{m}' for m in missing)}"
        raise MartsNotBuiltError(f"{where}: {BUILD_HINT}")


def database_path(config: "Config | None" = None, duckdb_file: str | os.PathLike | None = None) -> Path:
    """``duckdb_file`` when given, else :func:`reelhouse.bi.dbt_runner.duckdb_path` of ``config`` (default:
    :func:`reelhouse.config.get_config`)."""
    from reelhouse.bi.dbt_runner import duckdb_path

    if duckdb_file is not None:
        return Path(duckdb_file).resolve()
    if config is None:
        from reelhouse.config import get_config

        config = get_config()
    return duckdb_path(config)


# ----------------------------------------------------------------------------- the marts
def dates(db: str | os.PathLike) -> list[date]:
    """Dates that have trending hashtags, newest first."""
    return list(query(db, f"select distinct ds from {SCHEMA}.mart_trending_hashtags order by ds desc")["ds"])


def regions(db: str | os.PathLike, *, ds: date | None = None) -> list[str]:
    """Regions with daily engagement (on ``ds`` when given): ``ALL`` first, then alphabetical
    (``UNKNOWN`` last)."""
    sql = f"select distinct region from {SCHEMA}.fct_daily_engagement"
    df = query(db, sql + " where ds = ?", [ds]) if ds is not None else query(db, sql)
    names = set(df["region"])
    return (["ALL"] if "ALL" in names else []) + sorted(names - {"ALL", "UNKNOWN"}) + (["UNKNOWN"] if "UNKNOWN" in names else [])


def trending_hashtags(db: str | os.PathLike, *, ds: date, region: str = "ALL", limit: int = 20) -> "pd.DataFrame":
    """Top ``limit`` hashtags by trend rank on ``ds`` in ``region``, rank 1 first.

    Columns: ``trend_rank`` (1 = most trending), ``hashtag``, ``trend_score``, ``engaged_users``,
    ``trend_rank_change`` (yesterday's rank minus today's: positive = moved up; ``<NA>`` when new),
    ``is_new_entry``, ``engagement_rank``, ``engagement_rank_change``, ``top_video_ids``, and
    ``movement`` (display text from :func:`movement`)."""
    df = query(db, f"""
        select trend_rank, hashtag, trend_score, engaged_users, trend_rank_change, is_new_entry,
               engagement_rank, engagement_rank_change, top_video_ids
        from {SCHEMA}.mart_trending_hashtags where ds = ? and region = ?
        order by trend_rank limit ?""", [ds, region, int(limit)])
    df["movement"] = [movement(c, n) for c, n in zip(df["trend_rank_change"], df["is_new_entry"])]
    return df


def movement(rank_change: Any, is_new_entry: Any = False) -> str:
    """Rank movement as display text: ``"NEW"`` for a new entry (or a missing previous rank),
    ``"▲ 3"`` moved up 3 places, ``"▼ 2"`` moved down 2, ``"="`` unchanged."""
    import pandas as pd

    if (not pd.isna(is_new_entry) and bool(is_new_entry)) or pd.isna(rank_change):
        return "NEW"
    n = int(rank_change)
    return f"▲ {n}" if n > 0 else (f"▼ {-n}" if n < 0 else "=")


def hashtag_series(db: str | os.PathLike, *, hashtag: str, region: str = "ALL",
                   end: date | None = None) -> "pd.DataFrame":
    """Daily series of one hashtag in ``region`` (up to ``end`` inclusive), oldest first.
    Columns: ``ds``, ``trend_score``, ``engaged_users``, ``plays``, ``likes``, ``watch_time_ms`` (ms),
    ``trend_rank`` (``<NA>`` on days it was not in the top list)."""
    return query(db, f"""
        select d.ds, d.trend_score, d.engaged_users, d.plays, d.likes, d.watch_time_ms, t.trend_rank
        from {SCHEMA}.fct_hashtag_daily d
        left join {SCHEMA}.mart_trending_hashtags t using (ds, region, hashtag)
        where d.hashtag = ? and d.region = ? and (? is null or d.ds <= ?)
        order by d.ds""", [hashtag, region, end, end])


def trending_videos(db: str | os.PathLike, *, ds: date, region: str = "ALL", limit: int = 10) -> "pd.DataFrame":
    """Top ``limit`` videos by trend rank on ``ds`` in ``region``. Columns: ``trend_rank``,
    ``video_id``, ``creator_key``, ``trend_score``, ``engaged_users``, ``is_new_item``, ``plays``,
    ``likes``."""
    return query(db, f"""
        select trend_rank, video_id, creator_key, trend_score, engaged_users, is_new_item, plays, likes
        from {SCHEMA}.mart_trending_videos where ds = ? and region = ?
        order by trend_rank limit ?""", [ds, region, int(limit)])


def daily_engagement(db: str | os.PathLike, *, region: str = "ALL", end: date | None = None) -> "pd.DataFrame":
    """``marts.fct_daily_engagement`` for ``region`` up to ``end`` (inclusive), oldest first: ``ds``,
    ``impressions``, ``plays``, ``watch_time_ms`` (ms), ``avg_watch_time_ms`` (ms),
    ``completion_rate`` ([0, 1]), ``likes``, ``shares``, ``comments``, ``follows``,
    ``active_users``, ``active_videos``, ``new_videos``."""
    return query(db, f"""
        select ds, impressions, plays, watch_time_ms, avg_watch_time_ms, completion_rate, likes, shares,
               comments, follows, active_users, active_videos, new_videos
        from {SCHEMA}.fct_daily_engagement where region = ? and (? is null or ds <= ?)
        order by ds""", [region, end, end])


@dataclass(frozen=True)
class Kpi:
    """One headline number: ``label``, ``value`` on the day, ``delta`` vs the previous day (None
    when there is no previous day), ``unit`` (``count`` | ``hours`` | ``seconds`` | ``share``)."""

    key: str
    label: str
    value: float | None
    delta: float | None
    unit: str

    def formatted(self) -> tuple[str, str | None]:
        """``(value, delta)`` as display text (``"12,345"``, ``"+1.2%"``; shares in percentage points)."""
        def fmt(v: float | None, signed: bool) -> str | None:
            if v is None:
                return None
            s = "+" if signed and v > 0 else ""
            if self.unit == "share":
                return f"{s}{v * 100:.1f}{' pp' if signed else '%'}"
            if self.unit in ("hours", "seconds"):
                return f"{s}{v:,.1f} {'h' if self.unit == 'hours' else 's'}"
            return f"{s}{v:,.0f}"

        return fmt(self.value, False) or "–", fmt(self.delta, True)


KPI_SPECS: tuple[tuple[str, str, str], ...] = (
    ("active_users", "Active users", "count"),
    ("plays", "Plays", "count"),
    ("watch_hours", "Watch time", "hours"),
    ("avg_watch_s", "Avg watch per play", "seconds"),
    ("completion_rate", "Completion rate", "share"),
    ("likes", "Likes", "count"),
    ("shares", "Shares", "count"),
    ("new_videos", "New videos", "count"),
)


def kpis(engagement: "pd.DataFrame", ds: date) -> list[Kpi]:
    """Headline KPIs of ``ds`` with deltas vs the previous calendar day, from a
    :func:`daily_engagement` frame: active users, plays, watch time (hours, from ms), average watch
    time per play (seconds), completion rate (share), likes, shares, new videos. Values are None
    when ``ds`` is not in the frame; deltas None when the previous day is not."""
    from datetime import timedelta

    by_day = {r["ds"]: r for r in engagement.to_dict("records")}

    def val(day: date, key: str) -> float | None:
        r = by_day.get(day)
        if r is None:
            return None
        if key == "watch_hours":
            v = r["watch_time_ms"] / 3_600_000
        elif key == "avg_watch_s":
            v = None if r["avg_watch_time_ms"] is None else r["avg_watch_time_ms"] / 1000
        else:
            v = r[key]
        return None if v is None or v != v else float(v)

    prev = ds - timedelta(days=1)
    out = []
    for key, label, unit in KPI_SPECS:
        v, p = val(ds, key), val(prev, key)
        out.append(Kpi(key, label, v, None if v is None or p is None else v - p, unit))
    return out


def quality_verdict(db: str | os.PathLike, *, ds: date) -> dict[str, Any] | None:
    """The quality gate's verdict of ``ds`` from ``marts.mart_quality_verdicts``: ``ds``,
    ``verdict`` (upper-cased: ``PASS`` | ``WARN`` | ``BLOCK``), ``checks``, ``failed_checks``,
    ``warned_checks``, ``validated_at`` (UTC). None when the gate never ran for ``ds``."""
    df = query(db, f"""
        select ds, verdict, checks, failed_checks, warned_checks, validated_at
        from {SCHEMA}.mart_quality_verdicts where ds = ? order by validated_at desc limit 1""", [ds])
    if df.empty:
        return None
    row = df.iloc[0].to_dict()
    row["verdict"] = str(row["verdict"]).upper()
    return row


def freshness(db: str | os.PathLike) -> "pd.DataFrame":
    """``marts.mart_data_freshness``: ``table_name``, ``latest_ds`` (newest date present),
    ``rows_latest_ds`` (rows on that date), ordered by table name."""
    return query(db, f"select table_name, latest_ds, rows_latest_ds from {SCHEMA}.mart_data_freshness order by table_name")


def model_quality(db: str | os.PathLike) -> "pd.DataFrame":
    """``marts.mart_model_quality``, newest decision first: ``decided_at`` (UTC), ``model_version``,
    ``action``, ``reason``, ``valid_date``, ``gate_verdict``, ``challenger_auc``, ``champion_auc``,
    ``baseline_auc``, ``is_current_champion``."""
    return query(db, f"""
        select decided_at, model_version, action, reason, valid_date, gate_verdict, challenger_auc,
               champion_auc, baseline_auc, is_current_champion
        from {SCHEMA}.mart_model_quality order by decided_at desc""")


# ----------------------------------------------------------------------------- launching
def streamlit_command(*, port: int = 8501, duckdb_file: str | os.PathLike | None = None,
                      address: str = "127.0.0.1") -> list[str]:
    """The ``streamlit run`` command line of the trend dashboard: this environment's Python,
    headless, usage statistics off, the given port and address; ``duckdb_file`` is handed to the
    app after ``--`` (default: the app resolves :func:`database_path` from the configuration).
    Run it with ``cwd`` = the ``dashboards/`` folder so ``dashboards/.streamlit/config.toml`` applies."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP),
           "--server.headless", "true", "--server.port", str(int(port)), "--server.address", address,
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
           "--global.developmentMode", "false"]
    if duckdb_file is not None:
        cmd += ["--", "--duckdb", str(Path(duckdb_file).resolve())]
    return cmd
