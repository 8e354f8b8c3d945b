package box

import (
	"crypto/subtle"

	"golang.org/x/crypto/poly1305"
	"golang.org/x/crypto/salsa20/salsa"
)

// NaCl's crypto_secretbox (XSalsa20 and Poly1305) for the short messages an event's
// plaintext makes, with the same bytes as golang.org/x/crypto/nacl/secretbox.
//
// The box of a message is tag ‖ message XOR keystream[32:], where the keystream is
// XSalsa20's under the nonce (HSalsa20 of the key and the nonce's first 16 bytes, then
// Salsa20 from block 0 with the nonce's last 8 bytes) and the tag is Poly1305 of the
// ciphertext under keystream[0:32] (secretbox.go in x/crypto; NaCl's crypto_secretbox).
// x/crypto makes that keystream in two calls of salsa.XORKeyStream, one block then the
// rest, and for fewer than 256 bytes its amd64 code goes one block at a time; 256 bytes
// in one call take its four-block path, which is faster than the three blocks a 100-byte
// event needs one by one (250 against 355 ns here). So a message of at most smallMax
// bytes is sealed and opened with 256 bytes of keystream made at once; a longer one by
// x/crypto as before. TestSecretboxSameBytes holds the two to the same output.
//
// golang.org/x/crypto/poly1305 is marked deprecated as a building block unsafe for
// general use: a Poly1305 key must authenticate one message only. Here, as in secretbox,
// each key is the first 32 bytes of the keystream of one nonce, used for that nonce's
// message alone (Seal's nonces are never repeated: readNonce).

// smallMax is the longest message sealSmall and openSmall take: with the Poly1305 key's
// 32 bytes in front, its keystream fits in one call of 256 bytes.
const smallMax = keystreamSize - 32

// smallMin is the shortest: below it, fewer than three blocks of keystream are needed, and
// x/crypto's block-at-a-time calls cost no more than the four-block one.
const smallMin = 97

const keystreamSize = 256

// zeros is what the keystream is XORed onto. Never written.
var zeros [keystreamSize]byte

// useSmall reports whether a message of n bytes goes through sealSmall and openSmall.
func useSmall(n int) bool { return n >= smallMin && n <= smallMax }

// keystream fills ks with the first 256 bytes of XSalsa20's keystream under nonce and key.
func keystream(ks *[keystreamSize]byte, nonce *[NonceSize]byte, key *[KeySize]byte) {
	var subKey [32]byte
	var hNonce [16]byte
	copy(hNonce[:], nonce[:16])
	salsa.HSalsa20(&subKey, &hNonce, key, &salsa.Sigma)
	var counter [16]byte
	copy(counter[:], nonce[16:])
	salsa.XORKeyStream(ks[:], zeros[:], &counter, &subKey)
	clear(subKey[:])
}

// sealSmall appends the box of msg (useSmall(len(msg))) to out, as secretbox.Seal does.
// out must not overlap msg.
func sealSmall(out, msg []byte, nonce *[NonceSize]byte, key *[KeySize]byte) []byte {
	var ks [keystreamSize]byte
	keystream(&ks, nonce, key)
	ret, o := grow(out, poly1305.TagSize+len(msg))
	ct := o[poly1305.TagSize:]
	subtle.XORBytes(ct, msg, ks[32:32+len(msg)])
	var tag [poly1305.TagSize]byte
	poly1305.Sum(&tag, ct, (*[32]byte)(ks[:32]))
	copy(o, tag[:])
	clear(ks[:])
	return ret
}

// openSmall authenticates box (tag ‖ ciphertext, the ciphertext useSmall) and appends its
// message to out, as secretbox.Open does: nothing is decrypted unless the tag verifies
// (in constant time). out must not overlap box.
func openSmall(out, box []byte, nonce *[NonceSize]byte, key *[KeySize]byte) ([]byte, bool) {
	var ks [keystreamSize]byte
	keystream(&ks, nonce, key)
	defer clear(ks[:])
	var tag [poly1305.TagSize]byte
	copy(tag[:], box)
	ct := box[poly1305.TagSize:]
	if !poly1305.Verify(&tag, ct, (*[32]byte)(ks[:32])) {
		return nil, false
	}
	ret, o := grow(out, len(ct))
	subtle.XORBytes(o, ct, ks[32:32+len(ct)])
	return ret, true
}

// grow extends in by n bytes, reallocating if need be, and returns the whole slice and
// the n new bytes.
func grow(in []byte, n int) (whole, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		whole = in[:total]
	} else {
		whole = make([]byte, total)
		copy(whole, in)
	}
	return whole, whole[len(in):]
}
