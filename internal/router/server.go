package router

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	nxrouter "github.com/gammazero/nexus/v3/router"
	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Server is a WAMP router: nexus plus the legacy-cryptobox adapter (see the package
// documentation). Create it with [New]; serve it with [Server.Serve] or mount
// [Server.Handler] in an HTTP server; stop it with [Server.Close].
type Server struct {
	cfg    Config
	nexus  nxrouter.Router
	stats  counters
	tracer *tracer
	frames frameCache // EVENT encodings shared by subscribers (framecache.go)

	connSeq       atomic.Uint64
	closeGrace    time.Duration
	dropWarnEvery time.Duration // rate limit of a session's drop warnings (dropWarnInterval)

	mu        sync.Mutex
	closed    bool
	peers     map[*peer]struct{} // every connection not yet finished
	sessions  map[uint64]*peer   // established sessions, by session ID
	https     []*http.Server
	attaching sync.WaitGroup // nexus AttachClient calls in progress
	conns     sync.WaitGroup // connections not yet finished
}

// New validates cfg, fills in its defaults and starts the router engine.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		tracer:   &tracer{w: cfg.Trace},
		peers:    map[*peer]struct{}{},
		sessions: map[uint64]*peer{},

		closeGrace:    defaultCloseGrace,
		dropWarnEvery: dropWarnInterval,
	}
	nxcfg := &nxrouter.Config{}
	for _, realm := range cfg.Realms {
		nxcfg.RealmConfigs = append(nxcfg.RealmConfigs, &nxrouter.RealmConfig{
			URI:            nx.URI(realm),
			AnonymousAuth:  cfg.anonymousAllowed(),
			AllowDisclose:  true,
			Authenticators: authenticators(&cfg),
			// Our peers say they are local (peer.IsLocal) only to get their own copy
			// of each EVENT; they authenticate like any remote client.
			RequireLocalAuth:  true,
			RequireLocalAuthz: true,
		})
	}
	r, err := nxrouter.NewRouter(nxcfg, nexusLog{s})
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	s.nexus = r
	return s, nil
}

// Handler returns an http.Handler that serves WAMP over WebSocket at any path it is
// mounted on (/ws by convention), with the json, msgpack and cbor subprotocols.
// Requests with an Origin header from another host are refused, so that a web page
// cannot drive a router on the user's machine; clients outside browsers send none.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := wamp.Accept(w, r, wamp.AcceptOptions{
			Serializers:    wamp.Serializers,
			MaxMessageSize: s.cfg.MaxMessageSize,
		})
		if err != nil {
			return // Accept has answered the HTTP request
		}
		s.attach(wsEndpoint{conn}, nx.Dict{"type": "websocket", "protocol": conn.Serializer().Subprotocol()})
	})
}

// Serve accepts connections on l and serves [Server.Handler] on them until Close. Like
// net/http it always returns an error, http.ErrServerClosed after Close.
func (s *Server) Serve(l net.Listener) error {
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: s.cfg.Logger}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return http.ErrServerClosed
	}
	s.https = append(s.https, hs)
	s.mu.Unlock()
	return hs.Serve(l)
}

// Close stops accepting connections, ends every session (established ones get
// GOODBYE wamp.close.system_shutdown from nexus) and waits until every connection is
// closed. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.conns.Wait()
		return nil
	}
	s.closed = true
	https := s.https
	var pending []*peer
	for p := range s.peers {
		if !p.attached.Load() {
			pending = append(pending, p)
		}
	}
	s.mu.Unlock()

	var errs []error
	for _, hs := range https {
		if err := hs.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	// Connections still in HELLO/authentication are closed first: nexus must not be
	// given a new client once it is closing (its router panics on that).
	for _, p := range pending {
		p.Close()
	}
	s.attaching.Wait()
	s.nexus.Close()
	s.mu.Lock()
	for p := range s.peers {
		p.Close()
	}
	s.mu.Unlock()
	s.conns.Wait()
	return errors.Join(errs...)
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// attach runs one client connection: a peer bridging ep to nexus.
func (s *Server) attach(ep endpoint, transport nx.Dict) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ep.Close(closeGoingAway, "router shutting down")
		return
	}
	p := newPeer(s, ep, s.connSeq.Add(1))
	s.peers[p] = struct{}{}
	s.attaching.Add(1)
	s.conns.Add(1)
	s.mu.Unlock()
	s.stats.connections.Add(1)
	s.stats.open.Add(1)

	p.start()
	go func() {
		defer s.conns.Done()
		err := s.nexus.AttachClient(p, transport)
		if err == nil {
			p.attached.Store(true)
		} else {
			s.cfg.Logger.Printf("conn %d: session refused: %v", p.conn, err)
		}
		s.attaching.Done()
		p.done.Wait()
		s.forget(p)
		s.mu.Lock()
		delete(s.peers, p)
		s.mu.Unlock()
		s.stats.open.Add(-1)
	}()
}

// register records an established session, for the drop accounting.
func (s *Server) register(p *peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[p.sess.Load()] = p
}

// forget removes a session that is closing: what nexus fails to queue for it from now
// on is not a slow receiver's drop. Drops not yet reported in the log are reported now.
func (s *Server) forget(p *peer) {
	id := p.sess.Load()
	if id == 0 {
		return
	}
	s.mu.Lock()
	if s.sessions[id] == p {
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	p.closeDrops()
}

// dropWarnInterval is the default rate limit of the drop warnings in the log: at most one
// line per session per interval (see peer.noteDrop).
const dropWarnInterval = time.Second

// dropped accounts for a message nexus could not hand to session sess (0 if nexus did not
// say which). While a session lives that cannot happen (peer.Send waits for room), so this
// is what nexus still sends to a session whose connection is over, which is not counted,
// and a safety net should nexus ever send in another way: Stats.Dropped, a trace line and
// a warning, as for the outbound queue's own drops (outqueue.go).
func (s *Server) dropped(msgType string, sess uint64) {
	if sess == 0 {
		s.stats.dropped.Add(1)
		s.tracer.line(fmt.Sprintf("drop conn=? session=? %s callee's outbound queue full (%d messages); caller got "+wamp.ErrURINetworkFailure,
			msgType, handoffSize))
		s.cfg.Logger.Printf("warning: an INVOCATION was refused because the callee's outbound queue is full (%d messages)", handoffSize)
		return
	}
	s.mu.Lock()
	p := s.sessions[sess]
	s.mu.Unlock()
	if p != nil {
		p.noteDrop(msgType, nil, fmt.Sprintf("outbound queue full (%d messages)", handoffSize))
	}
}

func (s *Server) trace(dir string, p *peer, m wamp.Message) {
	if s.tracer.w == nil {
		return
	}
	s.tracer.line(traceLine(dir, p.conn, p.sess.Load(), p.ser, m))
}
