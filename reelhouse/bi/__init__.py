"""Business intelligence: the dbt project's runner and DuckDB sources (:mod:`.dbt_runner`), the
pseudonymisation plugin dbt loads (:mod:`.pseudonym`) and the trend dashboard's queries over the
marts (:mod:`.dashboard`)."""
