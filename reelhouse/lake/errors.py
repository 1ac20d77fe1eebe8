"""The lake's exceptions (raised by every module of :mod:`reelhouse.lake`)."""

from __future__ import annotations


class LakeError(RuntimeError):
    """Base class of lake errors: a table that does not exist yet, an unknown storage engine, an
    operation the lake cannot do on this root (e.g. ``repair_stats`` on a remote URI)."""


class LakeWriteError(LakeError):
    """A write was refused before commit (rows outside the replaced partitions, nulls in a
    non-nullable column, schema mismatch, duplicate merge keys). Nothing was committed."""
