"""Dataset manifests: what a training-dataset build read, what it wrote, and how to rebuild it.

Every build of ``gold.training_examples`` for a date records a manifest — as JSON under
``<lake>/_manifests/gold.training_examples/ds=<ds>/<build_id>.json`` and as a row of the Delta table
``ml.dataset_manifests`` — holding:

``build_id``, ``dataset``, ``ds``, ``dataset_version`` (the Delta version the build committed),
``inputs`` (every input table → the Delta version read), ``partitions`` (the partitions read per
input), ``rows``, ``sampled_negatives``, ``label_rates`` (label → share of rows with 1),
``time_range`` (min/max impression_time, UTC ISO 8601), ``seed``, ``config`` (the training,
trends-threshold and TTL parameters used) and ``content_sha256``: SHA-256 of the partition's rows
sorted by ``example_id``, serialised as an Arrow IPC stream with the catalog schema
(``content_hash_algorithm``: how, see :func:`content_hash`).

:func:`rebuild` recomputes the dataset from a manifest — the same code reading every input at the
recorded version with the recorded parameters — and compares the content hash: equal means the
rebuild is byte-for-byte the dataset that was trained on.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import pyarrow as pa

from reelhouse.ml.training_examples import build, input_windows

if TYPE_CHECKING:  # pragma: no cover
    from reelhouse.config import Config
    from reelhouse.lake import Lake

DATASET = "gold.training_examples"
MANIFESTS_TABLE = "ml.dataset_manifests"


class ManifestError(ValueError):
    """A manifest is unreadable, or a rebuild does not reproduce it."""


#: rows per record batch of the hashed IPC stream (part of the hash's definition)
HASH_CHUNK_ROWS = 1 << 20
#: the content hash new manifests record (``content_hash_algorithm``): canonical record batches,
#: computable over a stream (:func:`partition_hash`)
HASH_ALGORITHM = "arrow-ipc-canonical-v2"
#: manifests without ``content_hash_algorithm`` (recorded before it existed) hashed this way:
#: ``write_table(max_chunksize=…)`` of the sorted table, whose bytes depend on how the table's
#: buffers were laid out in memory, so it cannot be reproduced from a stream
LEGACY_HASH_ALGORITHM = "arrow-ipc-sorted-v1"


def content_hash(table: pa.Table, *, algorithm: str = HASH_ALGORITHM, chunk_rows: int = HASH_CHUNK_ROWS) -> str:
    """SHA-256 (hex) of ``table`` (``gold.training_examples`` rows) sorted by ``example_id`` and
    cast to the catalog schema, serialised as an Arrow IPC stream of ``chunk_rows``-row record
    batches: equal hashes mean identical datasets, value for value.

    ``algorithm``: :data:`HASH_ALGORITHM` (each batch a fresh copy whose buffers hold exactly its
    rows, so the bytes depend on the values only: the digest of :func:`partition_hash`, which
    streams) or :data:`LEGACY_HASH_ALGORITHM` (manifests recorded before the algorithm was
    named). Holds the table and its sorted copy in memory. Raises ``ValueError`` for another
    algorithm."""
    import pyarrow.ipc as ipc

    from reelhouse.lake.catalog import get_table

    spec = get_table(DATASET)
    t = table.select(spec.column_names).cast(spec.arrow_schema()).sort_by("example_id").combine_chunks()
    if algorithm == LEGACY_HASH_ALGORITHM:
        sink = pa.BufferOutputStream()
        with ipc.new_stream(sink, t.schema) as w:
            w.write_table(t, max_chunksize=chunk_rows)
        return hashlib.sha256(sink.getvalue()).hexdigest()
    if algorithm != HASH_ALGORITHM:
        raise ValueError(f"unknown content hash algorithm {algorithm!r} (known: {HASH_ALGORITHM}, {LEGACY_HASH_ALGORITHM})")
    with _CanonicalStream(t.schema, chunk_rows) as stream:
        for batch in t.to_batches():
            stream.add(batch)
    return stream.hexdigest()


class _Unsorted(Exception):
    """The partition's files are not in ``example_id`` order (a partition written before the step
    sorted its output, or by another writer)."""


class _HashingSink:
    """A write-only file object that feeds what is written into SHA-256 (for ``pa.PythonFile``)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.closed = False

    def write(self, data) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class _CanonicalStream:
    """The :data:`HASH_ALGORITHM` stream: rows in (already sorted) record batches of any size go
    out as IPC record batches of exactly ``chunk_rows`` rows (the last one shorter), each a fresh
    copy (``take`` of its rows: offset 0, buffers sized to the rows) so the serialised bytes do
    not depend on how the input was chunked. Holds at most about two chunks."""

    def __init__(self, schema: pa.Schema, chunk_rows: int) -> None:
        import pyarrow.ipc as ipc

        self.schema, self.chunk_rows = schema, chunk_rows
        self.sink = _HashingSink()
        self.writer = ipc.new_stream(pa.PythonFile(self.sink, mode="w"), schema)
        self.pending: list[pa.RecordBatch] = []
        self.held = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.pending.append(batch)
        self.held += batch.num_rows
        while self.held >= self.chunk_rows:
            self._emit(self.chunk_rows)

    def _emit(self, rows: int) -> None:
        import numpy as np

        t = pa.Table.from_batches(self.pending, schema=self.schema)
        head = t.slice(0, rows).combine_chunks().take(pa.array(np.arange(rows, dtype=np.int64)))
        self.writer.write_batch(head.combine_chunks().to_batches()[0])
        rest = t.slice(rows)
        self.pending, self.held = rest.to_batches(), rest.num_rows

    def __enter__(self) -> "_CanonicalStream":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None and self.held:
            self._emit(self.held)
        self.writer.close()

    def hexdigest(self) -> str:
        return self.sink.digest.hexdigest()


def _first_example_id(fragment, column: int) -> str | None:
    """The smallest ``example_id`` of a Parquet file's first row group (footer statistics; None
    when the file has no such statistics)."""
    md = fragment.metadata
    if md.num_row_groups == 0:
        return None
    st = md.row_group(0).column(column).statistics
    return st.min if st is not None and st.has_min_max else None


def partition_hash(lake: "Lake", ds: date, *, version: int | None = None,
                   chunk_rows: int = HASH_CHUNK_ROWS) -> str:
    """:func:`content_hash` (:data:`HASH_ALGORITHM`) of the ``ds`` partition of
    ``gold.training_examples`` at Delta ``version``, computed over record batches: memory stays at
    about two ``chunk_rows`` batches whatever the partition's size.

    The training-examples step writes each partition sorted by ``example_id`` (range-partitioned,
    so every file holds one contiguous range): the files are read in the order of their first id
    (footer statistics) and each batch is checked to continue the order. A partition that is not
    in order (written before the step sorted, or by another writer) is hashed in memory by
    :func:`content_hash` instead — the digest is the same either way."""
    import pyarrow.compute as pc

    from reelhouse.lake.catalog import get_table

    spec = get_table(DATASET)
    schema = spec.arrow_schema()
    dataset = lake.arrow_dataset(DATASET, version=version, where={"ds": ds})
    file_columns = [c for c in spec.column_names if c not in spec.partition_by]
    ds_value = pa.scalar(ds, schema.field("ds").type)
    try:
        keyed = []
        for frag in dataset.get_fragments():
            if not frag.metadata.num_rows:
                continue
            idx = frag.metadata.schema.to_arrow_schema().get_field_index("example_id")
            first = _first_example_id(frag, idx) if idx >= 0 else None
            if first is None:
                raise _Unsorted()
            keyed.append((first, frag))
        keyed.sort(key=lambda kv: kv[0])
        last = None
        with _CanonicalStream(schema, chunk_rows) as stream:
            for _first, frag in keyed:
                for batch in frag.to_batches(columns=file_columns, batch_size=64 * 1024):
                    n = batch.num_rows
                    if n == 0:
                        continue
                    ids = batch.column("example_id")
                    if (last is not None and ids[0].as_py() <= last) or (
                            n > 1 and not pc.all(pc.less(ids.slice(0, n - 1), ids.slice(1))).as_py()):
                        raise _Unsorted()
                    last = ids[n - 1].as_py()
                    arrays = [pa.repeat(ds_value, n) if c == "ds" else batch.column(c) for c in spec.column_names]
                    stream.add(pa.RecordBatch.from_arrays(arrays, names=spec.column_names).cast(schema))
        return stream.hexdigest()
    except _Unsorted:
        return content_hash(lake.read_arrow(DATASET, version=version, where={"ds": ds}), chunk_rows=chunk_rows)


def _stats(lake: "Lake", ds: date, version: int) -> dict[str, Any]:
    """Rows, sampled negatives, label rates and the impression-time range of the partition,
    aggregated batch by batch (only those columns are read)."""
    import pyarrow.compute as pc

    labels = ("label_play", "label_complete", "label_like", "label_long_view")
    dataset = lake.arrow_dataset(DATASET, version=version, where={"ds": ds})
    n = negatives = 0
    sums = dict.fromkeys(labels, 0)
    lo = hi = None
    for batch in dataset.to_batches(columns=[*labels, "is_sampled_negative", "impression_time"]):
        if not batch.num_rows:
            continue
        n += batch.num_rows
        for c in labels:
            sums[c] += pc.sum(batch.column(c)).as_py() or 0
        negatives += pc.sum(batch.column("is_sampled_negative").cast(pa.int64())).as_py() or 0
        mm = pc.min_max(batch.column("impression_time"))
        b_lo, b_hi = mm["min"].as_py(), mm["max"].as_py()
        lo = b_lo if lo is None or (b_lo is not None and b_lo < lo) else lo
        hi = b_hi if hi is None or (b_hi is not None and b_hi > hi) else hi
    return {
        "rows": n,
        "sampled_negatives": int(negatives),
        "label_rates": {c: (round(sums[c] / n, 6) if n else 0.0) for c in labels},
        "time_range": [lo.isoformat() if lo is not None else None, hi.isoformat() if hi is not None else None],
    }


def _erasures_applied(lake: "Lake") -> dict[str, Any]:
    from reelhouse.ops.erasure import erasures_applied

    return erasures_applied(lake)


def manifest_dir(lake_root: str, ds: date) -> str:
    """Folder of the manifests of partition ``ds``: ``<lake>/_manifests/gold.training_examples/ds=YYYY-MM-DD``
    (a local path or an object-store URI)."""
    from reelhouse.objectstore import join

    return join(lake_root, "_manifests", DATASET, f"ds={ds.isoformat()}")


def record_manifest(lake: "Lake", config: "Config", ds: date, *, inputs: Mapping[str, int | None],
                    dataset_version: int) -> dict[str, Any]:
    """Read back the committed partition (at ``dataset_version``), hash it and record the manifest
    (JSON file + a row of ``ml.dataset_manifests``). Returns the manifest with its ``path``."""
    build_id = f"{ds.isoformat()}-{uuid.uuid4().hex[:12]}"
    created = datetime.now(timezone.utc)
    manifest = {
        "build_id": build_id,
        "dataset": DATASET,
        "ds": ds.isoformat(),
        "dataset_version": dataset_version,
        "inputs": dict(inputs),
        "partitions": {t: [d.isoformat() for d in v] for t, v in input_windows(ds, config.online_store.ttl_days).items()},
        **_stats(lake, ds, dataset_version),
        "seed": config.training.seed,
        "config": {
            "training": {k: getattr(config.training, k) for k in ("label_window_seconds", "long_view_ms", "negative_ratio", "seed")},
            "completion_threshold": config.trends.completion_threshold,
            "ttl_days": dict(config.online_store.ttl_days),
        },
        "content_sha256": partition_hash(lake, ds, version=dataset_version),
        "content_hash_algorithm": HASH_ALGORITHM,
        # the erasures this build's inputs reflect (the users they erased are absent from it)
        "erasures": _erasures_applied(lake),
        "created_at": created.isoformat(),
    }
    from reelhouse.objectstore import join, write_bytes

    path = join(manifest_dir(config.paths.lake, ds), f"{build_id}.json")
    write_bytes(path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    manifest["path"] = path
    row = {
        "build_id": [build_id], "dataset": [DATASET], "dataset_version": [dataset_version], "rows": [manifest["rows"]],
        "content_sha256": [manifest["content_sha256"]], "inputs_json": [json.dumps(manifest["inputs"], sort_keys=True)],
        "label_rates_json": [json.dumps(manifest["label_rates"], sort_keys=True)],
        "time_min": [datetime.fromisoformat(manifest["time_range"][0]) if manifest["time_range"][0] else created],
        "time_max": [datetime.fromisoformat(manifest["time_range"][1]) if manifest["time_range"][1] else created],
        "seed": [manifest["seed"]], "manifest_json": [json.dumps({k: v for k, v in manifest.items() if k != "path"})],
        "created_at": [created], "ds": [ds],
    }
    from reelhouse.lake.catalog import get_table

    lake.write_arrow(pa.table(row).cast(get_table(MANIFESTS_TABLE).arrow_schema()), MANIFESTS_TABLE, mode="append")
    return manifest


def load_manifest(path_or_build_id: str, lake: "Lake | None" = None) -> dict[str, Any]:
    """A manifest from its JSON file, or by ``build_id`` from ``ml.dataset_manifests``. Raises
    :class:`ManifestError` when neither resolves."""
    from reelhouse.objectstore import is_object_store_uri, read_bytes

    p = path_or_build_id
    if is_object_store_uri(p) or Path(p).is_file():
        try:
            return json.loads(read_bytes(p).decode("utf-8"))
        except FileNotFoundError:
            if not lake:
                raise ManifestError(f"{p}: no such manifest") from None
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{p}: not a JSON manifest: {exc}") from exc
    if lake is not None and lake.exists(MANIFESTS_TABLE):
        import pyarrow.compute as pc

        t = lake.read_arrow(MANIFESTS_TABLE, columns=["build_id", "manifest_json"],
                            filter=pc.field("build_id") == path_or_build_id)
        if t.num_rows:
            return json.loads(t.column("manifest_json")[0].as_py())
    raise ManifestError(f"no manifest file or build_id {path_or_build_id!r}")


def rebuild(spark: Any, lake: "Lake", config: "Config", manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Recompute the dataset of ``manifest`` from its inputs at the recorded Delta versions with the
    recorded parameters (the current configuration's training/TTL values are replaced by the
    manifest's) and compare content hashes. Returns ``{"rows", "content_sha256", "matches", "table"}``
    (the rebuilt Arrow table); nothing is written."""
    from reelhouse.config import TrainingConfig

    cfgd = manifest["config"]
    cfg = replace(
        config,
        training=TrainingConfig(**cfgd["training"]),
        trends=replace(config.trends, completion_threshold=cfgd["completion_threshold"]),
        online_store=replace(config.online_store, ttl_days=dict(cfgd["ttl_days"])),
    )
    ds = date.fromisoformat(manifest["ds"])
    df = build(spark, lake, cfg, ds, versions=manifest["inputs"])
    table = df.toArrow()
    digest = content_hash(table, algorithm=manifest.get("content_hash_algorithm", LEGACY_HASH_ALGORITHM))
    return {"rows": table.num_rows, "content_sha256": digest, "matches": digest == manifest["content_sha256"], "table": table}
