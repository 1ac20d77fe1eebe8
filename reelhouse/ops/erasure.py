"""Right to be forgotten: erase a user from every place reelhouse keeps user-level data.

The procedure follows the Databricks/Delta GDPR blueprint ("GDPR and CCPA compliance with Delta
Lake"): requests land in a table (``ops.erasure_requests``); a scheduled job (DAG
``reelhouse_privacy``, or ``reelhouse forget``) deletes the subject's rows in bronze first, then
silver and gold, deletes the upstream copies (the landing files), and VACUUMs the old table
versions once the erasure's retention has passed, well within the one month GDPR Art. 12(3) gives.

What leaves where (:data:`POLICY`; a test checks that every catalog column holding a user id is
covered):

- **the subject's own rows** (``user_id`` = the subject) are deleted from bronze, silver, the
  user-grain gold tables (``user_*``, interests) and the training examples;
- **raw lines** holding the id (``quarantine.events.raw_line``) are deleted;
- **the subject as a creator**: their videos leave the catalogue (``silver.videos``,
  ``silver.video_hashtags``, ``gold.creator_features`` rows are deleted, as an account deletion
  takes the account's videos down); other users' rows *about* those videos keep their counts
  with ``creator_id`` set to NULL (bronze, silver and gold events, stats, features, trends,
  training examples): nothing of another user is deleted;
- **aggregates that cannot identify a person** (daily counts per video, hashtag or region, trend
  scores) are not recomputed: one user is one count among thousands, and recomputing history
  would change published trends. The next nightly recomputes the days it builds anyway;
- **landing files** are rewritten without the subject's lines (and with their id removed from
  other users' lines about their videos), so a rerun of any date cannot bring them back;
- **the online store** (SQLite or Redis): the subject's user and creator entities and their
  videos' entities are deleted (Redis: the keys, and the keys listed in the publish log);
- **the BI file** (DuckDB): rows holding the raw id or its pseudonym (``sha256(key:id)``, the
  marts' ``user_key``/``creator_key``) are deleted from every table, then the file is rewritten
  (``COPY FROM DATABASE``) so freed blocks keep no copy;
- **training-dataset manifests** of the days whose examples lost rows are marked superseded
  (their content hash no longer reproduces); the next build records the erasures it reflects.

Every request gets an audit row in ``ops.erasures`` keyed by ``request_id``, whose subject is a
keyed hash of its own (``subject_ref`` = ``sha256(key || ':erasure:' || id)``: neither the raw id
nor the BI pseudonym). The raw id stays only in the pending request row, which is deleted when
the request is processed. The audit row is updated after each step (``tables_json``), so an
erasure interrupted between tables resumes where it stopped; a request already erased is a no-op.
Deleted rows stay readable by time travel for ``privacy.erasure_retention_hours``; then
:func:`vacuum_due` VACUUMs the touched tables and the audit row becomes ``complete``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from reelhouse.lake.catalog import get_table
from reelhouse.lake.engines import RowMatch

if TYPE_CHECKING:  # pragma: no cover
    from reelhouse.config import Config
    from reelhouse.lake import Lake

REQUESTS = "ops.erasure_requests"
AUDIT = "ops.erasures"

Action = Literal["delete_user", "delete_creator", "redact_creator", "delete_raw"]

#: table -> what happens to it, in order (bronze first, then silver and gold: the blueprint's order).
#: ``delete_user``: rows with user_id = subject; ``delete_creator``: rows with creator_id = subject;
#: ``redact_creator``: creator_id set to NULL where it is the subject; ``delete_raw``: raw lines
#: holding the quoted id.
POLICY: Mapping[str, tuple[Action, ...]] = {
    "bronze.events": ("delete_user", "redact_creator"),
    "quarantine.events": ("delete_raw",),
    "silver.events": ("delete_user", "redact_creator"),
    "silver.videos": ("delete_creator",),
    "silver.video_hashtags": ("delete_creator",),
    "gold.user_daily_activity": ("delete_user",),
    "gold.user_features": ("delete_user",),
    "gold.user_interests": ("delete_user",),
    "gold.creator_features": ("delete_creator",),
    "gold.training_examples": ("delete_user", "redact_creator"),
    "gold.video_daily_stats": ("redact_creator",),
    "gold.video_features": ("redact_creator",),
    "gold.trending_videos": ("redact_creator",),
}
#: online feature view -> (join key, whose ids): the subject as a user or creator, or their videos
ONLINE: Mapping[str, tuple[str, Literal["user", "creator", "videos"]]] = {
    "user_features": ("user_id", "user"),
    "creator_features": ("creator_id", "creator"),
    "video_features": ("video_id", "videos"),
}


class ErasureError(RuntimeError):
    """An erasure cannot proceed (a store unreachable, a request without a user id)."""


def subject_ref(user_id: str, key: str) -> str:
    """The audit's keyed hash of a user id: ``sha256(key || ':erasure:' || user_id)`` (64 hex).
    Domain-separated from the BI pseudonym ``sha256(key || ':' || id)``, so the audit holds neither
    the raw id nor the pseudonym the marts carried."""
    return hashlib.sha256(f"{key}:erasure:{user_id}".encode("utf-8")).hexdigest()


def request_id_for(user_id: str, key: str) -> str:
    """The default request id of a user's erasure: ``er_`` + 16 hex of :func:`subject_ref` (the
    same user twice is the same request: a no-op once erased)."""
    return "er_" + subject_ref(user_id, key)[:16]


def _key(config: "Config") -> str:
    from reelhouse.bi.dbt_runner import pseudonym_key

    return pseudonym_key(config)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# ----------------------------------------------------------------------------- requests
def request_erasure(lake: "Lake", config: "Config", user_ids: Sequence[str], *, requested_by: str,
                    now: datetime | None = None) -> list[str]:
    """File erasure requests (rows of ``ops.erasure_requests``) for ``user_ids``; returns their
    request ids. A user with a pending or already processed request gets no new row (the same
    request id). Raises ``ValueError`` for an empty id."""
    if any(not u or not u.strip() for u in user_ids):
        raise ValueError("an erasure request needs a non-empty user id")
    now = now or _now()
    key = _key(config)
    ids = {u: request_id_for(u, key) for u in dict.fromkeys(user_ids)}
    pending = set(lake.read_arrow(REQUESTS, columns=["request_id"]).column("request_id").to_pylist()) \
        if lake.exists(REQUESTS) else set()
    done = _audit_rows(lake, list(ids.values()))
    new = {u: r for u, r in ids.items() if r not in pending and (r not in done or done[r]["status"] == "running")}
    new = {u: r for u, r in new.items() if r not in pending}
    if new:
        spec = get_table(REQUESTS)
        lake.write_arrow(pa.table({
            "request_id": list(new.values()), "user_id": list(new), "requested_at": [now] * len(new),
            "requested_by": [requested_by] * len(new), "ds": [now.date()] * len(new)}).cast(spec.arrow_schema()),
            REQUESTS, mode="append")
    return list(ids.values())


def pending_requests(lake: "Lake") -> list[dict[str, Any]]:
    """The rows of ``ops.erasure_requests`` (oldest first)."""
    if not lake.exists(REQUESTS):
        return []
    return sorted(lake.read_arrow(REQUESTS).to_pylist(), key=lambda r: (r["requested_at"], r["request_id"]))


def _audit_rows(lake: "Lake", request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not lake.exists(AUDIT) or not request_ids:
        return {}
    t = lake.read_arrow(AUDIT, filter=pc.field("request_id").isin(list(request_ids)))
    return {r["request_id"]: r for r in t.to_pylist()}


def _save_audit(lake: "Lake", row: Mapping[str, Any]) -> None:
    spec = get_table(AUDIT)
    lake.merge(pa.table({c: [row.get(c)] for c in spec.column_names}).cast(spec.arrow_schema()), AUDIT,
               on=["request_id"])


# ----------------------------------------------------------------------------- one erasure
@dataclass
class ErasureReport:
    """What one request's erasure did (the audit row, as a dict), and whether it was a no-op."""

    request_id: str
    audit: dict[str, Any]
    noop: bool

    def summary(self) -> str:
        """One line for a task log (no id of the subject in it: the request id only)."""
        a = self.audit
        if self.noop:
            return f"erasure {self.request_id}: already {a['status']} — nothing to do"
        return (f"erasure {self.request_id}: {a['status']} — {a['rows_removed']} rows deleted, {a['rows_redacted']} "
                f"redacted in {sum(1 for v in json.loads(a['tables_json']).values() if v.get('rows_deleted') or v.get('rows_redacted'))} "
                f"tables; {a['landing_files_rewritten']} landing files rewritten ({a['landing_lines_removed']} lines); "
                f"{a['online_keys_deleted']} online entities, {a['bi_rows_deleted']} BI rows deleted; "
                f"{a['manifests_superseded']} manifests superseded")


def erase(lake: "Lake", config: "Config", request: Mapping[str, Any], *, retention_hours: int | None = None,
          stop_after: str | None = None, log: Callable[[str], None] = print) -> ErasureReport:
    """Carry out one request (a row of ``ops.erasure_requests``: ``request_id``, ``user_id``,
    ``requested_at``): every step of the module docstring, the audit row updated after each.

    ``retention_hours``: how long the deleted rows stay readable by time travel (default
    ``privacy.erasure_retention_hours``); 0 vacuums the touched tables at once (tests, an urgent
    request: concurrent readers of old versions fail). ``stop_after``: a step name after which to
    raise ``KeyboardInterrupt`` (tests of resuming). A request whose audit row says ``erased`` or
    ``complete`` is a no-op. Raises :class:`ErasureError` when the online store or the BI file
    cannot be reached (the audit row stays ``running``; a rerun resumes)."""
    rid, user = request["request_id"], request["user_id"]
    key = _key(config)
    retention = config.privacy.erasure_retention_hours if retention_hours is None else retention_hours
    audit = _audit_rows(lake, [rid]).get(rid)
    if audit and audit["status"] in ("erased", "complete"):
        _drop_request(lake, rid)
        return ErasureReport(rid, audit, noop=True)
    now = _now()
    if audit is None:
        audit = {"request_id": rid, "subject_ref": subject_ref(user, key), "status": "running",
                 "requested_at": request.get("requested_at") or now, "started_at": now, "erased_at": None,
                 "completed_at": None, "retention_hours": retention, "tables_json": "{}", "rows_removed": 0,
                 "rows_redacted": 0, "landing_files_rewritten": 0, "landing_lines_removed": 0,
                 "online_keys_deleted": 0, "bi_rows_deleted": 0, "manifests_superseded": 0, "files_vacuumed": None,
                 "ds": (request.get("requested_at") or now).date()}
        _save_audit(lake, audit)
    steps: dict[str, Any] = json.loads(audit["tables_json"])

    def done(step: str, info: Mapping[str, Any], **counters: int) -> None:
        steps[step] = dict(info)
        for k, v in counters.items():
            audit[k] = int(audit[k] or 0) + int(v)
        audit["tables_json"] = json.dumps(steps, sort_keys=True)
        _save_audit(lake, audit)
        if stop_after == step:
            raise KeyboardInterrupt(f"stopped after {step} (test)")

    # the subject's videos, before silver.videos loses them (the online store serves them by id)
    videos: list[str] = []
    if "online" not in steps and lake.exists("silver.videos"):
        videos = lake.read_arrow("silver.videos", columns=["video_id"],
                                 filter=pc.field("creator_id") == user).column("video_id").to_pylist()
    if "online" not in steps:
        n = _erase_online(config, user, videos)
        done("online", {"entities_deleted": n, "videos": len(videos)}, online_keys_deleted=n)
    affected_ds = sorted({d.isoformat() for d in lake.read_arrow(
        "gold.training_examples", columns=["ds"], filter=pc.field("user_id") == user).column("ds").to_pylist()}) \
        if "gold.training_examples" not in steps and lake.exists("gold.training_examples") else []
    for table, actions in POLICY.items():
        if table in steps:
            continue
        info = {"rows_deleted": 0, "rows_redacted": 0, "files_rewritten": 0, "bytes_rewritten": 0,
                "version": lake.version(table)}
        for action in actions:
            r = _apply(lake, table, action, user, rid)
            key_ = "rows_redacted" if action == "redact_creator" else "rows_deleted"
            info[key_] += r.rows
            info["files_rewritten"] += r.files_removed
            info["bytes_rewritten"] += r.bytes_added
            info["version"] = r.version if r.committed else info["version"]
        if table == "gold.training_examples":
            info["ds_affected"] = affected_ds
        done(table, info, rows_removed=info["rows_deleted"], rows_redacted=info["rows_redacted"])
    if "landing" not in steps:
        lr = rewrite_landing(config.paths.landing, [user])
        done("landing", lr, landing_files_rewritten=lr["files_rewritten"], landing_lines_removed=lr["lines_removed"])
    if "bi" not in steps:
        n = erase_bi(config, [user], key)
        done("bi", {"rows_deleted": n}, bi_rows_deleted=n)
    if "manifests" not in steps:
        ds_list = steps.get("gold.training_examples", {}).get("ds_affected", [])
        n = supersede_manifests(lake, config, ds_list, request_id=rid)
        done("manifests", {"superseded": n, "ds": ds_list}, manifests_superseded=n)
    _drop_request(lake, rid)
    audit["status"], audit["erased_at"] = "erased", _now()
    _save_audit(lake, audit)
    if retention == 0:
        vacuum_erasure(lake, audit, retention_hours=0, log=log)
    report = ErasureReport(rid, audit, noop=False)
    log(report.summary())
    return report


def _apply(lake: "Lake", table: str, action: Action, user: str, rid: str):
    meta = {"erasure": rid}
    if action == "delete_user":
        return lake.delete_rows(table, RowMatch("user_id", "in", (user,)), metadata=meta)
    if action == "delete_creator":
        return lake.delete_rows(table, RowMatch("creator_id", "in", (user,)), metadata=meta)
    if action == "redact_creator":
        return lake.redact(table, RowMatch("creator_id", "in", (user,)), columns=["creator_id"], metadata=meta)
    return lake.delete_rows(table, RowMatch("raw_line", "contains_any", (json.dumps(user),)), metadata=meta)


def _drop_request(lake: "Lake", rid: str) -> None:
    if lake.exists(REQUESTS):
        lake.delete_rows(REQUESTS, RowMatch("request_id", "in", (rid,)), metadata={"erasure": rid})


# ----------------------------------------------------------------------------- the other stores
def _erase_online(config: "Config", user: str, videos: Sequence[str]) -> int:
    from reelhouse.serving.writers import OnlineStoreError, open_writer

    osc = config.online_store
    if osc.type == "sqlite":
        from reelhouse.serving.writers import under_lake
        from reelhouse.objectstore import is_object_store_uri

        path = under_lake(osc.path, config.paths.lake)
        if is_object_store_uri(path):
            return 0
        import os

        if not os.path.exists(path):
            return 0
    ids = {"user": [user], "creator": [user], "videos": list(videos)}
    try:
        with open_writer(config) as writer:
            return sum(writer.delete_entities(view, join_key, ids[whose]) for view, (join_key, whose) in ONLINE.items())
    except OnlineStoreError as exc:
        raise ErasureError(f"online store: {exc}") from exc


def erase_bi(config: "Config", user_ids: Sequence[str], key: str) -> int:
    """Delete from the BI DuckDB file (when it exists) every row whose text column holds one of
    ``user_ids`` or its pseudonym (``sha256(key || ':' || id)``, ``dbt/macros/pseudonymise.sql``),
    in every schema (the marts and dbt-duckdb's copies of the source tables), then rewrite the
    file (``COPY FROM DATABASE``) so no freed block keeps a copy. Returns the rows deleted."""
    import os

    import duckdb

    from reelhouse.bi.dbt_runner import duckdb_path, pseudonym_key

    path = duckdb_path(config)
    if not path.exists():
        return 0
    values = list(user_ids) + [hashlib.sha256(f"{pseudonym_key(config)}:{u}".encode()).hexdigest() for u in user_ids]
    deleted = 0
    con = duckdb.connect(str(path))
    try:
        cols = con.execute(
            "SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            "WHERE t.table_type = 'BASE TABLE' AND c.data_type = 'VARCHAR' AND c.table_catalog = current_database()"
        ).fetchall()
        by_table: dict[tuple[str, str], list[str]] = {}
        for schema, table, col in cols:
            by_table.setdefault((schema, table), []).append(col)
        marks = ", ".join("?" * len(values))
        for (schema, table), cs in by_table.items():
            where = " OR ".join(f'"{c}" IN ({marks})' for c in cs)
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE {where}', values * len(cs)).fetchone()[0]
            if n:
                con.execute(f'DELETE FROM "{schema}"."{table}" WHERE {where}', values * len(cs))
                deleted += n
        if deleted:
            fresh = str(path) + ".erasure.tmp"
            if os.path.exists(fresh):
                os.remove(fresh)
            db = con.execute("SELECT current_database()").fetchone()[0]
            con.execute(f"ATTACH '{fresh}' AS erasure_fresh")
            con.execute(f'COPY FROM DATABASE "{db}" TO erasure_fresh')
            con.execute("DETACH erasure_fresh")
    finally:
        con.close()
    if deleted:
        os.replace(str(path) + ".erasure.tmp", path)
        wal = str(path) + ".wal"
        if os.path.exists(wal):
            os.remove(wal)
    return deleted


def _decompress(data: bytes) -> tuple[bytes, bool]:
    """The readable bytes of a (possibly truncated or corrupt) gzip member, and whether it was whole."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data)
        return out + d.flush(), d.eof
    except zlib.error:
        return b"", False


def _rewrite_lines(text: bytes, needles: Sequence[bytes], users: set[str]) -> tuple[bytes, int, int]:
    """(new content, lines removed, lines edited) of a JSON Lines payload."""
    out, removed, edited = [], 0, 0
    for line in text.splitlines(keepends=True):
        if not any(n in line for n in needles):
            out.append(line)
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            removed += 1  # unparseable and holding the id: it would only ever be quarantined
            continue
        if not isinstance(obj, dict) or obj.get("user_id") in users:
            removed += 1
            continue
        for k in [k for k, v in obj.items() if isinstance(v, str) and v in users]:
            del obj[k]  # e.g. creator_id of another user's event on the subject's video
        edited += 1
        out.append(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                   + (b"\n" if line.endswith(b"\n") else b""))
    return b"".join(out), removed, edited


def rewrite_landing(landing_root: str, user_ids: Sequence[str]) -> dict[str, int]:
    """Rewrite every landing file holding one of ``user_ids`` (as a JSON string) without the
    users' own lines, and without their id in other users' lines (the field is removed). gzip
    files stay gzip; a corrupt one is rewritten from its readable part. A local file is replaced
    atomically (write beside, rename); an object-store key is overwritten with one PUT. Returns
    ``{"files_scanned", "files_rewritten", "lines_removed", "lines_edited"}``."""
    from reelhouse.objectstore import is_object_store_uri, join, list_files, read_bytes, write_bytes
    from reelhouse.sources.contract import LANDING_EVENTS_DIR

    import os

    needles = [json.dumps(u).encode("utf-8") for u in user_ids]
    users = set(user_ids)
    base = join(str(landing_root), LANDING_EVENTS_DIR)
    stats = {"files_scanned": 0, "files_rewritten": 0, "lines_removed": 0, "lines_edited": 0}
    for rel, _size in list_files(base):
        name = rel.rsplit("/", 1)[-1]
        if not (name.endswith(".jsonl") or name.endswith(".jsonl.gz")):
            continue
        uri = join(base, rel)
        raw = read_bytes(uri)
        gz = name.endswith(".gz")
        text, _whole = _decompress(raw) if gz else (raw, True)
        stats["files_scanned"] += 1
        if not any(n in text for n in needles):
            continue
        new, removed, edited = _rewrite_lines(text, needles, users)
        payload = gzip.compress(new, mtime=0) if gz else new
        if is_object_store_uri(uri):
            write_bytes(uri, payload)
        else:
            tmp = os.path.join(os.path.dirname(uri), "." + name + ".erasure")
            with open(tmp, "wb") as fh:
                fh.write(payload)
            os.replace(tmp, uri)
        stats["files_rewritten"] += 1
        stats["lines_removed"] += removed
        stats["lines_edited"] += edited
    return stats


def supersede_manifests(lake: "Lake", config: "Config", ds_list: Iterable[str], *, request_id: str) -> int:
    """Mark the training-dataset manifests of the ``ds_list`` days superseded by erasure
    ``request_id``: ``manifest_json`` (table row and JSON file) gains ``"superseded": {"reason":
    "erasure", "request_id", "at"}`` — the content hash they record no longer reproduces. Returns
    the manifests marked (those already marked by this request are skipped)."""
    from datetime import date

    from reelhouse.ml.datasets import MANIFESTS_TABLE, manifest_dir
    from reelhouse.objectstore import exists, join, write_bytes

    days = [date.fromisoformat(d) for d in ds_list]
    if not days or not lake.exists(MANIFESTS_TABLE):
        return 0
    t = lake.read_arrow(MANIFESTS_TABLE, filter=pc.field("ds").isin(days))
    rows = []
    at = _now().isoformat()
    for r in t.to_pylist():
        m = json.loads(r["manifest_json"])
        if (m.get("superseded") or {}).get("request_id") == request_id:
            continue
        m["superseded"] = {"reason": "erasure", "request_id": request_id, "at": at}
        r["manifest_json"] = json.dumps(m)
        rows.append(r)
        path = join(manifest_dir(config.paths.lake, r["ds"]), f"{r['build_id']}.json")
        if exists(path):
            write_bytes(path, (json.dumps(m, indent=2) + "\n").encode("utf-8"))
    if rows:
        spec = get_table(MANIFESTS_TABLE)
        lake.merge(pa.Table.from_pylist(rows, schema=spec.arrow_schema()), MANIFESTS_TABLE, on=["build_id"])
    return len(rows)


def erasures_applied(lake: "Lake") -> dict[str, Any]:
    """What a new dataset build records of the erasures before it: ``{"count", "latest_request_id",
    "latest_erased_at"}`` of the ``erased``/``complete`` rows of ``ops.erasures``."""
    if not lake.exists(AUDIT):
        return {"count": 0, "latest_request_id": None, "latest_erased_at": None}
    t = lake.read_arrow(AUDIT, columns=["request_id", "status", "erased_at"],
                        filter=pc.field("status").isin(["erased", "complete"]))
    if t.num_rows == 0:
        return {"count": 0, "latest_request_id": None, "latest_erased_at": None}
    latest = max(t.to_pylist(), key=lambda r: r["erased_at"])
    return {"count": t.num_rows, "latest_request_id": latest["request_id"],
            "latest_erased_at": latest["erased_at"].isoformat()}


# ----------------------------------------------------------------------------- vacuum
def vacuum_erasure(lake: "Lake", audit: dict[str, Any], *, retention_hours: int,
                   log: Callable[[str], None] = print) -> int:
    """VACUUM every table the erasure rewrote (``tables_json`` entries with rows), plus the
    requests table, with ``retention_hours``; mark the audit row ``complete``. Returns the files
    deleted."""
    steps = json.loads(audit["tables_json"])
    tables = [t for t, v in steps.items() if t in POLICY and (v.get("rows_deleted") or v.get("rows_redacted"))]
    if "gold.training_examples" in tables or steps.get("manifests", {}).get("superseded"):
        tables.append("ml.dataset_manifests")
    tables += [REQUESTS]
    files = 0
    for t in dict.fromkeys(tables):
        if lake.exists(t):
            files += len(lake.vacuum(t, retention_hours=retention_hours, dry_run=False))
    audit["status"], audit["completed_at"], audit["files_vacuumed"] = "complete", _now(), files
    _save_audit(lake, audit)
    return files


def vacuum_due(lake: "Lake", config: "Config", *, now: datetime | None = None,
               log: Callable[[str], None] = print) -> list[str]:
    """Complete the erasures whose retention has passed (``erased_at + retention_hours <= now``):
    :func:`vacuum_erasure` with their retention. Returns their request ids."""
    if not lake.exists(AUDIT):
        return []
    now = now or _now()
    due = [r for r in lake.read_arrow(AUDIT, filter=pc.field("status") == "erased").to_pylist()
           if r["erased_at"] + timedelta(hours=int(r["retention_hours"])) <= now]
    for r in due:
        n = vacuum_erasure(lake, r, retention_hours=int(r["retention_hours"]), log=log)
        log(f"erasure {r['request_id']}: complete — {n} files of old versions vacuumed")
    return [r["request_id"] for r in due]


def process_requests(lake: "Lake", config: "Config", *, retention_hours: int | None = None,
                     now: datetime | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """What the privacy DAG runs daily: erase every pending request (oldest first), then vacuum
    the erasures whose retention has passed. Returns ``{"erased", "noop", "completed", "overdue",
    "seconds"}`` (``overdue``: requests older than ``privacy.deadline_days``, listed by id)."""
    t0 = time.perf_counter()
    now = now or _now()
    erased, noop, overdue = [], [], []
    for req in pending_requests(lake):
        if req["requested_at"] + timedelta(days=config.privacy.deadline_days) < now:
            overdue.append(req["request_id"])
        r = erase(lake, config, req, retention_hours=retention_hours, log=log)
        (noop if r.noop else erased).append(r.request_id)
    completed = vacuum_due(lake, config, now=now, log=log)
    out = {"erased": erased, "noop": noop, "completed": completed, "overdue": overdue,
           "seconds": round(time.perf_counter() - t0, 1)}
    log(f"privacy: {len(erased)} erased, {len(noop)} already done, {len(completed)} completed by vacuum"
        + (f", {len(overdue)} past the {config.privacy.deadline_days}-day deadline" if overdue else "")
        + f" in {out['seconds']} s")
    return out
