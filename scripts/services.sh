#!/usr/bin/env bash
# Local services and system packages the tests and the production-like paths need, on a bare
# Debian machine (nothing runs when a machine starts). Idempotent: safe to run again and again.
#
#   scripts/services.sh packages   install missing Debian packages (redis-server, postgresql,
#                                  headless Chromium + chromedriver for the dashboard test, CJK/emoji fonts)
#   scripts/services.sh start      start Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432
#                                  (role/password reelhouse, database airflow) unless already up
#   scripts/services.sh stop       stop what this script started
#   scripts/services.sh status     one line per service
#
# The embedded defaults (`make demo`, `reelhouse run`) need none of this: the online store is
# SQLite, Spark runs in-process. Redis is the production online store (conf/cluster.yaml) and the
# tests exercise it for real. PostgreSQL is the Airflow metadata database of `make airflow` and of
# the real-scheduler test.
set -euo pipefail
REDIS_PORT="${REELHOUSE_REDIS_PORT:-6379}"
REDIS_DIR="${REELHOUSE_REDIS_DIR:-/var/lib/reelhouse-redis}"
PG_PORT="${REELHOUSE_PG_PORT:-5432}"
PACKAGES=(redis-server postgresql chromium chromium-driver fonts-wqy-microhei fonts-noto-color-emoji)

log() { echo "services: $*"; }

packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -eq 0 ]; then log "packages present (${PACKAGES[*]})"; return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "services: missing packages ${missing[*]} and no apt-get: install them with your package manager" >&2
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed ${#missing[@]} package(s)"
}

redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "services: redis-server is not installed: run scripts/services.sh packages (or make services)" >&2
    return 1
  fi
  if redis_up; then log "redis already answering on 127.0.0.1:$REDIS_PORT"; return 0; fi
  mkdir -p "$REDIS_DIR"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
  for _ in $(seq 1 100); do redis_up && break; sleep 0.1; done
  if ! redis_up; then echo "services: redis did not start; see $REDIS_DIR/redis.log" >&2; return 1; fi
  log "redis started on 127.0.0.1:$REDIS_PORT ($(redis-server --version | awk '{print $3}'))"
}

as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
pg_up() { pg_isready -h 127.0.0.1 -p "$PG_PORT" -q 2>/dev/null; }
pg_version() { ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1; }

start_postgres() {
  local ver; ver="$(pg_version)"
  if [ -z "$ver" ]; then
    echo "services: postgresql is not installed: run scripts/services.sh packages (or make services)" >&2
    return 1
  fi
  if pg_up; then
    log "postgresql already answering on 127.0.0.1:$PG_PORT"
  else
    pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$ver main" \
      || pg_createcluster "$ver" main --port "$PG_PORT" >/dev/null
    pg_ctlcluster "$ver" main start
    for _ in $(seq 1 100); do pg_up && break; sleep 0.2; done
    if ! pg_up; then echo "services: postgresql did not start; see /var/log/postgresql/" >&2; return 1; fi
    log "postgresql $ver started on 127.0.0.1:$PG_PORT"
  fi
  # the role and database `make airflow` uses (local development credentials, loopback only)
  as_postgres psql -p "$PG_PORT" -tAc "select 1 from pg_roles where rolname = 'reelhouse'" | grep -q 1 \
    || as_postgres psql -p "$PG_PORT" -qc "create role reelhouse login createdb password 'reelhouse'"
  as_postgres psql -p "$PG_PORT" -tAc "select 1 from pg_database where datname = 'airflow'" | grep -q 1 \
    || as_postgres createdb -p "$PG_PORT" -O reelhouse airflow
}

stop() {
  if [ -f "$REDIS_DIR/redis.pid" ] && kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    rm -f "$REDIS_DIR/redis.pid"; log "redis stopped"
  else
    log "no redis started by this script"
  fi
  local ver; ver="$(pg_version)"
  if [ -n "$ver" ] && pg_up; then pg_ctlcluster "$ver" main stop && log "postgresql stopped"; fi
}

status() {
  if redis_up; then log "redis: up on 127.0.0.1:$REDIS_PORT"; else log "redis: down"; fi
  if pg_up; then log "postgresql: up on 127.0.0.1:$PG_PORT"; else log "postgresql: down"; fi
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || log "package missing: $p"; done
}

case "${1:-}" in
  packages) packages ;;
  start) start; start_postgres ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 packages|start|stop|status" >&2; exit 2 ;;
esac
