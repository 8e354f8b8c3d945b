package main

import (
	"errors"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Helpers for the error convention at the top of exitcodes.go: cmd/cbx words an error from
// internal/wamp once, for the situation the user is in.

// rewordedError shows msg in place of err's own text, and keeps err in the chain for
// errors.Is and errors.As (exit codes, hints).
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }

// routerRefused words the failure of a SUBSCRIBE, a REGISTER or an acknowledged PUBLISH:
// an ERROR in reply to those comes from the router (a broker or dealer), unlike one in
// reply to a CALL, which is usually the callee's.
func routerRefused(err error) error {
	var rpc *wamp.RPCError
	if errors.As(err, &rpc) {
		return fmt.Errorf("the router refused: %w", err)
	}
	return err
}

// joinError words a failed HELLO: an ABORT is the router refusing the realm or the
// credentials, anything else broke on the way.
func joinError(realm string, err error) error {
	var ab *wamp.AbortError
	if errors.As(err, &ab) {
		return &rewordedError{fmt.Sprintf("joining realm %q: the router refused: %s", realm, ab.Why()), err}
	}
	return fmt.Errorf("joining realm %q: %w", realm, err)
}

// sessionEnded words the end of a session a command was waiting on: the router's GOODBYE
// or ABORT says so itself, a lost connection is introduced.
func sessionEnded(err error) error {
	var ab *wamp.AbortError
	var gb *wamp.GoodbyeError
	if errors.As(err, &ab) || errors.As(err, &gb) {
		return err
	}
	return fmt.Errorf("the session ended: %w", err)
}
