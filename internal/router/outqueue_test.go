package router

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Tests of the bounded outbound queue (outqueue.go): its limits in messages and bytes,
// what happens to each kind of message at the limit, and the drop mark.

// publishN publishes n sealed events of size bytes each to topic, acknowledged, the
// first byte of each being its number; the publisher is never held up.
func publishN(pub *client, topic string, n, size int) {
	pub.t.Helper()
	for i := range n {
		b := bytes.Repeat([]byte{byte(i)}, size)
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(wamp.Dict{"acknowledge": true}),
			Topic: topic, Payload: wamp.Payload{Bare: b}})
		expect[*wamp.Published](pub)
	}
}

// barrier makes sure every publication before it was handed to every subscriber and
// that slow's session has queued or dropped it (see settle).
func barrier(t *testing.T, srv *Server, pub, probe *client, slow ...*client) {
	t.Helper()
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{}, Topic: "com.example.barrier"})
	expect[*wamp.Event](probe)
	for _, c := range slow {
		settle(t, srv, c)
	}
}

func dropMark(ev *wamp.Event) (int64, bool) {
	v, ok := ev.Details[wamp.OptCBXDropped]
	n, _ := v.(int64)
	return n, ok
}

// The byte limit: a subscriber that reads nothing holds at most OutQueueBytes of events
// in its queue; the rest are dropped, traced with the byte limit as the reason.
func TestQueueByteLimit(t *testing.T) {
	const limit = 64 << 10
	srv, trace, _ := testServer(t, Config{OutQueueBytes: limit})
	slow := join(t, srv, autobahnRoles())
	probe := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	slow.subscribe("com.example.big", nil)
	probe.subscribe("com.example.barrier", nil)

	const n, size = 100, 4 << 10 // 400 KiB published, the queue takes 64 KiB
	publishN(pub, "com.example.big", n, size)
	barrier(t, srv, pub, probe, slow)

	p := peerOf(t, srv, slow)
	p.q.mu.Lock()
	queued, qbytes := p.q.n+p.q.heldN, p.q.bytes+p.q.heldBytes // what counts against the limits
	p.q.mu.Unlock()
	if qbytes > limit || queued < limit/(2*size) {
		t.Fatalf("queue holds %d events, %d bytes; want at most %d bytes and about %d events", queued, qbytes, limit, limit/size)
	}
	d := srv.Stats().Dropped
	if d != uint64(n-queued) && d != uint64(n-queued-1) { // the writer holds one, unless it took none yet
		t.Fatalf("Stats.Dropped = %d with %d queued of %d", d, queued, n)
	}
	if !containsLine(trace.String(), "drop ", fmt.Sprintf("EVENT outbound queue full (%d bytes) dropped_total=", limit)) {
		t.Errorf("no byte-limit drop line in the trace:\n%s", trace)
	}
	if got := traceDropTotal(t, trace.String(), slow.session); got != d {
		t.Errorf("trace's running total %d, Stats.Dropped %d", got, d)
	}
}

// A stopped subscriber costs at most its limit however much is published, and the queue
// gives its memory back once the subscriber has read it.
func TestStoppedSubscriberBounded(t *testing.T) {
	const limit = 1 << 20
	srv, _, _ := testServer(t, Config{OutQueueBytes: limit})
	srv.dropWarnEvery = time.Hour
	slow := join(t, srv, autobahnRoles())
	probe := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	slow.subscribe("com.example.flood", nil)
	probe.subscribe("com.example.barrier", nil)

	publishN(pub, "com.example.flood", 400, 32<<10) // 12.5 MiB
	barrier(t, srv, pub, probe, slow)
	p := peerOf(t, srv, slow)
	p.q.mu.Lock()
	queued, qbytes, ring := p.q.n+p.q.heldN, p.q.bytes+p.q.heldBytes, len(p.q.ring)
	p.q.mu.Unlock()
	if qbytes > limit || queued == 0 {
		t.Fatalf("stopped subscriber's queue: %d events, %d bytes; want some, at most %d bytes", queued, qbytes, limit)
	}
	if ring > 4*queued+16 {
		t.Errorf("ring of %d slots for %d events", ring, queued)
	}
	// It reads everything: the queue is empty and small again.
	for range queued + 1 {
		expect[*wamp.Event](slow)
	}
	settle(t, srv, slow)
	p.q.mu.Lock()
	queued, qbytes, ring = p.q.n+p.q.heldN, p.q.bytes+p.q.heldBytes, len(p.q.ring)
	p.q.mu.Unlock()
	if queued != 0 || qbytes != 0 || ring > 64 {
		t.Errorf("after reading: %d queued, %d bytes, a ring of %d slots", queued, qbytes, ring)
	}
}

// The drop mark: the next event delivered on a subscription that lost events carries
// Details._cbx_dropped with how many, equal to the router's count; another subscriber of
// the same events, and the client's other subscription, see no mark.
func TestDropMark(t *testing.T) {
	const queue = 4
	srv, trace, _ := testServer(t, Config{OutQueueSize: queue})
	slow := join(t, srv, autobahnRoles())
	fast := join(t, srv, autobahnRoles())
	probe := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	slowSub := slow.subscribe("com.example.marked", nil)
	slow.subscribe("com.example.other", nil)
	fast.subscribe("com.example.marked", nil)
	probe.subscribe("com.example.barrier", nil)

	// fast reads everything as it comes.
	fastEvents := make(chan *wamp.Event, 100)
	go func() {
		for {
			select {
			case m := <-fast.p.fromRouter:
				if ev, ok := m.(*wamp.Event); ok {
					fastEvents <- ev
				}
			case <-fast.p.closed:
				return
			}
		}
	}()

	const n = 30
	publishN(pub, "com.example.marked", n, 8)
	barrier(t, srv, pub, probe, slow)
	d := traceDropTotal(t, trace.String(), slow.session)
	if d == 0 {
		t.Fatal("nothing was dropped")
	}
	// What was queued comes first, in order. An event queued after some drops carries
	// the mark for them (the writer may have made room after the queue filled).
	last := -1
	var marks uint64
	for range n - int(d) {
		ev := expect[*wamp.Event](slow)
		if mark, ok := dropMark(ev); ok {
			if int(ev.Bare[0]) < queue {
				t.Errorf("event %d, queued before any drop, carries a drop mark %d", ev.Bare[0], mark)
			}
			marks += uint64(mark)
		}
		if int(ev.Bare[0]) <= last {
			t.Errorf("event %d after %d", ev.Bare[0], last)
		}
		last = int(ev.Bare[0])
	}
	// The other subscription lost nothing: no mark.
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(nil), Topic: "com.example.other", Payload: wamp.Payload{Bare: []byte("o")}})
	if ev := expect[*wamp.Event](slow); string(ev.Bare) != "o" {
		t.Fatalf("got %s, want the other topic's event", summarize(ev))
	} else if _, ok := dropMark(ev); ok {
		t.Errorf("the other subscription's event carries a drop mark: %v", ev.Details)
	}
	// The next event on the marked subscription says how many were lost since the last
	// one delivered: together, the marks add up to the router's count.
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(nil), Topic: "com.example.marked", Payload: wamp.Payload{Bare: []byte("next")}})
	ev := expect[*wamp.Event](slow)
	mark, ok := dropMark(ev)
	if string(ev.Bare) != "next" || ev.Subscription != slowSub || !ok || marks+uint64(mark) != d {
		t.Fatalf("got %s after marks adding up to %d, want the next event with %s=%d", summarize(ev), marks, wamp.OptCBXDropped, d-marks)
	}
	if ev.Details[wamp.OptEncAlgo] != "cryptobox" {
		t.Errorf("the mark replaced the other details: %v", ev.Details)
	}
	// And the one after that carries none.
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(nil), Topic: "com.example.marked", Payload: wamp.Payload{Bare: []byte("after")}})
	if ev := expect[*wamp.Event](slow); string(ev.Bare) != "after" {
		t.Fatalf("got %s", summarize(ev))
	} else if _, ok := dropMark(ev); ok {
		t.Errorf("the mark was repeated: %v", ev.Details)
	}
	// The fast subscriber got all n+2 events, none marked: the mark was set on a copy.
	// (Unless it lost some itself, which a loaded machine can make it do.)
	barrier(t, srv, pub, probe, fast)
	if fd := traceDropTotal(t, trace.String(), fast.session); fd > 0 {
		t.Logf("the fast subscriber lost %d events itself; its part of the test is skipped", fd)
		return
	}
	for i := range n + 2 {
		select {
		case ev := <-fastEvents:
			if _, ok := dropMark(ev); ok {
				t.Errorf("fast subscriber's event %d carries a drop mark: %v", i, ev.Details)
			}
		case <-time.After(testWait):
			t.Fatalf("fast subscriber got %d of %d events", i, n+2)
		}
	}
}

// Events dropped as too large count in the next event's mark too.
func TestDropMarkCountsTooLarge(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	sub := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	sub.subscribe("com.example.sized", nil)
	sub.p.limit.Store(300)
	for _, size := range []int{600, 600, 8} {
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(nil), Topic: "com.example.sized",
			Payload: wamp.Payload{Bare: bytes.Repeat([]byte{1}, size)}})
	}
	ev := expect[*wamp.Event](sub)
	if mark, ok := dropMark(ev); len(ev.Bare) != 8 || !ok || mark != 2 {
		t.Fatalf("got %s, want the small event with %s=2", summarize(ev), wamp.OptCBXDropped)
	}
}

// A caller whose queue is full does not wait for ever for its result: the RESULT is
// replaced by ERROR wamp.error.network_failure, and after a progressive RESULT the call
// is also cancelled, with nothing more of it delivered.
func TestCallerQueueFull(t *testing.T) {
	const queue = 2
	srv, trace, _ := testServer(t, Config{OutQueueSize: queue})
	caller := join(t, srv, autobahnRoles())
	callee := join(t, srv, autobahnRoles())
	probe := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	caller.subscribe("com.example.fill", nil)
	probe.subscribe("com.example.barrier", nil)
	reg := callee.register("com.example.proc", nil)

	// The caller reads nothing until its queue holds `queue` events; the events come
	// first when it reads again (readPastEvents).
	fill := func() {
		publishN(pub, "com.example.fill", 6, 8)
		barrier(t, srv, pub, probe, caller)
	}

	// Plain RESULT.
	fill()
	caller.send(&wamp.Call{Request: caller.nextReq(), Options: wamp.Dict{}, Procedure: "com.example.proc"})
	inv := expect[*wamp.Invocation](callee)
	if inv.Registration != reg {
		t.Fatalf("INVOCATION %s", summarize(inv))
	}
	before := srv.Stats().Dropped
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"result"}}})
	// The caller must not read before the RESULT met its full queue.
	waitTraceLine(t, trace, "drop ", fmt.Sprintf("session=%d RESULT outbound queue full (2 messages)", caller.session))
	e := readPastEvents[*wamp.Error](t, caller)
	if e.Request != caller.req || e.Error != wamp.ErrURINetworkFailure {
		t.Fatalf("caller got %s, want ERROR %s for call %d", summarize(e), wamp.ErrURINetworkFailure, caller.req)
	}
	if msg, _ := e.Args[0].(string); !strings.Contains(msg, "the call's RESULT could not be delivered: this caller's outbound queue full (2 messages)") {
		t.Errorf("ERROR text %q", msg)
	}
	if d := srv.Stats().Dropped; d != before+1 {
		t.Errorf("Stats.Dropped went from %d to %d, want one more for the RESULT", before, d)
	}

	// Progressive RESULT: the call is cancelled as well.
	fill()
	caller.send(&wamp.Call{Request: caller.nextReq(), Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.proc"})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{1}}})
	if in := expect[*wamp.Interrupt](callee); in.Request != inv.Request {
		t.Fatalf("callee got %s, want INTERRUPT for %d", summarize(in), inv.Request)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"late"}}})
	e = readPastEvents[*wamp.Error](t, caller)
	if e.Request != caller.req || e.Error != wamp.ErrURINetworkFailure {
		t.Fatalf("caller got %s, want ERROR %s for call %d", summarize(e), wamp.ErrURINetworkFailure, caller.req)
	}
	if msg, _ := e.Args[0].(string); !strings.Contains(msg, "the call was cancelled") {
		t.Errorf("ERROR text %q", msg)
	}
	// Nothing more of that call: the next message is the next call's result.
	caller.send(&wamp.Call{Request: caller.nextReq(), Options: wamp.Dict{}, Procedure: "com.example.proc"})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"ok"}}})
	if r := expect[*wamp.Result](caller); r.Request != caller.req {
		t.Fatalf("caller got %s, want the RESULT of call %d", summarize(r), caller.req)
	}
}

// readPastEvents reads c's messages, skipping EVENTs, until one of type T.
func readPastEvents[T wamp.Message](t *testing.T, c *client) T {
	t.Helper()
	for {
		m := c.next()
		if _, ok := m.(*wamp.Event); ok {
			continue
		}
		v, ok := m.(T)
		if !ok {
			var zero T
			t.Fatalf("got %s, want %T", summarize(m), zero)
		}
		return v
	}
}

// A client that sends requests but reads none of the replies fills the reserve above its
// limits and is disconnected with 1008, so that it cannot pin more memory.
func TestQueueOverflowCloses(t *testing.T) {
	srv, trace, logs := testServer(t, Config{OutQueueSize: 1})
	c := join(t, srv, autobahnRoles())
	var sent int
	for sent = 0; sent < 10*queueReserveMessages; sent++ {
		select {
		case c.p.toRouter <- recvItem{m: &wamp.Publish{Request: wamp.ID(sent + 1), Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.t"}}:
			continue
		case <-c.p.closed:
		case <-time.After(testWait):
			t.Fatalf("router stopped reading after %d publications", sent)
		}
		break
	}
	if code := c.waitClosed(); code != closePolicy {
		t.Fatalf("closed with %d after %d publications, want %d", code, sent, closePolicy)
	}
	if sent < queueReserveMessages {
		t.Errorf("closed after %d publications, before the reserve of %d was used", sent, queueReserveMessages)
	}
	if st := srv.Stats(); st.Overflowed != 1 {
		t.Errorf("Stats.Overflowed = %d", st.Overflowed)
	}
	if !strings.Contains(logs.String(), "does not read the replies") || !containsLine(trace.String(), "overflow conn=") {
		t.Errorf("overflow not logged and traced:\n%s", logs)
	}
}

// estimateSize grows with the payload and counts Details, and stays small for the
// router's own messages.
func TestEstimateSize(t *testing.T) {
	small := estimateSize(toNexusEvent(t, wamp.Payload{Args: wamp.List{"x"}}))
	big := estimateSize(toNexusEvent(t, wamp.Payload{Args: wamp.List{strings.Repeat("x", 10000)}}))
	bin := estimateSize(toNexusEvent(t, wamp.Payload{Args: wamp.List{make([]byte, 10000)}}))
	nested := estimateSize(toNexusEvent(t, wamp.Payload{Kwargs: wamp.Dict{"k": wamp.List{wamp.Dict{"a": strings.Repeat("y", 5000)}}}}))
	if small > 512 || big < 10000 || big > 11000 || bin < 10000 || nested < 5000 {
		t.Errorf("estimates: small %d, 10 kB string %d, 10 kB binary %d, nested 5 kB %d", small, big, bin, nested)
	}
}

func toNexusEvent(t *testing.T, p wamp.Payload) nx.Message {
	t.Helper()
	m, err := toNexus(&wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{"topic": "com.example.t"}, Payload: p})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Nexus's own drop lines (a non-blocking send to a full channel, which can only happen
// once a session's connection is over) are recognised: for a forgotten session they are
// not logged, for a live one (should nexus ever send another way) they are counted. The
// format strings are checked against nexus's source, so that an upgrade that changes them
// is noticed.
func TestNexusDropLineRecognised(t *testing.T) {
	srv, trace, logs := testServer(t, Config{})
	c := join(t, srv, autobahnRoles())
	nl := nexusLog{srv}
	nl.Printf(nexusDropFormat, nx.EVENT, &nx.Session{ID: 12345})
	nl.Printf(nexusDropCallerFormat, nx.RESULT, &nx.Session{ID: 12345})
	if strings.Contains(logs.String(), "Dropped") || srv.Stats().Dropped != 0 {
		t.Errorf("a drop for a forgotten session was logged or counted:\n%s", logs)
	}
	nl.Printf(nexusDropFormat, nx.EVENT, &nx.Session{ID: nx.ID(c.session)})
	if srv.Stats().Dropped != 1 || traceDropTotal(t, trace.String(), c.session) != 1 {
		t.Errorf("a drop for a live session was not counted: %+v\n%s", srv.Stats(), trace)
	}

	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/gammazero/nexus/v3").Output()
	if err != nil {
		t.Skipf("cannot locate nexus's source: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	for file, format := range map[string]string{"broker.go": nexusDropFormat, "dealer.go": nexusDropCallerFormat} {
		src, err := os.ReadFile(filepath.Join(dir, "router", file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(src, []byte(strconv.Quote(format))) {
			t.Errorf("nexus's router/%s no longer logs %q", file, format)
		}
	}
}

// Pattern subscribers of one publication each get their own EVENT Details: nexus writes
// Details.topic into the publication's dict for each of them in turn, so a shared dict
// would be read by one subscriber's goroutines while written for the next (peer.IsLocal).
// This test matters under the race detector, as CI runs it.
func TestPatternSubscribersOwnDetails(t *testing.T) {
	srv, _, _ := testServer(t, Config{Trace: nopWriter{}})
	pub := join(t, srv, autobahnRoles())
	const subs, n = 4, 200
	done := make(chan error, subs)
	for range subs {
		c := join(t, srv, autobahnRoles())
		c.subscribe("com.example.pattern.", wamp.Dict{"match": "prefix"})
		go func() {
			for i := range n {
				m, err := c.tryNext()
				if err != nil {
					done <- err
					return
				}
				ev, ok := m.(*wamp.Event)
				if !ok || ev.Details["topic"] != "com.example.pattern.t" {
					done <- fmt.Errorf("event %d: %s", i, summarize(m))
					return
				}
			}
			done <- nil
		}()
	}
	for i := range n {
		pub.send(&wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{"disclose_me": true}, Topic: "com.example.pattern.t",
			Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
	}
	for range subs {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
