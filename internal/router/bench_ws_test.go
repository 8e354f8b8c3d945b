package router

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// BenchmarkRoutePublish measures the router's path for one sealed event, as `cbx publish
// --stdin` drives it (enc_algo, enc_serializer and enc_key): a publisher over a real
// WebSocket (msgpack) sends PUBLISH with acknowledge, at most 64 unacknowledged
// (publish's default window; window=1 measures one at a time, the latency), and S
// subscribers of the topic read the EVENTs. The plain/ cases publish the same event in
// plaintext (scripts/router-cpu.sh's line: a string of 88 bytes and a number), so that
// the two forms' costs compare in one run. The clients are bare gorilla connections that
// write pre-encoded frames and only count what they read, so that most of the process's
// CPU time is the router's. It reports the process's CPU time per event (cpu-µs/event,
// from getrusage: user+system, all goroutines) and the allocations of the whole process
// per event.
func BenchmarkRoutePublish(b *testing.B) {
	for _, c := range []struct {
		subs, window int
		plain        bool
	}{{1, 64, false}, {4, 64, false}, {1, 1, false}, {1, 64, true}, {4, 64, true}} {
		subs, window := c.subs, c.window
		name := fmt.Sprintf("subscribers=%d/window=%d", subs, window)
		if c.plain {
			name = "plain/" + name
		}
		b.Run(name, func(b *testing.B) {
			srv, _, _ := testServer(b, Config{Logger: discardLogger()})
			noTrace(srv) // as cbx router runs by default
			ts := httptest.NewServer(srv.Handler())
			b.Cleanup(ts.Close)
			url := wsURL(ts)
			const topic = "com.example.bench.route"
			var got atomic.Int64
			for range subs {
				ws := rawJoin(b, url)
				rawSend(b, ws, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: topic})
				rawExpect(b, ws, wamp.SUBSCRIBED)
				go func() {
					for {
						_, r, err := ws.NextReader()
						if err != nil {
							return
						}
						io.Copy(io.Discard, r)
						got.Add(1)
					}
				}()
			}
			pub := rawJoin(b, url)
			// As cbx publish seals: enc_key is the recipient key's fingerprint.
			opts := encOpts(wamp.Dict{wamp.OptAcknowledge: true, wamp.OptEncKey: "0xBf9240114804dB4Fd373012c0Ca47432D63425AE"})
			m := &wamp.Publish{Request: 1, Options: opts, Topic: topic, Payload: wamp.Payload{Bare: sealedBytes(b, 116)}}
			if c.plain {
				m.Options = wamp.Dict{wamp.OptAcknowledge: true}
				m.Payload = wamp.Payload{Args: wamp.List{strings.Repeat("x", 88), int64(12345)}}
			}
			frame, err := wamp.MsgPack.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			acks := make(chan struct{}, window)
			go func() {
				for {
					_, r, err := pub.NextReader()
					if err != nil {
						return
					}
					io.Copy(io.Discard, r)
					acks <- struct{}{}
				}
			}()
			want := int64(b.N) * int64(subs)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			inflight := 0
			for range b.N {
				for inflight >= window {
					<-acks
					inflight--
				}
				if err := pub.WriteMessage(websocket.BinaryMessage, frame); err != nil {
					b.Fatal(err)
				}
				inflight++
			}
			for ; inflight > 0; inflight-- {
				<-acks
			}
			deadline := time.Now().Add(time.Minute)
			for got.Load() < want {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d events delivered", got.Load(), want)
				}
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/event")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawJoin opens a bare gorilla connection (msgpack) and joins realm1 anonymously.
func rawJoin(b testing.TB, url string) *websocket.Conn {
	b.Helper()
	d := websocket.Dialer{Subprotocols: []string{wamp.MsgPack.Subprotocol()}}
	ws, _, err := d.DialContext(context.Background(), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.Close() })
	rawSend(b, ws, &wamp.Hello{Realm: DefaultRealm, Details: wamp.Dict{"roles": autobahnRoles()}})
	rawExpect(b, ws, wamp.WELCOME)
	return ws
}

func rawSend(b testing.TB, ws *websocket.Conn, m wamp.Message) {
	b.Helper()
	f, err := wamp.MsgPack.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, f); err != nil {
		b.Fatal(err)
	}
}

func rawExpect(b testing.TB, ws *websocket.Conn, t wamp.MessageType) {
	b.Helper()
	_, f, err := ws.ReadMessage()
	if err != nil {
		b.Fatal(err)
	}
	m, err := wamp.MsgPack.Unmarshal(f)
	if err != nil || m.MessageType() != t {
		b.Fatalf("got %v (%v), want %v", m, err, t)
	}
}

// BenchmarkShortSession measures a one-shot client's whole session, as `cbx publish TOPIC
// ARG` makes it: a WebSocket connection (msgpack), HELLO, a sealed PUBLISH sent with the
// GOODBYE, the router's GOODBYE read, the connection closed; one subscriber of the topic
// reads the events. The clients are bare gorilla connections, so that most of the
// process's CPU time is the router's: cpu-µs/session is the process's CPU time (user and
// system, all goroutines) per session.
func BenchmarkShortSession(b *testing.B) {
	srv, _, _ := testServer(b, Config{Logger: discardLogger()})
	noTrace(srv) // as cbx router runs by default
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	url := wsURL(ts)
	const topic = "com.example.bench.short"
	var got atomic.Int64
	sub := rawJoin(b, url)
	rawSend(b, sub, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: topic})
	rawExpect(b, sub, wamp.SUBSCRIBED)
	go func() {
		for {
			_, r, err := sub.NextReader()
			if err != nil {
				return
			}
			io.Copy(io.Discard, r)
			got.Add(1)
		}
	}()
	opts := encOpts(wamp.Dict{wamp.OptEncKey: "0xBf9240114804dB4Fd373012c0Ca47432D63425AE"})
	publish, err := wamp.MsgPack.Marshal(&wamp.Publish{Request: 1, Options: opts,
		Topic: topic, Payload: wamp.Payload{Bare: sealedBytes(b, 116)}})
	if err != nil {
		b.Fatal(err)
	}
	goodbye, err := wamp.MsgPack.Marshal(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseURINormal})
	if err != nil {
		b.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{wamp.MsgPack.Subprotocol()}}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		ws, _, err := d.DialContext(context.Background(), url, nil)
		if err != nil {
			b.Fatal(err)
		}
		rawSend(b, ws, &wamp.Hello{Realm: DefaultRealm, Details: wamp.Dict{"roles": autobahnRoles()}})
		rawExpect(b, ws, wamp.WELCOME)
		for _, f := range [][]byte{publish, goodbye} {
			if err := ws.WriteMessage(websocket.BinaryMessage, f); err != nil {
				b.Fatal(err)
			}
		}
		rawExpect(b, ws, wamp.GOODBYE)
		ws.Close()
	}
	deadline := time.Now().Add(time.Minute)
	for got.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d events delivered", got.Load(), b.N)
		}
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/session")
}
