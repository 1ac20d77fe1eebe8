"""The online-store writers: one interface, and SQLite and Redis keep the same promises (newer
feature_time wins, equal rewrites, expiry by published feature_time), read back through Feast."""

from __future__ import annotations

import datetime as dt
import inspect
import uuid

import pyarrow as pa
import pytest

from reelhouse.config import load_config
from reelhouse.serving.feast_encoding import encode_batch
from reelhouse.serving.feature_views import VIEWS, feature_columns
from reelhouse.serving.online_store import feature_store
from reelhouse.serving.writers import OnlineWriter, RedisWriter, SqliteWriter, open_writer

VIEW = "user_features"
REDIS_DB = 11  # away from the other tests' db 0
DAY1_FT = dt.datetime(2024, 6, 2, tzinfo=dt.timezone.utc)  # feature_time of ds 2024-06-01
DAY2_FT = DAY1_FT + dt.timedelta(days=1)


def test_both_writers_implement_the_one_interface():
    methods = sorted(OnlineWriter.__abstractmethods__ - {"key_project"})
    assert methods == ["close", "delete_entities", "expire", "flush", "write"]
    for cls in (SqliteWriter, RedisWriter):
        assert issubclass(cls, OnlineWriter) and not cls.__abstractmethods__
        assert isinstance(cls.key_project, property)
        for name in methods:
            assert inspect.signature(getattr(cls, name)) == inspect.signature(getattr(OnlineWriter, name)), (cls, name)


def rows(ids: list[str], feature_time: dt.datetime, seed: int) -> pa.Table:
    """Gold rows of VIEW for ``ids``, every feature filled from ``seed`` (distinct per seed)."""
    spec = VIEWS[VIEW]
    cols: dict[str, pa.Array] = {spec.join_key: pa.array(ids), "feature_time": pa.array([feature_time] * len(ids))}
    for name, t in feature_columns(VIEW):
        if pa.types.is_string(t):
            vals = [f"{name}-{seed}-{i}" for i in ids]
        elif pa.types.is_integer(t):
            vals = [seed * 1000 + k for k, _ in enumerate(ids)]
        elif pa.types.is_floating(t):
            vals = [seed + k / 4 for k, _ in enumerate(ids)]
        elif pa.types.is_string(t.value_type):
            vals = [[f"#{seed}", i] for i in ids]
        else:
            vals = [[float(seed), k / 2] for k, _ in enumerate(ids)]
        cols[name] = pa.array(vals, t)
    return pa.table(cols)


def served(store, ids: list[str]) -> dict[str, dict | None]:
    """What Feast serves for ``ids`` of VIEW: the feature dict, or None when nothing is served."""
    spec = VIEWS[VIEW]
    feats = [c for c, _ in feature_columns(VIEW)]
    got = store.get_online_features(features=[f"{VIEW}:{c}" for c in feats],
                                    entity_rows=[{spec.join_key: i} for i in ids]).to_dict()
    out: dict[str, dict | None] = {}
    for k, i in enumerate(ids):
        row = {c: got[c][k] for c in feats}
        out[i] = None if all(v is None for v in row.values()) else row
    return out


def expected(table: pa.Table, ids: list[str]) -> dict[str, dict]:
    spec = VIEWS[VIEW]
    feats = [c for c, _ in feature_columns(VIEW)]
    by_id = {r[spec.join_key]: r for r in table.to_pylist()}
    return {i: {c: by_id[i][c] for c in feats} for i in ids}


def scenario(kind: str, tmp_path, monkeypatch) -> list:
    """write → older and newer rows → equal rewrite → expire, on a fresh project of ``kind``;
    returns what every step returned and what Feast served after it."""
    project = f"rh_wtest_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(tmp_path / kind / "lake"))
    monkeypatch.setenv("REELHOUSE__PATHS__LANDING", str(tmp_path / kind / "landing"))
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__TYPE", kind)
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__PROJECT", project)
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__CONNECTION_STRING", f"127.0.0.1:6379,db={REDIS_DB}")
    cfg = load_config("test")
    store = feature_store(cfg, apply=True)
    spec = VIEWS[VIEW]
    feats = [c for c, _ in feature_columns(VIEW)]
    ids = ["u_a", "u_b", "u_c"]
    day1, day2 = rows(ids, DAY1_FT, seed=1), rows(ids[:2], DAY2_FT, seed=2)
    trace: list = []
    try:
        with open_writer(cfg) as w:
            assert isinstance(w, OnlineWriter)
            assert type(w) is {"sqlite": SqliteWriter, "redis": RedisWriter}[kind]
            assert w.key_project == (project if kind == "redis" else None)

            def write(t: pa.Table) -> int:
                n = w.write(VIEW, feats, encode_batch(t, join_key=spec.join_key, features=feats,
                                                       project=w.key_project))
                w.flush()
                return n

            trace.append(("day1", write(day1), served(store, ids)))
            trace.append(("day2 newer", write(day2), served(store, ids)))
            trace.append(("day1 again, older", write(day1), served(store, ids)))
            trace.append(("day2 again, equal", write(day2), served(store, ids)))
            cutoff_ms = int(DAY2_FT.timestamp() * 1000)
            trace.append(("expire before day2", w.expire(VIEW, feats, cutoff_ms), served(store, ids)))
            trace.append(("expire again", w.expire(VIEW, feats, cutoff_ms), served(store, ids)))
            trace.append(("expire nothing older", w.expire(VIEW, feats, cutoff_ms - 86_400_000), served(store, ids)))
    finally:
        if kind == "redis":
            import redis

            client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
            for pattern in (f"*{project}", f"reelhouse:{project}:*"):
                keys = list(client.scan_iter(match=pattern, count=10_000))
                if keys:
                    client.delete(*keys)
            assert not list(client.scan_iter(match=f"*{project}*"))
            client.close()
    return trace


def test_sqlite_and_redis_writers_behave_the_same(tmp_path, monkeypatch):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).ping()
    except redis.RedisError as exc:  # pragma: no cover - CI starts Redis
        pytest.fail(f"Redis on 127.0.0.1:6379 is not running ({exc}); .ci/run starts it")
    ids = ["u_a", "u_b", "u_c"]
    d1 = expected(rows(ids, DAY1_FT, seed=1), ids)
    d2 = expected(rows(ids[:2], DAY2_FT, seed=2), ids[:2])
    newest = {"u_a": d2["u_a"], "u_b": d2["u_b"], "u_c": d1["u_c"]}
    want = [
        ("day1", 3, d1),
        ("day2 newer", 2, newest),
        ("day1 again, older", 1, newest),  # only u_c: u_a and u_b hold a newer feature_time
        ("day2 again, equal", 2, newest),  # an equal feature_time is rewritten (idempotent rerun)
        ("expire before day2", 1, {**newest, "u_c": None}),
        ("expire again", 0, {**newest, "u_c": None}),
        ("expire nothing older", 0, {**newest, "u_c": None}),
    ]
    got = {kind: scenario(kind, tmp_path, monkeypatch) for kind in ("sqlite", "redis")}
    assert got["sqlite"] == want
    assert got["redis"] == want
