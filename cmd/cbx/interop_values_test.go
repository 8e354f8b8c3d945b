package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// bigInt is 2^70: Autobahn|Python seals it exactly (Python's json writes every int in
// full), msgpack cannot carry it, and a float would change its digits.
const bigInt = "1180591620717411303424"

// TestInteropUnrepresentableValues: values Autobahn|Python seals that cbx cannot carry
// exactly are refused with the reason, never altered. cbx open exits 1 (the payload
// decrypted: it is neither tampered nor under another key); cbx subscribe skips such an
// event with a warning that says why and goes on. The nesting limit holds both ways: what
// cbx seals at the limit Autobahn opens, what Autobahn seals at the limit cbx opens, and one
// level more is refused by cbx.
func TestInteropUnrepresentableValues(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)
	topic := secureNS + ".values"

	t.Run("cbx_open_refuses_an_integer_beyond_64_bits", func(t *testing.T) {
		enc := autobahn(t, keys.orig.privB64, keys.resp.pub, `{"args":[`+bigInt+`],"kwargs":{}}`, "encode", "originator", "true", topic)
		out, errOut, code := cbxRun(t, enc["payload"].(string), "--keystore", keys.respKS, "open", topic)
		if code != exitError || out != "" {
			t.Fatalf("cbx open: exit %d, stdout %q; want exit %d and nothing printed\n%s", code, out, exitError, errOut)
		}
		if !strings.Contains(errOut, "integer does not fit in 64 bits") || strings.Contains(errOut, "e+21") || strings.Contains(errOut, "tampered") {
			t.Errorf("cbx open stderr:\n%s", errOut)
		}
	})

	t.Run("nesting_limit_both_ways", func(t *testing.T) {
		const limit = dialectDepth
		atLimit, beyond := nestedJSON(limit), nestedJSON(limit+1)
		// cbx → Autobahn at the limit.
		sealed := cbxOK(t, "", "--keystore", keys.origKS, "seal", topic, atLimit)
		got := autobahn(t, keys.resp.privB64, keys.orig.pub, sealed, "decode", "responder", "false", topic)
		if !reflect.DeepEqual(got["args"], []any{nested(limit)}) {
			t.Errorf("Autobahn opened cbx's %d-level value as %.80v", limit, got["args"])
		}
		// Autobahn → cbx at the limit, and one level more.
		enc := autobahn(t, keys.orig.privB64, keys.resp.pub, `{"args":[`+atLimit+`],"kwargs":{}}`, "encode", "originator", "true", topic)
		out := cbxOK(t, enc["payload"].(string), "--keystore", keys.respKS, "open", topic)
		if want := `{"uri":"` + topic + `","args":[` + atLimit + `],"kwargs":{}}`; strings.TrimSpace(out) != want {
			t.Errorf("cbx opened Autobahn's %d-level value as %s", limit, out)
		}
		enc = autobahn(t, keys.orig.privB64, keys.resp.pub, `{"args":[`+beyond+`],"kwargs":{}}`, "encode", "originator", "true", topic)
		out, errOut, code := cbxRun(t, enc["payload"].(string), "--keystore", keys.respKS, "open", topic)
		if code != exitError || out != "" || !strings.Contains(errOut, "nested deeper than") {
			t.Errorf("cbx open of %d levels: exit %d, stdout %q, stderr:\n%s", limit+1, code, out, errOut)
		}
		// cbx seal refuses the same value as its argument.
		if _, errOut, code := cbxRun(t, "", "--keystore", keys.origKS, "seal", topic, beyond); code != exitUsage || !strings.Contains(errOut, "nested deeper than") {
			t.Errorf("cbx seal of %d levels: exit %d, stderr:\n%s", limit+1, code, errOut)
		}
	})

	t.Run("cbx_subscribe_skips_with_a_warning", func(t *testing.T) {
		t.Parallel()
		url, _ := startInteropRouter(t)
		sub := startCbx(t, "--keystore", keys.respKS, "subscribe", topic, "--count", "1", "--timeout", "30s", "-v", "--url", url)
		sub.waitStderr(t, `cbx: subscribed to "`+topic+`"`)
		finishPeer(t, startPeer(t, url, "json", keys.pyOriginator(), "--publish", `{"topic":"`+topic+`","args":[`+bigInt+`]}`))
		sub.waitStderr(t, `cbx: warning: skipped an event on "`+topic+`": `)
		cbxExit(t, 0, "--keystore", keys.origKS, "publish", topic, "control", "--ack", "--url", url)
		sub.waitExit(t, 0)
		ev := oneLine(t, sub.stdout.String())
		if ev["sealed"] != true || !reflect.DeepEqual(ev["args"], []any{"control"}) {
			t.Errorf("cbx subscribe printed %v, want only the control event", ev)
		}
		if errOut := sub.stderr.String(); !strings.Contains(errOut, "integer does not fit in 64 bits") {
			t.Errorf("the warning does not say why:\n%s", errOut)
		}
	})
}
