#!/usr/bin/env bash
# Ensures PostgreSQL and Redis run on loopback, installing them with apt-get
# when missing, and that the radtrack role and databases exist.
# Prints nothing but progress; safe to run again.
set -euo pipefail

log() { printf 'services: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

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
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1==v && $2=="main"' | grep -q online; then
  if ! pg_lsclusters -h | awk -v v="$pg_version" '$1==v && $2=="main"' | grep -q .; then
    as_root pg_createcluster "$pg_version" main >/dev/null
  fi
  log "starting PostgreSQL $pg_version"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; }

psql_admin() { as_root runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='radtrack'")" != 1 ]; then
  log "creating role radtrack"
  psql_admin -c "CREATE ROLE radtrack LOGIN CREATEDB PASSWORD 'radtrack'"
fi
for db in radtrack radtrack_bench; do
  if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $db OWNER radtrack"
  fi
done

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
