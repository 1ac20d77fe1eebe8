#!/usr/bin/env bash
# Local services and system packages the tests and the production-like paths need, on a bare
# Debian machine (nothing runs when a machine starts). Idempotent: safe to run again and again.
#
#   scripts/services.sh packages   install missing Debian packages (redis-server, postgresql,
#                                  headless Chromium + chromedriver for the dashboard test, CJK/emoji fonts)
#                                  and build SeaweedFS's `weed` from Go's module proxy into .tools/bin/
#   scripts/services.sh start      start Redis on 127.0.0.1:6379, PostgreSQL on 127.0.0.1:5432
#                                  (role/password reelhouse, database airflow) and the S3-compatible
#                                  object store on 127.0.0.1:8333 (buckets reelhouse-landing and
#                                  reelhouse-lake) unless already up
#   scripts/services.sh stop       stop what this script started
#   scripts/services.sh status     one line per service
#   scripts/services.sh {start|stop|status} objectstore   the object store alone (make objectstore)
#
# The object store is SeaweedFS (Apache-2.0; master + volume + filer + S3 gateway in one process,
# loopback only, data in $REELHOUSE_S3_DIR, default /var/tmp/reelhouse-seaweedfs). Its one S3
# identity takes its key pair from REELHOUSE_S3_ACCESS_KEY / REELHOUSE_S3_SECRET_KEY; unset, the
# local-development pair reelhouse / reelhouse-local-dev-secret (reelhouse/objectstore.py uses the
# same pair for a loopback endpoint). Building `weed` needs Go (the machine's /usr/local/go).
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
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEED_MODULE="github.com/seaweedfs/seaweedfs"
WEED_VERSION="${REELHOUSE_WEED_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}"
WEED="${REELHOUSE_WEED:-$ROOT/.tools/bin/weed}"
S3_PORT="${REELHOUSE_S3_PORT:-8333}"
S3_DIR="${REELHOUSE_S3_DIR:-/var/tmp/reelhouse-seaweedfs}"
S3_ACCESS_KEY="${REELHOUSE_S3_ACCESS_KEY:-reelhouse}"
S3_SECRET_KEY="${REELHOUSE_S3_SECRET_KEY:-reelhouse-local-dev-secret}"
S3_BUCKETS=(reelhouse-landing reelhouse-lake)
# the other SeaweedFS ports (gRPC = port + 10000); 8080, Airflow's and Spark's UI port, stays free
WEED_MASTER_PORT="${REELHOUSE_WEED_MASTER_PORT:-9333}"
WEED_VOLUME_PORT="${REELHOUSE_WEED_VOLUME_PORT:-8336}"
WEED_FILER_PORT="${REELHOUSE_WEED_FILER_PORT:-8337}"

log() { echo "services: $*"; }

packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ "${#missing[@]}" -eq 0 ]; then log "packages present (${PACKAGES[*]})"; build_weed optional; return 0; fi
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
  build_weed optional
}

go_bin() { command -v go 2>/dev/null || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; }; }

# `weed` at $WEED_VERSION, built from the module's own go.mod (its replace directives rule out
# `go install …@version`): download the module, build ./weed inside it, install into .tools/bin/.
build_weed() {
  if [ -x "$WEED" ] && [ "$(cat "$WEED.version" 2>/dev/null)" = "$WEED_VERSION" ]; then
    log "seaweedfs weed present ($WEED_VERSION)"; return 0
  fi
  local go; go="$(go_bin)" || true
  if [ -z "$go" ]; then
    local why="building the object store (SeaweedFS) needs Go 1.26+: install it, or set REELHOUSE_WEED to a weed binary"
    [ "${1:-}" = optional ] && { log "object store skipped: $why"; return 0; }
    echo "services: $why" >&2; return 1
  fi
  log "building seaweedfs weed $WEED_VERSION (Go module proxy; a cold build takes minutes)"
  local start=$SECONDS dir
  dir="$("$go" mod download -json "$WEED_MODULE@$WEED_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || { echo "services: go mod download $WEED_MODULE@$WEED_VERSION gave no folder" >&2; return 1; }
  mkdir -p "$(dirname "$WEED")"
  (cd "$dir" && nice -n 10 env GOFLAGS=-buildvcs=false "$go" build -trimpath -o "$WEED.tmp" ./weed)
  mv "$WEED.tmp" "$WEED" && echo "$WEED_VERSION" > "$WEED.version"
  log "built $WEED in $((SECONDS - start)) s"
}

s3_code() {  # HTTP status of a signed S3 request (000: nothing answers)
  local method=(-X "$1") path="$2"
  [ "$1" = HEAD ] && method=(--head)  # curl -X HEAD would wait for a body
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${method[@]}" \
    --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" "http://127.0.0.1:$S3_PORT$path" || true
}
s3_answers() { [ "$(s3_code GET /)" != "000" ]; }
s3_ready() { [ "$(s3_code GET /)" = "200" ]; }

start_objectstore() {  # "optional": a missing weed (no Go to build it) is a note, not a failure
  if s3_answers; then
    log "object store already answering on 127.0.0.1:$S3_PORT"
  else
    if [ ! -x "$WEED" ]; then
      [ "${1:-}" = optional ] && ! go_bin >/dev/null && { log "object store skipped: no $WEED and no Go to build it"; return 0; }
      echo "services: $WEED is not built: run scripts/services.sh packages (or make objectstore)" >&2; return 1
    fi
    mkdir -p "$S3_DIR/data"
    # the S3 identity (written on every start: the key pair follows the environment)
    (umask 077; printf '{"identities":[{"name":"reelhouse","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","List","Tagging","Write"]}]}\n' \
      "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > "$S3_DIR/s3.json")
    setsid nohup "$WEED" server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$S3_DIR/data" \
      -master.port="$WEED_MASTER_PORT" -master.volumeSizeLimitMB=256 \
      -volume.port="$WEED_VOLUME_PORT" -volume.max=16 -volume.preStopSeconds=0 \
      -filer -filer.port="$WEED_FILER_PORT" \
      -s3 -s3.port="$S3_PORT" -s3.config="$S3_DIR/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
      >"$S3_DIR/weed.log" 2>&1 < /dev/null &
    local pid=$!
    echo "$pid" > "$S3_DIR/weed.pid"
    for _ in $(seq 1 300); do s3_ready && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if ! s3_ready; then
      echo "services: the object store did not start ($(grep -a -m1 '^F' "$S3_DIR/weed.log" || echo "no answer in 60 s")); see $S3_DIR/weed.log" >&2
      kill "$pid" 2>/dev/null || true; rm -f "$S3_DIR/weed.pid"; return 1
    fi
    log "object store (seaweedfs) started on 127.0.0.1:$S3_PORT, data in $S3_DIR"
  fi
  local b code made=()
  for b in "${S3_BUCKETS[@]}"; do
    [ "$(s3_code HEAD "/$b")" = "200" ] && continue
    for _ in $(seq 1 50); do  # a fresh server may refuse the first bucket while its volumes grow
      code="$(s3_code PUT "/$b")"
      case "$code" in 200|409|403) break ;; esac  # 403: another key pair, no use retrying
      sleep 0.2
    done
    if [ "$code" != "200" ] && [ "$code" != "409" ]; then
      echo "services: could not create bucket $b on 127.0.0.1:$S3_PORT (HTTP $code): is it another server, or another key pair?" >&2
      return 1
    fi
    made+=("$b")
  done
  [ "${#made[@]}" -eq 0 ] || log "buckets created: ${made[*]}"
}

stop_objectstore() {
  local pid
  pid="$(cat "$S3_DIR/weed.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    # it flushes and leaves the cluster first; its ports are free only once it has exited
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null && sleep 0.5
    rm -f "$S3_DIR/weed.pid"; log "object store stopped"
  else
    log "no object store started by this script"
  fi
}

status_objectstore() {
  if s3_ready; then log "object store: up on 127.0.0.1:$S3_PORT ($(s3_code HEAD /reelhouse-lake | sed 's/200/bucket reelhouse-lake present/'))"
  elif s3_answers; then log "object store: something answers on 127.0.0.1:$S3_PORT but refuses the reelhouse key pair"
  else log "object store: down"; fi
  [ -x "$WEED" ] || log "object store: $WEED not built (scripts/services.sh packages)"
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
  stop_objectstore
}

status() {
  if redis_up; then log "redis: up on 127.0.0.1:$REDIS_PORT"; else log "redis: down"; fi
  if pg_up; then log "postgresql: up on 127.0.0.1:$PG_PORT"; else log "postgresql: down"; fi
  status_objectstore
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || log "package missing: $p"; done
}

case "${1:-} ${2:-}" in
  "packages ") packages ;;
  "start ") start; start_postgres; start_objectstore optional ;;
  "stop ") stop ;;
  "status ") status ;;
  "start objectstore") build_weed; start_objectstore ;;
  "stop objectstore") stop_objectstore ;;
  "status objectstore") status_objectstore ;;
  *) echo "usage: $0 packages|start|stop|status  or  $0 start|stop|status objectstore" >&2; exit 2 ;;
esac
