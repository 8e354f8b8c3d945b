package wamp

import (
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// ProtocolError reports a message that breaks the WAMP wire rules: wrong arity, a field of
// the wrong type, an ID out of range, undecodable bytes. The WAMP spec (basic/session.md,
// "Protocol Violations") says a peer answers such a message by aborting the session, so
// callers treat it as fatal for the connection.
type ProtocolError struct {
	Msg string
	Err error // the cause when it is typed, e.g. a *ValueError for a value outside the dialect
}

func (e *ProtocolError) Error() string { return "protocol error: " + e.Msg }
func (e *ProtocolError) Unwrap() error { return e.Err }

func protoErrf(format string, args ...any) *ProtocolError {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}

// protoWrap is protoErrf for a typed cause: the message is prefix + ": " + err.
func protoWrap(err error, prefix string) *ProtocolError {
	return &ProtocolError{Msg: prefix + ": " + err.Error(), Err: err}
}

// IsProtocolError reports whether err is, or wraps, a [*ProtocolError].
func IsProtocolError(err error) bool {
	var pe *ProtocolError
	return errors.As(err, &pe)
}

// ToList turns a message into its list form, the layout given in each message type's doc
// comment. It is written out per type, without the reflection nexus uses for this, so
// that the wire layout can be read off the code.
//
// Trailing empty Arguments/ArgumentsKw are omitted; an empty Arguments list is written
// only when ArgumentsKw follows (basic/messages.md "Empty Arguments and Keyword
// Arguments"). A bare payload is written as the single binary element (wire.md §1.1).
// Nil dictionaries are written as {}.
func ToList(m Message) (List, error) {
	if m == nil {
		return nil, errors.New("encoding a nil message")
	}
	var e encoder
	if err := e.message(m); err != nil {
		return nil, err
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.l, nil
}

// message lays out m, field by field, as a list (e.l) or, for msgpackMarshal, straight
// in MessagePack (e.mp). It fails only for a message type it does not know; the fields'
// errors stick in e.err.
func (e *encoder) message(m Message) error {
	switch m := m.(type) {
	case *Hello:
		e.start(HELLO).uri("Realm", m.Realm).dict(m.Details)
	case *Welcome:
		e.start(WELCOME).id("Session", m.Session).dict(m.Details)
	case *Abort:
		e.start(ABORT).dict(m.Details).uri("Reason", m.Reason)
	case *Challenge:
		e.start(CHALLENGE).str(m.AuthMethod).dict(m.Extra)
	case *Authenticate:
		e.start(AUTHENTICATE).str(m.Signature).dict(m.Extra)
	case *Goodbye:
		e.start(GOODBYE).dict(m.Details).uri("Reason", m.Reason)
	case *Error:
		e.start(ERROR).reqType(m.Type).id("Request", m.Request).dict(m.Details).uri("Error", m.Error).payload(m.Payload)
	case *Publish:
		e.start(PUBLISH).id("Request", m.Request).dict(m.Options).uri("Topic", m.Topic).payload(m.Payload)
	case *Published:
		e.start(PUBLISHED).id("Request", m.Request).id("Publication", m.Publication)
	case *Subscribe:
		e.start(SUBSCRIBE).id("Request", m.Request).dict(m.Options).uri("Topic", m.Topic)
	case *Subscribed:
		e.start(SUBSCRIBED).id("Request", m.Request).id("Subscription", m.Subscription)
	case *Unsubscribe:
		e.start(UNSUBSCRIBE).id("Request", m.Request).id("Subscription", m.Subscription)
	case *Unsubscribed:
		e.start(UNSUBSCRIBED).id("Request", m.Request)
	case *Event:
		e.start(EVENT).id("Subscription", m.Subscription).id("Publication", m.Publication).dict(m.Details).payload(m.Payload)
	case *Call:
		e.start(CALL).id("Request", m.Request).dict(m.Options).uri("Procedure", m.Procedure).payload(m.Payload)
	case *Cancel:
		e.start(CANCEL).id("Request", m.Request).dict(m.Options)
	case *Result:
		e.start(RESULT).id("Request", m.Request).dict(m.Details).payload(m.Payload)
	case *Register:
		e.start(REGISTER).id("Request", m.Request).dict(m.Options).uri("Procedure", m.Procedure)
	case *Registered:
		e.start(REGISTERED).id("Request", m.Request).id("Registration", m.Registration)
	case *Unregister:
		e.start(UNREGISTER).id("Request", m.Request).id("Registration", m.Registration)
	case *Unregistered:
		e.start(UNREGISTERED).id("Request", m.Request)
	case *Invocation:
		e.start(INVOCATION).id("Request", m.Request).id("Registration", m.Registration).dict(m.Details).payload(m.Payload)
	case *Interrupt:
		e.start(INTERRUPT).id("Request", m.Request).dict(m.Options)
	case *Yield:
		e.start(YIELD).id("Request", m.Request).dict(m.Options).payload(m.Payload)
	default:
		return fmt.Errorf("encoding an unsupported message %T", m)
	}
	return nil
}

// encoder builds a list; the first error sticks and later calls do nothing.
//
// With direct set it writes the MessagePack bytes of that list to mp instead, exactly
// as msgpackAppend would write the list (at most 15 elements, so a fixarray whose
// length is filled in as elements are added): the PUBLISH, EVENT or PUBLISHED of every
// event is encoded without the list, the boxed IDs and strings, and the copies in
// between. Any error, the fields' or a value's, leaves mp unspecified: msgpackMarshal
// then encodes through the list, which says why in its words.
type encoder struct {
	t   MessageType
	l   List
	err error

	direct bool
	mp     []byte
	head   int // where the fixarray header is in mp
}

// add counts one more element in the direct form's header.
func (e *encoder) add() { e.mp[e.head]++ }

// The direct form's element writers: a string, a binary value, a list, a dict, through
// the typed MessagePack writers, so that nothing is boxed to be written.
func (e *encoder) directText(x string) {
	if e.err == nil {
		var err error
		e.mp, err = msgpackText(e.mp, x)
		e.added(err)
	}
}

func (e *encoder) directBin(x []byte) {
	if e.err == nil {
		e.mp = msgpackBin(e.mp, x)
		e.added(nil)
	}
}

func (e *encoder) directList(x List) {
	if e.err == nil {
		var err error
		e.mp, err = msgpackList(e.mp, x, 1, NestMessage.limit())
		e.added(err)
	}
}

func (e *encoder) directDict(x Dict) {
	if e.err == nil {
		var err error
		e.mp, err = msgpackDict(e.mp, x, 1, NestMessage.limit())
		e.added(err)
	}
}

// added counts an element written, or records why it could not be.
func (e *encoder) added(err error) {
	if err != nil {
		e.err = err
		return
	}
	e.add()
}

func (e *encoder) fail(format string, args ...any) {
	if e.err == nil {
		e.err = fmt.Errorf("encoding %v: "+format, append([]any{e.t}, args...)...)
	}
}

func (e *encoder) start(t MessageType) *encoder {
	e.t = t
	if e.direct {
		e.head = len(e.mp)
		e.mp = append(e.mp, msgpcode.FixedArrayLow|1)
		e.mp = msgpackInt(e.mp, int64(t))
		return e
	}
	e.l = append(make(List, 0, 7), int64(t)) // the longest messages have 7 elements
	return e
}

func (e *encoder) id(name string, v ID) *encoder {
	if v > MaxID {
		e.fail("%s %d exceeds 2^53", name, uint64(v))
	}
	if e.direct {
		e.mp = msgpackInt(e.mp, int64(v))
		e.add()
		return e
	}
	e.l = append(e.l, int64(v))
	return e
}

func (e *encoder) reqType(t MessageType) *encoder {
	if _, ok := typeNames[t]; !ok {
		e.fail("unknown request type %d", int(t))
	}
	if e.direct {
		e.mp = msgpackInt(e.mp, int64(t))
		e.add()
		return e
	}
	e.l = append(e.l, int64(t))
	return e
}

func (e *encoder) uri(name, s string) *encoder {
	if s == "" {
		e.fail("empty %s", name)
	}
	return e.str(s)
}

func (e *encoder) str(s string) *encoder {
	if e.direct {
		e.directText(s)
		return e
	}
	e.l = append(e.l, s)
	return e
}

func (e *encoder) dict(d Dict) *encoder {
	if d == nil {
		d = Dict{}
	}
	if e.direct {
		e.directDict(d)
		return e
	}
	e.l = append(e.l, d)
	return e
}

func (e *encoder) payload(p Payload) *encoder {
	switch {
	case p.Err != nil:
		// Its values were never read: sending it on would lose them without a word.
		e.fail("the payload was refused on receipt: %v", p.Err)
	case p.Bare != nil:
		if len(p.Args) > 0 || len(p.Kwargs) > 0 {
			e.fail("payload has both a bare binary and Arguments/ArgumentsKw")
		}
		if e.direct {
			e.directBin(p.Bare)
		} else {
			e.l = append(e.l, p.Bare)
		}
	case len(p.Kwargs) > 0:
		args := p.Args
		if args == nil {
			args = List{}
		}
		if e.direct {
			e.directList(args)
			e.directDict(p.Kwargs)
		} else {
			e.l = append(e.l, args, p.Kwargs)
		}
	case len(p.Args) > 0:
		if e.direct {
			e.directList(p.Args)
		} else {
			e.l = append(e.l, p.Args)
		}
	}
	return e
}

// FromList turns a list, as produced by a serializer, into a message. It checks the message
// code, the arity and the type of every fixed field, and returns a [*ProtocolError] on
// anything malformed. IDs must be integers in [0, 2^53] (basic/messages.md "IDs"; 0 is let
// through because some fields, e.g. an ERROR for a request the peer never saw, may carry it).
//
// The element after the fixed fields, if any, is either an Arguments list optionally
// followed by an ArgumentsKw dict, or a single binary value, Autobahn's bare cryptobox
// payload, after which nothing may follow (wire.md §1.1).
//
// A serializer that could not read the Arguments or ArgumentsKw of a frame puts a
// placeholder in their place; FromList still checks their shape (a list, a dict) and
// returns the message with Payload.Err set (package comment, "Refused payloads").
func FromList(l List) (Message, error) {
	if len(l) == 0 {
		return nil, protoErrf("empty message")
	}
	code, ok := toInt64(l[0])
	if !ok {
		return nil, protoErrf("message type must be an integer, got %s", typeOf(l[0]))
	}
	t := MessageType(code)
	if _, known := typeNames[t]; !known || code != int64(t) {
		return nil, protoErrf("unknown message type %d", code)
	}
	d := decoder{t: t, l: l}
	var m Message
	switch t {
	case HELLO:
		d.arity(3)
		m = &Hello{Realm: d.uri(1, "Realm"), Details: d.dict(2, "Details")}
	case WELCOME:
		d.arity(3)
		m = &Welcome{Session: d.id(1, "Session"), Details: d.dict(2, "Details")}
	case ABORT:
		d.arity(3)
		m = &Abort{Details: d.dict(1, "Details"), Reason: d.uri(2, "Reason")}
	case CHALLENGE:
		d.arity(3)
		m = &Challenge{AuthMethod: d.str(1, "AuthMethod"), Extra: d.dict(2, "Extra")}
	case AUTHENTICATE:
		d.arity(3)
		m = &Authenticate{Signature: d.str(1, "Signature"), Extra: d.dict(2, "Extra")}
	case GOODBYE:
		d.arity(3)
		m = &Goodbye{Details: d.dict(1, "Details"), Reason: d.uri(2, "Reason")}
	case ERROR:
		d.payloadArity(5)
		m = &Error{Type: d.reqType(1), Request: d.id(2, "Request"), Details: d.dict(3, "Details"),
			Error: d.uri(4, "Error"), Payload: d.payload(5)}
	case PUBLISH:
		d.payloadArity(4)
		m = &Publish{Request: d.id(1, "Request"), Options: d.dict(2, "Options"), Topic: d.uri(3, "Topic"),
			Payload: d.payload(4)}
	case PUBLISHED:
		d.arity(3)
		m = &Published{Request: d.id(1, "Request"), Publication: d.id(2, "Publication")}
	case SUBSCRIBE:
		d.arity(4)
		m = &Subscribe{Request: d.id(1, "Request"), Options: d.dict(2, "Options"), Topic: d.uri(3, "Topic")}
	case SUBSCRIBED:
		d.arity(3)
		m = &Subscribed{Request: d.id(1, "Request"), Subscription: d.id(2, "Subscription")}
	case UNSUBSCRIBE:
		d.arity(3)
		m = &Unsubscribe{Request: d.id(1, "Request"), Subscription: d.id(2, "Subscription")}
	case UNSUBSCRIBED:
		d.arity(2)
		m = &Unsubscribed{Request: d.id(1, "Request")}
	case EVENT:
		d.payloadArity(4)
		m = &Event{Subscription: d.id(1, "Subscription"), Publication: d.id(2, "Publication"),
			Details: d.dict(3, "Details"), Payload: d.payload(4)}
	case CALL:
		d.payloadArity(4)
		m = &Call{Request: d.id(1, "Request"), Options: d.dict(2, "Options"), Procedure: d.uri(3, "Procedure"),
			Payload: d.payload(4)}
	case CANCEL:
		d.arity(3)
		m = &Cancel{Request: d.id(1, "Request"), Options: d.dict(2, "Options")}
	case RESULT:
		d.payloadArity(3)
		m = &Result{Request: d.id(1, "Request"), Details: d.dict(2, "Details"), Payload: d.payload(3)}
	case REGISTER:
		d.arity(4)
		m = &Register{Request: d.id(1, "Request"), Options: d.dict(2, "Options"), Procedure: d.uri(3, "Procedure")}
	case REGISTERED:
		d.arity(3)
		m = &Registered{Request: d.id(1, "Request"), Registration: d.id(2, "Registration")}
	case UNREGISTER:
		d.arity(3)
		m = &Unregister{Request: d.id(1, "Request"), Registration: d.id(2, "Registration")}
	case UNREGISTERED:
		d.arity(2)
		m = &Unregistered{Request: d.id(1, "Request")}
	case INVOCATION:
		d.payloadArity(4)
		m = &Invocation{Request: d.id(1, "Request"), Registration: d.id(2, "Registration"),
			Details: d.dict(3, "Details"), Payload: d.payload(4)}
	case INTERRUPT:
		d.arity(3)
		m = &Interrupt{Request: d.id(1, "Request"), Options: d.dict(2, "Options")}
	case YIELD:
		d.payloadArity(3)
		m = &Yield{Request: d.id(1, "Request"), Options: d.dict(2, "Options"), Payload: d.payload(3)}
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

// decoder reads fields of a list; after the first error it returns zero values, so
// FromList can build the struct in one expression and check once.
type decoder struct {
	t   MessageType
	l   List
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = protoErrf("%v: "+format, append([]any{d.t}, args...)...)
	}
}

// failWith is fail for a value outside the dialect in the wrong place, keeping it as the
// error's cause for errors.Is.
func (d *decoder) failWith(cause *ValueError, format string, args ...any) {
	if d.err == nil {
		d.fail(format, args...)
		d.err.(*ProtocolError).Err = cause
	}
}

func (d *decoder) arity(n int) {
	if len(d.l) != n {
		d.fail("expected %d elements, got %d", n, len(d.l))
	}
}

// payloadArity allows the n fixed elements plus Arguments and ArgumentsKw.
func (d *decoder) payloadArity(n int) {
	if len(d.l) < n || len(d.l) > n+2 {
		d.fail("expected %d to %d elements, got %d", n, n+2, len(d.l))
	}
}

func (d *decoder) id(i int, name string) ID {
	if d.err != nil {
		return 0
	}
	v := d.l[i]
	n, ok := toInt64(v)
	if !ok {
		if u, isU := v.(uint64); isU {
			d.fail("%s %d exceeds 2^53", name, u)
		} else {
			d.fail("%s must be an integer, got %s", name, typeOf(v))
		}
		return 0
	}
	if n < 0 || n > int64(MaxID) {
		d.fail("%s %d out of range [0, 2^53]", name, n)
		return 0
	}
	return ID(n)
}

func (d *decoder) reqType(i int) MessageType {
	if d.err != nil {
		return 0
	}
	n, ok := toInt64(d.l[i])
	if !ok {
		d.fail("REQUEST.Type must be an integer, got %s", typeOf(d.l[i]))
		return 0
	}
	t := MessageType(n)
	if _, known := typeNames[t]; !known || int64(t) != n {
		d.fail("unknown REQUEST.Type %d", n)
		return 0
	}
	return t
}

func (d *decoder) str(i int, name string) string {
	if d.err != nil {
		return ""
	}
	s, ok := d.l[i].(string)
	if !ok {
		d.fail("%s must be a string, got %s", name, typeOf(d.l[i]))
	}
	return s
}

func (d *decoder) uri(i int, name string) string {
	s := d.str(i, name)
	if d.err == nil && s == "" {
		d.fail("%s must not be empty", name)
	}
	return s
}

func (d *decoder) dict(i int, name string) Dict {
	if d.err != nil {
		return nil
	}
	m, ok := d.l[i].(map[string]any)
	if !ok || m == nil {
		d.fail("%s must be a dict, got %s", name, typeOf(d.l[i]))
	}
	return m
}

func (d *decoder) payload(i int) Payload {
	if d.err != nil || len(d.l) <= i {
		return Payload{}
	}
	switch v := d.l[i].(type) {
	case []byte:
		if len(d.l) > i+1 {
			d.fail("nothing may follow a bare binary payload")
			return Payload{}
		}
		if v == nil {
			v = []byte{}
		}
		return Payload{Bare: v}
	case []any, *refusedValue:
		var refused *ValueError
		args, _ := v.([]any)
		if r, ok := v.(*refusedValue); ok {
			if r.kind != kindList {
				d.failWith(r.err, "Arguments must be a list or a binary payload, got %s", describeRefused(r))
				return Payload{}
			}
			refused = r.err
		}
		p := Payload{Args: args}
		if p.Args == nil {
			p.Args = List{}
		}
		if len(d.l) > i+1 {
			switch kw := d.l[i+1].(type) {
			case *refusedValue:
				if kw.kind != kindDict {
					d.failWith(kw.err, "ArgumentsKw must be a dict, got %s", describeRefused(kw))
					return Payload{}
				}
				if refused == nil {
					refused = kw.err
				}
			case map[string]any:
				if kw == nil {
					d.fail("ArgumentsKw must be a dict, got %s", typeOf(kw))
					return Payload{}
				}
				p.Kwargs = kw
			default:
				d.fail("ArgumentsKw must be a dict, got %s", typeOf(kw))
				return Payload{}
			}
		}
		if refused != nil {
			return Payload{Err: &PayloadError{Value: refused}}
		}
		return p
	default:
		d.fail("Arguments must be a list or a binary payload, got %s", typeOf(v))
		return Payload{}
	}
}

// toInt64 accepts every Go integer kind (lists built by hand as well as by serializers)
// and reports false for non-integers and for uint64 values above MaxInt64.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int16:
		return int64(n), true
	case int8:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint8:
		return int64(n), true
	case ID:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case MessageType:
		return int64(n), true
	}
	return 0, false
}

// typeOf names a value's kind in the WAMP vocabulary, for error messages.
func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case string:
		return "string"
	case []byte:
		return "binary"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case float32, float64:
		return "float"
	case *refusedValue:
		return describeRefused(v.(*refusedValue))
	}
	if _, ok := toInt64(v); ok {
		return "integer"
	}
	if _, ok := v.(uint64); ok {
		return "integer"
	}
	return fmt.Sprintf("%T", v)
}
