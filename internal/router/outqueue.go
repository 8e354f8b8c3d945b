package router

import (
	"fmt"
	"sync"

	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// This file holds a session's outbound queue: what nexus routes to one client, waiting to
// be written to its connection (doc.go, "Bounded resources").
//
// Nexus hands messages to a session with a non-blocking send on the channel its Peer
// returns, and drops the message when that channel is full (router/broker.go and
// router/dealer.go trySend). A channel is a fixed-size buffer, so bounding it by bytes is
// impossible, and sizing it for bursts (65,536 slots) would pin that many slots per
// session for ever. So the peer keeps nexus's channel short (handoffSize) and moves each
// message off it into outQueue, a ring buffer bounded by messages and by an estimate of
// the bytes it holds, which grows and shrinks with its content: the writer does so
// whenever it is not writing, and nexus's own goroutine when the channel is nearly full
// (peer.Send), so nexus never meets a full channel while the session lives. Moving only
// takes a lock and appends. All the decisions at the limit are taken here, under the
// peer's moveMu, in the order nexus sent: that is what lets the drop mark land on the
// next event delivered.

const (
	// handoffSize is the capacity of nexus's channel to a peer. The writer empties it
	// between writes, and Send when it is nearly full, so it only has to absorb one
	// batch's write or the scheduling delay of one goroutine.
	handoffSize = 64
	// handoffHigh is the fill level at which Send moves what the channel holds into the
	// queue before handing nexus the channel: the slots above it are for the few nexus
	// goroutines that may send to one session at the same moment (broker, dealer, the
	// session's own handler, the realm), so that none of their non-blocking sends can
	// fail.
	handoffHigh = handoffSize - 16
	// handoffFull is the fill level up to which Send hands nexus the channel while the
	// writer is moving messages off it: the slots above it are those few goroutines'.
	handoffFull = handoffSize - 8

	// queueReserveMessages and queueReserveBytes are the room above the limits for the
	// messages that are never dropped (see outQueue). A client only needs it while its
	// queue is full of events and it still sends requests.
	queueReserveMessages = 1024
	queueReserveBytes    = 1 << 20

	// closePolicy is the WebSocket close code for a client whose queue overflowed even its
	// reserve (RFC 6455 §7.4.1 "policy violation").
	closePolicy = 1008
)

// outItem is one queued message: from nexus (nm, converted by the adapter when it is
// written) or one the router made itself in place of another (direct, written as is).
type outItem struct {
	nm     nx.Message
	direct wamp.Message
	size   int64
	// mark is the number of events dropped for this EVENT's subscription since the
	// previous one queued (the drop mark, see wamp.OptCBXDropped).
	mark uint64
}

// outQueue is a session's bounded outbound queue. It holds at most Config.OutQueueSize
// messages and Config.OutQueueBytes bytes (estimated, see estimateSize); an empty queue
// always takes one message, so that one larger than the byte limit can still be sent.
// What does not fit:
//
//   - an EVENT is dropped for this subscriber, and the next EVENT queued for the same
//     subscription carries the count in Details._cbx_dropped;
//   - an INVOCATION is not delivered: the callee is made to answer ERROR
//     wamp.error.network_failure, which nexus passes on to the caller;
//   - a RESULT, or an ERROR for a CALL, is replaced by a short ERROR
//     wamp.error.network_failure for this client, the caller; after a progressive RESULT
//     the call is cancelled (CANCEL killnowait on the caller's behalf) and what nexus
//     still delivers for it is discarded, so the caller never waits for ever;
//   - everything else (WELCOME, GOODBYE, PUBLISHED, SUBSCRIBED, …, and those replacement
//     ERRORs) is small and answers something the client itself sent: it is never dropped
//     and may use a reserve of queueReserveMessages messages and queueReserveBytes bytes
//     above the limits. A client that exhausts even the reserve sends requests but reads
//     none of the replies: its connection is closed (1008), so that it cannot pin more.
//
// The queue's ring buffer grows with its content and shrinks again when it empties, so a
// burst does not pin memory afterwards.
type outQueue struct {
	mu    sync.Mutex
	ring  []outItem
	head  int
	n     int
	bytes int64
	// heldN and heldBytes count the messages of the writer's batch in hand beyond its
	// first (popBatch): they count against the limits until the batch is written, so that
	// batching does not let a client that reads nothing pin more than one message past
	// them, as the writer's one message in hand always could.
	heldN     int
	heldBytes int64
	// marks counts, per subscription, the events dropped since the last one queued.
	marks map[nx.ID]uint64
	// failed holds this caller's calls the queue failed after a progressive RESULT:
	// what nexus still delivers for them is discarded.
	failed map[nx.ID]bool
	closed bool // the connection is over: nothing is queued any more
}

func newOutQueue() outQueue {
	return outQueue{marks: map[nx.ID]uint64{}, failed: map[nx.ID]bool{}}
}

// pushLocked appends it; q.mu is held.
func (q *outQueue) pushLocked(it outItem) {
	if q.n == len(q.ring) {
		size := 2 * len(q.ring)
		if size < 16 {
			size = 16
		}
		q.resizeLocked(size)
	}
	q.ring[(q.head+q.n)%len(q.ring)] = it
	q.n++
	q.bytes += it.size
}

func (q *outQueue) resizeLocked(size int) {
	ring := make([]outItem, size)
	for i := range q.n {
		ring[i] = q.ring[(q.head+i)%len(q.ring)]
	}
	q.ring, q.head = ring, 0
}

// popBatch appends to batch the oldest messages, at least one if there is any, and more
// while their estimated sizes add up to at most maxBytes. All but the first stay counted
// against the limits until release.
func (q *outQueue) popBatch(batch []outItem, maxBytes int64) []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	var size int64
	first := len(batch)
	for q.n > 0 {
		it := q.ring[q.head]
		if len(batch) > first && size+it.size > maxBytes {
			break
		}
		if len(batch) > first {
			q.heldN++
			q.heldBytes += it.size
		}
		batch = append(batch, it)
		size += it.size
		q.ring[q.head] = outItem{}
		q.head = (q.head + 1) % len(q.ring)
		q.n--
		q.bytes -= it.size
	}
	// Give memory back after a burst: a quarter full at most, halve.
	for len(q.ring) > 64 && q.n <= len(q.ring)/4 {
		q.resizeLocked(len(q.ring) / 2)
	}
	return batch
}

// release ends the count of a batch in hand: it has been written.
func (q *outQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.heldN, q.heldBytes = 0, 0
}

// len returns the number of queued messages.
func (q *outQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// clear discards everything queued and refuses what comes later.
func (q *outQueue) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ring, q.head, q.n, q.bytes, q.closed = nil, 0, 0, 0, true
	q.heldN, q.heldBytes = 0, 0
	clear(q.marks)
	clear(q.failed)
}

// queueLimitText names the limit a message did not fit under, for the log and the trace.
func (p *peer) queueLimitText(overBytes bool) string {
	if overBytes {
		return fmt.Sprintf("outbound queue full (%d bytes)", p.srv.cfg.OutQueueBytes)
	}
	return fmt.Sprintf("outbound queue full (%d messages)", p.srv.cfg.OutQueueSize)
}

// placement is what enqueue decided for one message.
type placement struct {
	queued   bool   // it (or its replacement) was queued
	overflow bool   // the reserve is exhausted: the connection is to be closed
	drop     string // the type of a message not delivered, to account for
	reason   string // which limit it did not fit under
	// toNexus is handed to nexus as if the client had sent it: the ERROR for an
	// INVOCATION that was not delivered, or the CANCEL of a call whose progressive
	// RESULT was not.
	toNexus nx.Message
}

// enqueue is the decision for one message from nexus (see outQueue). It runs under
// p.moveMu, in nexus's order, one message at a time; fromNexus says that it runs in a
// nexus goroutine (peer.Send), which must not wait for the connection.
func (p *peer) enqueue(m nx.Message, fromNexus bool) {
	pl := p.place(m)
	if pl.drop != "" {
		p.noteDrop(pl.drop, nil, pl.reason)
	}
	if pl.toNexus != nil {
		// Handed over from another goroutine: neither the writer nor nexus's goroutine
		// may wait for nexus here.
		go p.toRouter(pl.toNexus)
	}
	if pl.overflow {
		p.overflow(fromNexus)
	}
}

// place queues m, or what replaces it, under the queue's lock.
func (p *peer) place(m nx.Message) placement {
	cfg := &p.srv.cfg
	q := &p.q
	size := estimateSize(m)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return placement{}
	}
	n, bytes := q.n+q.heldN, q.bytes+q.heldBytes
	overBytes := n > 0 && bytes+size > cfg.OutQueueBytes
	over := overBytes || (n > 0 && n >= cfg.OutQueueSize)
	var pl placement
	if over {
		pl.reason = p.queueLimitText(overBytes)
	}
	it := outItem{nm: m, size: size}
	switch x := m.(type) {
	case *nx.Event:
		if over {
			q.marks[x.Subscription]++
			pl.drop = nx.EVENT.String()
			return pl
		}
		if n := q.marks[x.Subscription]; n > 0 {
			delete(q.marks, x.Subscription)
			it.mark = n
		}
	case *nx.Invocation:
		if over {
			pl.drop = nx.INVOCATION.String()
			pl.toNexus = &nx.Error{Type: nx.INVOCATION, Request: x.Request, Details: nx.Dict{}, Error: wamp.ErrURINetworkFailure,
				Arguments: nx.List{"the call was not delivered: the callee's " + pl.reason}}
			return pl
		}
	case *nx.Result:
		progress, _ := x.Details[wamp.OptProgress].(bool)
		if q.failed[x.Request] {
			if !progress {
				delete(q.failed, x.Request)
			}
			return pl
		}
		if over {
			pl.drop = nx.RESULT.String()
			text := "the call's RESULT could not be delivered: this caller's " + pl.reason
			if progress {
				q.failed[x.Request] = true
				text = "a progressive RESULT of the call could not be delivered: this caller's " + pl.reason + "; the call was cancelled"
				pl.toNexus = &nx.Cancel{Request: x.Request, Options: nx.Dict{wamp.OptMode: wamp.CancelKillNoWait}}
			}
			it = replacement(x.Request, text)
		}
	case *nx.Error:
		if x.Type == nx.CALL {
			if q.failed[x.Request] {
				delete(q.failed, x.Request)
				return pl
			}
			if over {
				pl.drop = nx.ERROR.String()
				it = replacement(x.Request, fmt.Sprintf("the call's ERROR %s could not be delivered: this caller's %s", x.Error, pl.reason))
			}
		}
	}
	if n > 0 && (n >= cfg.OutQueueSize+queueReserveMessages || bytes+it.size > cfg.OutQueueBytes+queueReserveBytes) {
		pl.overflow = true
		return pl
	}
	q.pushLocked(it)
	pl.queued = true
	return pl
}

// replacement is the ERROR a caller gets in place of a RESULT or ERROR its queue had no
// room for.
func replacement(req nx.ID, text string) outItem {
	e := &wamp.Error{Type: wamp.CALL, Request: wamp.ID(req), Details: wamp.Dict{}, Error: wamp.ErrURINetworkFailure,
		Payload: wamp.Payload{Args: wamp.List{text}}}
	return outItem{direct: e, size: msgOverhead + int64(len(text)) + int64(len(wamp.ErrURINetworkFailure))}
}

// overflow closes the connection of a client that filled even the reserve above its
// queue's limits with replies it does not read (see outQueue).
func (p *peer) overflow(fromNexus bool) {
	p.q.clear()
	p.srv.stats.overflowed.Add(1)
	p.srv.cfg.Logger.Printf("warning: conn %d (session %s): closed with %d: the client sends requests but does not read the replies, and its outbound queue is over its limits (%d messages, %d bytes) and the reserve above them",
		p.conn, traceSession(p.sess.Load()), closePolicy, p.srv.cfg.OutQueueSize, p.srv.cfg.OutQueueBytes)
	if p.srv.tracer.w != nil {
		p.srv.tracer.line(fmt.Sprintf("overflow conn=%d session=%s outbound queue over its limits and reserve; connection closed with %d",
			p.conn, traceSession(p.sess.Load()), closePolicy))
	}
	if fromNexus {
		// Closing waits up to a second for the close frame; nexus must not.
		go p.ep.Close(closePolicy, "outbound queue overflow")
		return
	}
	p.ep.Close(closePolicy, "outbound queue overflow")
}

// withDropMark returns the EVENT's Details with the drop mark set to n. The Details are
// copied, not written: they are nexus's, or shared by the session's sealed EVENTs
// (adapter.sealedDetails).
func withDropMark(d wamp.Dict, n uint64) wamp.Dict {
	out := make(wamp.Dict, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	out[wamp.OptCBXDropped] = int64(n)
	return out
}

// msgOverhead approximates what one queued message costs beyond its values: the message
// struct, its queue slot and the empty containers. estimateSize adds the values: the
// size of a payload is known without encoding it.
const msgOverhead = 96

// estimateSize estimates the memory one message pins while queued: the payload values
// and the Details or Options. It errs on the high side and counts in full what several
// subscribers share (the values inside an EVENT's Arguments and ArgumentsKw, which nexus
// does not copy per subscriber; see peer.IsLocal), so a queue's estimate is an upper
// bound of what it alone keeps alive.
func estimateSize(m nx.Message) int64 {
	switch m := m.(type) {
	case *nx.Event:
		return msgOverhead + valueSize(m.Details, 0) + valueSize(m.Arguments, 0) + valueSize(m.ArgumentsKw, 0)
	case *nx.Invocation:
		return msgOverhead + valueSize(m.Details, 0) + valueSize(m.Arguments, 0) + valueSize(m.ArgumentsKw, 0)
	case *nx.Result:
		return msgOverhead + valueSize(m.Details, 0) + valueSize(m.Arguments, 0) + valueSize(m.ArgumentsKw, 0)
	case *nx.Error:
		return msgOverhead + int64(len(m.Error)) + valueSize(m.Details, 0) + valueSize(m.Arguments, 0) + valueSize(m.ArgumentsKw, 0)
	case *nx.Welcome:
		return msgOverhead + valueSize(m.Details, 0)
	case *nx.Goodbye:
		return msgOverhead + valueSize(m.Details, 0)
	case *nx.Abort:
		return msgOverhead + valueSize(m.Details, 0)
	case *nx.Challenge:
		return msgOverhead + valueSize(m.Extra, 0)
	case *nx.Interrupt:
		return msgOverhead + valueSize(m.Options, 0)
	}
	return msgOverhead
}

// valueSize estimates the memory of one value in the shapes nexus and internal/wamp use:
// 16 bytes per interface slot, the bytes of strings and binaries, headers of maps and
// slices. depth guards against a self-referencing value, which no decoder produces.
func valueSize(v any, depth int) int64 {
	if depth > maxPlainDepth {
		return 0
	}
	switch x := v.(type) {
	case string:
		return 16 + int64(len(x))
	case nx.URI:
		return 16 + int64(len(x))
	case []byte:
		return 24 + int64(len(x))
	case *legacyPayload:
		n := int64(24+len(x.enc)*16) + int64(len(x.bare))
		for _, v := range x.enc {
			s, _ := v.(string)
			n += int64(len(s))
		}
		return n
	case map[string]any:
		return mapSize(x, depth)
	case nx.Dict:
		return mapSize(x, depth)
	case []any:
		return sliceSize(x, depth)
	case nx.List:
		return sliceSize(x, depth)
	}
	return 8
}

func mapSize(m map[string]any, depth int) int64 {
	n := int64(48)
	for k, v := range m {
		n += 32 + int64(len(k)) + valueSize(v, depth+1)
	}
	return n
}

func sliceSize(l []any, depth int) int64 {
	n := int64(24)
	for _, v := range l {
		n += 16 + valueSize(v, depth+1)
	}
	return n
}
