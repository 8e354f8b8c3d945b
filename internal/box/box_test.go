package box

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

// vectorFile mirrors shared/vectors/cryptobox.json, made by testdata/gen_vectors.py with
// Autobahn|Python 22.7.1's own KeyRing and PyNaCl.
type vectorFile struct {
	Keys struct {
		OriginatorPrivHex string `json:"originator_priv_hex"`
		OriginatorPubHex  string `json:"originator_pub_hex"`
		ResponderPrivHex  string `json:"responder_priv_hex"`
		ResponderPubHex   string `json:"responder_pub_hex"`
		SinglePrivHex     string `json:"single_priv_hex"`
		SinglePubHex      string `json:"single_pub_hex"`
		BoxKeyHex         string `json:"box_key_originator_responder_hex"`
		BoxKeySingleHex   string `json:"box_key_single_hex"`
	} `json:"keys"`
	Vectors []struct {
		Name         string `json:"name"`
		URI          string `json:"uri"`
		Direction    string `json:"direction"`
		PlaintextHex string `json:"plaintext_hex"`
		NonceHex     string `json:"nonce_hex"`
		BoxKeyHex    string `json:"box_key_hex"`
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
	b, err := os.ReadFile("testdata/cryptobox.json")
	if err != nil {
		t.Fatal(err)
	}
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

func key32(t testing.TB, s string) [KeySize]byte {
	var k [KeySize]byte
	if n := copy(k[:], unhex(t, s)); n != KeySize {
		t.Fatalf("key %q has %d bytes", s, n)
	}
	return k
}

type keyPair struct {
	senderPriv, receiverPriv PrivateKey
	senderPub, receiverPub   PublicKey
}

// pairFor returns the keys of the two ends of a vector: single-key vectors use one key pair
// on both ends (Autobahn's KeyRing(priv)); the others are originator/responder.
func pairFor(t testing.TB, v *vectorFile, name, direction string) keyPair {
	o, r := PrivateKey(key32(t, v.Keys.OriginatorPrivHex)), PrivateKey(key32(t, v.Keys.ResponderPrivHex))
	if name == "single-key-default-publish-noargs" {
		s := PrivateKey(key32(t, v.Keys.SinglePrivHex))
		o, r = s, s
	}
	if direction == "responder->originator" {
		o, r = r, o
	}
	return keyPair{senderPriv: o, receiverPriv: r, senderPub: o.Public(), receiverPub: r.Public()}
}

func TestPublicKeysMatchVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range []struct{ priv, pub string }{
		{v.Keys.OriginatorPrivHex, v.Keys.OriginatorPubHex},
		{v.Keys.ResponderPrivHex, v.Keys.ResponderPubHex},
		{v.Keys.SinglePrivHex, v.Keys.SinglePubHex},
	} {
		priv := PrivateKey(key32(t, c.priv))
		if got := priv.Public(); hex.EncodeToString(got[:]) != c.pub {
			t.Errorf("public key of %s = %x, want %s", c.priv, got, c.pub)
		}
	}
}

func TestVectors(t *testing.T) {
	v := loadVectors(t)
	for _, vec := range v.Vectors {
		t.Run(vec.Name, func(t *testing.T) {
			t.Parallel()
			kp := pairFor(t, v, vec.Name, vec.Direction)
			sender := mustPrecompute(t, &kp.receiverPub, &kp.senderPriv)
			receiver := mustPrecompute(t, &kp.senderPub, &kp.receiverPriv)
			if got := hex.EncodeToString(sender.Bytes()); got != vec.BoxKeyHex {
				t.Fatalf("sender box key = %s, want %s", got, vec.BoxKeyHex)
			}
			if !bytes.Equal(sender.Bytes(), receiver.Bytes()) {
				t.Fatal("the two ends derive different box keys")
			}

			plaintext := unhex(t, vec.PlaintextHex)
			payload, err := sender.SealWithRand(plaintext, bytes.NewReader(unhex(t, vec.NonceHex)))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(payload); got != vec.PayloadHex {
				t.Fatalf("sealed payload differs from Autobahn's:\n got %s\nwant %s", got, vec.PayloadHex)
			}

			msg, err := receiver.OpenMessage(vec.URI, unhex(t, vec.PayloadHex))
			if err != nil {
				t.Fatalf("opening Autobahn's payload: %v", err)
			}
			reencoded, err := EncodePlaintext(msg)
			if err != nil {
				t.Fatal(err)
			}
			if vec.Name == "publish-kwargs-unicode-binary" {
				// kwargs has three keys in Python insertion order; Go sorts them, so compare
				// the decoded structures (wire.md §5.12) and check the binary value came back.
				again, err := DecodePlaintext(reencoded)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(again, msg) {
					t.Fatalf("re-encoded plaintext decodes differently:\n%#v\n%#v", again, msg)
				}
				if b, ok := msg.Args[1].([]byte); !ok || !bytes.Equal(b, []byte{0, 1, 0xfe, 0xff}) {
					t.Fatalf("binary argument decoded as %#v", msg.Args[1])
				}
				if msg.Args[0] != "grüße ✓" || msg.Kwargs["n"] != 1.5 || msg.Kwargs["flag"] != true || msg.Kwargs["none"] != nil {
					t.Fatalf("decoded %#v", msg)
				}
				return
			}
			if !bytes.Equal(reencoded, plaintext) {
				t.Fatalf("plaintext encoder differs from Autobahn's:\n got %s\nwant %s", reencoded, plaintext)
			}
		})
	}
}

func TestNegativeVectors(t *testing.T) {
	v := loadVectors(t)
	kp := pairFor(t, v, "", "originator->responder")
	receiver := mustPrecompute(t, &kp.senderPub, &kp.receiverPriv)
	seen := 0
	for _, n := range v.Negative {
		payload := unhex(t, n.PayloadHex)
		switch n.Name {
		case "tampered-tag":
			seen++
			if _, err := receiver.OpenMessage(n.URI, payload); !errors.Is(err, ErrDecrypt) {
				t.Errorf("tampered payload: err = %v, want ErrDecrypt", err)
			}
		case "uri-mismatch":
			seen++
			_, err := receiver.OpenMessage(n.EnvelopeURI, payload)
			var mm *URIMismatchError
			if !errors.As(err, &mm) || mm.Inner != n.EncryptedURI || mm.Envelope != n.EnvelopeURI {
				t.Errorf("swapped URI: err = %v, want URIMismatchError{%q, %q}", err, n.EnvelopeURI, n.EncryptedURI)
			}
			if errors.Is(err, ErrDecrypt) {
				t.Error("a URI mismatch must be distinct from a decryption failure")
			}
		default:
			t.Errorf("unknown negative vector %q", n.Name)
		}
	}
	if seen != 2 {
		t.Fatalf("checked %d negative vectors, want 2", seen)
	}
}

func TestWrongKeyAndShortPayload(t *testing.T) {
	v := loadVectors(t)
	kp := pairFor(t, v, "", "originator->responder")
	sender := mustPrecompute(t, &kp.receiverPub, &kp.senderPriv)
	payload, err := sender.SealMessage(Message{URI: "a.b", Args: []any{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	other := PrivateKey(key32(t, v.Keys.SinglePrivHex))
	wrong := mustPrecompute(t, &kp.senderPub, &other)
	if _, err := wrong.OpenMessage("a.b", payload); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key: err = %v, want ErrDecrypt", err)
	}
	for _, n := range []int{0, 1, Overhead - 1} {
		if _, err := sender.Open(payload[:n]); !errors.Is(err, ErrTooShort) {
			t.Errorf("%d-byte payload: err = %v, want ErrTooShort", n, err)
		}
	}
}

func TestFreshNonces(t *testing.T) {
	var priv PrivateKey
	priv[0] = 9
	pub := priv.Public()
	k := mustPrecompute(t, &pub, &priv)
	a, _ := k.Seal([]byte("same"))
	b, _ := k.Seal([]byte("same"))
	if bytes.Equal(a[:NonceSize], b[:NonceSize]) {
		t.Fatal("two seals used the same nonce")
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
		{"integral float keeps its type", Message{URI: "u", Args: []any{1.0, 1e21, 2.5}}, `{"uri":"u","args":[1.0,1e+21,2.5],"kwargs":null}`},
		{"json number kept", Message{URI: "u", Args: []any{json.Number("1.50")}}, `{"uri":"u","args":[1.50],"kwargs":null}`},
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
	if _, err := EncodePlaintext(Message{Args: []any{struct{}{}}}); err == nil {
		t.Error("a struct value was encoded; want an error")
	}
}

func TestPlaintextDecoding(t *testing.T) {
	m, err := DecodePlaintext([]byte(`{"uri":"u","args":[9007199254740993,18446744073709551615,-1,2.5]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(9007199254740993), uint64(18446744073709551615), int64(-1), 2.5}
	if !reflect.DeepEqual(m.Args, want) || m.Kwargs != nil {
		t.Fatalf("got %#v", m)
	}
	for _, bad := range []string{
		``, `[]`, `null`, `{"uri":1}`, `{"uri":"u","args":{}}`, `{"uri":"u","kwargs":[]}`,
		`{"uri":"u","args":["\u0000not base64!"]}`, `{"uri":"u","args":[1e999]}`,
	} {
		if _, err := DecodePlaintext([]byte(bad)); !errors.Is(err, ErrPlaintext) {
			t.Errorf("DecodePlaintext(%s): err = %v, want ErrPlaintext", bad, err)
		}
	}
}
