#!/usr/bin/env bash
# Benchmarks of the per-message work, with allocations: the codec (precompute once per
# key pair, per-message seal/open), the serializers and the value dialect's JSON, the
# command line's --stdin line and output line, the WebSocket write path, and the router's
# path for an event and its fan-out. Extra arguments go to go test (e.g. -count 5 for
# benchstat, -bench Marshal to pick some).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -run '^$' -bench . -benchmem "$@" \
  ./internal/box/ \
  ./internal/e2e/ \
  ./internal/wamp/ \
  ./internal/router/ \
  ./cmd/cbx/
