// Package keygen makes Curve25519 key pairs and is the one home of the text forms of
// every key cbx reads.
//
// # Grammar
//
// One key is written as standard, padded base64 of its raw bytes (the form Autobahn's
// cryptobox.Key and KeyRing take and KeyRing.generate_key returns, wire.md §1.4) or as hex
// digits of either case; surrounding white space is ignored and nothing else is accepted.
// A Curve25519 key and an Ed25519 public key or seed are exactly 32 bytes; a key of any
// other length is refused, saying how many bytes it held, never padded or cut. A key file
// holds comment lines (starting with "#"), blank lines and exactly one key line. An
// authorized-keys file holds comment and blank lines and "AUTHID PUBKEY" lines.
//
// Public keys are checked as well as parsed: a low-order Curve25519 key (the shared
// secret would be all zeros, [box.ErrLowOrderKey]) or a small-order Ed25519 point is
// refused with [ErrLowOrder].
//
// # Fingerprints
//
// A public key is named without being printed by its fingerprint ([Fingerprint]): the
// WAMP spec's key id, "0x" and 40 hex digits of SHA-256 of the key with an EIP-55
// checksum. cbx sends it on the wire as a sealed payload's key id; [ParseFingerprint]
// reads one.
//
// Errors describe what is wrong with a key without repeating it, because the input may
// be a private key; callers add where it came from. Every parse error wraps [ErrMalformed]
// or [ErrLowOrder]. The package touches no files and no terminal.
package keygen

import (
	"bytes"
	"crypto/ed25519"
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

// PrivateKey and PublicKey are internal/box's Curve25519 key types, and KeySize their
// size in bytes: the types this package parses and writes, named here so that a program
// that only reads and writes keys (cbx's command line) need not import the crypto package.
type (
	PrivateKey = box.PrivateKey
	PublicKey  = box.PublicKey
)

// KeySize is the size of a Curve25519 key in bytes.
const KeySize = box.KeySize

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

// Errors wrapped by every parse error of this package.
var (
	// ErrMalformed: the text is not a key of the expected kind and size.
	ErrMalformed = errors.New("malformed key")
	// ErrLowOrder: a public key of small order, which makes sealing (Curve25519) or
	// signature checks (Ed25519) worthless.
	ErrLowOrder = errors.New("low-order public key")
	// ErrPrivateKeyFile: a cbx private key file where a public key is expected.
	ErrPrivateKeyFile = errors.New("a private key file, not a public key")
)

// errLowOrderCurve25519 is the wording for a low-order Curve25519 public key.
var errLowOrderCurve25519 = fmt.Errorf("%w: any shared secret with it would be all zeros, so anyone could open what it seals", ErrLowOrder)

// errLowOrderEd25519 is the wording for a small-order Ed25519 public key.
var errLowOrderEd25519 = fmt.Errorf("%w: a small-order Ed25519 point, against which signatures can be made without any private key", ErrLowOrder)

// keyBytes decodes the text of one key: hex digits (an even number of them) or standard
// padded base64, nothing else. It returns however many bytes that is; sizes are the
// lengths the caller accepts, used only to word the error for base64 missing its padding,
// and want describes them for text that is neither form.
func keyBytes(s string, want string, sizes ...int) (b []byte, isHex bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, false, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if len(s)%2 == 0 && isHexString(s) {
		b, err := hex.DecodeString(s)
		if err != nil { // unreachable: checked above
			return nil, true, fmt.Errorf("%w: not valid hex", ErrMalformed)
		}
		return b, true, nil
	}
	b, err = base64.StdEncoding.Strict().DecodeString(s)
	if err == nil {
		return b, false, nil
	}
	if raw, rerr := base64.RawStdEncoding.Strict().DecodeString(s); rerr == nil {
		for _, n := range sizes {
			if len(raw) == n {
				return nil, false, fmt.Errorf("%w: base64 without its \"=\" padding; Autobahn's keys are padded", ErrMalformed)
			}
		}
	}
	for _, n := range sizes {
		if len(s) == base64.StdEncoding.EncodedLen(n) {
			return nil, false, fmt.Errorf("%w: not valid base64 (%v)", ErrMalformed, err)
		}
	}
	return nil, false, fmt.Errorf("%w: %s; want %s", ErrMalformed, plural(len(s), "character"), want)
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// sizeError says how many bytes a key held, and in which form, when that is not a size
// the caller accepts.
func sizeError(b []byte, isHex bool, rule string) error {
	if isHex {
		return fmt.Errorf("%w: %d bytes of hex (%d digits); %s", ErrMalformed, len(b), 2*len(b), rule)
	}
	return fmt.Errorf("%w: %d bytes; %s", ErrMalformed, len(b), rule)
}

const (
	want32 = "44 characters of base64 or 64 hex digits"
	rule32 = "a key is exactly 32 bytes"
)

// ParseKey reads one 32-byte key, private or public, as standard padded base64 (44
// characters) or hex (64 digits). Surrounding white space is ignored. It does not check
// a public key: use [ParsePublicKey] for that.
func ParseKey(s string) ([box.KeySize]byte, error) {
	var k [box.KeySize]byte
	b, isHex, err := keyBytes(s, want32, box.KeySize)
	if err != nil {
		return k, err
	}
	if len(b) != box.KeySize {
		return k, sizeError(b, isHex, rule32)
	}
	copy(k[:], b)
	return k, nil
}

// ParsePrivateKey is ParseKey for a Curve25519 private key. Every 32 bytes are one:
// X25519 clamps them (RFC 7748 §5).
func ParsePrivateKey(s string) (box.PrivateKey, error) {
	k, err := ParseKey(s)
	return box.PrivateKey(k), err
}

// ParsePublicKey reads a Curve25519 public key and refuses a low-order one, with which
// the shared secret would be all zeros (box.CheckPublicKey).
func ParsePublicKey(s string) (box.PublicKey, error) {
	k, err := ParseKey(s)
	if err != nil {
		return box.PublicKey{}, err
	}
	return checkedPublic(box.PublicKey(k))
}

func checkedPublic(pub box.PublicKey) (box.PublicKey, error) {
	if err := box.CheckPublicKey(&pub); err != nil {
		return box.PublicKey{}, errLowOrderCurve25519
	}
	return pub, nil
}

// Base64 writes a key as Autobahn takes it.
func Base64(k [box.KeySize]byte) string { return base64.StdEncoding.EncodeToString(k[:]) }

// Hex writes a key as 64 lower-case hex digits.
func Hex(k [box.KeySize]byte) string { return hex.EncodeToString(k[:]) }

const (
	privateHeader = "# cbx private key"
	publicComment = "# public key: "
)

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
	fmt.Fprintf(&b, "%s (Curve25519, NaCl box), created %s\n", privateHeader, created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "%s%s\n", publicComment, format(pub))
	fmt.Fprintf(&b, "%s\n", format(k))
	return b.Bytes()
}

// keyFile splits the text of a key file into its key lines, skipping blank lines and
// lines starting with "#", and returns the comment lines too.
func keyFile(data []byte) (keys, comments []string) {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "#"):
			comments = append(comments, line)
		default:
			keys = append(keys, line)
		}
	}
	return keys, comments
}

// oneKeyLine returns the only key line of a key file.
func oneKeyLine(data []byte, kind string) (string, []string, error) {
	keys, comments := keyFile(data)
	switch len(keys) {
	case 0:
		return "", comments, fmt.Errorf("%w: no key line (only comments or blank lines)", ErrMalformed)
	case 1:
		return keys[0], comments, nil
	}
	return "", comments, fmt.Errorf("%w: %d key lines; %s holds exactly one", ErrMalformed, len(keys), kind)
}

// ParsePrivateKeyFile reads a Curve25519 private key file: comment and blank lines and
// exactly one key line, so a bare key as Autobahn's examples store it works too. When the
// file names its public key in a "# public key:" comment, that key must be a valid public
// key and agree with the private one, which catches a key line edited by hand.
func ParsePrivateKeyFile(data []byte) (box.PrivateKey, error) {
	line, comments, err := oneKeyLine(data, "a private key file")
	if err != nil {
		return box.PrivateKey{}, err
	}
	k, err := ParsePrivateKey(line)
	if err != nil {
		return box.PrivateKey{}, err
	}
	for _, c := range comments {
		claimed, ok := strings.CutPrefix(c, publicComment)
		if !ok {
			continue
		}
		want, err := ParsePublicKey(claimed)
		if err != nil {
			return box.PrivateKey{}, fmt.Errorf("the %q comment: %w", strings.TrimSpace(publicComment), err)
		}
		if k.Public() != want {
			return box.PrivateKey{}, fmt.Errorf("%w: the private key does not match the file's %q comment", ErrMalformed, strings.TrimSpace(publicComment))
		}
	}
	return k, nil
}

// ParsePublicKeyFile reads a Curve25519 public key file, such as the output of
// `cbx keygen -y` or a bare key: comment and blank lines and exactly one key line. A cbx
// private key file (recognized by the comments keygen writes) is refused with
// [ErrPrivateKeyFile] rather than read as a public key.
func ParsePublicKeyFile(data []byte) (box.PublicKey, error) {
	_, comments := keyFile(data)
	for _, c := range comments {
		if strings.HasPrefix(c, privateHeader) || strings.HasPrefix(c, publicComment) {
			return box.PublicKey{}, ErrPrivateKeyFile
		}
	}
	line, _, err := oneKeyLine(data, "a public key file")
	if err != nil {
		return box.PublicKey{}, err
	}
	return ParsePublicKey(line)
}

const (
	wantEd25519Private = "a 32-byte Ed25519 seed or 64-byte private key in hex or base64"
	ruleEd25519Private = "an Ed25519 key is a 32-byte seed or a 64-byte private key"
	wantEd25519Public  = "44 characters of base64 or 64 hex digits"
	ruleEd25519Public  = "an Ed25519 public key is exactly 32 bytes"
)

// ParseEd25519PrivateKey reads a WAMP-cryptosign private key file: comment and blank
// lines and one key line holding the 32-byte seed (as Autobahn's cryptosign key files
// hold it, in hex) or the 64-byte private key (seed ‖ public key, which must agree), in
// hex or base64. The public key is always derived from the seed, so it cannot be of
// small order.
func ParseEd25519PrivateKey(data []byte) (ed25519.PrivateKey, error) {
	line, _, err := oneKeyLine(data, "an Ed25519 key file")
	if err != nil {
		return nil, err
	}
	raw, isHex, err := keyBytes(line, wantEd25519Private, ed25519.SeedSize, ed25519.PrivateKeySize)
	if err != nil {
		return nil, err
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !bytes.Equal(k, raw) {
			return nil, fmt.Errorf("%w: the public half of the 64-byte key does not match its seed", ErrMalformed)
		}
		return k, nil
	}
	return nil, sizeError(raw, isHex, ruleEd25519Private)
}

// ParseEd25519PublicKey reads an Ed25519 public key (32 bytes, hex or base64) and refuses
// the small-order points, against which a signature proves nothing.
func ParseEd25519PublicKey(s string) (ed25519.PublicKey, error) {
	raw, isHex, err := keyBytes(s, wantEd25519Public, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, sizeError(raw, isHex, ruleEd25519Public)
	}
	if isSmallOrderEd25519(raw) {
		return nil, errLowOrderEd25519
	}
	return ed25519.PublicKey(raw), nil
}

// smallOrderEd25519Y are the y-coordinates of the 8 points of edwards25519 whose order
// divides 8, in every 255-bit encoding (libsodium's ge25519_has_small_order blocklist): 0
// (order 4), 1 (identity), the two of the points of order 8, p-1 (order 2), and the
// non-canonical p (= 0) and p+1 (= 1). The top bit of an encoding is the sign of x, so
// each is refused with either sign, including the "negative zero" x of the points with
// x = 0, which RFC 8032 forbids but many decoders accept. With such a key, the check
// [S]B = R + [k]A of a verifier that does not multiply by the cofactor (Go's
// crypto/ed25519) passes for signatures made without any private key.
var smallOrderEd25519Y = [][32]byte{
	mustY("0000000000000000000000000000000000000000000000000000000000000000"),
	mustY("0100000000000000000000000000000000000000000000000000000000000000"),
	mustY("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
	mustY("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
	mustY("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	mustY("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	mustY("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
}

// mustY decodes a constant of the table above; it runs at start-up, never on input.
func mustY(h string) [32]byte {
	var y [32]byte
	if n, err := hex.Decode(y[:], []byte(h)); err != nil || n != 32 {
		panic("keygen: bad constant " + h)
	}
	return y
}

func isSmallOrderEd25519(k []byte) bool {
	var y [32]byte
	copy(y[:], k)
	y[31] &= 0x7f // the sign of x
	for _, bad := range smallOrderEd25519Y {
		if y == bad {
			return true
		}
	}
	return false
}

// LineError is an error on one line of an authorized-keys file.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ParseAuthorizedKeys reads the WAMP-cryptosign authorized-keys file of `cbx router`:
// "AUTHID PUBKEY" lines (PUBKEY as [ParseEd25519PublicKey] reads it; an AUTHID may have
// several keys), blank lines and lines starting with "#". Errors are *[LineError]; a
// file without any key is refused too, since it would let nobody in while looking
// configured.
func ParseAuthorizedKeys(data []byte) (map[string][]ed25519.PublicKey, error) {
	out := map[string][]ed25519.PublicKey{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, &LineError{i + 1, fmt.Errorf("%w: want \"AUTHID PUBKEY\", found %d fields", ErrMalformed, len(fields))}
		}
		k, err := ParseEd25519PublicKey(fields[1])
		if err != nil {
			return nil, &LineError{i + 1, err}
		}
		out[fields[0]] = append(out[fields[0]], k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no \"AUTHID PUBKEY\" line", ErrMalformed)
	}
	return out, nil
}

// plural writes a count with its noun: "1 character", "2 characters".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
