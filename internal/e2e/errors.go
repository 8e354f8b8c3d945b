package e2e

import (
	"errors"
	"fmt"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Errors of the package. They say what went wrong in the package's terms and carry what a
// caller needs in fields, for errors.Is and errors.As; they hold no exit codes and no
// advice for a command line (cmd/cbx adds both, in exitcodes.go). The text of an error
// from [Codec.Open] may go back to the caller as the argument of an ERROR
// (wamp.error.encryption.*, seen by the router), so no error quotes a plaintext or a key.
// Each names the URI it is about: a peer that gets it back learns which one.

// ErrDecrypt and ErrTooShort are internal/box's errors for a payload that does not
// authenticate: tampered with, sealed under another key, or too short to be sealed. NaCl
// cannot tell a wrong key from tampering, and neither can this package. They are box's own
// values, so errors.Is works with either name.
var (
	ErrDecrypt  = box.ErrDecrypt
	ErrTooShort = box.ErrTooShort
)

// ErrNoKey is wrapped by the errors that say the keystore has no key for a payload:
// [*NoKeyError] and [*EmptyKeystoreError].
var ErrNoKey = errors.New("no key")

// NoKeyError: no keystore entry covers URI, so a sealed payload that arrived on it cannot
// be opened, or a payload that must be sealed ([Codec.SealMessage]) cannot be.
type NoKeyError struct {
	URI      string
	Keystore string // where the keystore was read from, for the message
}

func (e *NoKeyError) Error() string {
	return fmt.Sprintf("%v for URI %q in keystore %q", ErrNoKey, e.URI, e.Keystore)
}
func (e *NoKeyError) Unwrap() error { return ErrNoKey }

// SideKeysError: the entry covering URI lacks the keys of one side (wire.md §1.5): an
// originator needs originator-private and the responder's key, a responder
// responder-private and the originator's key. Autobahn would send such a message in
// plaintext; this package refuses, since the keystore says the URI is to be encrypted.
type SideKeysError struct {
	Prefix      string // the entry's prefix
	URI         string
	Originating bool // the side that lacks its keys: originator (publisher, caller) or responder
}

func (e *SideKeysError) Error() string {
	return fmt.Sprintf("keystore entry %s covers %q but has no %s keys", keystore.PrefixName(e.Prefix), e.URI, sideName(e.Originating))
}

// EmptyKeystoreError: a sealed payload arrived but the keystore holds no keys at all.
// Autobahn's answer when no key ring is active is wamp.error.no_payload_codec
// (autobahn/wamp/protocol.py), which is the one [Codec.Open] gives.
type EmptyKeystoreError struct {
	URI      string
	Keystore string
}

func (e *EmptyKeystoreError) Error() string {
	return fmt.Sprintf("%v: a sealed payload arrived on %q but keystore %q holds no keys", ErrNoKey, e.URI, e.Keystore)
}
func (e *EmptyKeystoreError) Unwrap() error { return ErrNoKey }

// SealRefusedError: [Codec.Seal] refused to send a message on URI in plaintext, because the
// entry covering it lacks this side's keys (Err, a [*SideKeysError]). The message must not
// go out at all.
type SealRefusedError struct {
	URI string
	Err error
}

func (e *SealRefusedError) Error() string {
	return fmt.Sprintf("refusing to send %q in plaintext: %v", e.URI, e.Err)
}
func (e *SealRefusedError) Unwrap() error { return e.Err }

// UnsupportedError: a sealed payload in a form this package does not open: another
// enc_algo or ppt_cipher, or another plaintext serializer than its form's (wire.md §1.2,
// §2.2). Option is the option at fault (wamp.OptEncAlgo, …).
type UnsupportedError struct {
	URI    string
	Option string
	msg    string
}

func (e *UnsupportedError) Error() string { return e.msg }

// URIMismatchError: a payload decrypted but was sealed for another URI than the one it
// arrived on. Autobahn calls this wamp.error.encryption.trusted_uri_mismatch
// (autobahn/wamp/protocol.py): somebody, typically the router, moved a sealed payload to
// another topic or procedure.
type URIMismatchError struct {
	Envelope string // the URI the message travelled under
	Inner    string // the URI sealed inside the payload
}

func (e *URIMismatchError) Error() string {
	return fmt.Sprintf("payload was sealed for %q but arrived on %q (trusted URI mismatch)", e.Inner, e.Envelope)
}

// RetiredKeyError: a sealed payload on URI that only a retired generation of the entry
// covering it opens (its retire-after time has passed: keystore.Generation.RetiredAt).
// It is refused: the sender still uses keys this side has stopped trusting. It decrypted,
// so it is not [ErrDecrypt]; but like a payload sealed with another key it is not
// delivered, and a callee answers wamp.error.encryption.decrypt_error.
type RetiredKeyError struct {
	URI        string
	Prefix     string    // the entry's prefix
	Generation int       // the retired generation that opens it
	RetiredAt  time.Time // its retire-after time
}

func (e *RetiredKeyError) Error() string {
	return fmt.Sprintf("payload on %q was sealed with generation %d of keystore entry %s, retired since %s: refused",
		e.URI, e.Generation, keystore.PrefixName(e.Prefix), e.RetiredAt.UTC().Format(time.RFC3339))
}

// DowngradeError: a plaintext payload on a URI the keystore covers, refused by
// [Codec.CheckPlaintext]. Autobahn accepts it; a receiver that requires encryption treats
// it as a downgrade, possibly by the router (wire.md §1.5).
type DowngradeError struct {
	URI string
}

func (e *DowngradeError) Error() string {
	return fmt.Sprintf("plaintext payload on %q, which the keystore covers", e.URI)
}

// CannotReceiveError: an entry that decides the key of some URI a subscription or
// registration receives lacks the responder keys, so what arrives sealed there could not
// be opened ([Codec.CheckCanReceive]).
type CannotReceiveError struct {
	Prefix  string // the entry's prefix
	Pattern string // the topic or procedure, or its pattern
	Match   string // its match policy: wamp.MatchExact, MatchPrefix or MatchWildcard
	What    string // what it receives, for the message: "events" or "calls"
}

func (e *CannotReceiveError) Error() string {
	prep := map[string]string{"events": "on", "calls": "to"}[e.What]
	if e.Match == "" || e.Match == wamp.MatchExact {
		return fmt.Sprintf("keystore entry %s covers %q but has no %s keys: sealed %s %s it could not be opened",
			keystore.PrefixName(e.Prefix), e.Pattern, sideName(false), e.What, prep)
	}
	return fmt.Sprintf("keystore entry %s covers URIs that %q (match %s) receives, but has no %s keys: sealed %s %s them could not be opened",
		keystore.PrefixName(e.Prefix), e.Pattern, e.Match, sideName(false), e.What, prep)
}

// codecError gives an error of [Codec.Open] the WAMP error URI Autobahn uses for the same
// failure (autobahn/wamp/exception.py ENC_*), which the session sends back to a caller
// (wamp.CodecError; wire.md §1.5 "Failures on receive").
type codecError struct {
	uri string
	err error
}

func (e *codecError) Error() string        { return e.err.Error() }
func (e *codecError) Unwrap() error        { return e.err }
func (e *codecError) WAMPErrorURI() string { return e.uri }
