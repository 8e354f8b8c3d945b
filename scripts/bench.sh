#!/usr/bin/env bash
# Benchmarks of the codec: precompute (once per key pair) and per-message seal/open.
# Extra arguments go to go test (e.g. -count 5 for benchstat).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go test -run '^$' -bench . -benchmem "$@" ./internal/box/
