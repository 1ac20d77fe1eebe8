"""Gold transforms (``DataFrame -> DataFrame``, no I/O): daily stats per video and hashtag
(:mod:`.daily_stats`), trend scores, trending lists and hashtag rankings (:mod:`.trends`), and the
point-in-time feature tables (:mod:`.features`). The steps in ``spark_jobs/`` read their inputs
through the lake, call these and write the results."""
