"""The write checks, in one place: every write of either storage engine goes through them.

- **options** (:func:`write_filters`): the write mode is known, ``app_id``/``app_version`` come
  together, and ``partitions=`` goes with ``mode="overwrite_partitions"`` and only with it;
- **schema** (:func:`conform_dataframe`, :func:`conform_arrow`, :func:`check_arrow_columns`): the
  data has exactly the catalog's columns (missing or extra ones raise :class:`LakeWriteError`)
  and is cast to the catalog's types;
- **idempotency** (:func:`already_committed`): a write whose application transaction
  ``(app_id, app_version)`` is at or below the version the table records for ``app_id`` is a no-op;
- **partition scope** (:func:`check_partition_scope`): with ``mode="overwrite_partitions"``,
  data outside the named partitions is refused before commit;
- **nullability** (:func:`check_not_null`): nulls in a non-nullable column are refused before
  commit;
- **merge keys** (:func:`check_unique_keys`): a merge source is unique on its ``on`` columns.

Options, schema and idempotency are checked by :class:`reelhouse.lake.Lake` before it hands a
write to its engine. Partition scope, nullability and merge keys need the data: the delta-rs
bridge checks them on the staged files (partition folder of each file, Parquet footer null
counts) and the Arrow merge source; the delta-spark engine leaves partition scope and nullability
to Delta's own writer (``replaceWhere`` constraint, ``NOT NULL`` columns) and raises its refusals
as the same :class:`LakeWriteError`, and checks merge keys on the source (Delta's ``MERGE``
cardinality check only catches duplicates that match a target row).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence, get_args

import pyarrow as pa

from reelhouse.lake.catalog import TableSpec, spark_schema
from reelhouse.lake.errors import LakeWriteError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

#: ``append`` adds files; ``overwrite_partitions`` atomically replaces the partitions named by
#: ``partitions=`` (Delta ``replaceWhere``); ``overwrite`` replaces the whole table.
WriteMode = Literal["append", "overwrite_partitions", "overwrite"]
WRITE_MODES: tuple[str, ...] = get_args(WriteMode)
#: Partition selection: ``{"event_date": [date(2024, 1, 1), ...]}`` (values or a single value).
PartitionSpec = Mapping[str, Any]
#: delta-rs partition filters (a conjunction): ``[("event_date", "in", ["2024-01-01"]),
#: ("landing_date", "=", "2024-01-02")]``, values as ISO strings.
PartitionFilters = list[tuple[str, str, Any]]


def iso(v: Any) -> str:
    """The partition-value text of ``v``: ISO 8601 for dates and datetimes, ``str`` otherwise."""
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return str(v)


def partition_filters(spec: TableSpec, where: PartitionSpec | None) -> PartitionFilters | None:
    """Turn ``{"col": value | [values]}`` into delta-rs partition filters (None for no filter).

    Raises ``ValueError`` for a column that is not a partition column of ``spec`` and for an
    empty value list.
    """
    if not where:
        return None
    out: PartitionFilters = []
    for col, val in where.items():
        if col not in spec.partition_by:
            raise ValueError(
                f"{spec.name}: {col!r} is not a partition column (partition columns: {list(spec.partition_by)})"
            )
        if isinstance(val, (list, tuple, set, frozenset)):
            vals = sorted({iso(v) for v in val})
            if not vals:
                raise ValueError(f"{spec.name}: empty value list for partition column {col!r}")
            out.append((col, "in", vals))
        else:
            out.append((col, "=", iso(val)))
    return out


def matches(filters: PartitionFilters | None, pv: Mapping[str, str | None]) -> bool:
    """Whether partition values ``pv`` (column → ISO text, None for a null partition) satisfy
    every filter (no filters: True)."""
    for col, op, val in filters or []:
        v = pv.get(col)
        if op == "=" and v != val:
            return False
        if op == "in" and v not in val:
            return False
    return True


def write_filters(
    spec: TableSpec,
    *,
    mode: str,
    partitions: PartitionSpec | None,
    app_id: str | None,
    app_version: int | None,
) -> PartitionFilters | None:
    """Check a write's options and return the partition filters it replaces (None unless
    ``mode="overwrite_partitions"``).

    Raises ``ValueError`` for an unknown mode, for ``app_id`` without ``app_version`` (or the
    reverse), for ``mode="overwrite_partitions"`` without ``partitions`` and for ``partitions``
    with another mode (it would be ignored), and as :func:`partition_filters` does.
    """
    if mode not in WRITE_MODES:
        raise ValueError(f"unknown write mode {mode!r}")
    if (app_id is None) != (app_version is None):
        raise ValueError("app_id and app_version go together")
    if mode == "overwrite_partitions" and not partitions:
        raise ValueError("mode='overwrite_partitions' needs partitions={col: [values]}")
    if mode != "overwrite_partitions" and partitions:
        raise ValueError(f"partitions= only goes with mode='overwrite_partitions' (mode={mode!r} would ignore it)")
    return partition_filters(spec, partitions) if mode == "overwrite_partitions" else None


def already_committed(recorded: int | None, app_version: int | None) -> bool:
    """Whether a write with application version ``app_version`` is already in the table, given
    the version ``recorded`` for its ``app_id`` (None: never committed, or no app transaction)."""
    return recorded is not None and app_version is not None and recorded >= app_version


def check_partition_scope(spec: TableSpec, filters: PartitionFilters | None, pv: Mapping[str, str | None]) -> None:
    """Refuse data of partition ``pv`` when a partition overwrite replaces other partitions.

    Raises :class:`LakeWriteError` ("rows in partition … are outside the partitions being
    replaced") when ``filters`` is set and ``pv`` does not satisfy it.
    """
    if filters and not matches(filters, pv):
        raise LakeWriteError(
            f"{spec.name}: rows in partition {dict(pv)} are outside the partitions being replaced {filters}"
        )


def check_not_null(spec: TableSpec, column: str, null_count: int, *, where: str) -> None:
    """Refuse ``null_count`` > 0 nulls in ``column`` when the catalog declares it non-nullable
    (columns not in the catalog are not checked). ``where``: the file, for the message.
    Raises :class:`LakeWriteError`."""
    if null_count and not next((c.nullable for c in spec.columns if c.name == column), True):
        raise LakeWriteError(f"{spec.name}: non-nullable column {column!r} has {null_count} nulls in {where}")


def conform_dataframe(df: "DataFrame", spec: TableSpec) -> "DataFrame":
    """A Spark DataFrame with exactly the catalog's columns, in catalog order, cast to the
    catalog's Spark types (:func:`reelhouse.lake.catalog.spark_schema`; lazy, no Spark job).

    Raises :class:`LakeWriteError` naming the missing and extra columns when the column sets differ.
    """
    from pyspark.sql import functions as F

    missing = [c for c in spec.column_names if c not in df.columns]
    extra = [c for c in df.columns if c not in spec.column_names]
    if missing or extra:
        raise LakeWriteError(f"{spec.name}: DataFrame columns do not match the catalog: missing={missing} extra={extra}")
    schema = spark_schema(spec)
    return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def check_arrow_columns(table: pa.Table, spec: TableSpec) -> None:
    """Raise :class:`LakeWriteError` unless the Arrow table has exactly the catalog's columns (any order)."""
    if sorted(table.column_names) != sorted(spec.column_names):
        raise LakeWriteError(f"{spec.name}: Arrow columns do not match the catalog: {sorted(table.column_names)}")


def conform_arrow(table: pa.Table, spec: TableSpec) -> pa.Table:
    """The Arrow table with the catalog's columns in catalog order, cast to
    :meth:`TableSpec.arrow_schema` (timestamps µs UTC). Raises :class:`LakeWriteError` when the
    column sets differ and ``pyarrow.ArrowInvalid`` when a value does not cast."""
    check_arrow_columns(table, spec)
    return table.select(spec.column_names).cast(spec.arrow_schema())


def check_unique_keys(source: pa.Table, spec: TableSpec, on: Sequence[str]) -> None:
    """Raise :class:`LakeWriteError` when the merge source has two rows with the same ``on`` key."""
    keys = source.select(list(on))
    if keys.group_by(list(on)).aggregate([]).num_rows != keys.num_rows:
        raise LakeWriteError(f"{spec.name}: merge source has duplicate keys on {list(on)}")
