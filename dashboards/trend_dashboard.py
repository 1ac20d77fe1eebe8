"""reelhouse trend dashboard (Streamlit + Plotly) over the dbt marts.

Start it with ``reelhouse dashboard [--port N] [--duckdb PATH]``. Every number comes from
:mod:`reelhouse.bi.dashboard` (plain functions over the marts; one short read-only DuckDB connection
per load, cached for a minute and invalidated when dbt rewrites the file). This file only lays
the page out.
"""

from __future__ import annotations

import argparse
import html
import os
from datetime import datetime, timezone

import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from reelhouse.bi import dashboard as data

ACCENT, ACCENT_2, INK, MUTED = "#fe2c55", "#20c5d8", "#161823", "#6b7280"
VERDICT_STYLE = {  # background, text, what it means
    "PASS": ("#e7f7ee", "#0f7a3d", "every check passed; the day is published downstream"),
    "WARN": ("#fff5e0", "#9a5b00", "warnings only; the day is published downstream"),
    "BLOCK": ("#fde8ec", "#b3123a", "a blocking check failed; the day is NOT published downstream"),
    "NOT GATED": ("#f1f2f4", "#4b5563", "the quality gate has not run for this day"),
}
PLOTLY_CONFIG = {"displayModeBar": False, "displaylogo": False}
MOVE_STYLE = {"up": ("#0f7a3d", "#e7f7ee"), "down": ("#b3123a", "#fde8ec"), "new": ("#1d4ed8", "#e5edff"),
              "same": ("#4b5563", "#f1f2f4")}


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="trend_dashboard")
    p.add_argument("--duckdb", default=os.environ.get("REELHOUSE_DASHBOARD_DUCKDB"),
                   help="the BI DuckDB file (default: <lake root>/_bi/reelhouse.duckdb from the configuration)")
    return p.parse_known_args()[0]


st.set_page_config(page_title="reelhouse · trends", page_icon="📈", layout="wide")
st.markdown(
    """<style>
    .block-container {padding-top: 1.6rem; padding-bottom: 2rem;}
    div[data-testid="stMetric"] {background: #fafafb;}
    .rh-verdict {border-radius: 14px; padding: 14px 18px; text-align: left;}
    .rh-verdict .big {font-size: 2.1rem; font-weight: 800; letter-spacing: .04em; line-height: 1.1;}
    .rh-verdict .small {font-size: .82rem; opacity: .9;}
    table.rh-board {width: 100%; border-collapse: collapse; font-size: .95rem;}
    table.rh-board td, table.rh-board th {padding: 6px 8px; border-bottom: 1px solid #eef0f3; text-align: left;}
    table.rh-board th {color: #6b7280; font-weight: 600; font-size: .78rem; text-transform: uppercase;}
    .rh-rank {font-weight: 800; color: #161823; width: 2.2rem;}
    .rh-tag {font-weight: 650; white-space: nowrap; max-width: 15rem; overflow: hidden; text-overflow: ellipsis;}
    .rh-move {border-radius: 999px; padding: 2px 9px; font-size: .8rem; font-weight: 700; white-space: nowrap;}
    .rh-bar {height: 8px; border-radius: 4px; background: linear-gradient(90deg, #fe2c55, #ff7a59);}
    .rh-hero {font-size: 1.05rem; color: #374151; margin: -.4rem 0 .6rem 0;}
    .rh-hero b {color: #fe2c55;}
    </style>""",
    unsafe_allow_html=True,
)

DB = data.database_path(duckdb_file=_args().duckdb)


def _mtime() -> float:
    try:
        return DB.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(ttl=60, show_spinner=False)
def load(fn: str, db: str, mtime: float, **kwargs):
    """One mart read (cached per database version: ``mtime`` changes when dbt rebuilds the file)."""
    return getattr(data, fn)(db, **kwargs)


def get(fn: str, **kwargs):
    return load(fn, str(DB), _mtime(), **kwargs)


# ----------------------------------------------------------------------------- guard: marts built?
try:
    data.check_marts(DB)
    days = get("dates")
except data.MartsNotBuiltError as exc:
    st.title("📈 reelhouse trends")
    st.warning(f"The trend marts are not built yet. {exc}")
    st.code("reelhouse dbt build", language="bash")
    st.stop()
except data.MartsBusyError:
    st.title("📈 reelhouse trends")
    st.info("dbt is rebuilding the marts right now. Refresh in a moment.")
    st.stop()
if not days:
    st.title("📈 reelhouse trends")
    st.warning("The marts exist but hold no trending data yet: run the nightly pipeline, then `reelhouse dbt build`.")
    st.stop()

# ----------------------------------------------------------------------------- sidebar
with st.sidebar:
    st.markdown("## 📈 reelhouse trends")
    ds = st.selectbox("Date (UTC)", days, index=0, format_func=lambda d: d.strftime("%a %d %b %Y"))
    region_list = get("regions", ds=ds) or ["ALL"]
    region = st.selectbox("Region", region_list, index=0,
                          format_func=lambda r: "All regions" if r == "ALL" else ("Unknown region" if r == "UNKNOWN" else r))
    top_n = st.slider("Hashtags shown", min_value=5, max_value=20, value=10)
    built = datetime.fromtimestamp(_mtime(), tz=timezone.utc)
    st.caption(f"Marts built {built:%Y-%m-%d %H:%M} UTC  \n`{DB}`")

region_label = "all regions" if region == "ALL" else region
verdict = get("quality_verdict", ds=ds)
hashtags = get("trending_hashtags", ds=ds, region=region, limit=top_n)

# ----------------------------------------------------------------------------- header + gate verdict
head, badge = st.columns([3, 1.25], vertical_alignment="center")
with head:
    st.title(f"Trends · {region_label} · {ds:%d %b %Y}")
    if not hashtags.empty:
        lead = hashtags.iloc[0]
        st.markdown(
            f"<div class='rh-hero'>🔥 Top trending hashtag: <b>#{html.escape(str(lead['hashtag']))}</b> "
            f"· trend score {lead['trend_score']:.1f} · {int(lead['engaged_users']):,} engaged users "
            f"· {html.escape(lead['movement'])}</div>",
            unsafe_allow_html=True,
        )
with badge:
    status = verdict["verdict"] if verdict else "NOT GATED"
    bg, fg, meaning = VERDICT_STYLE.get(status, VERDICT_STYLE["NOT GATED"])
    if verdict:
        checks, failed, warned = (int(verdict[k] or 0) for k in ("checks", "failed_checks", "warned_checks"))
        detail = f"{checks - failed - warned}/{checks} checks passed" + (f" · {warned} warning{'s' if warned > 1 else ''}" if warned else "")
        detail += f" · {failed} blocking" if failed else ""
    else:
        detail = meaning
    st.markdown(
        f"<div class='rh-verdict' data-testid='gate-verdict' style='background:{bg};color:{fg}'>"
        f"<div class='small'>Quality gate · {ds:%d %b}</div><div class='big'>{status}</div>"
        f"<div class='small'>{html.escape(detail)}</div></div>",
        unsafe_allow_html=True,
    )
if status == "BLOCK":
    st.error(f"The quality gate blocked {ds}: {meaning}. Treat the numbers below with care.")

# ----------------------------------------------------------------------------- KPIs
engagement = get("daily_engagement", region=region, end=ds)
kpis = data.kpis(engagement, ds)
for row in (kpis[:4], kpis[4:]):
    for col, k in zip(st.columns(len(row)), row):
        value, delta = k.formatted()
        col.metric(k.label, value, delta, border=True)
st.caption(f"Daily engagement in {region_label} on {ds:%d %b %Y}; deltas vs the previous day.")

# ----------------------------------------------------------------------------- hashtags
st.subheader("Trending hashtags")
left, right = st.columns([1.05, 1], gap="large")
with left:
    if hashtags.empty:
        st.info(f"No trending hashtags for {region_label} on {ds}.")
    else:
        top_score = float(hashtags["trend_score"].max()) or 1.0
        rows = []
        for r in hashtags.itertuples():
            kind = ("new" if r.movement == "NEW" else "up" if r.movement.startswith("▲")
                    else "down" if r.movement.startswith("▼") else "same")
            fg, bg = MOVE_STYLE[kind]
            width = max(3.0, 100.0 * float(r.trend_score) / top_score)
            rows.append(
                f"<tr><td class='rh-rank'>{int(r.trend_rank)}</td>"
                f"<td class='rh-tag'>#{html.escape(str(r.hashtag))}</td>"
                f"<td><span class='rh-move' style='color:{fg};background:{bg}'>{html.escape(r.movement)}</span></td>"
                f"<td style='width:34%'><div class='rh-bar' style='width:{width:.0f}%'></div></td>"
                f"<td style='text-align:right'>{float(r.trend_score):.1f}</td>"
                f"<td style='text-align:right'>{int(r.engaged_users):,}</td></tr>"
            )
        st.markdown(
            "<table class='rh-board' data-testid='hashtag-board'><thead><tr><th>#</th><th>hashtag</th><th>move</th>"
            "<th>trend</th><th style='text-align:right'>score</th><th style='text-align:right'>engaged</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>",
            unsafe_allow_html=True,
        )
        st.caption("Move: places gained (▲) or lost (▼) in the trend ranking since the previous day; NEW = not ranked yesterday.")

with right:
    if not hashtags.empty:
        tag = st.selectbox("Hashtag over time", hashtags["hashtag"].tolist(), index=0, format_func=lambda t: f"#{t}")
        series = get("hashtag_series", hashtag=tag, region=region, end=ds)
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        fig.add_bar(x=series["ds"], y=series["engaged_users"], name="engaged users", marker_color=ACCENT_2,
                    opacity=0.55, secondary_y=True)
        fig.add_scatter(x=series["ds"], y=series["trend_score"], name="trend score", mode="lines+markers",
                        line={"color": ACCENT, "width": 3}, marker={"size": 8}, secondary_y=False)
        fig.update_layout(template="plotly_white", height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                          title=f"#{tag} · {region_label}", legend={"orientation": "h", "y": -0.15},
                          hovermode="x unified")
        fig.update_xaxes(tickformat="%d %b", dtick=86_400_000)
        fig.update_yaxes(title_text="trend score", secondary_y=False, rangemode="tozero")
        fig.update_yaxes(title_text="engaged users", secondary_y=True, showgrid=False, rangemode="tozero", tickformat=",d")
        st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG)

# ----------------------------------------------------------------------------- videos + engagement trend
st.subheader("Trending videos")
vleft, vright = st.columns([1.45, 1], gap="large")
with vleft:
    videos = get("trending_videos", ds=ds, region=region, limit=10)
    if videos.empty:
        st.info(f"No trending videos for {region_label} on {ds}.")
    else:
        st.dataframe(
            videos.assign(is_new_item=videos["is_new_item"].map({True: "new", False: ""})),
            hide_index=True, width="stretch",
            column_order=["trend_rank", "video_id", "creator_key", "trend_score", "engaged_users", "plays", "likes", "is_new_item"],
            column_config={
                "trend_rank": st.column_config.NumberColumn("#", width=36),
                "video_id": st.column_config.TextColumn("video", width=100),
                "creator_key": st.column_config.TextColumn("creator", help="pseudonymised creator key", width=100),
                "trend_score": st.column_config.ProgressColumn("trend score", format="%.1f", min_value=0.0, width=120,
                                                               max_value=float(videos["trend_score"].max()) or 1.0),
                "engaged_users": st.column_config.NumberColumn("engaged", format="%d", width=62),
                "plays": st.column_config.NumberColumn("plays", format="%d", width=52),
                "likes": st.column_config.NumberColumn("likes", format="%d", width=48),
                "is_new_item": st.column_config.TextColumn("", width=40),
            },
        )
with vright:
    if not engagement.empty:
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        fig.add_scatter(x=engagement["ds"], y=engagement["plays"], name="plays", mode="lines+markers",
                        line={"color": ACCENT, "width": 3}, secondary_y=False)
        fig.add_scatter(x=engagement["ds"], y=engagement["active_users"], name="active users", mode="lines+markers",
                        line={"color": ACCENT_2, "width": 3, "dash": "dot"}, secondary_y=True)
        fig.update_layout(template="plotly_white", height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                          title=f"Daily engagement · {region_label}", legend={"orientation": "h", "y": -0.2},
                          hovermode="x unified")
        fig.update_xaxes(tickformat="%d %b", dtick=86_400_000)
        fig.update_yaxes(title_text="plays", secondary_y=False, rangemode="tozero", tickformat=",d")
        fig.update_yaxes(title_text="active users", secondary_y=True, showgrid=False, rangemode="tozero", tickformat=",d")
        st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG)

# ----------------------------------------------------------------------------- freshness + model
st.subheader("Data freshness and model")
fleft, fright = st.columns([1.05, 1], gap="large")
with fleft:
    fresh = get("freshness")
    newest = max((d for d in fresh["latest_ds"] if d is not None), default=None)
    if newest is not None:
        lagging = fresh[fresh["latest_ds"].map(lambda d: d is None or d < newest)]
        msg = f"Newest data: **{newest:%d %b %Y}** across {len(fresh)} tables"
        st.markdown(msg + (f" · ⚠️ {len(lagging)} behind: {', '.join(lagging['table_name'])}" if len(lagging) else " · all up to date"))
    st.dataframe(fresh, hide_index=True, width="stretch", height=min(35 * (len(fresh) + 1) + 3, 420),
                 column_config={"table_name": "table", "latest_ds": st.column_config.DateColumn("latest date"),
                                "rows_latest_ds": st.column_config.NumberColumn("rows on latest date", format="%d")})
with fright:
    models = get("model_quality")
    current = models[models["is_current_champion"].fillna(False).astype(bool)]
    if current.empty:
        st.info("No champion ranking model yet (`reelhouse model retrain`).")
    else:
        m = current.iloc[0]
        c1, c2, c3 = st.columns(3)
        c1.metric("Champion model", f"v{int(m['model_version'])}", border=True)
        c2.metric("AUC", f"{m['challenger_auc']:.3f}" if m["challenger_auc"] == m["challenger_auc"] else "–", border=True)
        lift = (m["challenger_auc"] - m["baseline_auc"]) if m["baseline_auc"] == m["baseline_auc"] else None
        c3.metric("Baseline AUC", f"{m['baseline_auc']:.3f}" if lift is not None else "–",
                  f"{lift:+.3f} AUC" if lift is not None else None, border=True)
        st.caption(f"{m['action']} on {m['decided_at']:%d %b %Y %H:%M} UTC, validated on {m['valid_date']} "
                   f"(gate {str(m['gate_verdict']).upper()}): {m['reason']}")
