"""The quality gate between the gold tables and everything that publishes them: Great
Expectations suites and KPI checks over one date's partitions (:mod:`.gate`)."""
