package wamp

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// PayloadCodec is the only way payload sealing enters a session: package wamp never sees
// keys. cmd/cbx implements it with the keystore and internal/box.
//
// Sealing follows Autobahn (wire.md §1.5): PUBLISH/CALL are originating; YIELD and ERROR
// (sent by the callee) are not; EVENT/INVOCATION are opened as responder
// (originating=false); RESULT/ERROR received by the caller are opened as originator
// (originating=true).
type PayloadCodec interface {
	// Seal returns the payload and the options to merge into Options for an outgoing
	// message, or ok=false to send args/kwargs in plaintext.
	Seal(originating bool, uri string, args List, kwargs Dict) (p Payload, opts Dict, ok bool, err error)
	// Sealed reports whether an incoming message (its payload and Details/Options) is sealed.
	Sealed(p Payload, details Dict) bool
	// Open opens a sealed payload for the envelope uri (the trusted-URI check is the
	// codec's job).
	Open(originating bool, uri string, p Payload, details Dict) (args List, kwargs Dict, err error)
}

// Config describes how to join a realm.
type Config struct {
	Realm    string
	AuthID   string
	AuthRole string

	// At most one of these is set; none means anonymous.
	Ticket        string
	WampcraSecret string
	CryptosignKey ed25519.PrivateKey

	Codec    PayloadCodec    // nil: payloads pass untouched
	Features map[string]bool // extra features announced in HELLO for all four client roles
	// Trace, if set, sees every message: dir is "tx" or "rx". It may be called from
	// several goroutines at once.
	Trace func(dir string, m Message)
	// OnRefused, if set, is told of every INVOCATION the session answered with an error
	// itself, before any handler ran: a payload that could not be opened, or a procedure
	// the router named that the registration does not cover. uri is the error sent.
	OnRefused func(procedure, uri string, err error)
	// MaxMessageSize bounds every message the session sends, serialized, in bytes; 0
	// leaves only the connection's limit (DialOptions.MaxMessageSize). The router's own
	// limit is not announced in WAMP, and a router that receives a larger message closes
	// the connection (1009), ending the session; so a message over this limit is not
	// sent: Call and Publish return a *MessageTooLargeError, and a YIELD (or an ERROR
	// with a payload) is replaced by ERROR wamp.error.payload_size_exceeded, as Autobahn
	// does when its transport refuses a result (protocol.py, PayloadExceededError).
	MaxMessageSize int64
}

// ErrURIPayloadSizeExceeded is the spec's error for "a message could not be delivered
// due to transport payload size limits" (basic/uri_reference.md); Autobahn's
// ApplicationError.PAYLOAD_SIZE_EXCEEDED.
const ErrURIPayloadSizeExceeded = "wamp.error.payload_size_exceeded"

// defaultFeatures are announced in HELLO (advanced/*.md feature names): what this
// session implements. payload_transparency is what Autobahn announces in every client
// role for its bare binary payloads (wire.md §1.8).
var defaultFeatures = map[string][]string{
	"caller":     {"call_canceling", "progressive_call_results", "payload_transparency"},
	"callee":     {"call_canceling", "progressive_call_results", "pattern_based_registration", "payload_transparency"},
	"publisher":  {"publisher_exclusion", "payload_transparency"},
	"subscriber": {"pattern_based_subscription", "payload_transparency"},
}

// helloRoles builds HELLO.Details.roles. Only features set to true are listed: nexus
// (wamp/session.go HasFeature) treats a feature as announced when its key is present,
// whatever its value, so a false entry would announce it.
func helloRoles(extra map[string]bool) Dict {
	roles := Dict{}
	for role, names := range defaultFeatures {
		f := Dict{}
		for _, n := range names {
			f[n] = true
		}
		for n, on := range extra {
			if on {
				f[n] = true
			}
		}
		roles[role] = Dict{"features": f}
	}
	return roles
}

// joinTimeout bounds the opening handshake when ctx has no deadline.
const joinTimeout = 30 * time.Second

// closeTimeout bounds the wait for the router's GOODBYE when Close's ctx has no deadline.
const closeTimeout = 5 * time.Second

// Join establishes a session on c: HELLO, then CHALLENGE/AUTHENTICATE for the configured
// method, until WELCOME (basic/session.md; advanced/authentication_*.md). An ABORT is
// returned as *AbortError. On any failure the connection is closed.
func Join(ctx context.Context, c *Conn, cfg Config) (*Session, error) {
	s, err := join(ctx, c, cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func join(ctx context.Context, c *Conn, cfg Config) (*Session, error) {
	if cfg.Realm == "" {
		return nil, errors.New("no realm to join")
	}
	method, err := cfg.authMethod()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, joinTimeout)
		defer cancel()
	}
	// Recv does not take a context; closing the connection is what unblocks it.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	details := Dict{"roles": helloRoles(cfg.Features)}
	if method != "" {
		details["authmethods"] = List{method}
	}
	if cfg.AuthID != "" {
		details["authid"] = cfg.AuthID
	}
	if cfg.AuthRole != "" {
		details["authrole"] = cfg.AuthRole
	}
	if method == "cryptosign" {
		pub := cfg.CryptosignKey.Public().(ed25519.PublicKey)
		details["authextra"] = Dict{"pubkey": hex.EncodeToString(pub)}
	}
	trace := func(dir string, m Message) {
		if cfg.Trace != nil {
			cfg.Trace(dir, m)
		}
	}
	send := func(m Message) error {
		trace("tx", m)
		return c.Send(m)
	}
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := send(&Hello{Realm: cfg.Realm, Details: details}); err != nil {
		return nil, fail(err)
	}
	challenged := false
	for {
		m, err := c.Recv()
		if err != nil {
			if IsProtocolError(err) {
				send(&Abort{Details: Dict{"message": err.Error()}, Reason: ErrURIProtocol})
			}
			return nil, fail(err)
		}
		trace("rx", m)
		switch m := m.(type) {
		case *Welcome:
			if m.Session == 0 {
				err := protoErrf("WELCOME with session ID 0")
				send(&Abort{Details: Dict{"message": err.Error()}, Reason: ErrURIProtocol})
				return nil, err
			}
			return newSession(c, cfg, m), nil
		case *Abort:
			return nil, &AbortError{Reason: m.Reason, Details: m.Details}
		case *Challenge:
			if method == "" || challenged {
				err := fmt.Errorf("the router sent a CHALLENGE for %q, a method this session did not offer", m.AuthMethod)
				send(&Abort{Details: Dict{"message": err.Error()}, Reason: "wamp.error.authentication_failed"})
				return nil, err
			}
			challenged = true
			auth, err := cfg.respondChallenge(method, m)
			if err != nil {
				send(&Abort{Details: Dict{"message": err.Error()}, Reason: "wamp.error.authentication_failed"})
				return nil, err
			}
			if err := send(auth); err != nil {
				return nil, fail(err)
			}
		default:
			err := protoErrf("unexpected %v while joining", m.MessageType())
			send(&Abort{Details: Dict{"message": err.Error()}, Reason: ErrURIProtocol})
			return nil, err
		}
	}
}

// Session is an established WAMP client session. Its methods are safe for concurrent
// use. Events are delivered one at a time, in order, on one goroutine; each invocation
// runs its handler on its own goroutine; neither runs on the goroutine that reads the
// connection, so handlers may call the session's methods.
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

	events *queue[func()]

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
		events:      newQueue[func()](),
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
	roles, _ := s.welcome.Details["roles"].(map[string]any)
	r, _ := roles[role].(map[string]any)
	f, _ := r["features"].(map[string]any)
	on, _ := f[feature].(bool)
	return on
}

// Done is closed when the session ends for any reason.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err reports why the session ended (nil while it is running): ErrSessionClosed after
// Close, *AbortError, *GoodbyeError, a *ProtocolError or a connection error.
func (s *Session) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
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
	if s.cfg.Trace != nil {
		s.cfg.Trace("tx", m)
	}
	if err := s.conn.send(m, s.cfg.MaxMessageSize); err != nil {
		if errors.Is(err, ErrClosed) {
			if e := s.Err(); e != nil {
				return e
			}
		}
		return err
	}
	return nil
}

// end finishes the session once: records why, cancels handler contexts, wakes every
// waiter (they select on done) and closes the connection, which stops the read loop.
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
	s.send(&Abort{Details: Dict{"message": err.Error()}, Reason: ErrURIProtocol})
	s.end(err)
}

// closedForCause reports whether a connection error is a WebSocket close the peer sent
// for a reason of its own (RFC 6455 §7.4.1: 1002 protocol error, 1008 policy, 1009 message
// too big, 1011 internal error, …), as opposed to an ordinary close (1000, 1001) or a
// connection that just ended. A router that refused a message (1009 for one over its size
// limit) must not look like one that answered GOODBYE by closing.
func closedForCause(err error) bool {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	switch ce.Code {
	case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived, websocket.CloseAbnormalClosure:
		return false
	}
	return true
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
			case closing && !closedForCause(err):
				// We said GOODBYE; a router that closes the connection instead of
				// answering (nexus sometimes loses its reply) has still closed the
				// session as asked.
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
			for _, f := range s.events.drain() {
				select {
				case <-s.done:
					return
				default:
				}
				f()
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
		}
	case *Error:
		if m.Type == CALL {
			s.mu.Lock()
			c := s.calls[m.Request]
			s.mu.Unlock()
			if c != nil {
				c.q.push(m)
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
		s.send(&Goodbye{Details: Dict{}, Reason: "wamp.close.goodbye_and_out"})
		s.end(&GoodbyeError{Reason: m.Reason, Details: m.Details})
	case *Abort:
		s.end(&AbortError{Reason: m.Reason, Details: m.Details})
	default:
		return protoErrf("unexpected %v in an established session", m.MessageType())
	}
	return nil
}

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

// seal applies the codec to an outgoing payload; ok=false means plaintext.
func (s *Session) seal(originating bool, uri string, args List, kwargs Dict, opts Dict) (Payload, Dict, error) {
	out := maps.Clone(opts)
	if out == nil {
		out = Dict{}
	}
	if s.cfg.Codec != nil {
		p, extra, ok, err := s.cfg.Codec.Seal(originating, uri, args, kwargs)
		if err != nil {
			return Payload{}, nil, err
		}
		if ok {
			maps.Copy(out, extra)
			return p, out, nil
		}
	}
	return Payload{Args: args, Kwargs: kwargs}, out, nil
}

// open applies the codec to an incoming payload. sealed reports whether it was opened.
// A bare payload nobody can open is ErrNoPayloadCodec; a payload refused on receipt
// (Payload.Err) is that error, and the codec never sees it.
func (s *Session) open(originating bool, uri string, p Payload, details Dict) (args List, kwargs Dict, sealed bool, err error) {
	if p.Err != nil {
		return nil, nil, false, p.Err
	}
	if s.cfg.Codec != nil && s.cfg.Codec.Sealed(p, details) {
		args, kwargs, err = s.cfg.Codec.Open(originating, uri, p, details)
		if err != nil {
			return nil, nil, false, err
		}
		return args, kwargs, true, nil
	}
	if p.IsBare() {
		return nil, nil, false, ErrNoPayloadCodec
	}
	return p.Args, p.Kwargs, false, nil
}

// Publish publishes an event to topic. With opts["acknowledge"] == true it waits for
// PUBLISHED and returns the publication ID (an ERROR reply is returned as *RPCError);
// otherwise it returns 0 once the message is sent. The payload is sealed if the codec
// says so (originating).
func (s *Session) Publish(ctx context.Context, topic string, opts Dict, args List, kwargs Dict) (ID, error) {
	p, o, err := s.seal(true, topic, args, kwargs, opts)
	if err != nil {
		return 0, err
	}
	id := s.nextID()
	m := &Publish{Request: id, Options: o, Topic: topic, Payload: p}
	if ack, _ := o["acknowledge"].(bool); !ack {
		if err := s.send(m); err != nil {
			return 0, err
		}
		return 0, nil
	}
	r, err := s.request(ctx, id, m, nil)
	if err != nil {
		return 0, err
	}
	return r.(*Published).Publication, nil
}

// EventInfo is one event delivered to a subscription handler.
type EventInfo struct {
	Subscription *Subscription
	Publication  ID
	// Topic is Details.topic when the router sent it (pattern subscriptions), else the
	// subscribed topic.
	Topic   string
	Args    List
	Kwargs  Dict
	Details Dict
	Sealed  bool // the payload was opened by the codec
	// Err says why there are no Args and Kwargs: the payload could not be opened, or it was
	// refused on receipt because it holds a value outside the dialect (errors.Is
	// [ErrPayloadRefused]; package comment, "Refused payloads"), or the router delivered
	// it under a topic the subscription does not cover.
	Err error
}

// Subscription is an active subscription.
type Subscription struct {
	ID      ID
	Topic   string
	Options Dict
	handler func(*EventInfo)
}

// Subscribe subscribes to topic (opts["match"] = "prefix" or "wildcard" for patterns)
// and calls h for every event, in order, on the session's event goroutine.
func (s *Session) Subscribe(ctx context.Context, topic string, opts Dict, h func(*EventInfo)) (*Subscription, error) {
	if h == nil {
		return nil, errors.New("subscribing with a nil handler")
	}
	if opts == nil {
		opts = Dict{}
	}
	id := s.nextID()
	sub := &Subscription{Topic: topic, Options: opts, handler: h}
	if _, err := s.request(ctx, id, &Subscribe{Request: id, Options: opts, Topic: topic}, func(r Message) {
		sub.ID = r.(*Subscribed).Subscription
		s.mu.Lock()
		s.subs[sub.ID] = append(s.subs[sub.ID], sub)
		s.mu.Unlock()
	}); err != nil {
		return nil, err
	}
	return sub, nil
}

// Unsubscribe removes a subscription. The router hands out one subscription ID per topic
// and session (basic/pubsub.md), so UNSUBSCRIBE is sent only when the last local
// subscription with that ID goes.
func (s *Session) Unsubscribe(ctx context.Context, sub *Subscription) error {
	s.mu.Lock()
	list := s.subs[sub.ID]
	idx := -1
	for i, x := range list {
		if x == sub {
			idx = i
		}
	}
	if idx < 0 {
		s.mu.Unlock()
		return errors.New("not subscribed")
	}
	list = append(list[:idx:idx], list[idx+1:]...)
	if len(list) > 0 {
		s.subs[sub.ID] = list
		s.mu.Unlock()
		return nil
	}
	delete(s.subs, sub.ID)
	s.mu.Unlock()
	id := s.nextID()
	if _, err := s.request(ctx, id, &Unsubscribe{Request: id, Subscription: sub.ID}, nil); err != nil {
		return err
	}
	return nil
}

func (s *Session) onEvent(m *Event) {
	s.mu.Lock()
	subs := append([]*Subscription(nil), s.subs[m.Subscription]...)
	s.mu.Unlock()
	for _, sub := range subs {
		s.events.push(func() {
			topic, err := envelopeURI(sub.Topic, sub.Options, m.Details["topic"])
			ev := &EventInfo{Subscription: sub, Publication: m.Publication, Topic: topic, Details: m.Details, Err: err}
			if err == nil {
				ev.Args, ev.Kwargs, ev.Sealed, ev.Err = s.open(false, topic, m.Payload, m.Details)
			}
			sub.handler(ev)
		})
	}
}

// ResultInfo is a call's result, or one progressive result of it.
type ResultInfo struct {
	Args     List
	Kwargs   Dict
	Details  Dict
	Progress bool // Details.progress: more results follow
	Sealed   bool // the payload was opened by the codec
}

type pendingCall struct {
	q *queue[Message] // RESULT and ERROR, in arrival order
}

// Call calls a procedure and waits for its final result. When onProgress is not nil,
// receive_progress is requested and each progressive RESULT is passed to it, on the
// calling goroutine (advanced/rpc_progressive_call_results.md). If ctx ends first, a
// CANCEL with mode killnowait is sent (advanced/rpc_call_canceling.md) and ctx's error
// is returned, wrapped. An ERROR reply is returned as *RPCError, opened under the error
// URI when sealed, or with PayloadErr set when its payload was refused on receipt; a
// RESULT or ERROR that cannot be opened is returned as the codec's error, wrapped, and so
// is a RESULT whose payload was refused (errors.Is [ErrPayloadRefused]).
func (s *Session) Call(ctx context.Context, proc string, opts Dict, args List, kwargs Dict, onProgress func(*ResultInfo)) (*ResultInfo, error) {
	p, o, err := s.seal(true, proc, args, kwargs, opts)
	if err != nil {
		return nil, err
	}
	if onProgress != nil {
		o["receive_progress"] = true
	}
	id := s.nextID()
	c := &pendingCall{q: newQueue[Message]()}
	s.mu.Lock()
	s.calls[id] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.calls, id)
		s.mu.Unlock()
	}()
	if err := s.send(&Call{Request: id, Options: o, Procedure: proc, Payload: p}); err != nil {
		return nil, err
	}
	cancel := func() {
		s.send(&Cancel{Request: id, Options: Dict{"mode": "killnowait"}})
	}
	for {
		select {
		case <-ctx.Done():
			cancel()
			return nil, ctx.Err()
		case <-s.done:
			return nil, s.err
		case <-c.q.wait():
		}
		for _, m := range c.q.drain() {
			switch m := m.(type) {
			case *Result:
				res := &ResultInfo{Details: m.Details}
				res.Progress, _ = m.Details["progress"].(bool)
				res.Args, res.Kwargs, res.Sealed, err = s.open(true, proc, m.Payload, m.Details)
				if err != nil {
					if res.Progress {
						cancel()
					}
					if m.Payload.Err != nil {
						return nil, fmt.Errorf("reading the result: %w", err)
					}
					return nil, fmt.Errorf("opening the result: %w", err)
				}
				if !res.Progress {
					return res, nil
				}
				if onProgress != nil {
					onProgress(res)
				}
			case *Error:
				e := &RPCError{URI: m.Error, Details: m.Details}
				if m.Payload.Err != nil {
					// The callee's error stands; only its payload is missing.
					e.PayloadErr = m.Payload.Err
					return nil, e
				}
				e.Args, e.Kwargs, e.Sealed, err = s.open(true, m.Error, m.Payload, m.Details)
				if err != nil {
					return nil, fmt.Errorf("opening the payload of error %s: %w", m.Error, err)
				}
				return nil, e
			}
		}
	}
}

// YieldResult is what a [Handler] returns: the final result's payload.
type YieldResult struct {
	Args   List
	Kwargs Dict
}

// InvocationInfo is one call delivered to a registered procedure.
type InvocationInfo struct {
	Registration *Registration
	// Procedure is Details.procedure when the router sent it (pattern registrations),
	// else the registered procedure.
	Procedure string
	Args      List
	Kwargs    Dict
	Details   Dict
	Sealed    bool // the payload was opened by the codec
	// Progress sends a progressive result (YIELD with progress: true). It is nil unless
	// the caller asked for receive_progress.
	Progress func(args List, kwargs Dict) error
}

// Handler implements a registered procedure. Returning an *RPCError sends an ERROR with
// its URI and payload; any other error (or an *RPCError without a URI) sends
// wamp.error.runtime_error with the error's text. ctx is cancelled when the dealer interrupts the call (the reply is then
// wamp.error.canceled) or the session ends.
type Handler func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error)

// Registration is an active registration.
type Registration struct {
	ID        ID
	Procedure string
	Options   Dict
	handler   Handler
}

// Register registers a procedure (opts["match"] for patterns, opts["invoke"] for shared
// registrations) with handler h.
func (s *Session) Register(ctx context.Context, proc string, opts Dict, h Handler) (*Registration, error) {
	if h == nil {
		return nil, errors.New("registering a nil handler")
	}
	if opts == nil {
		opts = Dict{}
	}
	id := s.nextID()
	reg := &Registration{Procedure: proc, Options: opts, handler: h}
	if _, err := s.request(ctx, id, &Register{Request: id, Options: opts, Procedure: proc}, func(r Message) {
		reg.ID = r.(*Registered).Registration
		s.mu.Lock()
		s.regs[reg.ID] = reg
		s.mu.Unlock()
	}); err != nil {
		return nil, err
	}
	return reg, nil
}

// Unregister removes a registration.
func (s *Session) Unregister(ctx context.Context, reg *Registration) error {
	s.mu.Lock()
	if s.regs[reg.ID] != reg {
		s.mu.Unlock()
		return errors.New("not registered")
	}
	delete(s.regs, reg.ID)
	s.mu.Unlock()
	id := s.nextID()
	if _, err := s.request(ctx, id, &Unregister{Request: id, Registration: reg.ID}, nil); err != nil {
		return err
	}
	return nil
}

type invocation struct {
	cancel      context.CancelFunc
	interrupted atomic.Bool
}

func (inv *invocation) interrupt() {
	inv.interrupted.Store(true)
	inv.cancel()
}

// onInvocation opens the payload and runs the handler on its own goroutine.
func (s *Session) onInvocation(m *Invocation) {
	s.mu.Lock()
	reg := s.regs[m.Registration]
	s.mu.Unlock()
	if reg == nil {
		s.sendError(INVOCATION, m.Request, "wamp.error.no_such_registration",
			List{fmt.Sprintf("no registration %d in this session", m.Registration)}, nil)
		return
	}
	proc, err := envelopeURI(reg.Procedure, reg.Options, m.Details["procedure"])
	if err != nil {
		s.refuse(m.Request, proc, ErrURITrustedMismatch, err)
		return
	}
	args, kwargs, sealed, err := s.open(false, proc, m.Payload, m.Details)
	var refused *PayloadError
	switch {
	case errors.As(err, &refused):
		// The caller's arguments cannot be handed over exactly, so the handler never
		// runs; the caller learns why, without the value (it may be large), under the
		// spec's URI for arguments a procedure cannot take.
		s.sendError(INVOCATION, m.Request, ErrURIInvalidArgument, List{refused.Reason()}, nil)
		if s.cfg.OnRefused != nil {
			s.cfg.OnRefused(proc, ErrURIInvalidArgument, err)
		}
		return
	case err != nil:
		s.refuse(m.Request, proc, codecErrorURI(err), err)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	inv := &invocation{cancel: cancel}
	s.mu.Lock()
	s.invocations[m.Request] = inv
	s.mu.Unlock()

	// yield seals a YIELD only if the INVOCATION was sealed, each one separately
	// (Autobahn protocol.py; wire.md §1.5).
	yield := func(args List, kwargs Dict, progress bool) error {
		opts := Dict{}
		if progress {
			opts["progress"] = true
		}
		p := Payload{Args: args, Kwargs: kwargs}
		if sealed {
			var err error
			if p, opts, err = s.seal(false, proc, args, kwargs, opts); err != nil {
				return err
			}
		}
		return s.send(&Yield{Request: m.Request, Options: opts, Payload: p})
	}
	info := &InvocationInfo{Registration: reg, Procedure: proc, Args: args, Kwargs: kwargs, Details: m.Details, Sealed: sealed}
	var finished atomic.Bool
	if rp, _ := m.Details["receive_progress"].(bool); rp {
		info.Progress = func(args List, kwargs Dict) error {
			if finished.Load() {
				return errors.New("progress after the invocation finished")
			}
			if inv.interrupted.Load() {
				return fmt.Errorf("invocation interrupted: %w", context.Canceled)
			}
			return yield(args, kwargs, true)
		}
	}

	s.wg.Add(1)
	s.beginReply()
	go func() {
		defer s.wg.Done()
		defer s.endReply()
		defer cancel()
		res, err := s.runHandler(ctx, reg.handler, info)
		finished.Store(true)
		s.mu.Lock()
		delete(s.invocations, m.Request)
		s.mu.Unlock()
		if s.Err() != nil {
			return
		}
		var rpcErr *RPCError
		switch {
		case inv.interrupted.Load():
			s.sendError(INVOCATION, m.Request, ErrURICanceled, List{"call canceled"}, nil)
		case errors.As(err, &rpcErr) && rpcErr.URI != "":
			s.sendError(INVOCATION, m.Request, rpcErr.URI, rpcErr.Args, rpcErr.Kwargs)
		case err != nil:
			s.sendError(INVOCATION, m.Request, ErrURIRuntime, List{err.Error()}, nil)
		default:
			if res == nil {
				res = &YieldResult{}
			}
			err := yield(res.Args, res.Kwargs, false)
			var tooLarge *MessageTooLargeError
			switch {
			case err == nil || s.Err() != nil:
			case errors.As(err, &tooLarge):
				s.sendError(INVOCATION, m.Request, ErrURIPayloadSizeExceeded, List{fmt.Sprintf(
					"the result of %s is %d bytes (%s), more than the callee's %d-byte message limit",
					proc, tooLarge.Size, tooLarge.Serializer, tooLarge.Limit)}, nil)
			default:
				s.sendError(INVOCATION, m.Request, ErrURIRuntime, List{fmt.Sprintf("cannot send result: %v", err)}, nil)
			}
		}
	}()
}

func (s *Session) beginReply() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replyN == 0 {
		s.replyIdle = make(chan struct{})
	}
	s.replyN++
}

func (s *Session) endReply() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replyN--
	if s.replyN == 0 {
		close(s.replyIdle)
	}
}

// repliesIdle is ready when no invocation is being answered.
func (s *Session) repliesIdle() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replyN == 0 {
		idle := make(chan struct{})
		close(idle)
		return idle
	}
	return s.replyIdle
}

// refuse answers an INVOCATION that cannot be handed to its handler, and tells the
// application (Config.OnRefused), which would otherwise never learn of it.
func (s *Session) refuse(req ID, proc, uri string, err error) {
	s.sendError(INVOCATION, req, uri, List{err.Error()}, nil)
	if s.cfg.OnRefused != nil {
		s.cfg.OnRefused(proc, uri, err)
	}
}

// runHandler calls h, turning a panic into an error so that one bad handler does not take
// the process down and the caller still gets an answer.
func (s *Session) runHandler(ctx context.Context, h Handler, info *InvocationInfo) (res *YieldResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, info)
}

// sendError sends an ERROR for a request we received (an INVOCATION). The payload is
// sealed under the error URI when the codec has a key for it, whether or not the
// invocation was sealed (Autobahn protocol.py; wire.md §1.5); if sealing fails the error
// goes out in plaintext rather than not at all.
func (s *Session) sendError(typ MessageType, req ID, uri string, args List, kwargs Dict) {
	err := s.sendErrorOnce(typ, req, uri, args, kwargs)
	if err == nil || s.Err() != nil {
		return
	}
	// The error itself could not be sent (a value the serializer does not take, or a
	// payload over the size limit); the caller must still get an answer, one whose
	// payload is only this short text.
	var tooLarge *MessageTooLargeError
	if errors.As(err, &tooLarge) {
		s.sendErrorOnce(typ, req, ErrURIPayloadSizeExceeded, List{fmt.Sprintf(
			"the error %s is %d bytes (%s), more than the callee's %d-byte message limit",
			uri, tooLarge.Size, tooLarge.Serializer, tooLarge.Limit)}, nil)
		return
	}
	s.sendErrorOnce(typ, req, ErrURIRuntime, List{fmt.Sprintf("cannot send error %s: %v", uri, err)}, nil)
}

// sendErrorOnce seals and sends one ERROR; see sendError.
func (s *Session) sendErrorOnce(typ MessageType, req ID, uri string, args List, kwargs Dict) error {
	p, details, err := s.seal(false, uri, args, kwargs, nil)
	if err != nil {
		// The codec wanted this error sealed but could not seal it: send the URI alone
		// rather than the payload in plaintext, or nothing at all.
		p, details = Payload{Args: List{"the error's payload could not be sealed"}}, Dict{}
	}
	return s.send(&Error{Type: typ, Request: req, Details: details, Error: uri, Payload: p})
}

// Close ends the session politely: GOODBYE wamp.close.normal, then it waits for the
// router's GOODBYE (bounded by ctx, or closeTimeout when ctx has no deadline), closes the
// connection, and waits for the session's goroutines, including running handlers, until
// ctx ends. A session that the router or a broken connection ended first, before or
// during the GOODBYE exchange, makes Close return why (see endedFirst); one an earlier
// Close ended, nil. Err() is then ErrSessionClosed.
func (s *Session) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, closeTimeout)
		defer cancel()
	}
	var err error
	// Invocations being answered get to send their YIELD or ERROR before our GOODBYE: a
	// callee that closes right after its last handler returns must not lose that reply.
	select {
	case <-s.repliesIdle():
	case <-s.done:
	case <-ctx.Done():
	}
	select {
	case <-s.done:
		err = s.endedFirst()
	default:
		s.mu.Lock()
		already := s.goodbyeSent
		s.goodbyeSent = true
		s.mu.Unlock()
		if !already {
			if e := s.send(&Goodbye{Details: Dict{}, Reason: "wamp.close.normal"}); e != nil {
				err = fmt.Errorf("saying GOODBYE: %w", e)
			}
		}
		if err == nil {
			select {
			case <-s.goodbyeRcvd:
			case <-s.done:
				select {
				case <-s.goodbyeRcvd: // the reply came, then the connection closed
				default:
					err = s.endedFirst()
				}
			case <-ctx.Done():
				err = fmt.Errorf("no GOODBYE from the router: %w", ctx.Err())
			}
		}
		s.end(ErrSessionClosed)
	}
	waited := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("handlers still running: %w", ctx.Err())
		}
	}
	return err
}

// endedFirst is Close's error for a session that ended before its GOODBYE was answered:
// the router closed it, or the connection broke. Whoever sent messages without waiting for
// a reply (PUBLISH without acknowledge) cannot then know that the router handled them, so
// Close says so rather than succeed; the GOODBYE round trip is what proves it otherwise,
// since the router handles a session's messages in order.
func (s *Session) endedFirst() error {
	e := s.Err()
	if e == nil || errors.Is(e, ErrSessionClosed) {
		return nil
	}
	return fmt.Errorf("the session ended before it could be closed: %w", e)
}

// queue is an unbounded FIFO whose producer never blocks, so the read loop cannot be
// stalled by a slow event handler or caller. wait returns a channel that is ready when
// items may be available.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	signal chan struct{}
}

func newQueue[T any]() *queue[T] {
	return &queue[T]{signal: make(chan struct{}, 1)}
}

func (q *queue[T]) push(v T) {
	q.mu.Lock()
	q.items = append(q.items, v)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *queue[T]) wait() <-chan struct{} { return q.signal }

func (q *queue[T]) drain() []T {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
