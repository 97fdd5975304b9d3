#!/usr/bin/env bash
# Runs every test: starts PostgreSQL, PostgreSQL with TimescaleDB and Redis
# on loopback (installing them, and building TimescaleDB, if missing), builds
# the map app, checks formatting and vet, runs the Go suite with -race, then
# the map's unit tests and its end-to-end tests in a real headless Chromium
# (installed from Debian if missing).
# Integration tests use the real services: plain PostgreSQL on 5432 and
# TimescaleDB on 5433 (tests that ask internal/pgtest for each engine run on
# both), Redis on 6379.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh

export RADTRACK_TEST_DATABASE_URL="${RADTRACK_TEST_DATABASE_URL:-postgres://radtrack:radtrack@127.0.0.1:5432/radtrack?sslmode=disable}"
export RADTRACK_TEST_TSDB_URL="${RADTRACK_TEST_TSDB_URL:-postgres://radtrack:radtrack@127.0.0.1:5433/radtrack?sslmode=disable}"
export RADTRACK_TEST_REDIS_URL="${RADTRACK_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './frontend/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" $unformatted >&2
  exit 1
fi
# The map app is built first so the Go tests and the binary embed it.
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)

go vet ./...
go test -race -count=1 -timeout 15m "$@" ./...

(cd frontend && npm test && npm run test:e2e)
