"""reelhouse_dbt: build the BI marts (``dbt/``) after the nightly's quality gate passed a day.

Thin by design: schedule (the ``reelhouse.gate_passed`` Asset), wiring and docs. The dbt project is
rendered by Astronomer Cosmos as one ``dbt run`` task per model in ``ref()`` order, then one ``dbt test`` of the project;
the work around it is ``reelhouse.bi.dbt_runner``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pendulum
from airflow.sdk import DAG, Asset, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

from reelhouse.bi.dbt_runner import DBT_LS_FILE, DBT_PROJECT_DIR, task_env
from reelhouse.config import get_config
from reelhouse.pipeline import asset_uri

_cfg = get_config()
TARGET = os.environ.get("REELHOUSE_DBT_TARGET", "duckdb")  # duckdb (embedded) | spark (dbt/profiles.yml)
GATE_PASSED = Asset(name="reelhouse.gate_passed", uri=asset_uri("ops.gate_passed", _cfg.paths.lake))
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

DOC_MD = f"""
### reelhouse_dbt

Runs whenever `reelhouse_nightly` updates the **`reelhouse.gate_passed`** Asset, i.e. after a day's
gold tables passed the quality gate. Builds the dbt project in `dbt/` (target `{TARGET}`):

1. `ensure_sources` creates any missing source table empty from the catalog (e.g.
   `ml.model_promotions` before the first retrain) and, on the embedded target, the per-database
   pseudonymisation key file when `$REELHOUSE_PSEUDONYM_KEY` is not set (production: the variable
   must be set, the task fails otherwise).
2. `dbt` — one `dbt run --select <model>` task per model (`staging`, `intermediate`, `marts`,
   rendered by Cosmos from the committed `dbt ls` output `dbt/cosmos_dbt_ls.json`) in `ref()`
   order, then **one `dbt test` of the whole project after every model is built**
   (`TestBehavior.AFTER_ALL`). Per-model `dbt build` ran a relationship test as soon as one side
   was built — on a fresh BI database the other side did not exist yet (`Table with name
   stg_silver__video_hashtags does not exist`), and later it compared against the previous run's
   staging copy. Staging models copy their Delta source's current snapshot into the BI database
   when they run (dbt/README.md: why), so the tests see this run's copies.
3. `docs_generate` writes the dbt docs site next to the database (`<lake>/_bi/dbt_target/`).

The embedded database is one DuckDB file (`<lake>/_bi/reelhouse.duckdb`): DuckDB takes one writer
at a time, so this DAG runs one task at a time (`max_active_tasks=1`) and one run at a time.
Rebuild by hand: `reelhouse dbt build`.
"""

with DAG(
    dag_id="reelhouse_dbt",
    description="dbt staging → intermediate → marts over the gated lake (Cosmos, one task per model + tests)",
    schedule=[GATE_PASSED],
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=1,
    doc_md=DOC_MD,
    tags=["reelhouse", "dbt", "bi"],
    default_args={"retries": 1, "retry_delay": pendulum.duration(minutes=1)},
) as dag:

    @task(task_id="ensure_sources", retries=0,
          doc_md="Create missing dbt source tables empty (Lake.ensure) and the embedded pseudonym key file.")
    def ensure_sources_task() -> list[str]:
        from reelhouse.bi.dbt_runner import ensure_sources, pseudonym_key
        from reelhouse.config import get_config
        from reelhouse.lake import Lake

        cfg = get_config()
        created = ensure_sources(Lake.from_config(cfg))
        if TARGET == "duckdb":
            pseudonym_key(cfg)  # raises PseudonymKeyError in production without $REELHOUSE_PSEUDONYM_KEY
        print(f"created empty: {created or 'none'}", flush=True)
        return created

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(dbt_project_path=DBT_PROJECT_DIR, env_vars=task_env(_cfg, target=TARGET),
                                     install_dbt_deps=False),
        profile_config=ProfileConfig(profile_name="reelhouse", target_name=TARGET,
                                     profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml"),
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.LOCAL, dbt_executable_path=DBT_EXECUTABLE,
                                         invocation_mode=InvocationMode.SUBPROCESS),
        # the graph from dbt/cosmos_dbt_ls.json (reelhouse.bi.dbt_runner.write_dbt_ls_file): parsing this file runs no
        # dbt (a `dbt ls` takes longer than Airflow's 30 s import timeout on a busy 2-core worker)
        render_config=RenderConfig(load_method=LoadMode.DBT_LS_FILE, dbt_ls_path=DBT_LS_FILE,
                                   test_behavior=TestBehavior.AFTER_ALL),
    )

    @task(task_id="docs_generate", doc_md="`dbt docs generate` → <lake>/_bi/dbt_target/ (index.html, catalog.json).")
    def docs_generate() -> dict:
        from reelhouse.bi.dbt_runner import run_dbt
        from reelhouse.config import get_config

        result = run_dbt(get_config(), ["docs", "generate", "--target", TARGET])
        print(result.output[-4000:], flush=True)
        if not result.success:
            raise RuntimeError(f"dbt docs generate failed: {result.summary()}")
        return {"seconds": round(result.seconds, 1)}

    ensure_sources_task() >> dbt >> docs_generate()
