package router

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Messages that fit the limit as their sender encoded them but not once encoded for
// their receiver (JSON's base64 makes binary a third larger than msgpack or CBOR do; an
// INVOCATION or EVENT also carries more than the CALL or PUBLISH it came from). The
// router must never leave a caller waiting for a reply it cannot deliver: see "Bounded
// resources" in doc.go.

// startWSLogs is startWS with the router's log.
func startWSLogs(t *testing.T, cfg Config) (*Server, string, *syncBuffer, *syncBuffer) {
	t.Helper()
	srv, url, trace := startWS(t, cfg)
	logs := &syncBuffer{}
	srv.cfg.Logger.SetOutput(logs)
	return srv, url, trace, logs
}

// expectSizeError reads the caller's next message and checks that it is ERROR
// wamp.error.payload_size_exceeded for request req whose message names all of parts.
func expectSizeError(t *testing.T, w *wsClient, req wamp.ID, parts ...string) {
	t.Helper()
	e := wsExpect[*wamp.Error](w)
	if e.Type != wamp.CALL || e.Request != req || e.Error != wamp.ErrURIPayloadSizeExceeded || len(e.Args) != 1 {
		t.Fatalf("got %s, want ERROR %s for CALL %d", summarize(e), wamp.ErrURIPayloadSizeExceeded, req)
	}
	msg, _ := e.Args[0].(string)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error message %q does not mention %q", msg, p)
		}
	}
}

// waitLog polls the router's log (bounded by testWait) for a line holding all parts.
func waitLog(t *testing.T, logs *syncBuffer, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !containsLine(logs.String(), parts...) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q:\n%s", parts, logs)
		}
		time.Sleep(5 * time.Millisecond) // bounded poll: the writer logs after the reply
	}
}

// roundTrip checks that caller and callee still work: a small call is answered.
func roundTrip(t *testing.T, caller, callee *wsClient, proc string, req wamp.ID) {
	t.Helper()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc, Payload: wamp.Payload{Args: wamp.List{"small"}}})
	inv := wsExpect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"ok"}}})
	if r := wsExpect[*wamp.Result](caller); r.Request != req || len(r.Args) != 1 || r.Args[0] != "ok" {
		t.Fatalf("after the refused message: %s", summarize(r))
	}
}

// TestCallTooLargeForCallee is the case of cbx's issue: a msgpack caller sends ~960 KB of
// sealed (binary) payload, within the default 1 MiB limit, to a JSON callee, for which the
// INVOCATION is ~1.28 MB. The caller gets ERROR payload_size_exceeded at once, the router
// logs it, and both connections stay up.
func TestCallTooLargeForCallee(t *testing.T) {
	srv, url, trace, logs := startWSLogs(t, Config{})
	callee := wsJoin(t, url, wamp.JSON, autobahnRoles())
	callee.send(&wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.secure.big"})
	wsExpect[*wamp.Registered](callee)
	caller := wsJoin(t, url, wamp.MsgPack, autobahnRoles())

	caller.send(&wamp.Call{Request: 1, Options: encOpts(nil), Procedure: "com.example.secure.big",
		Payload: wamp.Payload{Bare: make([]byte, 960<<10)}})
	expectSizeError(t, caller, 1, "INVOCATION", "callee", "json", strconv.FormatInt(DefaultMaxMessageSize, 10))
	waitLog(t, logs, "INVOCATION", "json", "exceeds the 1048576-byte message limit", "wamp.error.payload_size_exceeded")
	if !strings.Contains(trace.String(), "toolarge conn=") {
		t.Errorf("no toolarge line in the trace:\n%.2000s", trace)
	}
	roundTrip(t, caller, callee, "com.example.secure.big", 2)
	if st := srv.Stats(); st.TooLarge != 1 || st.Undeliverable != 0 {
		t.Errorf("Stats = %+v, want TooLarge 1", st)
	}
}

// A plain binary argument too large once base64-encoded, and the same-serializer case:
// a CALL just under the limit whose INVOCATION (which names the procedure in Details for
// a pattern registration) is over it.
func TestInvocationTooLargeOtherCases(t *testing.T) {
	const limit = 8 << 10
	_, url, _, logs := startWSLogs(t, Config{MaxMessageSize: limit})
	callee := wsJoin(t, url, wamp.JSON, roles())
	callee.send(&wamp.Register{Request: 1, Options: wamp.Dict{"match": "prefix"}, Procedure: "com.example.p."})
	wsExpect[*wamp.Registered](callee)

	cbor := wsJoin(t, url, wamp.CBOR, roles())
	cbor.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.p.bin",
		Payload: wamp.Payload{Args: wamp.List{"x", make([]byte, limit-200)}}})
	expectSizeError(t, cbor, 1, "INVOCATION", "json")

	// JSON to JSON: grow a string argument until the CALL is just under the limit.
	jsonCaller := wsJoin(t, url, wamp.JSON, roles())
	call := &wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.p.same"}
	n := limit - 100
	for {
		call.Payload = wamp.Payload{Args: wamp.List{strings.Repeat("s", n)}}
		b, err := wamp.JSON.Marshal(call)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) >= limit-2 {
			break
		}
		n++
	}
	jsonCaller.send(call)
	expectSizeError(t, jsonCaller, 2, "INVOCATION", "json")
	roundTrip(t, jsonCaller, callee, "com.example.p.same", 3)
	waitLog(t, logs, "INVOCATION", "exceeds the 8192-byte message limit")
}

// A RESULT too large for the caller's serializer becomes ERROR payload_size_exceeded for
// that caller; the next call works.
func TestResultTooLargeForCaller(t *testing.T) {
	const limit = 16 << 10
	srv, url, _, logs := startWSLogs(t, Config{MaxMessageSize: limit})
	callee := wsJoin(t, url, wamp.MsgPack, autobahnRoles())
	callee.send(&wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.r"})
	wsExpect[*wamp.Registered](callee)
	caller := wsJoin(t, url, wamp.JSON, autobahnRoles())

	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.r"})
	inv := wsExpect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: encOpts(nil), Payload: wamp.Payload{Bare: make([]byte, limit-500)}})
	expectSizeError(t, caller, 1, "RESULT", "caller", "json", strconv.Itoa(limit))
	waitLog(t, logs, "RESULT", "exceeds the 16384-byte message limit")

	// A callee's ERROR too large for the caller too; it names the original error URI.
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.r"})
	inv = wsExpect[*wamp.Invocation](callee)
	callee.send(&wamp.Error{Type: wamp.INVOCATION, Request: inv.Request, Details: encOpts(nil), Error: "com.example.error.big",
		Payload: wamp.Payload{Bare: make([]byte, limit-500)}})
	expectSizeError(t, caller, 2, "com.example.error.big", "ERROR", "caller")

	roundTrip(t, caller, callee, "com.example.r", 3)
	if st := srv.Stats(); st.TooLarge != 2 {
		t.Errorf("Stats.TooLarge = %d, want 2", st.TooLarge)
	}
}

// A progressive RESULT too large for the caller: the caller gets ERROR
// payload_size_exceeded, the call is cancelled (the callee gets INTERRUPT), and nothing
// more of that call reaches the caller.
func TestProgressiveResultTooLargeForCaller(t *testing.T) {
	const limit = 16 << 10
	_, url, _, _ := startWSLogs(t, Config{MaxMessageSize: limit})
	callee := wsJoin(t, url, wamp.CBOR, autobahnRoles())
	callee.send(&wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.prog"})
	wsExpect[*wamp.Registered](callee)
	caller := wsJoin(t, url, wamp.JSON, autobahnRoles())

	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.prog"})
	inv := wsExpect[*wamp.Invocation](callee)
	progress := wamp.Dict{"progress": true}
	callee.send(&wamp.Yield{Request: inv.Request, Options: progress, Payload: wamp.Payload{Args: wamp.List{"first"}}})
	if r := wsExpect[*wamp.Result](caller); r.Details["progress"] != true || r.Args[0] != "first" {
		t.Fatalf("first progressive result: %s", summarize(r))
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: progress, Payload: wamp.Payload{Args: wamp.List{make([]byte, limit-500)}}})
	expectSizeError(t, caller, 1, "RESULT", "caller", "json")
	if in := wsExpect[*wamp.Interrupt](callee); in.Request != inv.Request {
		t.Fatalf("INTERRUPT %s, want one for invocation %d", summarize(in), inv.Request)
	}
	// The callee's late answers for the call go nowhere. (If nexus has processed the
	// CANCEL by the time the late progressive YIELD arrives, it answers that YIELD with
	// one more INTERRUPT, its rule for progressive results of a call that is gone; if
	// not, the adapter suppresses the RESULT. Either is fine; the caller sees neither.)
	callee.send(&wamp.Yield{Request: inv.Request, Options: progress, Payload: wamp.Payload{Args: wamp.List{"late"}}})
	callee.send(&wamp.Error{Type: wamp.INVOCATION, Request: inv.Request, Details: wamp.Dict{}, Error: "wamp.error.canceled"})
	caller.send(&wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: "com.example.prog", Payload: wamp.Payload{Args: wamp.List{"small"}}})
	var next *wamp.Invocation
	for next == nil {
		m, err := callee.recv()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *wamp.Interrupt:
			if m.Request != inv.Request {
				t.Fatalf("INTERRUPT %s, want none but for invocation %d", summarize(m), inv.Request)
			}
		case *wamp.Invocation:
			next = m
		default:
			t.Fatalf("callee got %s, want the next INVOCATION", summarize(m))
		}
	}
	callee.send(&wamp.Yield{Request: next.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"ok"}}})
	if r := wsExpect[*wamp.Result](caller); r.Request != 2 || len(r.Args) != 1 || r.Args[0] != "ok" {
		t.Fatalf("after the refused message: %s", summarize(r))
	}
}

// An EVENT too large for one subscriber's serializer is a visible drop for that
// subscriber (Stats.Dropped, a drop line in the trace, a warning), not a silent one;
// subscribers for which it fits get it; the connection stays up.
func TestEventTooLargeDropped(t *testing.T) {
	srv, url, trace, logs := startWSLogs(t, Config{MaxMessageSize: 3000})
	jsonSub := wsJoin(t, url, wamp.JSON, roles())
	jsonSub.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.grow"})
	wsExpect[*wamp.Subscribed](jsonSub)
	cborSub := wsJoin(t, url, wamp.CBOR, roles())
	cborSub.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.grow"})
	wsExpect[*wamp.Subscribed](cborSub)
	pub := wsJoin(t, url, wamp.CBOR, roles())
	pub.send(&wamp.Publish{Request: 1, Options: encOpts(nil), Topic: "com.example.grow", Payload: wamp.Payload{Bare: make([]byte, 2800)}})
	pub.send(&wamp.Publish{Request: 2, Options: encOpts(nil), Topic: "com.example.grow", Payload: wamp.Payload{Bare: []byte("small")}})
	if ev := wsExpect[*wamp.Event](cborSub); len(ev.Bare) != 2800 {
		t.Errorf("CBOR subscriber got %d bytes, want the big event", len(ev.Bare))
	}
	ev := wsExpect[*wamp.Event](jsonSub)
	if string(ev.Bare) != "small" {
		t.Errorf("JSON subscriber got %d bytes, want the small event", len(ev.Bare))
	}
	if st := srv.Stats(); st.Dropped != 1 || st.TooLarge != 1 || st.Undeliverable != 0 {
		t.Errorf("Stats = %+v, want Dropped 1 and TooLarge 1", st)
	}
	var dropLine string
	for _, l := range strings.Split(trace.String(), "\n") {
		if strings.HasPrefix(l, "drop ") {
			dropLine = l
		}
	}
	if !strings.Contains(dropLine, "EVENT") || !strings.Contains(dropLine, "3000-byte message limit") || !strings.HasSuffix(dropLine, "dropped_total=1") {
		t.Errorf("drop line %q, want the EVENT over the 3000-byte limit with dropped_total=1", dropLine)
	}
	waitLog(t, logs, "1 message(s) dropped", "3000-byte message limit", "json")
}

// The error text names the size as the receiver's encoding measured it, and the limit.
func TestTooLargeErrorMessageSizes(t *testing.T) {
	const limit = 4096
	_, url, _, _ := startWSLogs(t, Config{MaxMessageSize: limit})
	callee := wsJoin(t, url, wamp.JSON, roles())
	callee.send(&wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.s"})
	wsExpect[*wamp.Registered](callee)
	caller := wsJoin(t, url, wamp.MsgPack, roles())
	payload := make([]byte, 3600)
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.s", Payload: wamp.Payload{Args: wamp.List{payload}}})
	e := wsExpect[*wamp.Error](caller)
	msg := fmt.Sprint(e.Args...)
	// Base64 of 3600 bytes is 4800 characters: the INVOCATION is at least that.
	var size int
	for _, f := range strings.Fields(msg) {
		if v, err := strconv.Atoi(f); err == nil && v > limit {
			size = v
		}
	}
	if size < 4800 || !bytes.Contains([]byte(msg), []byte(strconv.Itoa(limit))) {
		t.Errorf("error message %q: want the INVOCATION's size (≥ 4800) and the limit", msg)
	}
}

// One session losing EVENTs both to a full queue and to their size: every drop is
// counted, traced with the running total and reported once, and the warning says how
// many of each.
func TestMixedDropsAddUp(t *testing.T) {
	const queue = 4
	srv, trace, logs := testServer(t, Config{OutQueueSize: queue})
	srv.dropWarnEvery = time.Hour // only the first drop and the session's end report
	slow := join(t, srv, autobahnRoles())
	slow.subscribe("com.example.mixed", nil)
	slow.p.limit.Store(300)
	probe := join(t, srv, autobahnRoles())
	probe.subscribe("com.example.barrier", nil)
	pub := join(t, srv, autobahnRoles())

	// The slow subscriber reads nothing at first: its writer holds the first small event,
	// its queue fills, nexus drops the rest. Then it reads, and the big events that were
	// queued are dropped as too large when the writer gets to them.
	const n = 30
	for i := range n {
		size := 8
		if i%2 == 1 {
			size = 600
		}
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(wamp.Dict{"acknowledge": true}),
			Topic: "com.example.mixed", Payload: wamp.Payload{Bare: bytes.Repeat([]byte{byte(i)}, size)}})
		expect[*wamp.Published](pub)
	}
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{}, Topic: "com.example.barrier"})
	expect[*wamp.Event](probe)
	settle(t, srv, slow)
	// Every event is now delivered or dropped once the writer gets to it: read until all
	// are accounted for (a bounded poll, as the last ones may be drops).
	got := 0
	deadline := time.Now().Add(testWait)
	for uint64(got)+srv.Stats().Dropped < n {
		select {
		case m := <-slow.p.fromRouter:
			if ev, ok := m.(*wamp.Event); !ok || len(ev.Bare) != 8 {
				t.Fatalf("slow subscriber got %s", summarize(m))
			}
			got++
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d delivered, Stats = %+v", testWait, got, srv.Stats())
		}
	}
	st := srv.Stats()
	if st.Dropped+uint64(got) != n || st.TooLarge == 0 || st.TooLarge >= st.Dropped {
		t.Fatalf("Stats = %+v, %d delivered: want the %d events delivered or dropped, some of them as too large, some for the queue", st, got, n)
	}
	if last := traceDropTotal(t, trace.String(), slow.session); last != st.Dropped {
		t.Errorf("last dropped_total in the trace = %d, want %d", last, st.Dropped)
	}
	slow.p.Close(closeNormal, "")
	waitLoggedDrops(t, logs, slow.session, st.Dropped)
	full := st.Dropped - st.TooLarge
	if !containsLine(logs.String(), fmt.Sprintf("%d with the outbound queue full (limits: 4 messages, 67108864 bytes), %d too large for this client: over the 300-byte message limit", full-1, st.TooLarge)) {
		t.Errorf("no closing warning with both kinds of drop (%d queue full after the first, %d too large):\n%s", full-1, st.TooLarge, logs)
	}
}
