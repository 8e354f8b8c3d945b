package e2e

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

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
	ks   atomic.Pointer[keystore.Keystore]
	path string
	wire atomic.Int32 // a WireForm

	now func() time.Time // when retirement is judged; time.Now but in tests

	// opened remembers what openedBy says of each key generation
	// (*keystore.Generation → wamp.Dict), so that a receiver does not build the same Dict
	// for every payload it opens. A generation's keys do not change once it serves;
	// SetKeystore forgets them all.
	opened sync.Map

	lastOpts atomic.Pointer[sealedOptions] // see options
}

var (
	_ wamp.PayloadCodec = (*Codec)(nil)
	_ wamp.ReplySealer  = (*Codec)(nil)
)

// NewCodec returns the codec of ks, which was read from path (path only names it in
// messages), sealing in the wire form.
func NewCodec(ks *keystore.Keystore, path string, wire WireForm) *Codec {
	c := &Codec{path: path, now: time.Now}
	c.ks.Store(ks)
	c.wire.Store(int32(wire))
	return c
}

// SetKeystore replaces the keystore the codec seals and opens with, for a command that
// follows changes to its keystore file while it runs (a new key generation, a retired
// one): every message after the call uses ks. It is safe to call while the codec is in
// use.
func (c *Codec) SetKeystore(ks *keystore.Keystore) {
	c.ks.Store(ks)
	c.opened.Clear()
}

// keys is the keystore in use.
func (c *Codec) keys() *keystore.Keystore { return c.ks.Load() }

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
	e, covered := c.keys().Lookup(uri)
	if !covered {
		return wamp.Payload{}, nil, false, nil
	}
	return c.sealPayload(e, originating, Message{URI: uri, Args: args, Kwargs: kwargs}, nil)
}

// SealReply is Seal for the callee's reply to an INVOCATION that replyTo (what opened it,
// [Opened.Dict]) says was opened, for a YIELD or the callee's ERROR
// (wamp.ReplySealer): when the reply's URI is under the same entry, it is sealed with the
// generation that opened the request, which the caller holds, rather than the newest.
func (c *Codec) SealReply(replyTo wamp.Dict, uri string, args wamp.List, kwargs wamp.Dict) (p wamp.Payload, opts wamp.Dict, ok bool, err error) {
	e, covered := c.keys().Lookup(uri)
	if !covered {
		return wamp.Payload{}, nil, false, nil
	}
	return c.sealPayload(e, false, Message{URI: uri, Args: args, Kwargs: kwargs}, replyTo)
}

// SealJSON is Seal for args given as their JSON text, and no kwargs
// (wamp.JSONArgsCodec): in the legacy form the text goes into the plaintext as it is.
// It must be canonical (wamp.CanonicalJSONList; a text that is not is refused, nothing
// sealed), so that the plaintext is byte for byte what Seal writes for its values.
func (c *Codec) SealJSON(originating bool, uri string, argsJSON []byte) (p wamp.Payload, opts wamp.Dict, ok bool, err error) {
	if !wamp.CanonicalJSONList(argsJSON, wamp.NestPayload) {
		return wamp.Payload{}, nil, false, errors.New("the arguments given as JSON text are not in canonical form")
	}
	e, covered := c.keys().Lookup(uri)
	if !covered {
		return wamp.Payload{}, nil, false, nil
	}
	return c.sealPayload(e, originating, Message{URI: uri, argsJSON: argsJSON}, nil)
}

// sealPayload is Seal, SealReply and SealJSON once they have found e, the entry covering
// m.URI. The wire form is read once, here: the plaintext written is that form's, and
// args given as text (SealJSON) are read into values for the PPT form, whose plaintext is
// CBOR. Had SealJSON chosen between text and values by a form read before, a SetWire in
// between would have sealed a text as a PPT plaintext without its args.
func (c *Codec) sealPayload(e *keystore.Entry, originating bool, m Message, replyTo wamp.Dict) (wamp.Payload, wamp.Dict, bool, error) {
	form := c.Wire()
	if form == WirePPT && m.argsJSON != nil {
		v, err := wamp.UnmarshalJSON(m.argsJSON, wamp.NestPayload)
		args, ok := v.([]any)
		if err != nil || !ok { // not reached: a canonical text reads as a list
			return wamp.Payload{}, nil, false, fmt.Errorf("the arguments given as JSON text do not read as a list (%v)", err)
		}
		m.Args, m.argsJSON = args, nil
	}
	sealed, id, err := c.sealWith(e, originating, form, m, replyTo)
	if err != nil {
		return wamp.Payload{}, nil, false, sealError(m.URI, err)
	}
	return payload(form, sealed), c.options(form, id), true, nil
}

// sealedOptions is a template of the Options of a payload sealed in form with key id id
// (options(form, id)); it is never handed out, only cloned.
type sealedOptions struct {
	form WireForm
	id   string
	d    wamp.Dict
}

// options is options(form, id) for one sealed payload, a Dict of its own (the session
// adds to it: acknowledge, the caller's options). A sender's payloads share their form
// and key id, so it is cloned from the template of the last ones rather than built:
// maps.Clone copies the small map as it is, where building it hashed each key again,
// a quarter of the codec's work around the box for a sealed PUBLISH
// (BenchmarkCodecSeal).
func (c *Codec) options(form WireForm, id string) wamp.Dict {
	t := c.lastOpts.Load()
	if t == nil || t.form != form || t.id != id {
		t = &sealedOptions{form: form, id: id, d: options(form, id)}
		c.lastOpts.Store(t)
	}
	return maps.Clone(t.d)
}

// sealError is sealPayload's error for uri: a generation without this side's keys is a
// refusal (*SealRefusedError), anything else as it came. (errors.AsType, unlike
// errors.As with a target declared here, allocates nothing for a payload sealed.)
func sealError(uri string, err error) error {
	if _, ok := errors.AsType[*SideKeysError](err); ok {
		return &SealRefusedError{URI: uri, Err: err}
	}
	return err
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
	m, opened, err := c.openPayload(originating, uri, p, details, false)
	return m.Args, m.Kwargs, opened, err
}

// OpenJSON is Open that gives the args as their JSON text (argsJSON, with args nil) when
// a legacy plaintext holds them in canonical form (wamp.JSONArgsCodec): the text is
// copied out of the plaintext rather than read into values. Which payloads open, and
// every error, are Open's.
func (c *Codec) OpenJSON(originating bool, uri string, p wamp.Payload, details wamp.Dict) (argsJSON []byte, args wamp.List, kwargs wamp.Dict, opened wamp.Dict, err error) {
	m, opened, err := c.openPayload(originating, uri, p, details, true)
	return m.argsJSON, m.Args, m.Kwargs, opened, err
}

// openPayload is Open and OpenJSON.
func (c *Codec) openPayload(originating bool, uri string, p wamp.Payload, details wamp.Dict, argsJSON bool) (Message, wamp.Dict, error) {
	form, sealed, err := sealedBytes(uri, p, details)
	if err != nil {
		return Message{}, nil, &codecError{wamp.ErrURIEncryptionUnsupported, err}
	}
	if c.keys().Len() == 0 {
		return Message{}, nil, &codecError{wamp.ErrURINoPayloadCodec, &EmptyKeystoreError{URI: uri, Keystore: c.path}}
	}
	m, by, err := c.open(originating, form, uri, receivedKeyID(form, details), sealed, argsJSON)
	if err != nil {
		return Message{}, nil, openError(uri, err)
	}
	return m, by, nil
}

// openError is Open's error for a payload on uri that open refused, with the WAMP error
// URI Autobahn answers with.
func openError(uri string, err error) error {
	if _, ok := errors.AsType[*RetiredKeyError](err); ok {
		// Autobahn knows no retirement; to its callers, a key that does not open.
		return &codecError{wamp.ErrURIDecrypt, err}
	}
	_, noKey := errors.AsType[*NoKeyError](err)
	_, noSide := errors.AsType[*SideKeysError](err)
	if noKey || noSide {
		return &codecError{wamp.ErrURIDecrypt, fmt.Errorf("cannot open the sealed payload on %q: %w", uri, err)}
	}
	if _, ok := errors.AsType[*URIMismatchError](err); ok {
		return &codecError{wamp.ErrURITrustedMismatch, err}
	}
	return &codecError{wamp.ErrURIDecrypt, err}
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
// a payload handled outside a session (cbx open). Bytes alone carry no key id, so every
// generation of the entry is tried.
func (c *Codec) OpenMessage(originating bool, uri string, sealed []byte) (Message, error) {
	m, _, err := c.open(originating, c.Wire(), uri, "", sealed, false)
	return m, err
}

// CanSeal reports whether Seal seals uri on this side: a covering entry with this side's
// keys (not plaintext, and not refused).
func (c *Codec) CanSeal(originating bool, uri string) bool {
	e, ok := c.keys().Lookup(uri)
	return ok && e.Key(originating) != nil
}

// CheckPlaintext refuses a plaintext payload that arrived on uri when the keystore covers
// uri, with a *DowngradeError: a receiver that requires encryption (cbx's
// --require-encrypted) treats it as a downgrade, possibly by the router. Autobahn accepts
// it (wire.md §1.5).
func (c *Codec) CheckPlaintext(uri string) error {
	if _, covered := c.keys().Lookup(uri); covered {
		return &DowngradeError{URI: uri}
	}
	return nil
}

// seal is SealMessage's way to seal: the entry for m.URI (keystore.Lookup, with its
// wamp.* rule), then sealWith. It fails when no entry covers the URI (*NoKeyError).
func (c *Codec) seal(originating bool, form WireForm, m Message) ([]byte, string, error) {
	e, ok := c.keys().Lookup(m.URI)
	if !ok {
		return nil, "", &NoKeyError{URI: m.URI, Keystore: c.path}
	}
	return c.sealWith(e, originating, form, m, nil)
}

// sealWith is the one way the codec seals, with e the entry covering m.URI (Seal and
// SealReply have looked it up already to decide whether to seal at all): e's sealing
// generation on this side (the newest, or for a reply the one replyTo names:
// sealingGeneration), then form's plaintext sealed with it. It returns the payload's key
// id. It fails when the generation lacks this side's keys (*SideKeysError).
func (c *Codec) sealWith(e *keystore.Entry, originating bool, form WireForm, m Message, replyTo wamp.Dict) ([]byte, string, error) {
	g := sealingGeneration(e, originating, replyTo)
	k := g.Key(originating)
	if k == nil {
		return nil, "", &SideKeysError{Prefix: e.Prefix, URI: m.URI, Originating: originating}
	}
	sealed, err := sealWithKey(k, form, m)
	return sealed, keyID(g, originating), err
}

// open is the one way the codec opens: the entry for uri (keystore.LookupOpen, without
// the wamp.* rule, since Autobahn seals its own wamp.error.* replies under the default
// key), then its generations by the key id (openGenerations), each with openWithKey's
// trusted-URI check (argsJSON is openWithKey's). It says which generation opened the
// payload ([Opened.Dict]).
func (c *Codec) open(originating bool, form WireForm, uri, keyID string, sealed []byte, argsJSON bool) (Message, wamp.Dict, error) {
	e, ok := c.keys().LookupOpen(uri)
	if !ok {
		return Message{}, nil, &NoKeyError{URI: uri, Keystore: c.path}
	}
	m, g, err := openGenerations(e, originating, form, uri, keyID, sealed, argsJSON, c.now)
	if err != nil {
		return Message{}, nil, err
	}
	return m, c.openedBy(e, g), nil
}

// openedBy is openedBy(e, g).Dict(), made once per generation: every payload the
// generation opens carries the same Dict, which its readers must not change.
func (c *Codec) openedBy(e *keystore.Entry, g *keystore.Generation) wamp.Dict {
	if o, ok := c.opened.Load(g); ok {
		return o.(wamp.Dict)
	}
	o := openedBy(e, g).Dict()
	c.opened.Store(g, o)
	return o
}
