#!/usr/bin/env bash
# Runs every test: starts PostgreSQL and Redis on loopback (installing them
# if missing), checks formatting and vet, then the whole suite with -race.
# Integration tests use the real services; the TimescaleDB test starts the
# PGlite+TimescaleDB engine through npm.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/services.sh

export RADTRACK_TEST_DATABASE_URL="${RADTRACK_TEST_DATABASE_URL:-postgres://radtrack:radtrack@127.0.0.1:5432/radtrack?sslmode=disable}"
export RADTRACK_TEST_REDIS_URL="${RADTRACK_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './frontend/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:" $unformatted >&2
  exit 1
fi
go vet ./...
go test -race -count=1 -timeout 15m "$@" ./...
