package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/testkit"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// vectorFile is the module's testdata/vectors/cryptobox.json ([testkit.VectorsFile]), made by
// gen_vectors.py with Autobahn|Python 22.7.1's own KeyRing and PyNaCl.
type vectorFile struct {
	Keys struct {
		OriginatorPrivHex string `json:"originator_priv_hex"`
		ResponderPrivHex  string `json:"responder_priv_hex"`
		SinglePrivHex     string `json:"single_priv_hex"`
	} `json:"keys"`
	Vectors []struct {
		Name         string `json:"name"`
		URI          string `json:"uri"`
		Direction    string `json:"direction"`
		PlaintextHex string `json:"plaintext_hex"`
		NonceHex     string `json:"nonce_hex"`
		PayloadHex   string `json:"payload_hex"`
	} `json:"vectors"`
	Negative []struct {
		Name         string `json:"name"`
		URI          string `json:"uri"`
		EnvelopeURI  string `json:"envelope_uri"`
		EncryptedURI string `json:"encrypted_uri"`
		PayloadHex   string `json:"payload_hex"`
	} `json:"negative"`
}

func loadVectors(t testing.TB) *vectorFile {
	t.Helper()
	b := testkit.CryptoboxVectors(t)
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 || len(v.Negative) == 0 {
		t.Fatal("vector file has no vectors")
	}
	return &v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// receiverKey is the precomputed key of a vector's receiving end; it equals the sender's.
func receiverKey(t testing.TB, v *vectorFile, name string) *box.SharedKey {
	t.Helper()
	priv := func(s string) box.PrivateKey { return box.PrivateKey(unhex(t, s)) }
	o, r := priv(v.Keys.OriginatorPrivHex), priv(v.Keys.ResponderPrivHex)
	if name == "single-key-default-publish-noargs" {
		o = priv(v.Keys.SinglePrivHex)
		r = o
	}
	pub := o.Public()
	k, err := box.Precompute(&pub, &r)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestVectors: Autobahn's payloads open to its plaintext, the plaintext decodes, and
// re-encoding gives Autobahn's bytes, so sealing with the vector's nonce gives Autobahn's
// payload byte for byte.
func TestVectors(t *testing.T) {
	v := loadVectors(t)
	for _, vec := range v.Vectors {
		t.Run(vec.Name, func(t *testing.T) {
			k := receiverKey(t, v, vec.Name)
			payload := unhex(t, vec.PayloadHex)
			m, err := openWithKey(k, WireLegacy, vec.URI, payload, false)
			if err != nil {
				t.Fatalf("opening Autobahn's payload: %v", err)
			}
			plaintext := unhex(t, vec.PlaintextHex)
			reencoded, err := EncodePlaintext(m)
			if err != nil {
				t.Fatal(err)
			}
			if vec.Name == "publish-kwargs-unicode-binary" {
				// kwargs has three keys in Python insertion order; Go sorts them, so compare
				// the decoded structures (wire.md §5.12) and check the values came back.
				again, err := DecodePlaintext(reencoded)
				if err != nil || !reflect.DeepEqual(again, m) {
					t.Fatalf("re-encoded plaintext decodes differently: %v\n%#v\n%#v", err, again, m)
				}
				if b, ok := m.Args[1].([]byte); !ok || !bytes.Equal(b, []byte{0, 1, 0xfe, 0xff}) {
					t.Fatalf("binary argument decoded as %#v", m.Args[1])
				}
				if m.Args[0] != "grüße ✓" || m.Kwargs["n"] != 1.5 || m.Kwargs["flag"] != true || m.Kwargs["none"] != nil {
					t.Fatalf("decoded %#v", m)
				}
				return
			}
			if !bytes.Equal(reencoded, plaintext) {
				t.Fatalf("plaintext encoder differs from Autobahn's:\n got %s\nwant %s", reencoded, plaintext)
			}
			sealed, err := k.SealWithRand(reencoded, bytes.NewReader(unhex(t, vec.NonceHex)))
			if err != nil || !bytes.Equal(sealed, payload) {
				t.Fatalf("sealed payload differs from Autobahn's (%v)", err)
			}
		})
	}
}

func TestNegativeVectors(t *testing.T) {
	v := loadVectors(t)
	k := receiverKey(t, v, "")
	seen := 0
	for _, n := range v.Negative {
		payload := unhex(t, n.PayloadHex)
		switch n.Name {
		case "tampered-tag":
			seen++
			if _, err := openWithKey(k, WireLegacy, n.URI, payload, false); !errors.Is(err, box.ErrDecrypt) {
				t.Errorf("tampered payload: err = %v, want box.ErrDecrypt", err)
			}
		case "uri-mismatch":
			seen++
			_, err := openWithKey(k, WireLegacy, n.EnvelopeURI, payload, false)
			var mm *URIMismatchError
			if !errors.As(err, &mm) || mm.Inner != n.EncryptedURI || mm.Envelope != n.EnvelopeURI {
				t.Errorf("swapped URI: err = %v, want URIMismatchError{%q, %q}", err, n.EnvelopeURI, n.EncryptedURI)
			}
			if errors.Is(err, box.ErrDecrypt) || errors.Is(err, ErrPlaintext) {
				t.Error("a URI mismatch must be distinct from a decryption or plaintext failure")
			}
		default:
			t.Errorf("unknown negative vector %q", n.Name)
		}
	}
	if seen != 2 {
		t.Fatalf("checked %d negative vectors, want 2", seen)
	}
}

func TestPlaintextEncoding(t *testing.T) {
	cases := []struct {
		name string
		m    Message
		want string
	}{
		{"null args and kwargs", Message{URI: "u"}, `{"uri":"u","args":null,"kwargs":null}`},
		{"empty", Message{URI: "u", Args: []any{}, Kwargs: map[string]any{}}, `{"uri":"u","args":[],"kwargs":{}}`},
		{"no html escaping, raw utf-8", Message{URI: "u", Args: []any{"<a&b> ü"}}, `{"uri":"u","args":["<a&b> ü"],"kwargs":null}`},
		{"control characters escaped", Message{URI: "u", Args: []any{"a\nb\x01"}}, `{"uri":"u","args":["a\nb\u0001"],"kwargs":null}`},
		{"binary", Message{URI: "u", Args: []any{[]byte{0xff}}}, `{"uri":"u","args":["\u0000/w=="],"kwargs":null}`},
		{"nested binary", Message{URI: "u", Kwargs: map[string]any{"k": []any{[]byte("hi")}}}, `{"uri":"u","args":null,"kwargs":{"k":["\u0000aGk="]}}`},
		{"floats as Python's repr", Message{URI: "u", Args: []any{1.0, 1e21, 2.5, 1e16, math.Copysign(0, -1)}}, `{"uri":"u","args":[1.0,1e+21,2.5,1e+16,-0.0],"kwargs":null}`},
		{"json number normalized", Message{URI: "u", Args: []any{json.Number("1.50"), json.Number("-0")}}, `{"uri":"u","args":[1.5,0],"kwargs":null}`},
	}
	for _, c := range cases {
		got, err := EncodePlaintext(c.m)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
	}
	for _, bad := range []Message{
		{Args: []any{struct{}{}}}, {Args: []any{math.NaN()}}, {Args: []any{json.Number("1180591620717411303424")}},
		{URI: "\xff"}, {Kwargs: map[string]any{"k": "\xff"}}, {Args: []any{nestedList(wamp.MaxDepth + 1)}},
	} {
		if _, err := EncodePlaintext(bad); err == nil {
			t.Errorf("EncodePlaintext(%.60v) succeeded", bad)
		}
		if _, err := EncodePPTPlaintext(bad); err == nil {
			t.Errorf("EncodePPTPlaintext(%.60v) succeeded", bad)
		}
	}
}

func nestedList(levels int) any {
	var v any = []any{}
	for range levels - 1 {
		v = []any{v}
	}
	return v
}

func TestPlaintextDecoding(t *testing.T) {
	m, err := DecodePlaintext([]byte(`{"uri":"u","args":[9007199254740993,18446744073709551615,-1,2.5,-0]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(9007199254740993), uint64(18446744073709551615), int64(-1), 2.5, int64(0)}
	if !reflect.DeepEqual(m.Args, want) || m.Kwargs != nil {
		t.Fatalf("got %#v", m)
	}
	deep := strings.Repeat("[", wamp.MaxDepth+1) + strings.Repeat("]", wamp.MaxDepth+1)
	for _, c := range []struct {
		in   string
		kind error // nil: malformed, not a value problem
	}{
		{``, nil}, {`[]`, nil}, {`null`, nil}, {`{"uri":1}`, nil}, {`{"uri":"u","args":{}}`, nil},
		{`{"uri":"u","kwargs":[]}`, nil}, {`{"uri":"u","args":[NaN]}`, nil},
		{`{"uri":"u","args":["\u0000not base64!"]}`, wamp.ErrBinaryText},
		{`{"uri":"u","args":[1e999]}`, wamp.ErrFloatRange},
		{`{"uri":"u","args":[1180591620717411303424]}`, wamp.ErrIntegerRange},
		{"{\"uri\":\"u\",\"args\":[\"\xff\"]}", wamp.ErrInvalidUTF8},
		{`{"uri":"u","args":[` + deep + `]}`, wamp.ErrTooDeep},
	} {
		_, err := DecodePlaintext([]byte(c.in))
		var pe *PlaintextError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPlaintext) {
			t.Errorf("DecodePlaintext(%.50s): err = %v, want a *PlaintextError", c.in, err)
			continue
		}
		if c.kind != nil && !errors.Is(err, c.kind) || c.kind == nil && pe.Value != nil {
			t.Errorf("DecodePlaintext(%.50s): err = %v, want reason %v", c.in, err, c.kind)
		}
		// The message never quotes the plaintext: it may go back to a peer.
		if strings.Contains(err.Error(), "1180591620717411303424") || strings.Contains(err.Error(), "not base64") {
			t.Errorf("error text quotes the plaintext: %v", err)
		}
	}
}

// TestPPTPlaintext: cbx's CBOR plaintext keeps {"uri","args","kwargs"} in that order and
// carries every value of the dialect exactly, with the same refusals as the JSON form.
func TestPPTPlaintext(t *testing.T) {
	m := Message{URI: "a.b", Args: []any{"x", []byte{1}, int64(-3), 2.5, math.Copysign(0, -1), uint64(math.MaxUint64), nestedList(wamp.MaxDepth)},
		Kwargs: map[string]any{"k": nil, "\x00key": true}}
	b, err := EncodePPTPlaintext(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\xa3\x63uri\x63a.b\x64args")) {
		t.Fatalf("PPT plaintext starts %x", b[:16])
	}
	got, err := DecodePPTPlaintext(b)
	if err != nil || !reflect.DeepEqual(got, m) || !math.Signbit(got.Args[4].(float64)) {
		t.Fatalf("round trip: %#v, %v", got, err)
	}
	null, err := EncodePPTPlaintext(Message{URI: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodePPTPlaintext(null); err != nil || got.Args != nil || got.Kwargs != nil {
		t.Fatalf("null args/kwargs: %#v, %v", got, err)
	}
	deep, _ := EncodePPTPlaintext(Message{URI: "u", Args: []any{nestedList(wamp.MaxDepth)}})
	deeper := bytes.Replace(deep, []byte{0x81, 0x81}, []byte{0x81, 0x81, 0x81}, 1)
	for _, c := range []struct {
		b    []byte
		kind error
	}{
		{[]byte{0xff}, nil}, {[]byte{0x80}, nil}, {[]byte{0xa1, 0x63, 'u', 'r', 'i', 0x01}, nil},
		{deeper, wamp.ErrTooDeep},
		{[]byte{0xa1, 0x64, 'a', 'r', 'g', 's', 0x81, 0xc2, 0x49, 0x40, 0, 0, 0, 0, 0, 0, 0, 0}, wamp.ErrIntegerRange},
		{[]byte{0xa1, 0x64, 'a', 'r', 'g', 's', 0x81, 0xf9, 0x7c, 0x00}, wamp.ErrFloatRange},
		{[]byte{0xa1, 0x64, 'a', 'r', 'g', 's', 0x81, 0x61, 0xff}, wamp.ErrInvalidUTF8},
	} {
		_, err := DecodePPTPlaintext(c.b)
		var pe *PlaintextError
		if !errors.As(err, &pe) || c.kind != nil && !errors.Is(err, c.kind) || c.kind == nil && pe.Value != nil {
			t.Errorf("DecodePPTPlaintext(%x): err = %v, want reason %v", c.b, err, c.kind)
		}
	}
}
