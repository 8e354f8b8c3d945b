#!/usr/bin/env bash
# Events per second of `cbx publish --stdin` with its acknowledgement window (--window),
# for several window sizes, side by side with cbx before the window: fire-and-forget
# (every PUBLISH unacknowledged) and base-ack (--ack: each PUBLISH waits for its
# PUBLISHED), through `cbx router` with one `cbx subscribe` counting what it receives.
# The variants run interleaved, round after round, so that a busy machine slows them all
# alike: compare the ratios, not the absolute figures.
#
# usage: scripts/bench-window.sh [-n EVENTS] [-r ROUNDS] [-w "WINDOW..."] [-b REV] [-- ROUTER-FLAGS...]
#   -n  events per run (default 20000, 100 bytes each)
#   -r  rounds (default 3)
#   -w  window sizes (default "16 32 64"; above 64, give the router a longer queue,
#       e.g. -- --queue-size 100000, or it may drop acknowledgements)
#   -b  git revision built for the two baselines (default: the first parent of the
#       commit that added the window); "none" skips them
#   ROUTER-FLAGS go to `cbx router` (e.g. -- --queue-size 1000000)
#
# Each line: variant, round, seconds for the publisher (connect to exit), events per second
# as the publisher saw it, events per second delivered (publisher start until the
# subscriber had all of them; the fairer figure, since a fire-and-forget publisher exits
# with events still queued in the router), and how many the subscriber received.
set -euo pipefail
cd "$(dirname "$0")/.."

events=20000 rounds=3 windows="16 32 64" base=""
while getopts "n:r:w:b:" opt; do
  case $opt in
    n) events=$OPTARG ;;
    r) rounds=$OPTARG ;;
    w) windows=$OPTARG ;;
    b) base=$OPTARG ;;
    *) sed -n '2,21p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

. scripts/lib.sh
bench_setup
if [ -z "$base" ]; then
  added=$(git log --format=%H -S'defaultWindow = ' -- cmd/cbx/publish.go | tail -n 1)
  base=${added:+$added^}
fi
if [ -n "$base" ] && [ "$base" != none ]; then
  build_base "$base"
fi

export CBX_KEYSTORE="$tmp/keystore" NO_COLOR=1
"$tmp/cbx" keys init >/dev/null # empty: plaintext, as sealing is not what is measured
# The baseline reads only the keystore format of its day: an empty one of its own.
[ -x "$tmp/cbx-base" ] && CBX_KEYSTORE="$tmp/keystore-base" "$tmp/cbx-base" keys init >/dev/null
start_router "$tmp/router.log" "$tmp/cbx" "$@"
export CBX_URL=$url

pad=$(head -c 88 /dev/zero | tr '\0' x)
for ((i = 0; i < events; i++)); do printf '["%s",%d]\n' "$pad" "$i"; done >"$tmp/events"

# run VARIANT ROUND CBX ARGS...: one subscriber, one timed publisher.
run() {
  local variant=$1 round=$2 bin=$3
  shift 3
  local topic="bench.${variant//-/_}.$round"
  # Emptied here, not by the redirection below: that happens in the background child,
  # possibly after the wait loop has read the previous round's "subscribed" line.
  : >"$tmp/sub.err"
  rm -f "$tmp/sub.end"
  # The subscriber notes when it has every event (--count), for the delivered rate.
  ( "$tmp/cbx" subscribe "$topic" --count "$events" -v >"$tmp/sub.out" 2>"$tmp/sub.err" \
      && date +%s.%N >"$tmp/sub.end" ) &
  local sub=$!
  pids+=($sub)
  await_line "$tmp/sub.err" subscribed "$sub"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  local ks=$CBX_KEYSTORE
  [ "$bin" = "$tmp/cbx-base" ] && ks=$tmp/keystore-base
  CBX_KEYSTORE=$ks "$bin" publish "$topic" --stdin --timeout 120s "$@" <"$tmp/events" >/dev/null 2>"$tmp/pub.err" || rc=$?
  t1=$(date +%s.%N)
  # The subscriber ends by itself once it has all (--count); otherwise wait until it has
  # received nothing for two seconds (what the router dropped is not coming), then count.
  local seen=-1 now idle=0
  while kill -0 "$sub" 2>/dev/null && [ "$idle" -lt 8 ]; do
    sleep 0.25
    now=$(wc -l <"$tmp/sub.out")
    if [ "$now" = "$seen" ]; then idle=$((idle + 1)); else idle=0 seen=$now; fi
  done
  pkill -INT -P "$sub" 2>/dev/null || true # the subscriber, child of the subshell
  wait "$sub" 2>/dev/null || true
  local got t2=0
  got=$(wc -l <"$tmp/sub.out")
  [ -s "$tmp/sub.end" ] && t2=$(cat "$tmp/sub.end")
  awk -v v="$variant" -v r="$round" -v a="$t0" -v b="$t1" -v c="$t2" -v n="$events" -v g="$got" -v rc="$rc" \
    'BEGIN { s = b - a; d = (c > 0) ? sprintf("%8.0f", n / (c - a)) : "       -"
             printf "%-16s round %d  %6.2f s  %8.0f events/s  %s delivered/s  delivered %d/%d%s\n", v, r, s, n / s, d, g, n, (rc ? "  (publisher exit " rc ")" : "") }'
  [ "$rc" = 0 ] || sed 's/^/    /' "$tmp/pub.err"
}

echo "cbx publish --stdin, $events events of 100 bytes, cbx router ${*:-(default flags)}, $rounds rounds"
for ((r = 1; r <= rounds; r++)); do
  if [ -x "$tmp/cbx-base" ]; then
    run fire-and-forget "$r" "$tmp/cbx-base"
    run base-ack "$r" "$tmp/cbx-base" --ack
  fi
  for w in $windows; do
    run "window-$w" "$r" "$tmp/cbx" --window "$w"
  done
done | tee "$tmp/results"

# The router's own count of what it dropped, over all runs.
kill -INT "$router"
wait "$router" || true
grep 'router stopped' "$tmp/router.log" || true

echo
echo "medians per variant (ratio to fire-and-forget): events/s as the publisher saw it (start"
echo "to exit), and delivered/s (publisher start until the subscriber had every event)"
median() { sort -n | awk '{ x[NR] = $1 } END { print (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2 }'; }
base_pub="" base_del=""
for v in $(awk '$2 == "round" && !seen[$1]++ { print $1 }' "$tmp/results"); do
  p=$(awk -v v="$v" '$1 == v && $2 == "round" { print $6 }' "$tmp/results" | median)
  d=$(awk -v v="$v" '$1 == v && $2 == "round" && $8 != "-" { print $8 }' "$tmp/results" | median)
  [ "$v" = fire-and-forget ] && base_pub=$p base_del=$d
  awk -v v="$v" -v p="$p" -v d="$d" -v bp="$base_pub" -v bd="$base_del" 'BEGIN {
    printf "  %-16s %8.0f events/s%s  %8.0f delivered/s%s\n", v, p, (bp ? sprintf(" (%.2f)", p / bp) : ""), d, (bd ? sprintf(" (%.2f)", d / bd) : "") }'
done
