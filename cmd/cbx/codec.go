package main

import (
	"errors"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// wireForm is how a sealed payload travels.
type wireForm int

const (
	// wireLegacy is Autobahn|Python's and Crossbar.io's form (wire.md §1.1): Options/Details
	// {enc_algo:"cryptobox", enc_serializer:"json"} and the sealed bytes as a bare binary
	// in place of Arguments.
	wireLegacy wireForm = iota
	// wirePPT is the WAMP spec's Payload PassThru Mode (advanced/payload_passthru_mode.md)
	// for routers that carry only that (plain nexus): Options/Details {ppt_scheme:"wamp",
	// ppt_serializer:"cbor", ppt_cipher:"xsalsa20poly1305", ppt_keyid} and Arguments =
	// [sealed bytes]. The spec leaves the cipher layout undefined ("TBD"), so this is cbx's
	// convention, documented in the README: the sealed bytes are nonce ‖ NaCl box exactly
	// as in the legacy form, and the plaintext is the CBOR map {"uri","args","kwargs"}; the
	// "uri" (not in the spec's {"args","kwargs"}) keeps the trusted-URI check in this
	// form too. ppt_keyid is the originator's public key in base64, as in the spec's own
	// examples.
	wirePPT
)

func (w wireForm) String() string {
	if w == wirePPT {
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

// keystoreCodec is the wamp.PayloadCodec of cbx: the keystore chooses the key per URI,
// internal/e2e encodes the plaintext and internal/box seals and opens it. It is the only
// place where keys meet the session.
type keystoreCodec struct {
	ks   *keystore.Keystore
	path string
	wire wireForm
}

var _ wamp.PayloadCodec = (*keystoreCodec)(nil)

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
func (c *keystoreCodec) Seal(originating bool, uri string, args wamp.List, kwargs wamp.Dict) (wamp.Payload, wamp.Dict, bool, error) {
	e, ok := c.ks.Lookup(uri)
	if !ok {
		return wamp.Payload{}, nil, false, nil
	}
	k, err := keyFor(c.ks, c.path, uri, originating, false)
	if err != nil {
		var ce *codedError
		if errors.As(err, &ce) {
			err = ce.err // keyFor's hints are about cbx seal/open
		}
		return wamp.Payload{}, nil, false, withCode(exitKey, fmt.Errorf("refusing to send %q in plaintext: %w", uri, err),
			"publishing and calling need originator-private and the responder's key for the URI (`cbx keys explain URI`)")
	}
	m := e2e.Message{URI: uri, Args: args, Kwargs: kwargs}
	if c.wire == wirePPT {
		sealed, err := e2e.SealPPTMessage(k, m)
		if err != nil {
			return wamp.Payload{}, nil, false, err
		}
		return wamp.Payload{Args: wamp.List{sealed}}, wamp.Dict{
			optPPTScheme: "wamp", optPPTSerializer: "cbor", optPPTCipher: pptCipherNaCl, optPPTKeyID: keyID(e),
		}, true, nil
	}
	sealed, err := e2e.SealMessage(k, m)
	if err != nil {
		return wamp.Payload{}, nil, false, err
	}
	return wamp.Payload{Bare: sealed}, wamp.Dict{optEncAlgo: encAlgoCryptobox, optEncSerializer: "json"}, true, nil
}

// canSeal reports whether Seal would seal uri on this side (and not refuse or send it in
// plaintext).
func (c *keystoreCodec) canSeal(originating bool, uri string) bool {
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
func (c *keystoreCodec) Sealed(p wamp.Payload, details wamp.Dict) bool {
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
func (c *keystoreCodec) Open(originating bool, uri string, p wamp.Payload, details wamp.Dict) (wamp.List, wamp.Dict, error) {
	var sealed []byte
	ppt := !p.IsBare()
	if ppt {
		if cipher, _ := details[optPPTCipher].(string); cipher != pptCipherNaCl {
			return nil, nil, &codecError{uriUnsupportedCodec, fmt.Errorf("payload on %q %s; cbx knows %q", uri, describeOption(details, optPPTCipher), pptCipherNaCl)}
		}
		if ser, _ := details[optPPTSerializer].(string); ser != "cbor" {
			return nil, nil, &codecError{uriUnsupportedCodec, fmt.Errorf("payload on %q %s; cbx seals with \"cbor\"", uri, describeOption(details, optPPTSerializer))}
		}
		sealed = p.Args[0].([]byte)
	} else {
		if algo, _ := details[optEncAlgo].(string); algo != encAlgoCryptobox {
			return nil, nil, &codecError{uriUnsupportedCodec, fmt.Errorf("payload on %q %s; cbx knows %q", uri, describeOption(details, optEncAlgo), encAlgoCryptobox)}
		}
		if ser, _ := details[optEncSerializer].(string); ser != "json" {
			// Autobahn's KeyRing.decode accepts only "json" (cryptobox.py).
			return nil, nil, &codecError{uriUnsupportedCodec, fmt.Errorf("payload on %q %s; the cryptobox scheme uses \"json\"", uri, describeOption(details, optEncSerializer))}
		}
		sealed = p.Bare
	}
	if len(c.ks.Entries()) == 0 {
		// No keys at all: Autobahn's answer when no keyring is active (protocol.py).
		return nil, nil, &codecError{uriNoPayloadCodec, withCode(exitKey,
			fmt.Errorf("%w: a sealed payload arrived on %q but keystore %q holds no keys", errNoKey, uri, c.path))}
	}
	k, err := keyFor(c.ks, c.path, uri, originating, true)
	if err != nil {
		return nil, nil, &codecError{uriDecryptError, fmt.Errorf("cannot open the sealed payload on %q: %w", uri, err)}
	}
	// A plaintext that is malformed or holds a value outside the dialect is answered with
	// decrypt_error too, as Autobahn answers any KeyRing.decode failure; its text
	// (e2e.PlaintextError) quotes nothing of the plaintext, since it goes back in clear.
	var m e2e.Message
	if ppt {
		m, err = e2e.OpenPPTMessage(k, uri, sealed)
	} else {
		m, err = e2e.OpenMessage(k, uri, sealed)
	}
	var mm *e2e.URIMismatchError
	switch {
	case errors.As(err, &mm):
		return nil, nil, &codecError{uriTrustedMismatch, err}
	case err != nil:
		return nil, nil, &codecError{uriDecryptError, err}
	}
	return m.Args, m.Kwargs, nil
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
