package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spf13/cobra"
)

// session connects for a command with --timeout applied; done closes the session and
// releases the deadline.
func (f *factory) session(cmd *cobra.Command, o *connOptions) (context.Context, *conn, func(), error) {
	// Resolve the environment first: CBX_TIMEOUT sets the deadline below.
	if err := o.resolve(f.getenv); err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := o.withTimeout(cmd.Context())
	c, err := f.connect(ctx, o)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, c, func() { c.close(); cancel() }, nil
}

// lifetime is how a long-running command (subscribe, register) ends: after --count
// handled messages, on a fatal error from a handler, when the session ends, at the
// --timeout deadline, or on a signal. Handlers run on the session's goroutines, so it is
// safe for concurrent use.
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

// wait blocks until the command ends and returns its outcome: reaching the deadline is the
// planned end without --count (exit 0) and exit 8 with fewer than --count messages.
func (l *lifetime) wait(ctx context.Context, c *conn) error {
	select {
	case <-l.finished:
		return l.err
	case <-c.sess.Done():
		return withCode(exitConnection, sessionEnded(c.sess.Err()))
	case <-ctx.Done():
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
}
