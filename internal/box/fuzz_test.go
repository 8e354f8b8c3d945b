package box

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzOpen feeds arbitrary payloads to OpenMessage: nothing that was not sealed with the key
// may open, and nothing may panic. Seeds are Autobahn's payloads from the vectors.
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
		f.Add(unhex(f, n.PayloadHex))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := receiver.OpenMessage("com.example.secure.topic1", payload)
		var mm *URIMismatchError
		if err == nil || errors.As(err, &mm) {
			// It authenticated: only payloads Autobahn sealed under this key pair can.
			if !genuine[string(payload)] {
				t.Fatalf("a payload not sealed by the originator opened: %x -> %#v", payload, m)
			}
		}
	})
}

// FuzzPlaintext: whatever decodes must re-encode and decode to the same message.
func FuzzPlaintext(f *testing.F) {
	v := loadVectors(f)
	for _, vec := range v.Vectors {
		f.Add(unhex(f, vec.PlaintextHex))
	}
	f.Add([]byte(`{"uri":"u","args":[1,"\u0000AA==",{"a":[null,true]}],"kwargs":{"x":-0.5}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodePlaintext(b)
		if err != nil {
			if !errors.Is(err, ErrPlaintext) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		enc, err := EncodePlaintext(m)
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %#v: %v", m, err)
		}
		m2, err := DecodePlaintext(enc)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message:\n%s\n%#v\n%#v (%v)", enc, m, m2, err)
		}
		enc2, _ := EncodePlaintext(m2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable: %s vs %s", enc, enc2)
		}
	})
}
