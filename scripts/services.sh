#!/usr/bin/env bash
# Ensures the services RadTrack's tests and quick start use run on loopback,
# installing what is missing; safe to run again, and quick when all is there:
#   - PostgreSQL (Debian's) on 127.0.0.1:5432: plain, no TimescaleDB loaded;
#   - a second cluster "tsdb" of the same PostgreSQL on 127.0.0.1:5433 with
#     TimescaleDB preloaded, built from ../shared/vendor when not installed
#     (no package registry here carries it; see that directory's README);
#   - Redis on 127.0.0.1:6379; Mosquitto (MQTT) on 127.0.0.1:1883;
#   - test tools: xmllint (CAP schema validation);
#   - on both clusters: the role radtrack/radtrack (CREATEDB) owning the
#     databases radtrack and radtrack_bench, and max_connections 400
#     (test packages run in parallel, each with its own databases).
# Prints nothing but progress.
set -euo pipefail
cd "$(dirname "$0")/.."

TSDB_VERSION=2.28.3
TSDB_SHA256=ec2f7de0ba53a473c01e0a57e09053898c6b1f7487228caff0f1d31c8cb2dedb
TSDB_PORT=5433
MAX_CONNECTIONS=400

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

build_dir=""
trap 'if [ -n "$build_dir" ]; then rm -rf "$build_dir"; fi' EXIT

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL -------------------------------------------------------------
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
  log "installing PostgreSQL"
  apt_install postgresql postgresql-contrib
fi
pg_version=$(ls /etc/postgresql | sort -V | tail -n1)
pg_bin=/usr/lib/postgresql/$pg_version/bin

cluster_state() { pg_lsclusters -h | awk -v v="$pg_version" -v c="$1" '$1==v && $2==c {print $4}'; }
start_cluster() { # name port
  if [ "$(cluster_state "$1")" != online ]; then
    log "starting PostgreSQL $pg_version cluster $1"
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$1" start
  fi
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p "$2" && return 0
    sleep 0.2
  done
  die "PostgreSQL cluster $1 does not answer on 127.0.0.1:$2"
}
psql_admin() { # port, psql args…
  local port=$1; shift
  as_root runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"
}
# ensure_cluster port cluster: max_connections (ALTER SYSTEM and a restart,
# only when lower), the radtrack role and its databases. One query when all
# is there already.
ensure_cluster() {
  local port=$1 cluster=$2 facts
  facts=$(psql_admin "$port" -F ' ' -c "SELECT current_setting('max_connections'),
    EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'radtrack'),
    (SELECT count(*) FROM pg_database WHERE datname IN ('radtrack', 'radtrack_bench'))")
  read -r max_conns has_role dbs <<<"$facts"
  if [ "$max_conns" -lt "$MAX_CONNECTIONS" ]; then
    log "raising max_connections of cluster $cluster to $MAX_CONNECTIONS (restart)"
    psql_admin "$port" -c "ALTER SYSTEM SET max_connections = $MAX_CONNECTIONS"
    as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$cluster" restart
    start_cluster "$cluster" "$port"
  fi
  if [ "$has_role" != t ]; then
    log "creating role radtrack in cluster $cluster"
    psql_admin "$port" -c "CREATE ROLE radtrack LOGIN CREATEDB PASSWORD 'radtrack'"
  fi
  if [ "$dbs" != 2 ]; then
    for db in radtrack radtrack_bench; do
      if [ "$(psql_admin "$port" -c "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
        psql_admin "$port" -c "CREATE DATABASE $db OWNER radtrack"
      fi
    done
  fi
}

if [ -z "$(cluster_state main)" ]; then
  as_root pg_createcluster "$pg_version" main >/dev/null
fi
start_cluster main 5432
ensure_cluster 5432 main

# --- TimescaleDB ------------------------------------------------------------
# Installed into this PostgreSQL's own directories, as a package would: the
# plain cluster then lists the extension too but does not load it, which is
# the situation RADTRACK_TIMESCALEDB=auto must explain (not a failure).
tsdb_installed() {
  local share lib
  share=$("$pg_bin/pg_config" --sharedir 2>/dev/null) || return 1
  lib=$("$pg_bin/pg_config" --pkglibdir) || return 1
  [ -f "$lib/timescaledb-$TSDB_VERSION.so" ] &&
    grep -q "default_version = '$TSDB_VERSION'" "$share/extension/timescaledb.control" 2>/dev/null
}

build_timescaledb() {
  local tarball=../shared/vendor/timescaledb-$TSDB_VERSION.tar.gz
  if [ ! -f "$tarball" ]; then
    local msg="TimescaleDB $TSDB_VERSION is not installed and its source $tarball is missing (the shared vendor directory beside the repository)"
    if [ "${CI:-}" = true ]; then die "$msg; CI=true: failing"; fi
    log "$msg: no TimescaleDB cluster on $TSDB_PORT; its tests will skip"
    return 1
  fi
  echo "$TSDB_SHA256  $tarball" | sha256sum -c --quiet - || die "$tarball does not have the sha256 in ../shared/vendor/README.md"
  log "building TimescaleDB $TSDB_VERSION from $tarball (a few minutes)"
  apt_install "postgresql-server-dev-$pg_version" cmake
  local dir started=$SECONDS
  dir=$(mktemp -d)
  build_dir=$dir # removed on exit, failed or not
  tar -xzf "$tarball" -C "$dir"
  # The flags of the checked recipe in ../shared/vendor/README.md.
  cmake -S "$dir/timescaledb-$TSDB_VERSION" -B "$dir/build" -DPG_CONFIG="$pg_bin/pg_config" \
    -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF -DWARNINGS_AS_ERRORS=OFF -DLINTER=OFF \
    -DENABLE_DEBUG_UTILS=OFF -DUSE_TELEMETRY=OFF >"$dir/cmake.log" 2>&1 ||
    { tail -n 30 "$dir/cmake.log" >&2; die "cmake failed"; }
  make -C "$dir/build" -j"$(nproc)" >"$dir/make.log" 2>&1 || { tail -n 30 "$dir/make.log" >&2; die "make failed"; }
  as_root make -C "$dir/build" install >"$dir/install.log" 2>&1 || { tail -n 30 "$dir/install.log" >&2; die "make install failed"; }
  log "TimescaleDB $TSDB_VERSION installed in $((SECONDS - started)) s"
}

tsdb_conf() {
  cat <<EOF
# Written by RadTrack's scripts/services.sh: the TimescaleDB test cluster.
listen_addresses = '127.0.0.1'
port = $TSDB_PORT
max_connections = $MAX_CONNECTIONS
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
# A scheduler per database with jobs (tests create many) plus the workers
# that run them.
timescaledb.max_background_workers = 16
max_worker_processes = 24
EOF
}

if tsdb_installed || build_timescaledb; then
  conf=/etc/postgresql/$pg_version/tsdb/conf.d/radtrack.conf
  if [ -z "$(cluster_state tsdb)" ]; then
    log "creating PostgreSQL $pg_version cluster tsdb on port $TSDB_PORT"
    as_root pg_createcluster "$pg_version" tsdb -p "$TSDB_PORT" -- --auth-local=peer --auth-host=trust >/dev/null
  fi
  if [ "$(as_root cat "$conf" 2>/dev/null)" != "$(tsdb_conf)" ]; then
    tsdb_conf | as_root tee "$conf" >/dev/null
    if [ "$(cluster_state tsdb)" = online ]; then
      log "configuration of cluster tsdb changed: restarting it"
      as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" tsdb restart
    fi
  fi
  start_cluster tsdb "$TSDB_PORT"
  ensure_cluster "$TSDB_PORT" tsdb
  [ "$(psql_admin "$TSDB_PORT" -c "SELECT count(*) FROM pg_settings WHERE name = 'timescaledb.max_background_workers'")" = 1 ] ||
    die "cluster tsdb does not preload TimescaleDB (see $conf)"
fi

# --- Redis ------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing Redis"
  apt_install redis-server
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/radtrack.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { log "Redis does not answer on 127.0.0.1:6379"; exit 1; }

# --- Mosquitto (MQTT notifications) -------------------------------------------
if ! command -v mosquitto >/dev/null 2>&1; then
  log "installing Mosquitto"
  apt_install mosquitto
fi
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  log "starting Mosquitto"
  as_root mosquitto -d -c /etc/mosquitto/mosquitto.conf
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 0.1; done
fi
(exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null || { log "Mosquitto does not answer on 127.0.0.1:1883"; exit 1; }

# --- Test tools ---------------------------------------------------------------
# xmllint validates CAP 1.2 alerts against the OASIS schema (notify tests).
command -v xmllint >/dev/null 2>&1 || { log "installing libxml2-utils (xmllint)"; apt_install libxml2-utils; }
