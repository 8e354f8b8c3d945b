package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
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
	f.Add([]byte(` { "args" : [] , "u\u0072i" : "a" , "x" : {"args": 1} , "uri" : "b" } `))
	f.Add([]byte(`{"uri":"a","uri":7}`))
	f.Add([]byte(`{"kwargs":{"k":[]},"args":null}x`))
	f.Add([]byte("{\"uri\":\"a\xffb\",\"args\":[]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodePlaintext(b)
		keepsNothing(t, b, m, err, DecodePlaintext)
		// The fields read straight from the text give what the whole object gives.
		if mo, erro := decodePlaintextObject(b); !reflect.DeepEqual(m, mo) || !reflect.DeepEqual(err, erro) {
			t.Fatalf("%q: DecodePlaintext gives %#v, %v; through the object %#v, %v", b, m, err, mo, erro)
		}
		// So does a reader told which URI to expect, whether it is the one inside or not.
		expect := []string{m.URI, "u", "a", ""}
		if _, rest, ok := bytes.Cut(b, []byte(`"uri":"`)); ok {
			if raw, _, ok := bytes.Cut(rest, []byte(`"`)); ok {
				expect = append(expect, string(raw)) // as written, valid UTF-8 or not
			}
		}
		for _, trusted := range expect {
			if mt, errt := decodePlaintextFor(b, trusted); !reflect.DeepEqual(m, mt) || !reflect.DeepEqual(err, errt) {
				t.Fatalf("%q: DecodePlaintext gives %#v, %v; expecting URI %#v %#v, %v", b, m, err, trusted, mt, errt)
			}
		}
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
	// Two refused values in one map (invalid UTF-8, a simple value): refused in the same
	// words on every read (keepsNothing compares two).
	f.Add([]byte("\xa3c0\xb1A1d0822\x84\xea11 a0!"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodePPTPlaintext(b)
		keepsNothing(t, b, m, err, DecodePPTPlaintext)
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

// FuzzOpenGenerations: a subscriber with three generations (1 retired, 2 older, 3
// newest) opens arbitrary payloads with arbitrary key ids. The key id only orders the
// generations tried: the outcome (what opened it, or the kind of refusal) is the same
// without it; nothing opens with the retired generation; no panic.
func FuzzOpenGenerations(f *testing.F) {
	var pubs, subs [3]box.PrivateKey
	for i := range 3 {
		pubs[i], subs[i] = box.PrivateKey{0, byte(10 + i)}, box.PrivateKey{0, byte(20 + i)}
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sub := keystore.New()
	gen := func(i int) *keystore.Generation {
		p := pubs[i].Public()
		return &keystore.Generation{ResponderPrivate: &subs[i], OriginatorPublic: &p}
	}
	e := &keystore.Entry{Prefix: "a.", ResponderPrivate: &subs[0], OriginatorPublic: gen(0).OriginatorPublic}
	for i, retire := range []time.Time{at, {}} {
		r, err := e.Rotated(gen(i+1), retire)
		if err != nil {
			f.Fatal(err)
		}
		e = r
	}
	if err := sub.Put(e); err != nil {
		f.Fatal(err)
	}
	c := NewCodec(sub, "sub", WireLegacy)
	c.now = func() time.Time { return at.Add(time.Hour) }
	for i := range 3 {
		sp := subs[i].Public()
		pks := keystore.New()
		if err := pks.Put(&keystore.Entry{Prefix: "a.", OriginatorPrivate: &pubs[i], ResponderPublic: &sp}); err != nil {
			f.Fatal(err)
		}
		p, opts, _, err := NewCodec(pks, "pub", WireLegacy).Seal(true, "a.b", wamp.List{"x"}, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Bare, opts[wamp.OptEncKey].(string))
		f.Add(p.Bare, keygen.Fingerprint(subs[(i+1)%3].Public()))
	}
	f.Add([]byte{1, 2}, "0x")
	outcome := func(err error, opened wamp.Dict) string {
		var rk *RetiredKeyError
		switch {
		case err == nil:
			return fmt.Sprint("opened by generation ", opened[OpenedGeneration])
		case errors.As(err, &rk):
			return fmt.Sprint("retired generation ", rk.Generation)
		case errors.Is(err, ErrDecrypt), errors.Is(err, ErrTooShort):
			return "does not open"
		case errors.As(err, new(*URIMismatchError)):
			return "mismatch"
		case errors.Is(err, ErrPlaintext):
			return "plaintext"
		}
		return "other: " + err.Error()
	}
	f.Fuzz(func(t *testing.T, payload []byte, id string) {
		p := wamp.Payload{Bare: payload}
		withID := wamp.Dict{wamp.OptEncAlgo: wamp.EncAlgoCryptobox, wamp.OptEncSerializer: wamp.SerializerJSON, wamp.OptEncKey: id}
		_, _, opened, err := c.Open(false, "a.b", p, withID)
		got := outcome(err, opened)
		_, _, opened2, err2 := c.Open(false, "a.b", p, without(withID, wamp.OptEncKey))
		if want := outcome(err2, opened2); got != want {
			t.Fatalf("key id %q: %s; without it: %s", id, got, want)
		}
		if strings.HasPrefix(got, "other") || got == "opened by generation 1" {
			t.Fatalf("key id %q: %s", id, got)
		}
	})
}

// keepsNothing checks that decode keeps nothing of its input (openWithKey opens into a
// buffer it wipes and reuses): what it decodes from a copy of b is still m, err once the
// copy is overwritten.
func keepsNothing(t *testing.T, b []byte, m Message, err error, decode func([]byte) (Message, error)) {
	t.Helper()
	scratch := bytes.Clone(b)
	ms, errs := decode(scratch)
	for i := range scratch {
		scratch[i] = ^scratch[i]
	}
	if !reflect.DeepEqual(ms, m) || !reflect.DeepEqual(errs, err) {
		t.Fatalf("what was decoded changed with its input: %#v, %v; now %#v, %v", m, err, ms, errs)
	}
}
