package wamp

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// Session is an established WAMP client session. Its methods are safe for concurrent
// use. Events are delivered one at a time, in order, on one goroutine; each invocation
// runs its handler on its own goroutine; neither runs on the goroutine that reads the
// connection, so handlers may call the session's methods. (The exception is
// RegisterInline, for handlers that answer at once without waiting for the session.)
type Session struct {
	conn    *Conn
	cfg     Config
	welcome *Welcome

	lastReq atomic.Uint64

	ctx    context.Context // cancelled when the session ends; parent of handler contexts
	cancel context.CancelFunc

	mu          sync.Mutex
	pending     map[ID]*pendingRequest
	calls       map[ID]*pendingCall
	subs        map[ID][]*Subscription
	regs        map[ID]*Registration
	invocations map[ID]*invocation
	goodbyeSent bool
	goodbyeRcvd chan struct{}
	// unflushed are the request IDs of publications QueuePublish left in the write queue
	// since the last write that waited for it (pubsub.go, flushed).
	unflushed []ID

	events *queue[delivery] // events for the handlers, delivered in order by eventLoop

	endOnce sync.Once
	done    chan struct{}
	err     error
	wg      sync.WaitGroup
	// replyN counts invocations whose handler runs or whose reply is not sent yet, and
	// replyIdle is closed whenever it is zero; Close waits for it before GOODBYE. (A
	// WaitGroup would not do: invocations may start while Close waits.) Both under mu.
	replyN    int
	replyIdle chan struct{}
}

func newSession(c *Conn, cfg Config, w *Welcome) *Session {
	s := &Session{
		conn:        c,
		cfg:         cfg,
		welcome:     w,
		pending:     map[ID]*pendingRequest{},
		calls:       map[ID]*pendingCall{},
		subs:        map[ID][]*Subscription{},
		regs:        map[ID]*Registration{},
		invocations: map[ID]*invocation{},
		goodbyeRcvd: make(chan struct{}),
		events:      newQueue[delivery](),
		done:        make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(2)
	go s.readLoop()
	go s.eventLoop()
	return s
}

// ID returns the session ID the router assigned.
func (s *Session) ID() ID { return s.welcome.Session }

// Welcome returns the router's WELCOME (authid, authrole, roles, …).
func (s *Session) Welcome() *Welcome { return s.welcome }

// RouterFeature reports whether the router announced a feature for a role in WELCOME,
// e.g. ("broker", "payload_passthru_mode").
func (s *Session) RouterFeature(role, feature string) bool {
	roles, _ := s.welcome.Details[OptRoles].(map[string]any)
	r, _ := roles[role].(map[string]any)
	f, _ := r[OptFeatures].(map[string]any)
	on, _ := f[feature].(bool)
	return on
}

// Done is closed when the session ends for any reason.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err reports why the session ended (nil while it is running): ErrSessionClosed after
// Close, *AbortError, *GoodbyeError, a *ProtocolError or a connection error. It reports
// the end from the moment end records it, before the acknowledgements it settles with
// that error are delivered and before Done is closed: whoever learns of the end from an
// acknowledgement finds its reason here.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// nextID returns the next request ID: session-scoped, from 1, increasing
// (basic/messages.md "IDs"), wrapping to 1 after 2^53.
func (s *Session) nextID() ID {
	for {
		old := s.lastReq.Load()
		next := old + 1
		if next > uint64(MaxID) {
			next = 1
		}
		if s.lastReq.CompareAndSwap(old, next) {
			return ID(next)
		}
	}
}

func (s *Session) send(m Message) error {
	b, err := s.encode(m)
	if err != nil {
		return err
	}
	return s.write(b, true)
}

// encode serializes m for the connection, within the session's size limit.
func (s *Session) encode(m Message) ([]byte, error) {
	if s.cfg.Trace != nil {
		s.cfg.Trace("tx", m)
	}
	return s.conn.encode(m, s.cfg.MaxMessageSize)
}

// write writes an encoded message, after everything queued before it; with wait false it
// only queues it (QueuePublish).
func (s *Session) write(b []byte, wait bool) error {
	return s.writeErr(s.conn.w.send(s.conn, b, wait))
}

// writeErr is err from a write on the connection, except that a write refused because
// the session ended and closed the connection reports why the session ended.
func (s *Session) writeErr(err error) error {
	if errors.Is(err, ErrClosed) {
		if e := s.Err(); e != nil {
			return e
		}
	}
	return err
}

// end finishes the session once: records why, settles the outstanding PublishAsync
// acknowledgements with that error, cancels handler contexts, wakes every other waiter
// (they select on done) and closes the connection, which stops the read loop.
func (s *Session) end(err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.err = err
		acks := s.endAsync()
		s.mu.Unlock()
		for _, a := range acks {
			a.settle(0, err)
		}
		s.cancel()
		close(s.done)
		s.conn.Close()
	})
}

// abort ends the session after telling the router why (basic/session.md: a protocol
// violation is answered with ABORT wamp.error.protocol_violation).
func (s *Session) abort(err error) {
	s.send(&Abort{Details: Dict{OptMessage: err.Error()}, Reason: ErrURIProtocol})
	s.end(err)
}

// closedAsAsked reports whether a connection error is a WebSocket close frame that ends
// the connection in the ordinary way (RFC 6455 §7.4.1: 1000 normal, 1001 going away, or
// a close frame without a code, 1005). After our GOODBYE that is the router closing the
// session as asked: nexus, for one, sometimes drops its GOODBYE reply and sends only its
// close frame, and a router only closes so after handling what came before the GOODBYE.
// Neither a close for a reason of the router's own (1002 protocol error, 1008 policy,
// 1009 message too big, 1011 internal error, …: it refused something) nor a connection
// that just ended without a close frame (gorilla's 1006: a router that crashed, a proxy
// that dropped it) says that, so neither may pass for an answer.
func closedAsAsked(err error) bool {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.Code {
	case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived:
		return true
	}
	return false
}

func (s *Session) readLoop() {
	defer s.wg.Done()
	for {
		m, err := s.conn.Recv()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			s.mu.Lock()
			closing := s.goodbyeSent
			s.mu.Unlock()
			switch {
			case closing && closedAsAsked(err):
				// We said GOODBYE; a router that closes the connection with an ordinary
				// close frame instead of answering (nexus sometimes loses its reply) has
				// still closed the session as asked.
				s.end(ErrSessionClosed)
			case IsProtocolError(err):
				s.abort(err)
			default:
				s.end(fmt.Errorf("connection lost: %w", err))
			}
			return
		}
		if s.cfg.Trace != nil {
			s.cfg.Trace("rx", m)
		}
		if err := s.dispatch(m); err != nil {
			s.abort(err)
			return
		}
	}
}

func (s *Session) eventLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		case <-s.events.wait():
			batch := s.events.drain()
			for i, d := range batch {
				select {
				case <-s.done:
					return
				default:
				}
				s.deliver(d, i+1 < len(batch) || s.events.pending())
			}
		}
	}
}

// dispatch routes one incoming message. A returned error is a protocol violation.
func (s *Session) dispatch(m Message) error {
	switch m := m.(type) {
	case *Event:
		s.onEvent(m)
	case *Invocation:
		s.onInvocation(m)
	case *Interrupt:
		s.mu.Lock()
		inv := s.invocations[m.Request]
		s.mu.Unlock()
		if inv != nil {
			inv.interrupt()
		}
	case *Result:
		s.mu.Lock()
		c := s.calls[m.Request]
		s.mu.Unlock()
		if c != nil {
			c.q.push(m)
			s.yieldToCaller()
		}
	case *Error:
		if m.Type == CALL {
			s.mu.Lock()
			c := s.calls[m.Request]
			s.mu.Unlock()
			if c != nil {
				c.q.push(m)
				s.yieldToCaller()
			}
			return nil
		}
		return s.reply(m.Request, m.Type, m)
	case *Published:
		return s.reply(m.Request, PUBLISH, m)
	case *Subscribed:
		return s.reply(m.Request, SUBSCRIBE, m)
	case *Unsubscribed:
		return s.reply(m.Request, UNSUBSCRIBE, m)
	case *Registered:
		return s.reply(m.Request, REGISTER, m)
	case *Unregistered:
		return s.reply(m.Request, UNREGISTER, m)
	case *Goodbye:
		s.mu.Lock()
		ours := s.goodbyeSent
		s.mu.Unlock()
		if ours {
			select {
			case <-s.goodbyeRcvd:
			default:
				close(s.goodbyeRcvd)
			}
			s.end(ErrSessionClosed)
			return nil
		}
		s.send(&Goodbye{Details: Dict{}, Reason: CloseURIGoodbyeAndOut})
		s.end(&GoodbyeError{Reason: m.Reason, Details: m.Details})
	case *Abort:
		s.end(&AbortError{Reason: m.Reason, Details: m.Details})
	default:
		return protoErrf("unexpected %v in an established session", m.MessageType())
	}
	return nil
}

// yieldToCaller lets the Call just handed its RESULT or ERROR run before the read loop
// reads again. That next read is most often a system call that finds nothing (EAGAIN)
// and parks the read loop; with one P (cbx call and cbx bench call --procedure run so,
// cmd/cbx procs.go) the caller would otherwise wait for it before it could take its
// result.
func (s *Session) yieldToCaller() { runtime.Gosched() }

// pendingRequest waits for the reply to PUBLISH (acknowledged), SUBSCRIBE, UNSUBSCRIBE,
// REGISTER or UNREGISTER.
type pendingRequest struct {
	typ MessageType
	ch  chan Message // buffered, 1
	// accepted, if set, runs on the read loop with a reply that is not an ERROR, before
	// the next message is dispatched: a router may send an EVENT right behind the
	// SUBSCRIBED that created its subscription (or an INVOCATION behind REGISTERED), and
	// the session must know the subscription by then or lose that message.
	accepted func(Message)
	// ack, if set, is a PublishAsync request: nobody waits on ch, the reply settles ack.
	ack *PublishAck
}

// reply hands a reply to its waiter. A reply whose request type does not match is a
// protocol violation; one for an unknown request (its waiter gave up) is ignored.
func (s *Session) reply(req ID, typ MessageType, m Message) error {
	s.mu.Lock()
	p := s.pending[req]
	if p != nil {
		if p.typ != typ {
			s.mu.Unlock()
			return protoErrf("%v answers request %d, which was a %v", m.MessageType(), req, p.typ)
		}
		delete(s.pending, req)
	}
	s.mu.Unlock()
	if p != nil && p.ack != nil {
		p.settleAsync(m)
		return nil
	}
	if p != nil {
		if _, isErr := m.(*Error); !isErr && p.accepted != nil {
			p.accepted(m)
		}
		p.ch <- m
	}
	return nil
}

// request sends m (whose request ID is id) and waits for its reply; accepted, if not
// nil, runs on the read loop with a successful reply (see pendingRequest). If ctx ends
// after the reply was taken for delivery, the reply wins, so that accepted never runs for
// a request its caller was told had failed.
func (s *Session) request(ctx context.Context, id ID, m Message, accepted func(Message)) (Message, error) {
	p := &pendingRequest{typ: m.MessageType(), ch: make(chan Message, 1), accepted: accepted}
	s.mu.Lock()
	s.pending[id] = p
	s.mu.Unlock()
	// drop forgets the request; false means the read loop has already taken its reply,
	// which is then on its way to p.ch.
	drop := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.pending[id] != p {
			return false
		}
		delete(s.pending, id)
		return true
	}
	if err := s.send(m); err != nil {
		drop()
		return nil, err
	}
	result := func(r Message) (Message, error) {
		if e, ok := r.(*Error); ok {
			return nil, replyError(e)
		}
		return r, nil
	}
	select {
	case r := <-p.ch:
		return result(r)
	case <-ctx.Done():
		if !drop() {
			return result(<-p.ch)
		}
		return nil, ctx.Err()
	case <-s.done:
		if !drop() {
			return result(<-p.ch)
		}
		return nil, s.err
	}
}

// replyError is the *RPCError for an ERROR that answers one of our requests.
func replyError(e *Error) error {
	return &RPCError{URI: e.Error, Args: e.Args, Kwargs: e.Kwargs, Details: e.Details, PayloadErr: e.Payload.Err}
}
