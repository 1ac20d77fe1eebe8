"""The publish step against both online stores — SQLite (embedded default) and the real Redis on
127.0.0.1:6379 — read back through Feast's own ``get_online_features``."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pyarrow as pa
import pytest

from reelhouse.serving.feature_views import VIEWS, feature_columns
from reelhouse.lake.catalog import get_table
from reelhouse.config import load_config
from reelhouse.lake import Lake
from reelhouse.serving.online_store import GateNotPassedError, feature_store, publish
from reelhouse.serving.writers import OnlineStoreError

D1 = dt.date(2024, 6, 1)


def gold_rows(view: str, ds: dt.date, ids: list[str], *, seed: int = 0) -> pa.Table:
    """A gold partition of ``view`` with every column type, nulls, empty lists and non-ASCII."""
    spec = VIEWS[view]
    schema = get_table(spec.table).arrow_schema()
    rng = np.random.default_rng(seed)
    n = len(ids)
    ft = dt.datetime.combine(ds + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    cols = {}
    for f in schema:
        t = f.type
        if f.name == spec.join_key:
            cols[f.name] = pa.array(ids, t)
        elif f.name == "feature_time":
            cols[f.name] = pa.array([ft] * n, t)
        elif f.name == "ds":
            cols[f.name] = pa.array([ds] * n, t)
        elif pa.types.is_string(t):
            cols[f.name] = pa.array([None if i % 5 == 0 else f"c{i}é{seed}" for i in range(n)], t)
        elif pa.types.is_int64(t):
            cols[f.name] = pa.array(rng.integers(0, 10**6, n), t)
        elif pa.types.is_int32(t):
            cols[f.name] = pa.array([None if (i % 7 == 3 and f.nullable) else int(x) for i, x in enumerate(rng.integers(0, 100, n))], t)
        elif pa.types.is_float64(t):
            cols[f.name] = pa.array([None if (i % 4 == 1 and f.nullable) else float(x) for i, x in enumerate(rng.random(n))], t)
        elif pa.types.is_string(t.value_type):
            cols[f.name] = pa.array([None if i % 6 == 0 else [f"#t{j}中{seed}" for j in range(i % 3)] for i in range(n)], t)
        else:
            cols[f.name] = pa.array([None if i % 6 == 0 else [seed + j / 3 for j in range(i % 3)] for i in range(n)], t)
    return pa.table(cols, schema=schema)


def ids_for(view: str, n: int, start: int = 0) -> list[str]:
    return [f"{view[0]}_{i}" for i in range(start, start + n)]


def write_gold(lake: Lake, ds: dt.date, n: int = 40, *, seed: int = 0, start: int = 0, views=None) -> dict[str, pa.Table]:
    out = {}
    for view in views or VIEWS:
        t = gold_rows(view, ds, ids_for(view, n, start), seed=seed)
        lake.write_arrow(t, VIEWS[view].table, mode="overwrite_partitions", partitions={"ds": [ds]})
        out[view] = t
    return out


def record_gate(lake: Lake, ds: dt.date, verdict: str) -> None:
    spec = get_table("ops.quality_results")
    row = {c: [None] for c in spec.column_names}
    row.update(table_name=["x"], suite=["x"], expectation=["x"], expectation_type=["x"], success=[verdict != "block"],
               severity=["block"], verdict=[verdict], run_id=["r"], validated_at=[dt.datetime.now(dt.timezone.utc)], ds=[ds])
    lake.write_arrow(pa.table(row).cast(spec.arrow_schema()), "ops.quality_results", mode="overwrite_partitions", partitions={"ds": [ds]})


@pytest.fixture(params=["sqlite", "redis"])
def env(request, tmp_path, monkeypatch):
    """(config, lake) for a fresh lake and a fresh Feast project on the given store."""
    project = f"rh_test_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", str(tmp_path / "lake"))
    monkeypatch.setenv("REELHOUSE__PATHS__LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__TYPE", request.param)
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__PROJECT", project)
    client = None
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        client = redis.Redis(host="127.0.0.1", port=6379)
        try:
            client.ping()
        except redis.RedisError as exc:  # pragma: no cover - CI starts Redis
            pytest.fail(f"Redis on 127.0.0.1:6379 is not running ({exc}); .ci/run starts it")
    cfg = load_config("test")
    yield cfg, Lake(cfg.paths.lake)
    if client is not None:
        for pattern in (f"*{project}", f"reelhouse:{project}:*"):
            keys = list(client.scan_iter(match=pattern, count=10_000))
            if keys:
                client.delete(*keys)


def served(cfg, view: str, ids: list[str], store=None) -> list[dict]:
    """What Feast's get_online_features returns for ``ids`` of ``view`` (one dict per id)."""
    store = store or feature_store(cfg, apply=False)
    spec = VIEWS[view]
    feats = [c for c, _ in feature_columns(view)]
    got = store.get_online_features(features=[f"{view}:{c}" for c in feats],
                                    entity_rows=[{spec.join_key: i} for i in ids]).to_dict()
    return [{c: got[c][k] for c in feats} for k in range(len(ids))]


def expected(table: pa.Table, view: str, ids: list[str]) -> list[dict]:
    feats = [c for c, _ in feature_columns(view)]
    rows = {r[VIEWS[view].join_key]: r for r in table.to_pylist()}
    return [{c: (None if isinstance(rows[i][c], float) and rows[i][c] != rows[i][c] else rows[i][c]) for c in feats}
            if i in rows else {c: None for c in feats} for i in ids]


def test_feast_serves_exactly_the_gold_values(env):
    cfg, lake = env
    gold = write_gold(lake, D1, n=60)
    record_gate(lake, D1, "pass")
    report = publish(lake, cfg, D1)
    assert report.rows == 4 * 60 and all(v.written == 60 and v.skipped_older == 0 for v in report.views)
    store = feature_store(cfg, apply=False)
    rng = np.random.default_rng(1)
    for view in VIEWS:
        sample = [ids_for(view, 60)[i] for i in rng.choice(60, 15, replace=False)] + ["never_seen"]
        assert served(cfg, view, sample, store) == expected(gold[view], view, sample)
    # the feature service the ranking model uses resolves every view of a (user, video, creator) row
    svc = store.get_online_features(features=store.get_feature_service("ranking"), full_feature_names=True,
                                    entity_rows=[{"user_id": "u_3", "video_id": "v_3", "creator_id": "c_3"}]).to_dict()
    assert svc["video_features__views_7d"] == [gold["video_features"].column("views_7d")[3].as_py()]
    assert svc["user_features__top_hashtags"] == [gold["user_features"].column("top_hashtags")[3].as_py()]
    rec = lake.read_pandas("ops.online_publishes")
    assert sorted(rec.feature_view) == sorted(VIEWS) and (rec.rows == 60).all() and (rec.store == cfg.online_store.type).all()


def test_rerun_is_idempotent_and_an_older_date_never_overwrites_a_newer_value(env):
    cfg, lake = env
    d2 = D1 + dt.timedelta(days=1)
    old = write_gold(lake, D1, n=30, seed=1, views=["video_features"])["video_features"]
    new = write_gold(lake, d2, n=20, seed=2, views=["video_features"])["video_features"]
    for d in (D1, d2):
        record_gate(lake, d, "warn")
    publish(lake, cfg, d2, views=["video_features"])
    again = publish(lake, cfg, d2, views=["video_features"])
    assert again.views[0].written == 20  # same date: rewritten with the same values
    late = publish(lake, cfg, D1, views=["video_features"])
    assert (late.views[0].written, late.views[0].skipped_older) == (10, 20)
    ids = ids_for("video_features", 30)
    want = expected(new, "video_features", ids[:20]) + expected(old, "video_features", ids)[20:]
    assert served(cfg, "video_features", ids) == want
    rec = lake.read_pandas("ops.online_publishes")
    assert len(rec) == 2  # one row per date and view: the reruns replaced their date's row


def test_ttl_expires_entities_not_republished(env):
    cfg, lake = env
    ttl = cfg.online_store.ttl_days["video_features"]
    later = D1 + dt.timedelta(days=int(ttl) + 1)
    write_gold(lake, D1, n=10, views=["video_features"])
    newer = write_gold(lake, later, n=4, seed=5, views=["video_features"])["video_features"]
    for d in (D1, later):
        record_gate(lake, d, "pass")
    publish(lake, cfg, D1, views=["video_features"])
    within = publish(lake, cfg, D1 + dt.timedelta(days=int(ttl)), views=["video_features"], require_gate=False)
    assert within.views[0].expired == 0  # empty partition, and D1's rows are exactly TTL old: kept
    report = publish(lake, cfg, later, views=["video_features"])
    assert report.views[0].expired == 6
    ids = ids_for("video_features", 10)
    assert served(cfg, "video_features", ids) == expected(newer, "video_features", ids)


def test_blocked_or_missing_gate_publishes_nothing(env):
    cfg, lake = env
    write_gold(lake, D1, n=5)
    with pytest.raises(GateNotPassedError, match="missing"):
        publish(lake, cfg, D1)
    record_gate(lake, D1, "block")
    with pytest.raises(GateNotPassedError, match="block"):
        publish(lake, cfg, D1)
    feature_store(cfg, apply=True)
    assert all(v is None for row in served(cfg, "user_features", ids_for("user_features", 5)) for v in row.values())
    assert not lake.exists("ops.online_publishes")


def test_interrupted_publish_completes_on_rerun(env, monkeypatch):
    cfg, lake = env
    gold = write_gold(lake, D1, n=50, views=["video_features", "user_features"])
    record_gate(lake, D1, "pass")
    import reelhouse.serving.writers as writers

    if cfg.online_store.type == "redis":
        monkeypatch.setenv("REELHOUSE__ONLINE_STORE__BATCH_ROWS", "10")
        cfg = load_config("test")

        class FlakySocket:
            sent = 0

            def __init__(self, sock):
                self.sock = sock

            def sendall(self, data):
                FlakySocket.sent += 1
                if FlakySocket.sent == 3:  # the connection drops after two batches of ten
                    raise ConnectionResetError("connection reset by peer (test)")
                return self.sock.sendall(data)

            def __getattr__(self, name):
                return getattr(self.sock, name)

        real_init = writers._ReplyCounter.__init__
        monkeypatch.setattr(writers._ReplyCounter, "__init__", lambda self, sock: real_init(self, FlakySocket(sock)))
    else:
        real_write = writers.SqliteWriter.write
        calls = {"n": 0}

        def flaky(self, view, features, batch):
            calls["n"] += 1
            if calls["n"] == 2:
                raise writers.OnlineStoreError("disk I/O error (test)")
            return real_write(self, view, features, batch)

        monkeypatch.setattr(writers.SqliteWriter, "write", flaky)
    with pytest.raises(OnlineStoreError):
        publish(lake, cfg, D1, views=["video_features", "user_features"])
    ids = ids_for("video_features", 50)
    half = served(cfg, "video_features", ids) + served(cfg, "user_features", ids_for("user_features", 50))
    assert 0 < sum(r["views_1d" if "views_1d" in r else "events_1d"] is not None for r in half) < 100
    monkeypatch.undo()
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__TYPE", cfg.online_store.type)
    monkeypatch.setenv("REELHOUSE__ONLINE_STORE__PROJECT", cfg.online_store.project)
    monkeypatch.setenv("REELHOUSE__PATHS__LAKE", cfg.paths.lake)
    cfg = load_config("test")
    publish(lake, cfg, D1, views=["video_features", "user_features"])
    assert served(cfg, "video_features", ids) == expected(gold["video_features"], "video_features", ids)
    uids = ids_for("user_features", 50)
    assert served(cfg, "user_features", uids) == expected(gold["user_features"], "user_features", uids)


def test_cli_publish_and_get(env, capsys):
    cfg, lake = env
    from reelhouse.cli import EXIT_NOT_GATED, main

    gold = write_gold(lake, D1, n=8)
    assert main(["features", "publish", "--date", D1.isoformat()]) == EXIT_NOT_GATED
    record_gate(lake, D1, "pass")
    assert main(["features", "publish", "--date", D1.isoformat()]) == 0
    capsys.readouterr()
    assert main(["features", "get", "--user", "u_2", "--video", "v_1"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["user_features"]["events_7d"] == gold["user_features"].column("events_7d")[2].as_py()
    assert got["video_features"]["views_1d"] == gold["video_features"].column("views_1d")[1].as_py()
    assert got["creator_features"]["creator_id"] == "c1é0"  # the video's creator, looked up online
    assert main(["features", "get"]) == 2


def test_second_concurrent_redis_publish_is_refused(env):
    cfg, lake = env
    if cfg.online_store.type != "redis":
        pytest.skip("the publish lock is Redis's")
    from reelhouse.serving.writers import RedisWriter

    first = RedisWriter(cfg.online_store.connection_string, project=cfg.online_store.project)
    try:
        with pytest.raises(OnlineStoreError, match="another publish"):
            RedisWriter(cfg.online_store.connection_string, project=cfg.online_store.project)
    finally:
        first.close()
    RedisWriter(cfg.online_store.connection_string, project=cfg.online_store.project).close()


def test_deleted_entities_are_no_longer_served_and_leave_no_trace(env):
    """Erasure: ``delete_entities`` removes a user's values (Feast serves nulls), their key from
    Redis and from the publish log's blobs, and their bytes from the SQLite file; others stay."""
    from reelhouse.serving.writers import open_writer

    cfg, lake = env
    record_gate(lake, D1, "pass")
    gold = write_gold(lake, D1, n=10, views=["user_features"])
    publish(lake, cfg, D1, views=["user_features"])
    ids = ids_for("user_features", 10)
    gone, kept = ids[3], [i for i in ids if i != ids[3]]
    with open_writer(cfg) as w:
        assert w.delete_entities("user_features", "user_id", [gone, "u_never_published"]) == 1
        assert w.delete_entities("user_features", "user_id", [gone]) == 0  # a rerun finds nothing
    assert served(cfg, "user_features", [gone]) == expected(gold["user_features"], "user_features", ["u_absent"])
    assert served(cfg, "user_features", kept) == expected(gold["user_features"], "user_features", kept)
    needle = gone.encode()  # "u_3": no other id or key part contains it
    if cfg.online_store.type == "redis":
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379)
        keys = list(client.scan_iter(match=f"*{cfg.online_store.project}*", count=10_000))
        assert len(keys) >= 9 and not any(needle in k for k in keys)
        blobs = [client.get(k) for k in keys if client.type(k) == b"string"]
        assert blobs and not any(needle in b for b in blobs)
        assert any(kept[0].encode() in b for b in blobs)  # the others are still listed
    else:
        from pathlib import Path

        from reelhouse.serving.writers import under_lake

        data = Path(under_lake(cfg.online_store.path, cfg.paths.lake)).read_bytes()
        assert needle not in data and kept[0].encode() in data
