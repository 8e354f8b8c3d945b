package keygen

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/sha3"

	"github.com/cbx-wamp/cbx/internal/box"
)

// FingerprintSize is the number of bytes of SHA-256 a fingerprint keeps.
const FingerprintSize = 20

// Fingerprint returns the fingerprint of a Curve25519 public key: the key id the WAMP
// spec gives for its end-to-end encryption scheme (advanced/payload_passthru_mode.md,
// the footnote to the table "End-to-End Encryption Predefined Scheme", for ppt_keyid).
// It is the least significant 20 bytes (the last 20) of SHA-256 of the raw 32-byte
// public key, written as "0x" and 40 hex digits whose letters carry the EIP-55 checksum:
// a letter is upper case where the matching 4 bits of Keccak-256 of the lower-case
// digits are 8 or more. RFC 7748's Alice, hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=,
// has the fingerprint 0xBf9240114804dB4Fd373012c0Ca47432D63425AE; in lower case its
// digits are the last 40 of `base64 -d | sha256sum` of the key.
//
// One derivation serves people and the wire: cbx shows it wherever it names a key
// without printing it (keygen, keys ls/show/explain, the key that opened a payload) and
// sends it as the key id of a sealed payload (wire.md §2.4). It cannot be mistaken for a
// key, which is 44 characters of base64 or 64 hex digits. Finding another key with the
// same 160-bit fingerprint is a second-preimage search of 2^160 steps; the checksum
// catches most mistyped digits when a fingerprint is copied by hand.
func Fingerprint(pub box.PublicKey) string {
	sum := sha256.Sum256(pub[:])
	return checksummed(sum[len(sum)-FingerprintSize:])
}

// checksummed writes 20 bytes as "0x" and EIP-55 mixed-case hex.
func checksummed(b []byte) string {
	lower := hex.EncodeToString(b)
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte(lower))
	sum := h.Sum(nil)
	out := []byte("0x" + lower)
	for i := 0; i < len(lower); i++ {
		nibble := sum[i/2] >> 4
		if i%2 == 1 {
			nibble = sum[i/2] & 0x0f
		}
		if c := lower[i]; c >= 'a' && nibble >= 8 {
			out[2+i] = c - 'a' + 'A'
		}
	}
	return string(out)
}

// ParseFingerprint reads a fingerprint (or the spec's ppt_keyid for scheme "wamp"): "0x"
// and 40 hex digits, either all of one case or with exactly the EIP-55 checksum's mixed
// case. It returns the 20 bytes. A mixed-case text whose case is not the checksum is
// refused: it is a mistyped fingerprint, or not one. Errors wrap [ErrMalformed].
func ParseFingerprint(s string) ([FingerprintSize]byte, error) {
	var fp [FingerprintSize]byte
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return fp, fmt.Errorf("%w fingerprint: it starts with \"0x\"", ErrMalformed)
	}
	if len(digits) != 2*FingerprintSize || !isHexString(digits) {
		return fp, fmt.Errorf("%w fingerprint: want \"0x\" and %d hex digits", ErrMalformed, 2*FingerprintSize)
	}
	if _, err := hex.Decode(fp[:], []byte(digits)); err != nil { // unreachable: checked above
		return fp, fmt.Errorf("%w fingerprint: not hex", ErrMalformed)
	}
	if digits != strings.ToLower(digits) && digits != strings.ToUpper(digits) && checksummed(fp[:]) != s {
		return fp, fmt.Errorf("%w fingerprint: its mixed case is not the EIP-55 checksum (mistyped?)", ErrMalformed)
	}
	return fp, nil
}

// SameFingerprint reports whether two texts name the same fingerprint, whatever the case
// of their letters: a peer may send the spec's key id in lower case. The exact comparison
// first is only a shortcut (equal texts are equal whatever the case rule): a receiver
// compares every payload's key id with its generations' fingerprints, and a peer running
// cbx sends the fingerprint exactly as this side computes it.
func SameFingerprint(a, b string) bool { return a == b || strings.EqualFold(a, b) }
