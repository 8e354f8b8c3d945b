package keystore

import "testing"

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
