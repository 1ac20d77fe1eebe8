"""The online feature store: Feast (SQLite embedded, Redis in production), fed by the publish step.

What the feed's ranking service reads is whatever Feast's ``get_online_features`` returns; this
module puts the gated gold feature rows of a date there, in Feast's own storage format, fast.

- :func:`repo_config` / :func:`feature_store`: a Feast ``RepoConfig`` / ``FeatureStore`` built from
  reelhouse's configuration (``online_store:`` in ``conf/``, chosen by ``REELHOUSE_ENV``), with the
  definitions of ``reelhouse/serving/feature_views.py`` applied to the registry.
- :func:`publish`: the nightly publish step for one date. Refuses a date whose quality gate did
  not pass (:class:`GateNotPassedError`, nothing written). For every feature view it reads the
  date's partition of the gold table (delta-rs, pinned version), encodes keys and values
  column-at-a-time (:mod:`reelhouse.serving.feast_encoding`) and writes them:

  * **Redis**: batches of ``batch_rows`` entities per ``EVALSHA`` of one Lua script, pipelined.
    Per entity the script compares the row's feature_time with the one already published (a
    per-view sorted set ``reelhouse:<project>:published:<view>``, member = Redis key, score =
    feature_time in ms) and writes the hash fields only when the row is not older — so a rerun of
    an older date never overwrites newer values, and a rerun of the same date rewrites the same
    values (idempotent). Feast's own writer (``RedisOnlineStore.online_write_batch``) builds one
    protobuf per value in Python and skips equal timestamps; see README "Online store" for the
    measured difference.
  * **SQLite**: one ``INSERT … ON CONFLICT DO UPDATE … WHERE excluded.event_ts >= event_ts`` per
    feature value into Feast's table ``<project>_<view>``.

  Then it expires entities whose published feature_time is older than the date's feature_time
  minus the view's TTL (``online_store.ttl_days``), and records one row per view in
  ``ops.online_publishes``.

Errors: :class:`GateNotPassedError` (gate blocked or never ran for the date),
:class:`OnlineStoreError` (the store is unreachable or rejected a write; the message names the
view and how many batches had been written — a rerun completes the date).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reelhouse.serving import feast_encoding as fe

if TYPE_CHECKING:  # pragma: no cover
    from feast import FeatureStore, RepoConfig

    from reelhouse.config import Config
    from reelhouse.lake import Lake

PUBLISHES_TABLE = "ops.online_publishes"


class OnlineStoreError(RuntimeError):
    """The online store could not be reached or rejected a write."""


class GateNotPassedError(RuntimeError):
    """The date's quality gate blocked it or never ran: nothing is published."""


# ------------------------------------------------------------------ Feast configuration
def _under_lake(path: str, lake_root: str) -> str:
    if "://" in path or Path(path).is_absolute():
        return path
    return str(Path(lake_root) / path)


def repo_config(config: "Config") -> "RepoConfig":
    """Feast's ``RepoConfig`` for this environment: project, local provider, a file registry and
    the SQLite or Redis online store of ``config.online_store`` (entity key serialization v3)."""
    from feast import RepoConfig

    osc = config.online_store
    if osc.type == "redis":
        online: dict[str, Any] = {"type": "redis", "connection_string": osc.connection_string}
        if osc.key_ttl_seconds:
            online["key_ttl_seconds"] = osc.key_ttl_seconds
    else:
        online = {"type": "sqlite", "path": _under_lake(osc.path, config.paths.lake)}
    registry = _under_lake(osc.registry, config.paths.lake)
    if "://" not in registry:
        Path(registry).parent.mkdir(parents=True, exist_ok=True)
    if online["type"] == "sqlite":
        Path(online["path"]).parent.mkdir(parents=True, exist_ok=True)
    return RepoConfig(
        project=osc.project,
        provider="local",
        registry={"registry_type": "file", "path": registry, "cache_ttl_seconds": 60},
        online_store=online,
        offline_store={"type": "dask"},
        entity_key_serialization_version=3,
        repo_path=Path(config.paths.lake),
    )


def feature_store(config: "Config", *, apply: bool = True) -> "FeatureStore":
    """A Feast ``FeatureStore`` on this environment's registry and online store. With ``apply``
    (default) the definitions of ``reelhouse/serving/feature_views.py`` are applied first (idempotent:
    creates the registry and the SQLite tables on first use)."""
    import logging

    from feast import FeatureStore

    from reelhouse.serving.feature_views import build

    logging.getLogger("feast").setLevel(logging.WARNING)
    store = FeatureStore(config=repo_config(config))
    if apply:
        store.apply(build(config.paths.lake, ttl_days=config.online_store.ttl_days))
    return store


# ------------------------------------------------------------------ encoding a partition
@dataclass
class EncodedBatch:
    """One batch of a feature view's rows in Feast's formats (n rows).

    ``keys``: Redis keys (with project) or SQLite entity
    keys; ``event_ms``: feature_time, ms since the epoch (UTC), int64 (n,); ``ts``: serialised
    Timestamp protos; ``values``: one binary array of serialised Value protos per feature.
    """

    keys: pa.Array
    event_ms: np.ndarray
    ts: pa.Array
    values: list[pa.Array]

    def __len__(self) -> int:
        return len(self.keys)


def encode_batch(batch: pa.RecordBatch | pa.Table, *, join_key: str, features: Sequence[str],
                 project: str | None) -> EncodedBatch:
    """Encode gold feature rows for the online store. ``batch`` must hold ``join_key``,
    ``feature_time`` (timestamp, UTC) and every column in ``features``. ``project`` appended to
    keys (Redis) or not (SQLite, ``None``). Raises ``ValueError`` on a null key or feature_time."""
    ids = batch.column(join_key)
    ft = batch.column("feature_time")
    if ft.null_count:
        raise ValueError(f"{ft.null_count} row(s) without feature_time; cannot publish them")
    if isinstance(ft, pa.ChunkedArray):
        ft = ft.combine_chunks()
    us = ft.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy()
    seconds, micros = np.divmod(us, 1_000_000)
    return EncodedBatch(
        keys=fe.entity_keys(ids, join_key, project=project),
        event_ms=us // 1000,
        ts=fe.timestamps(seconds, micros * 1000),
        values=[fe.encode_values(batch.column(f)) for f in features],
    )


# ------------------------------------------------------------------ Redis writer
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_B = lambda b: pa.scalar(b, pa.binary())  # noqa: E731


def _resp(arr: pa.Array) -> pa.Array:
    """RESP bulk strings (``$<len>\\r\\n<bytes>\\r\\n``) of a binary array, element-wise."""
    lens = pc.binary_length(arr).cast(pa.string()).cast(pa.binary())
    return pc.binary_join_element_wise(_B(b"$"), lens, _B(b"\r\n"), arr, _B(b"\r\n"), b"")


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def _slices(arr: pa.Array, bounds: Iterable[tuple[int, int]]) -> Iterable[memoryview]:
    """Zero-copy views of the concatenated bytes of rows [i, j) of a binary array."""
    width = np.int64 if pa.types.is_large_binary(arr.type) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset: arr.offset + len(arr) + 1]
    data = memoryview(arr.buffers()[2]) if arr.buffers()[2] is not None else memoryview(b"")
    for i, j in bounds:
        yield data[int(offsets[i]): int(offsets[j])]


class _ReplyCounter:
    """Reads the replies of pipelined commands that each answer with one line (integers, simple
    strings, errors) straight from the socket, so a million replies cost a few ``recv`` calls
    instead of a million parses. Raises :class:`OnlineStoreError` on the first error reply."""

    def __init__(self, sock: Any):
        self.sock = sock
        self.pending = 0
        self.tail = b""

    def _consume(self, data: bytes) -> None:
        buf = self.tail + data
        cut = buf.rfind(b"\r\n")
        if cut < 0:
            self.tail = buf
            return
        lines, self.tail = buf[: cut + 2], buf[cut + 2:]
        if lines.startswith(b"-") or b"\n-" in lines:
            at = 0 if lines.startswith(b"-") else lines.index(b"\n-") + 1
            message = lines[at: lines.index(b"\r", at)].decode(errors="replace")
            raise OnlineStoreError(f"Redis replied {message}")
        self.pending -= lines.count(b"\r\n")

    def drain(self, *, block: bool) -> None:
        """Read replies: all that are pending (``block``), or only what has already arrived."""
        import select

        while self.pending > 0:
            if not block and not select.select([self.sock], [], [], 0)[0]:
                return
            data = self.sock.recv(1 << 20)
            if not data:
                raise OnlineStoreError("Redis closed the connection")
            self._consume(data)


class RedisWriter:
    """Writes encoded feature rows into Redis in Feast's layout, pipelined, newest feature_time wins.

    Every entity becomes one ``HSET <key> _ts:<view> <Timestamp> <mmh3 field> <Value> …`` (plus
    ``EXPIRE`` when ``key_ttl_seconds`` > 0) — exactly the hash Feast's ``RedisOnlineStore``
    writes and reads. Commands are built column-at-a-time as RESP bytes and streamed on one
    connection by a background thread while the next chunk is encoded; replies are counted from
    the socket.

    **Publish log** (what makes "newer wins" and TTL expiry cheap): before a chunk's commands are
    sent, the Redis keys it writes are stored as one Arrow IPC blob
    ``reelhouse:<project>:published:<view>:<ms>:<run>:<n>`` and registered in the hash
    ``reelhouse:<project>:published:<view>`` (blob → feature_time ms). An entity's published
    feature_time is the newest blob that lists it. Publishing a date older than the newest
    published one skips the entities listed in newer blobs; :meth:`expire` removes the entities
    listed only in blobs older than the cutoff, then those blobs. Written before the data, the log
    can only over-state a feature_time after a crash (expiry is delayed, nothing fresh is lost),
    and a rerun of the date completes it. Publishes of one project are serialised by a lock key
    (``reelhouse:<project>:lock:publish``, ``lock_seconds``).

    ``connection_string``: Feast's format ``host:port[,db=N][,password=…][,ssl=true]``.
    Standalone Redis. Raises :class:`OnlineStoreError` when Redis is unreachable, another publish
    holds the lock, or a command fails.
    """

    def __init__(self, connection_string: str, *, project: str, key_ttl_seconds: int = 0,
                 batch_rows: int = 1000, lock_seconds: int = 3600):
        import redis

        self.project = project
        self.key_ttl_seconds = key_ttl_seconds
        self.batch_rows = batch_rows
        self.client = redis.Redis(**_redis_kwargs(connection_string))
        self._lock_key = f"reelhouse:{project}:lock:publish".encode()
        self._lock_token = uuid.uuid4().hex
        self._blobs = 0
        self._newer: dict[Any, pa.Array] = {}
        self._thread = None
        self._error: BaseException | None = None
        try:
            if not self.client.set(self._lock_key, self._lock_token, nx=True, ex=lock_seconds):
                holder = self.client.get(self._lock_key)
                raise OnlineStoreError(
                    f"another publish to Redis project {project!r} is running (lock {self._lock_key.decode()} "
                    f"held by {holder!r}); wait for it or delete the key if that run died")
        except redis.RedisError as exc:
            raise OnlineStoreError(f"Redis at {connection_string}: {exc}") from exc
        self.batches_sent = 0

    # -- publish log
    def log_key(self, view: str) -> bytes:
        """The hash registering ``view``'s publish-log blobs (field: blob key, value: ms)."""
        return f"reelhouse:{self.project}:published:{view}".encode()

    def published_log(self, view: str) -> dict[bytes, int]:
        """Publish-log blob key → feature_time (ms since the epoch, UTC) of ``view``."""
        return {k: int(v) for k, v in self.client.hgetall(self.log_key(view)).items()}

    def logged_keys(self, blobs: Iterable[bytes]) -> pa.Array:
        """The Redis keys listed in the given publish-log blobs (binary array, may repeat)."""
        import pyarrow.ipc as ipc

        blobs = list(blobs)
        arrays = []
        for i in range(0, len(blobs), 64):
            for data in self.client.mget(blobs[i: i + 64]):
                if data is not None:
                    arrays.extend(ipc.open_stream(data).read_all().column("key").chunks)
        return pa.concat_arrays(arrays) if arrays else pa.array([], pa.binary())

    def _log(self, view: str, ms: int, keys: pa.Array) -> None:
        import pyarrow.ipc as ipc

        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, pa.schema([("key", pa.binary())])) as w:
            w.write_table(pa.table({"key": keys}))
        self._blobs += 1
        blob = f"reelhouse:{self.project}:published:{view}:{ms}:{self._lock_token[:12]}:{self._blobs}".encode()
        pipe = self.client.pipeline(transaction=True)
        pipe.set(blob, sink.getvalue().to_pybytes())
        pipe.hset(self.log_key(view), blob, ms)
        pipe.execute()

    # -- writing
    def write(self, view: str, features: Sequence[str], batch: EncodedBatch) -> int:
        """Queue ``batch`` (keys with project) for ``view``; returns the entities that will be
        written (the rest hold a newer feature_time already). The commands are sent by a
        background thread while the caller encodes the next batch: call :meth:`flush` to wait
        for them. Raises :class:`OnlineStoreError`."""
        import redis

        self._raise_sender_error()
        if len(batch) == 0:
            return 0
        try:
            log = self.published_log(view)
            keep = np.ones(len(batch), dtype=bool)
            for ms in np.unique(batch.event_ms):
                newer = [b for b, m in log.items() if m > ms]
                if newer:  # an older date than the newest published: skip entities published later
                    rows = batch.event_ms == ms
                    cache_key = (view, tuple(sorted(newer)))
                    if cache_key not in self._newer:
                        self._newer = {cache_key: pc.unique(self.logged_keys(newer))}
                    shadowed = pc.is_in(batch.keys, value_set=self._newer[cache_key]).to_numpy(zero_copy_only=False)
                    keep &= ~(rows & shadowed)
            n = int(keep.sum())
            if n == 0:
                return 0
            mask = None if n == len(batch) else pa.array(keep)
            sel = (lambda a: a) if mask is None else (lambda a: a.filter(mask))
            keys = sel(batch.keys)
            kept_ms = batch.event_ms[keep]
            for ms in np.unique(kept_ms):
                self._log(view, int(ms), keys.filter(pa.array(kept_ms == ms)))
        except redis.RedisError as exc:
            raise OnlineStoreError(f"{view}: Redis publish log failed: {exc}") from exc
        nf = len(features)
        fields = [fe.ts_field_name(view), *(fe.field_name(view, f) for f in features)]
        parts: list[Any] = [_B(b"*%d\r\n$4\r\nHSET\r\n" % (2 + 2 * (nf + 1))), _resp(keys),
                            _B(_bulk(fields[0])), _resp(sel(batch.ts))]
        for f, v in zip(fields[1:], batch.values):
            parts += [_B(_bulk(f)), _resp(sel(v))]
        per_entity = 1
        if self.key_ttl_seconds:
            parts += [_B(b"*3\r\n$6\r\nEXPIRE\r\n"), _resp(keys), _B(_bulk(str(self.key_ttl_seconds).encode()))]
            per_entity = 2
        commands = pc.binary_join_element_wise(*parts, b"")
        bounds = [(i, min(i + self.batch_rows, n)) for i in range(0, n, self.batch_rows)]
        self._ensure_sender()
        for (i, j), cmds in zip(bounds, _slices(commands, bounds)):
            # ``commands`` rides along so the memory behind the memoryview lives until sent
            self._queue.put((cmds, (j - i) * per_entity, commands, view))
            self._raise_sender_error()
        return n

    # -- background sender: one connection, replies counted from the socket
    def _ensure_sender(self) -> None:
        import queue
        import threading

        if self._thread is not None:
            return
        self._queue: "queue.Queue[Any]" = queue.Queue(maxsize=256)
        self._thread = threading.Thread(target=self._send_loop, name="reelhouse-redis-sender", daemon=True)
        self._thread.start()

    def _send_loop(self) -> None:
        import redis

        conn = self.client.connection_pool.get_connection()
        view = "?"
        try:
            conn.connect()
            replies = _ReplyCounter(conn._sock)
            while True:
                item = self._queue.get()
                if item is None:
                    replies.drain(block=True)
                    return
                cmds, expected, _keepalive, view = item
                replies.sock.sendall(cmds)
                replies.pending += expected
                self.batches_sent += 1
                replies.drain(block=False)
        except (redis.RedisError, OSError, OnlineStoreError) as exc:
            self._error = exc if isinstance(exc, OnlineStoreError) else OnlineStoreError(
                f"{view}: Redis write failed after {self.batches_sent} batch(es): {exc}")
            conn.disconnect()
            while True:  # unblock the producer; what is queued is not sent
                try:
                    if self._queue.get_nowait() is None:
                        break
                except Exception:
                    break
        finally:
            self.client.connection_pool.release(conn)

    def _raise_sender_error(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            self._thread = None
            raise err

    def flush(self) -> None:
        """Wait until every queued command is sent and acknowledged; raises the first error."""
        if self._thread is None:
            return
        if self._error is None:
            self._queue.put(None)
        self._thread.join()
        self._thread = None
        self._raise_sender_error()

    # -- TTL
    def expire(self, view: str, features: Sequence[str], cutoff_ms: int, *, chunk: int = 10_000) -> int:
        """Remove ``view``'s fields from every entity whose published feature_time is older than
        ``cutoff_ms`` (ms since the epoch, UTC), then the publish-log blobs older than it; returns
        how many entities expired. (A hash left without fields disappears, as Redis does.)"""
        self.flush()
        log = self.published_log(view)
        old = [b for b, m in log.items() if m < cutoff_ms]
        if not old:
            return 0
        current = self.logged_keys([b for b, m in log.items() if m >= cutoff_ms])
        stale = pc.unique(self.logged_keys(old))
        victims = stale.filter(pc.invert(pc.is_in(stale, value_set=pc.unique(current)))).to_pylist()
        fields = [fe.ts_field_name(view), *(fe.field_name(view, f) for f in features)]
        for i in range(0, len(victims), chunk):
            pipe = self.client.pipeline(transaction=False)
            for k in victims[i: i + chunk]:
                pipe.hdel(k, *fields)
            pipe.execute()
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(*old)
        pipe.hdel(self.log_key(view), *old)
        pipe.execute()
        return len(victims)

    def close(self) -> None:
        """Wait for queued writes, release the publish lock and the connections."""
        try:
            self.flush()
        finally:
            try:
                self.client.eval(_UNLOCK_LUA, 1, self._lock_key, self._lock_token)
            finally:
                self.client.close()


def _redis_kwargs(connection_string: str) -> dict[str, Any]:
    """redis-py keyword arguments from Feast's ``host:port,key=value,…`` connection string."""
    parts = [p.strip() for p in connection_string.split(",") if p.strip()]
    if not parts or ":" not in parts[0]:
        raise OnlineStoreError(f"Redis connection string {connection_string!r} must start with host:port")
    host, port = parts[0].rsplit(":", 1)
    kwargs: dict[str, Any] = {"host": host, "port": int(port), "socket_timeout": 300}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k == "db":
            kwargs["db"] = int(v)
        elif k == "ssl":
            kwargs["ssl"] = v.lower() == "true"
        elif k in ("password", "username"):
            kwargs[k] = v
        else:
            raise OnlineStoreError(f"Redis connection string: unknown option {k!r}")
    return kwargs


# ------------------------------------------------------------------ SQLite writer
def _feast_sqlite_ts(dt: datetime) -> int:
    """The integer Feast's SQLite store keeps in ``event_ts``: ``int(naive_utc.timestamp())``
    (its ``adapt_datetime_epoch`` after ``to_naive_utc``), which its reader turns back into the
    same UTC instant on any machine time zone."""
    return int(dt.astimezone(timezone.utc).replace(tzinfo=None).timestamp())


class SqliteWriter:
    """Writes encoded feature rows into Feast's SQLite online store tables (``<project>_<view>``:
    entity_key, feature_name, value, value_text, event_ts, created_ts), newest feature_time wins."""

    def __init__(self, path: str, *, project: str):
        self.path = path
        self.project = project
        self.conn = sqlite3.connect(path, timeout=60)
        self.batches_sent = 0

    def table(self, view: str) -> str:
        return f"{self.project}_{view}"

    def write(self, view: str, features: Sequence[str], batch: EncodedBatch, *, raw: pa.RecordBatch | pa.Table) -> int:
        """Upsert ``batch`` (keys without project); ``raw`` holds the original feature columns
        (for Feast's ``value_text``). Returns the entities written."""
        n = len(batch)
        if n == 0:
            return 0
        t = self.table(view)
        created = _feast_sqlite_ts(datetime.now(timezone.utc))
        # feature_time -> Feast's event_ts integer (one conversion per distinct instant)
        uniq, inv = np.unique(batch.event_ms, return_inverse=True)
        ets = np.array([_feast_sqlite_ts(datetime.fromtimestamp(ms / 1000, timezone.utc)) for ms in uniq])[inv]
        keys = batch.keys.to_pylist()
        sql = (f'INSERT INTO "{t}" (entity_key, feature_name, value, value_text, event_ts, created_ts) '
               f"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(entity_key, feature_name) DO UPDATE SET "
               f"value = excluded.value, value_text = excluded.value_text, event_ts = excluded.event_ts, "
               f'created_ts = excluded.created_ts WHERE excluded.event_ts >= "{t}".event_ts')
        before = self.conn.total_changes
        try:
            with self.conn:
                for f, enc in zip(features, batch.values):
                    col = raw.column(f)
                    texts = _value_texts(col)
                    self.conn.executemany(sql, zip(keys, [f] * n, enc.to_pylist(), texts, ets.tolist(), [created] * n))
                    self.batches_sent += 1
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"{view}: SQLite write to {self.path} failed: {exc}") from exc
        return (self.conn.total_changes - before) // max(1, len(features))

    def expire(self, view: str, features: Sequence[str], cutoff_ms: int) -> int:
        """Delete ``view``'s rows published with feature_time < ``cutoff_ms``; returns entities."""
        t = self.table(view)
        cutoff = _feast_sqlite_ts(datetime.fromtimestamp(cutoff_ms / 1000, timezone.utc))
        with self.conn:
            n = self.conn.execute(f'SELECT COUNT(DISTINCT entity_key) FROM "{t}" WHERE event_ts < ?', (cutoff,)).fetchone()[0]
            self.conn.execute(f'DELETE FROM "{t}" WHERE event_ts < ?', (cutoff,))
        return int(n)

    def flush(self) -> None:
        """Writes are synchronous: nothing to wait for."""

    def close(self) -> None:
        self.conn.close()


def _value_texts(col: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """Feast's ``value_text`` column: ``str(value)`` for scalar values, NULL for lists and nulls
    (and NaN, which Feast stores as a missing value)."""
    t = col.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return [None] * len(col)
    vals = col.to_pylist()
    if pa.types.is_floating(t):
        return [None if v is None or v != v else str(v) for v in vals]
    return [None if v is None else str(v) for v in vals]


# ------------------------------------------------------------------ the publish step
@dataclass
class ViewPublish:
    """What publishing one feature view for a date did: rows read from the gold partition (at
    ``table_version``), entities ``written``, ``skipped_older`` (a newer feature_time was already
    published), ``expired`` entities (older than newest − TTL), ``seconds`` wall time."""

    view: str
    table: str
    table_version: int | None
    rows: int
    written: int
    skipped_older: int
    expired: int
    seconds: float


@dataclass
class PublishReport:
    """One date's publish: the ``store`` type, per-view results, total ``seconds``, ``run_id``."""

    ds: date
    store: str
    views: list[ViewPublish] = field(default_factory=list)
    seconds: float = 0.0
    run_id: str = ""

    @property
    def rows(self) -> int:
        return sum(v.rows for v in self.views)

    def to_dict(self) -> dict[str, Any]:
        return {"ds": self.ds.isoformat(), "store": self.store, "rows": self.rows, "seconds": round(self.seconds, 3),
                "run_id": self.run_id, "views": [v.__dict__ for v in self.views]}

    def summary(self) -> str:
        lines = [f"publish {self.ds} → {self.store}: {self.rows:,} rows in {self.seconds:.1f}s"]
        for v in self.views:
            rate = v.rows / v.seconds if v.seconds > 0 else 0.0
            lines.append(f"  {v.view:<17} {v.rows:>10,} rows  written {v.written:,}  older-skipped {v.skipped_older:,}"
                         f"  expired {v.expired:,}  {v.seconds:.2f}s ({rate:,.0f} rows/s)  [{v.table} v{v.table_version}]")
        return "\n".join(lines)


def gate_status(lake: "Lake", day: date) -> str | None:
    """The recorded quality-gate verdict (``pass``/``warn``/``block``) for ``day``, or None."""
    from reelhouse.quality.gate import RESULTS_TABLE

    if not lake.exists(RESULTS_TABLE):
        return None
    t = lake.read_arrow(RESULTS_TABLE, where={"ds": day}, columns=["verdict"])
    verdicts = set(t.column("verdict").to_pylist())
    if not verdicts:
        return None
    return "block" if "block" in verdicts else ("warn" if "warn" in verdicts else "pass")


def open_writer(config: "Config") -> RedisWriter | SqliteWriter:
    """The writer for ``config.online_store`` (Redis or SQLite). Raises :class:`OnlineStoreError`."""
    osc = config.online_store
    if osc.type == "redis":
        return RedisWriter(osc.connection_string, project=osc.project, key_ttl_seconds=osc.key_ttl_seconds,
                           batch_rows=osc.batch_rows)
    return SqliteWriter(_under_lake(osc.path, config.paths.lake), project=osc.project)


def publish_table(writer: RedisWriter | SqliteWriter, view: str, table: pa.Table, *, chunk_rows: int = 200_000) -> int:
    """Encode and write gold rows of ``view`` (a table with the join key, feature_time and the
    view's features) in chunks of ``chunk_rows``; returns entities written."""
    from reelhouse.serving.feature_views import VIEWS, feature_columns

    spec = VIEWS[view]
    features = [c for c, _ in feature_columns(view)]
    project = writer.project if isinstance(writer, RedisWriter) else None
    written = 0
    for batch in table.to_batches(max_chunksize=chunk_rows):
        enc = encode_batch(batch, join_key=spec.join_key, features=features, project=project)
        if isinstance(writer, RedisWriter):
            written += writer.write(view, features, enc)
        else:
            written += writer.write(view, features, enc, raw=batch)
    writer.flush()
    return written


def publish(
    lake: "Lake",
    config: "Config",
    day: date,
    *,
    views: Sequence[str] | None = None,
    require_gate: bool = True,
    record: bool = True,
    apply: bool = True,
    log: Any = None,
) -> PublishReport:
    """Publish ``day``'s gold feature partitions to the online store.

    ``views``: feature views to publish (default all of ``reelhouse.serving.feature_views.VIEWS``);
    ``require_gate``: refuse unless ``ops.quality_results`` holds a pass or warn verdict for the
    date; ``record``: write one row per view to ``ops.online_publishes`` (the date's partition is
    replaced); ``apply``: apply the Feast definitions first (creates registry and SQLite tables).

    Never writes a value older than the one already served (per entity, by feature_time); after
    writing, removes entities whose feature_time is older than this date's feature_time minus the
    view's TTL (so republishing an older date removes no more than its own night did). Raises :class:`GateNotPassedError` before writing anything when the gate
    did not pass, :class:`OnlineStoreError` on a store failure (rerunning completes the date),
    ``KeyError`` for an unknown view.
    """
    from reelhouse.serving.feature_views import VIEWS, feature_columns

    log = log or (lambda m: None)
    names = list(views) if views else list(VIEWS)
    unknown = [v for v in names if v not in VIEWS]
    if unknown:
        raise KeyError(f"unknown feature view(s) {unknown}; views are {list(VIEWS)}")
    if require_gate:
        status = gate_status(lake, day)
        if status not in ("pass", "warn"):
            raise GateNotPassedError(
                f"{day}: quality gate verdict is {status or 'missing (the gate has not run)'}; nothing published")
    t0 = time.perf_counter()
    if apply:
        feature_store(config, apply=True)
    report = PublishReport(ds=day, store=config.online_store.type, run_id=uuid.uuid4().hex)
    writer = open_writer(config)
    try:
        for view in names:
            spec = VIEWS[view]
            tv0 = time.perf_counter()
            features = [c for c, _ in feature_columns(view)]
            version = lake.version(spec.table)
            table = lake.read_arrow(spec.table, version=version, where={"ds": day},
                                    columns=[spec.join_key, "feature_time", *features]) if version is not None else None
            rows = table.num_rows if table is not None else 0
            written = publish_table(writer, view, table) if rows else 0
            expired = 0
            if rows:
                newest_ms = int(pc.max(table.column("feature_time")).cast(pa.int64()).as_py() // 1000)
                ttl_ms = int(config.online_store.ttl_days[view] * 86_400_000)
                expired = writer.expire(view, features, newest_ms - ttl_ms)
            vp = ViewPublish(view=view, table=spec.table, table_version=version, rows=rows, written=written,
                             skipped_older=rows - written, expired=expired, seconds=time.perf_counter() - tv0)
            report.views.append(vp)
            log(f"[publish {day}] {view}: {rows:,} rows, written {written:,}, expired {expired:,} in {vp.seconds:.2f}s")
    finally:
        writer.close()
    report.seconds = time.perf_counter() - t0
    if record:
        write_publishes(lake, report)
    return report


def write_publishes(lake: "Lake", report: PublishReport) -> None:
    """Replace ``report.ds``'s partition of ``ops.online_publishes`` with the report's rows."""
    now = datetime.now(timezone.utc)
    t = pa.table({
        "ds": [report.ds] * len(report.views),
        "feature_view": [v.view for v in report.views],
        "source_table": [v.table for v in report.views],
        "source_version": [v.table_version for v in report.views],
        "store": [report.store] * len(report.views),
        "rows": [v.rows for v in report.views],
        "written": [v.written for v in report.views],
        "skipped_older": [v.skipped_older for v in report.views],
        "expired": [v.expired for v in report.views],
        "seconds": [v.seconds for v in report.views],
        "published_at": [now] * len(report.views),
        "run_id": [report.run_id] * len(report.views),
    })
    from reelhouse.lake.locks import lake_lock

    with lake_lock(lake.root, f"online publish {report.ds}", log=lambda m: None):
        lake.write_arrow(t, PUBLISHES_TABLE, mode="overwrite_partitions", partitions={"ds": [report.ds]})


def online_features(config: "Config", *, user_id: str | None = None, video_id: str | None = None,
                    creator_id: str | None = None, hashtag: str | None = None,
                    store: "FeatureStore | None" = None) -> dict[str, dict[str, Any]]:
    """What the online store serves for the given entities, per feature view:
    ``{view: {feature: value}}`` (values None when absent). With ``video_id`` and no
    ``creator_id``, the creator is the video's ``creator_id`` feature. Uses Feast's
    ``get_online_features``."""
    from reelhouse.serving.feature_views import VIEWS, feature_columns

    store = store or feature_store(config, apply=False)
    wanted = {"user_features": user_id, "video_features": video_id, "hashtag_features": hashtag}
    out: dict[str, dict[str, Any]] = {}
    for view, key in list(wanted.items()) + [("creator_features", None)]:
        if view == "creator_features":
            key = creator_id or (out.get("video_features") or {}).get("creator_id")
        if key is None:
            continue
        spec = VIEWS[view]
        refs = [f"{view}:{c}" for c, _ in feature_columns(view)]
        resp = store.get_online_features(features=refs, entity_rows=[{spec.join_key: key}]).to_dict()
        out[view] = {spec.join_key: key, **{c: resp[c][0] for c, _ in feature_columns(view)}}
    return out
