package e2e

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// SealJSON and OpenJSON carry args as JSON text (wamp.JSONArgsCodec). Nothing may tell
// them from Seal and Open: the plaintext is byte for byte the one Seal writes, and a
// payload opens, or is refused, as Open has it.

// canonicalArgs are canonical texts of args, as a --stdin line gives them.
var canonicalArgs = []string{
	`["` + strings.Repeat("x", 88) + `",12345]`,
	`[]`,
	`[null,true,false,0,-7,"","日本"]`,
	`[[1,[2]],{"a":{"b":[]},"c":null}]`,
	`[1.5,-0.0,1e+16,18446744073709551615,"a\"b\nc\u0001"]`,
}

// valuesOf reads a canonical text.
func valuesOf(t testing.TB, text []byte) wamp.List {
	t.Helper()
	v, err := wamp.UnmarshalJSON(text, wamp.NestPayload)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return v.([]any)
}

func TestSealJSONWritesSealsPlaintext(t *testing.T) {
	for _, text := range canonicalArgs {
		m := Message{URI: benchURI, Args: valuesOf(t, []byte(text))}
		want, err := EncodePlaintext(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendPlaintext(nil, Message{URI: benchURI, argsJSON: []byte(text)})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("plaintext of %s: %s (%v), Seal's %s", text, got, err, want)
		}
	}

	pub, sub := benchCodecs(t)
	for _, wire := range []WireForm{WireLegacy, WirePPT} {
		pub.SetWire(wire)
		for _, text := range canonicalArgs {
			p, opts, ok, err := pub.SealJSON(true, benchURI, []byte(text))
			if err != nil || !ok {
				t.Fatalf("%v SealJSON(%s): ok=%v %v", wire, text, ok, err)
			}
			_, o2, _, _ := pub.Seal(true, benchURI, valuesOf(t, []byte(text)), nil)
			if !reflect.DeepEqual(opts, o2) {
				t.Errorf("%v options %v, Seal's %v", wire, opts, o2)
			}
			args, kwargs, _, err := sub.Open(false, benchURI, p, opts)
			if err != nil || kwargs != nil || !reflect.DeepEqual(args, valuesOf(t, []byte(text))) {
				t.Errorf("%v: %s opened as %#v %#v (%v)", wire, text, args, kwargs, err)
			}
		}
	}
	pub.SetWire(WireLegacy)

	// A text that is not canonical is refused, not sealed as it is.
	for _, bad := range []string{`[1.50]`, `[ 1]`, `["\u00e9"]`, `[{"b":1,"a":2}]`, `{"args":[]}`, ``} {
		if p, _, ok, err := pub.SealJSON(true, benchURI, []byte(bad)); err == nil || ok || p.Bare != nil {
			t.Errorf("SealJSON(%s): ok=%v %v", bad, ok, err)
		}
	}
	// A URI no entry covers goes in plaintext, as with Seal.
	if _, _, ok, err := pub.SealJSON(true, "org.other", []byte(`[1]`)); ok || err != nil {
		t.Errorf("uncovered URI: ok=%v %v", ok, err)
	}
	// An entry without this side's keys is refused, as with Seal.
	var sr *SealRefusedError
	if _, _, ok, err := sub.SealJSON(true, benchURI, []byte(`[1]`)); ok || !errors.As(err, &sr) {
		t.Errorf("subscriber's keystore sealing: ok=%v %v", ok, err)
	}
}

// openBoth opens p with Open and OpenJSON and checks that they agree; it returns what
// OpenJSON gave.
func openBoth(t *testing.T, c *Codec, originating bool, uri string, p wamp.Payload, details wamp.Dict) (text []byte, args wamp.List, kwargs wamp.Dict, err error) {
	t.Helper()
	wantArgs, wantKwargs, wantOpened, wantErr := c.Open(originating, uri, p, details)
	text, args, kwargs, opened, err := c.OpenJSON(originating, uri, p, details)
	if text != nil {
		if args != nil {
			t.Fatalf("OpenJSON gave both %s and %#v", text, args)
		}
		if !wamp.CanonicalJSONList(text, wamp.NestPayload) {
			t.Fatalf("OpenJSON's text %s is not canonical", text)
		}
		args = valuesOf(t, text)
		if wantArgs == nil {
			wantArgs = wamp.List{} // a text is always a list; Open's nil args are "null"
		}
	}
	if !reflect.DeepEqual(args, wantArgs) || !reflect.DeepEqual(kwargs, wantKwargs) ||
		!reflect.DeepEqual(opened, wantOpened) || !reflect.DeepEqual(err, wantErr) {
		t.Fatalf("OpenJSON gave %s %#v %#v %v %v; Open %#v %#v %v %v", text, args, kwargs, opened, err, wantArgs, wantKwargs, wantOpened, wantErr)
	}
	return text, args, kwargs, err
}

func TestOpenJSONIsOpen(t *testing.T) {
	pub, sub := benchCodecs(t)
	for _, text := range canonicalArgs {
		p, opts, _, err := pub.SealJSON(true, benchURI, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _, err := openBoth(t, sub, false, benchURI, p, opts); err != nil || string(got) != text {
			t.Errorf("OpenJSON gave %s (%v), want %s as sealed", got, err, text)
		}
	}
	// Kwargs, binary, a key with an escape, absent args: the values, as Open gives them.
	for _, m := range []Message{
		{URI: benchURI, Args: wamp.List{"a"}, Kwargs: wamp.Dict{"k": int64(1)}},
		{URI: benchURI, Args: wamp.List{"a\nb", []byte{0, 1}}},
		{URI: benchURI, Args: wamp.List{wamp.Dict{"a\"": 1.5}}},
		{URI: benchURI},
	} {
		p, opts, _, err := pub.Seal(true, benchURI, m.Args, m.Kwargs)
		if err != nil {
			t.Fatal(err)
		}
		if text, _, _, err := openBoth(t, sub, false, benchURI, p, opts); err != nil || text != nil {
			t.Errorf("%#v: OpenJSON gave text %s (%v)", m, text, err)
		}
	}
	// Refusals: sealed for another URI (the text's "uri" is not the envelope's), tampered.
	p, opts, _, _ := pub.SealJSON(true, benchURI+".other", []byte(`[1]`))
	if _, _, _, err := openBoth(t, sub, false, benchURI, p, opts); codecURI(err) != wamp.ErrURITrustedMismatch {
		t.Errorf("swapped URI: %v", err)
	}
	p, opts, _, _ = pub.SealJSON(true, benchURI, []byte(`[1]`))
	p.Bare[len(p.Bare)-1] ^= 1
	if _, _, _, err := openBoth(t, sub, false, benchURI, p, opts); !errors.Is(err, box.ErrDecrypt) {
		t.Errorf("tampered: %v", err)
	}
}

// Autobahn's own payloads: the one whose args are canonical ("kwargs":{}, as Autobahn
// seals a publication without keyword arguments) gives text, the others values; all
// agree with Open.
func TestOpenJSONAutobahnVectors(t *testing.T) {
	s := vectorSides(t)
	texts := 0
	for _, vec := range s.v.Vectors {
		ks, originating := s.receiver(vec.Name, vec.Direction)
		c := NewCodec(ks, "ks", WireLegacy)
		text, _, _, err := openBoth(t, c, originating, vec.URI, wamp.Payload{Bare: unhex(t, vec.PayloadHex)}, legacyDetails)
		if err != nil {
			t.Fatalf("%s: %v", vec.Name, err)
		}
		if text != nil {
			texts++
			if !bytes.Contains(unhex(t, vec.PlaintextHex), text) {
				t.Errorf("%s: text %s is not the plaintext's", vec.Name, text)
			}
		}
	}
	if texts == 0 {
		t.Fatal("no vector's args came as text: the fast path is never taken on Autobahn's bytes")
	}
	// The swapped-URI vector: refused alike.
	c := NewCodec(s.responder, "ks", WireLegacy)
	for _, n := range s.v.Negative {
		if n.Name == "uri-mismatch" {
			if _, _, _, err := openBoth(t, c, false, n.EnvelopeURI, wamp.Payload{Bare: unhex(t, n.PayloadHex)}, legacyDetails); codecURI(err) != wamp.ErrURITrustedMismatch {
				t.Errorf("swapped URI: %v", err)
			}
		}
	}
}

// FuzzPlaintextArgsJSON: whatever plaintextArgsJSON takes, decodePlaintextFor reads as
// the same message (the text read into values), with no error; its text is a copy.
func FuzzPlaintextArgsJSON(f *testing.F) {
	for _, vec := range loadVectors(f).Vectors {
		f.Add(unhex(f, vec.PlaintextHex), vec.URI)
	}
	for _, s := range []string{
		`{"uri":"u","args":["x",1],"kwargs":null}`,
		`{"uri":"u","args":[],"kwargs":{}}`,
		`{"uri":"u","args":null,"kwargs":null}`,
		`{"uri":"u","args":[1],"uri":"v","kwargs":null}`,
		`{"uri":"u","args":[1],"kwargs":null,"uri":"v"}`,
		`{"uri":"u","args":[1],"kwargs":{"a":1}}`,
		`{"uri":"u","args":[1] ,"kwargs":null}`,
		`{"uri":"u","args":[1],"kwargs":null} `,
		`{"uri":"u\"","args":[1],"kwargs":null}`,
	} {
		f.Add([]byte(s), "u")
	}
	f.Fuzz(func(t *testing.T, b []byte, trusted string) {
		m, ok := plaintextArgsJSON(b, trusted)
		if !ok {
			return
		}
		want, err := decodePlaintextFor(b, trusted)
		if err != nil {
			t.Fatalf("%q taken, but decodePlaintextFor refuses it: %v", b, err)
		}
		if want.URI != trusted || m.URI != trusted || m.Args != nil || !reflect.DeepEqual(m.Kwargs, want.Kwargs) {
			t.Fatalf("%q: %#v, decodePlaintextFor %#v (trusted %q)", b, m, want, trusted)
		}
		if want.Args == nil {
			t.Fatalf("%q: a text for args that decodePlaintextFor reads as null", b)
		}
		if got := valuesOf(t, m.argsJSON); !reflect.DeepEqual(got, wamp.List(want.Args)) {
			t.Fatalf("%q: text %s reads %#v, decodePlaintextFor %#v", b, m.argsJSON, got, want.Args)
		}
		text := bytes.Clone(m.argsJSON)
		for i := range b {
			b[i] = ^b[i]
		}
		if !bytes.Equal(text, m.argsJSON) {
			t.Fatalf("the text shares the plaintext's memory")
		}
	})
}
