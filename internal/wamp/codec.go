package wamp

import (
	"errors"
	"maps"
)

// PayloadCodec is the only way payload sealing enters a session: package wamp never sees
// keys. internal/e2e implements it over a keystore (e2e.Codec).
//
// Sealing follows Autobahn (wire.md §1.5): PUBLISH/CALL are originating; YIELD and ERROR
// (sent by the callee) are not; EVENT/INVOCATION are opened as responder
// (originating=false); RESULT/ERROR received by the caller are opened as originator
// (originating=true).
type PayloadCodec interface {
	// Seal returns the payload and the options to merge into Options for an outgoing
	// message, or ok=false to send args/kwargs in plaintext. An error means the message
	// must not go out at all, not even in plaintext. opts must be a Dict of its own for
	// this message: the session adds the message's other options to it and sends it
	// (as ReplySealer's SealReply).
	Seal(originating bool, uri string, args List, kwargs Dict) (p Payload, opts Dict, ok bool, err error)
	// Sealed reports whether an incoming message (its payload and Details/Options) is sealed.
	Sealed(p Payload, details Dict) bool
	// Open opens a sealed payload for the envelope uri (the trusted-URI check is the
	// codec's job). opened says, in the codec's own terms, what opened it (e2e.Codec names
	// the keystore entry, the key's generation and fingerprints), for the receiver to
	// show; the session hands it on ([EventInfo].Opened, …) without reading it. It may
	// be the same Dict for many payloads: its readers must not change it.
	Open(originating bool, uri string, p Payload, details Dict) (args List, kwargs Dict, opened Dict, err error)
}

// ReplySealer is a [PayloadCodec] that seals a callee's reply (a YIELD, or the ERROR
// answering an INVOCATION) with regard to what opened the request: replyTo is the opened
// value its Open returned for the INVOCATION. e2e.Codec implements it so that a reply is
// sealed with the key generation that opened the request, the one the caller holds while
// the two sides rotate keys. The session uses it, when the codec has it, for every reply
// to a sealed INVOCATION, and Seal for everything else.
type ReplySealer interface {
	SealReply(replyTo Dict, uri string, args List, kwargs Dict) (p Payload, opts Dict, ok bool, err error)
}

// JSONArgsCodec is a [PayloadCodec] that also seals and opens an Arguments list given as
// its JSON text in canonical form ([CanonicalJSONList]). A sealed plaintext is JSON
// (wire.md §1.3), as the command line's input and output lines are, so such a text can go
// from a line into a plaintext, and from a plaintext into a line, as it is: its values
// are neither built nor written again, which for a short event was a third of what
// sealing and opening cost beside the cipher. e2e.Codec implements it.
type JSONArgsCodec interface {
	PayloadCodec
	// SealJSON is Seal for args given as canonical JSON text, and no kwargs. The text is
	// not kept.
	SealJSON(originating bool, uri string, argsJSON []byte) (p Payload, opts Dict, ok bool, err error)
	// OpenJSON is Open that gives the args as canonical JSON text (argsJSON, a copy of its
	// own, with args nil) when the plaintext holds them in that form, kwargs as Open
	// gives them; otherwise it returns what Open returns, argsJSON nil. Either way a
	// payload opens, or is refused, exactly as Open would have it.
	OpenJSON(originating bool, uri string, p Payload, details Dict) (argsJSON []byte, args List, kwargs Dict, opened Dict, err error)
}

// CodecError is an error from a [PayloadCodec] that names the WAMP error URI to reply
// with when an INVOCATION cannot be opened, e.g. wamp.error.encryption.trusted_uri_mismatch
// (Autobahn exception.py; wire.md §1.5 "Failures on receive").
type CodecError interface {
	error
	WAMPErrorURI() string
}

type codecURIError struct {
	uri, msg string
}

func (e *codecURIError) Error() string        { return e.msg }
func (e *codecURIError) WAMPErrorURI() string { return e.uri }

// ErrNoPayloadCodec is the error for a sealed (bare binary) payload received by a session
// without a codec, or whose codec does not recognise it. It carries
// wamp.error.no_payload_codec, Autobahn's reply in that case.
var ErrNoPayloadCodec CodecError = &codecURIError{
	uri: ErrURINoPayloadCodec,
	msg: "received a sealed payload but no payload codec can open it",
}

// codecErrorURI returns the ERROR URI for a failure to open an INVOCATION.
func codecErrorURI(err error) string {
	var ce CodecError
	if errors.As(err, &ce) && ce.WAMPErrorURI() != "" {
		return ce.WAMPErrorURI()
	}
	return ErrURIDecrypt
}

// seal applies the codec to an outgoing payload. It returns the payload to send and the
// options to send it with: a copy of opts, to which a sealed payload adds the codec's
// options (enc_* or ppt_*). Without a codec, or when the codec does not seal for uri, the
// payload is args/kwargs in plaintext. opts itself is never modified.
func (s *Session) seal(originating bool, uri string, args List, kwargs Dict, opts Dict) (Payload, Dict, error) {
	return s.sealReply(originating, nil, uri, args, kwargs, opts)
}

// sealReply is seal for a callee's reply to a sealed INVOCATION that replyTo (what
// opened it) names, through the codec's [ReplySealer] when it has one; with replyTo nil
// it is seal.
func (s *Session) sealReply(originating bool, replyTo Dict, uri string, args List, kwargs Dict, opts Dict) (Payload, Dict, error) {
	if s.cfg.Codec != nil {
		var p Payload
		var extra Dict
		var ok bool
		var err error
		if rs, isRS := s.cfg.Codec.(ReplySealer); isRS && replyTo != nil && !originating {
			p, extra, ok, err = rs.SealReply(replyTo, uri, args, kwargs)
		} else {
			p, extra, ok, err = s.cfg.Codec.Seal(originating, uri, args, kwargs)
		}
		if err != nil {
			return Payload{}, nil, err
		}
		if ok {
			return p, sealedOptions(extra, opts), nil
		}
	}
	out := maps.Clone(opts)
	if out == nil {
		out = Dict{}
	}
	return Payload{Args: args, Kwargs: kwargs}, out, nil
}

// sealedOptions is the Options of a sealed message: the codec's options (extra) with
// the caller's (opts) added. The codec's options are the message's own
// (PayloadCodec.Seal), so opts is added to them rather than the other way round, one Dict
// built per message instead of two; the codec's options win over the caller's, as they
// always did.
func sealedOptions(extra, opts Dict) Dict {
	if extra == nil {
		extra = make(Dict, len(opts))
	}
	for k, v := range opts {
		if _, set := extra[k]; !set {
			extra[k] = v
		}
	}
	return extra
}

// sealJSON is seal for args given as canonical JSON text: sealed as it is when the
// codec is a [JSONArgsCodec] that seals uri (sealed true), else read into a List, the
// payload then what seal makes of it.
func (s *Session) sealJSON(originating bool, uri string, argsJSON []byte, opts Dict) (p Payload, o Dict, err error) {
	if jc, ok := s.cfg.Codec.(JSONArgsCodec); ok {
		p, extra, sealed, err := jc.SealJSON(originating, uri, argsJSON)
		if err != nil {
			return Payload{}, nil, err
		}
		if sealed {
			return p, sealedOptions(extra, opts), nil
		}
	}
	v, err := UnmarshalJSON(argsJSON, NestPayload)
	if err != nil {
		return Payload{}, nil, err
	}
	args, ok := v.([]any)
	if !ok {
		return Payload{}, nil, errors.New("the arguments given as JSON are not a list")
	}
	return s.seal(originating, uri, args, nil, opts)
}

// open applies the codec to an incoming payload. sealed reports whether it was opened,
// and opened what the codec says opened it. A bare payload nobody can open is
// ErrNoPayloadCodec; a payload refused on receipt (Payload.Err) is that error, and the
// codec never sees it.
func (s *Session) open(originating bool, uri string, p Payload, details Dict) (args List, kwargs Dict, sealed bool, opened Dict, err error) {
	_, args, kwargs, sealed, opened, err = s.openAs(originating, uri, p, details, false)
	return args, kwargs, sealed, opened, err
}

// openAs is open that, with asJSON, asks a [JSONArgsCodec] for a sealed payload's args as
// JSON text (argsJSON, with args nil), when the codec has OpenJSON and the text is
// canonical; everything else is open's.
func (s *Session) openAs(originating bool, uri string, p Payload, details Dict, asJSON bool) (argsJSON []byte, args List, kwargs Dict, sealed bool, opened Dict, err error) {
	if p.Err != nil {
		return nil, nil, nil, false, nil, p.Err
	}
	if c := s.cfg.Codec; c != nil && c.Sealed(p, details) {
		if jc, ok := c.(JSONArgsCodec); ok && asJSON {
			argsJSON, args, kwargs, opened, err = jc.OpenJSON(originating, uri, p, details)
		} else {
			args, kwargs, opened, err = c.Open(originating, uri, p, details)
		}
		if err != nil {
			return nil, nil, nil, false, nil, err
		}
		return argsJSON, args, kwargs, true, opened, nil
	}
	if p.IsBare() {
		return nil, nil, nil, false, nil, ErrNoPayloadCodec
	}
	return nil, p.Args, p.Kwargs, false, nil, nil
}
