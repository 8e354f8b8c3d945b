// Package box implements the WAMP "cryptobox" payload of Autobahn|Python and Crossbar.io,
// byte for byte.
//
// # Layout
//
// A sealed payload is
//
//	nonce (24 random bytes) ‖ Poly1305 tag (16) ‖ XSalsa20 ciphertext (len(plaintext))
//
// which is NaCl crypto_box (X25519, HSalsa20, XSalsa20-Poly1305) with the nonce in front, the
// bytes of PyNaCl's EncryptedMessage that autobahn/wamp/cryptobox.py sends (wire.md §1.4).
// The plaintext is the compact JSON object {"uri","args","kwargs"} described in
// [EncodePlaintext] (wire.md §1.3). There is no version prefix: interoperability with
// Autobahn comes first.
//
// # Keys and directions
//
// Both directions of one key pair derive the same symmetric key (X25519 is symmetric), so
// a [SharedKey] is computed once per key pair with [Precompute] (about 80 µs) and reused
// for every message (sealing 1 KiB takes about 2 µs). Which key pair serves which direction
// is the keystore's business (wire.md §1.5), not this package's.
//
// The package knows nothing of files, terminals or WAMP sessions; it never prints, and it
// reports failures as the typed errors below.
package box

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// KeySize is the size of Curve25519 private and public keys and of a precomputed key.
const KeySize = 32

// NonceSize is the size of the random nonce at the front of every payload.
const NonceSize = 24

// Overhead is what sealing adds to the plaintext: the nonce and the Poly1305 tag.
const Overhead = NonceSize + box.Overhead

// PrivateKey is a Curve25519 private key (a NaCl box secret key).
type PrivateKey [KeySize]byte

// PublicKey is a Curve25519 public key.
type PublicKey [KeySize]byte

// Public derives the public key of k, as PyNaCl's PrivateKey.public_key does.
func (k *PrivateKey) Public() PublicKey {
	var pub PublicKey
	p, err := curve25519.X25519(k[:], curve25519.Basepoint)
	if err != nil {
		// X25519 with the base point fails only for a low-order result, which cannot
		// happen for the base point; keep the zero key rather than panic.
		return pub
	}
	copy(pub[:], p)
	return pub
}

// SharedKey is the precomputed NaCl box key of one private/public key pair
// (crypto_box_beforenm). It is safe for concurrent use.
type SharedKey struct {
	k [KeySize]byte
}

// Precompute derives the shared key of self and peer. The result is the same from either
// side: Precompute(bobPub, alicePriv) == Precompute(alicePub, bobPriv).
func Precompute(peer *PublicKey, self *PrivateKey) *SharedKey {
	s := new(SharedKey)
	box.Precompute(&s.k, (*[KeySize]byte)(peer), (*[KeySize]byte)(self))
	return s
}

// Bytes returns the raw 32-byte shared key (for test vectors).
func (s *SharedKey) Bytes() []byte { return append([]byte(nil), s.k[:]...) }

// Errors returned by this package. Callers tell them apart with errors.Is.
var (
	// ErrTooShort: the payload cannot even hold a nonce and a tag.
	ErrTooShort = errors.New("payload too short to be a sealed cryptobox payload")
	// ErrDecrypt: authentication failed, so the payload was tampered with or sealed under
	// another key. NaCl cannot tell these two apart, and neither can we.
	ErrDecrypt = errors.New("payload could not be decrypted (tampered, or sealed with another key)")
	// ErrPlaintext: the payload decrypted, but the plaintext is not Autobahn's JSON object.
	ErrPlaintext = errors.New("decrypted plaintext is not a cryptobox message")
)

// URIMismatchError is returned by [SharedKey.OpenMessage] when the payload decrypts but was
// sealed for another URI than the one it arrived on. Autobahn calls this
// wamp.error.encryption.trusted_uri_mismatch (autobahn/wamp/protocol.py): it means somebody,
// typically the router, moved a sealed payload to another topic or procedure.
type URIMismatchError struct {
	Envelope string // the URI the message travelled under
	Inner    string // the URI sealed inside the payload
}

func (e *URIMismatchError) Error() string {
	return fmt.Sprintf("payload was sealed for %q but arrived on %q (trusted URI mismatch)", e.Inner, e.Envelope)
}

// Seal seals plaintext with a fresh random nonce.
func (s *SharedKey) Seal(plaintext []byte) ([]byte, error) {
	return s.SealWithRand(plaintext, rand.Reader)
}

// SealWithRand seals plaintext with a nonce read from r; tests use it for fixed nonces.
func (s *SharedKey) SealWithRand(plaintext []byte, r io.Reader) ([]byte, error) {
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(r, nonce[:]); err != nil {
		return nil, fmt.Errorf("reading nonce: %w", err)
	}
	out := make([]byte, NonceSize, NonceSize+box.Overhead+len(plaintext))
	copy(out, nonce[:])
	return box.SealAfterPrecomputation(out, plaintext, &nonce, &s.k), nil
}

// Open authenticates and decrypts a payload made by Seal (or by Autobahn).
func (s *SharedKey) Open(payload []byte) ([]byte, error) {
	if len(payload) < Overhead {
		return nil, ErrTooShort
	}
	var nonce [NonceSize]byte
	copy(nonce[:], payload[:NonceSize])
	out, ok := box.OpenAfterPrecomputation(nil, payload[NonceSize:], &nonce, &s.k)
	if !ok {
		return nil, ErrDecrypt
	}
	return out, nil
}

// SealMessage encodes m as Autobahn's plaintext and seals it.
func (s *SharedKey) SealMessage(m Message) ([]byte, error) {
	pt, err := EncodePlaintext(m)
	if err != nil {
		return nil, err
	}
	return s.Seal(pt)
}

// OpenMessage opens a payload that arrived under the envelope URI trustedURI (the topic,
// procedure or error URI of the WAMP message that carried it) and checks that it was sealed
// for that URI, as Autobahn's KeyRing.decode callers do. A mismatch is a
// *[URIMismatchError], distinct from [ErrDecrypt].
func (s *SharedKey) OpenMessage(trustedURI string, payload []byte) (Message, error) {
	pt, err := s.Open(payload)
	if err != nil {
		return Message{}, err
	}
	m, err := DecodePlaintext(pt)
	if err != nil {
		return Message{}, err
	}
	if m.URI != trustedURI {
		return m, &URIMismatchError{Envelope: trustedURI, Inner: m.URI}
	}
	return m, nil
}
