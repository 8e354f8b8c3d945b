package wamp

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"
)

// Benchmarks of the WebSocket write path (Conn.Send) over loopback TCP: one EVENT of a
// 100-byte sealed payload per operation, msgpack, read on the far side by a plain gorilla
// reader that only counts frames. They report the write(2) calls per message ("writes/msg",
// counted on the socket), which write coalescing brings below one when messages queue up.

// countingListener counts the Write calls made on the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, writes: l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// benchSendConn returns the server side of a loopback connection whose client counts what it
// receives in got, and the count of the server's write calls.
func benchSendConn(b *testing.B, s Serializer) (c *Conn, got *atomic.Int64, writes *atomic.Int64) {
	b.Helper()
	writes, got = &atomic.Int64{}, &atomic.Int64{}
	conns := make(chan *Conn, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{Serializers: []Serializer{s}})
		if err != nil {
			b.Error(err)
			return
		}
		conns <- c
	}))
	srv.Listener = countingListener{Listener: srv.Listener, writes: writes}
	srv.Start()
	b.Cleanup(srv.Close)
	d := websocket.Dialer{Subprotocols: []string{s.Subprotocol()}}
	ws, _, err := d.DialContext(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, r, err := ws.NextReader()
			if err != nil {
				return
			}
			io.Copy(io.Discard, r)
			got.Add(1)
		}
	}()
	c = <-conns
	b.Cleanup(func() {
		c.Close()
		ws.Close()
		<-done
	})
	return c, got, writes
}

func benchEvent() *Event {
	return &Event{Subscription: 5512315355, Publication: 4429313566, Details: Dict{"enc_algo": "cryptobox", "enc_serializer": "json"},
		Payload: Payload{Bare: make([]byte, 100)}}
}

// BenchmarkConnSend: one goroutine sends one message after the other, or several send at
// once (senders=N), as the router's writers and a client's goroutines do.
func BenchmarkConnSend(b *testing.B) {
	for _, senders := range []int{1, 4} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			c, got, writes := benchSendConn(b, MsgPack)
			ev := benchEvent()
			b.ReportAllocs()
			w0 := writes.Load()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range senders {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if err := c.Send(ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			for got.Load() < int64(b.N) {
				if b.Failed() {
					return
				}
				waitBriefly()
			}
			b.StopTimer()
			b.ReportMetric(float64(writes.Load()-w0)/float64(b.N), "writes/msg")
		})
	}
}

// waitBriefly yields while a benchmark waits for its reader to catch up.
func waitBriefly() { runtime.Gosched() }

// BenchmarkConnQueueFlush: messages queued in batches and flushed once per batch, as the
// router's writer does with what its queue holds.
func BenchmarkConnQueueFlush(b *testing.B) {
	for _, batch := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			c, got, writes := benchSendConn(b, MsgPack)
			ev := benchEvent()
			b.ReportAllocs()
			w0 := writes.Load()
			b.ResetTimer()
			for i := 0; i < b.N; {
				for j := 0; j < batch && i < b.N; j, i = j+1, i+1 {
					if err := c.Queue(ev); err != nil {
						b.Fatal(err)
					}
				}
				if err := c.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			for got.Load() < int64(b.N) {
				waitBriefly()
			}
			b.StopTimer()
			b.ReportMetric(float64(writes.Load()-w0)/float64(b.N), "writes/msg")
		})
	}
}

// BenchmarkConnRecv: Conn.Recv on the dialling side of a loopback connection, for a
// sealed EVENT (what a subscriber reads per event) and a PUBLISHED (what a publisher reads
// per acknowledged event), written ahead by the accepting side in batches.
func BenchmarkConnRecv(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    Message
	}{{"event-sealed", benchEvent()}, {"published", &Published{Request: 5512315355, Publication: 4429313566}}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := make(chan *Conn, 1)
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := Accept(w, r, AcceptOptions{Serializers: []Serializer{MsgPack}})
				if err != nil {
					b.Error(err)
					return
				}
				srv <- c
			}))
			b.Cleanup(hs.Close)
			c, err := Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http"), DialOptions{Serializers: []Serializer{MsgPack}})
			if err != nil {
				b.Fatal(err)
			}
			s := <-srv
			b.Cleanup(func() { c.Close(); s.Close() })
			f, err := s.Encode(tc.m)
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				for i := 0; i < b.N; {
					for j := 0; j < 64 && i < b.N; j, i = j+1, i+1 {
						if s.QueueEncoded(f) != nil {
							return
						}
					}
					if s.Flush() != nil {
						return
					}
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Recv(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
