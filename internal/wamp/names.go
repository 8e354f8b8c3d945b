package wamp

// This file is the one home of the names cbx puts in WAMP messages or reads from them:
// dictionary keys, feature and role names, match policies, cancel modes, authentication
// methods, serializer names, and error and close URIs. Client, router and payload codec
// all use these constants, so that a typo is a compile error and no two of them can
// spell a name differently. The code of internal/wamp and internal/router holds no such
// name as a string literal (names_test.go checks it).
//
// Spec references are to the WAMP specification (wamp-proto, rfc/text/…); "Autobahn"
// means Autobahn|Python 22.7.1 (wire.md §7).

// Keys of the Options and Details dictionaries of routing messages. A key the router
// copies from a message's Options into the Details it delivers has one name for both.
const (
	// OptAcknowledge asks the broker to answer a PUBLISH with PUBLISHED or ERROR
	// (basic/pubsub.md "Publishing and Events").
	OptAcknowledge = "acknowledge"
	// OptExcludeMe: false lets a publisher receive its own event; the default is true
	// (advanced/publisher_exclusion.md).
	OptExcludeMe = "exclude_me"
	// OptDiscloseMe asks the router to disclose the publisher or caller to the receiver
	// (advanced/publisher_identification.md, caller_identification.md).
	OptDiscloseMe = "disclose_me"
	// OptMatch is the match policy of a SUBSCRIBE or REGISTER, one of the Match*
	// values (advanced/pattern_based_subscription.md, pattern_based_registration.md).
	OptMatch = "match"
	// OptTopic is the EVENT Details key naming the concrete topic of a pattern
	// subscription's event (advanced/pattern_based_subscription.md).
	OptTopic = "topic"
	// OptProcedure is the INVOCATION Details key naming the concrete procedure of a
	// pattern registration's call (advanced/pattern_based_registration.md).
	OptProcedure = "procedure"
	// OptReceiveProgress asks for progressive results: CALL Options, then INVOCATION
	// Details (advanced/rpc_progressive_call_results.md).
	OptReceiveProgress = "receive_progress"
	// OptProgress marks a progressive result: YIELD Options, then RESULT Details
	// (advanced/rpc_progressive_call_results.md).
	OptProgress = "progress"
	// OptMode is the cancel mode of a CANCEL or INTERRUPT, one of the Cancel* values
	// (advanced/rpc_call_canceling.md).
	OptMode = "mode"
	// OptTimeout is CALL Options.timeout (advanced/rpc_call_timeout.md). cbx never sends
	// it: peers disagree on its unit (wire.md §5.13).
	OptTimeout = "timeout"
	// OptMessage is the human-readable reason in ABORT and GOODBYE Details
	// (basic/session.md "Session Closing").
	OptMessage = "message"

	// OptEncAlgo names the algorithm of Autobahn's sealed (bare binary) payload; cbx
	// sends and accepts [EncAlgoCryptobox] (wire.md §1.2).
	OptEncAlgo = "enc_algo"
	// OptEncSerializer names the serializer of that payload's plaintext; cbx sends and
	// accepts [SerializerJSON] (wire.md §1.2).
	OptEncSerializer = "enc_serializer"
	// OptEncKey names the key of that payload; Autobahn never sends it (wire.md §1.2).
	OptEncKey = "enc_key"

	// OptPPTScheme: a non-empty value makes a message Payload PassThru Mode
	// (advanced/payload_passthru_mode.md; wire.md §2.2).
	OptPPTScheme = "ppt_scheme"
	// OptPPTSerializer is the serializer of a PPT payload (wire.md §2.2).
	OptPPTSerializer = "ppt_serializer"
	// OptPPTCipher is the cipher of an encrypted PPT payload (wire.md §2.2).
	OptPPTCipher = "ppt_cipher"
	// OptPPTKeyID identifies the key of an encrypted PPT payload (wire.md §2.2).
	OptPPTKeyID = "ppt_keyid"

	// OptCBXDropped is cbx router's EVENT Details key counting the events it dropped for
	// that subscription since the previous one it delivered; the leading underscore
	// marks an implementation-specific key, which other clients ignore
	// (basic/messages.md "Extensibility"; wire.md §4.7).
	OptCBXDropped = "_cbx_dropped"
	// OptCBXQueueSize is cbx router's WELCOME Details key announcing how many messages
	// it queues for one client (--queue-size), so that cbx publish --stdin may keep more
	// publications unacknowledged than a router with nexus's 64-message queue allows
	// (an implementation-specific key, as OptCBXDropped; wire.md §4.7).
	OptCBXQueueSize = "_cbx_queue_size"
)

// Keys of the HELLO, WELCOME, CHALLENGE and AUTHENTICATE dictionaries (basic/session.md;
// advanced/authentication_*.md; wire.md §4.1, §4.5).
const (
	// OptRoles holds the roles of HELLO and WELCOME Details, by role name
	// (basic/session.md "HELLO").
	OptRoles = "roles"
	// OptFeatures holds a role's announced features, by feature name
	// (advanced/features.md; wire.md §1.8).
	OptFeatures = "features"
	// OptAuthID is the authentication ID in HELLO and WELCOME Details.
	OptAuthID = "authid"
	// OptAuthRole is the authentication role in HELLO and WELCOME Details.
	OptAuthRole = "authrole"
	// OptAuthMethods lists the methods a client offers in HELLO Details.
	OptAuthMethods = "authmethods"
	// OptAuthMethod is the method a router used, in WELCOME Details.
	OptAuthMethod = "authmethod"
	// OptAuthProvider names who authenticated the session, in WELCOME Details.
	OptAuthProvider = "authprovider"
	// OptAuthExtra holds method-specific data in HELLO and WELCOME Details.
	OptAuthExtra = "authextra"
	// OptPubKey is a cryptosign client's Ed25519 public key in hex, in authextra
	// (advanced/authentication_cryptosign.md).
	OptPubKey = "pubkey"
	// OptChallenge is the challenge in CHALLENGE Extra (wampcra: a JSON text;
	// cryptosign: 32 bytes in hex).
	OptChallenge = "challenge"
	// OptSalt, OptIterations and OptKeyLen are a salted WAMP-CRA challenge's key
	// derivation parameters (advanced/authentication_cra.md).
	OptSalt       = "salt"
	OptIterations = "iterations"
	OptKeyLen     = "keylen"
	// OptChannelBinding is cryptosign's channel binding, in authextra and CHALLENGE
	// Extra; cbx supports none (advanced/authentication_cryptosign.md).
	OptChannelBinding = "channel_binding"
)

// Authentication methods, as named in HELLO.Details.authmethods and CHALLENGE
// (advanced/authentication.md; wire.md §4.5).
const (
	// AuthAnonymous is the method of a session that offers none.
	AuthAnonymous = "anonymous"
	// AuthTicket is WAMP-Ticket (advanced/authentication_ticket.md).
	AuthTicket = "ticket"
	// AuthWampCRA is WAMP-CRA (advanced/authentication_cra.md).
	AuthWampCRA = "wampcra"
	// AuthCryptosign is WAMP-Cryptosign (advanced/authentication_cryptosign.md).
	AuthCryptosign = "cryptosign"
)

// Roles, as keys of HELLO.Details.roles (clients) and WELCOME.Details.roles (routers)
// (basic/session.md "HELLO", "WELCOME"; wire.md §4.3).
const (
	RolePublisher  = "publisher"
	RoleSubscriber = "subscriber"
	RoleCaller     = "caller"
	RoleCallee     = "callee"
	RoleBroker     = "broker"
	RoleDealer     = "dealer"
)

// Feature names announced in a role's features (advanced/features.md; wire.md §1.8).
const (
	// FeaturePayloadTransparency: bare binary payloads, as Autobahn and Crossbar.io
	// announce them for the legacy sealed form (wire.md §1.8).
	FeaturePayloadTransparency = "payload_transparency"
	// FeaturePayloadEncryptionCryptobox: Autobahn's cryptobox payload encryption
	// (wire.md §1.8).
	FeaturePayloadEncryptionCryptobox = "payload_encryption_cryptobox"
	// FeaturePayloadPassthruMode: Payload PassThru Mode
	// (advanced/payload_passthru_mode.md "Feature Announcement"; wire.md §2.1).
	FeaturePayloadPassthruMode = "payload_passthru_mode"
	// FeatureProgressiveCallResults (advanced/rpc_progressive_call_results.md).
	FeatureProgressiveCallResults = "progressive_call_results"
	// FeatureCallCanceling (advanced/rpc_call_canceling.md).
	FeatureCallCanceling = "call_canceling"
	// FeaturePatternBasedSubscription (advanced/pattern_based_subscription.md).
	FeaturePatternBasedSubscription = "pattern_based_subscription"
	// FeaturePatternBasedRegistration (advanced/pattern_based_registration.md).
	FeaturePatternBasedRegistration = "pattern_based_registration"
	// FeaturePublisherExclusion (advanced/publisher_exclusion.md).
	FeaturePublisherExclusion = "publisher_exclusion"
)

// Match policies, the values of [OptMatch] (advanced/pattern_based_subscription.md,
// pattern_based_registration.md); [URIMatches] implements them.
const (
	// MatchExact, the default: the URI itself.
	MatchExact = "exact"
	// MatchPrefix: every URI that starts with the pattern, character by character
	// (wire.md §5.8).
	MatchPrefix = "prefix"
	// MatchWildcard: every URI with as many components, an empty pattern component
	// matching any one.
	MatchWildcard = "wildcard"
)

// Cancel modes, the values of [OptMode] in CANCEL and INTERRUPT
// (advanced/rpc_call_canceling.md; wire.md §4.6).
const (
	// CancelSkip: the caller gets ERROR wamp.error.canceled at once; the callee is
	// not told.
	CancelSkip = "skip"
	// CancelKill: the callee is interrupted, and the caller gets its answer.
	CancelKill = "kill"
	// CancelKillNoWait: the callee is interrupted, and the caller gets ERROR
	// wamp.error.canceled at once.
	CancelKillNoWait = "killnowait"
)

// Payload attribute values cbx writes and accepts (wire.md §1.2, §2.4).
const (
	// EncAlgoCryptobox is the [OptEncAlgo] of Autobahn's cryptobox (wire.md §1.2).
	EncAlgoCryptobox = "cryptobox"
	// PPTSchemeWAMP is the [OptPPTScheme] of end-to-end encryption
	// (advanced/payload_passthru_mode.md; wire.md §2.2).
	PPTSchemeWAMP = "wamp"
	// PPTCipherXSalsa20Poly1305 is the [OptPPTCipher] of NaCl's box (wire.md §2.2).
	PPTCipherXSalsa20Poly1305 = "xsalsa20poly1305"
)

// Serializer names: a [Serializer]'s Name, and the values of [OptEncSerializer] and
// [OptPPTSerializer] (wire.md §1.2, §2.2).
const (
	SerializerJSON    = "json"
	SerializerMsgPack = "msgpack"
	SerializerCBOR    = "cbor"
)

// WebSocket subprotocols, a [Serializer]'s Subprotocol (basic/transport "WebSocket
// Transport"; wire.md §4.2).
const (
	SubprotocolJSON    = "wamp.2.json"
	SubprotocolMsgPack = "wamp.2.msgpack"
	SubprotocolCBOR    = "wamp.2.cbor"
)

// Error URIs: the Error of an ERROR, or the Reason of an ABORT. The spec predefines
// most of them, in basic/uri_reference.md and advanced/uris.md; where a URI is a
// convention of implementations instead, its comment says whose.
const (
	// ErrURIInvalidURI: a URI in a message is not a valid URI (basic/uri_reference.md
	// "Incorrect URIs").
	ErrURIInvalidURI = "wamp.error.invalid_uri"
	// ErrURINoSuchProcedure: no procedure is registered under the called URI
	// (basic/uri_reference.md "Interaction").
	ErrURINoSuchProcedure = "wamp.error.no_such_procedure"
	// ErrURIProcedureAlreadyExists: a procedure is already registered under the URI
	// (basic/uri_reference.md "Interaction").
	ErrURIProcedureAlreadyExists = "wamp.error.procedure_already_exists"
	// ErrURINoSuchRegistration: an UNREGISTER or INVOCATION names no active
	// registration (basic/uri_reference.md "Interaction").
	ErrURINoSuchRegistration = "wamp.error.no_such_registration"
	// ErrURINoSuchSubscription: an UNSUBSCRIBE names no active subscription
	// (basic/uri_reference.md "Interaction").
	ErrURINoSuchSubscription = "wamp.error.no_such_subscription"
	// ErrURIInvalidArgument is the spec's error for arguments "not acceptable to the
	// called procedure", which "a Router may throw ... if it performed payload validation
	// of a call, call result, call error or publish" (basic/uri_reference.md
	// "Interaction"). It answers a call whose payload was refused (package comment,
	// "Refused payloads").
	ErrURIInvalidArgument = "wamp.error.invalid_argument"
	// ErrURICanceled: the dealer or callee canceled the call (basic/uri_reference.md
	// "Interaction"; advanced/rpc_call_canceling.md). cbx answers an INTERRUPT with it.
	ErrURICanceled = "wamp.error.canceled"
	// ErrURIPayloadSizeExceeded is the spec's error for "a message could not be
	// delivered due to transport payload size limits" (basic/uri_reference.md
	// "Interaction"); Autobahn's PAYLOAD_SIZE_EXCEEDED.
	ErrURIPayloadSizeExceeded = "wamp.error.payload_size_exceeded"
	// ErrURIProtocol is the ABORT reason for a protocol violation (basic/uri_reference.md
	// "Session Close"; basic/session.md "Protocol Violations").
	ErrURIProtocol = "wamp.error.protocol_violation"
	// ErrURINotAuthorized: the peer may not do what it asked (basic/uri_reference.md
	// "Authorization").
	ErrURINotAuthorized = "wamp.error.not_authorized"
	// ErrURIAuthorizationFailed: the router's authorizer itself failed
	// (basic/uri_reference.md "Authorization").
	ErrURIAuthorizationFailed = "wamp.error.authorization_failed"
	// ErrURINoSuchRealm: HELLO named a realm the router does not serve
	// (basic/uri_reference.md "Authorization").
	ErrURINoSuchRealm = "wamp.error.no_such_realm"
	// ErrURINoSuchRole: the session was to get a role the router does not have
	// (basic/uri_reference.md "Authorization").
	ErrURINoSuchRole = "wamp.error.no_such_role"
	// ErrURIAuthenticationFailed: the ABORT reason for a failed authentication
	// (advanced/uris.md "Authentication"; wire.md §4.4). cbx sends it for a CHALLENGE
	// it did not expect or cannot answer.
	ErrURIAuthenticationFailed = "wamp.error.authentication_failed"
	// ErrURINoAuthMethod: the router allows none of the offered methods; Autobahn's and
	// Crossbar.io's name for the spec's wamp.error.no_matching_auth_method
	// (advanced/uris.md "Authentication"; wire.md §4.4).
	ErrURINoAuthMethod = "wamp.error.no_auth_method"
	// ErrURIFeatureNotSupported: a message uses a feature its receiver did not announce,
	// e.g. PPT (advanced/uris.md "Remote Procedure Calls";
	// advanced/payload_passthru_mode.md; wire.md §2.1).
	ErrURIFeatureNotSupported = "wamp.error.feature_not_supported"
	// ErrURIRuntime is a callee's failure without a URI of its own; not predefined by
	// the spec, but what AutobahnJS and other implementations send for it.
	ErrURIRuntime = "wamp.error.runtime_error"
	// ErrURINoAvailableCallee: the procedure is registered, but no callee can take the
	// call (advanced/uris.md "Remote Procedure Calls").
	ErrURINoAvailableCallee = "wamp.error.no_available_callee"
	// ErrURINetworkFailure: the router could not deliver a call or its result
	// (advanced/uris.md "Remote Procedure Calls": "a Router encountered a network
	// failure"). nexus sends it for a blocked callee, cbx router for a full outbound
	// queue (wire.md §4.7).
	ErrURINetworkFailure = "wamp.error.network_failure"

	// ErrURINoPayloadCodec: a sealed payload reached a peer that has no codec for it
	// (Autobahn ENC_NO_PAYLOAD_CODEC; wire.md §1.5 "Failures on receive").
	ErrURINoPayloadCodec = "wamp.error.no_payload_codec"
	// ErrURIDecrypt: no key for the URI, or the payload does not decrypt (Autobahn
	// ENC_DECRYPT_ERROR; wire.md §1.5 "Failures on receive").
	ErrURIDecrypt = "wamp.error.encryption.decrypt_error"
	// ErrURITrustedMismatch: the payload, or the router, names another URI than the one
	// the message is trusted for (Autobahn ENC_TRUSTED_URI_MISMATCH; wire.md §1.5
	// "Failures on receive").
	ErrURITrustedMismatch = "wamp.error.encryption.trusted_uri_mismatch"
	// ErrURIEncryptionUnsupported: a sealed payload in a form cbx does not open (another
	// enc_algo, ppt_cipher or serializer); cbx's own URI, where Autobahn would report a
	// decrypt error (wire.md §1.2).
	ErrURIEncryptionUnsupported = "wamp.error.encryption.unsupported"
	// ErrURIPlaintextRefused: a plaintext payload on a URI that must be sealed
	// (cbx register --require-encrypted); cbx's own URI (wire.md §1.5 "Where cbx departs
	// from Autobahn here").
	ErrURIPlaintextRefused = "wamp.error.encryption.plaintext_refused"
)

// Close URIs: the Reason of a GOODBYE, or of an ABORT that ends an established session
// (basic/uri_reference.md "Session Close"; basic/session.md "Session Closing").
const (
	// CloseURINormal is the reason of a GOODBYE a client sends to leave (Autobahn's
	// default, CloseDetails.REASON_DEFAULT).
	CloseURINormal = "wamp.close.normal"
	// CloseURIGoodbyeAndOut answers the peer's GOODBYE (basic/uri_reference.md).
	CloseURIGoodbyeAndOut = "wamp.close.goodbye_and_out"
	// CloseURISystemShutdown: the router is shutting down (basic/uri_reference.md).
	CloseURISystemShutdown = "wamp.close.system_shutdown"
	// CloseURICloseRealm: the realm is closing (basic/uri_reference.md).
	CloseURICloseRealm = "wamp.close.close_realm"
	// CloseURIKilled: someone ended the session on purpose; Crossbar.io's reason for
	// wamp.session.kill (advanced/session_meta_api.md).
	CloseURIKilled = "wamp.close.killed"
)
