#!/usr/bin/env bash
# Regenerates completions/ from the cbx binary itself (cobra's completion command).
# cmd/cbx's TestCompletionsAreFresh fails when the committed files differ from this output.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./cmd/cbx completion bash > completions/cbx.bash
go run ./cmd/cbx completion zsh > completions/_cbx
go run ./cmd/cbx completion fish > completions/cbx.fish
echo "completions/: bash, zsh and fish regenerated" >&2
