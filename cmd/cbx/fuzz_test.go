package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// FuzzParseEventLine: --stdin lines either parse into args/kwargs or give an error.
func FuzzParseEventLine(f *testing.F) {
	for _, s := range []string{`[1,"a"]`, `{"args":[1],"kwargs":{"k":"\u0000AA=="}}`, `{"x":1}`, `42`, `[`, `{"args":{}}`,
		`[1180591620717411303424]`, `[-0,-0.0,1.0]`, "[\"\xff\"]", ` [[[]]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := parseEventLine(line)
		if err != nil {
			return
		}
		// What parsed must be sealable and open to the same payload, in both plaintexts.
		m := e2e.Message{URI: "u", Args: ev.args, Kwargs: ev.kwargs}
		pt, err := e2e.EncodePlaintext(m)
		if err != nil {
			t.Fatalf("%q parsed but does not encode: %v", line, err)
		}
		if back, err := e2e.DecodePlaintext(pt); err != nil || !reflect.DeepEqual(back.Args, ev.args) || !reflect.DeepEqual(back.Kwargs, ev.kwargs) {
			t.Fatalf("%q: sealed plaintext %s opens as %#v (%v)", line, pt, back, err)
		}
		if _, err := e2e.EncodePPTPlaintext(m); err != nil {
			t.Fatalf("%q parsed but does not encode as PPT: %v", line, err)
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
