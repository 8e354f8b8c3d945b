package router

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// BenchmarkSealedEvent measures one sealed PUBLISH through the adapter and nexus to one
// subscriber (in-memory connections, no serialization).
func BenchmarkSealedEvent(b *testing.B) {
	srv, _, _ := testServer(b, Config{Logger: discardLogger()})
	noTrace(srv) // as cbx router runs by default
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

// BenchmarkSealedCall measures one sealed call through the adapter and nexus: CALL →
// INVOCATION, YIELD → RESULT, as an Autobahn caller and callee seal them (in-memory
// connections, no serialization); with -bench SealedCall/plain, the same call in
// plaintext.
func BenchmarkSealedCall(b *testing.B) {
	for _, sealed := range []bool{true, false} {
		name := "plain"
		if sealed {
			name = "sealed"
		}
		b.Run(name, func(b *testing.B) {
			srv, _, _ := testServer(b, Config{Logger: discardLogger()})
			noTrace(srv)
			callee := join(b, srv, autobahnRoles())
			caller := join(b, srv, autobahnRoles())
			callee.register("com.example.secure.bench", nil)
			callP, yieldP := wamp.Payload{Bare: sealedBytes(b, 180)}, wamp.Payload{Bare: sealedBytes(b, 180)}
			callOpts, yieldOpts := encOpts(nil), encOpts(nil)
			if !sealed {
				callP, yieldP = wamp.Payload{Args: wamp.List{strings.Repeat("x", 100)}}, wamp.Payload{Args: wamp.List{strings.Repeat("x", 100)}}
				callOpts, yieldOpts = wamp.Dict{}, wamp.Dict{}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				caller.send(&wamp.Call{Request: wamp.ID(i + 1), Options: callOpts, Procedure: "com.example.secure.bench", Payload: callP})
				inv := expect[*wamp.Invocation](callee)
				callee.send(&wamp.Yield{Request: inv.Request, Options: yieldOpts, Payload: yieldP})
				if res := expect[*wamp.Result](caller); res.Request != wamp.ID(i+1) || res.IsBare() != sealed {
					b.Fatalf("RESULT %s", summarize(res))
				}
			}
		})
	}
}

// BenchmarkFanOut measures publications through the router to many subscribers over real
// WebSockets (json), 20 publishers at once, unacknowledged, 100-byte payloads: b.N
// publications in all, each delivered to every subscriber. It reports publications and
// deliveries per second (scripts/bench-router.sh runs it).
func BenchmarkFanOut(b *testing.B) {
	for _, subs := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			srv, _, _ := testServer(b, Config{Trace: nopWriter{}, Logger: discardLogger()})
			ts := httptest.NewServer(srv.Handler())
			b.Cleanup(ts.Close)
			url := wsURL(ts)
			ctx := context.Background()
			const topic = "com.example.bench.fanout"
			const publishers = 20
			var got atomic.Int64
			want := int64(b.N) * int64(subs)
			all := make(chan struct{})
			var once sync.Once
			for range subs {
				s := joinWS(b, url, wamp.JSON)
				b.Cleanup(func() { s.Close(ctx) })
				if _, err := s.Subscribe(ctx, topic, wamp.Dict{}, func(*wamp.EventInfo) {
					if got.Add(1) == want {
						once.Do(func() { close(all) })
					}
				}); err != nil {
					b.Fatal(err)
				}
			}
			pubs := make([]*wamp.Session, publishers)
			for i := range pubs {
				pubs[i] = joinWS(b, url, wamp.JSON)
				b.Cleanup(func() { pubs[i].Close(ctx) })
			}
			pad := strings.Repeat("x", 100)
			b.ResetTimer()
			var wg sync.WaitGroup
			for i, s := range pubs {
				n := b.N / publishers
				if i < b.N%publishers {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range n {
						if _, err := s.Publish(ctx, topic, wamp.Dict{}, wamp.List{int64(j), pad}, nil); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			select {
			case <-all:
			case <-time.After(5 * time.Minute):
				b.Fatalf("%d of %d deliveries; router %+v", got.Load(), want, srv.Stats())
			}
			b.StopTimer()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/sec, "pubs/s")
			b.ReportMetric(float64(want)/sec, "deliveries/s")
			if d := srv.Stats().Dropped; d != 0 {
				b.Fatalf("%d dropped", d)
			}
		})
	}
}
