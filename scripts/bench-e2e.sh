#!/usr/bin/env bash
# Events per second and CPU per event of separate processes, sealed and plain:
# `cbx publish --stdin` → `cbx router` → `cbx subscribe --count N`, and, through the same
# router in the same run, Autobahn|Python's own cryptobox publisher and subscriber
# (scripts/autobahn-bench.py, Debian's python3-autobahn), so that the two can be compared
# on one machine at one time. (`cbx bench` measures the same path with every session in
# one process; docs/bench.md says when to use which.)
#
# It also measures calls with caller and callee in separate processes: `cbx register
# PROC --echo` and `cbx bench call --procedure PROC` (round trips, one call in flight).
#
# usage: scripts/bench-e2e.sh [-n EVENTS] [-a EVENTS] [-c CALLS] [-r ROUNDS] [-s SERIALIZER] [-v "VARIANTS"] [-b REV] [-f] [-- ROUTER-FLAGS...]
#   -n  events per cbx run (default 100000), 100 bytes each: the JSON line ["xxx…",i]
#   -f  the lines hold a binary value too, ["xxx…",i,"\u0000AAAA"] (still 100 bytes): a
#       sealed publisher then reads each line into values and writes the plaintext from
#       them, and a sealed subscriber reads its args into values and writes its line from
#       them, where the default lines go from line to plaintext to line as they are
#       (README, publish --stdin)
#   -a  events per Autobahn run (default: as -n)
#   -c  calls per call run (default 20000), 100 bytes each way
#   -r  rounds (default 3); the variants run interleaved, round after round, so that a
#       busy machine slows them all alike: compare the ratios and the medians
#   -s  serializer of every session (default msgpack)
#   -v  variants (default "cbx-plain cbx-sealed autobahn-plain autobahn-sealed call-plain
#       call-sealed")
#   -b  git revision of baseline clients: each cbx-X variant also runs as base-X, right
#       before it in every round, with `cbx publish` and `cbx subscribe` built from REV
#       (the router stays the current one), and the medians end with base-X / cbx-X; so
#       does each call-X variant, as base-call-X, with `cbx register` and `cbx bench
#       call` built from REV
#   ROUTER-FLAGS go to `cbx router` (default --queue-size 1000000: no run drops)
#
# Each run: the subscriber is started and waited for (subscribed), then the publisher;
# events/s = EVENTS / (publisher start → subscriber exit), wall clock. CPU per event is
# read from /proc (utime+stime, in clock ticks): the publisher's and the subscriber's
# whole process (start-up included) from their parent's cutime/cstime once it has reaped
# them, the router's as the difference over the run; then "cores": these three processes'
# CPU over the run's wall time, and the machine's busy CPUs over the run (/proc/stat),
# so that a run starved by other work tells from one that left a core idle. Every run
# must deliver every event, or the script says so and exits 1. For calls: calls/s, p50
# and p99 of the round trip as cbx bench reports them (after its warm-up), and CPU per
# call of caller, router and callee (the callee's start-up and the warm-up's calls
# included).
set -euo pipefail
cd "$(dirname "$0")/.."

events=100000 ab_events="" calls=20000 rounds=3 ser=msgpack extra=
variants="cbx-plain cbx-sealed autobahn-plain autobahn-sealed call-plain call-sealed"
base=""
while getopts "n:a:c:r:s:v:b:f" opt; do
  case $opt in
    n) events=$OPTARG ;;
    a) ab_events=$OPTARG ;;
    c) calls=$OPTARG ;;
    r) rounds=$OPTARG ;;
    s) ser=$OPTARG ;;
    v) variants=$OPTARG ;;
    b) base=$OPTARG ;;
    f) extra=',"\u0000AAAA"' ;;
    *) sed -n '2,43p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
ab_events=${ab_events:-$events}
router_flags=("$@")
[ ${#router_flags[@]} -gt 0 ] || router_flags=(--queue-size 1000000)

case " $variants " in
  *" autobahn-"*)
    if ! /usr/bin/python3 -c 'import autobahn.wamp.cryptobox, nacl, msgpack, cbor2' 2>/dev/null; then
      echo "bench-e2e.sh: Autobahn|Python is missing: apt-get install python3-autobahn python3-nacl python3-msgpack python3-cbor2 (scripts/test.sh does), or -v \"cbx-plain cbx-sealed\"" >&2
      exit 1
    fi
    ;;
esac

. scripts/lib.sh
bench_setup
cbx=$tmp/cbx
tick=$(getconf CLK_TCK)
if [ -n "$base" ]; then
  build_base "$base"
  expanded=""
  for v in $variants; do
    case $v in
      cbx-*) expanded="$expanded base-${v#cbx-}" ;;
      call-*) expanded="$expanded base-$v" ;;
    esac
    expanded="$expanded $v"
  done
  variants=$expanded
fi

# Keys: the publisher's and the subscriber's keystores cover com.bench.sealed. only.
export NO_COLOR=1
unset CBX_URL CBX_KEYSTORE CBX_SERIALIZER CBX_WIRE CBX_REQUIRE_ENCRYPTED
pub_pub=$("$cbx" keygen -o "$tmp/pub.key")
sub_pub=$("$cbx" keygen -o "$tmp/sub.key")
"$cbx" --keystore "$tmp/pub.ks" keys add com.bench.sealed. --originator-priv "$tmp/pub.key" --responder-pub "$sub_pub" >/dev/null
"$cbx" --keystore "$tmp/sub.ks" keys add com.bench.sealed. --responder-priv "$tmp/sub.key" --originator-pub "$pub_pub" >/dev/null
keyline() { grep -v '^#' "$1" | grep -v '^$' | head -n 1; }

start_router "$tmp/router.log" "$cbx" "${router_flags[@]}"

# The input lines, each exactly 100 bytes: ["xxx…",i] (autobahn-bench.py sends the same),
# or with -f ["xxx…",i,"\u0000AAAA"].
python3 -c '
import sys
form = "[\"%s\",%d" + sys.argv[2] + "]"
for i in range(int(sys.argv[1])):
    head = len(form % ("", i))
    print(form % ("x" * (100 - head), i))
' "$events" "$extra" >"$tmp/events"

# measured OUT CMD...: runs CMD and writes to OUT its exit code, its CPU (utime+stime of
# the process and its children, in ticks, from this subshell's cutime+cstime once CMD is
# reaped) and the time it ended.
measured() {
  local out=$1
  shift
  local rc=0
  "$@" || rc=$?
  local st
  read -r -a st </proc/"$BASHPID"/stat
  echo "$rc $((st[15] + st[16])) $EPOCHREALTIME" >"$out"
}

# machine_ticks: the whole machine's busy and total clock ticks so far, from /proc/stat
# (busy = total less idle and iowait), summed over its CPUs.
machine_ticks() {
  local cpu user nice sys idle iowait irq softirq steal _
  read -r cpu user nice sys idle iowait irq softirq steal _ </proc/stat
  echo "$((user + nice + sys + irq + softirq + steal)) $((user + nice + sys + idle + iowait + irq + softirq + steal))"
}

router_ticks() {
  local st
  read -r -a st </proc/"$router"/stat
  echo $((st[13] + st[14]))
}

# run VARIANT ROUND: one subscriber, one publisher, measured.
run() {
  local variant=$1 round=$2 n=$events
  local kind=${variant#*-} topic
  if [ "$kind" = sealed ]; then topic="com.bench.sealed.$round"; else topic="com.bench.plain.$round"; fi
  topic="$topic.${variant%%-*}"
  : >"$tmp/sub.out"
  : >"$tmp/sub.err"
  local sub_cmd pub_cmd
  local bin=$cbx
  [ "${variant%%-*}" = base ] && bin=$tmp/cbx-base
  case $variant in
    cbx-* | base-*)
      sub_cmd=("$bin" --keystore "$tmp/sub.ks" subscribe "$topic" --url "$url" --serializer "$ser" --count "$n" -v)
      pub_cmd=("$bin" --keystore "$tmp/pub.ks" publish "$topic" --url "$url" --serializer "$ser" --stdin)
      ;;
    autobahn-*)
      n=$ab_events
      sub_cmd=(/usr/bin/python3 scripts/autobahn-bench.py sub --url "$url" --topic "$topic" --count "$n" --serializer "$ser")
      pub_cmd=(/usr/bin/python3 scripts/autobahn-bench.py pub --url "$url" --topic "$topic" --count "$n" --serializer "$ser")
      ;;
  esac
  local sub_env=() pub_env=()
  if [ "$variant" = autobahn-sealed ]; then
    sub_env=(CBX_PY_PRIV="$(keyline "$tmp/sub.key")" CBX_PY_PEER="$pub_pub")
    pub_env=(CBX_PY_PRIV="$(keyline "$tmp/pub.key")" CBX_PY_PEER="$sub_pub")
  fi
  (env "${sub_env[@]}" bash -c "$(declare -f measured); measured \"\$@\"" _ "$tmp/sub.m" "${sub_cmd[@]}" >"$tmp/sub.out" 2>"$tmp/sub.err") &
  local sub=$!
  pids+=("$sub")
  until grep -q -e 'subscribed to' "$tmp/sub.err" || grep -q '^ready$' "$tmp/sub.out"; do
    kill -0 "$sub" 2>/dev/null || { cat "$tmp/sub.err" >&2; exit 1; }
    sleep 0.05
  done
  local r0 t0 m0 rc=0
  r0=$(router_ticks)
  m0=$(machine_ticks)
  t0=$EPOCHREALTIME
  if [ "${variant%%-*}" != autobahn ]; then
    head -n "$n" "$tmp/events" | env "${pub_env[@]}" bash -c "$(declare -f measured); measured \"\$@\"" _ "$tmp/pub.m" "${pub_cmd[@]}" >/dev/null 2>"$tmp/pub.err" || rc=$?
  else
    env "${pub_env[@]}" bash -c "$(declare -f measured); measured \"\$@\"" _ "$tmp/pub.m" "${pub_cmd[@]}" </dev/null >/dev/null 2>"$tmp/pub.err" || rc=$?
  fi
  wait "$sub" || true
  local r1 m1
  r1=$(router_ticks)
  m1=$(machine_ticks)
  local pub_rc pub_ticks sub_rc sub_ticks t1 _
  read -r pub_rc pub_ticks _ <"$tmp/pub.m"
  read -r sub_rc sub_ticks t1 <"$tmp/sub.m"
  if [ "$pub_rc" != 0 ] || [ "$sub_rc" != 0 ]; then
    echo "bench-e2e.sh: $variant round $round: publisher exit $pub_rc, subscriber exit $sub_rc" >&2
    sed 's/^/    pub: /' "$tmp/pub.err" >&2
    sed 's/^/    sub: /' "$tmp/sub.err" >&2
    exit 1
  fi
  if [ "${variant%%-*}" != autobahn ] && [ "$(wc -l <"$tmp/sub.out")" != "$n" ]; then
    echo "bench-e2e.sh: $variant round $round: the subscriber printed $(wc -l <"$tmp/sub.out") of $n events" >&2
    exit 1
  fi
  awk -v v="$variant" -v r="$round" -v n="$n" -v a="$t0" -v b="$t1" -v tk="$tick" \
    -v p="$pub_ticks" -v s="$sub_ticks" -v rt="$((r1 - r0))" -v m0="$m0" -v m1="$m1" -v cpus="$(nproc)" \
    'BEGIN { us = 1e6 / tk / n; split(m0, x, " "); split(m1, y, " ")
      printf "%-16s round %d  %7d events  %8.0f events/s  CPU per event: publisher %6.1f µs  router %6.1f µs  subscriber %6.1f µs  cores: these %4.2f  machine %4.2f of %d\n", v, r, n, n / (b - a), p * us, rt * us, s * us, (p + s + rt) / tk / (b - a), (y[2] > x[2] ? (y[1] - x[1]) / (y[2] - x[2]) * cpus : 0), cpus }'
}

# run_call VARIANT ROUND: `cbx register PROC --echo` and `cbx bench call --procedure
# PROC`, each its own process, measured.
run_call() {
  local variant=$1 round=$2 warm=1000
  local kind=${variant#base-}
  local proc="com.bench.plain.$round.echo"
  [ "$kind" = call-sealed ] && proc="com.bench.sealed.$round.echo"
  local bin=$cbx
  [ "${variant%%-*}" = base ] && bin=$tmp/cbx-base
  : >"$tmp/reg.err"
  rm -f "$tmp/reg.ready"
  # Readiness from --ready-file, not -v: -v writes a notice line to stderr at every call,
  # which is no part of the round trip, and cost 20 µs of its median (a write(2) that
  # wakes the callee's runtime monitor thread at each call).
  (bash -c "$(declare -f measured); measured \"\$@\"" _ "$tmp/reg.m" "$bin" --keystore "$tmp/sub.ks" register "$proc" --echo \
    --url "$url" --serializer "$ser" --count $((calls + warm)) --ready-file "$tmp/reg.ready" >/dev/null 2>"$tmp/reg.err") &
  local reg=$!
  until [ -e "$tmp/reg.ready" ]; do
    kill -0 "$reg" 2>/dev/null || { cat "$tmp/reg.err" >&2; exit 1; }
    sleep 0.05
  done
  local r0 r1
  r0=$(router_ticks)
  bash -c "$(declare -f measured); measured \"\$@\"" _ "$tmp/call.m" "$bin" --keystore "$tmp/pub.ks" bench call --url "$url" \
    --serializer "$ser" --procedure "$proc" --msgs "$calls" --warmup "$warm" --json >"$tmp/call.out" 2>"$tmp/call.err" || true
  wait "$reg" || true
  r1=$(router_ticks)
  local call_rc call_ticks reg_rc reg_ticks _
  read -r call_rc call_ticks _ <"$tmp/call.m"
  read -r reg_rc reg_ticks _ <"$tmp/reg.m"
  if [ "$call_rc" != 0 ] || [ "$reg_rc" != 0 ]; then
    echo "bench-e2e.sh: $variant round $round: caller exit $call_rc, callee exit $reg_rc" >&2
    sed 's/^/    caller: /' "$tmp/call.err" "$tmp/call.out" >&2
    sed 's/^/    callee: /' "$tmp/reg.err" >&2
    exit 1
  fi
  python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
want = "sealed" if sys.argv[2].endswith("call-sealed") else "plain"
if r["mode"] != want or r["lost"] or r["errors"]:
    sys.exit("bench-e2e.sh: %s: %r" % (sys.argv[2], r))
n, us = r["msgs"] + int(sys.argv[7]), 1e6 / int(sys.argv[6])
print("%-16s round %s  %7d calls      %8.0f calls/s   p50 %7.1f µs  p99 %7.1f µs  CPU per call: caller %6.1f µs  router %6.1f µs  callee %6.1f µs"
      % (sys.argv[2], sys.argv[3], r["msgs"], r["msgs_per_s"], r["p50_us"], r["p99_us"],
         int(sys.argv[4]) * us / n, int(sys.argv[8]) * us / n, int(sys.argv[5]) * us / n))
' "$tmp/call.out" "$variant" "$round" "$call_ticks" "$reg_ticks" "$tick" "$warm" "$((r1 - r0))"
}

lines="[\"xxx…\",i]"
[ -z "$extra" ] || lines="[\"xxx…\",i,\"\\u0000AAAA\"]"
echo "bench-e2e.sh: $events events (Autobahn: $ab_events) of 100 bytes ($lines), $calls calls, $ser, separate processes, cbx router ${router_flags[*]}, $rounds rounds"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr), $(go version | cut -d' ' -f3), cbx $(git describe --always --dirty 2>/dev/null || echo '?')${base:+, base clients $(git rev-parse --short "$base")}"
for ((r = 1; r <= rounds; r++)); do
  for v in $variants; do
    case $v in
      call-* | base-call-*) run_call "$v" "$r" ;;
      *) run "$v" "$r" ;;
    esac
  done
done | tee "$tmp/results"

# Medians per variant, and the ratios the issue asks for.
awk '
  $1 ~ /^(base-)?call-/ { v = $1; c[v]++; crate[v, c[v]] = $6; p50[v, c[v]] = $9; p99[v, c[v]] = $12; cc[v, c[v]] = $18; cr[v, c[v]] = $21; ce[v, c[v]] = $24; if (!(v in cseen)) { cseen[v] = 1; corder[++ck] = v }; next }
  { v = $1; n[v]++; rate[v, n[v]] = $6; pub[v, n[v]] = $12; rt[v, n[v]] = $15; sub_[v, n[v]] = $18; if (!(v in seen)) { seen[v] = 1; order[++k] = v } }
  function median(a, v, m,   i, j, t, x) { for (i = 1; i <= m; i++) x[i] = a[v, i]; for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t } return (m % 2) ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2 }
  END {
    print "medians:"
    for (i = 1; i <= k; i++) { v = order[i]; med[v] = median(rate, v, n[v]); printf "  %-16s %8.0f events/s  publisher %6.1f µs  router %6.1f µs  subscriber %6.1f µs\n", v, med[v], median(pub, v, n[v]), median(rt, v, n[v]), median(sub_, v, n[v]) }
    if (med["cbx-plain"] > 0 && med["cbx-sealed"] > 0) {
      # Also round by round (each sealed round against the plain round next to it), since
      # the machine can slow a whole round: the spread says how far one median is to trust.
      m = (n["cbx-plain"] < n["cbx-sealed"]) ? n["cbx-plain"] : n["cbx-sealed"]
      for (i = 1; i <= m; i++) pair["r", i] = rate["cbx-sealed", i] / rate["cbx-plain", i]
      lo = hi = pair["r", 1]; for (i = 2; i <= m; i++) { if (pair["r", i] < lo) lo = pair["r", i]; if (pair["r", i] > hi) hi = pair["r", i] }
      printf "  cbx sealed / cbx plain: %.2f (round by round %.2f to %.2f, median %.2f)\n", med["cbx-sealed"] / med["cbx-plain"], lo, hi, median(pair, "r", m)
    }
    for (i = 1; i <= k; i++) { v = order[i]; if (v !~ /^base-/) continue; w = "cbx-" substr(v, 6); if (!(w in med)) continue
      printf "  %s / %s: events/s %.2f  publisher %.2f  subscriber %.2f\n", v, w, med[v] / med[w], median(pub, v, n[v]) / median(pub, w, n[w]), median(sub_, v, n[v]) / median(sub_, w, n[w]) }
    if (med["autobahn-sealed"] > 0 && med["cbx-sealed"] > 0) printf "  cbx sealed / Autobahn sealed: %.1f×\n", med["cbx-sealed"] / med["autobahn-sealed"]
    for (i = 1; i <= ck; i++) { v = corder[i]; printf "  %-16s %8.0f calls/s   p50 %7.1f µs  p99 %7.1f µs  caller %6.1f µs  router %6.1f µs  callee %6.1f µs\n", v, median(crate, v, c[v]), median(p50, v, c[v]), median(p99, v, c[v]), median(cc, v, c[v]), median(cr, v, c[v]), median(ce, v, c[v]) }
    for (i = 1; i <= ck; i++) { v = corder[i]; if (v !~ /^base-/) continue; w = substr(v, 6); if (!(w in cseen)) continue
      printf "  %s / %s: p50 %.2f  p99 %.2f  caller %.2f  router %.2f  callee %.2f\n", v, w, median(p50, v, c[v]) / median(p50, w, c[w]), median(p99, v, c[v]) / median(p99, w, c[w]), median(cc, v, c[v]) / median(cc, w, c[w]), median(cr, v, c[v]) / median(cr, w, c[w]), median(ce, v, c[v]) / median(ce, w, c[w]) }
  }' "$tmp/results"

kill -INT "$router"
wait "$router" || true
grep 'router stopped' "$tmp/router.log" || true
