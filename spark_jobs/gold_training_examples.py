"""Training-examples step: one row per impression of ``ds``, labels and point-in-time features, and its manifest.

``spark-submit spark_jobs/gold_training_examples.py --date YYYY-MM-DD [--run-version N]``. Reads
every input's current Delta version, builds the dataset with
:func:`reelhouse.ml.training_examples.build` (which documents labels, as-of features, sampled
negatives and cohorts), replaces partition ``ds`` of ``gold.training_examples`` (application
transaction ``reelhouse.training_examples.<ds>``) and records the manifest that rebuilds it
(:func:`reelhouse.ml.datasets.record_manifest`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from reelhouse.jobs import StepReport, app_transaction, default_run_version
from reelhouse.ml.datasets import DATASET, record_manifest
from reelhouse.ml.training_examples import INPUTS, build
from reelhouse.pipeline import STEPS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from reelhouse.config import Config
    from reelhouse.lake import Lake

STEP = "training_examples"
OUTPUTS = STEPS[STEP].outputs


@dataclass
class TrainingExamplesReport(StepReport):
    """What a run did: rows written, label rates, input versions, manifest path, seconds."""

    ds: str
    rows: int = 0
    impressions: int = 0
    sampled_negatives: int = 0
    label_rates: dict[str, float] = field(default_factory=dict)
    manifest: str = ""
    seconds: float = 0.0
    message: str = ""


def run(spark: "SparkSession", lake: "Lake", config: "Config", ds: date, *, run_version: int | None = None) -> TrainingExamplesReport:
    """Build and commit ``gold.training_examples`` for ``ds`` (one ``overwrite_partitions`` commit,
    application transaction ``reelhouse.training_examples.<ds>``) and record its manifest."""
    t0 = time.time()
    report = TrainingExamplesReport(ds=ds.isoformat())
    version = default_run_version(run_version)
    versions = {t: lake.version(t) for t in INPUTS}
    # sorted by example_id (range-partitioned: each file one contiguous range), so the manifest's
    # content hash streams the files in order (reelhouse.ml.datasets.partition_hash) and the
    # retrain reads them in example_id order without sorting in memory
    df = build(spark, lake, config, ds, versions=versions).orderBy("ds", "example_id")
    res = lake.write(df, DATASET, mode="overwrite_partitions", partitions={"ds": [ds]},
                     metadata={"ds": ds.isoformat(), "step": STEP}, **app_transaction(STEP, ds, version))
    manifest = record_manifest(lake, config, ds, inputs=versions, dataset_version=res.version)
    report.rows = manifest["rows"]
    report.sampled_negatives = manifest["sampled_negatives"]
    report.impressions = report.rows - report.sampled_negatives
    report.label_rates = manifest["label_rates"]
    report.manifest = manifest["path"]
    report.message = "ok"
    report.seconds = round(time.time() - t0, 3)
    return report


def main(argv: list[str] | None = None) -> int:
    """``spark-submit spark_jobs/gold_training_examples.py --date YYYY-MM-DD``: that date's
    training examples and manifest; prints the report as JSON."""
    from reelhouse.jobs import step_main

    return step_main(run, STEP, argv)


if __name__ == "__main__":
    sys.exit(main())
