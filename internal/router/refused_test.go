package router

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// A PUBLISH, CALL, YIELD or ERROR whose payload holds a value the router cannot carry
// exactly (internal/wamp "Refused payloads") is refused on its own, with ERROR
// wamp.error.invalid_argument to whoever waits for it; the sender's session goes on.

// badPayload is what internal/wamp's decoders produce for such a payload.
func badPayload() wamp.Payload {
	return wamp.Payload{Err: &wamp.PayloadError{Value: &wamp.ValueError{Kind: wamp.ErrIntegerRange,
		Msg: "integer 1180591620717411303424 does not fit in 64 bits (-2^63 to 2^64-1)"}}}
}

const wantReason = "the payload holds a value that cannot be carried exactly: integer does not fit in 64 bits (-2^63 to 2^64-1)"

func assertInvalidArgument(t *testing.T, e *wamp.Error, typ wamp.MessageType, req wamp.ID, text string) {
	t.Helper()
	if e.Type != typ || e.Request != req || e.Error != wamp.ErrURIInvalidArgument || len(e.Args) != 1 || e.Kwargs != nil {
		t.Fatalf("ERROR = %s, want %v %d %s", summarize(e), typ, req, wamp.ErrURIInvalidArgument)
	}
	if s, _ := e.Args[0].(string); !strings.Contains(s, text) || !strings.HasSuffix(s, wantReason) || strings.Contains(s, "1180591620717411303424") {
		t.Errorf("ERROR text %q, want %q … %q and no value", s, text, wantReason)
	}
}

func TestRefusedPublish(t *testing.T) {
	srv, trace, logs := testServer(t, Config{})
	sub := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	sub.subscribe("com.example.t", nil)

	// Acknowledged: the publisher hears why.
	req := pub.nextReq()
	pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.t", Payload: badPayload()})
	assertInvalidArgument(t, expect[*wamp.Error](pub), wamp.PUBLISH, req, "the router did not publish this event")

	// Not acknowledged: nobody waits for an answer, so the router only counts and logs it.
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{}, Topic: "com.example.t", Payload: badPayload()})

	// Neither reached the subscriber, and the publisher's session goes on.
	req = pub.nextReq()
	pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.t",
		Payload: wamp.Payload{Args: wamp.List{"next"}}})
	if p := expect[*wamp.Published](pub); p.Request != req {
		t.Fatalf("PUBLISHED %s", summarize(p))
	}
	if ev := expect[*wamp.Event](sub); !reflect.DeepEqual(ev.Args, wamp.List{"next"}) {
		t.Fatalf("the subscriber got %s first", summarize(ev))
	}
	if st := srv.Stats(); st.Refused != 2 || st.Aborted != 0 {
		t.Errorf("Stats.Refused = %d, Aborted = %d; want 2, 0", st.Refused, st.Aborted)
	}
	if !containsLine(logs.String(), "warning:", `PUBLISH to "com.example.t" refused: `+wamp.ErrPayloadRefused.Error(), "sent ERROR "+wamp.ErrURIInvalidArgument) ||
		!containsLine(logs.String(), "warning:", `PUBLISH to "com.example.t" refused`, "not told") {
		t.Errorf("log:\n%s", logs)
	}
	if !containsLine(trace.String(), "refuse conn=", "PUBLISH", "not routed") ||
		!containsLine(trace.String(), "rx conn=", "PUBLISH", "payload=<refused: integer does not fit in 64 bits") {
		t.Errorf("trace:\n%s", trace)
	}
}

func TestRefusedCallAndReplies(t *testing.T) {
	srv, _, logs := testServer(t, Config{})
	callee := join(t, srv, autobahnRoles())
	caller := join(t, srv, autobahnRoles())
	callee.register("com.example.p", nil)

	// CALL: the caller is answered by the router; the callee never hears of it.
	req := caller.nextReq()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.p", Payload: badPayload()})
	assertInvalidArgument(t, expect[*wamp.Error](caller), wamp.CALL, req, "the router did not route this call")

	// YIELD: the caller gets the refusal in its place.
	req = caller.nextReq()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.p", Payload: wamp.Payload{Args: wamp.List{"y"}}})
	inv := expect[*wamp.Invocation](callee)
	if !reflect.DeepEqual(inv.Args, wamp.List{"y"}) {
		t.Fatalf("the callee got %s first", summarize(inv))
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: badPayload()})
	assertInvalidArgument(t, expect[*wamp.Error](caller), wamp.CALL, req, "the callee's result could not be delivered")

	// ERROR: likewise, naming the callee's error.
	req = caller.nextReq()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.p"})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Error{Type: wamp.INVOCATION, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.error.x", Payload: badPayload()})
	assertInvalidArgument(t, expect[*wamp.Error](caller), wamp.CALL, req, "the callee's error com.example.error.x could not be delivered")

	// A progressive YIELD: the call ends with the refusal; what the callee sends after it
	// for that call is not delivered.
	req = caller.nextReq()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.p"})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: badPayload()})
	assertInvalidArgument(t, expect[*wamp.Error](caller), wamp.CALL, req, "the callee's result could not be delivered")
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"late"}}})

	// Both sessions go on.
	req = caller.nextReq()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.p", Payload: wamp.Payload{Args: wamp.List{"ok"}}})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"ok"}}})
	if r := expect[*wamp.Result](caller); r.Request != req || !reflect.DeepEqual(r.Args, wamp.List{"ok"}) {
		t.Fatalf("RESULT %s", summarize(r))
	}
	if st := srv.Stats(); st.Refused != 4 || st.Aborted != 0 {
		t.Errorf("Stats.Refused = %d, Aborted = %d; want 4, 0", st.Refused, st.Aborted)
	}
	for _, what := range []string{`CALL of "com.example.p" refused`, "YIELD for invocation", "ERROR com.example.error.x for invocation"} {
		if !containsLine(logs.String(), "warning:", what) {
			t.Errorf("no warning with %q:\n%s", what, logs)
		}
	}
}

// TestRefusedPublishOverWebSocket: the whole path, from a raw JSON frame as Python's json
// writes it to the ERROR on the wire; the session is not aborted.
func TestRefusedPublishOverWebSocket(t *testing.T) {
	_, url, _ := startWS(t, Config{})
	sub := wsJoin(t, url, wamp.MsgPack, roles())
	sub.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.t"})
	wsExpect[*wamp.Subscribed](sub)

	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Sec-WebSocket-Protocol": {"wamp.2.json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(testWait))
	read := func() []byte {
		t.Helper()
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`[1,"realm1",{"roles":{"publisher":{}}}]`))
	if b := read(); !bytes.HasPrefix(b, []byte("[2,")) {
		t.Fatalf("WELCOME: %q", b)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`[16,7,{"acknowledge":true},"com.example.t",[1180591620717411303424]]`))
	m, err := wamp.JSON.Unmarshal(read())
	e, ok := m.(*wamp.Error)
	if err != nil || !ok {
		t.Fatalf("want ERROR, got %#v %v", m, err)
	}
	assertInvalidArgument(t, e, wamp.PUBLISH, 7, "the router did not publish this event")
	ws.WriteMessage(websocket.TextMessage, []byte(`[16,8,{"acknowledge":true},"com.example.t",["next"]]`))
	if b := read(); !bytes.HasPrefix(b, []byte("[17,8,")) {
		t.Fatalf("want PUBLISHED, got %q", b)
	}
	if ev := wsExpect[*wamp.Event](sub); !reflect.DeepEqual(ev.Args, wamp.List{"next"}) {
		t.Fatalf("subscriber got %s", summarize(ev))
	}
}

// A client that sends refused messages in a stream does not flood the router's log: a
// few warnings per session per interval, and one line that says how many were not
// logged, at the next warning or when the session ends. Stats and the trace still count
// each one.
func TestRefusedWarningsAreRateLimited(t *testing.T) {
	srv, trace, logs := testServer(t, Config{})
	srv.dropWarnEvery = time.Hour // one window for the whole test
	pub := join(t, srv, autobahnRoles())
	const n = 50
	for range n {
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{}, Topic: "com.example.t", Payload: badPayload()})
	}
	req := pub.nextReq()
	pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.t"})
	expect[*wamp.Published](pub)
	if st := srv.Stats(); st.Refused != n {
		t.Fatalf("Stats.Refused = %d, want %d", st.Refused, n)
	}
	if got := strings.Count(trace.String(), "refuse conn="); got != n {
		t.Errorf("%d refuse lines in the trace, want %d", got, n)
	}
	if got := strings.Count(logs.String(), " refused: "); got != refuseWarnBurst {
		t.Fatalf("%d refusal warnings logged for %d refusals in one interval, want %d:\n%s", got, n, refuseWarnBurst, logs)
	}
	pub.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseURINormal})
	expect[*wamp.Goodbye](pub)
	want := fmt.Sprintf("%d more refusal(s) not logged", n-refuseWarnBurst)
	deadline := time.Now().Add(testWait)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q when the session ended:\n%s", want, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
