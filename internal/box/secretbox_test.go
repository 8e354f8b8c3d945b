package box

import (
	"bytes"
	"crypto/rand"
	"testing"

	"golang.org/x/crypto/nacl/secretbox"
)

// sealSmall and openSmall give the bytes of x/crypto's secretbox for every length they
// take and around their bounds, with random keys, nonces and messages; openSmall refuses
// every single-bit change of a box, and a box under another key or nonce; and both append
// to what out holds.
func TestSecretboxSameBytes(t *testing.T) {
	for n := 0; n <= keystreamSize+40; n++ {
		for range 8 {
			var key [KeySize]byte
			var nonce [NonceSize]byte
			rand.Read(key[:])
			rand.Read(nonce[:])
			msg := make([]byte, n)
			rand.Read(msg)
			prefix := []byte("prefix")
			want := secretbox.Seal(bytes.Clone(prefix), msg, &nonce, &key)
			k := SharedKey{k: key}
			got := k.sealWithNonce(msg, &nonce)
			if !bytes.Equal(got[:NonceSize], nonce[:]) || !bytes.Equal(got[NonceSize:], want[len(prefix):]) {
				t.Fatalf("%d bytes: sealWithNonce differs from secretbox.Seal", n)
			}
			if useSmall(n) {
				if s := sealSmall(bytes.Clone(prefix), msg, &nonce, &key); !bytes.Equal(s, want) {
					t.Fatalf("%d bytes: sealSmall differs from secretbox.Seal", n)
				}
			}
			opened, err := k.OpenAppend(bytes.Clone(prefix), got)
			if err != nil || !bytes.Equal(opened, append(bytes.Clone(prefix), msg...)) {
				t.Fatalf("%d bytes: OpenAppend = %v", n, err)
			}
			if !useSmall(n) {
				continue
			}
			box := want[len(prefix):]
			for i := range len(box) * 8 {
				bad := bytes.Clone(box)
				bad[i/8] ^= 1 << (i % 8)
				if out, ok := openSmall(nil, bad, &nonce, &key); ok || out != nil {
					t.Fatalf("%d bytes: bit %d flipped, openSmall accepted it", n, i)
				}
			}
			other := nonce
			other[23] ^= 1
			if _, ok := openSmall(nil, box, &other, &key); ok {
				t.Fatalf("%d bytes: opened under another nonce", n)
			}
			otherKey := key
			otherKey[0] ^= 1
			if _, ok := openSmall(nil, box, &nonce, &otherKey); ok {
				t.Fatalf("%d bytes: opened under another key", n)
			}
		}
	}
}
