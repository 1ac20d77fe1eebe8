"""``reelhouse`` command line.

::

    reelhouse generate --start 2024-06-01 --days 7 --events-per-day 200000 --seed 7
    reelhouse import kuairand ../shared/datasets/kuairand
    reelhouse run --date 2024-06-01 [--steps ingest]
    reelhouse backfill --start 2024-06-01 --end 2024-06-07     # or: backfill --all-landing-dates
    reelhouse tables                                           # per-table versions, rows, files
    reelhouse dashboard [--port 8501] [--duckdb PATH]          # trend dashboard (Streamlit) over the dbt marts
    reelhouse history silver.events
    reelhouse lake repair-stats [TABLE ...] [--dry-run]        # make old file statistics safe for readers
    reelhouse gate --date 2024-06-01                            # quality verdict (exit 3 = block)
    reelhouse features publish --date 2024-06-01               # gated features → online store
    reelhouse features get --user u_1 --video v_2              # what the online store serves
    reelhouse dataset rebuild <manifest.json | build_id>       # recompute a training dataset, verify its hash
    reelhouse model retrain [--date D]                         # challenger vs champion, MLflow, audited
    reelhouse model rollback                                   # champion back to the previous one
    reelhouse demo                                             # generate a week + run it + summary
    reelhouse dbt build                                        # BI marts (dbt/) into <lake>/_bi/reelhouse.duckdb
    reelhouse forget --user u1 [--user u2] [--vacuum-now]      # erase users everywhere (audited in ops.erasures)
    reelhouse forget --pending                                 # process ops.erasure_requests (the privacy DAG's task)
    reelhouse maintain [--date D] [--steps retention,optimize,vacuum]   # retention, compaction/Z-order, vacuum

Configuration comes from ``conf/`` (``REELHOUSE_ENV`` picks the overlay). Exit codes: 0 ok, 1 a
step reported a reconciliation mismatch, 2 bad arguments or configuration, 3 the quality gate
blocked a date (``run``/``backfill``/``demo`` gate every date they run in full, and publish the
ones that pass to the online store), 4 ``features publish`` refused a date the gate did not pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from typing import Sequence


EXIT_GATE_BLOCKED = 3
EXIT_NOT_GATED = 4
#: another run holds the lake, or an earlier date is not processed yet (EX_TEMPFAIL: retry later)
EXIT_RETRY_LATER = 75


def _date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {s!r}") from None


def _steps(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The ``reelhouse`` argument parser (every subcommand; see the module docstring)."""
    p = argparse.ArgumentParser(prog="reelhouse", description="reelhouse: nightly lakehouse batch platform")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write synthetic landing files (the embedded default source)")
    g.add_argument("--start", type=_date, required=True)
    g.add_argument("--days", type=int, default=7)
    g.add_argument("--events-per-day", type=int, default=200_000)
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--bad-fraction", type=float, default=0.002)
    g.add_argument("--landing", help="landing root (default: paths.landing from conf)")
    # source shapes of real logs (reelhouse.sources.generator docstring); a young real source:
    # --first-day-share 0.3 --catalogue growing --client-fields no_platform --id-style uuid --time-encoding offset
    g.add_argument("--first-day-share", type=float, default=1.0,
                   help="share (0, 1] of --events-per-day on day 0: the collector went live late that day")
    g.add_argument("--catalogue", choices=["preloaded", "growing"], default="preloaded",
                   help="growing: the pre-existing catalogue is published over the days, not all at 00:00 of day 0")
    g.add_argument("--client-fields", choices=["full", "no_platform", "none"], default="full",
                   help="no_platform: no platform/app_version keys; none: no region either")
    g.add_argument("--id-style", choices=["short", "uuid"], default="short",
                   help="uuid: 36-40 character user/video/event ids")
    g.add_argument("--time-encoding", choices=["mixed", "offset"], default="mixed",
                   help="offset: every event_time RFC 3339 with the actor's local offset, never Z")

    i = sub.add_parser("import", help="turn a real dataset into landing files")
    i.add_argument("dataset", choices=["kuairand"])
    i.add_argument("path", help="the dataset file or folder")
    i.add_argument("--landing", help="landing root (default: paths.landing from conf)")

    r = sub.add_parser("run", help="run the nightly steps for one date")
    r.add_argument("--date", type=_date, required=True)
    r.add_argument("--steps", type=_steps, default=None, help="comma-separated step names (default: all)")
    r.add_argument("--run-version", type=int, default=None, help="application transaction version (default: now, ms)")

    b = sub.add_parser("backfill", help="run the nightly steps for every date of a range, in order")
    b.add_argument("--start", type=_date)
    b.add_argument("--end", type=_date)
    b.add_argument("--all-landing-dates", action="store_true", help="every date that has landing files")
    b.add_argument("--steps", type=_steps, default=None)

    q = sub.add_parser("gate", help="run the quality gate for one date: every suite, one verdict (exit 3 on block)")
    q.add_argument("--date", type=_date, required=True)
    q.add_argument("--no-docs", action="store_true", help="skip the Great Expectations Data Docs update")
    q.add_argument("--no-record", action="store_true", help="do not write ops.quality_results")

    f = sub.add_parser("features", help="the online feature store (Feast): publish a date, read what it serves")
    fsub = f.add_subparsers(dest="features_command", required=True)
    fp = fsub.add_parser("publish", help="publish a gated date's gold feature rows to the online store")
    fp.add_argument("--date", type=_date, required=True)
    fp.add_argument("--views", type=_steps, default=None, help="comma-separated feature views (default: all)")
    fp.add_argument("--skip-gate-check", action="store_true", help="publish even without a pass/warn gate verdict")
    fg = fsub.add_parser("get", help="print what the online store serves for the given entities (JSON)")
    fg.add_argument("--user", help="user_id")
    fg.add_argument("--video", help="video_id (its creator's features come along)")
    fg.add_argument("--creator", help="creator_id")
    fg.add_argument("--hashtag", help="normalised hashtag")
    fsub.add_parser("apply", help="apply feature_repo/ definitions to the Feast registry and online store")

    ds_ = sub.add_parser("dataset", help="training datasets: rebuild one from its manifest")
    dsub = ds_.add_subparsers(dest="dataset_command", required=True)
    dr = dsub.add_parser("rebuild", help="recompute a dataset from its manifest (inputs at the recorded Delta versions) and verify its hash")
    dr.add_argument("manifest", help="manifest JSON file, or a build_id from ml.dataset_manifests")
    dr.add_argument("--out", help="also write the rebuilt rows to this Parquet file")

    m = sub.add_parser("model", help="the ranking model: retrain (challenger vs champion), rollback")
    msub = m.add_subparsers(dest="model_command", required=True)
    mr = msub.add_parser("retrain", help="train on the days before --date, validate on --date, decide promotion")
    mr.add_argument("--date", type=_date, default=None, help="validation day (default: newest training-examples day)")
    mr.add_argument("--window-days", type=int, default=3)
    mr.add_argument("--margin", type=float, default=0.002, help="AUC the challenger must gain over the champion")
    mb = msub.add_parser("rollback", help="move the champion alias back to the previous champion (recorded)")
    mb.add_argument("--reason", default="manual rollback")

    sub.add_parser("tables", help="per-table summary: version, rows, files, path")

    db_ = sub.add_parser("dashboard", help="start the trend dashboard (Streamlit) over the dbt marts")
    db_.add_argument("--port", type=int, default=8501)
    db_.add_argument("--address", default="127.0.0.1", help="interface to listen on (0.0.0.0: every interface)")
    db_.add_argument("--duckdb", help="the BI DuckDB file (default: <lake root>/_bi/reelhouse.duckdb)")

    lk_ = sub.add_parser("lake", help="lake maintenance: repair-stats")
    lksub = lk_.add_subparsers(dest="lake_command", required=True)
    lr = lksub.add_parser("repair-stats", help="rewrite file statistics that would make readers skip rows "
                          "(tables written before safe statistics); one dataChange=false commit per table")
    lr.add_argument("tables", nargs="*", help="layer.table names (default: every catalog table that exists)")
    lr.add_argument("--dry-run", action="store_true", help="only count the files that need repair")

    h = sub.add_parser("history", help="commit history of a table")
    h.add_argument("table")
    h.add_argument("--limit", type=int, default=20)

    d = sub.add_parser("demo", help="generate a synthetic week, run the pipeline for each day, print the tables")
    d.add_argument("--start", type=_date, default=date(2024, 6, 1))
    d.add_argument("--days", type=int, default=7)
    d.add_argument("--events-per-day", type=int, default=100_000)
    d.add_argument("--seed", type=int, default=7)

    fo = sub.add_parser("forget", help="erase users from every table, the landing files, the online store and "
                        "the BI file (right to be forgotten); audited in ops.erasures")
    fo.add_argument("--user", action="append", default=[], metavar="USER_ID", help="a user to erase (repeatable)")
    fo.add_argument("--pending", action="store_true", help="process every pending ops.erasure_requests row")
    fo.add_argument("--queue", action="store_true", help="only file the requests (the privacy DAG processes them)")
    fo.add_argument("--vacuum-now", action="store_true",
                    help="vacuum the touched tables at once (retention 0) instead of after privacy.erasure_retention_hours")
    fo.add_argument("--requested-by", default=None, help="who filed the request (default: cli:<login>)")

    mt = sub.add_parser("maintain", help="table maintenance: retention per layer, compaction + Z-order, "
                        "checkpoints, vacuum (recorded in ops.table_maintenance)")
    mt.add_argument("--date", type=_date, default=None, help="the run's date: retention counts back from it (default: today, UTC)")
    mt.add_argument("--steps", type=_steps, default=["retention", "optimize", "vacuum"],
                    help="comma-separated subset of retention,optimize,vacuum")
    mt.add_argument("--tables", nargs="*", default=None, help="compact/vacuum only these layer.table names")

    dbt_ = sub.add_parser("dbt", help="run dbt on the BI project (dbt/) over this lake, e.g. `reelhouse dbt build`",
                          description="Runs `dbt <args>` with the lake root, DuckDB file and pseudonym key set "
                                      "(reelhouse.bi.dbt_runner.dbt_env); exit code is dbt's.")
    dbt_.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt command and options (build, test, docs generate, …)")
    return p


def print_tables(lake) -> None:
    """Print one line per catalog table: version, rows (from Delta add-action stats), files, path."""
    from reelhouse.lake.catalog import TABLES

    rows = []
    for name in TABLES:
        if not lake.exists(name):
            rows.append((name, "-", "-", "-", "(not written yet)"))
            continue
        info = lake.describe(name)
        rows.append((name, str(info["version"]), f"{info['rows']:,}", str(info["files"]), lake.path(name)))
    widths = [max(len(r[i]) for r in rows + [("table", "version", "rows", "files", "path")]) for i in range(5)]
    header = ("table", "version", "rows", "files", "path")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join((c.rjust(w) if i in (1, 2, 3) else c.ljust(w)) for i, (c, w) in enumerate(zip(r, widths))))


def _gate(cfg, day: date, *, docs: bool = True, record: bool = True) -> int:
    """Run the quality gate for ``day`` and print the verdict; 3 when it blocks, else 0."""
    from reelhouse.lake import Lake
    from reelhouse.quality.gate import run_gate

    verdict = run_gate(Lake.from_config(cfg), cfg, day, data_docs=docs, record=record)
    print(verdict.summary(), flush=True)
    return EXIT_GATE_BLOCKED if verdict.status == "block" else 0


def _publish(cfg, day: date, *, views=None, require_gate: bool = True) -> int:
    """Publish ``day``'s features to the online store; 4 when the gate did not pass, else 0."""
    from reelhouse.lake import Lake
    from reelhouse.serving.online_store import GateNotPassedError, publish

    try:
        report = publish(Lake.from_config(cfg), cfg, day, views=views, require_gate=require_gate)
    except GateNotPassedError as exc:
        print(f"not published: {exc}", file=sys.stderr)
        return EXIT_NOT_GATED
    print(report.summary(), flush=True)
    return 0


def _run_dates(dates: Sequence[date], steps: Sequence[str] | None) -> int:
    from reelhouse.config import get_config
    from reelhouse.lake import Lake
    from reelhouse.pipeline import STEPS, run_date
    from reelhouse.spark import get_spark

    cfg = get_config()
    spark = get_spark(cfg)
    failed = blocked = False
    t0 = time.time()
    for n, d in enumerate(dates, 1):
        print(f"=== {d} ({n}/{len(dates)})", flush=True)
        reports = run_date(d, steps=steps, spark=spark, config=cfg, log=lambda m: print(m, flush=True))
        failed |= any(getattr(r, "balanced", True) is False for r in reports.values())
        blocked |= any(STEPS[name].gate and getattr(r, "status", None) == "block" for name, r in reports.items())
    print(f"done: {len(dates)} date(s) in {time.time() - t0:.1f}s; lake at {cfg.paths.lake}")
    print_tables(Lake.from_config(cfg, spark))
    return 1 if failed else (EXIT_GATE_BLOCKED if blocked else 0)


def _demo_consumers(cfg) -> int:
    """After the demo week: the retrain on its last day (as reelhouse_retrain would) and the dbt
    marts (as reelhouse_dbt would), so the notebook and the dashboard have something to show.
    Returns 0, or 1 when either failed (printed)."""
    from reelhouse.bi.dbt_runner import BIError, ensure_sources, run_dbt
    from reelhouse.lake import Lake
    from reelhouse.ml.model import ModelError, latest_examples_day, retrain

    lake = Lake.from_config(cfg)
    rc = 0
    try:
        print(retrain(lake, cfg, latest_examples_day(lake)).summary(), flush=True)
    except ModelError as exc:
        print(f"retrain skipped: {exc}", file=sys.stderr)
        rc = 1
    try:
        ensure_sources(lake)
        result = run_dbt(cfg, ["build"])
        print(result.summary(), flush=True)
        rc = rc or (0 if result.success else 1)
    except BIError as exc:
        print(f"dbt build failed: {exc}", file=sys.stderr)
        rc = 1
    print("next: `reelhouse dashboard` (trend dashboard), `jupyter-execute notebooks/explore_trends.ipynb` "
          "or open the notebook in Jupyter/VS Code with the .venv kernel", flush=True)
    return rc


#: Commands that write into the lake / the landing folder: their paths are checked up front, so
#: a read-only or missing folder is one line naming the key (exit 2), not a Spark traceback later.
_WRITES_LAKE = frozenset({"run", "backfill", "gate", "features", "dataset", "model", "lake", "demo", "dbt", "forget",
                          "maintain"})
_WRITES_LANDING = frozenset({"generate", "import", "demo", "forget", "maintain"})


def _forget(cfg, args) -> int:
    """``reelhouse forget``: file requests for ``--user``s (unless ``--pending`` only), then process
    every pending request under the lake's run lock (unless ``--queue``)."""
    import getpass

    from reelhouse.lake import Lake
    from reelhouse.lake.locks import lake_lock
    from reelhouse.ops.erasure import process_requests, request_erasure

    if not args.user and not args.pending:
        print("forget needs --user USER_ID (repeatable) or --pending", file=sys.stderr)
        return 2
    lake = Lake.from_config(cfg)
    log = lambda m: print(m, flush=True)  # noqa: E731
    with lake_lock(lake.root, "reelhouse forget", timeout_seconds=cfg.lake_lock_timeout_seconds, log=log):
        if args.user:
            ids = request_erasure(lake, cfg, args.user, requested_by=args.requested_by or f"cli:{getpass.getuser()}")
            print(f"{len(ids)} erasure request(s): {', '.join(ids)}", flush=True)
        if args.queue:
            return 0
        process_requests(lake, cfg, retention_hours=0 if args.vacuum_now else None, log=log)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``reelhouse`` command; returns the exit code (module docstring: 0, 1, 2, 3, 4, 75)."""
    args = build_parser().parse_args(argv)
    from reelhouse.config import ConfigError, check_writable, get_config

    try:
        cfg = get_config()
        if args.command in _WRITES_LAKE:
            check_writable(cfg, "paths.lake")
        if args.command in _WRITES_LANDING:
            check_writable(cfg, "paths.landing")
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "generate":
            from reelhouse.sources.generator import generate

            summary = generate(
                args.landing or cfg.paths.landing, start=args.start, days=args.days,
                events_per_day=args.events_per_day, seed=args.seed, bad_fraction=args.bad_fraction,
                future_tolerance_seconds=cfg.ingest.future_tolerance_seconds,
                first_day_share=args.first_day_share, catalogue=args.catalogue, client_fields=args.client_fields,
                id_style=args.id_style, time_encoding=args.time_encoding,
            )
            print(json.dumps(summary.to_dict(), indent=2, default=str))
            return 0
        if args.command == "import":
            from reelhouse.sources.importers.kuairand import import_kuairand

            summary = import_kuairand(args.path, args.landing or cfg.paths.landing)
            print(json.dumps(summary.to_dict(), indent=2, default=str))
            d = summary.to_dict().get("dates") or []
            if d:
                print(f"next: reelhouse backfill --start {d[0]} --end {d[-1]}")
            return 0
        if args.command == "run":
            from reelhouse.pipeline import resolve_steps

            resolve_steps(args.steps)
            return _run_dates([args.date], args.steps)
        if args.command == "backfill":
            from reelhouse.sources.landing import landing_dates
            from reelhouse.pipeline import date_range, resolve_steps

            resolve_steps(args.steps)
            if args.all_landing_dates:
                dates = landing_dates(cfg.paths.landing)
                if not dates:
                    print(f"no landing dates under {cfg.paths.landing}: nothing to do")
                    return 0
            elif args.start and args.end:
                dates = list(date_range(args.start, args.end))
            else:
                print("backfill needs --start and --end, or --all-landing-dates", file=sys.stderr)
                return 2
            return _run_dates(dates, args.steps)
        if args.command == "gate":
            return _gate(cfg, args.date, docs=not args.no_docs, record=not args.no_record)
        if args.command == "features":
            from reelhouse.serving.writers import OnlineStoreError

            try:
                if args.features_command == "publish":
                    return _publish(cfg, args.date, views=args.views, require_gate=not args.skip_gate_check)
                if args.features_command == "apply":
                    from reelhouse.serving.online_store import feature_store

                    store = feature_store(cfg, apply=True)
                    print(f"applied: {', '.join(fv.name for fv in store.list_feature_views())} "
                          f"({cfg.online_store.type}, project {cfg.online_store.project})")
                    return 0
                if not any([args.user, args.video, args.creator, args.hashtag]):
                    print("features get needs at least one of --user, --video, --creator, --hashtag", file=sys.stderr)
                    return 2
                from reelhouse.serving.online_store import online_features

                got = online_features(cfg, user_id=args.user, video_id=args.video, creator_id=args.creator,
                                      hashtag=args.hashtag)
                print(json.dumps(got, indent=2, ensure_ascii=False, default=str))
                return 0
            except OnlineStoreError as exc:
                print(f"online store error: {exc}", file=sys.stderr)
                return 1
        if args.command == "dataset":
            from reelhouse.ml.datasets import ManifestError, load_manifest, rebuild
            from reelhouse.lake import Lake
            from reelhouse.spark import get_spark

            spark = get_spark(cfg)
            lake = Lake.from_config(cfg, spark)
            try:
                manifest = load_manifest(args.manifest, lake)
            except ManifestError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            out = rebuild(spark, lake, cfg, manifest)
            if args.out:
                import pyarrow.parquet as pq

                pq.write_table(out["table"], args.out)
            verdict = "identical" if out["matches"] else "DIFFERENT"
            print(f"rebuilt {manifest['dataset']} ds={manifest['ds']} (build {manifest['build_id']}): {out['rows']:,} rows, "
                  f"sha256 {out['content_sha256'][:16]}… — {verdict} to the manifest's {manifest['content_sha256'][:16]}…")
            return 0 if out["matches"] else 1
        if args.command == "model":
            from reelhouse.lake import Lake
            from reelhouse.ml.model import ModelError, latest_examples_day, retrain, rollback

            lake = Lake.from_config(cfg)
            try:
                if args.model_command == "rollback":
                    frm, to = rollback(lake, cfg, reason=args.reason)
                    print(f"champion: v{frm} → v{to} (recorded in ml.model_promotions)")
                    return 0
                result = retrain(lake, cfg, args.date or latest_examples_day(lake), window_days=args.window_days,
                                 margin=args.margin)
                print(result.summary())
                return 0
            except ModelError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
        if args.command == "tables":
            from reelhouse.lake import Lake

            print_tables(Lake.from_config(cfg))
            return 0
        if args.command == "dashboard":
            import subprocess

            from reelhouse.bi.dbt_runner import BIError
            from reelhouse.bi.dashboard import APP, database_path, streamlit_command

            try:
                db = database_path(cfg, args.duckdb)
            except BIError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            if not db.exists():
                print(f"note: no BI database at {db} yet: run `reelhouse dbt build` (the page says so too)", file=sys.stderr)
            print(f"trend dashboard: http://{args.address}:{args.port}/  (marts: {db}; Ctrl-C stops it)", flush=True)
            try:
                return subprocess.call(streamlit_command(port=args.port, duckdb_file=db, address=args.address), cwd=APP.parent)
            except KeyboardInterrupt:
                return 0
        if args.command == "lake":
            from reelhouse.lake.catalog import TABLES
            from reelhouse.lake import Lake

            lake = Lake.from_config(cfg)
            for name in args.tables or [t for t in TABLES if lake.exists(t)]:
                if not lake.exists(name):
                    print(f"{name}: does not exist yet", file=sys.stderr)
                    return 2
                r = lake.repair_stats(name, dry_run=args.dry_run)
                verb = "need repair" if args.dry_run else "repaired"
                print(f"{name}: {r['repaired']} of {r['files']} files {verb} (version {r['version']})", flush=True)
            return 0
        if args.command == "history":
            from reelhouse.lake import Lake

            for h in Lake.from_config(cfg).history(args.table, args.limit):
                print(json.dumps(h, default=str))
            return 0
        if args.command == "dbt":
            from reelhouse.bi.dbt_runner import BIError, ensure_sources, run_dbt
            from reelhouse.lake import Lake

            if not args.dbt_args:
                print("reelhouse dbt needs a dbt command, e.g. `reelhouse dbt build`", file=sys.stderr)
                return 2
            try:
                if args.dbt_args[0] in ("build", "run", "docs"):
                    ensure_sources(Lake.from_config(cfg))
                return run_dbt(cfg, args.dbt_args, echo=True).returncode
            except BIError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        if args.command == "forget":
            return _forget(cfg, args)
        if args.command == "maintain":
            from datetime import datetime, timezone

            from reelhouse.lake import Lake
            from reelhouse.ops.maintenance import maintain

            day = args.date or datetime.now(timezone.utc).date()
            maintain(Lake.from_config(cfg), cfg, day, steps=args.steps, tables=args.tables,
                     log=lambda m: print(m, flush=True))
            return 0
        if args.command == "demo":
            from reelhouse.sources.generator import generate

            print(f"generating {args.days} days x {args.events_per_day:,} events into {cfg.paths.landing}", flush=True)
            summary = generate(
                cfg.paths.landing, start=args.start, days=args.days, events_per_day=args.events_per_day,
                seed=args.seed, future_tolerance_seconds=cfg.ingest.future_tolerance_seconds,
            )
            s = summary.to_dict()
            print(f"generated in {s.get('seconds', 0):.1f}s", flush=True)
            dates = [args.start + timedelta(days=k) for k in range(args.days)]
            rc = _run_dates(dates, None)
            return _demo_consumers(cfg) or rc
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        from reelhouse.lake.locks import RunLockError
        from reelhouse.pipeline import OutOfOrderError

        if isinstance(exc, (OutOfOrderError, RunLockError)):
            print(f"not run: {exc}", file=sys.stderr)
            return EXIT_RETRY_LATER
        raise
    return 2


if __name__ == "__main__":
    sys.exit(main())
