#!/usr/bin/env bash
# CPU time per routed event of `cbx router`, in separate processes: `cbx publish --stdin`
# (sealed, msgpack, 100-byte events) → `cbx router` → S × `cbx subscribe --count N`.
# The router's utime+stime is read from /proc before the publisher starts and after
# every subscriber has all N events; the publisher's and subscribers' from /usr/bin/time.
# With -b REV the router built from REV runs too, interleaved round by round with the
# current one (same clients), so that a busy machine slows both alike: compare ratios.
#
# usage: scripts/router-cpu.sh [-n EVENTS] [-s SUBS] [-r ROUNDS] [-m sealed|plain] [-b REV] [-- ROUTER-FLAGS...]
#   -n  events per run (default 100000)      -s  subscribers (default 1)
#   -r  rounds (default 3)                   -m  sealed (default) or plain
#   -b  git revision of a baseline router (default: none)
#
# Each line: router, round, events/s (publisher start to last subscriber done), CPU µs per
# event of the router, the publisher and each subscriber (mean over subscribers).
set -euo pipefail
cd "$(dirname "$0")/.."

events=100000 subs=1 rounds=3 mode=sealed base=""
while getopts "n:s:r:m:b:" opt; do
  case $opt in
    n) events=$OPTARG ;;
    s) subs=$OPTARG ;;
    r) rounds=$OPTARG ;;
    m) mode=$OPTARG ;;
    b) base=$OPTARG ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

. scripts/lib.sh
bench_setup
routers=(current)
if [ -n "$base" ]; then
  build_base "$base"
  routers=(base current)
fi
cbx() { "$tmp/cbx" "$@"; }

export NO_COLOR=1 CBX_SERIALIZER=msgpack
if [ "$mode" = sealed ]; then
  pubkey=$(cbx keygen -o "$tmp/pub.key" 2>/dev/null)
  subkey=$(cbx keygen -o "$tmp/sub.key" 2>/dev/null)
  cbx --keystore "$tmp/pub.ks" keys add bench. --originator-priv "$tmp/pub.key" --responder-pub "$subkey" >/dev/null
  cbx --keystore "$tmp/sub.ks" keys add bench. --responder-priv "$tmp/sub.key" --originator-pub "$pubkey" >/dev/null
else
  cbx --keystore "$tmp/pub.ks" keys init >/dev/null
  cbx --keystore "$tmp/sub.ks" keys init >/dev/null
fi

pad=$(head -c 88 /dev/zero | tr '\0' x)
for ((i = 0; i < events; i++)); do printf '["%s",%d]\n' "$pad" "$i"; done >"$tmp/events"

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # utime+stime, clock ticks
hz=$(getconf CLK_TCK)

# run ROUTER ROUND: a fresh router, S subscribers, one publisher.
run() {
  local name=$1 round=$2 bin=$tmp/cbx
  [ "$name" = base ] && bin=$tmp/cbx-base
  start_router "$tmp/router.log" "$bin" "${extra[@]}"
  export CBX_URL=$url
  local topic=bench.cpu subpids=() i
  for ((i = 0; i < subs; i++)); do
    : >"$tmp/sub$i.err"
    /usr/bin/time -f '%U %S' -o "$tmp/sub$i.time" "$tmp/cbx" --keystore "$tmp/sub.ks" subscribe "$topic" \
      --count "$events" --timeout 600s -v >/dev/null 2>"$tmp/sub$i.err" &
    subpids+=($!)
    pids+=($!)
  done
  for ((i = 0; i < subs; i++)); do
    await_line "$tmp/sub$i.err" 'subscribed to' "${subpids[$i]}"
  done
  local c0 c1 t0 t1
  c0=$(cpu "$router")
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$tmp/pub.time" "$tmp/cbx" --keystore "$tmp/pub.ks" publish "$topic" --stdin \
    --timeout 600s <"$tmp/events" >/dev/null
  for p in "${subpids[@]}"; do wait "$p"; done
  t1=$(date +%s.%N)
  c1=$(cpu "$router")
  kill -INT "$router"
  wait "$router" || true
  local subcpu
  subcpu=$(cat "$tmp"/sub*.time | awk '{ s += $1 + $2 } END { print s / NR }')
  awk -v r="$name" -v k="$round" -v n="$events" -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v hz="$hz" \
    -v p="$(awk '{ print $1 + $2 }' "$tmp/pub.time")" -v s="$subcpu" \
    'BEGIN { printf "%-8s round %d  %8.0f events/s  router %6.2f µs/event  publisher %6.2f  subscriber %6.2f\n",
      r, k, n / (b - a), c / hz / n * 1e6, p / n * 1e6, s / n * 1e6 }' | tee -a "$tmp/results"
}

extra=("$@")
echo "$mode, msgpack, $events events of 100 B, $subs subscriber(s), router flags: ${extra[*]:-(default)}"
for ((r = 1; r <= rounds; r++)); do
  for name in "${routers[@]}"; do run "$name" "$r"; done
done
echo
echo "median router µs/event:"
for name in "${routers[@]}"; do
  awk -v v="$name" '$1 == v { print $7 }' "$tmp/results" | sort -n |
    awk -v v="$name" '{ x[NR] = $1 } END { printf "  %-8s %6.2f\n", v, (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2 }'
done
