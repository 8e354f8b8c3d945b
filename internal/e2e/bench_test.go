package e2e

import (
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
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
func benchCodecs(b testing.TB) (pub, sub *Codec) {
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

// BenchmarkCodecOpen opens the event's payload as a session does: "values" with Open,
// "text" with OpenJSON, which gives the args as JSON text for subscribe's JSON line.
func BenchmarkCodecOpen(b *testing.B) {
	pub, sub := benchCodecs(b)
	m := benchMessage()
	p, opts, _, err := pub.Seal(true, benchURI, m.Args, m.Kwargs)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("values", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := sub.Open(false, benchURI, p, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("text", func(b *testing.B) {
		for b.Loop() {
			if text, _, _, _, err := sub.OpenJSON(false, benchURI, p, opts); err != nil || text == nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCodecSealJSON is BenchmarkCodecSeal with the args as a --stdin line gives
// them, JSON text in canonical form (SealJSON); compare with ParseEventLine and
// CodecSeal together, the long way.
func BenchmarkCodecSealJSON(b *testing.B) {
	pub, _ := benchCodecs(b)
	text, err := wamp.AppendJSONList(nil, benchMessage().Args, wamp.NestPayload)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, ok, err := pub.SealJSON(true, benchURI, text); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// Opening a payload allocates nothing beyond what decoding its plaintext does (the
// values it gives out): the key choice, the box and the error handling of Codec.Open
// allocate nothing when the payload opens. (The targets of errors.As, declared in Open,
// were four allocations per event.)
func TestCodecAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	pub, sub := benchCodecs(t)
	m := benchMessage()
	p, opts, _, err := pub.Seal(true, benchURI, m.Args, m.Kwargs)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := EncodePlaintext(m)
	if err != nil {
		t.Fatal(err)
	}
	decode := testing.AllocsPerRun(100, func() {
		if _, err := DecodePlaintext(pt); err != nil {
			t.Fatal(err)
		}
	})
	open := testing.AllocsPerRun(100, func() {
		if _, _, _, err := sub.Open(false, benchURI, p, opts); err != nil {
			t.Fatal(err)
		}
	})
	if open > decode {
		t.Errorf("Open: %v allocations per payload, decoding its plaintext alone %v", open, decode)
	}
}
