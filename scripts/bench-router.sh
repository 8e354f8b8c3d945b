#!/usr/bin/env bash
# Measurements of cbx router (not asserted anywhere): fan-out over real WebSockets to 1, 10
# and 100 subscribers from 20 concurrent publishers (publications and deliveries per
# second, clients in the same process), the latency of one sealed event through the
# router, CPU time and allocations per routed event, sealed and plain, as `cbx publish
# --stdin` drives the router (BenchmarkRoutePublish), and the memory a stopped subscriber
# costs (scripts/router-memory.sh).
# Extra arguments go to go test (e.g. -count 5 for benchstat).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'FanOut|SealedEvent|RoutePublish' -benchtime 5000x "$@" ./internal/router/
scripts/router-memory.sh
