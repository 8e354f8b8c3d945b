package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// lifetime is how a long-running command (subscribe, register) ends: after --count
// handled messages, on a fatal error from a handler, when the session ends (unless it
// reconnects: reconnect.go), at the --timeout deadline, or on a signal. One lifetime
// spans every session of a run, so --count counts across reconnects. Handlers run on the
// sessions' goroutines, so it is safe for concurrent use.
type lifetime struct {
	what  string // "events", "calls"
	count int    // --count; 0: no limit

	mu       sync.Mutex
	handled  int
	reserved int
	once     sync.Once
	finished chan struct{}
	err      error
}

func newLifetime(what string, count int) *lifetime {
	return &lifetime{what: what, count: count, finished: make(chan struct{})}
}

// over reports whether the command has already finished, so late messages are ignored.
func (l *lifetime) over() bool {
	select {
	case <-l.finished:
		return true
	default:
		return false
	}
}

// fail ends the command with err (the first ending wins).
func (l *lifetime) fail(err error) {
	l.once.Do(func() {
		l.err = err
		close(l.finished)
	})
}

// done counts one handled message and reports whether that was the last one wanted; the
// caller then ends the command with fail(nil) when it is ready to. Handlers that claimed a
// slot with reserve call it too, for the count in the deadline message.
func (l *lifetime) done() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handled++
	return l.count > 0 && l.handled >= l.count
}

// reserve claims one of the --count slots before a message is handled, for handlers that
// run concurrently (register): ok is false when all slots are taken, last is true for
// the final one. Without --count every message gets a slot.
func (l *lifetime) reserve() (ok, last bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count > 0 && l.reserved >= l.count {
		return false, false
	}
	l.reserved++
	return true, l.count > 0 && l.reserved == l.count
}

// wait blocks until the command ends, or c's session does, and returns the outcome (see
// stopped for the deadline). A session that ended is a *routerLostError, exit 6 unless
// the command reconnects.
func (l *lifetime) wait(ctx context.Context, c *conn) error {
	select {
	case <-l.finished:
		return l.err
	case <-c.sess.Done():
		return withCode(exitConnection, &routerLostError{err: sessionEnded(c.sess.Err()), cause: c.sess.Err()})
	case <-ctx.Done():
		return l.stopped(ctx)
	}
}

// stopped is the outcome once ctx has ended: a signal (exit 130), or the --timeout
// deadline, which is the planned end without --count (exit 0) and exit 8 with fewer than
// --count messages. It applies wherever the command is waiting, including for a
// reconnect: --timeout is one deadline for the whole run.
func (l *lifetime) stopped(ctx context.Context) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	if l.count == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return withCode(exitTimeout, fmt.Errorf("deadline reached after %d of %d %s", l.handled, l.count, l.what))
}

// release gives back a slot that reserve claimed for a message that was not handled after
// all: a call whose session ended while it ran, so that its reply could not be sent. The
// slot goes to a later message (after a reconnect).
func (l *lifetime) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reserved--
}

// result is how the command ended, once over reports true.
func (l *lifetime) result() error {
	<-l.finished
	return l.err
}
