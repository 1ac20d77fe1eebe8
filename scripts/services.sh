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
#   scripts/services.sh {start|stop|status} spark   the Spark standalone cluster (make cluster; not
#                                  part of `start`, `stop` stops it too)
#
# The object store is SeaweedFS (Apache-2.0; master + volume + filer + S3 gateway in one process,
# loopback only, data in $REELHOUSE_S3_DIR, default /var/tmp/reelhouse-seaweedfs). Its one S3
# identity takes its key pair from REELHOUSE_S3_ACCESS_KEY / REELHOUSE_S3_SECRET_KEY; unset, the
# local-development pair reelhouse / reelhouse-local-dev-secret (reelhouse/objectstore.py uses the
# same pair for a loopback endpoint). Building `weed` needs Go (the machine's /usr/local/go).
#
# The Spark standalone cluster runs from the Spark distribution inside pyspark (no download): one
# master on spark://127.0.0.1:7077 (web UI and JSON status on 127.0.0.1:8090 — Spark's own default
# 8080 is Airflow's; when 8090 is taken and REELHOUSE_SPARK_UI_PORT is unset, the next free port,
# written to $REELHOUSE_SPARK_DIR/master-ui.port) and two workers (1 core, 4g each; UIs on the
# next ports), separate JVMs on loopback. Pid files, logs and the workers' work folders live in
# $REELHOUSE_SPARK_DIR (default /var/tmp/reelhouse-spark). Executors run Python with
# $REELHOUSE_PYTHON (default .venv/bin/python of this checkout; the Makefile passes its venv's),
# which must have pyspark and reelhouse installed. The workers (so the executors) get the caller's
# REELHOUSE_* and AWS_* variables — the object store's endpoint and key pair — in their
# environment, never on a command line; the master gets no secret.
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
SPARK_DIR="${REELHOUSE_SPARK_DIR:-/var/tmp/reelhouse-spark}"
SPARK_PORT="${REELHOUSE_SPARK_MASTER_PORT:-7077}"
SPARK_WORKERS="${REELHOUSE_SPARK_WORKERS:-2}"
SPARK_WORKER_CORES="${REELHOUSE_SPARK_WORKER_CORES:-1}"
SPARK_WORKER_MEM="${REELHOUSE_SPARK_WORKER_MEMORY:-4g}"
SPARK_PYTHON="${REELHOUSE_PYTHON:-$ROOT/.venv/bin/python}"

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

# --- Spark standalone cluster -------------------------------------------------------------------

port_taken() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
spark_pid() {  # the pid in $SPARK_DIR/$1.pid if that process is still the Spark daemon $2
  local pid; pid="$(cat "$SPARK_DIR/$1.pid" 2>/dev/null || true)"
  [ -n "$pid" ] && { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -q "$2" && echo "$pid"
}
spark_ui_port() { cat "$SPARK_DIR/master-ui.port" 2>/dev/null || echo "${REELHOUSE_SPARK_UI_PORT:-8090}"; }
spark_json() { curl -s --max-time 2 "http://127.0.0.1:$(spark_ui_port)/json/" 2>/dev/null || true; }
spark_alive_workers() {  # "aliveworkers" of the master's JSON status (0: no master answers)
  local n; n="$(spark_json | grep -o '"aliveworkers" *: *[0-9]*' | grep -o '[0-9]*$' || true)"; echo "${n:-0}"
}

# Run "$@" in the background as a Spark daemon with only the environment a daemon needs: PATH (the
# venv's bin first), locale, Java, the SPARK_* set by the caller of this function and, for
# workers ("$1" = worker), REELHOUSE_* and AWS_* (secrets travel in the environment, which only
# this user can read, never in argv). Prints the pid.
spark_daemon() {
  local role="$1" log="$2"; shift 2
  (
    local v
    for v in $(compgen -e); do
      case "$v" in
        PATH|HOME|USER|LOGNAME|LANG|LC_*|TZ|TMPDIR|JAVA_HOME|SPARK_*|PYSPARK_PYTHON) ;;
        REELHOUSE_*|AWS_*) [ "$role" = worker ] || unset "$v" ;;
        *) unset "$v" ;;
      esac
    done
    exec setsid nohup "$@" >"$log" 2>&1 < /dev/null
  ) &
  echo $!
}

start_spark() {
  if [ ! -x "$SPARK_PYTHON" ]; then
    echo "services: no $SPARK_PYTHON for the Spark cluster: run make install, or set REELHOUSE_PYTHON to a python with pyspark" >&2
    return 1
  fi
  local spark_home
  spark_home="$("$SPARK_PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null)" || {
    echo "services: $SPARK_PYTHON cannot import pyspark: run make install, or set REELHOUSE_PYTHON" >&2; return 1; }
  local master_class=org.apache.spark.deploy.master.Master worker_class=org.apache.spark.deploy.worker.Worker
  local master="spark://127.0.0.1:$SPARK_PORT" start=$SECONDS started=() ui i pid
  mkdir -p "$SPARK_DIR"
  export SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1 SPARK_CONF_DIR="$SPARK_DIR/conf"
  export SPARK_DAEMON_MEMORY="${REELHOUSE_SPARK_DAEMON_MEMORY:-512m}"  # the daemons' own heap
  export PYSPARK_PYTHON="$SPARK_PYTHON" PATH="$(dirname "$SPARK_PYTHON"):$PATH"
  mkdir -p "$SPARK_CONF_DIR"  # empty: no spark-env.sh or spark-defaults.conf from elsewhere

  if [ -z "$(spark_pid master "$master_class")" ]; then
    if port_taken "$SPARK_PORT"; then
      echo "services: 127.0.0.1:$SPARK_PORT is taken by another process: stop it or set REELHOUSE_SPARK_MASTER_PORT" >&2; return 1
    fi
    ui="${REELHOUSE_SPARK_UI_PORT:-8090}"
    if port_taken "$ui" || port_taken "$((ui + 1))" || port_taken "$((ui + 2))"; then
      [ -n "${REELHOUSE_SPARK_UI_PORT:-}" ] && { echo "services: port $ui (REELHOUSE_SPARK_UI_PORT) or the next two are taken" >&2; return 1; }
      ui=8093; while port_taken "$ui" || port_taken "$((ui + 1))" || port_taken "$((ui + 2))"; do ui=$((ui + 3)); done
    fi
    echo "$ui" > "$SPARK_DIR/master-ui.port"
    # no retries: a taken port fails the master rather than moving it silently; no REST
    # submission server (port 6066, unauthenticated): applications connect to 7077
    pid="$(SPARK_MASTER_OPTS="-Dspark.port.maxRetries=0 -Dspark.master.rest.enabled=false" spark_daemon master "$SPARK_DIR/master.log" \
      "$spark_home/bin/spark-class" "$master_class" --host 127.0.0.1 --port "$SPARK_PORT" --webui-port "$ui")"
    echo "$pid" > "$SPARK_DIR/master.pid"; started+=(master)
    # workers that start before the master listens wait 5-15 s to retry their registration
    for _ in $(seq 1 150); do [ -n "$(spark_json)" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if [ -z "$(spark_json)" ]; then
      echo "services: the Spark master did not start; see $SPARK_DIR/master.log" >&2
      kill "$pid" 2>/dev/null || true; rm -f "$SPARK_DIR/master.pid"; return 1
    fi
  fi
  ui="$(spark_ui_port)"
  for i in $(seq 1 "$SPARK_WORKERS"); do
    [ -n "$(spark_pid "worker-$i" "$worker_class")" ] && continue
    mkdir -p "$SPARK_DIR/work/worker-$i" "$SPARK_DIR/local/worker-$i"
    pid="$(SPARK_WORKER_DIR="$SPARK_DIR/work/worker-$i" SPARK_LOCAL_DIRS="$SPARK_DIR/local/worker-$i" \
      SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true" \
      spark_daemon worker "$SPARK_DIR/worker-$i.log" "$spark_home/bin/spark-class" "$worker_class" \
        --host 127.0.0.1 --cores "$SPARK_WORKER_CORES" --memory "$SPARK_WORKER_MEM" --webui-port "$((ui + i))" "$master")"
    echo "$pid" > "$SPARK_DIR/worker-$i.pid"; started+=("worker-$i")
  done
  local what="spark standalone master $master with $SPARK_WORKERS workers ($SPARK_WORKER_CORES core, $SPARK_WORKER_MEM each), UI http://127.0.0.1:$ui"
  if [ "${#started[@]}" -eq 0 ] && [ "$(spark_alive_workers)" -ge "$SPARK_WORKERS" ]; then
    log "$what already running"; return 0
  fi
  for _ in $(seq 1 120); do [ "$(spark_alive_workers)" -ge "$SPARK_WORKERS" ] && break; sleep 0.5; done
  if [ "$(spark_alive_workers)" -lt "$SPARK_WORKERS" ]; then
    echo "services: $(spark_alive_workers) of $SPARK_WORKERS Spark workers alive after 60 s; see $SPARK_DIR/*.log" >&2
    return 1
  fi
  log "$what (${started[*]} started in $((SECONDS - start)) s)"
}

stop_spark() {
  local name class pid stopped=()
  for name in $(cd "$SPARK_DIR" 2>/dev/null && ls worker-*.pid 2>/dev/null | sed 's/\.pid$//') master; do
    class=org.apache.spark.deploy.worker.Worker; [ "$name" = master ] && class=org.apache.spark.deploy.master.Master
    pid="$(spark_pid "$name" "$class" || true)"
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
      # a worker kills its executors on the way out
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
      stopped+=("$name")
    fi
    rm -f "$SPARK_DIR/$name.pid"
  done
  rm -f "$SPARK_DIR/master-ui.port"
  if [ "${#stopped[@]}" -eq 0 ]; then log "no spark cluster started by this script"
  else log "spark stopped (${stopped[*]})"; fi
}

status_spark() {
  local master_class=org.apache.spark.deploy.master.Master
  if [ -n "$(spark_pid master "$master_class")" ] && [ -n "$(spark_json)" ]; then
    log "spark: master up on spark://127.0.0.1:$SPARK_PORT (UI http://127.0.0.1:$(spark_ui_port)), $(spark_alive_workers) of $SPARK_WORKERS workers alive"
  elif [ -n "$(spark_json)" ]; then log "spark: a master not started by this script answers on 127.0.0.1:$(spark_ui_port)"
  else log "spark: down"; fi
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
  stop_spark
}

status() {
  if redis_up; then log "redis: up on 127.0.0.1:$REDIS_PORT"; else log "redis: down"; fi
  if pg_up; then log "postgresql: up on 127.0.0.1:$PG_PORT"; else log "postgresql: down"; fi
  status_objectstore
  status_spark
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
  "start spark") start_spark ;;
  "stop spark") stop_spark ;;
  "status spark") status_spark ;;
  *) echo "usage: $0 packages|start|stop|status  or  $0 start|stop|status objectstore|spark" >&2; exit 2 ;;
esac
