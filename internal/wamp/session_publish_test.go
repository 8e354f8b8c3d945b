package wamp

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
)

// PublishAsync sends acknowledged PUBLISHes without waiting for their replies: the
// router sees all of them before it answers any. Replies in any order settle the right
// acknowledgement: PUBLISHED with its publication ID, ERROR as *RPCError.
func TestFakePublishAsyncPipelined(t *testing.T) {
	codec := newFakeCodec()
	s, r := fakeSession(t, JSON, Config{Codec: codec})
	const n = 8
	opts := Dict{"exclude_me": false}
	acks := make([]*PublishAck, n)
	for i := range acks {
		topic := "plain.t"
		if i == 3 {
			topic = "sec.t" // sealed like any other PUBLISH
		}
		a, err := s.PublishAsync(topic, opts, List{int64(i)}, nil)
		if err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		acks[i] = a
	}
	if len(opts) != 1 {
		t.Fatalf("PublishAsync changed the caller's options: %v", opts)
	}
	pubs := make([]*Publish, n)
	seen := map[ID]bool{}
	for i := range pubs {
		p := expectType[*Publish](r)
		if p.Options["acknowledge"] != true || p.Options["exclude_me"] != false {
			t.Fatalf("PUBLISH %d options %v, want acknowledge and the caller's", i, p.Options)
		}
		if seen[p.Request] {
			t.Fatalf("request ID %d used twice", p.Request)
		}
		seen[p.Request] = true
		if i == 3 {
			if got := codec.payloadOf(t, p.Payload); got.uri != "sec.t" || !reflect.DeepEqual(got.args, List{int64(3)}) {
				t.Fatalf("sealed PUBLISH %+v", got)
			}
		} else if !reflect.DeepEqual(p.Args, List{int64(i)}) {
			t.Fatalf("PUBLISH %d args %v: not in the order sent", i, p.Args)
		}
		pubs[i] = p
	}
	for _, a := range acks {
		select {
		case <-a.Done():
			t.Fatal("an acknowledgement settled before any reply")
		default:
		}
	}
	// Answer last first; every odd one is refused.
	for i := n - 1; i >= 0; i-- {
		if i%2 == 1 {
			r.send(&Error{Type: PUBLISH, Request: pubs[i].Request, Details: Dict{}, Error: "wamp.error.not_authorized", Payload: Payload{Args: List{"no"}}})
		} else {
			r.send(&Published{Request: pubs[i].Request, Publication: ID(1000 + i)})
		}
	}
	for i, a := range acks {
		id, err := a.Wait(testCtx(t))
		if a.Request != pubs[i].Request {
			t.Errorf("ack %d: Request %d, want %d", i, a.Request, pubs[i].Request)
		}
		if i%2 == 1 {
			var rpc *RPCError
			if !errors.As(err, &rpc) || rpc.URI != "wamp.error.not_authorized" || id != 0 || !reflect.DeepEqual(rpc.Args, List{"no"}) {
				t.Errorf("ack %d: %d, %v; want the router's ERROR", i, id, err)
			}
			continue
		}
		if err != nil || id != ID(1000+i) {
			t.Errorf("ack %d: %d, %v; want publication %d", i, id, err, 1000+i)
		}
		if id2, err2 := a.Result(); id2 != id || err2 != err {
			t.Errorf("Result after Wait: %d, %v", id2, err2)
		}
	}
	if len(s.pending) != 0 {
		t.Fatalf("%d requests still pending", len(s.pending))
	}
	if s.Err() != nil {
		t.Fatalf("session ended: %v", s.Err())
	}
}

// When the session ends, every outstanding acknowledgement settles with the session's
// error (nothing waits forever), and PublishAsync on an ended session fails at once.
func TestFakePublishAsyncSessionEnd(t *testing.T) {
	for _, c := range []struct {
		name string
		end  func(r *fakeRouter)
		want func(error) bool
	}{
		{"abort", func(r *fakeRouter) {
			r.send(&Abort{Details: Dict{}, Reason: "wamp.close.system_shutdown"})
		}, func(err error) bool {
			var ab *AbortError
			return errors.As(err, &ab) && ab.Reason == "wamp.close.system_shutdown"
		}},
		{"connection lost", func(r *fakeRouter) { r.c.Close() }, IsConnectionError},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, r := fakeSession(t, MsgPack, Config{})
			var acks []*PublishAck
			for i := 0; i < 5; i++ {
				a, err := s.PublishAsync("com.t", nil, List{int64(i)}, nil)
				if err != nil {
					t.Fatal(err)
				}
				acks = append(acks, a)
			}
			first := expectType[*Publish](r)
			for i := 1; i < 5; i++ {
				expectType[*Publish](r)
			}
			r.send(&Published{Request: first.Request, Publication: 9})
			if id, err := acks[0].Wait(testCtx(t)); id != 9 || err != nil {
				t.Fatalf("first ack: %d, %v", id, err)
			}
			c.end(r)
			for i, a := range acks[1:] {
				id, err := a.Wait(testCtx(t))
				if id != 0 || err == nil || !c.want(err) || err != s.Err() {
					t.Fatalf("ack %d after the session ended: %d, %v (session: %v)", i+1, id, err, s.Err())
				}
			}
			<-s.Done()
			if a, err := s.PublishAsync("com.t", nil, nil, nil); a != nil || err == nil || err != s.Err() {
				t.Fatalf("PublishAsync after the end: %v, %v", a, err)
			}
			if len(s.pending) != 0 {
				t.Fatalf("%d requests still pending", len(s.pending))
			}
		})
	}
}

// Wait gives up when its context ends, but the acknowledgement still settles when the
// reply comes; a message over the size limit is refused before anything is sent or
// left pending.
func TestFakePublishAsyncWaitAndTooLarge(t *testing.T) {
	s, r := fakeSession(t, CBOR, Config{MaxMessageSize: testLimit})
	if a, err := s.PublishAsync("com.t", nil, List{make([]byte, testLimit)}, nil); a != nil || !errors.As(err, new(*MessageTooLargeError)) {
		t.Fatalf("too large: %v, %v; want a *MessageTooLargeError", a, err)
	}
	if len(s.pending) != 0 {
		t.Fatalf("a refused PUBLISH left %d requests pending", len(s.pending))
	}
	a, err := s.PublishAsync("com.t", nil, List{"small"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := expectType[*Publish](r)
	if !reflect.DeepEqual(p.Args, List{"small"}) {
		t.Fatalf("router got %+v first, want the small PUBLISH", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with an ended context: %v", err)
	}
	r.send(&Published{Request: p.Request, Publication: 77})
	if id, err := a.Wait(testCtx(t)); id != 77 || err != nil {
		t.Fatalf("after the reply: %d, %v", id, err)
	}
}

// Many outstanding at once: the router reads two thousand PUBLISHes before it answers
// any, then answers them all, and each settles with its own publication ID.
func TestFakePublishAsyncManyOutstanding(t *testing.T) {
	s, r := fakeSession(t, MsgPack, Config{})
	const n = 2000
	acks := make([]*PublishAck, n)
	sent := make(chan error, 1)
	go func() { // the router reads while the session writes: a WebSocket has finite buffers
		for i := range acks {
			a, err := s.PublishAsync("com.t", nil, List{int64(i)}, nil)
			if err != nil {
				sent <- err
				return
			}
			acks[i] = a
		}
		sent <- nil
	}()
	reqs := make([]ID, n)
	for i := range reqs {
		reqs[i] = expectType[*Publish](r).Request
	}
	if err := recvWithin(t, sent, "PublishAsync calls"); err != nil {
		t.Fatal(err)
	}
	for i, req := range reqs {
		r.send(&Published{Request: req, Publication: ID(5000 + i)})
	}
	ctx := testCtx(t)
	for i, a := range acks {
		if id, err := a.Wait(ctx); id != ID(5000+i) || err != nil {
			t.Fatalf("ack %d: %d, %v", i, id, err)
		}
	}
}

// Against nexus: two thousand publications pipelined in a window of 64, one of them
// refused (an invalid topic URI), all settle, in a session that goes on. (The window is
// not optional with nexus: its broker queues a PUBLISHED for the publisher without
// blocking and drops it when that session's outbound queue, 64 messages by default, is
// full; with a thousand outstanding, some acknowledgements never arrive.)
func TestNexusPublishAsync(t *testing.T) {
	url := startNexus(t)
	for _, ser := range Serializers {
		t.Run(ser.Name(), func(t *testing.T) {
			s := joinWith(t, url, ser, Config{})
			ctx := testCtx(t)
			const n, window, bad = 2000, 64, 500
			var inflight []*PublishAck
			ids := map[ID]bool{}
			settled := 0
			settle := func() {
				a := inflight[0]
				inflight = inflight[1:]
				id, err := a.Wait(ctx)
				if settled == bad {
					var rpc *RPCError
					if !errors.As(err, &rpc) || rpc.URI != "wamp.error.invalid_uri" {
						t.Fatalf("publication %d: %d, %v; want wamp.error.invalid_uri", settled, id, err)
					}
				} else if err != nil || id == 0 || ids[id] {
					t.Fatalf("publication %d: %d, %v", settled, id, err)
				}
				ids[id] = true
				settled++
			}
			for i := 0; i < n; i++ {
				if len(inflight) == window {
					settle()
				}
				topic := "com.example.async"
				if i == bad {
					topic = "com..bad"
				}
				a, err := s.PublishAsync(topic, nil, List{int64(i)}, nil)
				if err != nil {
					t.Fatalf("PublishAsync %d: %v", i, err)
				}
				inflight = append(inflight, a)
			}
			for len(inflight) > 0 {
				settle()
			}
			if _, err := s.Publish(ctx, "com.example.after", Dict{"acknowledge": true}, nil, nil); err != nil {
				t.Fatalf("the session does not go on: %v", err)
			}
		})
	}
}

// writeCounter wraps a Conn's TCP connection for its write path: it counts the Write
// calls and, when fail is set, fails them without writing.
type writeCounter struct {
	net.Conn
	mu     sync.Mutex
	writes int
	fail   error
}

func (w *writeCounter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.fail != nil {
		return 0, w.fail
	}
	return w.Conn.Write(b)
}

func (w *writeCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// QueuePublish leaves PUBLISHes in the write queue: queued ones and the PublishAsync that
// follows them go out in one write, in order, and are acknowledged as PublishAsync's are.
func TestFakeQueuePublishWrittenTogether(t *testing.T) {
	codec := newFakeCodec()
	s, r := fakeSession(t, MsgPack, Config{Codec: codec})
	wc := &writeCounter{Conn: s.conn.nc}
	s.conn.nc = wc
	const n = 6
	acks := make([]*PublishAck, n)
	for i := range acks {
		topic := "plain.t"
		if i == 2 {
			topic = "sec.t"
		}
		publish := s.QueuePublish
		if i == n-1 {
			publish = s.PublishAsync
		}
		a, err := publish(topic, nil, List{int64(i)}, nil)
		if err != nil {
			t.Fatalf("publication %d: %v", i, err)
		}
		acks[i] = a
	}
	if got := wc.count(); got != 1 {
		t.Fatalf("%d writes for %d publications, want 1", got, n)
	}
	for i := range acks {
		p := expectType[*Publish](r)
		if i == 2 {
			if got := codec.payloadOf(t, p.Payload); got.uri != "sec.t" {
				t.Fatalf("sealed PUBLISH %+v", got)
			}
		} else if !reflect.DeepEqual(p.Args, List{int64(i)}) || p.Options["acknowledge"] != true {
			t.Fatalf("PUBLISH %d: %+v, not in the order queued or not acknowledged", i, p)
		}
		r.send(&Published{Request: p.Request, Publication: ID(500 + i)})
	}
	for i, a := range acks {
		if id, err := a.Wait(testCtx(t)); err != nil || id != ID(500+i) {
			t.Fatalf("ack %d: %d, %v", i, id, err)
		}
	}
	if err := s.Flush(); err != nil || wc.count() != 1 {
		t.Fatalf("Flush with nothing queued: %v, %d writes", err, wc.count())
	}
}

// A write that fails settles the acknowledgement of every publication still queued, with
// its error, at once: no reply will come for them, and nobody waits for one in vain.
func TestFakeQueuePublishWriteFails(t *testing.T) {
	s, _ := fakeSession(t, JSON, Config{})
	broken := errors.New("injected write failure")
	wc := &writeCounter{Conn: s.conn.nc, fail: broken}
	s.conn.nc = wc
	var acks []*PublishAck
	for i := range 3 {
		a, err := s.QueuePublish("plain.t", nil, List{int64(i)}, nil)
		if err != nil {
			t.Fatalf("QueuePublish %d: %v", i, err)
		}
		acks = append(acks, a)
	}
	if err := s.Flush(); !errors.Is(err, broken) {
		t.Fatalf("Flush: %v, want the write's error", err)
	}
	for i, a := range acks {
		select {
		case <-a.Done():
		default:
			t.Fatalf("ack %d still pending after the failed write", i)
		}
		if _, err := a.Result(); !errors.Is(err, broken) || !IsConnectionError(err) {
			t.Fatalf("ack %d: %v", i, err)
		}
	}
	// Nothing more is taken on a connection whose write failed.
	if _, err := s.QueuePublish("plain.t", nil, List{"more"}, nil); !errors.Is(err, broken) {
		t.Fatalf("QueuePublish after the failure: %v", err)
	}

	// The same when the write of a PublishAsync after queued ones fails.
	s, _ = fakeSession(t, JSON, Config{})
	wc = &writeCounter{Conn: s.conn.nc}
	s.conn.nc = wc
	queued, err := s.QueuePublish("plain.t", nil, List{"queued"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wc.mu.Lock()
	wc.fail = broken
	wc.mu.Unlock()
	if _, err := s.PublishAsync("plain.t", nil, List{"last"}, nil); !errors.Is(err, broken) {
		t.Fatalf("PublishAsync: %v, want the write's error", err)
	}
	select {
	case <-queued.Done():
	default:
		t.Fatal("the queued publication's ack still pending after the failed write")
	}
	if _, err := queued.Result(); !errors.Is(err, broken) {
		t.Fatalf("queued ack: %v", err)
	}
}

// QueueEvent leaves an unacknowledged PUBLISH in the write queue: nothing is written
// until the GOODBYE of Close, and then both go in one write, the PUBLISH first, sealed
// as Publish seals it. An acknowledged publication is refused.
func TestFakeQueueEventGoesWithGoodbye(t *testing.T) {
	codec := newFakeCodec()
	s, r := fakeSession(t, MsgPack, Config{Codec: codec})
	wc := &writeCounter{Conn: s.conn.nc}
	s.conn.nc = wc
	if err := s.QueueEvent("sec.t", Dict{}, List{int64(1)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueEvent("plain.t", Dict{"acknowledge": true}, List{int64(2)}, nil); err == nil {
		t.Fatal("QueueEvent took an acknowledged publication")
	}
	if got := wc.count(); got != 0 {
		t.Fatalf("%d writes before the GOODBYE, want none", got)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close(testCtx(t)) }()
	p := expectType[*Publish](r)
	if got := codec.payloadOf(t, p.Payload); got.uri != "sec.t" || p.Options["acknowledge"] != nil {
		t.Fatalf("PUBLISH %+v, payload %+v", p, got)
	}
	expectType[*Goodbye](r)
	if got := wc.count(); got != 1 {
		t.Fatalf("%d writes for the PUBLISH and the GOODBYE, want 1", got)
	}
	r.send(&Goodbye{Details: Dict{}, Reason: "wamp.close.goodbye_and_out"})
	if err := recvWithin(t, closed, "Close"); err != nil {
		t.Fatal(err)
	}
}

// A queued event whose write fails makes Close fail: its caller learns that the router
// may not have the event.
func TestFakeQueueEventWriteFails(t *testing.T) {
	s, _ := fakeSession(t, JSON, Config{})
	broken := errors.New("injected write failure")
	s.conn.nc = &writeCounter{Conn: s.conn.nc, fail: broken}
	if err := s.QueueEvent("plain.t", nil, List{"x"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(testCtx(t)); !errors.Is(err, broken) {
		t.Fatalf("Close = %v, want the write's error", err)
	}
}

// BenchmarkPublishAsync: a publisher's session per event, sealed by the stand-in codec:
// PublishAsync (queued, a Flush every 64 as cbx publish --stdin writes them), the
// scripted router's PUBLISHED for each, the acknowledgement settled.
func BenchmarkPublishAsync(b *testing.B) {
	s, r := fakeSession(b, MsgPack, Config{Codec: benchSealer{sealed: make([]byte, 173)}})
	args := List{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", int64(12345)}
	opts := Dict{}
	acks := make([]*PublishAck, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		a, err := s.QueuePublish("com.example.bench", opts, args, nil)
		if err != nil {
			b.Fatal(err)
		}
		acks = append(acks, a)
		if len(acks) < cap(acks) {
			continue
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		for range acks {
			p := expectType[*Publish](r)
			if err := r.c.Queue(&Published{Request: p.Request, Publication: p.Request}); err != nil {
				b.Fatal(err)
			}
		}
		if err := r.c.Flush(); err != nil {
			b.Fatal(err)
		}
		for _, a := range acks {
			if _, err := a.Result(); err != nil {
				b.Fatal(err)
			}
		}
		acks = acks[:0]
	}
}
