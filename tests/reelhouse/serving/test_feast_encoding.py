"""The vectorised encoders produce exactly Feast's bytes (values, entity keys, timestamps, fields)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from reelhouse.serving import feast_encoding as fe

feast_type_map = pytest.importorskip("feast.type_map")
from feast.infra.key_encoding_utils import serialize_entity_key  # noqa: E402
from feast.infra.online_stores.helpers import _mmh3, _redis_key  # noqa: E402
from feast.protos.feast.types.EntityKey_pb2 import EntityKey  # noqa: E402
from feast.protos.feast.types.Value_pb2 import Value  # noqa: E402
from feast.value_type import ValueType  # noqa: E402
from google.protobuf.timestamp_pb2 import Timestamp  # noqa: E402

RNG = np.random.default_rng(3)
CASES = {
    "int64": (pa.array([None, 0, 1, 127, 128, 16383, 16384, 2**31 - 1, -1, -(2**63), 2**63 - 1, 2**35]
                       + [int(x) for x in RNG.integers(-(2**62), 2**62, 300)], pa.int64()), ValueType.INT64),
    "int32": (pa.array([None, 0, 1, -1, 2**31 - 1, -(2**31), 300], pa.int32()), ValueType.INT32),
    "double": (pa.array([None, 0.0, -0.0, 1.5, float("nan"), 1e300, -3.25, 5e-324], pa.float64()), ValueType.DOUBLE),
    "string": (pa.array([None, "", "a", "中文#🎉", "x" * 300, "dança"], pa.string()), ValueType.STRING),
    "string_list": (pa.array([None, [], ["a"], ["中文", "", "b" * 200]], pa.list_(pa.string())), ValueType.STRING_LIST),
    "double_list": (pa.array([None, [], [1.5], [0.0, 2.0, -1e10]], pa.list_(pa.float64())), ValueType.DOUBLE_LIST),
}


def _feast(values, value_type):
    return [v.SerializeToString() for v in feast_type_map.python_values_to_proto_values(values, value_type)]


@pytest.mark.parametrize("kind", list(CASES))
def test_values_are_byte_identical_to_feast(kind):
    arr, value_type = CASES[kind]
    assert fe.encode_values(arr).to_pylist() == _feast(arr.to_pylist(), value_type)


def test_sliced_and_chunked_inputs():
    arr, vt = CASES["string_list"]
    assert fe.encode_values(arr.slice(2)).to_pylist() == _feast(arr.slice(2).to_pylist(), vt)
    chunked = pa.chunked_array([CASES["int64"][0].slice(0, 5), CASES["int64"][0].slice(5, 7)])
    assert fe.encode_values(chunked).to_pylist() == _feast(chunked.to_pylist(), ValueType.INT64)


def test_varint_lengths_at_every_boundary():
    edges = [0] + [v for k in range(1, 9) for v in ((1 << (7 * k)) - 1, 1 << (7 * k))] + [2**63 - 1, -1]
    out = fe.varint(np.array(edges, dtype=np.int64)).to_pylist()
    assert [len(b) for b in out] == [1] + [n for k in range(1, 9) for n in (k, k + 1)] + [9, 10]
    assert out == [Value(int64_val=v).SerializeToString()[1:] for v in edges]


def test_entity_keys_match_feast_for_redis_and_sqlite():
    ids = pa.array(["u1", "中文", "x" * 70, ""])
    protos = [EntityKey(join_keys=["user_id"], entity_values=[Value(string_val=i)]) for i in ids.to_pylist()]
    assert fe.entity_keys(ids, "user_id", project="reelhouse").to_pylist() == [_redis_key("reelhouse", p) for p in protos]
    assert fe.entity_keys(ids, "user_id").to_pylist() == [serialize_entity_key(p, 3) for p in protos]
    with pytest.raises(ValueError, match="null entity"):
        fe.entity_keys(pa.array(["a", None]), "user_id")


def test_timestamps_and_field_names():
    moments = [dt.datetime(2024, 6, 2, tzinfo=dt.timezone.utc), dt.datetime(2024, 6, 2, 0, 0, 1, 250, tzinfo=dt.timezone.utc)]
    want = []
    for m in moments:
        t = Timestamp()
        t.FromDatetime(m)
        want.append(t.SerializeToString())
    secs = np.array([int(m.timestamp()) for m in moments])
    nanos = np.array([m.microsecond * 1000 for m in moments])
    assert fe.timestamps(secs, nanos).to_pylist() == want
    assert fe.field_name("video_features", "views_7d") == _mmh3("video_features:views_7d")
    assert fe.ts_field_name("video_features") == b"_ts:video_features"


def test_unsupported_type_is_a_clear_error():
    with pytest.raises(TypeError, match="no Feast online encoding"):
        fe.encode_values(pa.array([dt.datetime(2024, 1, 1)]))
