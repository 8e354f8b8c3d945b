package e2e

import (
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/keystore"
)

// The per-event costs of the codec, for the event issue 10's figures use: 100 bytes of
// arguments (an 88-character string and a counter) on one topic. EncodePlaintext and
// DecodePlaintext are the JSON half; Seal and Open add the keystore lookup and NaCl box,
// as a publisher's and a subscriber's session call them once per event.

const benchURI = "com.example.bench"

func benchMessage() Message {
	return Message{URI: benchURI, Args: []any{strings.Repeat("x", 88), int64(12345)}}
}

func BenchmarkEncodePlaintext(b *testing.B) {
	m := benchMessage()
	for b.Loop() {
		if _, err := EncodePlaintext(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodePlaintext(b *testing.B) {
	pt, err := EncodePlaintext(benchMessage())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	for b.Loop() {
		if _, err := DecodePlaintext(pt); err != nil {
			b.Fatal(err)
		}
	}
}

// benchCodecs returns a publisher's and a subscriber's codec for benchURI.
func benchCodecs(b *testing.B) (pub, sub *Codec) {
	b.Helper()
	pks, sks := keystore.New(), keystore.New()
	putKeyPairs(b, pks, sks, "com.example.")
	return NewCodec(pks, "pub.ks", WireLegacy), NewCodec(sks, "sub.ks", WireLegacy)
}

func BenchmarkCodecSeal(b *testing.B) {
	pub, _ := benchCodecs(b)
	m := benchMessage()
	for b.Loop() {
		if _, _, ok, err := pub.Seal(true, benchURI, m.Args, m.Kwargs); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkCodecOpen(b *testing.B) {
	pub, sub := benchCodecs(b)
	m := benchMessage()
	p, opts, _, err := pub.Seal(true, benchURI, m.Args, m.Kwargs)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, _, err := sub.Open(false, benchURI, p, opts); err != nil {
			b.Fatal(err)
		}
	}
}
