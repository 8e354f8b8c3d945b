// Package wamp is cbx's WAMP v2 protocol layer: message types, serializers, the WebSocket
// transport and a client session.
//
// It knows nothing of keys. Sealed payloads enter it only as data: a message's
// application payload is a [Payload], which holds either Arguments (+ ArgumentsKw) or a
// single bare binary value, Autobahn|Python's cryptobox form (wire.md §1.1), and the
// `enc_*` / `ppt_*` options travel untouched in the Options/Details dictionaries.
//
// Messages are plain structs. Each type's doc comment gives its wire layout as in the WAMP
// spec (rfc/text/basic/messages.md). [ToList] turns a message into its list form and
// [FromList] back; serializers only translate between that list form and bytes.
//
// # The value dialect
//
// Every application value cbx handles (Arguments, ArgumentsKw, Options, Details; the
// payload sealed inside a cryptobox or PPT plaintext; command-line arguments and output
// lines) follows one dialect, implemented once in this package and used by the three
// serializers, by internal/e2e for sealed plaintexts and by cmd/cbx. Its rule is that a
// value is carried exactly or refused with a [*ValueError]; it is never rounded, replaced
// or truncated, and what one reader accepts every writer can write.
//
// The value model is nil, bool, int64, uint64 (only above MaxInt64), float64, string,
// []byte, []any and map[string]any. Decoders produce exactly these types; encoders also
// accept other Go integer and float kinds ([Normalize]). The rules, and why:
//
//   - Integers are exact in [-2^63, 2^64-1]; outside it they are refused
//     ([ErrIntegerRange]). msgpack has no wider integer, CBOR only a bignum tag Autobahn's
//     cbor2 would write but msgpack could not relay, and turning them into floats (what
//     encoding/json and JavaScript do) silently changes their digits. Python writes them
//     exactly, so refusing is the only faithful answer.
//   - JSON number text without fraction or exponent is an integer, with one: a float, as
//     Python's json module reads it. So -0 reads as the integer 0 (Python: int("-0") == 0)
//     while -0.0 stays a negative-zero float, and 1.0 stays a float.
//   - Floats are float64 and finite. NaN and ±Inf are refused ([ErrFloatRange]) by every
//     serializer, not only JSON: JSON has no form for them (Python's NaN/Infinity tokens are
//     not JSON), so a value one serializer accepted could not be printed or relayed by
//     another. JSON number text beyond the float64 range (1e400, which Python reads as
//     inf) is refused too; text that merely needs rounding (0.1) is read as the nearest
//     float64, as on every peer.
//   - Floats are written as Python's repr writes them (1.0, -0.0, 1e+16, 1e-05), so that
//     an integral float stays a float on the other side and the JSON is byte-identical to
//     Autobahn's _dumps.
//   - Text is UTF-8 ([ErrInvalidUTF8]): raw bytes that are not UTF-8 and escaped lone
//     UTF-16 surrogates are refused on input, in frames, in plaintexts and on the command
//     line, never replaced by U+FFFD (encoding/json's behaviour). WAMP strings are Unicode;
//     Autobahn's msgpack and CBOR readers reject such bytes too. Binary data is []byte.
//   - Binary, in JSON, is a string of U+0000 followed by standard padded base64 (WAMP spec
//     advanced/serialization_binary_json.md, Autobahn serializer.py), at any depth but
//     never as a dict key (Autobahn converts only values). Base64 is read strictly, so the
//     bytes write back to the same text. Consequently a string starting with U+0000 that is
//     not valid binary, and text starting with U+0000 in any serializer, is refused
//     ([ErrBinaryText]): JSON could only turn it into binary.
//   - Nesting: one value may hold lists and dicts [MaxDepth] levels deep; scalars count 0,
//     [] 1, [[]] 2. Documents add their own levels ([Nest]): a WAMP message and a sealed
//     plaintext add two (the message list or plaintext object, then the Arguments list or
//     ArgumentsKw dict), so every serializer reads and writes frames up to MaxDepth+2 and
//     the same value passes or fails everywhere: whatever cbx seal accepts, cbx open
//     accepts, and one level more is refused by both ([ErrTooDeep]).
//   - JSON output is compact, with Python's escapes (control characters, quote and
//     backslash; everything else raw UTF-8, nothing HTML-escaped) and dict keys sorted (a Go
//     map has no order; Python keeps insertion order, and readers do not care).
//
// Readers tell "not JSON" ([*SyntaxError], judged on the whole text first) from "JSON
// holding a value outside the dialect" ([*ValueError]), because the command line sends
// the first as a string and refuses the second. The texts of the Err* reasons carry no
// data of the value, so they may be reported to a peer about a sealed payload.
//
// # Refused payloads
//
// A received frame that is a well-formed WAMP message except that its Arguments or
// ArgumentsKw hold a value outside the dialect (including a type with no WAMP form: a
// msgpack extension, a CBOR tag or simple value, a dict key that is not text) decodes
// anyway: the message comes back with [Payload].Err set to a [*PayloadError] and no
// Args or Kwargs. This holds for every message that has a payload (EVENT, INVOCATION,
// RESULT and ERROR as a client receives them; PUBLISH, CALL and YIELD as a router does).
// The alternative, a protocol error, ends the session (basic/session.md "Protocol
// Violations"), and the payload is whatever the application at the other end chose to
// send: a publisher that sends 2^70 in plaintext (Python's json writes it, Autobahn and
// Crossbar.io route it) would otherwise end every cbx subscriber of the topic, losing
// every later event. So the one message is refused, the receiver is told, and the session
// goes on; what the receiver does about it is its own decision ([Session] hands it on).
//
// The message's own fields stay strict: an ID, URI or type code, or an Options or Details
// dict, holding a value outside the dialect is a [*ProtocolError] as before. Those fields
// are what routing and the receiver's checks act on (the subscription, the request a
// reply answers, the enc_* and ppt_* attributes that say whether a payload is sealed, the
// topic a pattern match names); a frame whose own fields cannot be read cannot be
// trusted to be what it claims, and acting on part of it would be guessing. So is any
// frame that is malformed besides, and a payload slot of the wrong shape (Arguments that
// are not a list, ArgumentsKw that is not a dict). A sealed (bare binary) payload is one
// binary value and is never refused here; its plaintext is judged when it is opened.
//
// Good frames are decoded once, by the strict readers. Only a frame whose strict decoding
// met a value outside the dialect is read a second time, element by element: the
// top-level elements are delimited by iterative scanners that never recurse (a payload
// nested a million levels deep is skipped, not walked), and the elements are decoded
// with the same readers and limits.
package wamp

import "fmt"

// MessageType is the integer code that starts every WAMP message.
type MessageType int

// Message codes, WAMP spec basic/messages.md "Message Codes and Direction" and
// advanced/messages.md.
const (
	HELLO        MessageType = 1
	WELCOME      MessageType = 2
	ABORT        MessageType = 3
	CHALLENGE    MessageType = 4
	AUTHENTICATE MessageType = 5
	GOODBYE      MessageType = 6
	ERROR        MessageType = 8
	PUBLISH      MessageType = 16
	PUBLISHED    MessageType = 17
	SUBSCRIBE    MessageType = 32
	SUBSCRIBED   MessageType = 33
	UNSUBSCRIBE  MessageType = 34
	UNSUBSCRIBED MessageType = 35
	EVENT        MessageType = 36
	CALL         MessageType = 48
	CANCEL       MessageType = 49
	RESULT       MessageType = 50
	REGISTER     MessageType = 64
	REGISTERED   MessageType = 65
	UNREGISTER   MessageType = 66
	UNREGISTERED MessageType = 67
	INVOCATION   MessageType = 68
	INTERRUPT    MessageType = 69
	YIELD        MessageType = 70
)

var typeNames = map[MessageType]string{
	HELLO: "HELLO", WELCOME: "WELCOME", ABORT: "ABORT", CHALLENGE: "CHALLENGE",
	AUTHENTICATE: "AUTHENTICATE", GOODBYE: "GOODBYE", ERROR: "ERROR", PUBLISH: "PUBLISH",
	PUBLISHED: "PUBLISHED", SUBSCRIBE: "SUBSCRIBE", SUBSCRIBED: "SUBSCRIBED",
	UNSUBSCRIBE: "UNSUBSCRIBE", UNSUBSCRIBED: "UNSUBSCRIBED", EVENT: "EVENT", CALL: "CALL",
	CANCEL: "CANCEL", RESULT: "RESULT", REGISTER: "REGISTER", REGISTERED: "REGISTERED",
	UNREGISTER: "UNREGISTER", UNREGISTERED: "UNREGISTERED", INVOCATION: "INVOCATION",
	INTERRUPT: "INTERRUPT", YIELD: "YIELD",
}

func (t MessageType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("MessageType(%d)", int(t))
}

// ID is a WAMP identifier: session, request, subscription, registration and publication
// IDs. The spec (basic/messages.md "IDs") limits them to [1, 2^53] so that they survive
// JSON numbers in JavaScript.
type ID uint64

// MaxID is the largest ID the spec allows (2^53).
const MaxID ID = 1 << 53

// Dict is a WAMP dictionary: Options, Details, ArgumentsKw.
type Dict = map[string]any

// List is a WAMP list: Arguments.
type List = []any

// Message is any WAMP message.
type Message interface {
	MessageType() MessageType
}

// Payload is the application payload slot shared by PUBLISH, EVENT, CALL, RESULT,
// INVOCATION, YIELD and ERROR.
//
// It holds either Args/Kwargs, the ordinary form, or Bare, one binary value standing in
// place of the Arguments list with no ArgumentsKw after it. The bare form is how
// Autobahn|Python and Crossbar.io carry a cryptobox-sealed payload (`enc_algo` in the
// Options/Details; wire.md §1.1). Bare is non-nil exactly when the bare form is used.
// Payload PassThru Mode (`ppt_*`) uses the ordinary form with Args = [binary].
//
// Err is set only on a received message whose Arguments or ArgumentsKw hold a value
// outside the dialect (see "Refused payloads" in the package comment): it is a
// [*PayloadError], and Args, Kwargs and Bare are nil. Such a payload cannot be sent on:
// encoding it is an error.
type Payload struct {
	Args   List
	Kwargs Dict
	Bare   []byte
	Err    error
}

// IsBare reports whether the payload is in Autobahn's bare binary form.
func (p Payload) IsBare() bool { return p.Bare != nil }

// IsEmpty reports whether there is nothing to put on the wire after the fixed fields.
func (p Payload) IsEmpty() bool {
	return p.Err == nil && p.Bare == nil && len(p.Args) == 0 && len(p.Kwargs) == 0
}

// Hello is sent by a client to join a realm.
//
//	[HELLO, Realm|uri, Details|dict]
type Hello struct {
	Realm   string
	Details Dict
}

// Welcome is the router's answer to a successful HELLO (or AUTHENTICATE).
//
//	[WELCOME, Session|id, Details|dict]
type Welcome struct {
	Session ID
	Details Dict
}

// Abort ends a session that was never established, or ends it abruptly.
//
//	[ABORT, Details|dict, Reason|uri]
type Abort struct {
	Details Dict
	Reason  string
}

// Challenge is the router's authentication challenge.
//
//	[CHALLENGE, AuthMethod|string, Extra|dict]
type Challenge struct {
	AuthMethod string
	Extra      Dict
}

// Authenticate is the client's answer to a CHALLENGE.
//
//	[AUTHENTICATE, Signature|string, Extra|dict]
type Authenticate struct {
	Signature string
	Extra     Dict
}

// Goodbye closes an established session; the peer answers with its own GOODBYE.
//
//	[GOODBYE, Details|dict, Reason|uri]
type Goodbye struct {
	Details Dict
	Reason  string
}

// Error reports the failure of a request (SUBSCRIBE, CALL, INVOCATION, …).
//
//	[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri]
//	[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list]
//	[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list, ArgumentsKw|dict]
//	[ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Payload|binary]   (Autobahn cryptobox)
type Error struct {
	Type    MessageType
	Request ID
	Details Dict
	Error   string
	Payload
}

// Publish asks the broker to publish an event.
//
//	[PUBLISH, Request|id, Options|dict, Topic|uri]
//	[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list]
//	[PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]
//	[PUBLISH, Request|id, Options|dict, Topic|uri, Payload|binary]   (Autobahn cryptobox)
type Publish struct {
	Request ID
	Options Dict
	Topic   string
	Payload
}

// Published acknowledges a PUBLISH sent with `acknowledge: true`.
//
//	[PUBLISHED, PUBLISH.Request|id, Publication|id]
type Published struct {
	Request     ID
	Publication ID
}

// Subscribe asks the broker for events on a topic (or a pattern, Options.match).
//
//	[SUBSCRIBE, Request|id, Options|dict, Topic|uri]
type Subscribe struct {
	Request ID
	Options Dict
	Topic   string
}

// Subscribed acknowledges a SUBSCRIBE.
//
//	[SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]
type Subscribed struct {
	Request      ID
	Subscription ID
}

// Unsubscribe ends a subscription.
//
//	[UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]
type Unsubscribe struct {
	Request      ID
	Subscription ID
}

// Unsubscribed acknowledges an UNSUBSCRIBE.
//
//	[UNSUBSCRIBED, UNSUBSCRIBE.Request|id]
type Unsubscribed struct {
	Request ID
}

// Event delivers a publication to a subscriber.
//
//	[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict]
//	[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, PUBLISH.Arguments|list]
//	[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, PUBLISH.Arguments|list, PUBLISH.ArgumentsKw|dict]
//	[EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, Payload|binary]   (Autobahn cryptobox)
type Event struct {
	Subscription ID
	Publication  ID
	Details      Dict
	Payload
}

// Call invokes a procedure.
//
//	[CALL, Request|id, Options|dict, Procedure|uri]
//	[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list]
//	[CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]
//	[CALL, Request|id, Options|dict, Procedure|uri, Payload|binary]   (Autobahn cryptobox)
type Call struct {
	Request   ID
	Options   Dict
	Procedure string
	Payload
}

// Cancel asks the dealer to cancel a pending call (advanced/rpc_call_canceling.md).
//
//	[CANCEL, CALL.Request|id, Options|dict]
type Cancel struct {
	Request ID
	Options Dict
}

// Result carries a call's result (Details.progress for a progressive one).
//
//	[RESULT, CALL.Request|id, Details|dict]
//	[RESULT, CALL.Request|id, Details|dict, YIELD.Arguments|list]
//	[RESULT, CALL.Request|id, Details|dict, YIELD.Arguments|list, YIELD.ArgumentsKw|dict]
//	[RESULT, CALL.Request|id, Details|dict, Payload|binary]   (Autobahn cryptobox)
type Result struct {
	Request ID
	Details Dict
	Payload
}

// Register asks the dealer to route calls of a procedure (or pattern) to this session.
//
//	[REGISTER, Request|id, Options|dict, Procedure|uri]
type Register struct {
	Request   ID
	Options   Dict
	Procedure string
}

// Registered acknowledges a REGISTER.
//
//	[REGISTERED, REGISTER.Request|id, Registration|id]
type Registered struct {
	Request      ID
	Registration ID
}

// Unregister ends a registration.
//
//	[UNREGISTER, Request|id, REGISTERED.Registration|id]
type Unregister struct {
	Request      ID
	Registration ID
}

// Unregistered acknowledges an UNREGISTER.
//
//	[UNREGISTERED, UNREGISTER.Request|id]
type Unregistered struct {
	Request ID
}

// Invocation asks a callee to run a call.
//
//	[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict]
//	[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, CALL.Arguments|list]
//	[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, CALL.Arguments|list, CALL.ArgumentsKw|dict]
//	[INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, Payload|binary]   (Autobahn cryptobox)
type Invocation struct {
	Request      ID
	Registration ID
	Details      Dict
	Payload
}

// Interrupt tells a callee that the dealer cancelled an invocation.
//
//	[INTERRUPT, INVOCATION.Request|id, Options|dict]
type Interrupt struct {
	Request ID
	Options Dict
}

// Yield is a callee's result (Options.progress for a progressive one).
//
//	[YIELD, INVOCATION.Request|id, Options|dict]
//	[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list]
//	[YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]
//	[YIELD, INVOCATION.Request|id, Options|dict, Payload|binary]   (Autobahn cryptobox)
type Yield struct {
	Request ID
	Options Dict
	Payload
}

func (*Hello) MessageType() MessageType        { return HELLO }
func (*Welcome) MessageType() MessageType      { return WELCOME }
func (*Abort) MessageType() MessageType        { return ABORT }
func (*Challenge) MessageType() MessageType    { return CHALLENGE }
func (*Authenticate) MessageType() MessageType { return AUTHENTICATE }
func (*Goodbye) MessageType() MessageType      { return GOODBYE }
func (*Error) MessageType() MessageType        { return ERROR }
func (*Publish) MessageType() MessageType      { return PUBLISH }
func (*Published) MessageType() MessageType    { return PUBLISHED }
func (*Subscribe) MessageType() MessageType    { return SUBSCRIBE }
func (*Subscribed) MessageType() MessageType   { return SUBSCRIBED }
func (*Unsubscribe) MessageType() MessageType  { return UNSUBSCRIBE }
func (*Unsubscribed) MessageType() MessageType { return UNSUBSCRIBED }
func (*Event) MessageType() MessageType        { return EVENT }
func (*Call) MessageType() MessageType         { return CALL }
func (*Cancel) MessageType() MessageType       { return CANCEL }
func (*Result) MessageType() MessageType       { return RESULT }
func (*Register) MessageType() MessageType     { return REGISTER }
func (*Registered) MessageType() MessageType   { return REGISTERED }
func (*Unregister) MessageType() MessageType   { return UNREGISTER }
func (*Unregistered) MessageType() MessageType { return UNREGISTERED }
func (*Invocation) MessageType() MessageType   { return INVOCATION }
func (*Interrupt) MessageType() MessageType    { return INTERRUPT }
func (*Yield) MessageType() MessageType        { return YIELD }
