"""Ingest: one landing date's JSON Lines files → bronze.events, quarantine.events, silver.events,
silver.videos, silver.video_hashtags and ops.ingest_reconciliation.

:mod:`.classify` checks every landing line against the event contract (a typed event or a
quarantine reason); :mod:`.stage` is the one Spark pass whose Python workers read, classify and
stage bronze, quarantine and typed-event Parquet files; :mod:`.transforms` builds the rows of every
table and holds the Spark transforms (deduplication, videos, hashtags, reconciliation). The step
``spark_jobs/ingest.py`` wires them to the lake.
"""
