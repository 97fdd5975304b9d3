#!/usr/bin/env bash
# Runs the RadTrack demo: builds the map app if it is not built yet, then
# starts the server on the embedded store with a simulated patrol fleet, the
# two Safecast drives replayed live and a hidden source that raises alarms.
# Needs Go and Node only — no database server. Extra arguments go to
# "radtrack demo" (e.g. -speed 5, -vehicles 30, -addr 0.0.0.0:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f frontend/dist/app/index.html ]; then
  echo "demo: building the map app (first run only)…" >&2
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
fi
go build -o ./radtrack ./cmd/radtrack
exec ./radtrack demo "$@"
