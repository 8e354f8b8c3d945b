// Package keygen makes Curve25519 key pairs and reads and writes their text forms.
//
// Keys are written as standard, padded base64 of the 32 raw bytes: the form Autobahn's
// cryptobox.Key and KeyRing take and KeyRing.generate_key returns (wire.md §1.4). Every
// reader also accepts 64 hex digits. Errors describe what is wrong with a key without
// repeating it, because the input may be a private key; callers add where it came from.
//
// The package touches no files and no terminal.
package keygen

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
)

// Generate makes a new private key from r (crypto/rand.Reader when r is nil).
func Generate(r io.Reader) (box.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	var k box.PrivateKey
	if _, err := io.ReadFull(r, k[:]); err != nil {
		return k, fmt.Errorf("keygen: reading randomness: %w", err)
	}
	return k, nil
}

// ErrMalformed is wrapped by every key parsing error.
var ErrMalformed = errors.New("malformed key")

// ParseKey reads a 32-byte key written as standard padded base64 (44 characters) or as
// hex (64 digits). Surrounding white space is ignored.
func ParseKey(s string) ([box.KeySize]byte, error) {
	var k [box.KeySize]byte
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return k, fmt.Errorf("%w: empty", ErrMalformed)
	case len(s) == 2*box.KeySize && isHex(s):
		hex.Decode(k[:], []byte(s))
		return k, nil
	case len(s) == base64.StdEncoding.EncodedLen(box.KeySize):
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return k, fmt.Errorf("%w: not valid base64 (%v)", ErrMalformed, err)
		}
		copy(k[:], b)
		return k, nil
	case len(s) == base64.RawStdEncoding.EncodedLen(box.KeySize):
		return k, fmt.Errorf("%w: base64 without its \"=\" padding; Autobahn's keys are padded", ErrMalformed)
	default:
		return k, fmt.Errorf("%w: %d characters; want 44 characters of base64 or 64 hex digits", ErrMalformed, len(s))
	}
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ParsePublicKey is ParseKey for a public key.
func ParsePublicKey(s string) (box.PublicKey, error) {
	k, err := ParseKey(s)
	return box.PublicKey(k), err
}

// Base64 writes a key as Autobahn takes it.
func Base64(k [box.KeySize]byte) string { return base64.StdEncoding.EncodeToString(k[:]) }

// Hex writes a key as 64 lower-case hex digits.
func Hex(k [box.KeySize]byte) string { return hex.EncodeToString(k[:]) }

const publicComment = "# public key: "

// MarshalPrivateKeyFile writes the private key file format: comment lines (a title, the
// creation time and the public key, so that the file says what it belongs to without
// revealing anything new) followed by the private key in base64 on a line of its own.
// The key line alone is what Autobahn's KeyRing(priv) or Key(originator_priv=…) takes.
func MarshalPrivateKeyFile(k box.PrivateKey, created time.Time) []byte {
	return marshalPrivateKeyFile(k, created, Base64)
}

// MarshalPrivateKeyFileHex is MarshalPrivateKeyFile with both keys in hex.
func MarshalPrivateKeyFileHex(k box.PrivateKey, created time.Time) []byte {
	return marshalPrivateKeyFile(k, created, Hex)
}

func marshalPrivateKeyFile(k box.PrivateKey, created time.Time, format func([box.KeySize]byte) string) []byte {
	pub := k.Public()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# cbx private key (Curve25519, NaCl box), created %s\n", created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "%s%s\n", publicComment, format(pub))
	fmt.Fprintf(&b, "%s\n", format(k))
	return b.Bytes()
}

// ParsePrivateKeyFile reads a private key file: lines starting with "#" and blank lines are
// skipped and exactly one key line must remain, in base64 or hex, so a bare key as
// Autobahn's examples store it works too. When the file names its public key in a
// "# public key:" comment, the two must agree, which catches a key line edited by hand.
func ParsePrivateKeyFile(data []byte) (box.PrivateKey, error) {
	var k box.PrivateKey
	var keyLines []string
	var claimedPub string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, publicComment):
			claimedPub = strings.TrimSpace(strings.TrimPrefix(line, publicComment))
		case strings.HasPrefix(line, "#"):
		default:
			keyLines = append(keyLines, line)
		}
	}
	switch len(keyLines) {
	case 0:
		return k, fmt.Errorf("%w: no key line (only comments or blank lines)", ErrMalformed)
	case 1:
	default:
		return k, fmt.Errorf("%w: %d key lines; a private key file holds exactly one", ErrMalformed, len(keyLines))
	}
	raw, err := ParseKey(keyLines[0])
	if err != nil {
		return k, err
	}
	k = box.PrivateKey(raw)
	if claimedPub != "" {
		want, err := ParsePublicKey(claimedPub)
		if err != nil {
			return k, fmt.Errorf("%w: the \"# public key:\" comment: %v", ErrMalformed, err)
		}
		if k.Public() != want {
			return k, fmt.Errorf("%w: the private key does not match the file's \"# public key:\" comment", ErrMalformed)
		}
	}
	return k, nil
}
