package wamp

// Errors of this package say what went wrong in WAMP's terms and nothing more: no
// "wamp:" prefix, and not the topic, procedure, realm or URL the caller passed in, which
// the caller names once, in its own words ("registering \"com.x\": the router refused:
// wamp.error.procedure_already_exists"). Errors that carry data (RPCError, AbortError,
// GoodbyeError, ProtocolError) keep it in fields for errors.As.

import (
	"errors"
	"fmt"
	"strings"
)

// AbortError is an ABORT from the router: a refused HELLO (no such realm, failed
// authentication, …) or an established session ended abruptly (basic/session.md
// "Session Closing"; wire.md §4 ABORT reasons).
type AbortError struct {
	Reason  string
	Details Dict
}

func (e *AbortError) Error() string { return "the router aborted the session: " + e.Why() }

// Why is the reason URI, and the router's message when Details has one.
func (e *AbortError) Why() string { return withMessage(e.Reason, e.Details) }

// GoodbyeError is why a session ended when the router, not we, said GOODBYE (e.g.
// wamp.close.system_shutdown or a session kill).
type GoodbyeError struct {
	Reason  string
	Details Dict
}

func (e *GoodbyeError) Error() string { return "the router closed the session: " + e.Why() }

// Why is the reason URI, and the router's message when Details has one.
func (e *GoodbyeError) Why() string { return withMessage(e.Reason, e.Details) }

// withMessage is uri, followed by Details.message when there is one (ABORT, GOODBYE).
func withMessage(uri string, d Dict) string {
	if msg, _ := d[OptMessage].(string); msg != "" {
		return uri + ": " + msg
	}
	return uri
}

// RPCError is an ERROR reply: to a CALL (the callee's or the dealer's error), or to a
// PUBLISH, SUBSCRIBE, REGISTER, … Sealed reports that Args/Kwargs were opened by the
// session's [PayloadCodec]. A [Handler] returns an *RPCError to make its ERROR carry a
// chosen URI and payload.
type RPCError struct {
	URI     string
	Args    List
	Kwargs  Dict
	Details Dict
	Sealed  bool
	Opened  Dict // what opened the payload, in the codec's words (PayloadCodec.Open)
	// PayloadErr is set when the ERROR's own payload was refused ([Payload].Err, a
	// [*PayloadError]): the error is still the peer's, with its URI, but Args and Kwargs
	// are nil because they could not be read.
	PayloadErr error
}

// Error is the error URI and the first argument when that is a string (the text
// Autobahn and nexus put there), or the arguments. Who answered (the router refusing a
// SUBSCRIBE, or a callee) is for the caller to say.
func (e *RPCError) Error() string {
	var b strings.Builder
	b.WriteString(e.URI)
	if e.PayloadErr != nil {
		b.WriteString("; its payload could not be read: ")
		b.WriteString(e.PayloadErr.Error())
		return b.String()
	}
	if len(e.Args) > 0 {
		if s, ok := e.Args[0].(string); ok {
			b.WriteString(": ")
			b.WriteString(s)
		} else {
			fmt.Fprintf(&b, ": %v", e.Args)
		}
	}
	return b.String()
}

// ErrSessionClosed is Err() of a session that ended by our own Close.
var ErrSessionClosed = errors.New("session closed")
