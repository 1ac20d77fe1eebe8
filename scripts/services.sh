#!/usr/bin/env bash
# Local services and system packages the tests and the production-like paths need, on a bare
# Debian machine (nothing runs when a machine starts). Idempotent: safe to run again and again.
#
#   scripts/services.sh packages   install missing Debian packages (redis-server, headless Chromium
#                                  + chromedriver for the dashboard test, CJK/emoji fonts)
#   scripts/services.sh start      start Redis on 127.0.0.1:6379 unless something already answers
#   scripts/services.sh stop       stop the Redis this script started
#   scripts/services.sh status     one line per service
#
# The embedded defaults (`make demo`, `reelhouse run`) need none of this: the online store is
# SQLite, Spark runs in-process. Redis is the production online store (conf/cluster.yaml) and the
# tests exercise it for real.
set -euo pipefail
REDIS_PORT="${REELHOUSE_REDIS_PORT:-6379}"
REDIS_DIR="${REELHOUSE_REDIS_DIR:-/var/lib/reelhouse-redis}"
PACKAGES=(redis-server chromium chromium-driver fonts-wqy-microhei fonts-noto-color-emoji)

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

stop() {
  if [ -f "$REDIS_DIR/redis.pid" ] && kill "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    rm -f "$REDIS_DIR/redis.pid"; log "redis stopped"
  else
    log "no redis started by this script"
  fi
}

status() {
  if redis_up; then log "redis: up on 127.0.0.1:$REDIS_PORT"; else log "redis: down"; fi
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || log "package missing: $p"; done
}

case "${1:-}" in
  packages) packages ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 packages|start|stop|status" >&2; exit 2 ;;
esac
