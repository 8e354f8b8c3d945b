package keystore

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkLookupOpen is what a receiver does for every sealed payload: find the entry
// of the URI, in a keystore of a few entries.
func BenchmarkLookupOpen(b *testing.B) {
	ks := New()
	for _, p := range []string{"", "com.example.", "com.example.sensor.", "org.other.", "wamp.session."} {
		if err := ks.Put(&Entry{Prefix: p, Single: priv(b, singlePriv)}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if e, ok := ks.LookupOpen("com.example.sensor.temperature"); !ok || e.Prefix != "com.example.sensor." {
			b.Fatal(e, ok)
		}
	}
}

// BenchmarkParseLarge reads a keystore near the size limit (40,000 entries) whose
// prefixes have many lengths, in file order (sorted by prefix), as `cbx keys` writes it:
// what every command that loads such a keystore pays before its first message.
func BenchmarkParseLarge(b *testing.B) {
	ks := New()
	for i := range 40000 {
		p := fmt.Sprintf("com.example.%d.%s", i, strings.Repeat("x", i%23))
		if err := ks.Put(&Entry{Prefix: p, Single: priv(b, singlePriv)}); err != nil {
			b.Fatal(err)
		}
	}
	data := ks.Marshal()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
