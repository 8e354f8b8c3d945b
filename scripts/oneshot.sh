#!/usr/bin/env bash
# Wall time of a one-shot sealed `cbx publish` (process start to exit) against a local
# `cbx router`: N runs of `cbx publish TOPIC ARG` with a keystore that covers TOPIC, each
# timed from just before the process is spawned until it has been reaped. A
# `cbx subscribe` counts the events, so a run that loses one fails the script. With
# -b REV the cbx built from REV publishes too, pair by pair with the current one (the
# order alternating within pairs), against the same router (the current one), so that
# a busy machine slows both alike: compare the medians' ratio.
#
# usage: scripts/oneshot.sh [-n RUNS] [-b REV | -B FILE] [-s json|msgpack|cbor] [-- PUBLISH-FLAGS...]
#   -n  runs of each binary (default 200)    -b  git revision of a baseline cbx
#   -B  a baseline cbx binary already built (e.g. built another way)
#   -s  serializer (default: cbx's own default)
#
# Prints, for each binary, the median, p90, mean and min in milliseconds; with -b also the
# ratio of the medians (current / base). Needs python3 (it spawns and times the runs).
#
# Each binary starts from the same page-cache state: written back, dropped from the cache,
# then read again by one untimed run, as after a reboot. How a binary's pages came into
# the cache changes its start and exit by up to 0.7 ms (docs/bench.md, "One-shot
# publish"): without this, a baseline copied with cp beat the same bytes fresh from
# go build by 9 %.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=200 base="" basebin="" ser=""
while getopts "n:b:B:s:" opt; do
  case $opt in
    n) runs=$OPTARG ;;
    b) base=$OPTARG ;;
    B) basebin=$(realpath "$OPTARG") ;;
    s) ser=$OPTARG ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

. scripts/lib.sh
bench_setup
bins=("$tmp/cbx")
names=(current)
if [ -n "$base" ]; then
  build_base "$base"
  basebin=$tmp/cbx-base
fi
if [ -n "$basebin" ]; then
  bins=("$basebin" "$tmp/cbx")
  names=(base current)
fi

export NO_COLOR=1
unset CBX_KEYSTORE CBX_CONTEXT
[ -n "$ser" ] && export CBX_SERIALIZER=$ser
# The router, the subscriber and the key set-up run a copy of the current binary, so that
# no other process maps the file under test while its pages are dropped (below).
cp "$tmp/cbx" "$tmp/cbx-aux"
cbx() { "$tmp/cbx-aux" "$@"; }
pubkey=$(cbx keygen -o "$tmp/pub.key" 2>/dev/null)
subkey=$(cbx keygen -o "$tmp/sub.key" 2>/dev/null)
cbx --keystore "$tmp/pub.ks" keys add bench. --originator-priv "$tmp/pub.key" --responder-pub "$subkey" >/dev/null
cbx --keystore "$tmp/sub.ks" keys add bench. --responder-priv "$tmp/sub.key" --originator-pub "$pubkey" >/dev/null

start_router "$tmp/router.log" "$tmp/cbx-aux"
export CBX_URL=$url
topic=bench.oneshot
total=$(((runs + 1) * ${#bins[@]})) # one untimed run each
: >"$tmp/sub.err"
cbx --keystore "$tmp/sub.ks" subscribe "$topic" --count "$total" --timeout 600s -v >"$tmp/sub.out" 2>"$tmp/sub.err" &
sub=$!
pids+=("$sub")
await_line "$tmp/sub.err" 'subscribed to' "$sub"

echo "one-shot sealed publish, $runs runs each, router $url${ser:+, $ser}, flags: ${*:-(none)}"
python3 - "$runs" "$tmp/pub.ks" "$topic" "${#bins[@]}" "${bins[@]}" "${names[@]}" "$@" <<'EOF'
import os, sys, time, statistics
runs, ks, topic, nb = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
bins = sys.argv[5:5 + nb]
names = sys.argv[5 + nb:5 + 2 * nb]
extra = sys.argv[5 + 2 * nb:]
null = os.open(os.devnull, os.O_RDWR)
times = [[] for _ in bins]

def once(k, i):
    argv = [bins[k], "--keystore", ks, "publish", topic, '{"n":%d}' % i] + extra
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(bins[k], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1)])
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if status != 0:
        sys.exit("%s: run %d failed (status %d)" % (names[k], i, status))
    return (t1 - t0) / 1e6

# The same page-cache state for every binary (see the top of the script): fsync so that
# no page is dirty, then drop the file's pages; the untimed run reads them back.
for k in range(nb):
    fd = os.open(bins[k], os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    once(k, -1)

for i in range(runs):
    order = range(nb) if i % 2 == 0 else reversed(range(nb))
    for k in order:
        times[k].append(once(k, i))

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

med = []
for k in range(nb):
    xs = times[k]
    med.append(statistics.median(xs))
    print("  %-8s median %6.2f ms  p90 %6.2f  mean %6.2f  min %6.2f" %
          (names[k], statistics.median(xs), pct(xs, 90), statistics.mean(xs), min(xs)))
if nb == 2:
    print("  current/base median ratio %.3f" % (med[1] / med[0]))
EOF
for ((i = 0; i < 100; i++)); do kill -0 "$sub" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$sub" 2>/dev/null || ! wait "$sub"; then
  echo "the subscriber did not get all $total events:" >&2
  cat "$tmp/sub.err" >&2
  exit 1
fi
echo "  the subscriber got all $total events"
