#!/usr/bin/env bash
# cbx's main job, end to end, in a throw-away directory: make key pairs for a publisher and
# a subscriber, give each side its keystore, seal a payload as the publisher, and open it
# as the subscriber. Nothing outside the temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/cbx-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
go build -o "$work/cbx" ./cmd/cbx
cbx() { "$work/cbx" "$@"; }
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  say() { printf '\n\033[1m%s\033[0m\n' "$*" >&2; }
else
  say() { printf '\n%s\n' "$*" >&2; }
fi

say "1. key pairs for a publisher and a subscriber (private keys in 0600 files)"
pub_pub=$(cbx keygen -o "$work/publisher.key")
sub_pub=$(cbx keygen -o "$work/subscriber.key")
echo "publisher public key:  $pub_pub"
echo "subscriber public key: $sub_pub"

say "2. each side's keystore: which key seals com.example.secure.*"
cbx --keystore "$work/publisher.keystore" keys add com.example.secure. \
  --originator-priv "$work/publisher.key" --responder-pub "$sub_pub"
cbx --keystore "$work/subscriber.keystore" keys add com.example.secure. \
  --responder-priv "$work/subscriber.key" --originator-pub "$pub_pub"
cbx --keystore "$work/publisher.keystore" keys ls
cbx --keystore "$work/subscriber.keystore" keys explain com.example.secure.orders

say "3. the publisher seals a payload: this is all a router would see"
sealed=$(cbx --keystore "$work/publisher.keystore" seal com.example.secure.orders '{"id":17,"item":"tea"}' -k priority=high)
echo "$sealed"

say "4. the subscriber opens it"
echo "$sealed" | cbx --keystore "$work/subscriber.keystore" open com.example.secure.orders

say "5. the same payload replayed on another topic is refused (trusted URI check)"
set +e
echo "$sealed" | cbx --keystore "$work/subscriber.keystore" open com.example.secure.refunds
echo "exit code $? (4: trusted URI mismatch)"
set -e
