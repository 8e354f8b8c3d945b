package main

// A payload holding a value cbx cannot carry exactly, sent in plaintext, is refused on its
// own; the session goes on (internal/wamp "Refused payloads"). Here a scripted router
// plays the other side over a real WebSocket and writes each bad frame byte for byte, as
// a peer on another stack would (Python's json writes 2^70, its msgpack and CBOR packers
// write NaN); interop_refused_test.go does the same with Autobahn|Python through cbx
// router and plain nexus.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// scriptRouter is the router end of one cbx session, driven by the test step by step.
type scriptRouter struct {
	ser wamp.Serializer
	ws  *websocket.Conn
}

// startScriptRouter serves one WebSocket session on loopback: it answers HELLO with a
// WELCOME like cbx router's and then runs script, whose error (if any) wait returns.
func startScriptRouter(t *testing.T, ser wamp.Serializer, script func(r *scriptRouter) error) (url string, wait func() error) {
	t.Helper()
	done := make(chan error, 1)
	up := websocket.Upgrader{Subprotocols: []string{ser.Subprotocol()}}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ws, err := up.Upgrade(w, req, nil)
		if err != nil {
			done <- err
			return
		}
		defer ws.Close()
		ws.SetReadDeadline(time.Now().Add(interopWait))
		r := &scriptRouter{ser: ser, ws: ws}
		done <- func() error {
			if _, err := expectMsg[*wamp.Hello](r); err != nil {
				return err
			}
			roles := wamp.Dict{"broker": wamp.Dict{"features": wamp.Dict{"payload_transparency": true}},
				"dealer": wamp.Dict{"features": wamp.Dict{"payload_transparency": true, "progressive_call_results": true}}}
			if err := r.send(&wamp.Welcome{Session: 77, Details: wamp.Dict{"roles": roles}}); err != nil {
				return err
			}
			return script(r)
		}()
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", func() error {
		select {
		case err := <-done:
			return err
		case <-time.After(interopWait):
			return fmt.Errorf("the scripted router did not finish within %v", interopWait)
		}
	}
}

func (r *scriptRouter) send(m wamp.Message) error {
	b, err := r.ser.Marshal(m)
	if err != nil {
		return err
	}
	return r.sendRaw(b)
}

func (r *scriptRouter) sendRaw(b []byte) error {
	typ := websocket.TextMessage
	if r.ser.Binary() {
		typ = websocket.BinaryMessage
	}
	return r.ws.WriteMessage(typ, b)
}

func (r *scriptRouter) recv() (wamp.Message, error) {
	_, b, err := r.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	return r.ser.Unmarshal(b)
}

func expectMsg[T wamp.Message](r *scriptRouter) (T, error) {
	var zero T
	m, err := r.recv()
	if err != nil {
		return zero, fmt.Errorf("want %T: %w", zero, err)
	}
	v, ok := m.(T)
	if !ok {
		return zero, fmt.Errorf("got %#v, want %T", m, zero)
	}
	return v, nil
}

// goodbye answers cbx's closing GOODBYE.
// subscribed reads the SUBSCRIBE the client sends and confirms it as subscription id.
func (r *scriptRouter) subscribed(id wamp.ID) error {
	sub, err := expectMsg[*wamp.Subscribe](r)
	if err != nil {
		return err
	}
	return r.send(&wamp.Subscribed{Request: sub.Request, Subscription: id})
}

// registered reads the REGISTER the client sends and confirms it as registration id.
func (r *scriptRouter) registered(id wamp.ID) error {
	reg, err := expectMsg[*wamp.Register](r)
	if err != nil {
		return err
	}
	return r.send(&wamp.Registered{Request: reg.Request, Registration: id})
}

func (r *scriptRouter) goodbye() error {
	if _, err := expectMsg[*wamp.Goodbye](r); err != nil {
		return err
	}
	return r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.goodbye_and_out"})
}

// badValue is one value outside the dialect as a serializer writes it, and the reason
// cbx gives for refusing it.
type badValue struct {
	name   string
	ser    wamp.Serializer
	raw    []byte
	reason string
}

const bigIntReason = "integer " + bigInt + " does not fit in 64 bits (-2^63 to 2^64-1)"

// badValues covers every rule of the dialect that a peer's payload can break, in each
// serializer that can carry the value at all: 2^70 (JSON, and CBOR's bignum), a
// non-finite float (JSON's 1e400, which Python reads as inf; NaN in msgpack and CBOR),
// invalid UTF-8, 101 levels of lists, a string starting with U+0000 that is not binary.
func badValues() []badValue {
	var out []badValue
	for _, ser := range wamp.Serializers {
		list1, empty, str := []byte{0x91}, []byte{0x90}, func(b ...byte) []byte { return append([]byte{0xa0 | byte(len(b))}, b...) }
		if ser == wamp.CBOR {
			list1, empty, str = []byte{0x81}, []byte{0x80}, func(b ...byte) []byte { return append([]byte{0x60 | byte(len(b))}, b...) }
		}
		deep := append(bytes.Repeat(list1, dialectDepth), empty...)
		if ser == wamp.JSON {
			deep = []byte(nestedJSON(dialectDepth + 1))
		}
		const deepReason = "lists and dicts nested deeper than 100 levels"
		out = append(out, badValue{"deep", ser, deep, deepReason})
		switch ser {
		case wamp.JSON:
			out = append(out,
				badValue{"big", ser, []byte(bigInt), bigIntReason},
				badValue{"inf", ser, []byte("1e400"), "number 1e400 is not a finite 64-bit float"},
				badValue{"utf8", ser, []byte("\"\xff\""), "text is not valid UTF-8"},
				badValue{"nul", ser, []byte(`"\u0000x"`), "a string starting with U+0000 is binary"})
		case wamp.MsgPack:
			out = append(out,
				badValue{"nan", ser, []byte{0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, "NaN is not a finite 64-bit float"},
				badValue{"utf8", ser, str(0xff), "text is not valid UTF-8"},
				badValue{"nul", ser, str(0, 'x'), "a string starting with U+0000 is binary"})
		case wamp.CBOR:
			out = append(out,
				badValue{"nan", ser, []byte{0xf9, 0x7e, 0x00}, "NaN is not a finite 64-bit float"},
				badValue{"big", ser, []byte{0xc2, 0x49, 0x40, 0, 0, 0, 0, 0, 0, 0, 0}, bigIntReason},
				badValue{"utf8", ser, str(0xff), "text is not valid UTF-8"},
				badValue{"nul", ser, str(0, 'x'), "a string starting with U+0000 is binary"})
		}
	}
	return out
}

// badMarker stands in the Arguments of a message until frame replaces it with the bad
// value's bytes.
const badMarker = "cbx-bad-value-marker"

// frame encodes m, whose Arguments hold badMarker, with the marker replaced by the bad
// value. (It runs on the scripted router's goroutine, so it returns its error.)
func (v badValue) frame(m wamp.Message) ([]byte, error) {
	b, err := v.ser.Marshal(m)
	if err != nil {
		return nil, err
	}
	var marker []byte
	switch v.ser {
	case wamp.JSON:
		marker = []byte(`"` + badMarker + `"`)
	case wamp.MsgPack:
		marker = append([]byte{0xa0 | byte(len(badMarker))}, badMarker...)
	default:
		marker = append([]byte{0x60 | byte(len(badMarker))}, badMarker...)
	}
	if bytes.Count(b, marker) != 1 {
		return nil, fmt.Errorf("marker not found once in %q", b)
	}
	return bytes.Replace(b, marker, v.raw, 1), nil
}

// sendBad sends m with its badMarker replaced by the bad value.
func (r *scriptRouter) sendBad(v badValue, m wamp.Message) error {
	b, err := v.frame(m)
	if err != nil {
		return err
	}
	return r.sendRaw(b)
}

func findBad(t *testing.T, ser wamp.Serializer, name string) badValue {
	t.Helper()
	for _, v := range badValues() {
		if v.ser == ser && v.name == name {
			return v
		}
	}
	t.Fatalf("no bad value %s/%s", ser.Name(), name)
	return badValue{}
}

// TestRefusedEventSkipped: cbx subscribe warns about an event it cannot carry exactly,
// skips it, prints the next one and exits 0 after --count 1.
func TestRefusedEventSkipped(t *testing.T) {
	t.Parallel()
	keys := newInteropKeys(t)
	const topic = "com.example.plain.values"
	for _, v := range badValues() {
		t.Run(v.ser.Name()+"/"+v.name, func(t *testing.T) {
			t.Parallel()
			url, wait := startScriptRouter(t, v.ser, func(r *scriptRouter) error {
				if err := r.subscribed(5); err != nil {
					return err
				}
				if err := r.sendBad(v, &wamp.Event{Subscription: 5, Publication: 1, Details: wamp.Dict{},
					Payload: wamp.Payload{Args: wamp.List{"first", badMarker}}}); err != nil {
					return err
				}
				if err := r.send(&wamp.Event{Subscription: 5, Publication: 2, Details: wamp.Dict{},
					Payload: wamp.Payload{Args: wamp.List{"next"}}}); err != nil {
					return err
				}
				return r.goodbye()
			})
			out, errOut, code := cbxRun(t, "", "--keystore", keys.respKS, "subscribe", topic, "--count", "1", "--timeout", "20s",
				"--url", url, "--serializer", v.ser.Name())
			if err := wait(); err != nil {
				t.Errorf("router: %v", err)
			}
			if code != 0 {
				t.Fatalf("cbx subscribe exited %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if ev := oneLine(t, out); !reflect.DeepEqual(ev["args"], []any{"next"}) || fmt.Sprint(ev["publication"]) != "2" {
				t.Errorf("cbx subscribe printed %v, want only the next event", ev)
			}
			want := `cbx: warning: skipped an event on "` + topic + `": the payload holds a value that cannot be carried exactly: ` + v.reason
			if !strings.Contains(errOut, want) || strings.Count(errOut, "warning:") != 1 {
				t.Errorf("stderr:\n%s\nwant one warning:\n%s", errOut, want)
			}
		})
	}
}

// TestRefusedEventRequireEncrypted: with --require-encrypted such an event is still only
// skipped, since refusing it is not a downgrade, unless it is plaintext on a topic the
// keystore covers: that is the downgrade --require-encrypted ends on (exit 3).
func TestRefusedEventRequireEncrypted(t *testing.T) {
	t.Parallel()
	keys := newInteropKeys(t)
	v := findBad(t, wamp.JSON, "big")
	for _, c := range []struct {
		topic string
		code  int
	}{{"com.example.plain.t", 0}, {secureNS + ".t", exitDecrypt}} {
		t.Run(c.topic, func(t *testing.T) {
			url, wait := startScriptRouter(t, v.ser, func(r *scriptRouter) error {
				if err := r.subscribed(5); err != nil {
					return err
				}
				if err := r.sendBad(v, &wamp.Event{Subscription: 5, Publication: 1, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{badMarker}}}); err != nil {
					return err
				}
				if err := r.send(&wamp.Event{Subscription: 5, Publication: 2, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"next"}}}); err != nil {
					return err
				}
				return r.goodbye()
			})
			out, errOut, code := cbxRun(t, "", "--keystore", keys.respKS, "subscribe", c.topic, "--count", "1", "--timeout", "20s",
				"--require-encrypted", "--url", url)
			if err := wait(); err != nil {
				t.Errorf("router: %v", err)
			}
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if c.code == 0 {
				if ev := oneLine(t, out); !reflect.DeepEqual(ev["args"], []any{"next"}) {
					t.Errorf("printed %v", ev)
				}
				if !strings.Contains(errOut, "cbx: warning: skipped an event on \""+c.topic+"\": the payload holds a value that cannot be carried exactly: "+bigIntReason) {
					t.Errorf("stderr:\n%s", errOut)
				}
			} else if out != "" || !strings.Contains(errOut, "plaintext event on \""+c.topic+"\", which the keystore covers") {
				t.Errorf("stdout %q, stderr:\n%s", out, errOut)
			}
		})
	}
}

// TestRefusedInvocationAnswered: cbx register answers a call it cannot carry exactly with
// wamp.error.invalid_argument and a reason without the value, warns, never runs --exec
// for it, and answers the next call.
func TestRefusedInvocationAnswered(t *testing.T) {
	t.Parallel()
	keys := newInteropKeys(t)
	const proc = "com.example.plain.echo"
	for _, v := range badValues() {
		t.Run(v.ser.Name()+"/"+v.name, func(t *testing.T) {
			t.Parallel()
			url, wait := startScriptRouter(t, v.ser, func(r *scriptRouter) error {
				if err := r.registered(9); err != nil {
					return err
				}
				if err := r.sendBad(v, &wamp.Invocation{Request: 1, Registration: 9, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{badMarker}}}); err != nil {
					return err
				}
				e, err := expectMsg[*wamp.Error](r)
				if err != nil {
					return err
				}
				if e.Type != wamp.INVOCATION || e.Request != 1 || e.Error != wamp.ErrURIInvalidArgument || len(e.Args) != 1 ||
					!strings.HasPrefix(fmt.Sprint(e.Args[0]), "the payload holds a value that cannot be carried exactly: ") ||
					strings.Contains(fmt.Sprint(e.Args[0]), bigInt) {
					return fmt.Errorf("reply to the refused call: %#v", e)
				}
				if err := r.send(&wamp.Invocation{Request: 2, Registration: 9, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"next"}}}); err != nil {
					return err
				}
				y, err := expectMsg[*wamp.Yield](r)
				if err != nil {
					return err
				}
				if y.Request != 2 || !reflect.DeepEqual(y.Args, wamp.List{"next"}) {
					return fmt.Errorf("YIELD %#v", y)
				}
				return r.goodbye()
			})
			marker := t.TempDir() + "/ran"
			out, errOut, code := cbxRun(t, "", "--keystore", keys.respKS, "register", proc, "--exec", "cat >>"+marker+"; echo next",
				"--count", "1", "--timeout", "20s", "--url", url, "--serializer", v.ser.Name())
			if err := wait(); err != nil {
				t.Errorf("router: %v", err)
			}
			if code != 0 {
				t.Fatalf("cbx register exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			want := `cbx: warning: refused a call to "` + proc + `" with wamp.error.invalid_argument: the payload holds a value that cannot be carried exactly: ` + v.reason
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
			}
			ran, _ := os.ReadFile(marker)
			if ran := string(ran); strings.Count(ran, "\n") != 1 || !strings.Contains(ran, `"args":["next"]`) {
				t.Errorf("--exec ran for: %q", ran)
			}
		})
	}
}

// TestRefusedReplyToCall: a RESULT cbx cannot carry exactly fails cbx call with exit 1 and
// a clear message (as for a sealed result holding such a value); an ERROR whose payload it
// cannot carry is still the callee's error, exit 7, and says its payload could not be read.
func TestRefusedReplyToCall(t *testing.T) {
	t.Parallel()
	keys := newInteropKeys(t)
	const proc = "com.example.plain.p"
	for _, v := range badValues() {
		t.Run(v.ser.Name()+"/"+v.name, func(t *testing.T) {
			t.Parallel()
			for _, kind := range []string{"result", "progress", "error"} {
				url, wait := startScriptRouter(t, v.ser, func(r *scriptRouter) error {
					call, err := expectMsg[*wamp.Call](r)
					if err != nil {
						return err
					}
					var reply wamp.Message
					switch kind {
					case "result":
						reply = &wamp.Result{Request: call.Request, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{badMarker}}}
					case "progress":
						reply = &wamp.Result{Request: call.Request, Details: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{badMarker}}}
					case "error":
						reply = &wamp.Error{Type: wamp.CALL, Request: call.Request, Details: wamp.Dict{}, Error: "com.example.error.x",
							Payload: wamp.Payload{Args: wamp.List{badMarker}}}
					}
					if err := r.sendBad(v, reply); err != nil {
						return err
					}
					if kind == "progress" {
						if c, err := expectMsg[*wamp.Cancel](r); err != nil || c.Request != call.Request {
							return fmt.Errorf("want CANCEL: %#v %v", c, err)
						}
					}
					return r.goodbye()
				})
				args := []string{"--keystore", keys.origKS, "call", proc, "--url", url, "--serializer", v.ser.Name()}
				if kind == "progress" {
					args = append(args, "--progress")
				}
				out, errOut, code := cbxRun(t, "", args...)
				if err := wait(); err != nil {
					t.Errorf("%s: router: %v", kind, err)
				}
				wantCode, want := exitError, `cbx: error: calling "`+proc+`": reading the result: the payload holds a value that cannot be carried exactly: `+v.reason
				if kind == "error" {
					wantCode, want = exitWAMPError, `cbx: error: calling "`+proc+`": com.example.error.x; its payload could not be read: the payload holds a value that cannot be carried exactly: `+v.reason
				}
				if code != wantCode || out != "" || !strings.Contains(errOut, want) {
					t.Errorf("%s: exit %d (want %d), stdout %q, stderr:\n%s\nwant:\n%s", kind, code, wantCode, out, errOut, want)
				}
			}
		})
	}
}

// A sealed call to one of cbx router's meta procedures (wamp.*) is refused by the
// router, not run on arguments it cannot read: cbx call exits 7 (exitWAMPError) with
// wamp.error.feature_not_supported, its stdout line that error and no result. (For a
// while the router ran wamp.registration.list on the sealed call and answered it in
// plaintext.)
func TestSealedCallToMetaProcedureExits7(t *testing.T) {
	url, _ := startInteropRouter(t)
	dir := t.TempDir()
	callerKey, calleeKey := filepath.Join(dir, "caller.key"), filepath.Join(dir, "callee.key")
	cbxOK(t, "", "keygen", "-o", callerKey)
	calleePub := strings.TrimSpace(cbxOK(t, "", "keygen", "-o", calleeKey))
	ks := filepath.Join(dir, "caller.keystore")
	cbxOK(t, "", "--keystore", ks, "keys", "add", "wamp.", "--originator-priv", callerKey, "--responder-pub", calleePub)
	for _, proc := range []string{"wamp.registration.list", "wamp.session.count"} {
		out, errOut := cbxExit(t, exitWAMPError, "call", proc, "--url", url, "--keystore", ks)
		if line := oneLine(t, out); line["error"] != wamp.ErrURIFeatureNotSupported || !strings.Contains(errOut, wamp.ErrURIFeatureNotSupported) {
			t.Fatalf("cbx call %s (sealed): stdout %q, stderr:\n%s", proc, out, errOut)
		}
	}
}
