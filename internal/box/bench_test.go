package box

import (
	"bytes"
	"testing"
)

// Precompute is the X25519 + HSalsa20 cost paid once per key pair; Seal/Open are the
// per-message costs with the key precomputed, as the keystore uses them.
func BenchmarkPrecompute(b *testing.B) {
	var priv PrivateKey
	priv[0] = 1
	pub := priv.Public()
	for b.Loop() {
		Precompute(&pub, &priv) //nolint:errcheck // a valid key pair
	}
}

func benchKey() *SharedKey {
	var priv PrivateKey
	priv[0] = 1
	pub := priv.Public()
	k, _ := Precompute(&pub, &priv)
	return k
}

func BenchmarkSeal1KiB(b *testing.B) {
	k := benchKey()
	pt := bytes.Repeat([]byte("x"), 1024)
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := k.Seal(pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen1KiB(b *testing.B) {
	k := benchKey()
	payload, _ := k.Seal(bytes.Repeat([]byte("x"), 1024))
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := k.Open(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSealEvent: the plaintext of issue 10's 100-byte event (Autobahn's JSON object
// around an 88-character string and a counter, 125 bytes), where the per-message fixed
// costs (the nonce, HSalsa20, the allocation) weigh most.
func BenchmarkSealEvent(b *testing.B) {
	k := benchKey()
	pt := bytes.Repeat([]byte("x"), 125)
	for b.Loop() {
		if _, err := k.Seal(pt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenEvent: opening what BenchmarkSealEvent seals.
func BenchmarkOpenEvent(b *testing.B) {
	k := benchKey()
	payload, _ := k.Seal(bytes.Repeat([]byte("x"), 125))
	buf := make([]byte, 0, 256)
	for b.Loop() {
		if _, err := k.OpenAppend(buf[:0], payload); err != nil {
			b.Fatal(err)
		}
	}
}
