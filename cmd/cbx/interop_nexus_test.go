package main

// cbx ↔ cbx through plain gammazero/nexus v3.3.0, without cbx's adapter (scenario 11 of
// the issue-4 evidence; wire.md §2 and §3 "nexus"). nexus announces payload_passthru_mode
// but not payload_transparency, so cbx's automatic wire choice (conn_wire.go chooseWire) must
// pick PPT, and nexus must carry the sealed payload as an opaque one-element Arguments
// list with the ppt_* options copied into Details. The legacy form cannot cross nexus
// (its serializers reflect-assign Arguments), so --wire legacy must fail visibly.

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	nxrouter "github.com/gammazero/nexus/v3/router"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// startPlainNexus starts nexus's own router and WebSocket server (json, msgpack, cbor) on
// a loopback port, with an anonymous realm1.
func startPlainNexus(t *testing.T) string {
	t.Helper()
	r, err := nxrouter.NewRouter(&nxrouter.Config{
		RealmConfigs: []*nxrouter.RealmConfig{{URI: "realm1", AnonymousAuth: true}},
	}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(nxrouter.NewWebsocketServer(r))
	t.Cleanup(func() {
		hs.Close()
		r.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

// eavesdrop subscribes to topic with a plain session (no payload codec): it sees what
// nexus delivers to anyone, as it is on the wire.
func eavesdrop(t *testing.T, url string, ser wamp.Serializer, topic string) <-chan *wamp.EventInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()
	c, err := wamp.Dial(ctx, url, wamp.DialOptions{Serializers: []wamp.Serializer{ser}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := wamp.Join(ctx, c, wamp.Config{Realm: "realm1", Features: map[string]bool{"payload_passthru_mode": true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	ch := make(chan *wamp.EventInfo, 4)
	if _, err := s.Subscribe(ctx, topic, nil, func(ev *wamp.EventInfo) { ch <- ev }); err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestInteropNexusPPT: cbx publish → cbx subscribe and cbx call → cbx register through
// plain nexus, over each serializer, sealed in PPT form.
func TestInteropNexusPPT(t *testing.T) {
	t.Parallel()
	keys := newInteropKeys(t)
	url := startPlainNexus(t)

	for _, ser := range wamp.Serializers {
		ser := ser
		name := ser.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			topic := secureNS + ".ppt." + name

			t.Run("publish_subscribe", func(t *testing.T) {
				spy := eavesdrop(t, url, ser, topic)
				sub := startCbx(t, "--keystore", keys.respKS, "subscribe", topic, "--details", "--count", "1", "--timeout", "30s", "-v", "--url", url, "--serializer", name)
				sub.waitStderr(t, `cbx: subscribed to "`+topic+`"`)
				if !strings.Contains(sub.stderr.String(), "("+name+", sealed payloads as ppt)") {
					t.Errorf("cbx subscribe did not choose PPT against plain nexus:\n%s", sub.stderr)
				}
				_, errOut := cbxExit(t, 0, append([]string{"--keystore", keys.origKS, "publish", topic, "--ack", "-v", "--url", url, "--serializer", name}, cbxPublishPlainArgs...)...)
				if !strings.Contains(errOut, "sealed payloads as ppt") {
					t.Errorf("cbx publish did not choose PPT against plain nexus:\n%s", errOut)
				}
				sub.waitExit(t, 0)

				ev := oneLine(t, sub.stdout.String())
				if ev["topic"] != topic || ev["sealed"] != true {
					t.Errorf("cbx subscribe printed %v, want topic %s, sealed", ev, topic)
				}
				assertPayload(t, "cbx subscribe via nexus", ev["args"], ev["kwargs"], wantPlainArgs(), wantPlainKwargs())
				// nexus copied the ppt_* options into the EVENT's details; no enc_algo. The key
				// id is the fingerprint of the subscriber's public key, and --details names
				// the generation that opened the event.
				d, _ := ev["details"].(map[string]any)
				for k, want := range map[string]any{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_cipher": "xsalsa20poly1305", "ppt_keyid": keys.resp.fp} {
					if d[k] != want {
						t.Errorf("EVENT details %s = %v, want %v (details %v)", k, d[k], want, d)
					}
				}
				if _, ok := d["enc_algo"]; ok {
					t.Errorf("EVENT details carry enc_algo: %v", d)
				}
				if key, _ := ev["key"].(map[string]any); key["generation"] != int64(1) || key["originator"] != keys.orig.fp || key["responder"] != keys.resp.fp {
					t.Errorf("cbx subscribe --details: key %v", ev["key"])
				}

				// What anyone else on nexus gets: one opaque binary argument.
				var spied *wamp.EventInfo
				select {
				case spied = <-spy:
				case <-sub.exited: // already exited; the spy's event is queued or lost
					select {
					case spied = <-spy:
					default:
						t.Fatal("the eavesdropper got no event")
					}
				}
				if spied.Sealed || len(spied.Args) != 1 || len(spied.Kwargs) != 0 {
					t.Fatalf("eavesdropper got args %v kwargs %v, want one opaque binary", spied.Args, spied.Kwargs)
				}
				bin, ok := spied.Args[0].([]byte)
				if !ok {
					t.Fatalf("eavesdropper got %T, want binary", spied.Args[0])
				}
				for _, m := range plaintextMarkers {
					if bytes.Contains(bin, []byte(m)) {
						t.Errorf("plaintext %q visible on nexus", m)
					}
				}
				if spied.Details["ppt_cipher"] != "xsalsa20poly1305" {
					t.Errorf("eavesdropper's details: %v", spied.Details)
				}
			})

			t.Run("call_register", func(t *testing.T) {
				proc := secureNS + ".ppt.add2." + name
				reg := startCbx(t, "--keystore", keys.respKS, "register", proc, "--exec", addScript, "--timeout", "60s", "-v", "--url", url, "--serializer", name)
				reg.waitStderr(t, `cbx: registered "`+proc+`"`)
				out, _ := cbxExit(t, 0, "--keystore", keys.origKS, "call", proc, "23", "7", "--url", url, "--serializer", name)
				if got := strings.TrimSpace(out); got != `{"sealed":true,"progress":false,"args":[30],"kwargs":{}}` {
					t.Errorf("cbx call via nexus printed %s", got)
				}
				reg.interrupt(t)
				if !strings.Contains(reg.stderr.String(), `answered a call to "`+proc+`" (sealed: true)`) {
					t.Errorf("cbx register stderr:\n%s", reg.stderr)
				}
			})
		})
	}
}

// TestInteropNexusLegacyFails: forcing the legacy (Autobahn) form against plain nexus
// must fail with a non-zero exit and an error message, never silently. What nexus does
// with a bare binary in the Arguments slot (wire.md §3): over JSON it cannot deserialize
// the message and drops it (so --ack and call wait forever); over msgpack and CBOR it
// turns the bytes into a list of integers and drops enc_algo, so the subscriber or
// callee gets an unsealed list of ciphertext bytes and the publisher and caller exit 0.
// cbx therefore refuses --wire legacy when the router announces payload_passthru_mode
// without payload_transparency: exit 6 with an error and a hint, before sending anything.
func TestInteropNexusLegacyFails(t *testing.T) {
	t.Parallel()
	keys := newInteropKeys(t)
	url := startPlainNexus(t)
	for _, ser := range wamp.Serializers {
		name := ser.Name()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A callee that is there (sealing as PPT), so that a legacy CALL cannot fail
			// merely for want of one: nexus would hand it the ciphertext as a list of
			// integers, which it echoes back unsealed.
			proc := secureNS + ".legacy.echo." + name
			reg := startCbx(t, "--keystore", keys.respKS, "register", proc, "--echo", "--timeout", "60s", "-v", "--url", url, "--serializer", name)
			reg.waitStderr(t, `cbx: registered "`+proc+`"`)
			defer reg.interrupt(t)
			for _, args := range [][]string{
				{"publish", secureNS + ".legacy", "x", "--ack"},
				{"publish", secureNS + ".legacy", "x"},
				{"call", proc, "x"},
			} {
				// --timeout only keeps a hang (nexus drops what it cannot deserialize, so
				// no PUBLISHED or RESULT would come) from stalling the test; a deadline
				// exit is not the visible failure wanted.
				argv := append([]string{"--keystore", keys.origKS}, args...)
				argv = append(argv, "--wire", "legacy", "--timeout", "10s", "--url", url, "--serializer", name)
				out, errOut, code := cbxRun(t, "", argv...)
				if code != exitConnection || !strings.Contains(errOut, "cbx: error: --wire legacy: ") || !strings.Contains(errOut, "cbx: hint: ") {
					t.Errorf("cbx %s --wire legacy against plain nexus (%s): exit %d, stdout %q, stderr %q; want a prompt, visible failure",
						strings.Join(args, " "), name, code, out, errOut)
				}
			}
		})
	}
}
