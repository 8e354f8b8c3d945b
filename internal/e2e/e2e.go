// Package e2e is cbx's end-to-end payload codec on top of internal/box: what a cryptobox
// payload seals (the plaintext {"uri","args","kwargs"}), in Autobahn|Python's JSON form
// (the legacy wire form, wire.md §1.3) and in cbx's CBOR form for Payload PassThru Mode,
// and the trusted-URI check Autobahn applies after opening (wire.md §1.5).
//
// internal/box seals and opens bytes and imports nothing of ours; the values inside a
// plaintext follow internal/wamp's value dialect (its package comment), the same rules as
// the session's serializers and cbx's command line, so a value is carried exactly or
// refused, never altered.
//
// Errors are typed: [box.ErrTooShort] and [box.ErrDecrypt] when the payload does not
// authenticate; a [*PlaintextError] (errors.Is [ErrPlaintext]) when it does but its
// plaintext is malformed or holds a value outside the dialect (then it also wraps the
// *wamp.ValueError); a [*URIMismatchError] when it was sealed for another URI.
package e2e

import (
	"fmt"

	"github.com/cbx-wamp/cbx/internal/box"
)

// URIMismatchError is returned when a payload decrypts but was sealed for another URI than
// the one it arrived on. Autobahn calls this wamp.error.encryption.trusted_uri_mismatch
// (autobahn/wamp/protocol.py): it means somebody, typically the router, moved a sealed
// payload to another topic or procedure.
type URIMismatchError struct {
	Envelope string // the URI the message travelled under
	Inner    string // the URI sealed inside the payload
}

func (e *URIMismatchError) Error() string {
	return fmt.Sprintf("payload was sealed for %q but arrived on %q (trusted URI mismatch)", e.Inner, e.Envelope)
}

// SealMessage encodes m as Autobahn's JSON plaintext and seals it (KeyRing.encode).
func SealMessage(k *box.SharedKey, m Message) ([]byte, error) {
	pt, err := EncodePlaintext(m)
	if err != nil {
		return nil, err
	}
	return k.Seal(pt)
}

// OpenMessage opens a payload that arrived under the envelope URI trustedURI (the topic,
// procedure or error URI of the WAMP message that carried it) and checks that it was
// sealed for that URI, as Autobahn's KeyRing.decode callers do. A mismatch is a
// *[URIMismatchError], returned with the message.
func OpenMessage(k *box.SharedKey, trustedURI string, payload []byte) (Message, error) {
	pt, err := k.Open(payload)
	if err != nil {
		return Message{}, err
	}
	m, err := DecodePlaintext(pt)
	return verifyURI(m, err, trustedURI)
}

// SealPPTMessage encodes m as cbx's PPT plaintext (CBOR) and seals it.
func SealPPTMessage(k *box.SharedKey, m Message) ([]byte, error) {
	pt, err := EncodePPTPlaintext(m)
	if err != nil {
		return nil, err
	}
	return k.Seal(pt)
}

// OpenPPTMessage is [OpenMessage] for cbx's PPT plaintext.
func OpenPPTMessage(k *box.SharedKey, trustedURI string, payload []byte) (Message, error) {
	pt, err := k.Open(payload)
	if err != nil {
		return Message{}, err
	}
	m, err := DecodePPTPlaintext(pt)
	return verifyURI(m, err, trustedURI)
}

// verifyURI is the trusted-URI check on a decoded plaintext.
func verifyURI(m Message, err error, trusted string) (Message, error) {
	if err != nil {
		return Message{}, err
	}
	if m.URI != trusted {
		return m, &URIMismatchError{Envelope: trusted, Inner: m.URI}
	}
	return m, nil
}
