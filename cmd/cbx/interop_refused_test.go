package main

// Plaintext values cbx cannot carry exactly, sent by Autobahn|Python (which writes 2**70 in
// JSON and NaN in msgpack), refused one message at a time; no session ends. Through cbx
// router the router itself refuses the message (internal/router "Refused payloads");
// through plain nexus, which routes NaN, the message reaches cbx and cbx refuses it
// (internal/wamp "Refused payloads"). The harness is interop_autobahn_test.go's.

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

const plainNS = "com.example.plain" // no key covers it

// TestInteropRefusedThroughCbxRouter: an Autobahn publisher's [2**70] is refused by cbx
// router with ERROR wamp.error.invalid_argument and its next event reaches cbx subscribe;
// an Autobahn caller's [2**70] to cbx register likewise, and the next call is answered; an
// Autobahn callee's result 2**70 reaches cbx call as the router's refusal (exit 7).
func TestInteropRefusedThroughCbxRouter(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)

	t.Run("publish", func(t *testing.T) {
		t.Parallel()
		url, trace := startInteropRouter(t)
		topic := plainNS + ".pub"
		sub := startCbx(t, "--keystore", keys.respKS, "subscribe", topic, "--count", "1", "--timeout", "30s", "-v", "--url", url)
		sub.waitStderr(t, `cbx: subscribed to "`+topic+`"`)
		pub := startPeer(t, url, "json", nil, "--publish", publishJSON(topic, "["+bigInt+"]", "{}"), "--publish", publishJSON(topic, `["next"]`, "{}"))
		finishPeer(t, pub)
		sub.waitExit(t, 0)
		if ev := oneLine(t, sub.stdout.String()); !reflect.DeepEqual(ev["args"], []any{"next"}) {
			t.Errorf("cbx subscribe printed %v, want only the next event", ev)
		}
		pe := onlyPeerLine(t, pub, "publish_error")
		if pe["error"] != wamp.ErrURIInvalidArgument || !strings.Contains(pe["args"].([]any)[0].(string), "integer does not fit in 64 bits") {
			t.Errorf("Autobahn publisher got %v", pe)
		}
		if len(peerLines(t, pub, "published")) != 1 {
			t.Errorf("Autobahn's second publication was not acknowledged:\n%s", pub.stdout)
		}
		if !strings.Contains(trace.String(), "refuse conn=") {
			t.Errorf("no refuse line in the router trace:\n%s", trace)
		}
	})

	t.Run("call_cbx_register", func(t *testing.T) {
		t.Parallel()
		url, _ := startInteropRouter(t)
		proc := plainNS + ".echo"
		reg := startCbx(t, "--keystore", keys.respKS, "register", proc, "--echo", "--count", "1", "--timeout", "30s", "-v", "--url", url)
		reg.waitStderr(t, `cbx: registered "`+proc+`"`)
		caller := startPeer(t, url, "json", nil, "--call", `{"proc":"`+proc+`","args":[`+bigInt+`]}`, "--call", `{"proc":"`+proc+`","args":["next"]}`)
		finishPeer(t, caller)
		reg.waitExit(t, 0)
		e := onlyPeerLine(t, caller, "error")
		if e["error"] != wamp.ErrURIInvalidArgument {
			t.Errorf("Autobahn caller got %v", e)
		}
		if r := onlyPeerLine(t, caller, "result"); !reflect.DeepEqual(r["args"], []any{"next"}) {
			t.Errorf("Autobahn caller's next call gave %v", r)
		}
	})

	t.Run("cbx_call_autobahn_callee", func(t *testing.T) {
		t.Parallel()
		url, _ := startInteropRouter(t)
		callee := startPeer(t, url, "json", nil, "--register", plainNS, "--count", "2")
		waitPeer(t, callee, "ready")
		errLine, errOut := cbxExit(t, exitWAMPError, "--keystore", keys.origKS, "call", plainNS+".big", "--url", url)
		if e := errorLine(t, errLine, errOut); e["error"] != wamp.ErrURIInvalidArgument ||
			!strings.Contains(e["args"].([]any)[0].(string), "the callee's result could not be delivered") {
			t.Errorf("cbx call stdout:\n%s\nstderr:\n%s", errLine, errOut)
		}
		// The callee's session went on.
		out, _ := cbxExit(t, 0, "--keystore", keys.origKS, "call", plainNS+".add2", "2", "3", "--url", url)
		if r := oneLine(t, out); !reflect.DeepEqual(r["args"], []any{int64(5)}) && !reflect.DeepEqual(r["args"], []any{float64(5)}) {
			t.Errorf("cbx call add2 printed %v", r)
		}
		finishPeer(t, callee)
	})
}

// TestInteropRefusedThroughNexus: plain nexus routes NaN over msgpack, so Autobahn's NaN
// reaches cbx, which refuses that one message: cbx subscribe skips the event with a
// warning, cbx register answers wamp.error.invalid_argument, cbx call exits 1 for such a
// result and 7 for such an error.
func TestInteropRefusedThroughNexus(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)
	url := startPlainNexus(t)
	const ser = "msgpack"

	t.Run("publish", func(t *testing.T) {
		t.Parallel()
		topic := plainNS + ".nexus.pub"
		sub := startCbx(t, "--keystore", keys.respKS, "subscribe", topic, "--count", "1", "--timeout", "30s", "-v", "--url", url, "--serializer", ser)
		sub.waitStderr(t, `cbx: subscribed to "`+topic+`"`)
		pub := startPeer(t, url, ser, nil, "--publish", publishJSON(topic, "[NaN]", "{}"), "--publish", publishJSON(topic, `["next"]`, "{}"))
		finishPeer(t, pub)
		sub.waitExit(t, 0)
		if ev := oneLine(t, sub.stdout.String()); !reflect.DeepEqual(ev["args"], []any{"next"}) {
			t.Errorf("cbx subscribe printed %v, want only the next event", ev)
		}
		want := `cbx: warning: skipped an event on "` + topic + `": the payload holds a value that cannot be carried exactly: NaN is not a finite 64-bit float`
		if !strings.Contains(sub.stderr.String(), want) {
			t.Errorf("cbx subscribe stderr:\n%s\nwant:\n%s", sub.stderr, want)
		}
	})

	t.Run("call_cbx_register", func(t *testing.T) {
		t.Parallel()
		proc := plainNS + ".nexus.echo"
		reg := startCbx(t, "--keystore", keys.respKS, "register", proc, "--echo", "--count", "1", "--timeout", "30s", "-v", "--url", url, "--serializer", ser)
		reg.waitStderr(t, `cbx: registered "`+proc+`"`)
		caller := startPeer(t, url, ser, nil, "--call", `{"proc":"`+proc+`","args":[NaN]}`, "--call", `{"proc":"`+proc+`","args":["next"]}`)
		finishPeer(t, caller)
		reg.waitExit(t, 0)
		e := onlyPeerLine(t, caller, "error")
		if e["error"] != wamp.ErrURIInvalidArgument || !reflect.DeepEqual(e["args"], []any{"the payload holds a value that cannot be carried exactly: number is not a finite 64-bit float"}) {
			t.Errorf("Autobahn caller got %v", e)
		}
		if r := onlyPeerLine(t, caller, "result"); !reflect.DeepEqual(r["args"], []any{"next"}) {
			t.Errorf("Autobahn caller's next call gave %v", r)
		}
		want := `cbx: warning: refused a call to "` + proc + `" with wamp.error.invalid_argument: the payload holds a value that cannot be carried exactly: NaN is not a finite 64-bit float`
		if !strings.Contains(reg.stderr.String(), want) {
			t.Errorf("cbx register stderr:\n%s\nwant:\n%s", reg.stderr, want)
		}
	})

	t.Run("cbx_call_autobahn_callee", func(t *testing.T) {
		t.Parallel()
		ns := plainNS + ".nexus.callee"
		callee := startPeer(t, url, ser, nil, "--register", ns, "--count", "2")
		waitPeer(t, callee, "ready")
		out, errOut := cbxExit(t, exitError, "--keystore", keys.origKS, "call", ns+".nan", "--url", url, "--serializer", ser)
		if out != "" || !strings.Contains(errOut, `cbx: error: calling "`+ns+`.nan": reading the result: the payload holds a value that cannot be carried exactly: NaN is not a finite 64-bit float`) {
			t.Errorf("cbx call nan: stdout %q, stderr:\n%s", out, errOut)
		}
		_, errOut = cbxExit(t, exitWAMPError, "--keystore", keys.origKS, "call", ns+".failnan", "--url", url, "--serializer", ser)
		if !strings.Contains(errOut, `cbx: error: calling "`+ns+`.failnan": `+ns+`.error.nan; its payload could not be read: `) {
			t.Errorf("cbx call failnan: stderr:\n%s", errOut)
		}
		finishPeer(t, callee)
	})
}
