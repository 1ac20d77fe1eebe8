"""Online-store writers: put encoded gold feature rows into Feast's online store, newest wins.

One interface, :class:`OnlineWriter`, two implementations chosen once from the configuration by
:func:`open_writer` (``online_store.type``):

* :class:`RedisWriter` (production): Feast's Redis hash layout, written with one pipelined
  ``HSET`` per entity streamed by a background thread; a publish log in Redis makes "newer wins"
  and TTL expiry cheap; one publish per project at a time (a lock key).
* :class:`SqliteWriter` (embedded default): Feast's SQLite table ``<project>_<view>``, one
  ``INSERT … ON CONFLICT DO UPDATE … WHERE excluded.event_ts >= event_ts`` per feature value.

Every writer keeps the same promises: :meth:`OnlineWriter.write` never replaces a value with an
older feature_time (equal feature_times are rewritten, so a rerun is idempotent) and returns the
entities written; :meth:`OnlineWriter.expire` removes the entities whose newest published
feature_time is older than a cutoff; :meth:`OnlineWriter.flush` waits for queued writes;
:meth:`OnlineWriter.close` flushes and releases the store. The rows come encoded by
:func:`reelhouse.serving.feast_encoding.encode_batch` with ``project=writer.key_project``.

Errors: :class:`OnlineStoreError` (the store is unreachable or rejected a write; the message
names the view and how many batches had been written — rerunning the publish completes it).
"""

from __future__ import annotations

import abc
import os
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reelhouse.serving import feast_encoding as fe
from reelhouse.serving.feast_encoding import EncodedBatch

if TYPE_CHECKING:  # pragma: no cover
    import threading

    from reelhouse.config import Config


class OnlineStoreError(RuntimeError):
    """The online store could not be reached or rejected a write."""


def under_lake(path: str, lake_root: str) -> str:
    """``path`` resolved against ``lake_root`` when relative (the online store's SQLite file and
    Feast registry are configured relative to the lake); absolute paths and URIs unchanged.

    A lake on an object store has no local folder: relative paths then resolve under
    :func:`local_state_dir` of that lake. The Feast registry is derived state (every publish
    applies ``feature_views.py`` again) and an object-store deployment serves from Redis, so a
    per-machine copy is what Feast's file registry wants there."""
    if "://" in path or Path(path).is_absolute():
        return path
    return str(Path(local_state_dir(lake_root)) / path)


def local_state_dir(lake_root: str) -> str:
    """The local folder of a lake's machine-local state: the lake itself when local; for an
    object-store lake ``$REELHOUSE_STATE_DIR`` (default ``~/.cache/reelhouse``) ``/<bucket>/<prefix>``."""
    from reelhouse.objectstore import is_object_store_uri, split_uri

    if not is_object_store_uri(lake_root):
        return lake_root.removeprefix("file://")
    bucket, key = split_uri(lake_root)
    base = os.environ.get("REELHOUSE_STATE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "reelhouse")
    return os.path.join(base, bucket, *[k for k in key.split("/") if k])


# ------------------------------------------------------------------ the interface
class OnlineWriter(abc.ABC):
    """Writes one publish's encoded feature rows into an online store.

    Attributes: ``project`` (the Feast project), ``key_project`` (what to pass as ``project`` to
    :func:`~reelhouse.serving.feast_encoding.encode_batch`: the project for stores whose keys
    carry it, else None), ``batches_sent`` (write batches sent so far). Use as a context manager
    or call :meth:`close`. Every method raises :class:`OnlineStoreError` on a store failure.
    """

    project: str
    batches_sent: int

    @property
    @abc.abstractmethod
    def key_project(self) -> str | None:
        """The project appended to entity keys by this store, or None (keys without it)."""

    @abc.abstractmethod
    def write(self, view: str, features: Sequence[str], batch: EncodedBatch) -> int:
        """Write ``batch`` (the rows of feature view ``view``; ``features`` names its
        ``batch.values`` in order). Per entity, a row older (by feature_time) than the one already
        published is skipped, an equal or newer one replaces it. Returns the entities written.
        May return before the store has acknowledged them: :meth:`flush` waits."""

    @abc.abstractmethod
    def expire(self, view: str, features: Sequence[str], cutoff_ms: int) -> int:
        """Remove ``view``'s ``features`` of every entity whose published feature_time is older
        than ``cutoff_ms`` (ms since the epoch, UTC); returns how many entities expired. Waits
        for queued writes first."""

    @abc.abstractmethod
    def delete_entities(self, view: str, join_key: str, ids: Sequence[str]) -> int:
        """Remove every value of ``view`` served for the entities ``ids`` (erasure): no read
        returns them afterwards and no trace of their keys stays in the store's own bookkeeping.
        Returns the entities that were present."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Wait until every queued write is acknowledged by the store."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush, then release the store's connections (and locks). The writer is unusable after."""

    def __enter__(self) -> "OnlineWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


# ------------------------------------------------------------------ Redis writer
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_B = lambda b: pa.scalar(b, pa.binary())  # noqa: E731
_EXPIRE_CHUNK = 10_000  # HDELs per pipeline when expiring


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

    def __init__(self, sock: Any) -> None:
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


class RedisWriter(OnlineWriter):
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
    Standalone Redis. ``key_ttl_seconds``: wall-clock expiry set on every key written (0 = none);
    ``batch_rows``: entities per pipelined round trip; ``lock_seconds``: how long the publish lock
    lives if the process dies. Raises :class:`OnlineStoreError` when Redis is unreachable, another
    publish holds the lock, or a command fails.
    """

    def __init__(self, connection_string: str, *, project: str, key_ttl_seconds: int = 0,
                 batch_rows: int = 1000, lock_seconds: int = 3600) -> None:
        import redis

        self.project = project
        self.key_ttl_seconds = key_ttl_seconds
        self.batch_rows = batch_rows
        self.client = redis.Redis(**_redis_kwargs(connection_string))
        self._lock_key = f"reelhouse:{project}:lock:publish".encode()
        self._lock_token = uuid.uuid4().hex
        self._blobs = 0
        self._newer: dict[Any, pa.Array] = {}
        self._thread: "threading.Thread | None" = None
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

    @property
    def key_project(self) -> str:
        """Redis keys end with the project (Feast's ``_redis_key``)."""
        return self.project

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
        for them (a send error surfaces at the next ``write``, ``flush`` or ``close``). Raises
        :class:`OnlineStoreError`."""
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
    def expire(self, view: str, features: Sequence[str], cutoff_ms: int) -> int:
        """Remove ``view``'s fields from every entity whose published feature_time is older than
        ``cutoff_ms`` (ms since the epoch, UTC), then the publish-log blobs older than it; returns
        how many entities expired. (A hash left without fields disappears, as Redis does.)
        Raises :class:`OnlineStoreError`."""
        import redis

        self.flush()
        try:
            return self._expire(view, features, cutoff_ms)
        except redis.RedisError as exc:
            raise OnlineStoreError(f"{view}: Redis expiry failed: {exc}") from exc

    def _expire(self, view: str, features: Sequence[str], cutoff_ms: int) -> int:
        log = self.published_log(view)
        old = [b for b, m in log.items() if m < cutoff_ms]
        if not old:
            return 0
        current = self.logged_keys([b for b, m in log.items() if m >= cutoff_ms])
        stale = pc.unique(self.logged_keys(old))
        victims = stale.filter(pc.invert(pc.is_in(stale, value_set=pc.unique(current)))).to_pylist()
        fields = [fe.ts_field_name(view), *(fe.field_name(view, f) for f in features)]
        for i in range(0, len(victims), _EXPIRE_CHUNK):
            pipe = self.client.pipeline(transaction=False)
            for k in victims[i: i + _EXPIRE_CHUNK]:
                pipe.hdel(k, *fields)
            pipe.execute()
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(*old)
        pipe.hdel(self.log_key(view), *old)
        pipe.execute()
        return len(victims)

    def delete_entities(self, view: str, join_key: str, ids: Sequence[str]) -> int:
        """``DEL`` the entities' hashes (Feast keeps one hash per entity key, every view of that
        entity in it) and rewrite the view's publish-log blobs without their keys (the blobs list
        serialised entity keys, which hold the raw id). Raises :class:`OnlineStoreError`."""
        import redis
        import pyarrow.ipc as ipc

        if not ids:
            return 0
        self.flush()
        keys = fe.entity_keys(pa.array(list(ids), pa.string()), join_key, project=self.project)
        try:
            present = sum(int(self.client.exists(k)) for k in keys.to_pylist())
            self.client.delete(*keys.to_pylist())
            for blob in self.published_log(view):
                data = self.client.get(blob)
                if data is None:
                    continue
                listed = ipc.open_stream(data).read_all().column("key")
                drop = pc.is_in(listed, value_set=keys)
                if pc.any(drop).as_py():
                    sink = pa.BufferOutputStream()
                    with ipc.new_stream(sink, pa.schema([("key", pa.binary())])) as w:
                        w.write_table(pa.table({"key": pc.filter(listed, pc.invert(drop))}))
                    self.client.set(blob, sink.getvalue().to_pybytes(), keepttl=True)
            self._newer = {}
        except redis.RedisError as exc:
            raise OnlineStoreError(f"{view}: Redis delete failed: {exc}") from exc
        return present

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
class SqliteWriter(OnlineWriter):
    """Writes encoded feature rows into Feast's SQLite online store tables (``<project>_<view>``:
    entity_key, feature_name, value, value_text, event_ts, created_ts), newest feature_time wins.

    ``path``: the SQLite file (its tables exist once Feast's definitions are applied,
    :func:`reelhouse.serving.online_store.feature_store`). Writes are synchronous, one
    transaction per :meth:`write`.
    """

    def __init__(self, path: str, *, project: str) -> None:
        self.path = path
        self.project = project
        self.conn = sqlite3.connect(path, timeout=60)
        self.batches_sent = 0

    @property
    def key_project(self) -> None:
        """SQLite entity keys are stored without the project (it is in the table name)."""
        return None

    def table(self, view: str) -> str:
        """Feast's table of ``view``: ``<project>_<view>``."""
        return f"{self.project}_{view}"

    def write(self, view: str, features: Sequence[str], batch: EncodedBatch) -> int:
        """Upsert ``batch`` (keys without project; ``value_text`` from ``batch.columns``) in one
        transaction. Returns the entities written. Raises :class:`OnlineStoreError`."""
        n = len(batch)
        if n == 0:
            return 0
        t = self.table(view)
        created = fe.sqlite_event_ts(datetime.now(timezone.utc))
        # feature_time -> Feast's event_ts integer (one conversion per distinct instant)
        uniq, inv = np.unique(batch.event_ms, return_inverse=True)
        ets = np.array([fe.sqlite_event_ts(datetime.fromtimestamp(ms / 1000, timezone.utc)) for ms in uniq])[inv]
        keys = batch.keys.to_pylist()
        sql = (f'INSERT INTO "{t}" (entity_key, feature_name, value, value_text, event_ts, created_ts) '
               f"VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(entity_key, feature_name) DO UPDATE SET "
               f"value = excluded.value, value_text = excluded.value_text, event_ts = excluded.event_ts, "
               f'created_ts = excluded.created_ts WHERE excluded.event_ts >= "{t}".event_ts')
        before = self.conn.total_changes
        try:
            with self.conn:
                for f, enc, col in zip(features, batch.values, batch.columns):
                    texts = fe.value_texts(col)
                    self.conn.executemany(sql, zip(keys, [f] * n, enc.to_pylist(), texts, ets.tolist(), [created] * n))
                    self.batches_sent += 1
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"{view}: SQLite write to {self.path} failed: {exc}") from exc
        return (self.conn.total_changes - before) // max(1, len(features))

    def expire(self, view: str, features: Sequence[str], cutoff_ms: int) -> int:
        """Delete ``view``'s rows published with feature_time < ``cutoff_ms`` (ms, UTC); returns
        entities. Raises :class:`OnlineStoreError`."""
        t = self.table(view)
        cutoff = fe.sqlite_event_ts(datetime.fromtimestamp(cutoff_ms / 1000, timezone.utc))
        try:
            with self.conn:
                n = self.conn.execute(f'SELECT COUNT(DISTINCT entity_key) FROM "{t}" WHERE event_ts < ?', (cutoff,)).fetchone()[0]
                self.conn.execute(f'DELETE FROM "{t}" WHERE event_ts < ?', (cutoff,))
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"{view}: SQLite expiry in {self.path} failed: {exc}") from exc
        return int(n)

    def delete_entities(self, view: str, join_key: str, ids: Sequence[str]) -> int:
        """Delete the entities' rows of ``view``'s table with SQLite's ``secure_delete`` on (the
        freed pages are overwritten with zeros, so the file keeps no copy). Raises
        :class:`OnlineStoreError`."""
        if not ids:
            return 0
        t = self.table(view)
        keys = fe.entity_keys(pa.array(list(ids), pa.string()), join_key).to_pylist()
        try:
            exists = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (t,)).fetchone()
            if not exists:
                return 0
            self.conn.execute("PRAGMA secure_delete = ON")
            with self.conn:
                marks = ", ".join("?" * len(keys))
                n = self.conn.execute(f'SELECT COUNT(DISTINCT entity_key) FROM "{t}" WHERE entity_key IN ({marks})',
                                      keys).fetchone()[0]
                self.conn.execute(f'DELETE FROM "{t}" WHERE entity_key IN ({marks})', keys)
        except sqlite3.Error as exc:
            raise OnlineStoreError(f"{view}: SQLite delete in {self.path} failed: {exc}") from exc
        return int(n)

    def flush(self) -> None:
        """Writes are synchronous: nothing to wait for."""

    def close(self) -> None:
        """Close the SQLite connection."""
        self.conn.close()


# ------------------------------------------------------------------ choosing the writer
def open_writer(config: "Config") -> OnlineWriter:
    """The writer for ``config.online_store``: :class:`RedisWriter` for ``type: redis``
    (connection string, project, ``key_ttl_seconds``, ``batch_rows``), else :class:`SqliteWriter`
    on ``path`` (relative to the lake root). Raises :class:`OnlineStoreError` when the store is
    unreachable or (Redis) another publish of the project holds the lock."""
    osc = config.online_store
    if osc.type == "redis":
        return RedisWriter(osc.connection_string, project=osc.project, key_ttl_seconds=osc.key_ttl_seconds,
                           batch_rows=osc.batch_rows)
    return SqliteWriter(under_lake(osc.path, config.paths.lake), project=osc.project)
