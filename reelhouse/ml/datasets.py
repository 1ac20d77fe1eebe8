"""Dataset manifests: what a training-dataset build read, what it wrote, and how to rebuild it.

Every build of ``gold.training_examples`` for a date records a manifest — as JSON under
``<lake>/_manifests/gold.training_examples/ds=<ds>/<build_id>.json`` and as a row of the Delta table
``ml.dataset_manifests`` — holding:

``build_id``, ``dataset``, ``ds``, ``dataset_version`` (the Delta version the build committed),
``inputs`` (every input table → the Delta version read), ``partitions`` (the partitions read per
input), ``rows``, ``sampled_negatives``, ``label_rates`` (label → share of rows with 1),
``time_range`` (min/max impression_time, UTC ISO 8601), ``seed``, ``config`` (the training,
trends-threshold and TTL parameters used) and ``content_sha256``: SHA-256 of the partition's rows
sorted by ``example_id``, serialised as an Arrow IPC stream with the catalog schema.

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


def content_hash(table: pa.Table) -> str:
    """SHA-256 (hex) of ``table`` sorted by ``example_id`` and cast to the catalog schema, as an
    Arrow IPC stream: equal hashes mean byte-identical datasets."""
    import pyarrow.ipc as ipc

    from reelhouse.lake.catalog import get_table

    spec = get_table(DATASET)
    t = table.select(spec.column_names).cast(spec.arrow_schema()).sort_by("example_id").combine_chunks()
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, t.schema) as w:
        w.write_table(t, max_chunksize=1 << 20)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _stats(table: pa.Table) -> dict[str, Any]:
    import pyarrow.compute as pc

    n = table.num_rows
    rates = {c: (round(pc.sum(table.column(c)).as_py() / n, 6) if n else 0.0)
             for c in ("label_play", "label_complete", "label_like", "label_long_view")}
    times = table.column("impression_time")
    return {
        "rows": n,
        "sampled_negatives": int(pc.sum(table.column("is_sampled_negative").cast(pa.int64())).as_py() or 0),
        "label_rates": rates,
        "time_range": [pc.min(times).as_py().isoformat() if n else None, pc.max(times).as_py().isoformat() if n else None],
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
    table = lake.read_arrow(DATASET, version=dataset_version, where={"ds": ds})
    build_id = f"{ds.isoformat()}-{uuid.uuid4().hex[:12]}"
    created = datetime.now(timezone.utc)
    manifest = {
        "build_id": build_id,
        "dataset": DATASET,
        "ds": ds.isoformat(),
        "dataset_version": dataset_version,
        "inputs": dict(inputs),
        "partitions": {t: [d.isoformat() for d in v] for t, v in input_windows(ds, config.online_store.ttl_days).items()},
        **_stats(table),
        "seed": config.training.seed,
        "config": {
            "training": {k: getattr(config.training, k) for k in ("label_window_seconds", "long_view_ms", "negative_ratio", "seed")},
            "completion_threshold": config.trends.completion_threshold,
            "ttl_days": dict(config.online_store.ttl_days),
        },
        "content_sha256": content_hash(table),
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
    digest = content_hash(table)
    return {"rows": table.num_rows, "content_sha256": digest, "matches": digest == manifest["content_sha256"], "table": table}
