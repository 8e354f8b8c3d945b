package keygen

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
)

// RFC 8032 §7.1 test 1.
const (
	edSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	edPubHex  = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
)

// Only exactly 32 bytes are a key, in base64 or in hex; anything shorter or longer is
// refused saying how many bytes it held. 44 characters of base64 hold 31, 32 or 33 bytes,
// so the length of the text alone proves nothing.
func TestKeyIsExactly32Bytes(t *testing.T) {
	for n := 1; n <= 70; n++ {
		raw := bytes.Repeat([]byte{0x5a}, n)
		for _, form := range []struct {
			text, says string
		}{
			{base64.StdEncoding.EncodeToString(raw), fmt.Sprintf("%d bytes; a key is exactly 32 bytes", n)},
			{hex.EncodeToString(raw), fmt.Sprintf("%d bytes of hex (%d digits); a key is exactly 32 bytes", n, 2*n)},
			{strings.ToUpper(hex.EncodeToString(raw)), fmt.Sprintf("%d bytes of hex (%d digits)", n, 2*n)},
		} {
			k, err := ParseKey(form.text)
			if n == 32 {
				if err != nil || !bytes.Equal(k[:], raw) {
					t.Errorf("ParseKey(%q) = %x, %v", form.text, k, err)
				}
				continue
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), form.says) {
				t.Errorf("ParseKey(%d bytes as %q) = %v, want an error saying %q", n, form.text, err, form.says)
			}
			if _, err := ParsePublicKey(form.text); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParsePublicKey(%d bytes) = %v", n, err)
			}
			if _, err := ParsePrivateKeyFile([]byte("# a key\n" + form.text + "\n")); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParsePrivateKeyFile(%d bytes) = %v", n, err)
			}
			if _, err := ParseEd25519PublicKey(form.text); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseEd25519PublicKey(%d bytes) = %v", n, err)
			}
			if n != 64 {
				if _, err := ParseEd25519PrivateKey([]byte(form.text)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), fmt.Sprintf("%d bytes", n)) {
					t.Errorf("ParseEd25519PrivateKey(%d bytes) = %v", n, err)
				}
			}
		}
	}
	// Around 44 characters in particular: 31 ("=="), 32 ("=") and 33 bytes (no "=").
	for in, want := range map[string]string{
		"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==": "31 bytes",
		"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAh": "33 bytes",
	} {
		if _, err := ParseKey(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey(%q) = %v, want %q", in, err, want)
		}
	}
}

// The low-order Curve25519 keys of libsodium's blocklist, each also with the top bit set.
var lowOrderX25519 = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0000000000000000000000000000000000000000000000000000000000000080",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

func TestLowOrderCurve25519PublicKeysAreRefused(t *testing.T) {
	for _, h := range lowOrderX25519 {
		raw, _ := hex.DecodeString(h)
		for _, text := range []string{h, base64.StdEncoding.EncodeToString(raw)} {
			_, err := ParsePublicKey(text)
			if !errors.Is(err, ErrLowOrder) || err.Error() != "low-order public key: any shared secret with it would be all zeros, so anyone could open what it seals" {
				t.Errorf("ParsePublicKey(%s) = %v, want ErrLowOrder", text, err)
			}
			if _, err := ParsePublicKeyFile([]byte("# a public key\n" + text + "\n")); !errors.Is(err, ErrLowOrder) {
				t.Errorf("ParsePublicKeyFile(%s) = %v, want ErrLowOrder", text, err)
			}
			// A private key file naming it as its public key is refused for that reason.
			_, err = ParsePrivateKeyFile([]byte(publicComment + text + "\n" + alicePrivB64 + "\n"))
			if !errors.Is(err, ErrLowOrder) || !strings.Contains(err.Error(), `the "# public key:" comment: low-order public key`) {
				t.Errorf("private key file claiming %s: %v", text, err)
			}
		}
	}
	if _, err := ParsePublicKey(alicePubB64); err != nil {
		t.Fatalf("an ordinary public key: %v", err)
	}
}

func TestPublicKeyFile(t *testing.T) {
	k, _ := Generate(bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	pub := k.Public()
	for _, data := range []string{
		Base64(pub), Base64(pub) + "\n", "# keygen -y output\n\n" + Hex(pub) + "\r\n",
	} {
		got, err := ParsePublicKeyFile([]byte(data))
		if err != nil || got != pub {
			t.Errorf("ParsePublicKeyFile(%q) = %x, %v", data, got, err)
		}
	}
	cases := map[string]error{
		string(MarshalPrivateKeyFile(k, time.Unix(0, 0))): ErrPrivateKeyFile,
		"# cbx private key\n" + Base64(pub):               ErrPrivateKeyFile,
		"# only comments\n":                               ErrMalformed,
		Base64(pub) + "\n" + Base64(pub):                  ErrMalformed,
		"":                                                ErrMalformed,
	}
	for data, want := range cases {
		if _, err := ParsePublicKeyFile([]byte(data)); !errors.Is(err, want) {
			t.Errorf("ParsePublicKeyFile(%q) = %v, want %v", data, err, want)
		}
	}
}

func TestEd25519PrivateKey(t *testing.T) {
	seed, _ := hex.DecodeString(edSeedHex)
	want := ed25519.NewKeyFromSeed(seed)
	for _, data := range []string{
		edSeedHex,
		"# Autobahn's cryptosign key file holds the seed in hex\n" + strings.ToUpper(edSeedHex) + "\n",
		base64.StdEncoding.EncodeToString(seed),
		hex.EncodeToString(want),
		base64.StdEncoding.EncodeToString(want),
	} {
		k, err := ParseEd25519PrivateKey([]byte(data))
		if err != nil || !k.Equal(want) {
			t.Errorf("ParseEd25519PrivateKey(%q) = %v", data, err)
		}
		if hex.EncodeToString(k.Public().(ed25519.PublicKey)) != edPubHex {
			t.Errorf("%q: public key %x, want RFC 8032's", data, k.Public())
		}
	}
	bad := append([]byte(nil), want...)
	bad[40] ^= 1
	for data, says := range map[string]string{
		hex.EncodeToString(bad):      "does not match its seed",
		edSeedHex + "\n" + edSeedHex: "2 key lines",
		"# nothing\n":                "no key line",
		"zz":                         "2 characters; want a 32-byte Ed25519 seed",
		strings.Repeat("ab", 33):     "33 bytes of hex (66 digits); an Ed25519 key is a 32-byte seed or a 64-byte private key",
	} {
		_, err := ParseEd25519PrivateKey([]byte(data))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), says) {
			t.Errorf("ParseEd25519PrivateKey(%q) = %v, want %q", data, err, says)
		}
		if err != nil && len(data) > 16 && strings.Contains(err.Error(), data[:16]) {
			t.Errorf("error %q repeats the key", err)
		}
	}
}

// ---- small-order Ed25519 points ----------------------------------------------------------

// A tiny reference implementation of edwards25519 in math/big, for this test only: it
// finds the 8 points of order dividing 8 from scratch, so the blocklist is checked
// against the curve rather than against another copy of the list.
var (
	edP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	edD = func() *big.Int { // -121665/121666
		d := new(big.Int).ModInverse(big.NewInt(121666), edP)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, edP)
	}()
	edL, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
)

type edPoint struct{ x, y *big.Int }

func edAdd(a, b edPoint) edPoint {
	p := edP
	x1y2 := new(big.Int).Mul(a.x, b.y)
	y1x2 := new(big.Int).Mul(a.y, b.x)
	x1x2 := new(big.Int).Mul(a.x, b.x)
	y1y2 := new(big.Int).Mul(a.y, b.y)
	dxy := new(big.Int).Mul(edD, x1x2)
	dxy.Mul(dxy, y1y2).Mod(dxy, p)
	xn := new(big.Int).Add(x1y2, y1x2)
	xd := new(big.Int).Add(big.NewInt(1), dxy)
	yn := new(big.Int).Add(y1y2, x1x2) // a = -1: y1y2 - a·x1x2
	yd := new(big.Int).Sub(big.NewInt(1), dxy)
	x := xn.Mul(xn, new(big.Int).ModInverse(xd.Mod(xd, p), p))
	y := yn.Mul(yn, new(big.Int).ModInverse(yd.Mod(yd, p), p))
	return edPoint{x.Mod(x, p), y.Mod(y, p)}
}

func edMul(k *big.Int, a edPoint) edPoint {
	r := edPoint{big.NewInt(0), big.NewInt(1)}
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = edAdd(r, r)
		if k.Bit(i) == 1 {
			r = edAdd(r, a)
		}
	}
	return r
}

// edX returns an x with (x, y) on the curve: x² = (y²-1)/(d·y²+1).
func edX(y *big.Int) (*big.Int, bool) {
	y2 := new(big.Int).Mul(y, y)
	num := new(big.Int).Sub(y2, big.NewInt(1))
	den := new(big.Int).Add(new(big.Int).Mul(edD, y2), big.NewInt(1))
	x2 := num.Mul(num, new(big.Int).ModInverse(den.Mod(den, edP), edP))
	x2.Mod(x2, edP)
	x := new(big.Int).ModSqrt(x2, edP)
	return x, x != nil
}

func le32(v *big.Int) [32]byte {
	var out [32]byte
	b := v.Bytes()
	for i := range b {
		out[i] = b[len(b)-1-i]
	}
	return out
}

func TestSmallOrderEd25519BlocklistIsComplete(t *testing.T) {
	// A point of order 8: [ℓ]Q for a point Q whose torsion part has order 8.
	var gen edPoint
	for y := int64(2); ; y++ {
		x, ok := edX(big.NewInt(y))
		if !ok {
			continue
		}
		tp := edMul(edL, edPoint{x, big.NewInt(y)})
		if four := edMul(big.NewInt(4), tp); four.x.Sign() != 0 || four.y.Cmp(big.NewInt(1)) != 0 {
			gen = tp
			break
		}
	}
	// Its multiples are the 8 points of order dividing 8; every encoding of each of them
	// (y and, where it fits in 255 bits, y+p; either sign bit) must be refused.
	pt := edPoint{big.NewInt(0), big.NewInt(1)}
	seen := map[[32]byte]bool{}
	for i := range 8 {
		if i > 0 {
			pt = edAdd(pt, gen)
		}
		if o := edMul(big.NewInt(8), pt); o.x.Sign() != 0 || o.y.Cmp(big.NewInt(1)) != 0 {
			t.Fatalf("[8]P is not the identity for P = %v", pt)
		}
		ys := []*big.Int{pt.y}
		if yp := new(big.Int).Add(pt.y, edP); yp.BitLen() <= 255 {
			ys = append(ys, yp)
		}
		for _, y := range ys {
			enc := le32(y)
			seen[enc] = true
			for _, sign := range []byte{0, 0x80} {
				e := enc
				e[31] |= sign
				if !isSmallOrderEd25519(e[:]) {
					t.Errorf("small-order point encoding %x is not refused", e)
				}
				if _, err := ParseEd25519PublicKey(hex.EncodeToString(e[:])); !errors.Is(err, ErrLowOrder) {
					t.Errorf("ParseEd25519PublicKey(%x) = %v", e, err)
				}
			}
		}
	}
	if len(seen) != len(smallOrderEd25519Y) {
		t.Fatalf("the curve has %d small-order y encodings, the blocklist %d", len(seen), len(smallOrderEd25519Y))
	}
	for _, y := range smallOrderEd25519Y {
		if !seen[y] {
			t.Errorf("blocklist entry %x is not a small-order point", y)
		}
	}
	// Ordinary keys pass.
	for i := range 32 {
		seed := bytes.Repeat([]byte{byte(i)}, 32)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		if _, err := ParseEd25519PublicKey(base64.StdEncoding.EncodeToString(pub)); err != nil {
			t.Fatalf("ParseEd25519PublicKey(%x) = %v", pub, err)
		}
	}
}

// Why small-order keys are refused: with the identity as public key, Go's crypto/ed25519
// accepts a signature made without any private key for every message.
func TestSmallOrderEd25519KeyAcceptsForgeries(t *testing.T) {
	identity := make([]byte, 32)
	identity[0] = 1
	sig := make([]byte, 64)
	copy(sig, identity) // R = identity, S = 0
	for _, msg := range []string{"challenge 1", "another challenge"} {
		if !ed25519.Verify(identity, []byte(msg), sig) {
			t.Skip("this crypto/ed25519 refuses the forgery itself; the blocklist still applies")
		}
	}
	if _, err := ParseEd25519PublicKey(hex.EncodeToString(identity)); !errors.Is(err, ErrLowOrder) {
		t.Fatalf("the identity was accepted as a public key: %v", err)
	}
}

func TestAuthorizedKeys(t *testing.T) {
	pub2 := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public().(ed25519.PublicKey)
	data := "# authid key\n\ncarol " + edPubHex + "\n  carol\t" + base64.StdEncoding.EncodeToString(pub2) + "  \ndave " + strings.ToUpper(edPubHex) + "\n"
	got, err := ParseAuthorizedKeys([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got["carol"]) != 2 || !got["carol"][1].Equal(pub2) || hex.EncodeToString(got["dave"][0]) != edPubHex {
		t.Fatalf("parsed %v", got)
	}
	for data, want := range map[string]struct {
		line int
		says string
		err  error
	}{
		"carol\n":                         {1, `want "AUTHID PUBKEY", found 1 fields`, ErrMalformed},
		"# c\ncarol " + edPubHex + " x\n": {2, "found 3 fields", ErrMalformed},
		"carol " + edPubHex[:62] + "\n":   {1, "31 bytes of hex (62 digits); an Ed25519 public key is exactly 32 bytes", ErrMalformed},
		"\n\nmallory 0100000000000000000000000000000000000000000000000000000000000000\n": {3, "low-order public key: a small-order Ed25519 point", ErrLowOrder},
	} {
		_, err := ParseAuthorizedKeys([]byte(data))
		var le *LineError
		if !errors.As(err, &le) || le.Line != want.line || !errors.Is(err, want.err) || !strings.Contains(err.Error(), want.says) {
			t.Errorf("ParseAuthorizedKeys(%q) = %v, want line %d saying %q", data, err, want.line, want.says)
		}
	}
	if _, err := ParseAuthorizedKeys([]byte("# nobody\n")); !errors.Is(err, ErrMalformed) {
		t.Errorf("a file without keys: %v", err)
	}
}

// ---- fuzzing: one target per parser ------------------------------------------------------

// checkErr fails on an error that wraps neither sentinel of the package.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrLowOrder) && !errors.Is(err, ErrPrivateKeyFile) {
		t.Fatalf("untyped error %v", err)
	}
}

func FuzzParsePublicKey(f *testing.F) {
	for _, s := range append([]string{alicePubB64, alicePrivHex, "", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw=="}, lowOrderX25519...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKey(s)
		if err != nil {
			checkErr(t, err)
			return
		}
		if err := box.CheckPublicKey(&k); err != nil {
			t.Fatalf("%q: a low-order key was accepted", s)
		}
		if k2, err := ParsePublicKey(Base64(k)); err != nil || k2 != k {
			t.Fatalf("%q parsed to %x but does not parse back (%v)", s, k, err)
		}
	})
}

func FuzzParsePublicKeyFile(f *testing.F) {
	f.Add([]byte(alicePubB64 + "\n"))
	f.Add([]byte("# x\n" + alicePubB64))
	f.Add(MarshalPrivateKeyFile(box.PrivateKey{1}, time.Unix(0, 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePublicKeyFile(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		if k2, err := ParsePublicKeyFile([]byte("# again\n" + Hex(k) + "\n")); err != nil || k2 != k {
			t.Fatalf("%q parsed to %x but does not parse back (%v)", data, k, err)
		}
	})
}

// FuzzParseEd25519PrivateKey: every key it accepts is a working Ed25519 key (it signs, and
// its own public key verifies the signature), and the seed, written out, reads back.
func FuzzParseEd25519PrivateKey(f *testing.F) {
	f.Add([]byte(edSeedHex))
	f.Add([]byte("# comment\nnWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n"))
	f.Add([]byte("zz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseEd25519PrivateKey(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		msg := []byte("cbx cryptosign challenge")
		if !ed25519.Verify(k.Public().(ed25519.PublicKey), msg, ed25519.Sign(k, msg)) {
			t.Fatalf("accepted key %x does not verify its own signature", k)
		}
		k2, err := ParseEd25519PrivateKey([]byte(hex.EncodeToString(k.Seed())))
		if err != nil || !k2.Equal(k) {
			t.Fatalf("the seed of %q does not read back: %v", data, err)
		}
	})
}

func FuzzParseEd25519PublicKey(f *testing.F) {
	f.Add(edPubHex)
	f.Add("0100000000000000000000000000000000000000000000000000000000000000")
	f.Add("xxdqcD1N2E+6PAt2DRBnDyogU/osOczGTsf9d5KsA3o=")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseEd25519PublicKey(s)
		if err != nil {
			checkErr(t, err)
			return
		}
		if len(k) != ed25519.PublicKeySize || isSmallOrderEd25519(k) {
			t.Fatalf("%q: accepted %x", s, k)
		}
	})
}

func FuzzParseAuthorizedKeys(f *testing.F) {
	f.Add([]byte("# c\ncarol " + edPubHex + "\n"))
	f.Add([]byte("a b c\n"))
	f.Add([]byte("m 0100000000000000000000000000000000000000000000000000000000000000"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseAuthorizedKeys(data)
		if err != nil {
			checkErr(t, err)
			return
		}
		if len(keys) == 0 {
			t.Fatal("no error and no keys")
		}
		for id, ks := range keys {
			if id == "" || strings.ContainsAny(id, " \t\r\n") || strings.HasPrefix(id, "#") {
				t.Fatalf("authid %q", id)
			}
			for _, k := range ks {
				if len(k) != ed25519.PublicKeySize || isSmallOrderEd25519(k) {
					t.Fatalf("accepted %x for %q", k, id)
				}
			}
		}
	})
}
