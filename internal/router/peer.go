package router

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
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
	// Queue encodes a message and queues it to be written by the next Flush; the errors
	// are those of encoding it (wamp.MessageTooLargeError, …) or of a connection that
	// has failed. Flush writes what is queued and returns once it is written.
	Queue(wamp.Message) error
	Flush() error
	Recv() (wamp.Message, error)
	SerializerName() string
	// Close closes the connection with a WebSocket close code (RFC 6455 §7.4.1) and
	// unblocks Send and Recv. It may be called more than once and concurrently with
	// Send and Recv.
	Close(code int, reason string)
}

// frameEndpoint is an endpoint that can encode a message once and write the encoding on
// any of its kind with the same serializer (wamp.Conn.Encode, QueueEncoded): the
// subscribers of one publication share their EVENT's encoding (framecache.go). Encode
// returns a slice of the caller's (the serializers' Marshal), which the frame cache keeps.
type frameEndpoint interface {
	Encode(wamp.Message) ([]byte, error)
	QueueEncoded([]byte) error
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
// hands them to nexus on rx. Nexus hands the client's messages to tx, a short channel. A
// writer goroutine moves them from tx into q, the session's bounded outbound queue,
// deciding there what does not fit (outqueue.go), then takes what q holds, passes it
// through the adapter and writes it in one batch. While the writer is writing, nexus
// itself moves messages from tx into q when tx is nearly full (Send), so that a slow
// client never holds nexus up. Nexus ends the session by calling Close, which lets the
// writer flush the queue (nexus queues its GOODBYE/ABORT just before) and close the
// connection; a connection that fails ends the reader, which closes rx, which is how
// nexus learns that the client is gone.
type peer struct {
	srv  *Server
	ep   endpoint
	ser  string
	enc  frameEndpoint // ep, if it can share encodings; else nil
	conn uint64        // connection number, for the trace and the log
	sess atomic.Uint64 // session ID once WELCOME was sent
	ad   *adapter

	rx chan nx.Message // client → nexus, rxSize long
	tx chan nx.Message // nexus → q, handoffSize long
	q  outQueue        // → writer

	// moveMu is held by whoever moves messages from tx into q, so that they are queued
	// in nexus's order: the writer, also while it waits for tx (writeLoop), or nexus's
	// goroutine in Send.
	moveMu sync.Mutex
	sweep  chan chan struct{} // asks the waiting writer to move what tx holds now (sweepTx)
	// While the writer writes, guard moves what tx holds every few milliseconds (see
	// guardFire), so that the queue's decisions are not held up by a slow write. It is
	// armed only when a message may wait in tx during a write (armGuard).
	guard      *time.Timer
	guardArmed atomic.Bool   // guard is pending
	writing    atomic.Uint64 // the number of the batch being written; 0 between batches
	batches    uint64        // batches written so far; writer only
	// guardMu is held by guardFire: a Send may re-arm the guard while guardFire runs, so
	// that two of them can overlap.
	guardMu    sync.Mutex
	guardLast  uint64        // the batch guardFire last saw; under guardMu
	guardDelay time.Duration // under guardMu
	// handed counts Send calls, each of which nexus follows with one send on tx; moved
	// counts the messages taken from tx. handed > moved means that a message is on its
	// way into tx or in it (handOffPending).
	handed atomic.Uint64
	moved  atomic.Uint64

	// carry counts, per subscription, events the writer dropped as too large since the
	// last one it wrote, to be added to the next one's drop mark. Writer only.
	carry map[wamp.ID]uint64
	batch []outItem // the writer's batch in hand, its buffer reused; writer only

	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	final     atomic.Pointer[wamp.Abort] // sent after the queue is flushed, when set
	finalCode atomic.Int32               // close code, when not closeNormal

	rxMu     sync.RWMutex
	rxStop   chan struct{} // closed just before rx is closed
	rxClosed bool

	done     sync.WaitGroup // reader and writer
	attached atomic.Bool    // nexus.AttachClient succeeded

	// Drop accounting for this session (see "Bounded resources" in doc.go), under dropMu.
	dropMu       sync.Mutex
	dropTotal    uint64                     // messages dropped for this session so far
	unwarned     uint64                     // of those, not yet reported in the log
	unwarnedBig  uint64                     // of those, dropped as too large (the rest: queue full)
	lastBig      *wamp.MessageTooLargeError // the last too-large drop, for the log
	lastDropType string                     // type of the last dropped message, for the log
	lastWarn     time.Time                  // when the last drop warning was logged; zero before the first
	warnTimer    *time.Timer                // pending report at the end of the current window, if any
	dropsClosed  bool                       // the session is over: no drop is counted any more

	// Refusal warnings (refuse), under dropMu: at most refuseWarnBurst lines per
	// srv.dropWarnEvery, so that a client sending refused messages in a stream cannot
	// flood the log. The rest are counted, and the next line or the session's end says
	// how many.
	refuseWindow   time.Time // start of the current window; zero before the first
	refuseLogged   int       // lines logged in the current window
	refuseUnlogged uint64    // refusals not logged since the last line
}

// refuseWarnBurst is how many refusal warnings a session may log per srv.dropWarnEvery.
const refuseWarnBurst = 5

var _ nx.Peer = (*peer)(nil)

func newPeer(s *Server, ep endpoint, conn uint64) *peer {
	p := &peer{
		srv:     s,
		ep:      ep,
		ser:     ep.SerializerName(),
		conn:    conn,
		ad:      newAdapter(),
		rx:      make(chan nx.Message, rxSize),
		tx:      make(chan nx.Message, handoffSize),
		q:       newOutQueue(),
		closing: make(chan struct{}),
		rxStop:  make(chan struct{}),

		sweep: make(chan chan struct{}),
		carry: map[wamp.ID]uint64{},
	}
	p.ad.queueSize = s.cfg.OutQueueSize
	p.enc, _ = ep.(frameEndpoint)
	p.guard = time.AfterFunc(time.Hour, p.guardFire)
	p.guard.Stop()
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

// Send is nexus's side of tx (wamp.Peer). Nexus calls it for every message, just before
// a non-blocking send on what it returns (router/broker.go and router/dealer.go trySend),
// and drops the message if the channel is full. The writer empties tx whenever it is not
// writing; while it is, tx fills, and when it is nearly full Send moves what it holds into
// the outbound queue itself, in nexus's goroutine: that takes a lock and an append per
// message, never a wait for the client, and it is what keeps nexus from ever dropping a
// message for a live session while publishers go on at their own pace. tx is never
// closed, so that a late non-blocking send from nexus cannot panic; once the connection is
// over the queue takes nothing more and what nexus hands over is discarded.
func (p *peer) Send() chan<- nx.Message {
	p.handed.Add(1)
	if p.writing.Load() != 0 {
		// The message may wait in tx while the writer writes.
		p.armGuard()
	}
	if len(p.tx) < handoffHigh {
		return p.tx
	}
	// Not Lock: the writer may empty tx and then wait for it holding moveMu, and tx's
	// next message is the one this goroutine is about to send.
	if p.tryMove(true) {
		return p.tx
	}
	// The writer holds moveMu with tx this full, so it is moving, not waiting: room is
	// coming. Only if so little is left that the few nexus goroutines that may send to
	// one session at once could fill it, wait for the room; should the writer be held up
	// while moving (its log line blocked, say), stop spinning.
	for spins := 0; len(p.tx) >= handoffFull; spins++ {
		if p.tryMove(true) {
			break
		}
		if spins < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
	return p.tx
}

// tryMove moves what tx holds into the queue unless someone else holds moveMu, and
// reports whether it did. fromNexus is as for moveLocked.
func (p *peer) tryMove(fromNexus bool) bool {
	if !p.moveMu.TryLock() {
		return false
	}
	p.moveLocked(fromNexus)
	p.moveMu.Unlock()
	return true
}

// moveLocked moves what tx holds into the outbound queue (enqueue), without waiting.
// p.moveMu is held; fromNexus says that the caller is a nexus goroutine (Send), which
// must not wait for the connection.
func (p *peer) moveLocked(fromNexus bool) {
	for {
		select {
		case m := <-p.tx:
			p.moved.Add(1)
			p.enqueue(m, fromNexus)
		default:
			return
		}
	}
}

// Delays of guardFire: the first at most guardFirst after a write began, then doubling up
// to guardMax while the same write goes on.
const (
	guardFirst = time.Millisecond
	guardMax   = 16 * time.Millisecond
)

// armGuard makes sure guardFire is pending while the writer writes and a message may be
// waiting in tx: Send calls it when nexus hands over a message during a write, and the
// writer at the start of a batch when a message is on its way into tx or already in it
// (handOffPending), which covers a Send that found no write in progress.
// Only then: a timer per batch would fire about every guardFirst on a connection that is
// never slow (one call at a time, say), each time waking a sleeping thread of the
// runtime, which costs more than the write of a small batch. It resets the timer only if
// none is pending, for the same reason: a pending guardFire either finds this batch being
// written or has already cleared guardArmed, and this call re-arms.
func (p *peer) armGuard() {
	if !p.guardArmed.Load() && p.guardArmed.CompareAndSwap(false, true) {
		p.guard.Reset(guardFirst)
	}
}

// handOffPending reports whether a message nexus announced with Send has not reached the
// queue yet, and so will wait in tx during the batch the writer has just begun: one
// still on its way into tx (its Send found no write in progress, so only the writer,
// which has just set writing, can see it), or one that reached tx after the writer last
// emptied it (waitWork) and before the batch began. moved is read before handed, which
// counts every message moved before, so that a message is never counted as moved and
// not handed; one moved between the reads only arms the guard for nothing. Should nexus
// ever call Send without sending (it does not in v3.3.0), handed stays ahead and the
// guard is armed for every batch, as it was before handed existed.
func (p *peer) handOffPending() bool {
	moved := p.moved.Load()
	return p.handed.Load() > moved
}

// guardFire runs while the writer is writing, at growing intervals: it moves what tx holds
// into the queue. Messages reach the queue when the writer is back, or when Send finds tx
// nearly full; without this, the last of them would wait in tx for a write to a client
// that reads nothing (for up to the 30-second write timeout), and with it the queue's
// decisions for that client (an INVOCATION failed at the limit, a drop counted and
// marked) would wait too.
func (p *peer) guardFire() {
	p.guardMu.Lock()
	defer p.guardMu.Unlock()
	p.guardArmed.Store(false)
	batch := p.writing.Load()
	if batch == 0 {
		return // the writer is back: it moves tx itself
	}
	p.tryMove(true)
	if batch == p.guardLast {
		p.guardDelay = min(2*p.guardDelay, guardMax)
	} else {
		p.guardLast, p.guardDelay = batch, 2*guardFirst
	}
	if p.guardArmed.CompareAndSwap(false, true) {
		p.guard.Reset(p.guardDelay)
	}
}

// sweepTx moves what nexus has handed to tx so far into the queue: a barrier for tests,
// which cannot otherwise know that nexus's messages have reached the queue.
func (p *peer) sweepTx() {
	done := make(chan struct{})
	for {
		if p.tryMove(false) {
			return
		}
		// The writer holds moveMu while it waits for tx: ask it.
		select {
		case p.sweep <- done:
			<-done
			return
		case <-time.After(time.Millisecond):
		}
	}
}

// IsLocal is true, so that nexus gives every subscriber its own EVENT. Nexus builds one
// Details dict per publication and, for each pattern subscriber in turn, writes
// Details.topic (and Details.publisher on disclosure) into it before handing the EVENT
// over (router/broker.go prepareEvent): with a shared dict those writes race with the
// earlier subscribers' goroutines reading it (the queue's size estimate, the writer's
// conversion), which the runtime may even abort on. For a local peer nexus copies
// Details, Arguments and ArgumentsKw per EVENT after those writes, "since local clients
// could modify contents". The only other effects of a local peer in nexus v3.3.0 are
// that it skips authentication and authorization, unless RealmConfig.RequireLocalAuth
// and RequireLocalAuthz are set (realm.go authClient, authzMessage), which New sets:
// every peer is still a remote client that goes through authentication.
func (p *peer) IsLocal() bool { return true }

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
	p.final.CompareAndSwap(nil, &wamp.Abort{Reason: reason, Details: wamp.Dict{wamp.OptMessage: message}})
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
	// Usually rx has room: a plain send then, cheaper than the three-way select below.
	select {
	case p.rx <- m:
		return true
	default:
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
				p.abort(wamp.ErrURIProtocol, pe.Msg, closeProtocol)
			} else if errors.Is(err, websocket.ErrReadLimit) {
				// The WebSocket layer has already sent close 1009 (RFC 6455 §7.4.1).
				p.srv.stats.tooBig.Add(1)
				p.srv.cfg.Logger.Printf("warning: conn %d (session %s): closed with 1009: a message exceeded the %d-byte limit",
					p.conn, traceSession(p.sess.Load()), p.srv.cfg.MaxMessageSize)
				p.Close()
			} else {
				// The connection is gone: nothing more can be sent.
				p.Close()
			}
			return
		}
		p.srv.stats.received.Add(1)
		p.srv.trace("rx", p, m)
		countPayload(p.srv, m)
		if pe := refusedPayload(m); pe != nil && p.sess.Load() != 0 {
			if !p.refuse(m, pe) {
				return
			}
			continue
		}
		nm, err := p.ad.inbound(m)
		if err != nil {
			var v *violation
			if errors.As(err, &v) {
				p.abort(v.Reason, v.Message, closeProtocol)
			} else {
				p.abort(wamp.ErrURIProtocol, err.Error(), closeProtocol)
			}
			return
		}
		if !p.toRouter(nm) {
			return
		}
		switch m.(type) {
		case *wamp.Call, *wamp.Yield, *wamp.Error:
			// A call's message goes on through nexus to the callee's or the caller's
			// writer before this loop reads again. The next read is most often a system
			// call that finds nothing (EAGAIN) and parks the goroutine; with one P (cbx
			// router's default on two cores) it would otherwise run first, and the
			// round trip would wait for it. Not for a PUBLISH: publishers stream them,
			// and reading on lets the subscribers' writers batch them.
			runtime.Gosched()
		}
	}
}

// refusedPayload returns why the payload of a PUBLISH, CALL, YIELD or ERROR from a client
// was refused on receipt (internal/wamp "Refused payloads"), or nil. Other messages with a
// refused payload (EVENT, INVOCATION, RESULT) are not the client's to send and are left to
// the adapter, which aborts the session.
func refusedPayload(m wamp.Message) *wamp.PayloadError {
	var err error
	switch m := m.(type) {
	case *wamp.Publish:
		err = m.Payload.Err
	case *wamp.Call:
		err = m.Payload.Err
	case *wamp.Yield:
		err = m.Payload.Err
	case *wamp.Error:
		err = m.Payload.Err
	}
	if err == nil {
		return nil
	}
	var pe *wamp.PayloadError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// refuse deals with a message whose payload holds a value the router cannot carry exactly
// (doc.go, "Refused payloads"): it is not routed, and whoever waits for it gets ERROR
// wamp.error.invalid_argument, the spec's error for a router's payload validation
// (basic/bp_uris.md), with a reason that quotes nothing of the value:
//
//   - PUBLISH: the publisher, when it asked for an acknowledgement; otherwise nobody
//     waits, and the refusal is only counted, logged and traced.
//   - CALL: the caller; the callee never hears of it.
//   - YIELD, or ERROR for an INVOCATION: nexus is handed that ERROR in its place, as if
//     the callee had sent it, so the caller gets it and the call is over. The callee is
//     not told (WAMP has no reply to a reply); what it sends later for the call is
//     dropped by nexus.
//
// Every case is counted in Stats.Refused, logged and traced as a "refuse" line. It
// reports false when the connection failed.
func (p *peer) refuse(m wamp.Message, pe *wamp.PayloadError) bool {
	p.srv.stats.refused.Add(1)
	const uri = wamp.ErrURIInvalidArgument
	reason := pe.Reason()
	var what, action string
	var reply wamp.Message // for the client
	var instead nx.Message // for nexus, in place of m
	switch m := m.(type) {
	case *wamp.Publish:
		what = fmt.Sprintf("PUBLISH to %q", m.Topic)
		if ack, _ := m.Options[wamp.OptAcknowledge].(bool); ack {
			reply = &wamp.Error{Type: wamp.PUBLISH, Request: m.Request, Details: wamp.Dict{}, Error: uri,
				Payload: wamp.Payload{Args: wamp.List{"the router did not publish this event: " + reason}}}
			action = "the publisher was sent ERROR " + uri
		} else {
			action = "not published; the publisher asked for no acknowledgement and was not told"
		}
	case *wamp.Call:
		what = fmt.Sprintf("CALL of %q", m.Procedure)
		reply = &wamp.Error{Type: wamp.CALL, Request: m.Request, Details: wamp.Dict{}, Error: uri,
			Payload: wamp.Payload{Args: wamp.List{"the router did not route this call: " + reason}}}
		action = "the caller was sent ERROR " + uri
	case *wamp.Yield:
		what = fmt.Sprintf("YIELD for invocation %d", m.Request)
		instead = &nx.Error{Type: nx.INVOCATION, Request: nx.ID(m.Request), Details: nx.Dict{}, Error: uri,
			Arguments: nx.List{"the callee's result could not be delivered: " + reason}}
		action = "the caller gets ERROR " + uri + " in its place"
	case *wamp.Error:
		what = fmt.Sprintf("ERROR %s for invocation %d", m.Error, m.Request)
		instead = &nx.Error{Type: nx.MessageType(m.Type), Request: nx.ID(m.Request), Details: nx.Dict{}, Error: uri,
			Arguments: nx.List{fmt.Sprintf("the callee's error %s could not be delivered: %s", m.Error, reason)}}
		action = "the caller gets ERROR " + uri + " in its place"
	}
	if ok, unlogged := p.refuseWarnAllowed(time.Now()); ok {
		var more string
		if unlogged > 0 {
			more = fmt.Sprintf(" (%d more refusal(s) not logged before this one)", unlogged)
		}
		p.srv.cfg.Logger.Printf("warning: conn %d (session %s): %s refused: %v; %s%s",
			p.conn, traceSession(p.sess.Load()), what, pe, action, more)
	}
	if p.srv.tracer.w != nil {
		p.srv.tracer.line(fmt.Sprintf("refuse conn=%d session=%s %s not routed: %s; %s",
			p.conn, traceSession(p.sess.Load()), what, reason, action))
	}
	if reply != nil && !p.send(reply) {
		return false
	}
	if instead != nil {
		return p.toRouter(instead)
	}
	return true
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
	} else if sc, _ := meta[wamp.OptPPTScheme].(string); sc != "" {
		s.stats.ppt.Add(1)
	}
}

// writeLoop is the writer: it moves what nexus hands to tx into the queue, and writes what
// the queue holds, a batch at a time (popBatch), with one system call per batch
// (wamp.Conn.Flush).
func (p *peer) writeLoop() {
	defer p.done.Done()
	for {
		if !p.waitWork() {
			p.finish()
			return
		}
		p.batch = p.q.popBatch(p.batch[:0], writeBatchBytes)
		ok := p.deliverBatch(p.batch)
		clear(p.batch) // pins nothing until the next batch
		if !ok {
			p.Close()
			p.ep.Close(closeNormal, "")
			p.drain()
			return
		}
	}
}

// waitWork moves what tx holds into the queue and, if that leaves the queue empty, waits
// for nexus's next message. It holds moveMu meanwhile, so that nexus's Send, which moves
// messages only when tx is nearly full, cannot take one past the message the writer is
// receiving; the wait ends as soon as tx holds anything. It reports false once the peer
// is closed.
func (p *peer) waitWork() bool {
	p.moveMu.Lock()
	defer p.moveMu.Unlock()
	for {
		select {
		case <-p.closing:
			return false
		default:
		}
		p.moveLocked(false)
		if p.q.len() > 0 {
			return true
		}
		select {
		case m := <-p.tx:
			p.moved.Add(1)
			p.enqueue(m, false)
		case done := <-p.sweep:
			p.moveLocked(false)
			close(done)
		case <-p.closing:
			return false
		}
	}
}

// finish ends a closed peer's connection: it writes what is queued, then the final ABORT
// if there is one, and closes the connection.
func (p *peer) finish() {
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
}

// flush writes what is queued at the moment the peer is closed, including what nexus
// handed to tx just before (its GOODBYE or ABORT). Only that much is written: the close
// grace period bounds it anyway.
func (p *peer) flush() {
	p.moveMu.Lock()
	p.moveLocked(false)
	p.moveMu.Unlock()
	for n := p.q.len(); n > 0; {
		batch := p.q.popBatch(nil, writeBatchBytes)
		if len(batch) == 0 || !p.deliverBatch(batch) {
			return
		}
		n -= len(batch)
	}
}

// drain ends the writer's duties: the session is forgotten, so that what nexus fails to
// queue for it from now on is not reported as a slow receiver's drop, and what is queued
// is discarded, as is everything nexus hands over from now on (the queue is closed).
func (p *peer) drain() {
	p.srv.forget(p)
	p.q.clear()
}

// writeBatchBytes bounds the estimated size of what the writer takes from the queue at a
// time (it takes at least one message): enough to write a burst of small messages in a
// few system calls, small enough that a batch in hand, which the queue's limits no longer
// count, stays small beside them.
const writeBatchBytes = 64 << 10

// deliverBatch converts a batch of queued messages, queues them on the connection and
// writes them in one system call. It reports false when the connection failed.
func (p *peer) deliverBatch(batch []outItem) bool {
	p.batches++
	p.writing.Store(p.batches)
	if p.handOffPending() {
		p.armGuard()
	}
	defer func() {
		p.writing.Store(0)
		p.q.release()
	}()
	queued := 0
	for i := range batch {
		n, ok := p.deliver(batch[i])
		if !ok {
			return false
		}
		queued += n
	}
	if queued == 0 {
		return true
	}
	if err := p.ep.Flush(); err != nil {
		return false
	}
	p.srv.stats.sent.Add(uint64(queued))
	return true
}

// deliver converts one queued message and queues it on the connection. It returns the
// number of messages queued (0 or 1) and reports false when the connection failed.
func (p *peer) deliver(it outItem) (int, bool) {
	if it.direct != nil {
		return p.queue(it.direct)
	}
	if ev, ok := it.nm.(*nx.Event); ok && p.enc != nil && p.srv.tracer.w == nil && it.mark == 0 && p.carry[wamp.ID(ev.Subscription)] == 0 {
		return p.deliverEvent(ev)
	}
	m := it.nm
	out, reply, err := p.ad.outbound(m)
	if err != nil {
		p.srv.cfg.Logger.Printf("warning: conn %d: cannot deliver %v: %v", p.conn, m.MessageType(), err)
		return 0, true
	}
	if reply != nil {
		if p.srv.tracer.w != nil {
			p.srv.tracer.line(fmt.Sprintf("refuse conn=%d session=%s %v not delivered: the client did not announce %s; replying %s",
				p.conn, traceSession(p.sess.Load()), m.MessageType(), wamp.FeaturePayloadPassthruMode, summarizeNexus(reply)))
		}
		// Handed over from another goroutine: the writer must not wait for nexus, which
		// may itself be waiting to queue for this connection.
		go p.toRouter(reply)
	}
	if out == nil {
		return 0, true
	}
	if w, ok := out.(*wamp.Welcome); ok {
		p.sess.Store(uint64(w.Session))
		p.srv.register(p)
	}
	if isCalleeBlocked(out) {
		p.srv.dropped(nx.INVOCATION.String(), 0)
	}
	if ev, ok := out.(*wamp.Event); ok {
		// The drop mark: events dropped for this subscription since the last one
		// written, whether the queue had no room for them (it.mark) or they were too
		// large (carry).
		if n := it.mark + p.carry[ev.Subscription]; n > 0 {
			delete(p.carry, ev.Subscription)
			ev.Details = withDropMark(ev.Details, n)
		}
	}
	return p.queue(out)
}

// deliverEvent is deliver for an EVENT whose encoding other subscribers may share
// (framecache.go): one without a drop mark, on a connection that can share, and without
// a trace (whose "tx" line shows each message as converted for its client).
func (p *peer) deliverEvent(ev *nx.Event) (int, bool) {
	if b := p.srv.frames.get(p.ser, ev); b != nil {
		err := p.enc.QueueEncoded(b)
		if err == nil {
			return 1, true
		}
		if connBroken(err) {
			return 0, false
		}
		// Not taken (it cannot be: every connection has the same limit); encoded afresh
		// below, whatever is wrong is found and accounted for.
	}
	out, _, err := p.ad.outbound(ev) // an EVENT has no reply
	if err != nil {
		p.srv.cfg.Logger.Printf("warning: conn %d: cannot deliver %v: %v", p.conn, ev.MessageType(), err)
		return 0, true
	}
	b, err := p.enc.Encode(out)
	if err != nil {
		return p.queueFailed(out, err)
	}
	p.srv.frames.put(p.ser, ev, b)
	if err := p.enc.QueueEncoded(b); err != nil {
		return p.queueFailed(out, err)
	}
	return 1, true
}

// send writes m to the client at once, outside the writer's batches (the reader's
// refusals, the final ABORT). It reports false when the connection failed.
func (p *peer) send(m wamp.Message) bool {
	n, ok := p.queue(m)
	if !ok {
		return false
	}
	if n == 0 {
		return true
	}
	if err := p.ep.Flush(); err != nil {
		return false
	}
	p.srv.stats.sent.Add(1)
	return true
}

// queue queues m on the connection, to be written by the next Flush. It returns the number
// of messages queued (0 or 1) and reports false when the connection failed. A message that
// exceeds the size limit once encoded for this client is handled by tooLarge; one that
// cannot be encoded for it at all is logged, counted as undeliverable and skipped. Either
// way the connection stays up.
func (p *peer) queue(m wamp.Message) (int, bool) {
	p.srv.trace("tx", p, m)
	err := p.ep.Queue(m)
	if err == nil {
		return 1, true
	}
	return p.queueFailed(m, err)
}

// queueFailed is queue's answer to a message the connection did not take.
func (p *peer) queueFailed(m wamp.Message, err error) (int, bool) {
	if connBroken(err) {
		return 0, false
	}
	var tl *wamp.MessageTooLargeError
	if errors.As(err, &tl) {
		return p.tooLarge(m, tl)
	}
	p.srv.stats.undeliverable.Add(1)
	p.srv.cfg.Logger.Printf("warning: conn %d (session %s): %v not delivered: %v",
		p.conn, traceSession(p.sess.Load()), m.MessageType(), err)
	return 0, true
}

// tooLarge deals with a message that fits the limit as its sender encoded it (the router
// read it) but not as encoded for this client: JSON's base64 makes binary a third larger
// than msgpack or CBOR do, and an INVOCATION or EVENT carries more than the CALL or
// PUBLISH it came from. Nothing of it was written. Nexus has already routed it, and a
// caller must not wait for ever for a reply that cannot come, so:
//
//   - INVOCATION: the call fails; the callee is made to answer ERROR
//     wamp.error.payload_size_exceeded (the spec's error for a message that "could not
//     be delivered due to transport payload size limits", basic/uri_reference.md), which
//     nexus passes on to the caller. The callee never learns of the call.
//   - RESULT, or ERROR for a CALL: this client, the caller, gets ERROR
//     payload_size_exceeded in its place. After a progressive RESULT the rest of the call
//     is cancelled (CANCEL killnowait on the caller's behalf, so the callee gets
//     INTERRUPT) and nothing more of it is delivered.
//   - EVENT: it is dropped for this subscriber and accounted for as a drop (Stats.Dropped,
//     a trace line with the running total, the rate-limited warning; see noteDrop), as
//     Crossbar.io does not fail a publication for one subscriber either.
//
// Every case is counted in Stats.TooLarge; the call cases are logged each and traced as a
// "toolarge" line. Anything else over the limit (the router's own small messages cannot
// be) is logged and counted as undeliverable.
func (p *peer) tooLarge(m wamp.Message, tl *wamp.MessageTooLargeError) (int, bool) {
	p.srv.stats.tooLarge.Add(1)
	sizeText := fmt.Sprintf("%d bytes as %s, more than the router's %d-byte message limit", tl.Size, tl.Serializer, tl.Limit)
	report := func(action string) {
		p.srv.cfg.Logger.Printf("warning: conn %d (session %s): %v of %d bytes (%s) exceeds the %d-byte message limit: not delivered; %s",
			p.conn, traceSession(p.sess.Load()), tl.Type, tl.Size, tl.Serializer, tl.Limit, action)
		if p.srv.tracer.w != nil {
			p.srv.tracer.line(fmt.Sprintf("toolarge conn=%d session=%s %v of %d bytes (%s) exceeds the %d-byte message limit: not delivered; %s",
				p.conn, traceSession(p.sess.Load()), tl.Type, tl.Size, tl.Serializer, tl.Limit, action))
		}
	}
	sizeError := func(req wamp.ID, text string) *wamp.Error {
		return &wamp.Error{Type: wamp.CALL, Request: req, Details: wamp.Dict{}, Error: wamp.ErrURIPayloadSizeExceeded,
			Payload: wamp.Payload{Args: wamp.List{text}}}
	}
	switch m := m.(type) {
	case *wamp.Event:
		// This event's own drop mark, and the event itself, pass to the next one.
		mark, _ := m.Details[wamp.OptCBXDropped].(int64)
		p.carry[m.Subscription] += uint64(mark) + 1
		p.noteDrop(m.MessageType().String(), tl, "")
		return 0, true
	case *wamp.Invocation:
		report("the caller gets ERROR " + wamp.ErrURIPayloadSizeExceeded)
		// Handed over from another goroutine, as in deliver.
		go p.toRouter(&nx.Error{Type: nx.INVOCATION, Request: nx.ID(m.Request), Details: nx.Dict{}, Error: wamp.ErrURIPayloadSizeExceeded,
			Arguments: nx.List{"the call was not delivered: its INVOCATION for the callee is " + sizeText}})
		return 0, true
	case *wamp.Result:
		if progress, _ := m.Details[wamp.OptProgress].(bool); progress {
			report("the caller gets ERROR " + wamp.ErrURIPayloadSizeExceeded + " and the call is cancelled")
			p.ad.failCall(m.Request)
			go p.toRouter(&nx.Cancel{Request: nx.ID(m.Request), Options: nx.Dict{wamp.OptMode: wamp.CancelKillNoWait}})
			return p.queue(sizeError(m.Request, "a progressive RESULT of the call for this caller is "+sizeText+"; the call was cancelled"))
		}
		report("the caller gets ERROR " + wamp.ErrURIPayloadSizeExceeded)
		return p.queue(sizeError(m.Request, "the call's RESULT for this caller is "+sizeText))
	case *wamp.Error:
		if m.Type == wamp.CALL {
			report("the caller gets ERROR " + wamp.ErrURIPayloadSizeExceeded)
			return p.queue(sizeError(m.Request, fmt.Sprintf("the call's ERROR %s for this caller is %s", m.Error, sizeText)))
		}
	}
	p.srv.stats.undeliverable.Add(1)
	report("skipped")
	return 0, true
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
	if !ok || e.Type != wamp.CALL || e.Error != wamp.ErrURINetworkFailure || len(e.Args) != 1 {
		return false
	}
	s, _ := e.Args[0].(string)
	return s == nexusCalleeBlocked
}

// noteDrop accounts for one message this session lost: one its outbound queue had no
// room for (big == nil; queueReason names the limit, see outQueue), or an EVENT too large
// for it once encoded (big, see tooLarge). It counts Stats.Dropped, writes a trace line with the
// session's running total, and logs the rate-limited warning. The warning policy (doc.go, "Bounded resources") is that
// every drop ends up in exactly one warning line: the first drop of a burst is reported at
// once and opens a window of srv.dropWarnEvery; drops inside the window are only counted,
// and reported together when the window ends (warnTimer) or when the session ends
// (closeDrops), whichever is first. A drop that arrives after closeDrops is not counted
// at all, like one for a session that is already forgotten, so that Stats.Dropped and the
// log agree.
//
// Everything happens under dropMu, the trace line and the log line included, so that the
// trace's running totals and the log's lines for one session come out in order.
func (p *peer) noteDrop(msgType string, big *wamp.MessageTooLargeError, queueReason string) {
	p.dropMu.Lock()
	defer p.dropMu.Unlock()
	if p.dropsClosed {
		return
	}
	p.srv.stats.dropped.Add(1)
	p.dropTotal++
	p.unwarned++
	p.lastDropType = msgType
	if big != nil {
		p.unwarnedBig++
		p.lastBig = big
		p.srv.tracer.line(fmt.Sprintf("drop conn=%d session=%d %s too large: %d bytes as %s exceed the %d-byte message limit dropped_total=%d",
			p.conn, p.sess.Load(), msgType, big.Size, big.Serializer, big.Limit, p.dropTotal))
	} else {
		p.srv.tracer.line(fmt.Sprintf("drop conn=%d session=%d %s %s dropped_total=%d",
			p.conn, p.sess.Load(), msgType, queueReason, p.dropTotal))
	}
	now := time.Now()
	if p.lastWarn.IsZero() || now.Sub(p.lastWarn) >= p.srv.dropWarnEvery {
		p.warnDropsLocked(now, false)
		return
	}
	// Inside the window: report when it ends, even if no further drop comes.
	if p.warnTimer == nil {
		p.warnTimer = time.AfterFunc(p.lastWarn.Add(p.srv.dropWarnEvery).Sub(now), p.dropWindowEnded)
	}
}

// dropWindowEnded runs on warnTimer: it reports the drops counted since the last
// warning. There is at most one warnTimer at a time (it is armed only while nil and set
// back to nil here or in closeDrops), so a report may be due although a drop logged in
// the meantime started a new window; then the timer is armed again for that window's end.
func (p *peer) dropWindowEnded() {
	p.dropMu.Lock()
	defer p.dropMu.Unlock()
	p.warnTimer = nil
	if p.dropsClosed || p.unwarned == 0 {
		return
	}
	now := time.Now()
	if wait := p.lastWarn.Add(p.srv.dropWarnEvery).Sub(now); wait > 0 {
		p.warnTimer = time.AfterFunc(wait, p.dropWindowEnded)
		return
	}
	p.warnDropsLocked(now, false)
}

// refuseWarnAllowed reports whether a refusal at now may be logged, and how many were
// not logged before it; a refusal that may not is counted instead.
func (p *peer) refuseWarnAllowed(now time.Time) (bool, uint64) {
	p.dropMu.Lock()
	defer p.dropMu.Unlock()
	if p.refuseWindow.IsZero() || now.Sub(p.refuseWindow) >= p.srv.dropWarnEvery {
		p.refuseWindow, p.refuseLogged = now, 0
	}
	if p.refuseLogged >= refuseWarnBurst {
		p.refuseUnlogged++
		return false, 0
	}
	p.refuseLogged++
	n := p.refuseUnlogged
	p.refuseUnlogged = 0
	return true, n
}

// closeDrops ends the drop accounting when the session ends: drops not yet reported are
// logged now instead of at the end of the window, and later ones are not counted; so are
// refusals that were not logged. It may be called more than once.
func (p *peer) closeDrops() {
	p.dropMu.Lock()
	defer p.dropMu.Unlock()
	if p.dropsClosed {
		return
	}
	p.dropsClosed = true
	if p.refuseUnlogged > 0 {
		p.srv.cfg.Logger.Printf("warning: conn %d (session %s) closed: %d more refusal(s) not logged (at most %d per session per %v)",
			p.conn, traceSession(p.sess.Load()), p.refuseUnlogged, refuseWarnBurst, p.srv.dropWarnEvery)
		p.refuseUnlogged = 0
	}
	if p.warnTimer != nil {
		p.warnTimer.Stop()
		p.warnTimer = nil
	}
	if p.unwarned > 0 {
		p.warnDropsLocked(time.Now(), true)
	}
}

// warnDropsLocked logs the drops not yet reported and starts a new window. Every form of
// the line says "N message(s) dropped" with N the drops since the previous line, so that a
// session's lines add up to its drops; "in total" is the running total at that moment.
// The reason says how many were lost to a full queue and how many were too large.
func (p *peer) warnDropsLocked(now time.Time, closing bool) {
	cfg := p.srv.cfg
	full, big := p.unwarned-p.unwarnedBig, p.unwarnedBig
	queueText := fmt.Sprintf("outbound queue full (limits: %d messages, %d bytes)", cfg.OutQueueSize, cfg.OutQueueBytes)
	var bigText string
	if big > 0 {
		bigText = fmt.Sprintf("too large for this client: over the %d-byte message limit once encoded as %s (the last one %d bytes)",
			p.lastBig.Limit, p.lastBig.Serializer, p.lastBig.Size)
	}
	var reason string
	switch {
	case big == 0:
		reason = queueText
	case full == 0:
		reason = bigText
	default:
		reason = fmt.Sprintf("%d with the %s, %d %s", full, queueText, big, bigText)
	}
	who := "is not reading fast enough"
	if full == 0 {
		who = "was sent messages too large for it"
	}
	if closing {
		cfg.Logger.Printf("warning: conn %d (session %d) closed: %d message(s) dropped since the last warning, %s; last dropped: %s; %d dropped in total",
			p.conn, p.sess.Load(), p.unwarned, reason, p.lastDropType, p.dropTotal)
	} else {
		cfg.Logger.Printf("warning: conn %d (session %d) %s: %d message(s) dropped, %s; last dropped: %s; %d dropped in total",
			p.conn, p.sess.Load(), who, p.unwarned, reason, p.lastDropType, p.dropTotal)
	}
	p.unwarned, p.unwarnedBig = 0, 0
	p.lastWarn = now
}

// rxSize is the capacity of rx: the reader decodes up to that many of a client's messages
// ahead of nexus's session handler instead of waiting for it at each one, so that a burst
// is read while nexus routes. That many (each at most Config.MaxMessageSize) is what a
// client's input can pin beyond the message being read, while nexus lags.
const rxSize = 16
