package e2e

import (
	"bytes"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// noFormatSlip fails the test when a message shows a formatting slip of package fmt (a
// verb given the wrong operand, "%!q(<nil>)", "%!d(string=…)", a missing operand) or a
// bare "<nil>" where a value was expected.
func noFormatSlip(t *testing.T, what, msg string) {
	t.Helper()
	if strings.Contains(msg, "%!") || strings.Contains(msg, "<nil>") {
		t.Errorf("%s: formatting slip in %q", what, msg)
	}
}

// A sealed payload whose metadata is missing or is not a string is refused with a message
// a person can read (it printed "%!q(<nil>)" for a missing enc_algo), and the WAMP error
// Autobahn uses for an unsupported scheme.
func TestOpenUnsupportedMetadataIsReadable(t *testing.T) {
	k, err := keygen.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	ks := keystore.New()
	if err := ks.Put(&keystore.Entry{Prefix: "", Single: &k}); err != nil {
		t.Fatal(err)
	}
	c := NewCodec(ks, "ks", WireLegacy)
	bare := wamp.Payload{Bare: []byte("0123456789012345678901234567890123456789")}
	ppt := wamp.Payload{Args: wamp.List{[]byte("0123456789012345678901234567890123456789")}}
	cases := []struct {
		p       wamp.Payload
		details wamp.Dict
		want    string
	}{
		{bare, wamp.Dict{}, `payload on "com.x" has no enc_algo; cbx knows "cryptobox"`},
		{bare, wamp.Dict{"enc_algo": nil}, `payload on "com.x" has enc_algo null; cbx knows "cryptobox"`},
		{bare, wamp.Dict{"enc_algo": int64(5)}, `payload on "com.x" has a number as enc_algo; cbx knows "cryptobox"`},
		{bare, wamp.Dict{"enc_algo": "xsalsa"}, `payload on "com.x" uses enc_algo "xsalsa"; cbx knows "cryptobox"`},
		{bare, wamp.Dict{"enc_algo": "cryptobox"}, `payload on "com.x" has no enc_serializer; the cryptobox scheme uses "json"`},
		{bare, wamp.Dict{"enc_algo": "cryptobox", "enc_serializer": []byte{1}}, `payload on "com.x" has a binary value as enc_serializer; the cryptobox scheme uses "json"`},
		{bare, wamp.Dict{"enc_algo": "cryptobox", "enc_serializer": wamp.List{"json"}}, `payload on "com.x" has a list as enc_serializer; the cryptobox scheme uses "json"`},
		{bare, wamp.Dict{"enc_algo": "cryptobox", "enc_serializer": "msgpack"}, `payload on "com.x" uses enc_serializer "msgpack"; the cryptobox scheme uses "json"`},
		{ppt, wamp.Dict{"ppt_scheme": "wamp", "ppt_cipher": true}, `payload on "com.x" has a boolean as ppt_cipher; cbx knows "xsalsa20poly1305"`},
		{ppt, wamp.Dict{"ppt_scheme": "wamp", "ppt_cipher": "xsalsa20poly1305"}, `payload on "com.x" has no ppt_serializer; cbx seals with "cbor"`},
		{ppt, wamp.Dict{"ppt_scheme": "wamp", "ppt_cipher": "xsalsa20poly1305", "ppt_serializer": wamp.Dict{}}, `payload on "com.x" has a dict as ppt_serializer; cbx seals with "cbor"`},
	}
	for _, tc := range cases {
		_, _, _, err := c.Open(true, "com.x", tc.p, tc.details)
		if err == nil {
			t.Errorf("%v: opened", tc.details)
			continue
		}
		noFormatSlip(t, "Open", err.Error())
		if err.Error() != tc.want {
			t.Errorf("%v:\n got %s\nwant %s", tc.details, err, tc.want)
		}
		var ce wamp.CodecError
		if !errors.As(err, &ce) || ce.WAMPErrorURI() != wamp.ErrURIEncryptionUnsupported {
			t.Errorf("%v: %v does not carry %s", tc.details, err, wamp.ErrURIEncryptionUnsupported)
		}
	}
}

// Open says which entry opened a payload, with the fingerprints of that entry's keys,
// also when a codec opens payloads of several entries in turn (it remembers what it
// computed per entry, for speed): never another entry's description.
func TestOpenedNamesEachEntry(t *testing.T) {
	type pair struct{ pub, sub *Codec }
	pubKS, subKS := keystore.New(), keystore.New()
	want := map[string]Opened{}
	for _, prefix := range []string{"com.a.", "com.b."} {
		pubPub, subPub := putKeyPairs(t, pubKS, subKS, prefix)
		want[prefix] = Opened{Prefix: prefix, Generation: 1, Originator: keygen.Fingerprint(pubPub), Responder: keygen.Fingerprint(subPub)}
	}
	c := pair{NewCodec(pubKS, "pub", WireLegacy), NewCodec(subKS, "sub", WireLegacy)}
	for range 3 {
		for _, prefix := range []string{"com.a.", "com.b."} {
			uri := prefix + "t"
			p, opts, ok, err := c.pub.Seal(true, uri, wamp.List{1}, nil)
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
			_, _, opened, err := c.sub.Open(false, uri, p, opts)
			if err != nil {
				t.Fatal(err)
			}
			if w := want[prefix].Dict(); !reflect.DeepEqual(opened, w) {
				t.Fatalf("%s opened by %v, want %v", uri, opened, w)
			}
		}
	}
}

// putKeyPairs puts an entry for prefix with fresh key pairs into a publisher's (caller's)
// keystore pubKS and a subscriber's (callee's) subKS, and returns the two public keys.
func putKeyPairs(tb testing.TB, pubKS, subKS *keystore.Keystore, prefix string) (pubPub, subPub box.PublicKey) {
	tb.Helper()
	pubPriv, err := keygen.Generate(nil)
	if err != nil {
		tb.Fatal(err)
	}
	subPriv, err := keygen.Generate(nil)
	if err != nil {
		tb.Fatal(err)
	}
	pubPub, subPub = pubPriv.Public(), subPriv.Public()
	if err := pubKS.Put(&keystore.Entry{Prefix: prefix, OriginatorPrivate: &pubPriv, ResponderPublic: &subPub}); err != nil {
		tb.Fatal(err)
	}
	if err := subKS.Put(&keystore.Entry{Prefix: prefix, ResponderPrivate: &subPriv, OriginatorPublic: &pubPub}); err != nil {
		tb.Fatal(err)
	}
	return pubPub, subPub
}

// Codec.options clones a template kept from the last payload sealed: every Dict it
// gives out is its own (the session writes acknowledge and the caller's options into
// it), and is what options builds for the form and key id, whichever came before.
func TestCodecOptionsClone(t *testing.T) {
	c := NewCodec(keystore.New(), "ks", WireLegacy)
	for _, step := range []struct {
		form WireForm
		id   string
	}{{WireLegacy, "0xA"}, {WireLegacy, "0xA"}, {WireLegacy, "0xB"}, {WirePPT, "0xB"}, {WirePPT, "0xB"}, {WireLegacy, "0xB"}} {
		got := c.options(step.form, step.id)
		if want := options(step.form, step.id); !maps.Equal(got, want) {
			t.Fatalf("%v %s: %v, want %v", step.form, step.id, got, want)
		}
		// What a session does to it must not reach the next payload's.
		got[wamp.OptAcknowledge] = true
		got[wamp.OptEncKey] = "changed"
		got[wamp.OptPPTKeyID] = "changed"
	}
}

// Sealing wipes every buffer the plaintext was written into: the buffer it was given,
// also when the plaintext outgrew it and was moved to a larger one (then the given one
// still held its first bytes), and on a refused value.
func TestSealBufferedWipes(t *testing.T) {
	var priv box.PrivateKey
	priv[0] = 7
	pub := priv.Public()
	k, err := box.Precompute(&pub, &priv)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("secret ", 100) // 700 bytes: outgrows a 64-byte buffer
	for _, tc := range []struct {
		name string
		m    Message
		err  bool
	}{
		{"fits", Message{URI: "com.example.a", Args: []any{"secret"}}, false},
		{"outgrows", Message{URI: "com.example.a", Args: []any{long}}, false},
		{"refused", Message{URI: "com.example.a", Args: []any{long, make(chan int)}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given := make([]byte, 64)
			buf := new([]byte)
			*buf = given[:0]
			_, err := sealBuffered(buf, k, WireLegacy, tc.m)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error: %v", err, tc.err)
			}
			if !bytes.Equal(given, make([]byte, len(given))) {
				t.Fatalf("the given buffer still holds %q", given)
			}
			if b := (*buf)[:cap(*buf)]; !bytes.Equal(b, make([]byte, len(b))) {
				t.Fatalf("the kept buffer still holds %q", b)
			}
		})
	}
}
