package e2e

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// FuzzPlaintext: whatever decodes re-encodes to a fixed point and decodes to the same
// message; every failure is a *PlaintextError.
func FuzzPlaintext(f *testing.F) {
	v := loadVectors(f)
	for _, vec := range v.Vectors {
		f.Add(unhex(f, vec.PlaintextHex))
	}
	f.Add([]byte(`{"uri":"u","args":[1,"\u0000AA==",{"a":[null,true]}],"kwargs":{"x":-0.5}}`))
	f.Add([]byte(`{"uri":"u","args":[1180591620717411303424,1e400,-0,-0.0]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodePlaintext(b)
		if err != nil {
			var pe *PlaintextError
			if !errors.As(err, &pe) {
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
		// The PPT form carries the same message.
		ppt, err := EncodePPTPlaintext(m)
		if err != nil {
			t.Fatalf("%#v does not encode as PPT: %v", m, err)
		}
		if m3, err := DecodePPTPlaintext(ppt); err != nil || !reflect.DeepEqual(m, m3) {
			t.Fatalf("PPT round trip changed the message: %#v (%v)", m3, err)
		}
	})
}

// FuzzPPTPlaintext: no panic; whatever decodes re-encodes to the same message, and in the
// JSON form too; every failure is a *PlaintextError.
func FuzzPPTPlaintext(f *testing.F) {
	seed, _ := EncodePPTPlaintext(Message{URI: "a.b", Args: []any{"x", []byte{1}, int64(-3), 2.5}, Kwargs: map[string]any{"k": nil}})
	f.Add(seed)
	f.Add([]byte{0xa0})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodePPTPlaintext(b)
		if err != nil {
			var pe *PlaintextError
			if !errors.As(err, &pe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := EncodePPTPlaintext(m)
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %#v: %v", m, err)
		}
		if m2, err := DecodePPTPlaintext(again); err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message: %#v / %#v (%v)", m, m2, err)
		}
		j, err := EncodePlaintext(m)
		if err != nil {
			t.Fatalf("%#v does not encode as JSON: %v", m, err)
		}
		if m3, err := DecodePlaintext(j); err != nil || !reflect.DeepEqual(m, m3) {
			t.Fatalf("JSON form %s reads back as %#v (%v)", j, m3, err)
		}
	})
}

// FuzzCodecOpen feeds arbitrary PPT and legacy payloads to the keystore codec: never a
// panic, never an untyped success for bytes that were not sealed with the key.
func FuzzCodecOpen(f *testing.F) {
	ks := keystore.New()
	single := box.PrivateKey{1, 2, 3}
	if err := ks.Put(&keystore.Entry{Prefix: "", Single: &single}); err != nil {
		f.Fatal(err)
	}
	c := NewCodec(ks, "test", WireLegacy)
	for _, wire := range []WireForm{WireLegacy, WirePPT} {
		c.SetWire(wire)
		p, opts, ok, err := c.Seal(true, "a.b", wamp.List{"x", []byte{1}}, wamp.Dict{"k": int64(1)})
		if err != nil || !ok {
			f.Fatal(err)
		}
		sealed := p.Bare
		if wire == WirePPT {
			sealed = p.Args[0].([]byte)
		}
		f.Add(sealed, wire == WirePPT, opts[wamp.OptPPTSerializer] != nil)
	}
	f.Add([]byte{}, false, false)
	f.Fuzz(func(t *testing.T, payload []byte, ppt, goodSerializer bool) {
		var p wamp.Payload
		details := wamp.Dict{wamp.OptEncAlgo: wamp.EncAlgoCryptobox, wamp.OptEncSerializer: wamp.SerializerJSON}
		if ppt {
			p = wamp.Payload{Args: wamp.List{payload}}
			details = wamp.Dict{wamp.OptPPTScheme: wamp.PPTSchemeWAMP, wamp.OptPPTCipher: wamp.PPTCipherXSalsa20Poly1305, wamp.OptPPTSerializer: wamp.SerializerJSON}
			if goodSerializer {
				details[wamp.OptPPTSerializer] = wamp.SerializerCBOR
			}
		} else {
			p = wamp.Payload{Bare: append([]byte{}, payload...)}
		}
		if !c.Sealed(p, details) {
			t.Fatalf("payload not recognised as sealed")
		}
		args, kwargs, _, err := c.Open(false, "a.b", p, details)
		if err != nil {
			var ce wamp.CodecError
			if !errors.As(err, &ce) || ce.WAMPErrorURI() == "" {
				t.Fatalf("open error without a WAMP error URI: %v", err)
			}
			return
		}
		// It opened, so it was sealed with this key: re-sealing what came out and opening
		// it again must give the same payload.
		c2 := NewCodec(ks, "test", WireLegacy)
		p2, opts2, _, err := c2.Seal(true, "a.b", args, kwargs)
		if err != nil {
			t.Fatalf("opened payload does not re-seal: %v", err)
		}
		a2, k2, _, err := c2.Open(false, "a.b", p2, opts2)
		if err != nil || !reflect.DeepEqual(a2, args) || !reflect.DeepEqual(k2, kwargs) {
			t.Fatalf("round trip changed the payload: %v", err)
		}
	})
}
