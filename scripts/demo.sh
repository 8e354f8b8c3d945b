#!/usr/bin/env bash
# cbx's main job, end to end, on this machine: start `cbx router --trace`, make key pairs for
# a publisher and a subscriber, publish sealed events, and show that the subscriber reads
# them while the router's trace holds only ciphertext. Everything happens in a throw-away
# directory; the router listens on a free loopback port and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/cbx-demo.XXXXXX")
router_pid=""
cleanup() {
  set +e
  if [ -n "$router_pid" ]; then
    kill "$router_pid" 2>/dev/null
    wait "$router_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\n\033[1m%s\033[0m\n' "$*" >&2; }
else
  say() { printf '\n%s\n' "$*" >&2; }
fi

CGO_ENABLED=0 go build -tags codec.notfastpath -o "$work/cbx" ./cmd/cbx # as the README builds it
# Background jobs run "$work/cbx" itself, not this function, so that their PIDs are cbx's.
cbx() { "$work/cbx" "$@"; }

say "1. cbx router --trace, on a free loopback port"
"$work/cbx" router --listen 127.0.0.1:0 --url-file "$work/router.url" --trace >"$work/trace.log" 2>"$work/router.log" &
router_pid=$!
# --url-file holds the URL (with the port chosen) once the router listens; cbx wait waits
# for it and for the router to answer, and prints it.
if ! CBX_URL=$(cbx wait --url-file "$work/router.url" --timeout 10s); then
  cat "$work/router.log" >&2
  echo "the router did not start" >&2
  exit 1
fi
export CBX_URL
cat "$work/router.log" >&2

say "2. key pairs for a publisher and a subscriber (private keys in 0600 files)"
pub_pub=$(cbx keygen -o "$work/publisher.key")
sub_pub=$(cbx keygen -o "$work/subscriber.key")
echo "publisher public key:  $pub_pub"
echo "subscriber public key: $sub_pub"

say "3. each side's keystore: com.example.secure.* is sealed"
cbx --keystore "$work/publisher.keystore" keys add com.example.secure. \
  --originator-priv "$work/publisher.key" --responder-pub "$sub_pub"
cbx --keystore "$work/subscriber.keystore" keys add com.example.secure. \
  --responder-priv "$work/subscriber.key" --originator-pub "$pub_pub"
cbx --keystore "$work/subscriber.keystore" keys explain com.example.secure.orders

say "4. the subscriber waits for three events"
"$work/cbx" --keystore "$work/subscriber.keystore" subscribe com.example.secure.orders --count 3 --timeout 30s -v \
  --ready-file "$work/subscriber.ready" >"$work/events.jsonl" 2>"$work/subscriber.log" &
sub_pid=$!
# The ready file appears once the router has confirmed the subscription.
cbx wait --file "$work/subscriber.ready" --timeout 10s

say "5. the publisher publishes three sealed events (json, msgpack and cbor sessions)"
cbx --keystore "$work/publisher.keystore" publish com.example.secure.orders '{"id":17,"item":"earl-grey-tea"}' -k card=4111-1111-SECRET --ack
cbx --keystore "$work/publisher.keystore" publish com.example.secure.orders '{"id":18,"item":"flat-white-coffee"}' --serializer msgpack
echo '{"args":[{"id":19,"item":"carrot-cake-slice"}],"kwargs":{"note":"happy-birthday-note"}}' |
  cbx --keystore "$work/publisher.keystore" publish com.example.secure.orders --stdin --serializer cbor
wait "$sub_pid"

say "6. what the subscriber read"
cat "$work/events.jsonl"

say "7. what the router saw (cbx router --trace): only ciphertext"
grep -E "PUBLISH|EVENT" "$work/trace.log"
# The markers contain "-", which base64 never does, so a payload prefix cannot match them.
if grep -qE "earl-grey-tea|flat-white-coffee|carrot-cake-slice|happy-birthday-note|4111-1111-SECRET" "$work/trace.log"; then
  echo "FAIL: a plaintext argument appears in the router's trace" >&2
  exit 1
fi
echo "no plaintext argument of a sealed event appears in the router's trace" >&2
