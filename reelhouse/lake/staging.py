"""Staging folders: where Parquet files of a write wait, inside the table directory, for their commit.

A staged write lives in ``<table>/_staging/<write id>/`` in the Hive layout of the table's
partition columns (``landing_date=2024-06-01/part-….parquet``). Every Delta reader ignores paths
starting with ``_``, so nothing there is visible before (or without) a commit. A write that
commits or fails in Python removes its folder (:func:`discard`); a process killed hard leaves it
behind, and :func:`sweep` (called by :meth:`reelhouse.lake.Lake.vacuum`) removes it later.

On an object store (``s3a://`` tables) a rename is a copy, so the delta-rs bridge commits the
files where Spark wrote them: a staged write lives in ``<table>/staged/<write id>/`` (no leading
``_``, so that Delta's VACUUM — delta-rs and delta-spark — sees a killed write's unreferenced
files and removes them after the retention), and the commit's add actions name those paths.
:func:`create`, :func:`discard` and :func:`parquet_files` work on both (pyarrow filesystems,
:func:`reelhouse.objectstore.filesystem`).
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from typing import Collection
from urllib.parse import unquote

STAGING_DIR = "_staging"
#: the staging folder of a table on an object store (see the module docstring)
OBJECT_STORE_STAGING_DIR = "staged"


def in_place(table_path: str) -> bool:
    """True when staged files are committed where they are written (a table on an object store)
    rather than moved into the partition layout (a local table)."""
    from reelhouse.objectstore import is_object_store_uri

    return is_object_store_uri(table_path)


@dataclass(frozen=True)
class StagedWrite:
    """A staging folder of table ``table`` (from :meth:`reelhouse.lake.Lake.staging_area`): ``path``
    is where to write Parquet files; ``write_id`` (32 hex digits) names the write in file names
    and commit metadata."""

    table: str
    path: str
    write_id: str


def create(table_path: str, table: str) -> StagedWrite:
    """A fresh, empty staging folder ``<table_path>/_staging/<write id>`` (created on local
    filesystems; for a URI only the path is returned) for table ``table`` (``layer.name``)."""
    write_id = uuid.uuid4().hex
    if in_place(table_path):
        return StagedWrite(table, f"{table_path.rstrip('/')}/{OBJECT_STORE_STAGING_DIR}/{write_id}", write_id)
    path = f"{table_path}/{STAGING_DIR}/{write_id}"
    if "://" not in path:
        os.makedirs(path, exist_ok=True)
    return StagedWrite(table, path, write_id)


def discard(staged: StagedWrite, *, keep: Collection[str] = ()) -> None:
    """Delete a staging folder and everything in it, and the ``_staging`` folder when no other
    write is staging (nothing there is visible to readers). On an object store, ``keep`` names
    files (relative to the folder) a commit now references: those stay, the rest go. Never raises
    for missing files."""
    if in_place(staged.path):
        from reelhouse.objectstore import filesystem, list_files

        fs, root = filesystem(staged.path)
        kept = set(keep)
        if not kept:
            try:
                fs.delete_dir(root)
            except (FileNotFoundError, OSError):
                pass
            return
        for rel, _size in list_files(staged.path):
            if rel not in kept:
                fs.delete_file(f"{root}/{rel}")
        return
    shutil.rmtree(staged.path, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(staged.path))  # only when no other write is staging
    except OSError:
        pass


def parquet_files(folder: str) -> list[str]:
    """Data files under ``folder`` (a local path or an object-store URI), relative to it (Spark's
    ``_SUCCESS``/``.crc`` files skipped)."""
    if in_place(folder):
        from reelhouse.objectstore import list_files

        return sorted(r for r, _size in list_files(folder)
                      if r.endswith(".parquet") and not os.path.basename(r).startswith((".", "_")))
    out = []
    for dirpath, _dirs, names in os.walk(folder):
        for f in names:
            if f.endswith(".parquet") and not f.startswith((".", "_")):
                out.append(os.path.relpath(os.path.join(dirpath, f), folder))
    return out


def partition_values(rel_dir: str) -> dict[str, str | None]:
    """Partition values of a Hive-layout folder (``event_date=2024-06-01/landing_date=…``):
    column → URL-decoded text, None for ``__HIVE_DEFAULT_PARTITION__`` (a null partition)."""
    out: dict[str, str | None] = {}
    for seg in rel_dir.split("/"):
        if "=" in seg:
            k, v = seg.split("=", 1)
            v = unquote(v)
            out[k] = None if v == "__HIVE_DEFAULT_PARTITION__" else v
    return out


def sweep(table_path: str, *, retention_hours: float, dry_run: bool, referenced: Collection[str]) -> list[str]:
    """Leftovers of killed writes in a local table's ``_staging`` folder: every file last modified
    at least ``retention_hours`` hours ago (0: every file), except a path in ``referenced`` (paths
    relative to the table directory that the Delta log references; a staged file never is, but
    the log wins). Deletes them unless ``dry_run``, then the folders left empty (``_staging``
    included). Returns the files' paths relative to the table directory (``_staging/<id>/…``),
    sorted. A URI (``://``) or a table without ``_staging`` gives ``[]``.

    Retention 0 also removes the files of a write that is staging right now; keep a retention
    longer than any write when writers may run concurrently.
    """
    root = os.path.join(table_path, STAGING_DIR)
    if "://" in table_path or not os.path.isdir(root):
        return []
    cutoff = time.time() - retention_hours * 3600
    keep = set(referenced)
    found: list[str] = []
    for dirpath, _dirs, names in os.walk(root):
        for f in names:
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, table_path).replace(os.sep, "/")
            if rel in keep:
                continue
            try:
                if os.lstat(path).st_mtime > cutoff:
                    continue
            except FileNotFoundError:  # its write discarded it meanwhile
                continue
            found.append(rel)
    if dry_run:
        return sorted(found)
    for rel in found:
        try:
            os.remove(os.path.join(table_path, rel))
        except FileNotFoundError:
            pass
    for dirpath, _dirs, _names in os.walk(root, topdown=False):  # children before parents
        try:
            os.rmdir(dirpath)  # only empty ones
        except OSError:
            pass
    return sorted(found)
