package box

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
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
