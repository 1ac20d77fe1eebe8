"""The BI layer: the dbt project in ``dbt/`` over the lake's Delta tables, built into one DuckDB file.

What lives where (embedded default, DuckDB):

- the database: ``<lake root>/_bi/reelhouse.duckdb`` (:func:`duckdb_path`), schemas ``staging``
  (views), ``intermediate`` and ``marts`` (tables), plus one schema per source layer (``silver``,
  ``gold``, ``ops``, ``ml``) holding the DuckDB copies of the Delta source tables dbt-duckdb's
  delta plugin makes when a staging model runs (see ``dbt/README.md``: why copies, not views);
- dbt's ``target/`` (manifest, run results, the ``dbt docs generate`` site) and ``logs/``: next to
  the database, ``<lake root>/_bi/dbt_target/`` and ``<lake root>/_bi/dbt_logs/``, so the docs
  describe that lake's database and the repository stays clean;
- the pseudonymisation key: ``$REELHOUSE_PSEUDONYM_KEY``. Without it, :func:`pseudonym_key` raises
  :class:`PseudonymKeyError` in the ``cluster`` environment (production); in the embedded
  environments (``local``, ``test``) it generates a random 256-bit key once per database, in
  ``<database folder>/pseudonym.key`` (mode 0600), and reuses it, so ``user_key`` values stay stable
  across runs of the same lake. The key never appears in a file dbt writes (compiled SQL,
  manifest): dbt's DuckDB profile hands it to each DuckDB connection through the
  :mod:`reelhouse.bi.pseudonym` plugin (a DuckDB variable the SQL reads with ``getvariable``).

dbt runs in a child process (:func:`run_dbt`), not through ``dbtRunner`` in this process:
dbt-duckdb keeps a process-wide DuckDB environment (and the file's write lock) open after the
invocation returns, and dbt reads its settings from ``os.environ``, which would put the key in the
caller's environment. A child process gets exactly :func:`dbt_env` and releases the file when it
exits.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from reelhouse.config import PROJECT_ROOT

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

    from reelhouse.config import Config
    from reelhouse.lake import Lake

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_sources.yml"
DBT_LS_FILE = DBT_PROJECT_DIR / "cosmos_dbt_ls.json"
# the keys Cosmos' own `dbt ls` asks for (cosmos.dbt.graph.DbtGraph.run_dbt_ls); models and tests only
DBT_LS_ARGS = ("--quiet", "ls", "--resource-types", "model", "test", "--output", "json", "--output-keys",
               "name", "unique_id", "resource_type", "depends_on", "original_file_path", "tags", "config", "fqn")
KEY_ENV = "REELHOUSE_PSEUDONYM_KEY"
KEY_FILE_ENV = "REELHOUSE_PSEUDONYM_KEY_FILE"
PRODUCTION_ENVS = frozenset({"cluster"})
MARTS = (
    "fct_daily_engagement", "fct_hashtag_daily", "mart_trending_hashtags", "mart_trending_videos",
    "dim_videos", "dim_hashtags", "mart_creator_leaderboard", "mart_model_quality",
    "mart_quality_verdicts", "mart_data_freshness",
)


class BIError(RuntimeError):
    """Base class of BI-layer errors."""


class PseudonymKeyError(BIError):
    """No pseudonymisation key: ``$REELHOUSE_PSEUDONYM_KEY`` is unset in a production environment."""


def _local_root(config: "Config") -> Path:
    """The lake's local folder: the lake itself, or for a lake on an object store its machine-local
    state folder (:func:`reelhouse.serving.writers.local_state_dir`; DuckDB needs a local file)."""
    from reelhouse.serving.writers import local_state_dir

    return Path(local_state_dir(config.paths.lake))


def duckdb_path(config: "Config", duckdb_file: str | os.PathLike | None = None) -> Path:
    """The DuckDB file dbt builds: ``duckdb_file`` when given (tests, a scratch copy), else
    ``<paths.lake>/_bi/reelhouse.duckdb`` — for a lake on an object store, ``_bi/reelhouse.duckdb``
    in the lake's local state folder (``$REELHOUSE_STATE_DIR/<bucket>/<prefix>/``): the sources are
    read from the store, the database file is local."""
    if duckdb_file is not None:
        return Path(duckdb_file).resolve()
    return _local_root(config) / "_bi" / "reelhouse.duckdb"


def pseudonym_key(config: "Config", duckdb_file: str | os.PathLike | None = None, *,
                  environ: Mapping[str, str] | None = None) -> str:
    """The key user ids are hashed with (``sha256(key || ':' || id)``, see ``dbt/macros/pseudonymise.sql``).

    ``$REELHOUSE_PSEUDONYM_KEY`` when set (must be at least 16 characters). Otherwise, in a
    production environment (``config.env`` in :data:`PRODUCTION_ENVS`) raises
    :class:`PseudonymKeyError`; in an embedded one reads — or creates once, 64 hex characters,
    mode 0600 — ``pseudonym.key`` next to the DuckDB file (:func:`duckdb_path`)."""
    environ = os.environ if environ is None else environ
    key = environ.get(KEY_ENV, "")
    if key:
        if len(key) < 16:
            raise PseudonymKeyError(f"${KEY_ENV} is too short ({len(key)} characters; use at least 16, e.g. 64 hex)")
        return key
    if config.env in PRODUCTION_ENVS:
        raise PseudonymKeyError(
            f"${KEY_ENV} is not set: the marts pseudonymise user ids with a keyed hash and the "
            f"{config.env!r} environment never generates a key (set it from your secret store)"
        )
    key_file = key_file_path(config, duckdb_file)
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return key_file.read_text(encoding="ascii").strip()


def key_file_path(config: "Config", duckdb_file: str | os.PathLike | None = None) -> Path:
    """Where the embedded per-database key lives: ``pseudonym.key`` next to :func:`duckdb_path`."""
    return duckdb_path(config, duckdb_file).parent / "pseudonym.key"


def task_env(config: "Config", duckdb_file: str | os.PathLike | None = None, *, target: str = "duckdb") -> dict[str, str]:
    """The non-secret environment of a dbt process, safe to put in a DAG definition: computed
    without touching any file. ``REELHOUSE_LAKE_ROOT``, telemetry off (``DO_NOT_TRACK``,
    ``DBT_SEND_ANONYMOUS_USAGE_STATS``) and, for the ``duckdb`` target, ``REELHOUSE_DUCKDB_PATH``
    and ``REELHOUSE_PSEUDONYM_KEY_FILE`` (the embedded key file :func:`pseudonym_key` creates; the
    dbt plugin reads it only when ``$REELHOUSE_PSEUDONYM_KEY`` is unset)."""
    from reelhouse.objectstore import delta_uri

    env = {
        # delta-rs (dbt-duckdb's delta plugin) names object-store tables s3://
        "REELHOUSE_LAKE_ROOT": delta_uri(config.paths.lake.removeprefix("file://").rstrip("/")),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    if target == "duckdb":
        env["REELHOUSE_DUCKDB_PATH"] = str(duckdb_path(config, duckdb_file))
        if config.env not in PRODUCTION_ENVS:
            env[KEY_FILE_ENV] = str(key_file_path(config, duckdb_file))
    return env


def dbt_env(config: "Config", duckdb_file: str | os.PathLike | None = None, *, key: str | None = None,
            environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables a dbt process over this lake needs (to add to ``os.environ``):
    :func:`task_env` plus ``REELHOUSE_PSEUDONYM_KEY`` (``key`` or :func:`pseudonym_key`, which may
    create the embedded key file), ``DBT_PROFILES_DIR`` / ``DBT_PROJECT_DIR`` (``dbt/``) and
    ``DBT_TARGET_PATH`` / ``DBT_LOG_PATH`` (``dbt_target/`` and ``dbt_logs/`` next to the
    database). Raises :class:`PseudonymKeyError` / :class:`BIError`."""
    from reelhouse.objectstore import delta_storage_options

    db = duckdb_path(config, duckdb_file)
    # a lake on an object store: delta-rs in the dbt process reads the store's options from AWS_*
    # variables (the environment of that child process only, never a file or a command line)
    store = {k.upper(): v for k, v in delta_storage_options(config.object_store, config.paths.lake,
                                                             environ=environ).items() if k.upper().startswith("AWS_")}
    return {
        **store,
        **task_env(config, duckdb_file),
        KEY_ENV: key if key is not None else pseudonym_key(config, duckdb_file, environ=environ),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(db.parent / "dbt_target"),
        "DBT_LOG_PATH": str(db.parent / "dbt_logs"),
    }


def source_tables() -> list[str]:
    """Every lake table the dbt project reads (``layer.table``), from ``dbt/models/staging/_sources.yml``."""
    import yaml

    spec = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))
    return [f"{s['name']}.{t['name']}" for s in spec["sources"] for t in s["tables"]]


def ensure_sources(lake: "Lake") -> list[str]:
    """Create every missing source table empty, from the catalog schema (:meth:`Lake.ensure`), so the
    marts build before the first retrain (``ml.model_promotions``) or gate run. Returns the names
    created (empty when all existed). Writes into ``lake``: tests use a lake of their own."""
    created = []
    for name in source_tables():
        if not lake.exists(name):
            lake.ensure(name)
            created.append(name)
    return created


@dataclass
class DbtResult:
    """One dbt invocation: ``success`` (exit code 0), ``args``, wall ``seconds``, ``returncode``,
    ``nodes`` (from ``run_results.json``: ``unique_id``, ``status``, ``message``, ``seconds``;
    empty for commands without results, e.g. ``deps``/``parse``), ``output`` (stdout + stderr)."""

    success: bool
    args: list[str]
    seconds: float
    returncode: int
    output: str
    nodes: list[dict[str, Any]] = field(default_factory=list)

    def failures(self) -> list[dict[str, Any]]:
        """Nodes that errored or failed (tests with ``warn`` severity are not failures)."""
        return [n for n in self.nodes if n["status"] in ("error", "fail", "runtime error")]

    def summary(self) -> str:
        """One line: the dbt command, OK/FAILED, seconds and result counts by status."""
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n["status"]] = counts.get(n["status"], 0) + 1
        state = "OK" if self.success else f"FAILED (exit {self.returncode})"
        return f"dbt {' '.join(self.args)}: {state} in {self.seconds:.1f}s " + json.dumps(counts, sort_keys=True)


def dbt_executable() -> str:
    """The ``dbt`` entry point of this Python environment (next to ``sys.executable``), else on PATH."""
    here = Path(sys.executable).parent / "dbt"
    if here.exists():
        return str(here)
    found = shutil.which("dbt")
    if not found:
        raise BIError("dbt is not installed in this environment (dbt-core + dbt-duckdb)")
    return found


def run_dbt(config: "Config", args: Sequence[str], duckdb_file: str | os.PathLike | None = None, *,
            key: str | None = None, timeout: float | None = 3600, echo: bool = False) -> DbtResult:
    """Run ``dbt <args>`` over this lake's sources into :func:`duckdb_path` (a child process with
    :func:`dbt_env`; ``--project-dir``/``--profiles-dir`` are ``dbt/``). ``echo`` streams dbt's
    output to this process's stdout. Never raises for a failing dbt command: check
    :attr:`DbtResult.success`. Raises :class:`PseudonymKeyError` / :class:`BIError` before running."""
    env = {**os.environ, **dbt_env(config, duckdb_file, key=key)}
    db = Path(env["REELHOUSE_DUCKDB_PATH"])
    db.parent.mkdir(parents=True, exist_ok=True)
    cmd = [dbt_executable(), *args]
    t0 = time.time()
    results_file = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    before = results_file.stat().st_mtime_ns if results_file.exists() else None
    if echo:
        proc = subprocess.Popen(cmd, cwd=DBT_PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        rc = proc.wait(timeout=timeout)
        output = "".join(lines)
    else:
        out = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=timeout)
        rc, output = out.returncode, out.stdout + out.stderr
    nodes: list[dict[str, Any]] = []
    if results_file.exists() and results_file.stat().st_mtime_ns != before:
        data = json.loads(results_file.read_text(encoding="utf-8"))
        nodes = [{"unique_id": r["unique_id"], "status": r["status"], "message": r.get("message"),
                  "seconds": r.get("execution_time")} for r in data.get("results", [])]
    return DbtResult(rc == 0, list(args), time.time() - t0, rc, output, nodes)


def dbt_ls_lines(config: "Config", duckdb_file: str | os.PathLike | None = None) -> list[str]:
    """``dbt ls`` of the project's models and tests as Cosmos reads it (one JSON object a line,
    sorted by unique_id). Raises :class:`BIError` when dbt fails. No database access."""
    result = run_dbt(config, list(DBT_LS_ARGS), duckdb_file, key="unused-by-dbt-ls-0000", timeout=900)
    if not result.success:
        raise BIError(f"dbt ls failed:\n{result.output[-3000:]}")
    nodes = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return [json.dumps(n, sort_keys=True) for n in sorted(nodes, key=lambda n: n["unique_id"])]


def write_dbt_ls_file(config: "Config", duckdb_file: str | os.PathLike | None = None) -> Path:
    """Regenerate ``dbt/cosmos_dbt_ls.json``, the rendered graph the ``reelhouse_dbt`` DAG loads
    (Cosmos ``LoadMode.DBT_LS_FILE``: parsing the DAG does not run dbt). Run after changing models
    or tests; ``tests/dags/test_reelhouse_dbt.py`` fails while it is stale."""
    DBT_LS_FILE.write_text("\n".join(dbt_ls_lines(config, duckdb_file)) + "\n", encoding="utf-8")
    return DBT_LS_FILE


def connect(config: "Config", duckdb_file: str | os.PathLike | None = None) -> "duckdb.DuckDBPyConnection":
    """A read-only DuckDB connection to the built marts (:func:`duckdb_path`). Close it before
    running dbt again (DuckDB allows one writing process per file). Raises :class:`BIError` when
    the database has not been built yet (``reelhouse dbt build``)."""
    import duckdb

    db = duckdb_path(config, duckdb_file)
    if not db.exists():
        raise BIError(f"no BI database at {db}: run `reelhouse dbt build` first")
    return duckdb.connect(str(db), read_only=True)
