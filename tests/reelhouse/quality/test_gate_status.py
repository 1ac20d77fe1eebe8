"""gate_status: the recorded verdict of a date, as publish and model promotion read it."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from reelhouse.lake import Lake
from reelhouse.lake.catalog import get_table
from reelhouse.quality.gate import RESULTS_TABLE, gate_status

D1 = dt.date(2024, 6, 1)


def record(lake: Lake, ds: dt.date, verdicts: list[str]) -> None:
    """Replace ``ds``'s partition of ops.quality_results with one row per verdict."""
    spec = get_table(RESULTS_TABLE)
    n = len(verdicts)
    row = {c: [None] * n for c in spec.column_names}
    row.update(table_name=["x"] * n, suite=["x"] * n, expectation=[f"e{i}" for i in range(n)],
               expectation_type=["x"] * n, success=[v == "pass" for v in verdicts], severity=["block"] * n,
               verdict=verdicts, run_id=["r"] * n, validated_at=[dt.datetime.now(dt.timezone.utc)] * n, ds=[ds] * n)
    lake.write_arrow(pa.table(row).cast(spec.arrow_schema()), RESULTS_TABLE, mode="overwrite_partitions",
                     partitions={"ds": [ds]})


def test_gate_status_per_date(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    assert gate_status(lake, D1) is None  # the gate never ran: no table
    record(lake, D1, ["pass", "pass"])
    assert gate_status(lake, D1) == "pass"
    assert gate_status(lake, D1 + dt.timedelta(days=1)) is None  # table exists, date has no rows
    record(lake, D1, ["pass", "warn"])
    assert gate_status(lake, D1) == "warn"
    record(lake, D1, ["warn", "block", "pass"])
    assert gate_status(lake, D1) == "block"  # any block wins
    d2 = D1 + dt.timedelta(days=1)
    record(lake, d2, ["warn"])
    assert (gate_status(lake, D1), gate_status(lake, d2)) == ("block", "warn")  # dates are independent
