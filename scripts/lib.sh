# Shared start-up of the benchmark scripts (sourced, not run): a scratch directory removed
# on exit with every process listed in pids, cbx built into it, a baseline cbx built from
# another revision, and a `cbx router` on a free port. Run from the repository's root.

# cbx is built as the README's Quickstart builds it: statically (CGO_ENABLED=0) and
# without ugorji/go's fast paths (codec.notfastpath), both of which shorten every start
# (README, "Building cbx").
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-tags=codec.notfastpath"

# bench_setup: $tmp (scratch), pids (killed on exit), $tmp/cbx built from the work tree.
bench_setup() {
  tmp=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
  go build -o "$tmp/cbx" ./cmd/cbx
}

bench_cleanup() {
  # CONT first: a stopped process (router-memory.sh stops its subscribers) ends only then.
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}

# build_base REV: $tmp/cbx-base built from git revision REV.
build_base() {
  mkdir "$tmp/base-src"
  git archive "$1" | tar -x -C "$tmp/base-src"
  (cd "$tmp/base-src" && go build -o "$tmp/cbx-base" ./cmd/cbx)
}

# start_router LOG CBX [ROUTER-FLAGS...]: `CBX router` on a free port of 127.0.0.1, its
# stderr in LOG; sets $router (its pid, added to pids) and $url once it is listening.
start_router() {
  local log=$1 bin=$2
  shift 2
  # Emptied here, not by the redirection below: that happens in the child, possibly after
  # the loop has read the previous router's line from a reused log.
  : >"$log"
  "$bin" router --listen 127.0.0.1:0 "$@" >/dev/null 2>"$log" &
  router=$!
  pids+=("$router")
  await_line "$log" 'listening on' "$router"
  url=$(sed -n 's/.*listening on \(ws:[^ ]*\) .*/\1/p' "$log")
}

# await_line FILE PATTERN PID: waits until FILE has a line matching PATTERN (grep), written
# by process PID; if PID ends first, prints FILE on stderr and exits the script with 1.
await_line() {
  until grep -q -e "$2" "$1"; do
    kill -0 "$3" 2>/dev/null || { cat "$1" >&2; exit 1; }
    sleep 0.05
  done
}
