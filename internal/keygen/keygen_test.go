package keygen

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
)

// Keys from testdata/vectors/cryptobox.json (RFC 7748 §6.1 Alice), in Autobahn's base64.
const (
	alicePrivB64 = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
	alicePrivHex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
	alicePubB64  = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
)

func TestParseKeyForms(t *testing.T) {
	a, err := ParseKey(alicePrivB64)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKey("  " + strings.ToUpper(alicePrivHex) + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || Hex(a) != alicePrivHex || Base64(b) != alicePrivB64 {
		t.Fatalf("base64 and hex forms disagree: %x %x", a, b)
	}
	priv := box.PrivateKey(a)
	if pub := priv.Public(); Base64(pub) != alicePubB64 {
		t.Fatalf("public key %s, want %s", Base64(pub), alicePubB64)
	}
}

func TestParseKeyErrors(t *testing.T) {
	cases := map[string]string{
		"":                                   "empty",
		"abc":                                "3 characters",
		strings.TrimRight(alicePrivB64, "="): "without its \"=\" padding",
		alicePrivB64[:40] + "!!!=":           "not valid base64",
		strings.Repeat("z", 64):              "48 bytes; a key is exactly 32 bytes",
		strings.Repeat("z", 65):              "65 characters",
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=": "not valid base64", // non-canonical padding bits
	}
	for in, want := range cases {
		_, err := ParseKey(in)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey(%q) = %v, want an ErrMalformed saying %q", in, err, want)
		}
		if len(in) > 8 && err != nil && strings.Contains(err.Error(), in) {
			t.Errorf("error %q repeats the key", err)
		}
	}
}

func TestPrivateKeyFileRoundTrip(t *testing.T) {
	k, err := Generate(bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	data := MarshalPrivateKeyFile(k, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	pub := k.Public()
	if !strings.Contains(string(data), "# public key: "+Base64(pub)+"\n") || !strings.HasSuffix(string(data), Base64(k)+"\n") {
		t.Fatalf("unexpected file:\n%s", data)
	}
	got, err := ParsePrivateKeyFile(data)
	if err != nil || got != k {
		t.Fatalf("round trip: %x, %v", got, err)
	}
	hexFile := MarshalPrivateKeyFileHex(k, time.Unix(0, 0))
	if !strings.Contains(string(hexFile), "# public key: "+Hex(pub)+"\n") || !strings.HasSuffix(string(hexFile), Hex(k)+"\n") {
		t.Fatalf("unexpected hex file:\n%s", hexFile)
	}
	if got, err := ParsePrivateKeyFile(hexFile); err != nil || got != k {
		t.Fatalf("hex round trip: %x, %v", got, err)
	}
	// A bare key as Autobahn's examples keep it.
	got, err = ParsePrivateKeyFile([]byte(alicePrivB64))
	if err != nil || Base64(got) != alicePrivB64 {
		t.Fatalf("bare key: %v", err)
	}
}

func TestPrivateKeyFileErrors(t *testing.T) {
	other, _ := ParseKey(alicePrivHex)
	otherPriv := box.PrivateKey(other)
	otherPub := otherPriv.Public()
	unrelated := box.PrivateKey{7}
	unrelatedPub := unrelated.Public()
	cases := map[string]string{
		"# only a comment\n":                                          "no key line",
		alicePrivB64 + "\n" + alicePrivB64 + "\n":                     "2 key lines",
		"# public key: " + Base64(otherPub) + "\nAAAA\n":              "2 bytes of hex (4 digits); a key is exactly 32 bytes",
		"# public key: junk\n" + alicePrivB64 + "\n":                  "public key:",
		"# public key: " + Base64(unrelatedPub) + "\n" + alicePrivB64: "does not match",
	}
	for in, want := range cases {
		_, err := ParsePrivateKeyFile([]byte(in))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePrivateKeyFile(%q) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestGenerateUsesRandomness(t *testing.T) {
	a, _ := Generate(nil)
	b, _ := Generate(nil)
	if a == b || a == (box.PrivateKey{}) {
		t.Fatal("two generated keys are equal or zero")
	}
	if _, err := Generate(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Fatal("short randomness accepted")
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{alicePrivB64, alicePrivHex, "", "=", strings.Repeat("A", 43) + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Whatever parses must print back to a form that parses to the same key.
		for _, form := range []string{Base64(k), Hex(k)} {
			if k2, err := ParseKey(form); err != nil || k2 != k {
				t.Fatalf("%q parsed to %x but %q does not parse back (%v)", s, k, form, err)
			}
		}
	})
}

func FuzzParsePrivateKeyFile(f *testing.F) {
	f.Add(MarshalPrivateKeyFile(box.PrivateKey{1}, time.Unix(0, 0)))
	f.Add([]byte(alicePrivB64))
	f.Add([]byte("# x\n\n" + alicePrivHex + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKeyFile(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		again, err := ParsePrivateKeyFile(MarshalPrivateKeyFile(k, time.Unix(0, 0)))
		if err != nil || again != k {
			t.Fatalf("re-marshalled key does not parse back: %v", err)
		}
	})
}
