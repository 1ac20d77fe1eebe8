"""reelhouse: the nightly lakehouse batch of a short-video app.

The packages follow the data flow (README "Architecture")::

    sources ──landing files──▶ ingest ──bronze/silver──▶ gold ──▶ quality ──gate──▶ serving
    (contract, landing,         (classify, stage,        (daily      (GX suites,        (Feast online
     generator, importers)       Spark transforms)        stats,      KPI checks)         store)
                                                          trends,              └──────▶ ml (training
                                                          features)                      examples,
                                                                                         manifests, model)
                                                                               └──────▶ bi (dbt, dashboard)

``lake`` (the Delta tables: catalog, Lake facade and engines, run lock) sits under all of them;
``config`` and ``spark`` are the composition root; ``pipeline``, ``cli`` and ``notebook`` are the
interfaces (the Airflow DAGs in ``dags/`` and the ``spark_jobs/`` applications wire the same
:data:`reelhouse.pipeline.STEPS`). Nothing under ``reelhouse/`` imports ``spark_jobs``.
"""
