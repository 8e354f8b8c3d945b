// Package e2e is cbx's end-to-end payload codec: it decides which messages are sealed,
// with which key, in which wire form, and what is refused on receipt. It implements
// wamp.PayloadCodec over a keystore ([Codec]), so any Go program with an internal/wamp
// session and a keystore seals and opens exactly as cbx does; cbx's offline commands
// (seal, open) use the same code ([Codec.SealMessage], [Codec.OpenMessage]).
//
// # What is sealed
//
// A sealed payload holds the plaintext {"uri","args","kwargs"} ([Message]): in
// Autobahn|Python's JSON form for the legacy wire form (wire.md §1.3), in cbx's CBOR form
// for Payload PassThru Mode (wire.md §2.4). internal/box seals and opens the bytes; the
// values inside follow internal/wamp's value dialect (its package comment), the rules of
// the session's serializers and cbx's command line, so a value is carried exactly or
// refused, never altered.
//
// # Which key, which side (wire.md §1.5–1.6)
//
// The keystore's KeyRing lookup chooses the entry for a URI (keystore.Lookup to seal,
// LookupOpen to open). The originator (publisher, caller) seals PUBLISH and CALL and
// opens RESULT and ERROR; the responder (subscriber, callee) opens EVENT and INVOCATION
// and seals YIELD and ERROR, an ERROR under the key of its error URI. A URI no entry
// covers travels in plaintext, as with Autobahn; an entry that lacks this side's keys is
// refused ([*SealRefusedError]) where Autobahn would send plaintext.
//
// # Key generations and key ids (wire.md §2.4 "Key ids")
//
// A keystore entry may hold several generations of its keys (internal/keystore). The
// sender seals with the newest generation of the entry covering the URI, except a reply
// (a YIELD, and the callee's ERROR under the same entry), which is sealed with the
// generation that opened the request, the one the requester holds ([Codec.SealReply]).
// A sealed payload names the key it was sealed for: its key id is the fingerprint
// (keygen.Fingerprint) of the recipient's public key, the one whose private half opens
// it (for PUBLISH and CALL the responder's, for YIELD and ERROR the originator's), as the
// WAMP spec's ppt_keyid footnote defines a key id. It travels as ppt_keyid in PPT and as
// enc_key in the legacy form, where Autobahn reads it as a string and ignores it.
//
// The receiver opens with the entry's generations that serve its side and are not
// retired, newest first, starting with those whose own public key has the payload's key
// id: with a key id the first one tried opens it; without one (Autobahn's payloads carry
// none), or with one of another form, each is tried in turn. It reports which one opened
// the payload ([Opened]). A payload that only a
// retired generation opens is refused with a [*RetiredKeyError] naming the generation;
// one that none opens is [ErrDecrypt].
//
// # Wire forms (wire.md §1.2, §2.4)
//
// [WireLegacy] is Autobahn's and Crossbar.io's form; [WirePPT] is cbx's convention for
// routers that carry only Payload PassThru Mode ([WireFor] chooses). On receipt both are
// recognised by their metadata ([Codec.Sealed]).
//
// # The trusted-URI check (wire.md §5.7)
//
// Every payload opened, in either form, must have been sealed for the URI it arrived on:
// one function, checkTrustedURI, applies it, after which the payload is refused with a
// [*URIMismatchError]. Which URI a received message is trusted for (the subscription's
// own, or the concrete one the router names for a pattern) is internal/wamp's rule
// (envelope.go): the session passes that URI to [Codec.Open].
//
// # Errors
//
// Errors are typed, for errors.Is and errors.As, and carry no exit codes and no advice
// for a command line: [ErrDecrypt] and [ErrTooShort] when a payload does not
// authenticate; a [*PlaintextError] (errors.Is [ErrPlaintext]) when it does but its
// plaintext is malformed or holds a value outside the dialect (then it also wraps the
// *wamp.ValueError); a [*URIMismatchError] when it was sealed for another URI; key errors
// ([*NoKeyError], [*SideKeysError], [*EmptyKeystoreError], [*SealRefusedError],
// [*CannotReceiveError]); [*RetiredKeyError] for a payload only a retired generation opens; [*UnsupportedError] for another algorithm or serializer; and
// [*DowngradeError] for plaintext where encryption is required. Errors of [Codec.Open]
// also carry the WAMP error URI Autobahn answers with (wamp.CodecError).
package e2e

import (
	"sync"

	"github.com/cbx-wamp/cbx/internal/box"
)

// sealWithKey encodes m as the plaintext of form and seals it with k: KeyRing.encode for
// the legacy form.
func sealWithKey(k *box.SharedKey, form WireForm, m Message) ([]byte, error) {
	// The plaintext lives only until it is sealed: it is written into a buffer kept for
	// the next one (no allocation per message), and wiped once sealed.
	buf := plaintextBufs.Get().(*[]byte)
	sealed, err := sealBuffered(buf, k, form, m)
	if cap(*buf) <= maxPooledPlaintext {
		plaintextBufs.Put(buf)
	}
	return sealed, err
}

// sealBuffered is sealWithKey with the plaintext written into *buf, which is left empty
// and wiped, and replaced by the larger array when the plaintext outgrew it. Wiping is
// best effort (the values themselves are ordinary Go memory), but covers every array this
// function wrote plaintext into and still holds: the one it was given, which a plaintext
// that outgrew it left holding a prefix, and the one sealed.
func sealBuffered(buf *[]byte, k *box.SharedKey, form WireForm, m Message) ([]byte, error) {
	encode := appendPlaintext
	if form == WirePPT {
		encode = appendPPTPlaintext
	}
	given := (*buf)[:cap(*buf)]
	pt, err := encode(given[:0], m)
	if err != nil {
		clear(given) // what was written before the refused value
		*buf = given[:0]
		return nil, err
	}
	sealed, err := k.Seal(pt)
	clear(pt)
	if cap(pt) != cap(given) {
		// append moved the plaintext to a larger array: the given one holds its start.
		clear(given)
	}
	*buf = pt[:0]
	return sealed, err
}

// plaintextBufs holds the buffers sealWithKey encodes plaintexts into.
var plaintextBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledPlaintext bounds the buffers kept: after a large message its buffer goes back
// to the collector.
const maxPooledPlaintext = 64 << 10

// openWithKey opens a payload of form that arrived under the envelope URI trustedURI (the
// topic, procedure or error URI of the WAMP message that carried it) and checks that it
// was sealed for that URI, as Autobahn's KeyRing.decode callers do. It is the one way
// this package opens a payload.
//
// With argsJSON, a legacy plaintext that holds its args in canonical JSON gives them as
// that text (Message.argsJSON; plaintextArgsJSON), any other as values.
func openWithKey(k *box.SharedKey, form WireForm, trustedURI string, payload []byte, argsJSON bool) (Message, error) {
	// The plaintext is opened into a pooled buffer, as sealing writes it to one: the
	// decoders copy what they keep (strings, binary values), and it is wiped after.
	buf := plaintextBufs.Get().(*[]byte)
	pt, err := k.OpenAppend((*buf)[:0], payload)
	if err != nil {
		plaintextBufs.Put(buf)
		return Message{}, err
	}
	var m Message
	fast := false
	switch {
	case form == WirePPT:
		m, err = DecodePPTPlaintext(pt)
	case argsJSON:
		if m, fast = plaintextArgsJSON(pt, trustedURI); fast {
			break
		}
		fallthrough
	default:
		m, err = decodePlaintextFor(pt, trustedURI)
	}
	clear(pt)
	if cap(pt) <= maxPooledPlaintext {
		*buf = pt[:0]
		plaintextBufs.Put(buf)
	}
	if err != nil {
		return Message{}, err
	}
	if fast {
		return m, nil // its "uri" is trustedURI
	}
	return m, checkTrustedURI(m, trustedURI)
}

// checkTrustedURI is the trusted-URI check, for both forms: the URI sealed inside must be
// the one the message travelled under. A mismatch is a *URIMismatchError.
func checkTrustedURI(m Message, trusted string) error {
	if m.URI != trusted {
		return &URIMismatchError{Envelope: trusted, Inner: m.URI}
	}
	return nil
}
