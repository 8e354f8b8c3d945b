package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Reconnecting: subscribe and register --reconnect.
//
// When the router goes away under a running session (the connection breaks or stays
// silent past the keepalive, or the router ends the session with GOODBYE or ABORT, e.g.
// wamp.close.system_shutdown when it stops), cbx waits (backoff below), dials again with
// the same keystore and credentials (dialer in conn_dial.go), joins, subscribes or registers
// with the same options, and goes on. Nothing is replayed: a WAMP broker delivers an event
// to the sessions subscribed when it is published (event history is an Advanced Profile
// option cbx does not use), so events published meanwhile are lost, and a call in
// progress when the connection broke cannot be answered (the dealer answers its caller
// instead: nexus and Crossbar.io send wamp.error.canceled).
//
// What is retried and what ends cbx (decided per error, in retryableEnd and retryable):
//   - retried: a lost connection, a keepalive timeout, the router's GOODBYE or ABORT of a
//     running session for any reason but those below, a dial that fails (connection
//     refused, an HTTP answer instead of the WebSocket upgrade, as from a proxy while the
//     router restarts), an ABORT wamp.close.system_shutdown or wamp.close.close_realm
//     while joining, and wamp.error.procedure_already_exists on re-registering: the
//     router may not yet have noticed that the old connection is gone, and holds its
//     registration until it does (nexus removes a session's registrations when its
//     connection ends; a test cuts a connection under a callee to show it).
//   - final, exit 6 (or the code the same error has at start-up): any other ABORT while
//     joining (authentication refused, no such realm: the router means it), a running
//     session ended for authentication, authorization, a protocol violation or
//     wamp.close.killed (someone ended this session on purpose), a protocol violation, a
//     TLS certificate that no longer verifies, a server that does not speak WAMP, and
//     any other refused SUBSCRIBE or REGISTER.
//
// Autobahn|Python's Component likewise retries for ever by default (max_retries -1) and
// leaves what is fatal to an is_fatal callback; its waits start at 1.5s and grow by 1.5
// to 300s. cbx starts sooner and stays shorter (backoff below): its users are scripts
// and CI jobs on one machine, where a router restart takes a second.
//
// The first connection is not retried: a wrong URL, realm or credential is reported at
// once, as without --reconnect.

// reconnectOptions are subscribe's and register's --reconnect flags.
type reconnectOptions struct {
	on     bool
	max    int           // failed attempts in a row before giving up; 0: no limit
	within time.Duration // give up when the router has been gone this long; 0: no limit
}

func addReconnectFlags(cmd *cobra.Command, o *reconnectOptions) {
	fl := cmd.Flags()
	fl.BoolVar(&o.on, "reconnect", false, "when the router goes away, connect again and carry on (env CBX_RECONNECT)")
	fl.IntVar(&o.max, "reconnect-max", 0, "with --reconnect, give up after `N` failed attempts in a row (env CBX_RECONNECT_MAX; default 0: no limit)")
	fl.DurationVar(&o.within, "reconnect-within", 0, "with --reconnect, give up when the router has been gone this `long` (env CBX_RECONNECT_WITHIN; default 0: no limit)")
}

// reconnectHelp is the part of subscribe's and register's help about --reconnect: again
// says what the command does on a new session, lost what is lost meanwhile.
func reconnectHelp(again, lost string) string {
	return `With --reconnect, when the router goes away (the connection breaks, the keepalive
times out, or the router ends the session, e.g. wamp.close.system_shutdown as it stops),
cbx says so on stderr and connects again, after 0.1s, doubling to at most 5s (each wait
up to half shorter, at random):

  cbx: warning: lost the router at URL: REASON; reconnecting in 0.1s
  cbx: warning: could not reconnect to URL (attempt N): REASON; retrying in 0.2s

` + again + `

` + lost + `

--reconnect-max N gives up after N failed attempts in a row, --reconnect-within D once
the router has been gone for D: exit 6, saying how many attempts were made. Refusals
are not retried: authentication refused, an unknown realm, a session the router ended
for authorization, a protocol violation or wamp.close.killed end cbx with exit 6, and a
subscription or registration the router refuses ends it as it would at start. The
first connection is never retried. Environment: CBX_RECONNECT, CBX_RECONNECT_MAX,
CBX_RECONNECT_WITHIN.`
}

// resolve applies the environment fallbacks and checks the values. The limits given as
// flags need --reconnect (on their own they would do nothing); from the environment they
// are checked and apply only when reconnecting is on, so a script can set them once.
func (o *reconnectOptions) resolve(fl *pflag.FlagSet, getenv func(string) string) error {
	if !fl.Changed("reconnect") {
		on, err := envBool(getenv, "CBX_RECONNECT")
		if err != nil {
			return err
		}
		o.on = on
	}
	if fl.Changed("reconnect-max") {
		if o.max < 0 {
			return &usageError{fmt.Errorf("--reconnect-max %d: must not be negative", o.max)}
		}
	} else if v := getenv("CBX_RECONNECT_MAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return &usageError{fmt.Errorf("CBX_RECONNECT_MAX %q: want a number of attempts (0: no limit)", v)}
		}
		o.max = n
	}
	if fl.Changed("reconnect-within") {
		if o.within < 0 {
			return &usageError{fmt.Errorf("--reconnect-within %v: must not be negative", o.within)}
		}
	} else if v := getenv("CBX_RECONNECT_WITHIN"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return &usageError{fmt.Errorf("CBX_RECONNECT_WITHIN %q: want a duration (e.g. 5m; 0: no limit)", v)}
		}
		o.within = d
	}
	if !o.on {
		for _, name := range []string{"reconnect-max", "reconnect-within"} {
			if fl.Changed(name) {
				return &usageError{fmt.Errorf("--%s needs --reconnect", name)}
			}
		}
	}
	return nil
}

// backoff is the schedule of waits before reconnect attempts.
type backoff struct {
	first, max time.Duration
}

// reconnectBackoff starts short, since a router that restarts is often back within a
// second, and stays at a few seconds, so that cbx comes back soon after a longer outage
// without hammering the router. Tests change it (CBXTEST_RECONNECT_BACKOFF).
var reconnectBackoff = backoff{first: 100 * time.Millisecond, max: 5 * time.Second}

// delay is the wait before attempt n (from 1): first·2^(n-1), at most max, of which a
// random part is taken off, up to half ("equal jitter"), so that clients that lost the
// router together do not all come back in the same instant. rnd returns [0, 1).
func (b backoff) delay(n int, rnd func() float64) time.Duration {
	d := b.first
	for i := 1; i < n && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	return d - time.Duration(rnd()*float64(d/2))
}

// seconds writes a wait the way the messages show it: "0.1s", "2.35s", "5s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Round(10*time.Millisecond).Seconds(), 'f', -1, 64) + "s"
}

// routerLostError is lifetime.wait's outcome when the session ended under the command:
// exit 6, unless the command reconnects. cause is the session's Err().
type routerLostError struct {
	err   error // worded for the user (sessionEnded)
	cause error
}

func (e *routerLostError) Error() string { return e.err.Error() }
func (e *routerLostError) Unwrap() error { return e.err }

// finalReasons end a session on purpose: the router refuses it, or someone ended it
// (Crossbar.io's wamp.session.kill says wamp.close.killed). Reconnecting would be refused
// again, or undo what was meant.
var finalReasons = map[string]bool{
	wamp.ErrURIProtocol:             true,
	wamp.ErrURIAuthenticationFailed: true,
	wamp.ErrURIAuthorizationFailed:  true,
	wamp.ErrURINotAuthorized:        true,
	wamp.ErrURINoSuchRealm:          true,
	wamp.ErrURINoSuchRole:           true,
	wamp.ErrURINoAuthMethod:         true,
	wamp.CloseURIKilled:             true,
}

// retryableEnd reports whether a session that ended with err (its Err()) is worth
// reconnecting after: the router went away, rather than ending this session on purpose.
func retryableEnd(err error) bool {
	var ab *wamp.AbortError
	var gb *wamp.GoodbyeError
	switch {
	case err == nil, errors.Is(err, wamp.ErrSessionClosed), wamp.IsProtocolError(err):
		return false
	case errors.As(err, &ab):
		return !finalReasons[ab.Reason]
	case errors.As(err, &gb):
		return !finalReasons[gb.Reason]
	}
	return true // the connection broke or went silent
}

// retryable reports whether a failed reconnect attempt (dial, join, subscribe or register)
// is worth another one.
func retryable(err error) bool {
	var ab *wamp.AbortError
	var gb *wamp.GoodbyeError
	var rpc *wamp.RPCError
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ne net.Error
	switch {
	case wamp.IsProtocolError(err):
		return false
	case errors.As(err, &ab):
		// An ABORT in reply to HELLO is a refusal, unless the router is going down.
		return ab.Reason == wamp.CloseURISystemShutdown || ab.Reason == wamp.CloseURICloseRealm
	case errors.As(err, &gb):
		return retryableEnd(gb)
	case errors.As(err, &rpc):
		return rpc.URI == wamp.ErrURIProcedureAlreadyExists
	case errors.As(err, &cv), errors.As(err, &rh), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return false
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		// A router that accepts the connection but does not answer in time (the
		// WebSocket handshake, HELLO): the run's own deadline was checked before.
		return true
	}
	return wamp.IsConnectionError(err)
}

// serve runs a long-running command's sessions: attach subscribes or registers on c, then
// the command waits (lifetime). When the session ends under it and --reconnect is on, it
// reconnects and attaches again, until the lifetime ends. A handler may keep the first
// connection for its keystore and options: every connection of a run shares them
// (dialer).
func (f *factory) serve(ctx context.Context, c *conn, life *lifetime, ro *reconnectOptions, attach func(context.Context, *conn) error) error {
	defer func() { c.close() }()
	if err := attach(ctx, c); err != nil {
		return err
	}
	for {
		err := life.wait(ctx, c)
		var lost *routerLostError
		if !ro.on || !errors.As(err, &lost) || !retryableEnd(lost.cause) {
			return err
		}
		if life.over() {
			// The last message was handled as the router went away.
			return life.result()
		}
		// Close waits (bounded) for the lost session's handlers, so none of them runs
		// alongside the next session's.
		c.close()
		next, err := f.reconnect(ctx, c, life, ro, lost, attach)
		if next == nil {
			return err
		}
		c = next
	}
}

// reconnect waits, dials and attaches until the command is back in service (the new
// connection), a limit or a final error ends the run (nil and the error), or ctx ends
// (nil and the lifetime's outcome, which is nil when the deadline is the planned end).
func (f *factory) reconnect(ctx context.Context, old *conn, life *lifetime, ro *reconnectOptions, lost error, attach func(context.Context, *conn) error) (*conn, error) {
	url := old.opts.url
	since := time.Now()
	why := lost
	for attempt := 1; ; attempt++ {
		wait := reconnectBackoff.delay(attempt, rand.Float64)
		if ro.within > 0 {
			// The last attempt is made when the time is up, not skipped.
			wait = max(0, min(wait, ro.within-time.Since(since)))
		}
		if attempt == 1 {
			f.ui.warnf("lost the router at %s: %v; reconnecting in %s", url, why, seconds(wait))
		} else {
			f.ui.warnf("could not reconnect to %s (attempt %d): %v; retrying in %s", url, attempt-1, why, seconds(wait))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, life.stopped(ctx)
		case <-timer.C:
		}
		c, err := old.dialer.dial(ctx)
		again := err == nil || retryable(err)
		if err == nil {
			if err = attach(ctx, c); err == nil {
				if old.opts.verbose {
					f.ui.noticef("reconnected to %s after %s (attempt %d)", url, seconds(time.Since(since)), attempt)
				}
				return c, nil
			}
			// A new session that ended while subscribing or registering is judged by why
			// it ended, as one that ended later would be.
			if ended := c.sess.Err(); ended != nil {
				again = retryableEnd(ended)
			} else {
				again = retryable(err)
			}
			c.close()
		}
		if ctx.Err() != nil {
			return nil, life.stopped(ctx)
		}
		if !again {
			return nil, fmt.Errorf("reconnecting to %s: %w", url, err)
		}
		switch {
		case ro.max > 0 && attempt >= ro.max:
			return nil, withCode(exitConnection, fmt.Errorf("gave up reconnecting to %s after %s: %w", url, attempts(attempt), err))
		case ro.within > 0 && time.Since(since) >= ro.within:
			return nil, withCode(exitConnection, fmt.Errorf("gave up reconnecting to %s after %v (%s): %w", url, ro.within, attempts(attempt), err))
		}
		why = err
	}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}
