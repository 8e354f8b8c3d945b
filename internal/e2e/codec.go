package e2e

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Codec is the wamp.PayloadCodec over a keystore: the keystore chooses the key per URI
// and side, the codec seals in its wire form and opens both forms. It is safe for
// concurrent use by a session's goroutines.
//
// A session calls Seal for every outgoing payload and Sealed and Open for every incoming
// one (wamp.PayloadCodec says with which side); SealMessage and OpenMessage do the same
// for a payload handled outside a session, with the same keys and checks.
type Codec struct {
	ks   *keystore.Keystore
	path string
	wire atomic.Int32 // a WireForm

	// opened remembers what openedBy says of each entry (*keystore.Entry → Opened): it
	// derives the entry's public keys (a scalar multiplication for each private one) and
	// hashes them, tens of microseconds that a receiver would otherwise spend on every
	// payload it opens. An entry's keys do not change once it serves (keystore.Entry
	// fixes its newest generation on first use).
	opened sync.Map
}

var _ wamp.PayloadCodec = (*Codec)(nil)

// NewCodec returns the codec of ks, which was read from path (path only names it in
// messages), sealing in the wire form.
func NewCodec(ks *keystore.Keystore, path string, wire WireForm) *Codec {
	c := &Codec{ks: ks, path: path}
	c.wire.Store(int32(wire))
	return c
}

// SetWire sets the form Seal and SealMessage use, typically once the router's WELCOME has
// shown what it carries ([WireFor]), before the session sends a payload.
func (c *Codec) SetWire(w WireForm) { c.wire.Store(int32(w)) }

// Wire is the form Seal and SealMessage use.
func (c *Codec) Wire() WireForm { return WireForm(c.wire.Load()) }

// Seal seals an outgoing payload on uri when the keystore covers it (wamp.PayloadCodec):
// originating is true for PUBLISH and CALL, false for YIELD and ERROR (an ERROR's uri is
// its error URI). A URI no entry covers goes in plaintext (ok=false), as with Autobahn's
// KeyRing. A covering entry that lacks the keys of this side is a *SealRefusedError
// rather than Autobahn's silent plaintext: the keystore says this URI is to be encrypted.
func (c *Codec) Seal(originating bool, uri string, args wamp.List, kwargs wamp.Dict) (p wamp.Payload, opts wamp.Dict, ok bool, err error) {
	if _, covered := c.ks.Lookup(uri); !covered {
		return wamp.Payload{}, nil, false, nil
	}
	form := c.Wire()
	sealed, e, err := c.seal(originating, form, Message{URI: uri, Args: args, Kwargs: kwargs})
	var sk *SideKeysError
	switch {
	case errors.As(err, &sk):
		return wamp.Payload{}, nil, false, &SealRefusedError{URI: uri, Err: err}
	case err != nil:
		return wamp.Payload{}, nil, false, err
	}
	return payload(form, sealed), options(form, e), true, nil
}

// Sealed reports whether an incoming payload is sealed, in either form, by its metadata
// (wamp.PayloadCodec).
func (c *Codec) Sealed(p wamp.Payload, details wamp.Dict) bool {
	return isSealed(p, details)
}

// Open opens a sealed payload that arrived under the envelope uri (wamp.PayloadCodec):
// originating is false for EVENT and INVOCATION, true for RESULT and ERROR. opened is
// [Opened.Dict] of the key that opened it. Its errors
// carry the WAMP error URI Autobahn answers with (wamp.CodecError; wire.md §1.5
// "Failures on receive"): an unsupported form is wamp.error.encryption.unsupported, a
// keystore without any key wamp.error.no_payload_codec, a payload sealed for another URI
// wamp.error.encryption.trusted_uri_mismatch, and anything else that keeps it closed
// (no key, a wrong key, tampering, a plaintext that is not Autobahn's or holds a value
// outside the dialect) wamp.error.encryption.decrypt_error, as Autobahn answers any
// KeyRing.decode failure.
func (c *Codec) Open(originating bool, uri string, p wamp.Payload, details wamp.Dict) (args wamp.List, kwargs wamp.Dict, opened wamp.Dict, err error) {
	form, sealed, err := sealedBytes(uri, p, details)
	if err != nil {
		return nil, nil, nil, &codecError{wamp.ErrURIEncryptionUnsupported, err}
	}
	m, by, err := c.open(originating, form, uri, sealed)
	var nk *NoKeyError
	var sk *SideKeysError
	var mm *URIMismatchError
	switch {
	case err == nil:
	case errors.As(err, &nk) && len(c.ks.Entries()) == 0:
		// No key at all (asked only once none was found: Entries sorts a copy).
		return nil, nil, nil, &codecError{wamp.ErrURINoPayloadCodec, &EmptyKeystoreError{URI: uri, Keystore: c.path}}
	case errors.As(err, &nk), errors.As(err, &sk):
		return nil, nil, nil, &codecError{wamp.ErrURIDecrypt, fmt.Errorf("cannot open the sealed payload on %q: %w", uri, err)}
	case errors.As(err, &mm):
		return nil, nil, nil, &codecError{wamp.ErrURITrustedMismatch, err}
	case err != nil:
		return nil, nil, nil, &codecError{wamp.ErrURIDecrypt, err}
	}
	return m.Args, m.Kwargs, by.dict(), nil
}

// SealMessage seals m on one side, in the codec's wire form, for a payload handled
// outside a session (cbx seal): the bytes Seal would put in the message. Unlike Seal it
// refuses a URI the keystore does not cover (*NoKeyError): the caller asked for a sealed
// payload. An entry lacking this side's keys is a *SideKeysError.
func (c *Codec) SealMessage(originating bool, m Message) ([]byte, error) {
	sealed, _, err := c.seal(originating, c.Wire(), m)
	return sealed, err
}

// OpenMessage opens sealed bytes of the codec's wire form that arrived on uri, on one side,
// as Open does (the same key choice and trusted-URI check) but with the errors bare, for
// a payload handled outside a session (cbx open).
func (c *Codec) OpenMessage(originating bool, uri string, sealed []byte) (Message, error) {
	m, _, err := c.open(originating, c.Wire(), uri, sealed)
	return m, err
}

// CanSeal reports whether Seal seals uri on this side: a covering entry with this side's
// keys (not plaintext, and not refused).
func (c *Codec) CanSeal(originating bool, uri string) bool {
	e, ok := c.ks.Lookup(uri)
	return ok && e.Key(originating) != nil
}

// CheckPlaintext refuses a plaintext payload that arrived on uri when the keystore covers
// uri, with a *DowngradeError: a receiver that requires encryption (cbx's
// --require-encrypted) treats it as a downgrade, possibly by the router. Autobahn accepts
// it (wire.md §1.5).
func (c *Codec) CheckPlaintext(uri string) error {
	if _, covered := c.ks.Lookup(uri); covered {
		return &DowngradeError{URI: uri}
	}
	return nil
}

// seal is the one way the codec seals: the key for m.URI on this side, then form's
// plaintext sealed with it. It returns the entry for the form's options.
func (c *Codec) seal(originating bool, form WireForm, m Message) ([]byte, *keystore.Entry, error) {
	k, e, err := c.key(m.URI, originating, false)
	if err != nil {
		return nil, nil, err
	}
	sealed, err := sealWithKey(k, form, m)
	return sealed, e, err
}

// open is the one way the codec opens: the key for uri on this side, then openWithKey
// with its trusted-URI check. It says which key opened the payload.
func (c *Codec) open(originating bool, form WireForm, uri string, sealed []byte) (Message, *openedValues, error) {
	k, e, err := c.key(uri, originating, true)
	if err != nil {
		return Message{}, nil, err
	}
	m, err := openWithKey(k, form, uri, sealed)
	if err != nil {
		return Message{}, nil, err
	}
	return m, c.openedBy(e), nil
}

// openedBy is openedBy(e), computed once per entry.
func (c *Codec) openedBy(e *keystore.Entry) *openedValues {
	if o, ok := c.opened.Load(e); ok {
		return o.(*openedValues)
	}
	o := openedBy(e)
	v := &openedValues{Opened: o, prefix: o.Prefix, originator: o.Originator, responder: o.Responder}
	c.opened.Store(e, v)
	return v
}

// openedValues is an Opened with its fields already held as the values of a wamp.Dict,
// so that the Dict Open returns for each payload costs one allocation.
type openedValues struct {
	Opened
	prefix, originator, responder any
}

// dict is Opened.Dict, a new map every time: the receiver may keep or change it.
func (o *openedValues) dict() wamp.Dict {
	return wamp.Dict{OpenedEntry: o.prefix, OpenedOriginator: o.originator, OpenedResponder: o.responder}
}

// key picks the precomputed key that seals (open=false) or opens (open=true) uri on one
// side, following the keystore's KeyRing lookup (keystore.Lookup for sealing, with its
// wamp.* rule; LookupOpen for opening, without it, since Autobahn seals its own wamp.error.*
// replies under the default key). It fails when no entry covers uri (*NoKeyError), or
// the entry lacks the keys for that side (*SideKeysError).
func (c *Codec) key(uri string, originating, open bool) (*box.SharedKey, *keystore.Entry, error) {
	lookup := c.ks.Lookup
	if open {
		lookup = c.ks.LookupOpen
	}
	e, ok := lookup(uri)
	if !ok {
		return nil, nil, &NoKeyError{URI: uri, Keystore: c.path}
	}
	k := e.Key(originating)
	if k == nil {
		return nil, nil, &SideKeysError{Prefix: e.Prefix, URI: uri, Originating: originating}
	}
	return k, e, nil
}
