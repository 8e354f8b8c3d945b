package e2e

import (
	"errors"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// WireForm is how a sealed payload travels.
type WireForm int

const (
	// WireLegacy is Autobahn|Python's and Crossbar.io's form (wire.md §1.1): Options/Details
	// {enc_algo:"cryptobox", enc_serializer:"json"} and the sealed bytes as a bare binary
	// in place of Arguments.
	WireLegacy WireForm = iota
	// WirePPT is the WAMP spec's Payload PassThru Mode (advanced/payload_passthru_mode.md)
	// for routers that carry only that (plain nexus): Options/Details {ppt_scheme:"wamp",
	// ppt_serializer:"cbor", ppt_cipher:"xsalsa20poly1305", ppt_keyid} and Arguments =
	// [sealed bytes]. The spec leaves the cipher layout undefined ("TBD"), so this is cbx's
	// convention, documented in the README: the sealed bytes are nonce ‖ NaCl box exactly
	// as in the legacy form, and the plaintext is the CBOR map {"uri","args","kwargs"}; the
	// "uri" (not in the spec's {"args","kwargs"}) keeps the trusted-URI check in this
	// form too. ppt_keyid is the originator's public key in base64, as in the spec's own
	// examples.
	WirePPT
)

func (w WireForm) String() string {
	if w == WirePPT {
		return "ppt"
	}
	return "legacy"
}

// Option keys of both forms (Autobahn message.py; nexus wamp/options.go).
const (
	optEncAlgo       = "enc_algo"
	optEncSerializer = "enc_serializer"
	optPPTScheme     = "ppt_scheme"
	optPPTSerializer = "ppt_serializer"
	optPPTCipher     = "ppt_cipher"
	optPPTKeyID      = "ppt_keyid"

	encAlgoCryptobox = "cryptobox"
	pptCipherNaCl    = "xsalsa20poly1305"
)

// Codec is the wamp.PayloadCodec of cbx: the keystore chooses the key per URI,
// internal/e2e encodes the plaintext and internal/box seals and opens it. It is the only
// place where keys meet the session.
type Codec struct {
	ks   *keystore.Keystore
	path string
	wire WireForm
}

var _ wamp.PayloadCodec = (*Codec)(nil)

// NewCodec returns the codec of ks, which was read from path (named in messages), sealing
// in the wire form.
func NewCodec(ks *keystore.Keystore, path string, wire WireForm) *Codec {
	return &Codec{ks: ks, path: path, wire: wire}
}

// SetWire sets the form Seal uses, once the router's WELCOME has shown what it carries;
// before the session sends anything.
func (c *Codec) SetWire(w WireForm) { c.wire = w }

// Wire is the form Seal uses.
func (c *Codec) Wire() WireForm { return c.wire }

// Keystore is the keystore the codec was made with.
func (c *Codec) Keystore() *keystore.Keystore { return c.ks }

// Errors of the codec. They say what went wrong in the codec's terms and carry what a
// caller needs in fields, for errors.As; they hold no exit codes and no advice for a
// command line (cmd/cbx adds both, in exitcodes.go). Their text may be sent back to a
// caller as the argument of an ERROR (wamp.error.encryption.*), so it never quotes a
// plaintext or a key.

// errNoKey is wrapped by the errors that say no key serves a URI.
var errNoKey = errors.New("no key")

// NoKeyError: no keystore entry covers URI, so a payload that must be sealed (cbx seal)
// or that arrived sealed cannot be.
type NoKeyError struct {
	URI      string
	Keystore string // where the keystore was read from, for the message
}

func (e *NoKeyError) Error() string {
	return fmt.Sprintf("%v for URI %q in keystore %q", errNoKey, e.URI, e.Keystore)
}
func (e *NoKeyError) Unwrap() error { return errNoKey }

// SideKeysError: the entry covering URI lacks the keys of one side. Autobahn would send
// such a message in plaintext; the codec refuses, since the user asked for the URI to be
// encrypted.
type SideKeysError struct {
	Prefix      string // the entry's prefix
	URI         string
	Originating bool // the side that lacks its keys: originator (publisher, caller) or responder
}

func (e *SideKeysError) Error() string {
	return fmt.Sprintf("keystore entry %s covers %q but has no %s keys", keystore.PrefixName(e.Prefix), e.URI, sideName(e.Originating))
}

// EmptyKeystoreError: a sealed payload arrived but the keystore holds no keys at all;
// Autobahn's answer when no key ring is active is wamp.error.no_payload_codec
// (autobahn/wamp/protocol.py).
type EmptyKeystoreError struct {
	URI      string
	Keystore string
}

func (e *EmptyKeystoreError) Error() string {
	return fmt.Sprintf("%v: a sealed payload arrived on %q but keystore %q holds no keys", errNoKey, e.URI, e.Keystore)
}
func (e *EmptyKeystoreError) Unwrap() error { return errNoKey }

// SealRefusedError: Seal refused to send a message on URI in plaintext (Err says why,
// a *SideKeysError), so the message must not go out at all.
type SealRefusedError struct {
	URI string
	Err error
}

func (e *SealRefusedError) Error() string {
	return fmt.Sprintf("refusing to send %q in plaintext: %v", e.URI, e.Err)
}
func (e *SealRefusedError) Unwrap() error { return e.Err }

// UnsupportedError: a sealed payload in a form the codec does not open (another enc_algo
// or ppt_cipher, or another plaintext serializer than the form's). Option names the
// option at fault.
type UnsupportedError struct {
	URI    string
	Option string
	msg    string
}

func (e *UnsupportedError) Error() string { return e.msg }

// codecError carries the WAMP error URI Autobahn uses for the same failure
// (autobahn/wamp/exception.py ENC_*), which the session sends back to a caller.
type codecError struct {
	uri string
	err error
}

func (e *codecError) Error() string        { return e.err.Error() }
func (e *codecError) Unwrap() error        { return e.err }
func (e *codecError) WAMPErrorURI() string { return e.uri }

const (
	uriDecryptError     = "wamp.error.encryption.decrypt_error"
	uriTrustedMismatch  = "wamp.error.encryption.trusted_uri_mismatch"
	uriNoPayloadCodec   = "wamp.error.no_payload_codec"
	uriUnsupportedCodec = "wamp.error.encryption.unsupported"
)

// Seal seals when the keystore covers uri. A covering entry that lacks the keys of this
// side is an error rather than Autobahn's silent plaintext: the user asked for this URI to
// be encrypted.
func (c *Codec) Seal(originating bool, uri string, args wamp.List, kwargs wamp.Dict) (wamp.Payload, wamp.Dict, bool, error) {
	e, ok := c.ks.Lookup(uri)
	if !ok {
		return wamp.Payload{}, nil, false, nil
	}
	k, err := KeyFor(c.ks, c.path, uri, originating, false)
	if err != nil {
		return wamp.Payload{}, nil, false, &SealRefusedError{URI: uri, Err: err}
	}
	m := Message{URI: uri, Args: args, Kwargs: kwargs}
	if c.wire == WirePPT {
		sealed, err := SealPPTMessage(k, m)
		if err != nil {
			return wamp.Payload{}, nil, false, err
		}
		return wamp.Payload{Args: wamp.List{sealed}}, wamp.Dict{
			optPPTScheme: "wamp", optPPTSerializer: "cbor", optPPTCipher: pptCipherNaCl, optPPTKeyID: keyID(e),
		}, true, nil
	}
	sealed, err := SealMessage(k, m)
	if err != nil {
		return wamp.Payload{}, nil, false, err
	}
	return wamp.Payload{Bare: sealed}, wamp.Dict{optEncAlgo: encAlgoCryptobox, optEncSerializer: "json"}, true, nil
}

// canSeal reports whether Seal would seal uri on this side (and not refuse or send it in
// plaintext).
func (c *Codec) CanSeal(originating bool, uri string) bool {
	e, ok := c.ks.Lookup(uri)
	return ok && e.Key(originating) != nil
}

// keyID names the key pair in ppt_keyid: the originator's public key (not secret).
func keyID(e *keystore.Entry) string {
	var pub box.PublicKey
	switch {
	case e.Single != nil:
		pub = e.Single.Public()
	case e.OriginatorPublic != nil:
		pub = *e.OriginatorPublic
	case e.OriginatorPrivate != nil:
		pub = e.OriginatorPrivate.Public()
	}
	return keygen.Base64(pub)
}

// Sealed detects both forms by their metadata (wire.md §6.5): enc_algo with a bare binary,
// or ppt_scheme with a cipher and a one-element Arguments list holding binary. A PPT
// message without a cipher is not sealed and passes as it is.
func (c *Codec) Sealed(p wamp.Payload, details wamp.Dict) bool {
	return isSealed(p, details)
}

func isSealed(p wamp.Payload, details wamp.Dict) bool {
	if p.IsBare() {
		return true // only Autobahn's cryptobox form puts a bare binary there
	}
	if s, _ := details[optPPTScheme].(string); s != "" {
		if c, _ := details[optPPTCipher].(string); c != "" && len(p.Args) == 1 {
			_, isBin := p.Args[0].([]byte)
			return isBin
		}
	}
	return false
}

// Open opens a sealed payload that arrived under the envelope uri.
func (c *Codec) Open(originating bool, uri string, p wamp.Payload, details wamp.Dict) (wamp.List, wamp.Dict, error) {
	var sealed []byte
	ppt := !p.IsBare()
	if ppt {
		if cipher, _ := details[optPPTCipher].(string); cipher != pptCipherNaCl {
			return nil, nil, unsupported(uri, details, optPPTCipher, fmt.Sprintf("cbx knows %q", pptCipherNaCl))
		}
		if ser, _ := details[optPPTSerializer].(string); ser != "cbor" {
			return nil, nil, unsupported(uri, details, optPPTSerializer, `cbx seals with "cbor"`)
		}
		sealed = p.Args[0].([]byte)
	} else {
		if algo, _ := details[optEncAlgo].(string); algo != encAlgoCryptobox {
			return nil, nil, unsupported(uri, details, optEncAlgo, fmt.Sprintf("cbx knows %q", encAlgoCryptobox))
		}
		if ser, _ := details[optEncSerializer].(string); ser != "json" {
			// Autobahn's KeyRing.decode accepts only "json" (cryptobox.py).
			return nil, nil, unsupported(uri, details, optEncSerializer, `the cryptobox scheme uses "json"`)
		}
		sealed = p.Bare
	}
	if len(c.ks.Entries()) == 0 {
		// No keys at all: Autobahn's answer when no keyring is active (protocol.py).
		return nil, nil, &codecError{uriNoPayloadCodec, &EmptyKeystoreError{URI: uri, Keystore: c.path}}
	}
	k, err := KeyFor(c.ks, c.path, uri, originating, true)
	if err != nil {
		return nil, nil, &codecError{uriDecryptError, fmt.Errorf("cannot open the sealed payload on %q: %w", uri, err)}
	}
	// A plaintext that is malformed or holds a value outside the dialect is answered with
	// decrypt_error too, as Autobahn answers any KeyRing.decode failure; its text
	// (PlaintextError) quotes nothing of the plaintext, since it goes back in clear.
	var m Message
	if ppt {
		m, err = OpenPPTMessage(k, uri, sealed)
	} else {
		m, err = OpenMessage(k, uri, sealed)
	}
	var mm *URIMismatchError
	switch {
	case errors.As(err, &mm):
		return nil, nil, &codecError{uriTrustedMismatch, err}
	case err != nil:
		return nil, nil, &codecError{uriDecryptError, err}
	}
	return m.Args, m.Kwargs, nil
}

// unsupported is the error for a payload whose option key holds what the codec does not
// open; known says what it does.
func unsupported(uri string, details wamp.Dict, key, known string) error {
	return &codecError{uriUnsupportedCodec, &UnsupportedError{URI: uri, Option: key,
		msg: fmt.Sprintf("payload on %q %s; %s", uri, describeOption(details, key), known)}}
}

// describeOption says what a payload's metadata holds under key, for a message: a peer
// (or router) may leave it out or send any value, so it is never formatted as a string
// blindly ("%!q(<nil>)").
func describeOption(details wamp.Dict, key string) string {
	v, present := details[key]
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("uses %s %q", key, x)
	case nil:
		if !present {
			return "has no " + key
		}
		return "has " + key + " null"
	}
	return fmt.Sprintf("has %s as %s", kindOf(v), key)
}

// kindOf names the kind of a WAMP value as people know it from JSON.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, uint64, float64, int, float32:
		return "a number"
	case string:
		return "a string"
	case []byte:
		return "a binary value"
	case []any:
		return "a list"
	case map[string]any:
		return "a dict"
	}
	return fmt.Sprintf("a value of type %T", v)
}
