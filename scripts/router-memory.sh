#!/usr/bin/env bash
# The memory a stopped subscriber costs `cbx router`: the router's resident size (VmRSS)
# before and after a flood to a subscriber stopped with SIGSTOP, for the byte limit
# (large events) and the message limit (small events), with the router's own count of
# what it dropped. It should stay near the limit (--queue-bytes, or --queue-size times
# the small events' size) plus the router's base, however much is published. RSS also
# holds the Go collector's headroom (GOGC=100: up to twice the live heap, plus the
# router's 32 MiB floor, cmd/cbx/procs.go) and memory not yet returned to the system, so
# the live heap after the last collection (from GODEBUG=gctrace=1) is shown too: that is
# what the limits bound (it counts the floor's 32 MiB, which are never touched and hold
# no resident memory).
#
#   scripts/router-memory.sh [ROUTER FLAGS...]     e.g. --queue-bytes 16777216
#
# With --steady N it measures instead whether the router's memory and the subscriber's
# stay flat under a long steady stream: N sealed events of 100 bytes (msgpack) from
# `cbx publish --stdin` to a `cbx subscribe` that keeps up (its output to /dev/null),
# with the RSS and live heap of the router and of the subscriber sampled every 10
# seconds (e.g. --steady 10000000: about five minutes).
#
#   scripts/router-memory.sh --steady N [ROUTER FLAGS...]
#
# Needs python3 (to write the input) and Linux's /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
steady=""
if [ "${1:-}" = --steady ]; then
	steady=$2
	shift 2
fi
. scripts/lib.sh
bench_setup
cbx=$tmp/cbx
export CBX_KEYSTORE=$tmp/keystore
"$cbx" keys init >/dev/null 2>&1 || true

rss() { awk '/^VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }
# live: the heap left after the router's last garbage collection.
live() {
	local l
	l=$(grep -oE '[0-9]+->[0-9]+->[0-9]+ MB' "$tmp/router.log" | tail -1 || true)
	if [ -n "$l" ]; then echo "${l##*->} live"; else echo "no collection yet"; fi
}

GODEBUG=gctrace=1 start_router "$tmp/router.log" "$cbx" "$@"
export CBX_URL=$url

# flood NAME COUNT BYTES: one subscriber, stopped, then COUNT events of about BYTES each.
flood() {
	local name=$1 count=$2 bytes=$3 topic=com.example.memory.$1
	"$cbx" subscribe "$topic" -v >/dev/null 2>"$tmp/sub-$name.log" &
	local sub=$!
	pids+=("$sub")
	await_line "$tmp/sub-$name.log" 'subscribed to' "$sub"
	kill -STOP "$sub"
	local before
	before="$(rss "$router") ($(live))"
	python3 -c "
import sys
pad = 'x' * max(1, $bytes - 20)
w = sys.stdout.write
for i in range($count):
    w('[%d,\"%s\"]\n' % (i, pad))
" >"$tmp/input-$name"
	local t0=$SECONDS
	"$cbx" publish "$topic" --stdin <"$tmp/input-$name"
	sleep 2 # the router finishes routing what it read
	local after
	after="$(rss "$router") ($(live))"
	printf '%-8s %7d events of %6d B (%4d MiB published in %ds): router RSS %s before, %s with the subscriber stopped\n' \
		"$name" "$count" "$bytes" $((count * bytes >> 20)) $((SECONDS - t0)) "$before" "$after"
	kill -CONT "$sub"
	kill "$sub"
	wait "$sub" 2>/dev/null || true
	sleep 1
	printf '%-8s after it left: router RSS %s (%s)\n' "$name" "$(rss "$router")" "$(live)"
}

# subinfo: the subscriber's resident size, peak resident size, and the heap left after its
# last collection.
subinfo() {
	local l
	l=$(grep -oE '[0-9]+->[0-9]+->[0-9]+ MB' "$tmp/sub-steady.log" | tail -1 || true)
	awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {printf "%.1f MiB (peak %.1f MiB", r/1024, h/1024}' "/proc/$1/status"
	if [ -n "$l" ]; then echo ", ${l##*->} live)"; else echo ", no collection yet)"; fi
}

# soak COUNT: COUNT sealed events of 100 bytes to a subscriber that keeps up; the memory
# of the router and of the subscriber every 10 seconds.
soak() {
	local count=$1 topic=com.example.memory.steady pubkey subkey
	pubkey=$("$cbx" keygen -o "$tmp/pub.key" 2>/dev/null)
	subkey=$("$cbx" keygen -o "$tmp/sub.key" 2>/dev/null)
	"$cbx" --keystore "$tmp/pub.ks" keys add com.example.memory. --originator-priv "$tmp/pub.key" --responder-pub "$subkey" >/dev/null
	"$cbx" --keystore "$tmp/sub.ks" keys add com.example.memory. --responder-priv "$tmp/sub.key" --originator-pub "$pubkey" >/dev/null
	GODEBUG=gctrace=1 CBX_SERIALIZER=msgpack "$cbx" --keystore "$tmp/sub.ks" subscribe "$topic" --count "$count" \
		--require-encrypted -v >/dev/null 2>"$tmp/sub-steady.log" &
	local sub=$!
	pids+=("$sub")
	await_line "$tmp/sub-steady.log" 'subscribed to' "$sub"
	printf 'steady   %d sealed events of 100 B; router RSS before: %s (%s); subscriber %s\n' "$count" "$(rss "$router")" "$(live)" "$(subinfo "$sub")"
	python3 -c "
import sys
pad = 'x' * 80
w = sys.stdout.write
for i in range($count):
    w('[%d,\"%s\"]\n' % (i, pad))
" | CBX_SERIALIZER=msgpack "$cbx" --keystore "$tmp/pub.ks" publish "$topic" --stdin &
	local pub=$!
	pids+=("$pub")
	local t0=$SECONDS
	while kill -0 "$sub" 2>/dev/null; do
		sleep 10
		kill -0 "$sub" 2>/dev/null || break
		printf 'steady   after %4ds: router RSS %s (%s); subscriber %s\n' $((SECONDS - t0)) "$(rss "$router")" "$(live)" "$(subinfo "$sub")"
	done
	wait "$pub"
	wait "$sub"
	printf 'steady   all %d delivered in %ds: router RSS %s (%s)\n' "$count" $((SECONDS - t0)) "$(rss "$router")" "$(live)"
}

if [ -n "$steady" ]; then
	soak "$steady"
else
	flood bytes 3000 65536   # 187 MiB: the 64 MiB byte limit binds
	flood msgs 300000 100    # 28 MiB in 100 B events: the 65,536-message limit binds
fi

kill -INT "$router"
wait "$router" || true
grep -E 'dropped in total|router stopped' "$tmp/router.log" | tail -2
