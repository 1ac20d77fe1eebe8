#!/usr/bin/env bash
# Airflow the way production runs it, on this machine: PostgreSQL as the metadata database, the
# LocalExecutor, and api-server, scheduler, dag-processor and triggerer as separate processes.
# Idempotent; `make airflow` runs `scripts/services.sh packages start` first.
#
#   scripts/airflow.sh start    migrate the metadata DB, start the four components (UI + REST API on
#                               http://127.0.0.1:$REELHOUSE_AIRFLOW_PORT, default 8080)
#   scripts/airflow.sh stop     stop them
#   scripts/airflow.sh status   one line per component
#   scripts/airflow.sh env      print the environment every component gets (source it to use the CLI:
#                               eval "$(scripts/airflow.sh env)"; airflow dags list)
#
# Every component gets the same environment: REELHOUSE_ENV and every REELHOUSE__* variable set when
# this script runs (the dag-processor builds the Asset URIs from the lake path at parse time; the
# scheduler's LocalExecutor runs the tasks), AIRFLOW_CONN_SPARK_DEFAULT, and the AIRFLOW__* below.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_BIN="${VENV_BIN:-$REPO/.venv/bin}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$REPO/data/airflow}"
PORT="${REELHOUSE_AIRFLOW_PORT:-8080}"
DB="${REELHOUSE_AIRFLOW_DB:-airflow}"
PG_PORT="${REELHOUSE_PG_PORT:-5432}"
PG_URL="postgresql+psycopg2://reelhouse:reelhouse@127.0.0.1:$PG_PORT/$DB"
COMPONENTS=(api-server scheduler dag-processor triggerer)

log() { echo "airflow: $*"; }

setup_env() {
  mkdir -p "$AIRFLOW_HOME/run" "$AIRFLOW_HOME/logs"
  [ -s "$AIRFLOW_HOME/run/jwt_secret" ] || "$VENV_BIN/python" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$AIRFLOW_HOME/run/jwt_secret"
  [ -s "$AIRFLOW_HOME/run/fernet_key" ] || "$VENV_BIN/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > "$AIRFLOW_HOME/run/fernet_key"
  export PATH="$VENV_BIN:$PATH"
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$PG_URL"
  export AIRFLOW__CORE__EXECUTOR=LocalExecutor
  export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"   # 2-core machine: Spark steps are JVMs
  export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
  export AIRFLOW__CORE__LOAD_EXAMPLES=False
  export AIRFLOW__CORE__FERNET_KEY="$(cat "$AIRFLOW_HOME/run/fernet_key")"
  export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$PORT/execution/"
  export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS:-True}"
  export AIRFLOW__API__HOST=127.0.0.1
  export AIRFLOW__API__PORT="$PORT"
  export AIRFLOW__API__BASE_URL="http://127.0.0.1:$PORT"
  export AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$AIRFLOW_HOME/run/jwt_secret")"
  export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
  export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=False
  export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
  export GX_ANALYTICS_ENABLED=False DO_NOT_TRACK=1
  local spark_local='{"conn_type": "spark", "host": "local[2]"}'
  export AIRFLOW_CONN_SPARK_DEFAULT="${AIRFLOW_CONN_SPARK_DEFAULT:-$spark_local}"
}

pidfile() { echo "$AIRFLOW_HOME/run/$1.pid"; }
running() { local f; f="$(pidfile "$1")"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }
api_up() { "$VENV_BIN/python" - "$PORT" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v2/monitor/health", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

ensure_db() {
  if ! PGPASSWORD=reelhouse psql -h 127.0.0.1 -p "$PG_PORT" -U reelhouse -d postgres -tAc "select 1" >/dev/null 2>&1; then
    echo "airflow: PostgreSQL is not answering on 127.0.0.1:$PG_PORT as role reelhouse: run scripts/services.sh start" >&2
    return 1
  fi
  PGPASSWORD=reelhouse psql -h 127.0.0.1 -p "$PG_PORT" -U reelhouse -d postgres -tAc \
    "select 1 from pg_database where datname = '$DB'" | grep -q 1 \
    || PGPASSWORD=reelhouse createdb -h 127.0.0.1 -p "$PG_PORT" -U reelhouse "$DB"
}

start() {
  setup_env
  ensure_db
  log "migrating the metadata database ($DB on 127.0.0.1:$PG_PORT)"
  airflow db migrate > "$AIRFLOW_HOME/logs/db-migrate.log" 2>&1 \
    || { echo "airflow: db migrate failed; see $AIRFLOW_HOME/logs/db-migrate.log" >&2; tail -20 "$AIRFLOW_HOME/logs/db-migrate.log" >&2; return 1; }
  for c in "${COMPONENTS[@]}"; do
    if running "$c"; then log "$c already running (pid $(cat "$(pidfile "$c")"))"; continue; fi
    # its own process group, so stop takes the executor's workers and Spark drivers with it
    setsid nohup airflow "$c" > "$AIRFLOW_HOME/logs/$c.log" 2>&1 < /dev/null &
    echo $! > "$(pidfile "$c")"
  done
  for _ in $(seq 1 120); do api_up && break; sleep 1; done
  if ! api_up; then echo "airflow: the api-server did not answer; see $AIRFLOW_HOME/logs/api-server.log" >&2; return 1; fi
  log "up: ${COMPONENTS[*]} (LocalExecutor, PostgreSQL $DB) — UI http://127.0.0.1:$PORT/ — logs $AIRFLOW_HOME/logs/"
  log "lake ${REELHOUSE__PATHS__LAKE:-<conf default>}, landing ${REELHOUSE__PATHS__LANDING:-<conf default>}, REELHOUSE_ENV=${REELHOUSE_ENV:-local}"
}

stop() {
  setup_env
  for c in "${COMPONENTS[@]}"; do
    local f; f="$(pidfile "$c")"
    if running "$c"; then
      kill -TERM -- "-$(cat "$f")" 2>/dev/null || kill -TERM "$(cat "$f")" 2>/dev/null || true
      for _ in $(seq 1 30); do running "$c" || break; sleep 0.5; done
      running "$c" && kill -KILL -- "-$(cat "$f")" 2>/dev/null || true
      log "$c stopped"
    fi
    rm -f "$f"
  done
}

status() {
  setup_env
  for c in "${COMPONENTS[@]}"; do
    if running "$c"; then log "$c: running (pid $(cat "$(pidfile "$c")"))"; else log "$c: stopped"; fi
  done
}

print_env() {
  setup_env
  env | grep -E '^(AIRFLOW_HOME|AIRFLOW__|AIRFLOW_CONN_|REELHOUSE_ENV|REELHOUSE__|PATH=)' | sort \
    | while IFS='=' read -r k v; do printf 'export %s=%q\n' "$k" "$v"; done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
