package keygen

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
)

// The examples of EIP-55 (the checksum the WAMP spec's key id carries): the mixed-case
// form of each address as the EIP lists it.
var eip55Examples = []string{
	"0x52908400098527886E0F7030069857D2E4169EE7",
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	"0xde709f2102306220921060314715629080e2fb77",
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
}

func TestChecksumIsEIP55(t *testing.T) {
	for _, want := range eip55Examples {
		b, err := hex.DecodeString(strings.ToLower(want[2:]))
		if err != nil {
			t.Fatal(err)
		}
		if got := checksummed(b); got != want {
			t.Errorf("checksummed(%s) = %s, want %s", strings.ToLower(want), got, want)
		}
		if _, err := ParseFingerprint(want); err != nil {
			t.Errorf("ParseFingerprint(%s): %v", want, err)
		}
	}
}

// The fingerprint's digits are the last 40 of SHA-256 of the raw key: those of the
// vectors' keys were computed with Python's hashlib (sha256(b64decode(k)).hexdigest()[24:]).
func TestFingerprintDerivation(t *testing.T) {
	for pubB64, digits := range map[string]string{
		alicePubB64: "bf9240114804db4fd373012c0ca47432d63425ae",
		"3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=": "73c576d40205e8fc3ba4e1c6dcf93e6b98e857b4",
	} {
		pub, err := ParsePublicKey(pubB64)
		if err != nil {
			t.Fatal(err)
		}
		fp := Fingerprint(pub)
		if strings.ToLower(fp) != "0x"+digits {
			t.Errorf("Fingerprint(%s) = %s, want 0x%s in some case", pubB64, fp, digits)
		}
		if pubB64 == alicePubB64 && fp != "0xBf9240114804dB4Fd373012c0Ca47432D63425AE" {
			t.Errorf("Alice's fingerprint is %s, not what Fingerprint's doc comment says", fp)
		}
		if fp == strings.ToLower(fp) {
			t.Errorf("Fingerprint(%s) = %s carries no checksum", pubB64, fp)
		}
		got, err := ParseFingerprint(fp)
		if err != nil || hex.EncodeToString(got[:]) != digits {
			t.Errorf("ParseFingerprint(%s) = %x, %v", fp, got, err)
		}
	}
}

func TestParseFingerprintErrors(t *testing.T) {
	pub, _ := ParsePublicKey(alicePubB64)
	fp := Fingerprint(pub)
	flipped := []byte(fp)
	for i := 2; i < len(flipped); i++ { // change the case of one letter
		if c := flipped[i]; 'a' <= c && c <= 'f' {
			flipped[i] = c - 'a' + 'A'
			break
		} else if 'A' <= c && c <= 'F' {
			flipped[i] = c - 'A' + 'a'
			break
		}
	}
	cases := map[string]string{
		"":                 `starts with "0x"`,
		fp[2:]:             `starts with "0x"`,
		fp[:41]:            "40 hex digits",
		fp + "0":           "40 hex digits",
		"0x" + alicePubB64: "40 hex digits",
		fp[:41] + "g":      "40 hex digits",
		string(flipped):    "not the EIP-55 checksum",
	}
	for in, want := range cases {
		_, err := ParseFingerprint(in)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFingerprint(%q) = %v, want ErrMalformed saying %q", in, err, want)
		}
	}
	for _, ok := range []string{strings.ToLower(fp), "0x" + strings.ToUpper(fp[2:])} {
		if _, err := ParseFingerprint(ok); err != nil {
			t.Errorf("ParseFingerprint(%q): %v", ok, err)
		}
		if !SameFingerprint(ok, fp) {
			t.Errorf("SameFingerprint(%q, %q) is false", ok, fp)
		}
	}
}

// FuzzParseFingerprint: whatever it accepts names the 20 bytes of its digits, and the
// checksummed form of those bytes reads back to them; every key's fingerprint is accepted.
func FuzzParseFingerprint(f *testing.F) {
	for _, s := range eip55Examples {
		f.Add(s, []byte{})
	}
	f.Add("0x", []byte(alicePubB64))
	f.Fuzz(func(t *testing.T, s string, key []byte) {
		if fp, err := ParseFingerprint(s); err != nil {
			checkErr(t, err)
		} else {
			if !strings.EqualFold(s, "0x"+hex.EncodeToString(fp[:])) {
				t.Fatalf("%q parsed to %x", s, fp)
			}
			if again, err := ParseFingerprint(checksummed(fp[:])); err != nil || again != fp {
				t.Fatalf("%q: the checksummed form does not read back: %v", s, err)
			}
		}
		var pub box.PublicKey
		copy(pub[:], key)
		fp := Fingerprint(pub)
		got, err := ParseFingerprint(fp)
		sum := sha256.Sum256(pub[:])
		if err != nil || [FingerprintSize]byte(sum[12:]) != got {
			t.Fatalf("Fingerprint(%x) = %q: does not read back to the hash (%v)", pub, fp, err)
		}
	})
}
