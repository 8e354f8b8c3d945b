package main

import (
	"fmt"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// TestInteropKeyIDsAutobahn: Autobahn|Python 22.7.1 peers work with cbx's key ids
// unchanged, on both wire elements (wire.md §2.4 "Key ids"). enc_key: Autobahn's parser
// reads it as a string on every message that carries a sealed payload to it (EVENT,
// INVOCATION, RESULT, ERROR), and its KeyRing opens the payload without looking at it;
// each carries the fingerprint of Autobahn's own key (the recipient's). ppt_keyid: a PPT
// event reaches an Autobahn subscriber as Autobahn handles PPT (unopened, wire.md §5.3)
// without ending its session, and the next sealed event still opens. The other way,
// Autobahn's payloads carry no key id and cbx names the generation that opened them.
func TestInteropKeyIDsAutobahn(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)
	url, _ := startInteropRouter(t)

	t.Run("event", func(t *testing.T) {
		topic := secureNS + ".keyid.event"
		sub := startPeer(t, url, "msgpack", keys.pyResponder(), "--subscribe", topic, "--count", "3")
		waitPeer(t, sub, "ready")
		cbxExit(t, 0, append([]string{"--keystore", keys.origKS, "publish", topic, "--ack", "--url", url}, cbxPublishPlainArgs...)...)
		cbxExit(t, 0, "--keystore", keys.origKS, "publish", topic, "ppt", "--ack", "--wire", "ppt", "--url", url)
		cbxExit(t, 0, "--keystore", keys.origKS, "publish", topic, "after", "--ack", "--url", url)
		finishPeer(t, sub)
		raws := rawLines(t, sub, "EVENT")
		evs := peerLines(t, sub, "event")
		if len(raws) != 3 || len(evs) != 3 {
			t.Fatalf("Autobahn saw %d EVENTs and handled %d, want 3", len(raws), len(evs))
		}
		for _, i := range []int{0, 2} {
			if r := raws[i]; r["enc_algo"] != "cryptobox" || r["bare"] != true || r["enc_key"] != keys.resp.fp {
				t.Errorf("EVENT %d as Autobahn parsed it: %v; want enc_key %s", i, r, keys.resp.fp)
			}
		}
		assertPayload(t, "Autobahn subscriber", evs[0]["args"], evs[0]["kwargs"], wantPlainArgs(), wantPlainKwargs())
		assertPayload(t, "Autobahn subscriber", evs[2]["args"], evs[2]["kwargs"], []any{"after"}, map[string]any{})
		// The PPT event: not a cryptobox payload to Autobahn, delivered unopened.
		if r := raws[1]; r["enc_algo"] != nil || r["bare"] != false {
			t.Errorf("the PPT EVENT as Autobahn parsed it: %v", r)
		}
		if a, _ := evs[1]["args"].([]any); len(a) != 1 {
			t.Errorf("the PPT event reached Autobahn's handler as %v, want its one binary element", evs[1])
		} else if _, isBin := a[0].([]byte); !isBin {
			t.Errorf("the PPT event reached Autobahn's handler as %v, want its one binary element", evs[1])
		}
	})

	t.Run("invocation", func(t *testing.T) {
		callee := startPeer(t, url, "json", keys.pyResponder(), "--register", secureNS+".keyid", "--count", "2")
		waitPeer(t, callee, "ready")
		out, _ := cbxExit(t, 0, "--keystore", keys.origKS, "call", secureNS+".keyid.add2", "23", "7", "--details", "--url", url)
		res := oneLine(t, out)
		details, _ := res["details"].(map[string]any)
		key, _ := res["key"].(map[string]any)
		if res["sealed"] != true || key["generation"] != int64(1) || key["originator"] != keys.orig.fp || details["enc_key"] != nil {
			t.Errorf("cbx call --details printed %v; want the result opened by generation 1, without a key id", res)
		}
		errLine, errOut := cbxExit(t, exitWAMPError, "--keystore", keys.origKS, "call", secureNS+".keyid.failme", "x", "--url", url)
		if e := errorLine(t, errLine, errOut); e["error"] != secureNS+".keyid.error.x" || e["sealed"] != true {
			t.Errorf("failme: %v", e)
		}
		finishPeer(t, callee)
		for i, r := range rawLines(t, callee, "INVOCATION") {
			if r["enc_algo"] != "cryptobox" || r["enc_key"] != keys.resp.fp {
				t.Errorf("INVOCATION %d as Autobahn parsed it: %v; want enc_key %s", i, r, keys.resp.fp)
			}
		}
	})

	t.Run("result and error", func(t *testing.T) {
		echo, fail := secureNS+".keyid.echo", secureNS+".keyid.fail"
		reg := startCbx(t, "--keystore", keys.respKS, "register", echo, "--echo", "--count", "1", "-v", "--timeout", "30s", "--url", url)
		reg.waitStderr(t, `cbx: registered "`+echo+`"`)
		regFail := startCbx(t, "--keystore", keys.respKS, "register", fail, "--exec",
			`echo '{"error":"`+secureNS+`.error.bad","args":["no"]}'; exit 3`, "--count", "1", "-v", "--timeout", "30s", "--url", url)
		regFail.waitStderr(t, `cbx: registered "`+fail+`"`)
		caller := startPeer(t, url, "cbor", keys.pyOriginator(), "--call", `{"proc":"`+echo+`","args":["hi"]}`, "--call", `{"proc":"`+fail+`"}`)
		finishPeer(t, caller)
		reg.waitExit(t, 0)
		regFail.waitExit(t, 0)
		assertPayload(t, "Autobahn caller", onlyPeerLine(t, caller, "result")["args"], map[string]any{}, []any{"hi"}, map[string]any{})
		if e := onlyPeerLine(t, caller, "error"); e["error"] != secureNS+".error.bad" || fmt.Sprint(e["args"]) != "[no]" {
			t.Errorf("Autobahn caller got %v", e)
		}
		for _, typ := range []string{"RESULT", "ERROR"} {
			r := rawLines(t, caller, typ)
			if len(r) != 1 || r[0]["enc_algo"] != "cryptobox" || r[0]["enc_key"] != keys.orig.fp {
				t.Errorf("%s as Autobahn parsed it: %v; want enc_key %s, the caller's fingerprint", typ, r, keys.orig.fp)
			}
		}
	})
}
