"""Lakehouse operations: erasure of a user (:mod:`reelhouse.ops.erasure`), per-layer retention
and table maintenance — compaction, Z-order, checkpoints, vacuum (:mod:`reelhouse.ops.maintenance`).
Run by the DAGs ``reelhouse_privacy`` (daily) and ``reelhouse_maintenance`` (weekly) and by
``reelhouse forget`` / ``reelhouse maintain``."""
