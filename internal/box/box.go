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
// There is no version prefix: interoperability with Autobahn comes first. What the
// plaintext holds (Autobahn's JSON object {"uri","args","kwargs"}, wire.md §1.3) and the
// trusted-URI check are internal/e2e's business: this package seals and opens bytes.
//
// # Keys and directions
//
// Both directions of one key pair derive the same symmetric key (X25519 is symmetric), so
// a [SharedKey] is computed once per key pair with [Precompute] (about 80 µs) and reused
// for every message (sealing 1 KiB takes about 2 µs). Which key pair serves which direction
// is the keystore's business (wire.md §1.5), not this package's.
//
// Low-order public keys are refused ([ErrLowOrderKey]), as libsodium's crypto_box_beforenm
// (and so PyNaCl's Box) refuses them: with such a key the X25519 shared secret is all zeros
// whatever the private key, so anybody could open what is sealed with it. NaCl's original
// crypto_box, and golang.org/x/crypto/nacl/box.Precompute, do not check.
//
// The package knows nothing of files, terminals, WAMP sessions or values, imports nothing
// of cbx's; it never prints, and it reports failures as the typed errors below.
package box

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/salsa20/salsa"
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

// ErrLowOrderKey is returned for a public key of small order (a point whose order divides
// 8, on the curve or its twist, in any of its encodings): the X25519 shared secret with it
// is all zeros whatever the private key, so the box key would be a constant.
var ErrLowOrderKey = errors.New("low-order public key: any shared secret with it would be all zeros")

// lowOrderKeys are the public keys, top bit cleared, for which X25519 gives all zeros
// whatever the private key: the u-coordinates of the points whose order divides 8, on the
// curve or its twist (0, 1, p-1 and the two of order 8), and the two non-canonical
// encodings among them (p, p+1: X25519 reduces u modulo p, and 2^255 = p+19 leaves only
// those). They are libsodium's blocklist. loworder_test.go derives the set from the curve
// and checks the comparison against X25519 itself.
var lowOrderKeys = [...]string{
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", // 0
	"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", // 1
	"\xe0\xeb\x7a\x7c\x3b\x41\xb8\xae\x16\x56\xe3\xfa\xf1\x9f\xc4\x6a\xda\x09\x8d\xeb\x9c\x32\xb1\xfd\x86\x62\x05\x16\x5f\x49\xb8\x00", // order 8
	"\x5f\x9c\x95\xbc\xa3\x50\x8c\x24\xb1\xd0\xb1\x55\x9c\x83\xef\x5b\x04\x44\x5c\xc4\x58\x1c\x8e\x86\xd8\x22\x4e\xdd\xd0\x9f\x11\x57", // order 8
	"\xec\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", // p-1
	"\xed\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", // p, that is 0
	"\xee\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", // p+1, that is 1
}

// CheckPublicKey refuses a low-order public key with [ErrLowOrderKey]: the keys of
// libsodium's blocklist (0, 1, the two points of order 8, p-1, p, p+1) and the same with
// the top bit set, which X25519 ignores. These are exactly the keys for which X25519 gives
// all zeros (with a clamped scalar, a multiple of 8 smaller than the large prime orders of
// the curve and its twist, only points of order dividing 8 go to zero), so a comparison
// says what an X25519 would, without one scalar multiplication per key at start-up.
func CheckPublicKey(pub *PublicKey) error {
	k := *pub
	k[KeySize-1] &= 0x7f
	for _, l := range lowOrderKeys {
		if string(k[:]) == l {
			return ErrLowOrderKey
		}
	}
	return nil
}

// Precompute derives the shared key of self and peer, as crypto_box_beforenm does:
// HSalsa20 of the X25519 shared secret. The result is the same from either side:
// Precompute(bobPub, alicePriv) == Precompute(alicePub, bobPriv). A low-order peer key is
// refused with [ErrLowOrderKey], as libsodium refuses it.
func Precompute(peer *PublicKey, self *PrivateKey) (*SharedKey, error) {
	shared, err := curve25519.X25519(self[:], peer[:])
	if err != nil {
		// The only failure of X25519 with 32-byte inputs is an all-zero result.
		return nil, ErrLowOrderKey
	}
	s := new(SharedKey)
	var zeros [16]byte
	salsa.HSalsa20(&s.k, &zeros, (*[KeySize]byte)(shared), &salsa.Sigma)
	return s, nil
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
)

// Seal seals plaintext with a fresh random nonce (readNonce).
func (s *SharedKey) Seal(plaintext []byte) ([]byte, error) {
	var nonce [NonceSize]byte
	readNonce(&nonce)
	return s.sealWithNonce(plaintext, &nonce), nil
}

// nonceBatch is how many nonces readNonce reads from crypto/rand at once.
const nonceBatch = 64

// nonces holds random bytes read from crypto/rand ahead of use, handed out NonceSize at a
// time by readNonce. One read per nonce was a tenth of sealing a 100-byte event (Go's
// crypto/rand has a fixed cost per call, vDSO getrandom included); one read per
// nonceBatch nonces gives the same bytes from the same generator, as unpredictable and
// never given out twice. Bytes given out are wiped at once, so the buffer never holds a
// nonce already used, only ones still to come (which are public once sent anyway).
var nonces struct {
	mu  sync.Mutex
	buf [nonceBatch * NonceSize]byte
	off int // the next unused byte of buf; len(buf) when none is left
}

func init() { nonces.off = len(nonces.buf) }

// readNonce fills n with NonceSize bytes from crypto/rand, through nonces. crypto/rand's
// Read never fails (Go 1.24 and later: it crashes the program rather than return an
// error or weak bytes).
func readNonce(n *[NonceSize]byte) {
	nonces.mu.Lock()
	if nonces.off == len(nonces.buf) {
		rand.Read(nonces.buf[:]) //nolint:errcheck // never fails (see above)
		nonces.off = 0
	}
	next := nonces.buf[nonces.off : nonces.off+NonceSize]
	copy(n[:], next)
	clear(next)
	nonces.off += NonceSize
	nonces.mu.Unlock()
}

// SealWithRand seals plaintext with a nonce read from r; tests use it for fixed nonces.
func (s *SharedKey) SealWithRand(plaintext []byte, r io.Reader) ([]byte, error) {
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(r, nonce[:]); err != nil {
		return nil, fmt.Errorf("reading nonce: %w", err)
	}
	return s.sealWithNonce(plaintext, &nonce), nil
}

// sealWithNonce is nonce ‖ crypto_box_afternm(plaintext, nonce).
func (s *SharedKey) sealWithNonce(plaintext []byte, nonce *[NonceSize]byte) []byte {
	out := make([]byte, NonceSize, NonceSize+box.Overhead+len(plaintext))
	copy(out, nonce[:])
	if useSmall(len(plaintext)) {
		return sealSmall(out, plaintext, nonce, &s.k) // secretbox.go
	}
	return box.SealAfterPrecomputation(out, plaintext, nonce, &s.k)
}

// Open authenticates and decrypts a payload made by Seal (or by Autobahn).
func (s *SharedKey) Open(payload []byte) ([]byte, error) {
	return s.OpenAppend(nil, payload)
}

// OpenAppend is Open that appends the plaintext to dst and returns the extended slice,
// for a receiver that opens into a buffer it reuses (dst must not overlap payload). On
// error dst is returned unchanged in length; what lies past it is unspecified.
func (s *SharedKey) OpenAppend(dst, payload []byte) ([]byte, error) {
	if len(payload) < Overhead {
		return dst, ErrTooShort
	}
	var nonce [NonceSize]byte
	copy(nonce[:], payload[:NonceSize])
	var out []byte
	var ok bool
	if useSmall(len(payload) - Overhead) {
		out, ok = openSmall(dst, payload[NonceSize:], &nonce, &s.k) // secretbox.go
	} else {
		out, ok = box.OpenAfterPrecomputation(dst, payload[NonceSize:], &nonce, &s.k)
	}
	if !ok {
		return dst, ErrDecrypt
	}
	return out, nil
}
