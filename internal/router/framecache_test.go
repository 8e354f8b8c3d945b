package router

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// framedPipe is a pipe that can share encodings (frameEndpoint), in JSON: what it is
// given encoded is decoded again for the test client, so a frame shared by mistake shows
// as a wrong message.
type framedPipe struct{ *pipe }

func (f framedPipe) Encode(m wamp.Message) ([]byte, error) {
	b, err := wamp.JSON.Marshal(m)
	if err != nil {
		return nil, err
	}
	if limit := f.limit.Load(); limit > 0 && int64(len(b)) > limit {
		return nil, &wamp.MessageTooLargeError{Type: m.MessageType(), Size: int64(len(b)), Limit: limit, Serializer: "json"}
	}
	return b, nil
}

func (f framedPipe) QueueEncoded(b []byte) error {
	m, err := wamp.JSON.Unmarshal(b)
	if err != nil {
		return err
	}
	return f.Queue(m)
}

// joinFramed is join for a client on a framedPipe.
func joinFramed(t testing.TB, srv *Server, r wamp.Dict) *client {
	t.Helper()
	p := newPipe()
	srv.attach(framedPipe{p}, nil)
	c := &client{t: t, p: p}
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": r}})
	c.session = expect[*wamp.Welcome](c).Session
	return c
}

// noTrace turns the server's trace off: with a trace, encodings are not shared (each "tx"
// line shows the message as converted for its client).
func noTrace(srv *Server) { srv.tracer.w = nil }

// The subscribers of one publication share its EVENT's encoding, and each gets exactly its
// own events: sealed and plain payloads, an exact and a prefix subscription (whose
// Details carry each publication's topic).
func TestSharedEventFrames(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	noTrace(srv)
	const subs = 3
	var exact, prefix []*client
	for range subs {
		c := joinFramed(t, srv, autobahnRoles())
		c.subscribe("com.example.shared.t", nil)
		exact = append(exact, c)
		c = joinFramed(t, srv, autobahnRoles())
		c.subscribe("com.example.shared.", wamp.Dict{"match": "prefix"})
		prefix = append(prefix, c)
	}
	pub := join(t, srv, autobahnRoles())
	const n = 20
	for i := range n {
		topic := "com.example.shared.t"
		if i%2 == 1 {
			topic = fmt.Sprintf("com.example.shared.other%d", i)
		}
		var p wamp.Payload
		opts := wamp.Dict{"acknowledge": true}
		if i%3 == 0 {
			p = wamp.Payload{Args: wamp.List{int64(i), "plain", wamp.Dict{"nested": wamp.List{1.5, true}}}, Kwargs: wamp.Dict{"k": int64(i)}}
		} else {
			p = wamp.Payload{Bare: bytes.Repeat([]byte{byte(i)}, 40)}
			opts = encOpts(opts)
		}
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: opts, Topic: topic, Payload: p})
		expect[*wamp.Published](pub)
	}
	check := func(c *client, i int, wantTopic string) {
		t.Helper()
		ev := expect[*wamp.Event](c)
		if got, _ := ev.Details["topic"].(string); got != wantTopic {
			t.Errorf("event %d: Details.topic %q, want %q", i, got, wantTopic)
		}
		if i%3 == 0 {
			if len(ev.Args) != 3 || ev.Args[0] != int64(i) || ev.Kwargs["k"] != int64(i) || ev.IsBare() {
				t.Errorf("event %d: %s", i, summarize(ev))
			}
		} else if !bytes.Equal(ev.Bare, bytes.Repeat([]byte{byte(i)}, 40)) || ev.Details[wamp.OptEncAlgo] != "cryptobox" {
			t.Errorf("event %d: %s", i, summarize(ev))
		}
	}
	for i := range n {
		topic := "com.example.shared.t"
		if i%2 == 1 {
			topic = fmt.Sprintf("com.example.shared.other%d", i)
		}
		for _, c := range prefix {
			check(c, i, topic)
		}
		if i%2 == 0 {
			for _, c := range exact {
				check(c, i, "")
			}
		}
	}
	// Each publication is encoded once per subscription (by its first subscriber to look
	// it up); the others share it, unless a later publication took its slot in between.
	exactEvents, prefixEvents := n/2, n
	lookups := uint64(subs * (exactEvents + prefixEvents))
	h, m := srv.frames.hits.Load(), srv.frames.misses.Load()
	if h+m != lookups || m < uint64(exactEvents+prefixEvents) || h < lookups/2 {
		t.Errorf("frame cache: %d hits, %d misses; want %d lookups, at least %d misses and %d hits",
			h, m, lookups, exactEvents+prefixEvents, lookups/2)
	}
}

// A drop mark is never shared: the subscriber that lost events gets the mark, another
// that lost none gets the same event without it, although its writer looks the event up
// only after the first's has delivered it.
func TestSharedFramesKeepDropMarks(t *testing.T) {
	const queue = 4
	srv, _, _ := testServer(t, Config{OutQueueSize: queue})
	noTrace(srv)
	slow := joinFramed(t, srv, autobahnRoles())
	fast := joinFramed(t, srv, autobahnRoles())
	probe := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	slow.subscribe("com.example.firehose", nil)
	fast.subscribe("com.example.firehose", nil)
	probe.subscribe("com.example.barrier", nil)
	publish := func(b []byte) {
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(wamp.Dict{"acknowledge": true}),
			Topic: "com.example.firehose", Payload: wamp.Payload{Bare: b}})
		expect[*wamp.Published](pub)
	}
	// slow reads nothing and loses events; fast reads all but the last, on which its
	// writer then waits.
	const n = 30
	for i := range n {
		publish([]byte{byte(i)})
		if i < n-1 {
			if ev := expect[*wamp.Event](fast); ev.Bare[0] != byte(i) {
				t.Fatalf("fast subscriber: %s", summarize(ev))
			}
		}
	}
	barrier(t, srv, pub, probe, slow)
	dropped := srv.Stats().Dropped
	if dropped == 0 {
		t.Fatal("nothing dropped")
	}
	for range n - int(dropped) {
		if ev := expect[*wamp.Event](slow); len(ev.Bare) != 1 {
			t.Fatalf("slow subscriber: %s", summarize(ev))
		}
	}
	// The next event is slow's first after its drops: marked for slow, not for fast.
	publish([]byte("marked"))
	publish([]byte("last"))
	if ev := expect[*wamp.Event](slow); string(ev.Bare) != "marked" {
		t.Fatalf("slow subscriber: %s", summarize(ev))
	} else if m, ok := dropMark(ev); !ok || uint64(m) != dropped {
		t.Errorf("slow subscriber's mark %v (%v), want %d", m, ok, dropped)
	}
	if ev := expect[*wamp.Event](slow); string(ev.Bare) != "last" {
		t.Fatalf("slow subscriber: %s", summarize(ev))
	}
	for _, want := range []string{string([]byte{n - 1}), "marked", "last"} {
		ev := expect[*wamp.Event](fast)
		if string(ev.Bare) != want {
			t.Fatalf("fast subscriber: %s, want %q", summarize(ev), want)
		}
		if _, ok := dropMark(ev); ok {
			t.Errorf("fast subscriber's event %q carries a drop mark: %s", want, summarize(ev))
		}
	}
	if srv.frames.hits.Load() == 0 {
		t.Error("no encoding was shared")
	}
}

func TestFrameCacheSameValue(t *testing.T) {
	b := []byte("sealed")
	other := []byte("sealed")
	l := []any{int64(1)}
	m := map[string]any{"a": int64(1)}
	cases := []struct {
		name string
		a, b any
		want bool
	}{
		{"same binary", b, b[:len(b):len(b)], true},
		{"equal binary elsewhere", b, other, false},
		{"shorter binary", b, b[:2], false},
		{"same list", l, l, true},
		{"equal list elsewhere", l, []any{int64(1)}, false},
		{"same dict", m, m, true},
		{"equal dict elsewhere", m, map[string]any{"a": int64(1)}, false},
		{"list and nx.List", l, nx.List(l), false},
		{"list and nil", l, nil, false},
		{"strings", "x", "x", true},
		{"ints", int64(3), int64(3), true},
		{"int and ID", int64(3), nx.ID(3), false},
		{"NaN", math.NaN(), math.NaN(), false},
		{"nil", nil, nil, true},
	}
	for _, c := range cases {
		if got := sameValue(c.a, c.b); got != c.want {
			t.Errorf("%s: sameValue = %v, want %v", c.name, got, c.want)
		}
	}
	if equalDetails(nx.Dict{"x": nx.List{}}, nx.Dict{"x": nx.List{}}) {
		t.Error("Details holding a list compared equal")
	}
	if !equalDetails(nx.Dict{"topic": nx.URI("a.b")}, nx.Dict{"topic": nx.URI("a.b")}) || equalDetails(nx.Dict{}, nil) {
		t.Error("equalDetails")
	}
}

// An EVENT too large for one subscriber is dropped and counted for that subscriber on the
// shared path too (whether it meets the encoding another subscriber left, or encodes its
// own), and the others still get it; the next event reaches both.
func TestSharedFramesTooLarge(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	noTrace(srv)
	roomy := joinFramed(t, srv, autobahnRoles())
	tight := joinFramed(t, srv, autobahnRoles())
	tight.p.limit.Store(300)
	roomy.subscribe("com.example.big", nil)
	tight.subscribe("com.example.big", nil)
	pub := join(t, srv, autobahnRoles())
	for _, b := range [][]byte{bytes.Repeat([]byte{1}, 600), []byte("small")} {
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(wamp.Dict{"acknowledge": true}),
			Topic: "com.example.big", Payload: wamp.Payload{Bare: b}})
		expect[*wamp.Published](pub)
	}
	if ev := expect[*wamp.Event](roomy); len(ev.Bare) != 600 {
		t.Fatalf("roomy subscriber: %s, want the big event", summarize(ev))
	}
	if ev := expect[*wamp.Event](roomy); string(ev.Bare) != "small" {
		t.Fatalf("roomy subscriber: %s, want the small event", summarize(ev))
	}
	if ev := expect[*wamp.Event](tight); string(ev.Bare) != "small" {
		t.Fatalf("tight subscriber: %s, want the small event (the big one dropped)", summarize(ev))
	}
	if st := srv.Stats(); st.Dropped != 1 || st.TooLarge != 1 || st.Undeliverable != 0 {
		t.Errorf("Stats = %+v, want Dropped 1 and TooLarge 1", st)
	}
}
