package main

import (
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// Args that travel as JSON text (wamp.JSONArgsCodec): a --stdin line in canonical form
// goes into the sealed plaintext as it is, and subscribe copies canonical args out of
// the plaintext into its line. Against Autobahn|Python on both ends: what it receives
// from such a line, and what cbx prints of what it publishes, are the values, as the
// long way gives them.
func TestInteropArgsAsText(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)

	t.Run("autobahn_publish_cbx_subscribe", func(t *testing.T) {
		t.Parallel()
		url, trace := startInteropRouter(t)
		topic := secureNS + ".text1"
		sub := startCbx(t, "--keystore", keys.respKS, "subscribe", topic, "--count", "2", "--timeout", "30s", "-v", "--url", url, "--serializer", "msgpack")
		sub.waitStderr(t, `cbx: subscribed to "`+topic+`"`)
		// Autobahn seals "kwargs":{} when there are none: the first event's args are
		// canonical; the second event's are not (a binary value, which cbx reads).
		for _, args := range []string{`["x",1,[true,null],{"a":"b","c":[]},2.5,"a\nb"]`, `[2.5,"é","\u0000AAH+/w=="]`} {
			finishPeer(t, startPeer(t, url, "json", keys.pyOriginator(), "--publish", publishJSON(topic, args, `{}`)))
		}
		sub.waitExit(t, 0)
		lines := stdoutLines(sub.stdout.String())
		if len(lines) != 2 {
			t.Fatalf("cbx subscribe printed %d lines:\n%s", len(lines), sub.stdout)
		}
		for i, want := range []string{`"sealed":true,"args":["x",1,[true,null],{"a":"b","c":[]},2.5,"a\nb"],"kwargs":{}}`, `"sealed":true,"args":[2.5,"é","\u0000AAH+/w=="],"kwargs":{}}`} {
			if !strings.HasSuffix(lines[i], want) {
				t.Errorf("line %d is %s, want it to end %s", i+1, lines[i], want)
			}
		}
		ev := oneLine(t, lines[0])
		assertPayload(t, "cbx subscribe", ev["args"], ev["kwargs"], []any{"x", int64(1), []any{true, nil}, map[string]any{"a": "b", "c": []any{}}, 2.5, "a\nb"}, map[string]any{})
		assertNoPlaintext(t, trace.String(), `"x"`, "é")
	})

	t.Run("cbx_stdin_autobahn_subscribe", func(t *testing.T) {
		t.Parallel()
		url, trace := startInteropRouter(t)
		topic := secureNS + ".text2"
		sub := startPeer(t, url, "cbor", keys.pyResponder(), "--subscribe", topic, "--count", "3")
		waitPeer(t, sub, "ready")
		// Canonical, canonical with nesting, and not canonical (space, unsorted keys).
		publishStdin(t, url, keys.origKS, topic, "[\"s3cret\",1]\n[[],{\"a\":{\"b\":null}},\"日本\"]\n[ {\"z\":1, \"a\":-2} ]\n", "--serializer", "msgpack")
		finishPeer(t, sub)
		evs := peerLines(t, sub, "event")
		if len(evs) != 3 {
			t.Fatalf("Autobahn received %d of 3 events", len(evs))
		}
		for i, want := range [][]any{
			{"s3cret", int64(1)},
			{[]any{}, map[string]any{"a": map[string]any{"b": nil}}, "日本"},
			{map[string]any{"z": int64(1), "a": int64(-2)}},
		} {
			if evs[i]["enc_algo"] != "cryptobox" {
				t.Errorf("event %d arrived unsealed: %v", i+1, evs[i])
			}
			assertPayload(t, "Autobahn subscriber", evs[i]["args"], evs[i]["kwargs"], want, map[string]any{})
		}
		assertRawSealed(t, sub, "EVENT", 3)
		assertNoPlaintext(t, trace.String(), "s3cret", "日本")
	})
}
