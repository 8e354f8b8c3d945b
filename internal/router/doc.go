// Package router is the engine of `cbx router`: a local WAMP router that carries
// Autobahn|Python's cryptobox-sealed payloads the way Crossbar.io does, so that cbx and
// Autobahn peers can be tested against each other without a Crossbar installation
// (wire.md §6.1(a)). Tests use it in-process:
//
//	srv, _ := router.New(router.Config{})
//	ts := httptest.NewServer(srv.Handler())   // ws://127.0.0.1:port/ws, realm1
//
// # Design
//
// Routing is done by nexus v3.3.0 (github.com/gammazero/nexus/v3/router), attached per
// client connection through a nexus wamp.Peer. The WebSocket side, the serializers and
// the message types are internal/wamp's; messages are converted between internal/wamp's
// and nexus's types explicitly per type (convert.go), so nexus's own serializers are never
// involved. That is what keeps a binary value binary across sessions that use different
// serializers (JSON's "\u0000"+base64, msgpack bin, CBOR byte string; wire.md §1.7),
// which nexus alone gets wrong (wire.md §3 "nexus").
//
// # Sealed payloads
//
// Autobahn|Python and Crossbar.io carry a sealed payload in the legacy form: enc_algo,
// enc_serializer (and optionally enc_key) in Options/Details and one bare binary value in
// place of Arguments (wire.md §1.1, §1.2). Nexus cannot route that form, so the adapter
// (adapter.go) rewrites it at the connection boundary:
//
//   - A PUBLISH with a bare payload keeps its Options, and its Arguments become one value
//     of the router's own that holds the payload and the enc_* values (legacyPayload):
//     nexus never looks inside Arguments and hands it to every subscriber's EVENT as it
//     is, so a sealed event costs the router what a plain one does.
//   - A CALL or YIELD with a bare payload travels the same way: nexus's dealer hands its
//     Arguments to the INVOCATION or RESULT as they are. (Not a CALL to a wamp. meta
//     procedure: it takes the PPT form below, which nexus refuses for the meta session.)
//   - An ERROR with a bare payload becomes nexus's Payload PassThru Mode
//     form (wire.md §2): Arguments = [payload], ppt_scheme "x_cbx_legacy", and
//     enc_algo/enc_serializer/enc_key carried as ppt_cipher/ppt_serializer/ppt_keyid.
//     Every session's HELLO gets payload_passthru_mode added to its client roles so that
//     nexus's PPT checks let these through.
//   - An EVENT, INVOCATION or RESULT carrying a legacyPayload, and an INVOCATION, RESULT
//     or ERROR in the PPT form above, is turned back into exactly what Crossbar sends (wire.md §3
//     "Crossbar.io"): enc_algo and enc_serializer (and enc_key if the sender gave one) in
//     Details, the bare binary payload, no ppt_* keys. Details nexus adds, such as topic
//     and procedure on pattern matches, are kept.
//   - Decision on receivers that announced neither payload_transparency nor
//     payload_passthru_mode: they get the bare form too. Crossbar sends it to every
//     receiver regardless of features, and Autobahn never checks them (wire.md §1.8).
//   - A client that speaks PPT itself (announced payload_passthru_mode and sends ppt_*)
//     gets PPT delivered unchanged. The spec's PPT rules are enforced against what each
//     client really announced: ppt_* from a client that did not announce the feature
//     aborts its session with wamp.error.protocol_violation; a PPT INVOCATION for a callee,
//     or a PPT RESULT for a caller, that did not announce it becomes ERROR
//     wamp.error.feature_not_supported to the caller (payload_passthru_mode.md); PPT
//     EVENTs are delivered as they are.
//   - Every WELCOME announces payload_transparency, payload_encryption_cryptobox and
//     payload_passthru_mode for the broker and the dealer, next to nexus's features.
//
// The router never looks inside a payload and holds no keys: it does not import
// internal/box, internal/keygen, internal/keystore or internal/e2e, not even in its tests
// (docs/architecture.md; internal/testkit/architecture_test.go checks this).
//
// # Bounded resources
//
// A WebSocket message larger than Config.MaxMessageSize (default 1 MiB) is refused and
// the connection closed with 1009 (counted in Stats.TooBig and logged). The same limit
// applies to what the router sends, and a message can grow beyond it once encoded for
// its receiver: JSON's base64 makes binary a third larger than msgpack or CBOR do, and
// an INVOCATION or EVENT carries more than the CALL or PUBLISH it came from. Such a
// message is never written, the connection stays up, it is counted in Stats.TooLarge,
// and no caller is left waiting: an INVOCATION fails the call (the caller gets ERROR
// wamp.error.payload_size_exceeded, the spec's error for a message that "could not be
// delivered due to transport payload size limits"), a RESULT or ERROR for a caller is
// replaced by that ERROR (after a progressive RESULT the call is also cancelled), and an
// EVENT is dropped for that subscriber and accounted for like the drops below. The call
// cases are logged and traced as "toolarge" lines. A message that cannot be encoded for
// its receiver at all is logged, counted in Stats.Undeliverable and skipped. A message
// that is malformed, or that breaks the rules above, ends the session with ABORT
// wamp.error.protocol_violation and close code 1002; one whose payload alone cannot be
// carried does not (below).
//
// # Refused payloads
//
// A PUBLISH, CALL, YIELD or ERROR that is a well-formed message but whose Arguments or
// ArgumentsKw hold a value outside internal/wamp's dialect (an integer beyond 64 bits,
// NaN, invalid UTF-8, nesting deeper than 100 levels, …; internal/wamp "Refused
// payloads") cannot be routed: the router could not write it exactly for a receiver on
// another serializer, and never alters a value. It is refused on its own and the sender's
// session goes on: the spec's answer to a payload a router cannot accept is ERROR
// wamp.error.invalid_argument (basic/bp_uris.md, "payload validation of a call, call
// result, call error or publish"), and a session abort would punish every other message
// of that client. An acknowledged PUBLISH and a CALL are answered with that ERROR; an
// unacknowledged PUBLISH is dropped, since nobody waits for an answer; a callee's YIELD or
// ERROR is replaced by that ERROR, which the caller gets, ending the call. Each refusal is
// counted in Stats.Refused, logged and traced ("refuse" lines). The texts sent name the
// reason but quote nothing of the value. The log takes at most five refusal warnings per
// session per second, so that a client sending bad payloads in a stream cannot flood it;
// the next warning, or a line when the session ends, says how many were not logged (the
// trace and Stats still have each one).
//
// Each session has an outbound queue between nexus and the connection's writer, bounded by
// Config.OutQueueSize messages and Config.OutQueueBytes bytes (defaults 65,536 and
// 64 MiB, message brokers' per-consumer limits; the bytes are an estimate of the
// payloads and Details held, outqueue.go). Nexus never meets a full queue: it hands each
// message to a short channel, which the connection's writer empties into the queue between
// writes, nexus's own goroutine when it is nearly full, and a timer every few
// milliseconds while a write lasts. So a burst is absorbed as long as the receiver keeps
// up on average, and a receiver that stops reading pins at most its limits (and the one
// message the writer is writing). The writer takes what the queue holds up to 64 KiB at a
// time and writes it in one system call; until it is written, all of it but the first
// message still counts against the limits. When its queue is at a limit:
//
//   - an EVENT for it is dropped, and the next EVENT the router does deliver on that
//     subscription carries Details._cbx_dropped, the number dropped for that subscription
//     since the previous one delivered (WAMP allows implementation-specific attributes
//     whose keys match _[a-z0-9_]{3,}, basic/messages.md "Extensibility"; clients that do
//     not know it ignore it; the Details are copied, never modified in place, as
//     everything nexus hands over);
//   - an INVOCATION is not delivered: the caller gets ERROR wamp.error.network_failure at
//     once;
//   - a RESULT, or an ERROR for a CALL, is replaced by ERROR wamp.error.network_failure
//     for the caller, and after a progressive RESULT the call is cancelled (CANCEL
//     killnowait on the caller's behalf) and nothing more of it is delivered: a caller
//     never waits for ever;
//   - anything else (WELCOME, PUBLISHED, SUBSCRIBED, GOODBYE, …) answers the client's own
//     requests and is kept, within a reserve above the limits; a client that exhausts even
//     the reserve sends requests but reads no replies, and its connection is closed with
//     1008 (counted in Stats.Overflowed, logged and traced as an "overflow" line).
//
// Every message not delivered is counted in Stats.Dropped and written to the trace as a
// "drop" line naming the limit, with that session's running total (dropped_total=N).
//
// An EVENT too large for a subscriber (above) is such a drop too: counted in Stats.Dropped,
// traced as a "drop" line with the running total, counted in the next EVENT's
// _cbx_dropped on that subscription, and reported in the same warnings, which say how
// many of the drops were too large.
//
// Drops are logged as warnings, at most one line per session per second, and every drop
// is reported exactly once, so that the counts in a session's warnings add up to the
// messages it lost: the first drop is reported at once and opens a one-second window;
// drops within the window are counted and reported together in one line when the window
// ends, whether or not more drops come, or when the session ends if that is sooner (that
// line says "closed"); the next drop after a report opens a new window. Nexus's own drop
// lines (a non-blocking send to a full channel) can only concern a session whose
// connection is already over; they are recognised and not logged (stats.go).
//
// On the way in, the router reads at most 16 messages of a client ahead of nexus (each at
// most Config.MaxMessageSize); then it reads no more until nexus has taken them, and
// the client's TCP window fills.
//
// A receiver whose connection accepts nothing for 30 seconds is disconnected
// (internal/wamp's write timeout). Publishers are not slowed down by slow subscribers.
//
// # Authentication
//
// Anonymous is allowed when no other method is configured, or when Config.Anonymous is
// set. Config.Tickets enables WAMP-Ticket, Config.WampcraSecrets WAMP-CRA (unsalted),
// Config.CryptosignKeys WAMP-Cryptosign (several keys per authid; no channel binding).
// Authenticated sessions get authrole "user", anonymous ones "anonymous"; there is no
// authorization: every session may do everything in its realm.
//
// # Trace
//
// With Config.Trace set, every message a client sends or is sent is written as one line;
// sealed payloads appear only as their length and the base64 of their first bytes. The
// format is described in trace.go.
package router
