"""Content hashes of lake tables, for tests that compare two lakes (or one lake before and after an operation) built from the same landing
files (engines, storage, Spark masters): equal row multisets give equal hashes, whatever the
file layout, the engine or the run that wrote them."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa

#: Columns that identify the run that wrote the row, not data: wall-clock times, and
#: ml.dataset_manifests' random build id and the manifest JSON holding it (the manifest's content
#: hash, input versions and label rates are columns of their own, compared).
RUN_IDENTITY = {"_ingested_at", "validated_at", "created_at", "build_id", "manifest_json"}


def table_hash(table: pa.Table, *, ignore: set[str] = frozenset(), float_digits: int | None = None) -> str:
    """SHA-256 over the sorted per-row hashes of ``table`` (JSON of each row, without
    :data:`RUN_IDENTITY` and ``ignore`` columns): equal for equal row multisets. ``float_digits``:
    floating-point columns rounded to that many decimals first (sums computed in another order —
    other executors, other partitions — differ in the last bits: IEEE addition is not associative)."""
    import pyarrow.compute as pc

    cols = [c for c in table.column_names if c not in RUN_IDENTITY | set(ignore)]
    table = table.select(cols)
    if float_digits is not None:
        table = pa.table([pc.round(table.column(c), float_digits) if pa.types.is_floating(table.schema.field(c).type)
                          else table.column(c) for c in cols], names=cols)
    rows = sorted(hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()
                  for r in table.to_pylist())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def lake_hashes(lake, *, ignore: dict[str, set[str]] | None = None,
                float_digits: int | None = None) -> dict[str, tuple[int, str]]:
    """``{table: (rows, table_hash)}`` of every catalog table that exists in ``lake`` (a
    :class:`reelhouse.lake.Lake`), read through delta-rs (``float_digits``: see :func:`table_hash`)."""
    from reelhouse.lake.catalog import TABLES

    out = {}
    for name in sorted(TABLES):
        if lake.exists(name):
            t = lake.read_arrow(name)
            out[name] = (t.num_rows, table_hash(t, ignore=(ignore or {}).get(name, set()), float_digits=float_digits))
    return out
