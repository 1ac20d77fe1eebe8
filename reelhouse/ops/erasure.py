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
    t = lake.read_arrow(AUDIT, filter=RowMatch("request_id", "in", tuple(request_ids)).arrow())
    return {r["request_id"]: r for r in t.to_pylist()}


# ----------------------------------------------------------------------------- a batch of erasures
@dataclass
class ErasureReport:
    """What one request's erasure did (its audit row, as a dict), and whether it was a no-op."""

    request_id: str
    audit: dict[str, Any]
    noop: bool

    def summary(self) -> str:
        """One line for a task log (no id of the subject in it: the request id only)."""
        a = self.audit
        if self.noop:
            return f"erasure {self.request_id}: already {a['status']} — nothing to do"
        touched = sum(1 for k, v in json.loads(a["tables_json"]).items()
                      if k in POLICY and (v.get("rows_deleted") or v.get("rows_redacted")))
        return (f"erasure {self.request_id}: {a['status']} — {a['rows_removed']} rows deleted, {a['rows_redacted']} "
                f"redacted in {touched} tables; {a['landing_files_rewritten']} landing files rewritten "
                f"({a['landing_lines_removed']} lines); {a['online_keys_deleted']} online entities, "
                f"{a['bi_rows_deleted']} BI rows deleted; {a['manifests_superseded']} manifests superseded")


def _new_audit(request: Mapping[str, Any], key: str, retention: int, now: datetime) -> dict[str, Any]:
    requested = request.get("requested_at") or now
    return {"request_id": request["request_id"], "subject_ref": subject_ref(request["user_id"], key),
            "status": "running", "requested_at": requested, "started_at": now, "erased_at": None,
            "completed_at": None, "retention_hours": retention, "tables_json": "{}", "rows_removed": 0,
            "rows_redacted": 0, "landing_files_rewritten": 0, "landing_lines_removed": 0, "online_keys_deleted": 0,
            "bi_rows_deleted": 0, "manifests_superseded": 0, "files_vacuumed": None, "ds": requested.date()}


def _save_audits(lake: "Lake", rows: Iterable[Mapping[str, Any]]) -> None:
    rows = list(rows)
    if rows:
        spec = get_table(AUDIT)
        lake.merge(pa.Table.from_pylist([{c: r.get(c) for c in spec.column_names} for r in rows],
                                        schema=spec.arrow_schema()), AUDIT, on=["request_id"])


def _per_value(lake: "Lake", table: str, column: str, values: Sequence[str]) -> dict[str, int]:
    """Rows of ``table`` per value of ``column`` among ``values`` (0 for absent ones)."""
    out = dict.fromkeys(values, 0)
    if not lake.exists(table):
        return out
    t = lake.read_arrow(table, columns=[column], filter=RowMatch(column, "in", tuple(values)).arrow())
    for v in pc.value_counts(t.column(column)).to_pylist() if t.num_rows else []:
        out[v["values"]] = v["counts"]
    return out


def _per_needle(lake: "Lake", table: str, column: str, users: Sequence[str]) -> dict[str, int]:
    out = dict.fromkeys(users, 0)
    if not lake.exists(table):
        return out
    needles = {u: json.dumps(u) for u in users}
    t = lake.read_arrow(table, columns=[column], filter=RowMatch(column, "contains_any", tuple(needles.values())).arrow())
    for text in t.column(column).to_pylist():
        for u, n in needles.items():
            if n in (text or ""):
                out[u] += 1
    return out


def erase(lake: "Lake", config: "Config", request: Mapping[str, Any], *, retention_hours: int | None = None,
          stop_after: str | None = None, log: Callable[[str], None] = print) -> ErasureReport:
    """Carry out one request (a row of ``ops.erasure_requests``): :func:`erase_batch` of one."""
    return erase_batch(lake, config, [request], retention_hours=retention_hours, stop_after=stop_after, log=log)[0]


def erase_batch(lake: "Lake", config: "Config", requests: Sequence[Mapping[str, Any]], *,
                retention_hours: int | None = None, defer_vacuum: bool = False, stop_after: str | None = None,
                log: Callable[[str], None] = print) -> list[ErasureReport]:
    """Carry out ``requests`` (rows of ``ops.erasure_requests``: ``request_id``, ``user_id``,
    ``requested_at``) together: every step of the module docstring, each table rewritten once for
    all of them (one Delta DELETE/UPDATE with every id: a hundred users cost one rewrite of the
    files holding any of them, not a hundred), each request's audit row updated after every step
    with its own counts (rows per user are counted before the rewrite).

    ``retention_hours``: how long the deleted rows stay readable by time travel (default
    ``privacy.erasure_retention_hours``); 0 vacuums the touched tables at once (tests, an urgent
    request: concurrent readers of old versions fail) unless ``defer_vacuum`` (then
    :func:`vacuum_due` does it on its next run). ``stop_after``: a step name after which to
    raise ``KeyboardInterrupt`` (tests of resuming). Requests whose audit row says ``erased`` or
    ``complete`` are no-ops; a ``running`` one resumes after its last finished step. Returns one
    :class:`ErasureReport` per request, in order. Raises :class:`ErasureError` when the online
    store cannot be reached (the audit rows stay ``running``; a rerun resumes)."""
    key = _key(config)
    retention = config.privacy.erasure_retention_hours if retention_hours is None else retention_hours
    existing = _audit_rows(lake, [r["request_id"] for r in requests])
    reports: dict[str, ErasureReport] = {}
    audits: dict[str, dict[str, Any]] = {}
    users: dict[str, str] = {}  # request id -> user id
    now = _now()
    for req in requests:
        rid = req["request_id"]
        a = existing.get(rid)
        if a and a["status"] in ("erased", "complete"):
            _drop_request(lake, rid)
            reports[rid] = ErasureReport(rid, a, noop=True)
            continue
        audits[rid] = a or _new_audit(req, key, retention, now)
        users[rid] = req["user_id"]
    if not audits:
        return [reports[r["request_id"]] for r in requests]
    _save_audits(lake, [a for rid, a in audits.items() if rid not in existing])
    steps = {rid: json.loads(a["tables_json"]) for rid, a in audits.items()}

    def todo(step: str) -> list[str]:
        return [rid for rid in audits if step not in steps[rid]]

    clock = [time.perf_counter()]

    def done(step: str, per_request: Mapping[str, Mapping[str, Any]], counter: Mapping[str, str]) -> None:
        seconds = round(time.perf_counter() - clock[0], 3)  # the step's wall time, for the whole batch
        for rid, info in per_request.items():
            steps[rid][step] = {**info, "seconds": seconds}
            for audit_key, info_key in counter.items():
                audits[rid][audit_key] = int(audits[rid][audit_key] or 0) + int(info.get(info_key, 0))
            audits[rid]["tables_json"] = json.dumps(steps[rid], sort_keys=True)
        _save_audits(lake, [audits[rid] for rid in per_request])
        if stop_after == step:
            raise KeyboardInterrupt(f"stopped after {step} (test)")
        clock[0] = time.perf_counter()

    # 1. the online store (first: the subjects' videos are looked up in silver.videos)
    rids = todo("online")
    if rids:
        per = {}
        for rid in rids:
            videos = lake.read_arrow("silver.videos", columns=["video_id"],
                                     filter=pc.field("creator_id") == users[rid]).column("video_id").to_pylist() \
                if lake.exists("silver.videos") else []
            per[rid] = {"entities_deleted": _erase_online(config, users[rid], videos), "videos": len(videos)}
        done("online", per, {"online_keys_deleted": "entities_deleted"})
    # the days whose training examples hold a subject (their manifests will be superseded)
    affected: dict[str, list[str]] = {}
    if todo("gold.training_examples") and lake.exists("gold.training_examples"):
        t = lake.read_arrow("gold.training_examples", columns=["user_id", "ds"],
                            filter=RowMatch("user_id", "in", tuple(users[r] for r in todo("gold.training_examples"))).arrow())
        for r in t.group_by(["user_id", "ds"]).aggregate([]).to_pylist():
            affected.setdefault(r["user_id"], []).append(r["ds"].isoformat())
    # 2. the lake, bronze first
    for table, actions in POLICY.items():
        rids = todo(table)
        if not rids:
            continue
        ids = [users[r] for r in rids]
        per = {r: {"rows_deleted": 0, "rows_redacted": 0} for r in rids}
        batch = {"files_rewritten": 0, "bytes_rewritten": 0, "version": lake.version(table), "batch_size": len(rids)}
        for action in actions:
            column = "user_id" if action == "delete_user" else ("raw_line" if action == "delete_raw" else "creator_id")
            counts = (_per_needle(lake, table, column, ids) if action == "delete_raw"
                      else _per_value(lake, table, column, ids))
            which = "rows_redacted" if action == "redact_creator" else "rows_deleted"
            for r in rids:
                per[r][which] += counts[users[r]]
            if not any(counts.values()):
                continue
            res = _apply(lake, table, action, ids, ",".join(rids))
            batch["files_rewritten"] += res.files_removed
            batch["bytes_rewritten"] += res.bytes_added
            batch["version"] = res.version
        if table == "gold.training_examples":
            for r in rids:
                per[r]["ds_affected"] = sorted(affected.get(users[r], []))
        done(table, {r: {**per[r], **batch} for r in rids}, {"rows_removed": "rows_deleted", "rows_redacted": "rows_redacted"})
    # 3. upstream copies and downstream stores
    rids = todo("landing")
    if rids:
        per_user = rewrite_landing(config.paths.landing, [users[r] for r in rids])
        done("landing", {r: per_user[users[r]] for r in rids},
             {"landing_files_rewritten": "files_rewritten", "landing_lines_removed": "lines_removed"})
    rids = todo("bi")
    if rids:
        per_user = erase_bi(config, [users[r] for r in rids], key)
        done("bi", {r: {"rows_deleted": per_user[users[r]]} for r in rids}, {"bi_rows_deleted": "rows_deleted"})
    rids = todo("manifests")
    if rids:
        per = {}
        for r in rids:
            ds_list = steps[r].get("gold.training_examples", {}).get("ds_affected", [])
            per[r] = {"superseded": supersede_manifests(lake, config, ds_list, request_id=r), "ds": ds_list}
        done("manifests", per, {"manifests_superseded": "superseded"})
    # 4. the requests leave the queue; the rows are gone from every current snapshot
    if lake.exists(REQUESTS):
        lake.delete_rows(REQUESTS, RowMatch("request_id", "in", tuple(audits)), metadata={"erasure": "batch"})
    erased_at = _now()
    for a in audits.values():
        a["status"], a["erased_at"] = "erased", erased_at
    _save_audits(lake, audits.values())
    if retention == 0 and not defer_vacuum:
        vacuum_erasures(lake, list(audits.values()), retention_hours=0, log=log)
    for rid, a in audits.items():
        reports[rid] = ErasureReport(rid, a, noop=False)
        log(reports[rid].summary())
    return [reports[r["request_id"]] for r in requests]


def _apply(lake: "Lake", table: str, action: Action, users: Sequence[str], rids: str):
    meta = {"erasure": rids if len(rids) <= 200 else f"{rids[:200]}…"}
    ids = tuple(users)
    if action == "delete_user":
        return lake.delete_rows(table, RowMatch("user_id", "in", ids), metadata=meta)
    if action == "delete_creator":
        return lake.delete_rows(table, RowMatch("creator_id", "in", ids), metadata=meta)
    if action == "redact_creator":
        return lake.redact(table, RowMatch("creator_id", "in", ids), columns=["creator_id"], metadata=meta)
    return lake.delete_rows(table, RowMatch("raw_line", "contains_any", tuple(json.dumps(u) for u in ids)),
                            metadata=meta)


def _drop_request(lake: "Lake", rid: str) -> None:
    if lake.exists(REQUESTS):
        lake.delete_rows(REQUESTS, RowMatch("request_id", "in", (rid,)), metadata={"erasure": rid})


# ----------------------------------------------------------------------------- the other stores
def _erase_online(config: "Config", user: str, videos: Sequence[str]) -> int:
    import os

    from reelhouse.objectstore import is_object_store_uri
    from reelhouse.serving.writers import OnlineStoreError, open_writer, under_lake

    osc = config.online_store
    if osc.type == "sqlite":
        path = under_lake(osc.path, config.paths.lake)
        if is_object_store_uri(path) or not os.path.exists(path):
            return 0
    ids = {"user": [user], "creator": [user], "videos": list(videos)}
    try:
        with open_writer(config) as writer:
            return sum(writer.delete_entities(view, join_key, ids[whose]) for view, (join_key, whose) in ONLINE.items())
    except OnlineStoreError as exc:
        raise ErasureError(f"online store: {exc}") from exc


def erase_bi(config: "Config", user_ids: Sequence[str], key: str) -> dict[str, int]:
    """Delete from the BI DuckDB file (when it exists) every row whose text column holds one of
    ``user_ids`` or its pseudonym (``sha256(key || ':' || id)``, ``dbt/macros/pseudonymise.sql``),
    in every schema (the marts and dbt-duckdb's copies of the source tables), then rewrite the
    file (``COPY FROM DATABASE``) so no freed block keeps a copy. Returns rows deleted per user
    (a row holding two subjects counts for both)."""
    import os

    import duckdb

    from reelhouse.bi.dbt_runner import duckdb_path, pseudonym_key

    out = dict.fromkeys(user_ids, 0)
    path = duckdb_path(config)
    if not path.exists():
        return out
    pkey = pseudonym_key(config)
    owner = {u: u for u in user_ids} | {hashlib.sha256(f"{pkey}:{u}".encode()).hexdigest(): u for u in user_ids}
    values = list(owner)
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
        con.execute("CREATE TEMP TABLE erasure_values (v VARCHAR)")
        con.executemany("INSERT INTO erasure_values VALUES (?)", [(v,) for v in values])
        for (schema, table), cs in by_table.items():
            where = " OR ".join(f'"{c}" IN (SELECT v FROM erasure_values)' for c in cs)
            hits = con.execute(
                f'SELECT e.v, count(*) FROM "{schema}"."{table}" t JOIN erasure_values e ON '
                + " OR ".join(f't."{c}" = e.v' for c in cs) + " GROUP BY e.v").fetchall()
            if hits:
                for v, n in hits:
                    out[owner[v]] += n
                deleted += con.execute(f'DELETE FROM "{schema}"."{table}" WHERE {where}').fetchone()[0]
        con.execute("DROP TABLE erasure_values")
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
    return out


def _decompress(data: bytes, chunk: int = 1 << 16) -> bytes:
    """The readable bytes of a (possibly truncated or corrupt) gzip member: decompressed chunk by
    chunk, so a corrupt block keeps everything before it (one call would return nothing)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = []
    try:
        for i in range(0, len(data), chunk):
            out.append(d.decompress(data[i:i + chunk]))
            if d.eof:
                break
        out.append(d.flush())
    except zlib.error:
        pass
    return b"".join(out)


def _needle_pattern(needles: Mapping[str, bytes]) -> str:
    """One RE2 alternation of the quoted ids (pyarrow's regex engine: a DFA, linear in the text
    whatever the number of ids)."""
    import re

    return "|".join(re.escape(n.decode("utf-8")) for n in needles.values())


def _rewrite_lines(text: bytes, needles: Mapping[str, bytes]) -> tuple[bytes, dict[str, dict[str, int]]]:
    """(new content, per user {"lines_removed", "lines_edited"}) of a JSON Lines payload. The lines
    holding any id are found in one vectorised regex pass (Arrow); only those are parsed."""
    counts = {u: {"lines_removed": 0, "lines_edited": 0} for u in needles}
    lines = text.split(b"\n")
    arr = pa.array(lines, pa.binary())
    hit = pc.match_substring_regex(arr, _needle_pattern(needles)).to_numpy(
        zero_copy_only=False)
    for i in hit.nonzero()[0].tolist():
        line = lines[i]
        present = [u for u, n in needles.items() if n in line]
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):  # unparseable and holding an id: it would only ever be quarantined
            for u in present:
                counts[u]["lines_removed"] += 1
            lines[i] = None
            continue
        if obj.get("user_id") in needles:
            counts[obj["user_id"]]["lines_removed"] += 1
            lines[i] = None
            continue
        for k in [k for k, v in obj.items() if isinstance(v, str) and v in needles]:
            counts[obj[k]]["lines_edited"] += 1
            del obj[k]  # e.g. creator_id of another user's event on the subject's video
        lines[i] = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"\n".join(x for x in lines if x is not None), counts


def _has_any(text: bytes, needles: Mapping[str, bytes]) -> bool:
    return bool(pc.match_substring_regex(pa.array([text], pa.binary()),
                                         _needle_pattern(needles))[0].as_py())


def rewrite_landing(landing_root: str, user_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Rewrite every landing file holding one of ``user_ids`` (as a JSON string) without the
    users' own lines, and without their id in other users' lines (the field is removed). gzip
    files stay gzip; a corrupt one is rewritten from its readable part. A local file is replaced
    atomically (write beside, rename); an object-store key is overwritten with one PUT. Files are
    scanned in parallel threads (zlib, the regex pass and the writes release the GIL). Returns
    per user ``{"files_scanned", "files_rewritten", "lines_removed", "lines_edited"}``
    (``files_rewritten``: files that held the user)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from reelhouse.objectstore import is_object_store_uri, join, list_files, read_bytes, write_bytes
    from reelhouse.sources.contract import LANDING_EVENTS_DIR

    needles = {u: json.dumps(u).encode("utf-8") for u in user_ids}
    base = join(str(landing_root), LANDING_EVENTS_DIR)
    files = [rel for rel, _size in list_files(base)
             if rel.rsplit("/", 1)[-1].endswith((".jsonl", ".jsonl.gz"))]

    def one(rel: str) -> dict[str, dict[str, int]] | None:
        name = rel.rsplit("/", 1)[-1]
        uri = join(base, rel)
        raw = read_bytes(uri)
        gz = name.endswith(".gz")
        text = _decompress(raw) if gz else raw
        if not _has_any(text, needles):
            return None
        new, counts = _rewrite_lines(text, needles)
        payload = gzip.compress(new, compresslevel=6, mtime=0) if gz else new
        if is_object_store_uri(uri):
            write_bytes(uri, payload)
        else:
            tmp = os.path.join(os.path.dirname(uri), "." + name + ".erasure")
            with open(tmp, "wb") as fh:
                fh.write(payload)
            os.replace(tmp, uri)
        return counts

    stats = {u: {"files_scanned": len(files), "files_rewritten": 0, "lines_removed": 0, "lines_edited": 0}
             for u in user_ids}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        for counts in pool.map(one, files):
            for u, c in (counts or {}).items():
                if c["lines_removed"] or c["lines_edited"]:
                    stats[u]["files_rewritten"] += 1
                    stats[u]["lines_removed"] += c["lines_removed"]
                    stats[u]["lines_edited"] += c["lines_edited"]
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
                        filter=RowMatch("status", "in", ("erased", "complete")).arrow())
    if t.num_rows == 0:
        return {"count": 0, "latest_request_id": None, "latest_erased_at": None}
    latest = max(t.to_pylist(), key=lambda r: r["erased_at"])
    return {"count": t.num_rows, "latest_request_id": latest["request_id"],
            "latest_erased_at": latest["erased_at"].isoformat()}


# ----------------------------------------------------------------------------- vacuum
def vacuum_erasures(lake: "Lake", audits: Sequence[dict[str, Any]], *, retention_hours: int,
                    log: Callable[[str], None] = print) -> int:
    """VACUUM every table these erasures rewrote (``tables_json`` entries with rows), the
    manifests table when manifests were superseded, and the requests table, with
    ``retention_hours``; mark the audit rows ``complete``. Returns the files deleted."""
    tables: list[str] = []
    for a in audits:
        steps = json.loads(a["tables_json"])
        tables += [t for t, v in steps.items() if t in POLICY and (v.get("rows_deleted") or v.get("rows_redacted"))]
        if (steps.get("manifests") or {}).get("superseded"):
            tables.append("ml.dataset_manifests")
    files = 0
    for t in dict.fromkeys(tables + [REQUESTS]):
        if lake.exists(t):
            files += len(lake.vacuum(t, retention_hours=retention_hours, dry_run=False))
    completed = _now()
    for a in audits:
        a["status"], a["completed_at"], a["files_vacuumed"] = "complete", completed, files
    _save_audits(lake, audits)
    return files


def vacuum_due(lake: "Lake", config: "Config", *, now: datetime | None = None,
               log: Callable[[str], None] = print) -> list[str]:
    """Complete the erasures whose retention has passed (``erased_at + retention_hours <= now``):
    :func:`vacuum_erasures` with the smallest retention among them. Returns their request ids."""
    if not lake.exists(AUDIT):
        return []
    now = now or _now()
    due = [r for r in lake.read_arrow(AUDIT, filter=pc.field("status") == "erased").to_pylist()
           if r["erased_at"] + timedelta(hours=int(r["retention_hours"])) <= now]
    if due:
        hours = min(int(r["retention_hours"]) for r in due)
        n = vacuum_erasures(lake, due, retention_hours=hours, log=log)
        log(f"privacy: {len(due)} erasures complete — {n} files of old versions vacuumed (retention {hours} h)")
    return [r["request_id"] for r in due]


def process_requests(lake: "Lake", config: "Config", *, retention_hours: int | None = None,
                     defer_vacuum: bool = False, now: datetime | None = None,
                     log: Callable[[str], None] = print) -> dict[str, Any]:
    """What the privacy DAG runs daily: erase every pending request in one batch
    (:func:`erase_batch`), then vacuum the erasures whose retention has passed. Returns
    ``{"erased", "noop", "completed", "overdue", "seconds"}`` (``overdue``: requests older than
    ``privacy.deadline_days``, listed by id)."""
    t0 = time.perf_counter()
    pending = pending_requests(lake)
    overdue = [r["request_id"] for r in pending
               if r["requested_at"] + timedelta(days=config.privacy.deadline_days) < (now or _now())]
    reports = erase_batch(lake, config, pending, retention_hours=retention_hours, defer_vacuum=defer_vacuum,
                          log=log) if pending else []
    erased = [r.request_id for r in reports if not r.noop]
    noop = [r.request_id for r in reports if r.noop]
    completed = vacuum_due(lake, config, now=now, log=log)
    out = {"erased": erased, "noop": noop, "completed": completed, "overdue": overdue,
           "seconds": round(time.perf_counter() - t0, 1)}
    log(f"privacy: {len(erased)} requests erased, {len(noop)} already done, {len(completed)} completed by vacuum"
        + (f", {len(overdue)} past the {config.privacy.deadline_days}-day deadline" if overdue else "")
        + f" in {out['seconds']} s")
    return out
