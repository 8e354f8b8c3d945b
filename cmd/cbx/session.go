package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// session connects for a command with --timeout applied to ctx; done closes the session
// and releases the deadline.
func (f *factory) session(ctx context.Context, o *connOptions) (context.Context, *conn, func(), error) {
	// Resolve the environment first: CBX_TIMEOUT sets the deadline below.
	if err := o.resolve(f); err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := o.withTimeout(ctx)
	c, err := f.connect(ctx, o)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	// Follow the keystore file for as long as the command runs (keystore_reload.go). The
	// first look is one interval away: a timer starts the watcher then, so that a command
	// done sooner (a one-shot publish) starts no goroutine for it.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watch := time.AfterFunc(keystoreCheckInterval, func() { c.dialer.watchKeystore(watchCtx) })
	return ctx, c, func() { watch.Stop(); stopWatch(); c.close(); cancel() }, nil
}

// failed is how a command reports a session call (SUBSCRIBE, REGISTER, PUBLISH, CALL)
// that failed while it was doing what (`subscribing to "t"`, as the convention in
// exitcodes.go has it): once ctx has ended (a signal, the --timeout deadline) that is why
// the command stops, whatever the interrupted call reported; otherwise the call's error,
// mapped by failure, after what the command was doing.
func (c *conn) failed(ctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%s: %w", what, c.failure(err))
}

// failure maps an error from a session call: once the session has ended (the router went
// away, the connection broke) it is a connection problem, exit 6.
func (c *conn) failure(err error) error {
	select {
	case <-c.sess.Done():
		return withCode(exitConnection, err)
	default:
	}
	if wamp.IsConnectionError(err) {
		// A write that failed because the router is closing the connection, before the
		// session has noticed that it ended.
		return withCode(exitConnection, err)
	}
	return sessionError(err)
}

// sessionError maps a session failure to an exit code.
func sessionError(err error) error {
	var ab *wamp.AbortError
	var gb *wamp.GoodbyeError
	if errors.As(err, &ab) || errors.As(err, &gb) || wamp.IsProtocolError(err) {
		return withCode(exitConnection, err)
	}
	return err
}

// checkIncoming applies cbx's receiving rules to a payload: one that could not be opened is
// an error, and with --require-encrypted so is a plaintext payload on a URI the keystore
// covers (a downgrade, possibly by the router: e2e's CheckPlaintext, exit 3). what names
// the payload for the message ("event", "call", "result", "error").
func checkIncoming(c *conn, uri string, sealed bool, openErr error, what string) error {
	if openErr != nil {
		return openErr
	}
	if c.opts.requireEncrypted && !sealed {
		if err := c.codec.CheckPlaintext(uri); err != nil {
			return &rewordedError{fmt.Sprintf("plaintext %s on %q, which the keystore covers (--require-encrypted)", what, uri), err}
		}
	}
	return nil
}
