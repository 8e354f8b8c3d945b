#!/usr/bin/env bash
# Runs the whole cbx test suite on a fresh Debian machine with Go.
#
# It installs what the tests need and is safe to run again:
#   - Debian's python3-autobahn (Autobahn|Python 22.7.1) and its cryptobox dependencies,
#     used as the independent peer in the interop tests (run with Debian's /usr/bin/python3);
#   - jq, which the README's Sessions example uses (cmd/cbx/readme_test.go runs it);
#   - AutobahnJS from npm, into testdata/js/node_modules (not committed);
#   - Go modules through the module proxy (go test does that by itself).
# Then it runs `go test ./...` with the race detector off (2 cores; see README "Tests").
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in python3-autobahn python3-nacl python3-trie python3-msgpack python3-cbor2 jq ; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# Node.js and npm come with this project's machines (Node.js 20); elsewhere take Debian's.
if ! command -v npm >/dev/null; then
  need_apt+=(nodejs npm)
fi
if ((${#need_apt[@]})); then
  echo "scripts/test.sh: installing Debian packages: ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi


# AutobahnJS needs a WebSocket in Node.js: Node 20 has one behind --experimental-websocket,
# 22 and later by default; Debian 12's own nodejs (18) has none.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "scripts/test.sh: error: Node.js $(node --version) is too old for the AutobahnJS interop test; Node.js 20 or newer is needed" >&2
  exit 1
fi

js=testdata/js
if [ ! -d "$js/node_modules/autobahn" ]; then
  echo "scripts/test.sh: installing AutobahnJS from npm into $js" >&2
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# cbx is tested as the README builds it: statically (CGO_ENABLED=0) and without
# ugorji/go's fast paths (README "Building cbx"). CGO_ENABLED=1 in the environment
# overrides the first (the race detector needs cgo).
export CGO_ENABLED=${CGO_ENABLED:-0}
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-tags=codec.notfastpath"
exec go test -count=1 "$@" ./...
