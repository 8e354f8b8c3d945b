package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/spf13/pflag"
)

// Waiting for a router: --wait D on the session commands and the cbx wait command.
//
// A script that starts a router and then a client has to know when the router answers.
// Sleeping a fixed time is either too long or, on a loaded CI machine, too short; so the
// client retries instead: it dials, and when the attempt fails in a way that a router
// still starting explains (connection refused, an HTTP answer instead of the WebSocket
// upgrade, an attempt that times out, ABORT wamp.close.system_shutdown; retryable in
// reconnect.go decides, as for --reconnect), it tries again shortly, until a session
// joins (WELCOME) or the time is up. A refusal that trying again cannot change
// (authentication refused, no such realm, a TLS certificate that does not verify, a
// server that does not speak WAMP) ends the wait at once, with its own exit code.

func addWaitFlag(fl *pflag.FlagSet, o *connOptions) {
	fl.DurationVar(&o.wait, "wait", 0, "retry connecting for up to this `duration` until the router answers (env CBX_WAIT; default 0: one attempt)")
}

// resolveWait applies CBX_WAIT to an unset --wait and checks the value.
func (o *connOptions) resolveWait(getenv func(string) string) error {
	if v := getenv("CBX_WAIT"); o.wait == 0 && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return &usageError{fmt.Errorf("CBX_WAIT %q: want a duration (e.g. 10s; 0: one attempt)", v)}
		}
		o.wait = d
		o.from["--wait"] = "CBX_WAIT"
	}
	if o.wait < 0 {
		return &usageError{fmt.Errorf("--wait %v: must not be negative", o.wait)}
	}
	return nil
}

// waitBackoff is the schedule of attempts while waiting: short, since a router on this
// machine starts within milliseconds, and never more than half a second apart, so the
// wait ends soon after the router is up.
var waitBackoff = backoff{first: 25 * time.Millisecond, max: 500 * time.Millisecond}

// dialWaiting is the first connection of a session command: one attempt, or with --wait
// attempts until the router answers.
func (d *dialer) dialWaiting(ctx context.Context) (*conn, error) {
	if d.o.wait <= 0 {
		return d.dial(ctx)
	}
	limit := fmt.Sprintf("within %v (%s)", d.o.wait, d.o.source("--wait"))
	return d.dialUntil(ctx, time.Now().Add(d.o.wait), limit, func() (string, error) { return d.o.url, nil })
}

// notYetError is a target that is not there yet (a --url-file not yet written): the
// wait goes on.
type notYetError struct{ msg string }

func (e *notYetError) Error() string { return e.msg }

// dialUntil dials the URL target names until a session joins or deadline passes (the
// zero time: no deadline); limit words the deadline for messages ("within 10s
// (--wait)"). target is asked again before every attempt; a *notYetError from it counts
// as a failed attempt, any other error ends the wait. A refusal that retrying cannot
// change ends it too, as its own error. When the deadline passes, the error is exit 6
// with what the last attempt saw; when ctx ends first, a signal is exit 130 and the
// --timeout deadline exit 8.
func (d *dialer) dialUntil(ctx context.Context, deadline time.Time, limit string, target func() (string, error)) (*conn, error) {
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if !deadline.IsZero() {
		wctx, cancel = context.WithDeadline(ctx, deadline)
	}
	defer cancel()
	var last error
	for attempt := 1; ; attempt++ {
		url, err := target()
		var ny *notYetError
		switch {
		case errors.As(err, &ny):
			last = err
		case err != nil:
			return nil, err
		default:
			d.o.url = url
			c, err := d.dial(wctx)
			if err == nil {
				return c, nil
			}
			// An attempt cut short by a deadline, --wait's or --timeout's (the dial's own
			// deadline may fire just before the context's), says nothing about the router:
			// the previous one tells. wctx's deadline is the earlier of the two.
			dl, has := wctx.Deadline()
			expired := wctx.Err() != nil || has && !time.Now().Before(dl)
			if !expired {
				if !retryable(err) {
					return nil, err
				}
				last = err
			} else if last == nil {
				last = errors.New("the first attempt did not complete")
			}
		}
		if d.o.verbose && attempt == 1 && wctx.Err() == nil {
			d.f.ui.noticef("waiting for the router, %s: %v", limit, last)
		}
		if !sleepCtx(wctx, waitBackoff.delay(attempt, rand.Float64)) {
			break
		}
	}
	var hints []string
	var ce *codedError
	if errors.As(last, &ce) {
		hints = ce.hints
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return nil, withCode(exitTimeout, fmt.Errorf("no router answered before the --timeout deadline; the last attempt: %w", last), hints...)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return nil, withCode(exitConnection, fmt.Errorf("no router answered %s; the last attempt: %w", limit, last), hints...)
}

// sleepCtx waits for d, or until ctx ends: it reports whether the whole wait passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
