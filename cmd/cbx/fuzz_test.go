package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// FuzzParseEventLine: --stdin lines either parse into args/kwargs or give an error.
func FuzzParseEventLine(f *testing.F) {
	for _, s := range []string{`[1,"a"]`, `{"args":[1],"kwargs":{"k":"\u0000AA=="}}`, `{"x":1}`, `42`, `[`, `{"args":{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := parseEventLine(line)
		if err != nil {
			return
		}
		// What parsed must be sealable: the plaintext encoder accepts it.
		if _, err := box.EncodePlaintext(box.Message{URI: "u", Args: ev.args, Kwargs: ev.kwargs}); err != nil {
			t.Fatalf("%q parsed but does not encode: %v", line, err)
		}
	})
}

// FuzzDecodePPTPlaintext fuzzes the PPT plaintext decoder directly (FuzzCodecOpen reaches
// it only through authenticated payloads): no panic, and whatever decodes re-encodes to
// the same message.
func FuzzDecodePPTPlaintext(f *testing.F) {
	seed, _ := encodePPTPlaintext(box.Message{URI: "a.b", Args: []any{"x", []byte{1}, int64(-3), 2.5}, Kwargs: map[string]any{"k": nil}})
	f.Add(seed)
	f.Add([]byte{0xa0})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePPTPlaintext(b)
		if err != nil {
			if !errors.Is(err, box.ErrPlaintext) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := encodePPTPlaintext(m)
		if err != nil {
			t.Fatalf("decoded message does not re-encode: %#v: %v", m, err)
		}
		m2, err := decodePPTPlaintext(again)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the message: %#v / %#v (%v)", m, m2, err)
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
	c := &keystoreCodec{ks: ks, path: "test"}
	for _, wire := range []wireForm{wireLegacy, wirePPT} {
		c.wire = wire
		p, opts, ok, err := c.Seal(true, "a.b", wamp.List{"x", []byte{1}}, wamp.Dict{"k": int64(1)})
		if err != nil || !ok {
			f.Fatal(err)
		}
		sealed := p.Bare
		if wire == wirePPT {
			sealed = p.Args[0].([]byte)
		}
		f.Add(sealed, wire == wirePPT, opts[optPPTSerializer] != nil)
	}
	f.Add([]byte{}, false, false)
	f.Fuzz(func(t *testing.T, payload []byte, ppt, goodSerializer bool) {
		var p wamp.Payload
		details := wamp.Dict{optEncAlgo: encAlgoCryptobox, optEncSerializer: "json"}
		if ppt {
			p = wamp.Payload{Args: wamp.List{payload}}
			details = wamp.Dict{optPPTScheme: "wamp", optPPTCipher: pptCipherNaCl, optPPTSerializer: "json"}
			if goodSerializer {
				details[optPPTSerializer] = "cbor"
			}
		} else {
			p = wamp.Payload{Bare: append([]byte{}, payload...)}
		}
		if !isSealed(p, details) {
			t.Fatalf("payload not recognised as sealed")
		}
		args, kwargs, err := c.Open(false, "a.b", p, details)
		if err != nil {
			var ce *codecError
			if !errors.As(err, &ce) || ce.WAMPErrorURI() == "" {
				t.Fatalf("open error without a WAMP error URI: %v", err)
			}
			return
		}
		// It opened, so it was sealed with this key: re-sealing what came out and opening
		// it again must give the same payload.
		c2 := &keystoreCodec{ks: ks, path: "test", wire: wireLegacy}
		p2, opts2, _, err := c2.Seal(true, "a.b", args, kwargs)
		if err != nil {
			t.Fatalf("opened payload does not re-seal: %v", err)
		}
		a2, k2, err := c2.Open(false, "a.b", p2, opts2)
		if err != nil || !reflect.DeepEqual(a2, args) || !reflect.DeepEqual(k2, kwargs) {
			t.Fatalf("round trip changed the payload: %v", err)
		}
	})
}
