package router

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// This file holds the in-memory test harness: a Server whose clients are connected by
// channels instead of WebSockets, so that tests drive real nexus routing with message
// values. A client that does not call recv does not read, exactly like a slow
// WebSocket client whose TCP window is full.

const testWait = 10 * time.Second // bound on every wait for a message; never a sleep

// recvItem is what the router's Recv returns: a message or a transport error.
type recvItem struct {
	m   wamp.Message
	err error
}

// pipe is an endpoint whose other end is a test client.
type pipe struct {
	toRouter   chan recvItem
	fromRouter chan wamp.Message
	closed     chan struct{}
	once       sync.Once
	code       atomic.Int32
	// limit, when set, is a message size limit in bytes for what the router sends,
	// measured in JSON, like the WebSocket transport's (wamp.MessageTooLargeError).
	limit atomic.Int64
}

func newPipe() *pipe {
	return &pipe{toRouter: make(chan recvItem), fromRouter: make(chan wamp.Message), closed: make(chan struct{})}
}

// Queue hands m to the test client at once, as a Flush right after it would: the client's
// recv is its read.
func (p *pipe) Queue(m wamp.Message) error {
	// Like the WebSocket transport, refuse what cannot be encoded.
	if _, err := wamp.ToList(m); err != nil {
		return err
	}
	if limit := p.limit.Load(); limit > 0 {
		b, err := wamp.JSON.Marshal(m)
		if err != nil {
			return err
		}
		if int64(len(b)) > limit {
			return &wamp.MessageTooLargeError{Type: m.MessageType(), Size: int64(len(b)), Limit: limit, Serializer: "json"}
		}
	}
	select {
	case p.fromRouter <- m:
		return nil
	case <-p.closed:
		return wamp.ErrClosed
	}
}

func (p *pipe) Flush() error {
	select {
	case <-p.closed:
		return wamp.ErrClosed
	default:
		return nil
	}
}

func (p *pipe) Recv() (wamp.Message, error) {
	select {
	case it := <-p.toRouter:
		return it.m, it.err
	case <-p.closed:
		return nil, wamp.ErrClosed
	}
}

func (p *pipe) SerializerName() string { return "pipe" }

func (p *pipe) Close(code int, _ string) {
	p.once.Do(func() {
		p.code.Store(int32(code))
		close(p.closed)
	})
}

// syncBuffer is an io.Writer safe for concurrent use, for traces and logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer starts a Server with cfg (Trace and Logger default to buffers) and closes it
// at the end of the test.
func testServer(t testing.TB, cfg Config) (*Server, *syncBuffer, *syncBuffer) {
	t.Helper()
	trace, logs := &syncBuffer{}, &syncBuffer{}
	if cfg.Trace == nil {
		cfg.Trace = trace
	}
	if cfg.Logger == nil {
		cfg.Logger = log.New(logs, "", 0)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Test clients do not read at the end of a test, so a closing connection's last
	// messages cannot be written; do not wait long for that.
	srv.closeGrace = 50 * time.Millisecond
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv, trace, logs
}

type client struct {
	t       testing.TB
	p       *pipe
	session wamp.ID
	req     wamp.ID
}

// connect attaches a new in-memory client to srv, without a HELLO.
func connect(t testing.TB, srv *Server) *client {
	p := newPipe()
	srv.attach(p, nil)
	return &client{t: t, p: p}
}

// Role sets as Autobahn|Python 22.7.1 announces them (AB/role.py), reduced to the
// features these tests rely on, and with nothing payload-related unless asked for.
func roles(features ...string) wamp.Dict {
	r := wamp.Dict{}
	for _, role := range clientRoles {
		f := wamp.Dict{"progressive_call_results": true, "pattern_based_subscription": true,
			"pattern_based_registration": true, "publisher_exclusion": true, "call_canceling": true}
		for _, x := range features {
			f[x] = true
		}
		r[role] = wamp.Dict{"features": f}
	}
	return r
}

// autobahnRoles are the roles of an Autobahn|Python client (wire.md §1.8).
func autobahnRoles() wamp.Dict {
	return roles(wamp.FeaturePayloadTransparency, wamp.FeaturePayloadEncryptionCryptobox)
}

// pptRoles are the roles of a client speaking Payload PassThru Mode.
func pptRoles() wamp.Dict { return roles(wamp.FeaturePayloadPassthruMode) }

// join connects a client and establishes a session in realm1 with the given roles.
func join(t testing.TB, srv *Server, r wamp.Dict) *client {
	t.Helper()
	c := connect(t, srv)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": r}})
	w := expect[*wamp.Welcome](c)
	c.session = w.Session
	return c
}

func (c *client) send(m wamp.Message) {
	c.t.Helper()
	select {
	case c.p.toRouter <- recvItem{m: m}:
	case <-c.p.closed:
		c.t.Fatalf("send %v: connection closed (code %d)", m.MessageType(), c.p.code.Load())
	case <-time.After(testWait):
		c.t.Fatalf("send %v: router did not read within %v", m.MessageType(), testWait)
	}
}

func (c *client) next() wamp.Message {
	c.t.Helper()
	m, err := c.tryNext()
	if err != nil {
		c.t.Fatal(err)
	}
	return m
}

func (c *client) tryNext() (wamp.Message, error) {
	select {
	case m := <-c.p.fromRouter:
		return m, nil
	case <-c.p.closed:
		return nil, fmt.Errorf("connection closed (code %d)", c.p.code.Load())
	case <-time.After(testWait):
		return nil, fmt.Errorf("no message within %v", testWait)
	}
}

// waitClosed waits until the router closed the connection and returns the close code.
func (c *client) waitClosed() int {
	c.t.Helper()
	for {
		select {
		case <-c.p.fromRouter:
		case <-c.p.closed:
			return int(c.p.code.Load())
		case <-time.After(testWait):
			c.t.Fatalf("connection not closed within %v", testWait)
		}
	}
}

func expect[T wamp.Message](c *client) T {
	c.t.Helper()
	m := c.next()
	v, ok := m.(T)
	if !ok {
		var zero T
		c.t.Fatalf("got %s, want %T", summarize(m), zero)
	}
	return v
}

func (c *client) nextReq() wamp.ID {
	c.req++
	return c.req
}

func (c *client) subscribe(topic string, opts wamp.Dict) wamp.ID {
	c.t.Helper()
	if opts == nil {
		opts = wamp.Dict{}
	}
	c.send(&wamp.Subscribe{Request: c.nextReq(), Options: opts, Topic: topic})
	return expect[*wamp.Subscribed](c).Subscription
}

func (c *client) register(proc string, opts wamp.Dict) wamp.ID {
	c.t.Helper()
	if opts == nil {
		opts = wamp.Dict{}
	}
	c.send(&wamp.Register{Request: c.nextReq(), Options: opts, Procedure: proc})
	return expect[*wamp.Registered](c).Registration
}

// peerOf returns the router's side of an established test session.
func peerOf(t testing.TB, srv *Server, c *client) *peer {
	t.Helper()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	p := srv.sessions[uint64(c.session)]
	if p == nil {
		t.Fatalf("session %d is not registered", c.session)
	}
	return p
}

// settle waits until the router has decided the fate of every message nexus has handed
// to c's session so far: queued, or dropped and counted. Nexus hands messages over in
// order, but they reach the session's queue only when its writer or a later Send moves
// them (outqueue.go), so a barrier seen by another session does not imply that yet.
func settle(t testing.TB, srv *Server, c *client) {
	t.Helper()
	p := peerOf(t, srv, c)
	done := make(chan struct{})
	go func() {
		p.sweepTx()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testWait):
		t.Fatalf("session %d's queue was not reached within %v", c.session, testWait)
	}
}

// waitTraceLine polls the trace, up to testWait, until a line contains all the parts.
func waitTraceLine(t testing.TB, trace *syncBuffer, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !containsLine(trace.String(), parts...) {
		if time.Now().After(deadline) {
			t.Fatalf("no trace line with %q within %v:\n%s", parts, testWait, trace)
		}
		time.Sleep(time.Millisecond) // bounded poll
	}
}

// containsLine reports whether some line of text contains all the parts.
func containsLine(text string, parts ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

var _ io.Writer = (*syncBuffer)(nil)

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
