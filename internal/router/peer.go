package router

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	nx "github.com/gammazero/nexus/v3/wamp"
	"github.com/gorilla/websocket"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// endpoint is one client connection as the peer uses it: internal/wamp's WebSocket
// connection in production, an in-memory pipe in unit tests.
type endpoint interface {
	Send(wamp.Message) error
	Recv() (wamp.Message, error)
	SerializerName() string
	// Close closes the connection with a WebSocket close code (RFC 6455 §7.4.1) and
	// unblocks Send and Recv. It may be called more than once and concurrently with
	// Send and Recv.
	Close(code int, reason string)
}

// WebSocket close codes used (RFC 6455 §7.4.1).
const (
	closeNormal    = 1000
	closeGoingAway = 1001
	closeProtocol  = 1002
)

// defaultCloseGrace is how long a closing peer keeps writing what is queued (a GOODBYE or
// ABORT in particular) before its connection is closed regardless.
const defaultCloseGrace = 2 * time.Second

// peer is one client connection attached to nexus: it implements nexus's wamp.Peer.
//
// A reader goroutine decodes the client's messages, passes them through the adapter and
// hands them to nexus on rx. A writer goroutine takes nexus's messages from tx (the
// session's outbound queue, Config.OutQueueSize long), passes them through the adapter
// and writes them. Nexus ends the session by calling Close, which lets the writer flush
// the queue (nexus queues its GOODBYE/ABORT just before) and close the connection; a
// connection that fails ends the reader, which closes rx, which is how nexus learns that
// the client is gone.
type peer struct {
	srv  *Server
	ep   endpoint
	ser  string
	conn uint64        // connection number, for the trace and the log
	sess atomic.Uint64 // session ID once WELCOME was sent
	ad   *adapter

	rx chan nx.Message // client → nexus
	tx chan nx.Message // nexus → client

	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	final     atomic.Pointer[wamp.Abort] // sent after the queue is flushed, when set
	finalCode atomic.Int32               // close code, when not closeNormal

	rxMu     sync.RWMutex
	rxStop   chan struct{} // closed just before rx is closed
	rxClosed bool

	done     sync.WaitGroup // reader and writer
	attached atomic.Bool    // nexus.AttachClient succeeded

	warnMu   sync.Mutex
	lastWarn time.Time
	unwarned uint64 // drops not yet reported in the log
}

var _ nx.Peer = (*peer)(nil)

func newPeer(s *Server, ep endpoint, conn uint64) *peer {
	p := &peer{
		srv:     s,
		ep:      ep,
		ser:     ep.SerializerName(),
		conn:    conn,
		ad:      newAdapter(),
		rx:      make(chan nx.Message),
		tx:      make(chan nx.Message, s.cfg.OutQueueSize),
		closing: make(chan struct{}),
		rxStop:  make(chan struct{}),
	}
	// Counted before the peer is visible to Close, which may wait for it at once.
	p.done.Add(2)
	return p
}

func (p *peer) start() {
	go p.readLoop()
	go p.writeLoop()
}

// Recv is nexus's side of rx (wamp.Peer).
func (p *peer) Recv() <-chan nx.Message { return p.rx }

// Send is nexus's side of tx (wamp.Peer). It is never closed, so that a late
// non-blocking send from nexus cannot panic.
func (p *peer) Send() chan<- nx.Message { return p.tx }

// IsLocal is false: every peer is a remote client and goes through authentication.
func (p *peer) IsLocal() bool { return false }

// Close starts closing the connection (wamp.Peer). It does not block: the writer
// flushes what is queued, within the close grace period, and closes the connection.
func (p *peer) Close() {
	p.closeOnce.Do(func() {
		close(p.closing)
		t := time.AfterFunc(p.srv.closeGrace, func() { p.ep.Close(closeNormal, "") })
		go func() {
			p.done.Wait()
			t.Stop()
		}()
	})
}

// abort ends the session because of what the client sent: the client gets ABORT
// (reason, message) after anything already queued, then the connection closes with code.
func (p *peer) abort(reason, message string, code int) {
	p.srv.stats.aborted.Add(1)
	p.srv.cfg.Logger.Printf("warning: conn %d (session %s): aborting: %s: %s", p.conn, traceSession(p.sess.Load()), reason, message)
	p.final.CompareAndSwap(nil, &wamp.Abort{Reason: reason, Details: wamp.Dict{"message": message}})
	p.finalCode.Store(int32(code))
	p.Close()
}

// toRouter hands m to nexus. It reports false once the session is over.
func (p *peer) toRouter(m nx.Message) bool {
	p.rxMu.RLock()
	defer p.rxMu.RUnlock()
	if p.rxClosed {
		return false
	}
	select {
	case p.rx <- m:
		return true
	case <-p.rxStop:
	case <-p.closing:
	}
	return false
}

func (p *peer) closeRx() {
	close(p.rxStop)
	p.rxMu.Lock()
	p.rxClosed = true
	close(p.rx)
	p.rxMu.Unlock()
}

func (p *peer) readLoop() {
	defer p.done.Done()
	defer p.closeRx()
	for {
		m, err := p.ep.Recv()
		if err != nil {
			var pe *wamp.ProtocolError
			if errors.As(err, &pe) {
				p.abort(errProtocolViolation, pe.Msg, closeProtocol)
			} else if errors.Is(err, websocket.ErrReadLimit) {
				// The WebSocket layer has already sent close 1009 (RFC 6455 §7.4.1).
				p.srv.stats.tooBig.Add(1)
				p.srv.cfg.Logger.Printf("warning: conn %d (session %s): closed with 1009: a message exceeded the %d-byte limit",
					p.conn, traceSession(p.sess.Load()), p.srv.cfg.MaxMessageSize)
				p.Close()
			} else {
				// The connection is gone (or the frame was too big, which the transport
				// answers with 1009 itself): nothing more can be sent.
				p.Close()
			}
			return
		}
		p.srv.stats.received.Add(1)
		p.srv.trace("rx", p, m)
		countPayload(p.srv, m)
		nm, err := p.ad.inbound(m)
		if err != nil {
			var v *violation
			if errors.As(err, &v) {
				p.abort(v.Reason, v.Message, closeProtocol)
			} else {
				p.abort(errProtocolViolation, err.Error(), closeProtocol)
			}
			return
		}
		if !p.toRouter(nm) {
			return
		}
	}
}

// countPayload updates the Sealed and PPT counters for a received message.
func countPayload(s *Server, m wamp.Message) {
	var meta wamp.Dict
	var pl wamp.Payload
	switch m := m.(type) {
	case *wamp.Publish:
		meta, pl = m.Options, m.Payload
	case *wamp.Call:
		meta, pl = m.Options, m.Payload
	case *wamp.Yield:
		meta, pl = m.Options, m.Payload
	case *wamp.Error:
		meta, pl = m.Details, m.Payload
	default:
		return
	}
	if pl.IsBare() {
		s.stats.sealed.Add(1)
	} else if sc, _ := meta[optPPTScheme].(string); sc != "" {
		s.stats.ppt.Add(1)
	}
}

func (p *peer) writeLoop() {
	defer p.done.Done()
	for {
		select {
		case m := <-p.tx:
			if !p.deliver(m) {
				p.Close()
				p.ep.Close(closeNormal, "")
				p.drain()
				return
			}
		case <-p.closing:
			p.flush()
			if a := p.final.Load(); a != nil {
				p.send(a)
			}
			code := int(p.finalCode.Load())
			if code == 0 {
				code = closeNormal
			}
			p.ep.Close(code, "")
			p.drain()
			return
		}
	}
}

// flush writes what is queued at the moment the peer is closed.
func (p *peer) flush() {
	for {
		select {
		case m := <-p.tx:
			if !p.deliver(m) {
				return
			}
		default:
			return
		}
	}
}

// drain ends the writer's duties: the session is forgotten, so that what nexus fails to
// queue for it from now on is not reported as a slow receiver's drop, and what is queued
// is discarded.
func (p *peer) drain() {
	p.srv.forget(p)
	for {
		select {
		case <-p.tx:
		default:
			return
		}
	}
}

// deliver converts one message from nexus and writes it. It reports false when the
// connection failed.
func (p *peer) deliver(m nx.Message) bool {
	out, reply, err := p.ad.outbound(m)
	if err != nil {
		p.srv.cfg.Logger.Printf("warning: conn %d: cannot deliver %v: %v", p.conn, m.MessageType(), err)
		return true
	}
	if reply != nil {
		if p.srv.tracer.w != nil {
			p.srv.tracer.line(fmt.Sprintf("refuse conn=%d session=%s %v not delivered: the client did not announce %s; replying %s",
				p.conn, traceSession(p.sess.Load()), m.MessageType(), featurePPT, summarizeNexus(reply)))
		}
		// Handed over from another goroutine: the writer must not wait for nexus, which
		// may itself be waiting to queue for this connection.
		go p.toRouter(reply)
	}
	if out == nil {
		return true
	}
	if w, ok := out.(*wamp.Welcome); ok {
		p.sess.Store(uint64(w.Session))
		p.srv.register(p)
	}
	if isCalleeBlocked(out) {
		p.srv.dropped(nx.INVOCATION.String(), 0)
	}
	return p.send(out)
}

// send writes m to the client. It reports false when the connection failed. A message
// that cannot be encoded for this client, or that exceeds the size limit once encoded
// (JSON's base64 makes binary a third larger than msgpack or CBOR do), is logged,
// counted as undeliverable and skipped; the connection stays up.
func (p *peer) send(m wamp.Message) bool {
	p.srv.trace("tx", p, m)
	err := p.ep.Send(m)
	if err == nil {
		p.srv.stats.sent.Add(1)
		return true
	}
	if connBroken(err) {
		return false
	}
	p.srv.stats.undeliverable.Add(1)
	p.srv.cfg.Logger.Printf("warning: conn %d (session %s): %v not delivered: %v",
		p.conn, traceSession(p.sess.Load()), m.MessageType(), err)
	return true
}

// connBroken tells a failed connection apart from a message internal/wamp refused to
// write (an encoding error or the size limit, both reported before anything is written).
func connBroken(err error) bool {
	var ne net.Error
	var ce *websocket.CloseError
	return errors.Is(err, wamp.ErrClosed) || errors.Is(err, websocket.ErrCloseSent) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.As(err, &ne) || errors.As(err, &ce)
}

// summarizeNexus renders a nexus message the adapter built, for the trace.
func summarizeNexus(m nx.Message) string {
	out, err := fromNexus(m)
	if err != nil {
		return err.Error()
	}
	return summarize(out)
}

// nexusCalleeBlocked is the argument nexus v3.3.0 puts in the ERROR it sends a caller
// when the callee's outbound queue is full (router/dealer.go syncCall).
const nexusCalleeBlocked = "callee blocked - cannot call procedure"

func isCalleeBlocked(m wamp.Message) bool {
	e, ok := m.(*wamp.Error)
	if !ok || e.Type != wamp.CALL || e.Error != "wamp.error.network_failure" || len(e.Args) != 1 {
		return false
	}
	s, _ := e.Args[0].(string)
	return s == nexusCalleeBlocked
}

// noteDrop counts a dropped message for the log: it reports how many drops to report now,
// and whether to, at most once per dropWarnInterval.
func (p *peer) noteDrop(now time.Time) (uint64, bool) {
	p.warnMu.Lock()
	defer p.warnMu.Unlock()
	p.unwarned++
	if !p.lastWarn.IsZero() && now.Sub(p.lastWarn) < dropWarnInterval {
		return 0, false
	}
	n := p.unwarned
	p.unwarned = 0
	p.lastWarn = now
	return n, true
}
