package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// truncated is m in msgpack with its list header declaring six elements where m has
// four: the frame FuzzDecodeMsgPack found the direct reader taking for a RESULT (the
// sixth element missing) before payloadTail was bounded. A router that sends it breaks
// the protocol.
func truncated(m wamp.Message) ([]byte, error) {
	b, err := wamp.MsgPack.Marshal(m)
	if err != nil {
		return nil, err
	}
	if b[0] != 0x94 {
		return nil, fmt.Errorf("%T encodes as %x…, not a list of four", m, b[:1])
	}
	b[0] = 0x96
	return b, nil
}

// A malformed RESULT, INVOCATION or EVENT from the router is a protocol violation, on the
// messages msgpack now reads straight into their structs as on any other: cbx answers with
// ABORT wamp.error.protocol_violation (basic/session.md) and exits 6 (exitConnection)
// with "cbx: error:", printing no result, running no handler and printing no event.
func TestMalformedFrameAbortsExit6(t *testing.T) {
	t.Parallel()
	const uri = "com.example.plain.m"
	for _, kind := range []string{"call", "register", "subscribe"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			url, wait := startScriptRouter(t, wamp.MsgPack, func(r *scriptRouter) error {
				var m wamp.Message
				switch kind {
				case "call":
					call, err := expectMsg[*wamp.Call](r)
					if err != nil {
						return err
					}
					m = &wamp.Result{Request: call.Request, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"x"}}}
				case "register":
					if err := r.registered(9); err != nil {
						return err
					}
					m = &wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}}
				case "subscribe":
					if err := r.subscribed(5); err != nil {
						return err
					}
					m = &wamp.Event{Subscription: 5, Publication: 6, Details: wamp.Dict{}}
				}
				frame, err := truncated(m)
				if err != nil {
					return err
				}
				if err := r.sendRaw(frame); err != nil {
					return err
				}
				a, err := expectMsg[*wamp.Abort](r)
				if err != nil {
					return err
				}
				if a.Reason != wamp.ErrURIProtocol {
					return fmt.Errorf("ABORT %#v, want %s", a, wamp.ErrURIProtocol)
				}
				return nil
			})
			marker := t.TempDir() + "/ran"
			args := map[string][]string{
				"call":      {"call", uri},
				"register":  {"register", uri, "--exec", "echo ran >>" + marker},
				"subscribe": {"subscribe", uri, "--count", "1"},
			}[kind]
			out, errOut, code := cbxRun(t, "", append(args, "--url", url, "--serializer", "msgpack", "--timeout", "20s")...)
			if err := wait(); err != nil {
				t.Errorf("router: %v", err)
			}
			if code != exitConnection || out != "" || !strings.Contains(errOut, "cbx: error:") {
				t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s", code, exitConnection, out, errOut)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the handler ran for the malformed INVOCATION")
			}
			if want := "protocol error: msgpack: "; !strings.Contains(errOut, want) {
				t.Errorf("stderr:\n%s\nwant it to say %q", errOut, want)
			}
		})
	}
}

// A router that goes silent (no pong to the keepalive's pings, nothing else) is declared
// gone once the keepalive allows, and cbx subscribe exits 6 (exitConnection) with an
// error naming the silence, instead of waiting for ever for events that cannot come.
// Not parallel: it shortens the keepalive of the whole package (testOnlyPingInterval),
// which the parallel tests, run after it, find restored.
func TestSilentRouterExit6(t *testing.T) {
	testOnlyPingInterval = 100 * time.Millisecond
	defer func() { testOnlyPingInterval = 0 }()
	cbxDone := make(chan struct{})
	url, wait := startScriptRouter(t, wamp.MsgPack, func(r *scriptRouter) error {
		if err := r.subscribed(5); err != nil {
			return err
		}
		// Silent from here: reading nothing, it answers no ping either.
		<-cbxDone
		return nil
	})
	start := time.Now()
	out, errOut, code := cbxRun(t, "", "subscribe", "com.example.silent", "--count", "1", "--timeout", "5s", "--url", url, "--serializer", "msgpack")
	took := time.Since(start)
	close(cbxDone)
	if err := wait(); err != nil {
		t.Errorf("router: %v", err)
	}
	want := "no pong to keepalive ping"
	if code != exitConnection || out != "" || !strings.Contains(errOut, "cbx: error:") || !strings.Contains(errOut, want) {
		t.Errorf("exit %d (want %d), stdout %q, stderr:\n%s\nwant it to say %q", code, exitConnection, out, errOut, want)
	}
	if took > 3*time.Second {
		t.Errorf("took %v to notice", took)
	}
	t.Logf("%v: %s", took, errOut)
}
