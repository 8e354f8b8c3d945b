package box

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math/big"
	"testing"

	"golang.org/x/crypto/curve25519"
	naclbox "golang.org/x/crypto/nacl/box"
)

func mustPrecompute(t testing.TB, peer *PublicKey, self *PrivateKey) *SharedKey {
	t.Helper()
	k, err := Precompute(peer, self)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// LowOrderX25519 is libsodium's blocklist of low-order Curve25519 public keys
// (crypto_scalarmult/curve25519/ref10/x25519_ref10.c), each also with the top bit set:
// X25519 ignores that bit (RFC 7748 §5), so both encodings name the same point.
var lowOrderX25519 = []string{
	"0000000000000000000000000000000000000000000000000000000000000000", // 0 (order 4)
	"0000000000000000000000000000000000000000000000000000000000000080",
	"0100000000000000000000000000000000000000000000000000000000000000", // 1 (order 1)
	"0100000000000000000000000000000000000000000000000000000000000080",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1 (order 2)
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p = 0, non-canonical
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 = 1, non-canonical
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
}

func randomPrivate(t *testing.T) PrivateKey {
	var k PrivateKey
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

// Every low-order key is refused by CheckPublicKey and by Precompute, whatever the
// private key. Without the check (plain nacl/box) two unrelated private keys derive the
// same box key with it, which is why it matters: anybody can open what is sealed to it.
func TestLowOrderPublicKeysAreRefused(t *testing.T) {
	for _, h := range lowOrderX25519 {
		var pub PublicKey
		if _, err := hex.Decode(pub[:], []byte(h)); err != nil {
			t.Fatal(err)
		}
		if err := CheckPublicKey(&pub); !errors.Is(err, ErrLowOrderKey) {
			t.Errorf("CheckPublicKey(%s) = %v, want ErrLowOrderKey", h, err)
		}
		a, b := randomPrivate(t), randomPrivate(t)
		if k, err := Precompute(&pub, &a); !errors.Is(err, ErrLowOrderKey) || k != nil {
			t.Errorf("Precompute(%s, random) = %v, %v; want ErrLowOrderKey", h, k, err)
		}
		var ka, kb [KeySize]byte
		naclbox.Precompute(&ka, (*[KeySize]byte)(&pub), (*[KeySize]byte)(&a))
		naclbox.Precompute(&kb, (*[KeySize]byte)(&pub), (*[KeySize]byte)(&b))
		if ka != kb {
			t.Errorf("%s: unchecked box keys differ for two private keys; not a low-order key?", h)
		}
	}
}

// The check is exact: ordinary keys pass, and so do the other non-canonical encodings
// (p+2 … 2^255-1, and values with the top bit set), which X25519 reduces to points that
// are not of low order.
func TestOrdinaryPublicKeysPass(t *testing.T) {
	for range 64 {
		priv := randomPrivate(t)
		pub := priv.Public()
		if err := CheckPublicKey(&pub); err != nil {
			t.Fatalf("CheckPublicKey(%x) = %v", pub, err)
		}
		other := randomPrivate(t)
		if _, err := Precompute(&pub, &other); err != nil {
			t.Fatalf("Precompute: %v", err)
		}
	}
	for k := byte(2); k <= 18; k++ {
		// p + k = 2^255 - 19 + k, little-endian
		var pub PublicKey
		for i := range pub {
			pub[i] = 0xff
		}
		pub[0], pub[31] = 0xed+k, 0x7f
		if err := CheckPublicKey(&pub); err != nil {
			t.Errorf("CheckPublicKey(p+%d) = %v", k, err)
		}
		pub[31] = 0xff
		if err := CheckPublicKey(&pub); err != nil {
			t.Errorf("CheckPublicKey(p+%d, top bit set) = %v", k, err)
		}
	}
}

// Precompute is still crypto_box_beforenm: the same key as nacl/box for ordinary keys
// (the Autobahn vectors check it against PyNaCl as well).
func TestPrecomputeMatchesNaClBox(t *testing.T) {
	for range 16 {
		a, b := randomPrivate(t), randomPrivate(t)
		pub := b.Public()
		var want [KeySize]byte
		naclbox.Precompute(&want, (*[KeySize]byte)(&pub), (*[KeySize]byte)(&a))
		if got := mustPrecompute(t, &pub, &a); [KeySize]byte(got.Bytes()) != want {
			t.Fatalf("Precompute = %x, nacl/box %x", got.Bytes(), want)
		}
	}
	// X25519 itself agrees that the blocklisted keys give all zeros.
	var pub PublicKey
	hex.Decode(pub[:], []byte(lowOrderX25519[4]))
	a := randomPrivate(t)
	var out [KeySize]byte
	curve25519.ScalarMult(&out, (*[KeySize]byte)(&a), (*[KeySize]byte)(&pub)) //nolint:staticcheck // the unchecked form, on purpose
	if out != ([KeySize]byte{}) {
		t.Fatalf("X25519 with an order-8 point is %x, want zeros", out)
	}
}

// x25519Zero is the check CheckPublicKey replaced: X25519 of some scalar and pub is all
// zeros (x/crypto reports that as an error). Clamping makes every scalar a multiple of 8,
// so the result does not depend on the scalar.
var oneScalar = [KeySize]byte{1}

func x25519Zero(pub *PublicKey) bool {
	_, err := curve25519.X25519(oneScalar[:], pub[:])
	return err != nil
}

// checkAgreesWithX25519 fails t when CheckPublicKey and X25519 disagree on pub.
func checkAgreesWithX25519(t testing.TB, pub PublicKey) {
	t.Helper()
	if got, want := CheckPublicKey(&pub) != nil, x25519Zero(&pub); got != want {
		t.Fatalf("CheckPublicKey(%x) refuses: %v; X25519 gives zeros: %v", pub, got, want)
	}
}

// CheckPublicKey compares with a list rather than computing X25519: the two agree on the
// listed keys, on every key one bit away from them, on the non-canonical encodings
// p … 2^255-1 (each with and without the top bit) and on random keys.
func TestCheckPublicKeyAgreesWithX25519(t *testing.T) {
	var keys []PublicKey
	for _, h := range lowOrderX25519 {
		var pub PublicKey
		if _, err := hex.Decode(pub[:], []byte(h)); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, pub)
		for bit := range KeySize * 8 {
			near := pub
			near[bit/8] ^= 1 << (bit % 8)
			keys = append(keys, near)
		}
	}
	for k := 0; k <= 18; k++ {
		var pub PublicKey
		for i := range pub {
			pub[i] = 0xff
		}
		pub[0], pub[31] = byte(0xed+k), 0x7f
		keys = append(keys, pub)
		pub[31] = 0xff
		keys = append(keys, pub)
	}
	for range 256 {
		var pub PublicKey
		if _, err := rand.Read(pub[:]); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, pub)
	}
	for _, pub := range keys {
		checkAgreesWithX25519(t, pub)
	}
}

// The list is complete: it holds every u-coordinate of a point of order dividing 8 on
// Curve25519 (order 8·q) or its twist (order 4·q'), as the curve itself gives them. For a
// random u, [q·q']u is such a point (or the point at infinity), and every one of them
// comes up among 250 random u but with a probability below 10^-14 (the rarest, each point of
// order 8, one time in 8 on the curve's half). The ladder is RFC 7748 §5's, without
// clamping, over math/big.
func TestLowOrderListIsTheEightTorsion(t *testing.T) {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	q, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)   // 2^252 + 27742317777372353535851937790883648493
	qt, _ := new(big.Int).SetString("14474011154664524427946373126085988481603263447650325797860494125407373907997", 10) // 2^253 - 55484635554744707071703875581767296995
	// The orders: #E = 8q and #E' = 4q' = 2(p+1) - 8q.
	twist := new(big.Int).Sub(new(big.Int).Mul(big.NewInt(2), new(big.Int).Add(p, big.NewInt(1))), new(big.Int).Mul(big.NewInt(8), q))
	if twist.Cmp(new(big.Int).Mul(big.NewInt(4), qt)) != 0 || !q.ProbablyPrime(20) || !qt.ProbablyPrime(20) {
		t.Fatal("wrong curve constants")
	}
	n := new(big.Int).Mul(q, qt)
	found := map[string]bool{}
	for range 250 {
		var b PublicKey
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		u := new(big.Int).Mod(new(big.Int).SetBytes(reverse(b[:])), p)
		if x, ok := ladder(p, n, u); ok {
			found[hex.EncodeToString(reverse(x.FillBytes(make([]byte, KeySize))))] = true
		}
	}
	// The canonical entries of the list: those below p, without the top bit.
	want := map[string]bool{}
	for _, h := range lowOrderX25519 {
		var k PublicKey
		hex.Decode(k[:], []byte(h))
		if v := new(big.Int).SetBytes(reverse(k[:])); v.Cmp(p) < 0 {
			want[h] = true
		}
	}
	if len(found) != len(want) || len(want) != 5 {
		t.Fatalf("the 8-torsion's u-coordinates: %v; the list's: %v", found, want)
	}
	for h := range found {
		if !want[h] {
			t.Errorf("u = %s has order dividing 8 but is not listed", h)
		}
	}
}

func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i]
	}
	return r
}

// ladder is [n]u on the Montgomery curve v² = u³ + 486662u² + u (or its twist, which the
// u-only formulas do not tell apart), RFC 7748 §5, with the scalar as given. ok is false
// for the point at infinity.
func ladder(p, n, u *big.Int) (*big.Int, bool) {
	mod := func(x *big.Int) *big.Int { return x.Mod(x, p) }
	a24 := big.NewInt(121665)
	x1 := new(big.Int).Set(u)
	x2, z2 := big.NewInt(1), big.NewInt(0)
	x3, z3 := new(big.Int).Set(u), big.NewInt(1)
	swap := uint(0)
	for i := n.BitLen() - 1; i >= 0; i-- {
		bit := n.Bit(i)
		if swap^bit == 1 {
			x2, x3 = x3, x2
			z2, z3 = z3, z2
		}
		swap = bit
		a := mod(new(big.Int).Add(x2, z2))
		aa := mod(new(big.Int).Mul(a, a))
		b := mod(new(big.Int).Sub(x2, z2))
		bb := mod(new(big.Int).Mul(b, b))
		e := mod(new(big.Int).Sub(aa, bb))
		c := mod(new(big.Int).Add(x3, z3))
		d := mod(new(big.Int).Sub(x3, z3))
		da := mod(new(big.Int).Mul(d, a))
		cb := mod(new(big.Int).Mul(c, b))
		s := mod(new(big.Int).Add(da, cb))
		x3 = mod(new(big.Int).Mul(s, s))
		s = mod(new(big.Int).Sub(da, cb))
		z3 = mod(new(big.Int).Mul(x1, mod(new(big.Int).Mul(s, s))))
		x2 = mod(new(big.Int).Mul(aa, bb))
		z2 = mod(new(big.Int).Mul(e, mod(new(big.Int).Add(aa, mod(new(big.Int).Mul(a24, e))))))
	}
	if swap == 1 {
		x2, z2 = x3, z3
	}
	if z2.Sign() == 0 {
		return nil, false
	}
	inv := new(big.Int).Exp(z2, new(big.Int).Sub(p, big.NewInt(2)), p)
	return mod(new(big.Int).Mul(x2, inv)), true
}
