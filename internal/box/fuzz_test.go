package box

import (
	"encoding/hex"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary payloads to Open: nothing that was not sealed with the key may
// open, and nothing may panic. Seeds are Autobahn's payloads from the vectors.
func FuzzOpen(f *testing.F) {
	v := loadVectors(f)
	kp := pairFor(f, v, "", "originator->responder")
	receiver := mustPrecompute(f, &kp.senderPub, &kp.receiverPriv)
	genuine := map[string]bool{}
	for _, vec := range v.Vectors {
		if vec.Name != "single-key-default-publish-noargs" { // one symmetric key serves both directions
			genuine[string(unhex(f, vec.PayloadHex))] = true
		}
		f.Add(unhex(f, vec.PayloadHex))
	}
	for _, n := range v.Negative {
		if n.Name == "uri-mismatch" { // sealed under the right key, for another URI
			genuine[string(unhex(f, n.PayloadHex))] = true
		}
		f.Add(unhex(f, n.PayloadHex))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		pt, err := receiver.Open(payload)
		if err == nil && !genuine[string(payload)] {
			// It authenticated: only payloads Autobahn sealed under this key pair can.
			t.Fatalf("a payload not sealed by the originator opened: %x -> %q", payload, pt)
		}
		if err != nil && !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTooShort) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzCheckPublicKey holds CheckPublicKey's comparison to what X25519 says of the key.
func FuzzCheckPublicKey(f *testing.F) {
	for _, h := range lowOrderX25519 {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Add(make([]byte, KeySize))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != KeySize {
			return
		}
		checkAgreesWithX25519(t, PublicKey(b))
	})
}
