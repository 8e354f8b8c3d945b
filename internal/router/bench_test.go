package router

import (
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// BenchmarkSealedEvent measures one sealed PUBLISH through the adapter and nexus to one
// subscriber (in-memory connections, no serialization).
func BenchmarkSealedEvent(b *testing.B) {
	srv, _, _ := testServer(b, Config{Trace: nopWriter{}, Logger: discardLogger()})
	sub := join(b, srv, roles())
	pub := join(b, srv, autobahnRoles())
	sub.subscribe("com.example.secure.bench", nil)
	payload := sealedBytes(b, 115)
	opts := encOpts(nil)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		pub.send(&wamp.Publish{Request: 1, Options: opts, Topic: "com.example.secure.bench", Payload: wamp.Payload{Bare: payload}})
		if ev := expect[*wamp.Event](sub); len(ev.Bare) != len(payload) {
			b.Fatal("payload changed")
		}
	}
}
