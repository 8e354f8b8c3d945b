package wamp

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// This file is a Conn's write path (see Conn, "Writing"): WebSocket frames built here and
// written to the TCP connection in batches.

// maxSpareBuffer bounds the write buffer kept between writes: after a burst of large
// messages the memory goes back to the collector.
const maxSpareBuffer = 256 << 10

// closeFrameTimeout bounds how long Close waits for its close frame to be written (the
// peer may be gone or not reading); then the connection is closed regardless.
const closeFrameTimeout = time.Second

// writer holds the frames waiting to be written and who is writing them. Frames are
// written in the order they were queued, each whole: a batch is one Write call on the
// connection, which Go's net package completes before any other begins.
type writer struct {
	mu   sync.Mutex
	cond sync.Cond // signalled when a write ends; L is &mu

	out   []byte // frames queued, not yet written
	spare []byte // the buffer of the last write, for the next frames

	queued  uint64 // data frames queued so far
	settled uint64 // of those, the ones whose write is over (written or failed)
	written uint64 // of those, the ones written; writes fail only at the end, so a prefix
	err     error  // why no more data frames are taken; frames after written failed with it
	broken  bool   // a write failed: nothing more is written at all
	closing bool   // a close frame is queued or written: no frame may follow it
	// closeInOut is set while the close frame is in out; closeDone is closed once it
	// has been written or could not be.
	closeInOut bool
	closeDone  chan struct{}

	writing bool // a goroutine is writing a batch, with mu released
	waiters int  // goroutines waiting in flushLocked for a write to end
}

// send queues one data frame holding b and, if wait, returns once it is written.
func (w *writer) send(c *Conn, b []byte, wait bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-c.closed:
		return ErrClosed
	default:
	}
	if w.err != nil {
		return w.err
	}
	w.appendFrame(c, byte(c.frame), b)
	w.queued++
	if !wait {
		return nil
	}
	return w.flushLocked(c, w.queued)
}

// flushLocked returns once data frames up to number target are written or failed: it
// waits for a write in progress, or writes itself. Then, if nobody else will, it writes
// what was queued in the meantime, so that nothing is left behind when the queue is
// momentarily empty. w.mu is held.
func (w *writer) flushLocked(c *Conn, target uint64) error {
	for w.settled < target {
		if w.writing {
			w.waiters++
			w.cond.Wait()
			w.waiters--
			continue
		}
		w.writeLocked(c, writeTimeout)
	}
	w.drainLocked(c)
	if target <= w.written {
		return nil
	}
	return w.err
}

// drainLocked writes what is queued unless a write is in progress or a waiter will do it
// when it wakes (every write ends by waking the waiters).
func (w *writer) drainLocked(c *Conn) {
	for len(w.out) > 0 && !w.writing && w.waiters == 0 && !w.broken {
		w.writeLocked(c, writeTimeout)
	}
}

// writeLocked writes everything queued in one Write call, with mu released meanwhile.
// w.mu is held and no write is in progress.
func (w *writer) writeLocked(c *Conn, timeout time.Duration) {
	buf, end, withClose := w.out, w.queued, w.closeInOut
	w.out, w.spare, w.closeInOut = w.spare[:0], nil, false
	w.writing = true
	w.mu.Unlock()
	var err error
	if len(buf) > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(timeout))
		_, err = c.nc.Write(buf)
	}
	w.mu.Lock()
	w.writing = false
	if cap(buf) <= maxSpareBuffer {
		w.spare = buf[:0]
	}
	if err != nil {
		// As in gorilla, a connection whose write failed (or timed out, leaving a frame cut
		// short) is not written to again.
		w.broken = true
		w.err = c.ioErr("send", err)
		w.out = w.out[:0]
		w.settled = w.queued
		if w.closeInOut {
			w.closeInOut, withClose = false, true
		}
	} else {
		w.written = end
		w.settled = max(w.settled, end) // stopWriting may have settled more
	}
	if withClose {
		close(w.closeDone)
	}
	if w.waiters > 0 {
		w.cond.Broadcast()
	}
}

// appendFrame appends one final frame of type op holding payload to out: RFC 6455 §5.2,
// the shortest length encoding, and from a client a mask key from a cryptographically
// strong source (§5.3; math/rand/v2's generator is ChaCha8, as gorilla's is math/rand).
func (w *writer) appendFrame(c *Conn, op byte, payload []byte) {
	n := len(payload)
	var mask byte
	if c.client {
		mask = 0x80
	}
	out := w.out
	switch {
	case n <= 125:
		out = append(out, 0x80|op, mask|byte(n))
	case n <= 0xffff:
		out = append(out, 0x80|op, mask|126, byte(n>>8), byte(n))
	default:
		out = append(out, 0x80|op, mask|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if !c.client {
		w.out = append(out, payload...)
		return
	}
	key := rand.Uint32()
	out = binary.LittleEndian.AppendUint32(out, key)
	start := len(out)
	out = append(out, payload...)
	maskBytes(key, out[start:])
	w.out = out
}

// maskBytes applies a client's mask to b (RFC 6455 §5.3): byte i is XORed with byte i%4 of
// the key as sent, i.e. of key in little-endian order.
func maskBytes(key uint32, b []byte) {
	k := uint64(key) | uint64(key)<<32
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(key >> (8 * (i % 4)))
	}
}

// control queues a control frame (ping, pong, or the echo of the peer's close frame) and
// writes it now unless another goroutine is writing and will. After a close frame nothing
// more is sent: a Send then fails as gorilla's would, with websocket.ErrCloseSent.
func (c *Conn) control(op int, data []byte) {
	w := &c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken || w.closing {
		return
	}
	w.appendFrame(c, byte(op), data)
	if op == websocket.CloseMessage {
		w.closing, w.closeInOut, w.closeDone = true, true, make(chan struct{})
		if w.err == nil {
			w.err = c.ioErr("send", websocket.ErrCloseSent)
		}
	}
	w.drainLocked(c)
}

// closeFrame queues our close frame after whatever is queued, writes it now if nobody is
// writing (within closeFrameTimeout), and returns a channel closed once it is written or
// cannot be; nil if no close frame is to be sent (one was already, or the connection is
// broken). New frames are refused by then: c.closed is closed.
func (c *Conn) closeFrame(msg []byte) <-chan struct{} {
	w := &c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.broken || w.closing {
		return nil
	}
	w.appendFrame(c, websocket.CloseMessage, msg)
	w.closing, w.closeInOut, w.closeDone = true, true, make(chan struct{})
	done := w.closeDone
	if !w.writing && w.waiters == 0 {
		w.writeLocked(c, closeFrameTimeout)
	}
	return done
}

// stopWriting is for a connection on which gorilla has itself written a close frame
// (a frame over the read limit, a malformed frame): nothing more may be written, and
// what is queued fails.
func (c *Conn) stopWriting() {
	w := &c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closing {
		return
	}
	w.closing = true
	if w.err == nil {
		w.err = c.ioErr("send", websocket.ErrCloseSent)
	}
	w.out = w.out[:0]
	w.settled = w.queued
	if w.waiters > 0 {
		w.cond.Broadcast()
	}
}

// ping queues a keepalive ping. It reports false once nothing more can be written.
func (c *Conn) ping() bool {
	c.control(websocket.PingMessage, nil)
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return !c.w.broken && !c.w.closing
}
