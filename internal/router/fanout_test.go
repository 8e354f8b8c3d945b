package router

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Fan-out with many sessions (issue 8, "Fan-out and many clients"): 100 subscribers of
// one topic and 20 publishers publishing at the same time, over real WebSockets, through
// a router with its default limits. Every subscriber must get every event, in each
// publisher's order; the router's goroutines must stay proportional to its sessions; and
// once every client has left, nothing of them may remain. The throughput of this setup is
// measured by BenchmarkFanOut, not asserted here.

const (
	fanSubscribers = 100
	fanPublishers  = 20
	fanEvents      = 50 // per publisher
)

func joinWS(t testing.TB, url string, ser wamp.Serializer) *wamp.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	c, err := wamp.Dial(ctx, url, wamp.DialOptions{Serializers: []wamp.Serializer{ser}, PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := wamp.Join(ctx, c, wamp.Config{Realm: DefaultRealm})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fanSubscriber counts what one subscriber received, per publisher, checking the order.
type fanSubscriber struct {
	mu     sync.Mutex
	next   [fanPublishers]int64
	total  int
	errs   []string
	marked int
	all    chan struct{} // closed when every event arrived
}

func (f *fanSubscriber) handle(ev *wamp.EventInfo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := ev.Details[wamp.OptCBXDropped]; ok {
		f.marked++
	}
	if ev.Err != nil || len(ev.Args) != 2 {
		f.errs = append(f.errs, fmt.Sprintf("event %v: %v", ev.Args, ev.Err))
		return
	}
	p, _ := ev.Args[0].(int64)
	n, _ := ev.Args[1].(int64)
	if p < 0 || p >= fanPublishers || n != f.next[p] {
		f.errs = append(f.errs, fmt.Sprintf("publisher %d's event %d, want %d", p, n, f.next[p%fanPublishers]))
		return
	}
	f.next[p]++
	f.total++
	if f.total == fanPublishers*fanEvents {
		close(f.all)
	}
}

func TestFanOutManySessions(t *testing.T) {
	baseline := runtime.NumGoroutine()
	srv, url, _ := startWS(t, Config{})
	sers := []wamp.Serializer{wamp.JSON, wamp.MsgPack, wamp.CBOR}
	ctx := context.Background()
	topic := "com.example.fanout"

	subs := make([]*fanSubscriber, fanSubscribers)
	var sessions []*wamp.Session
	for i := range subs {
		subs[i] = &fanSubscriber{all: make(chan struct{})}
		s := joinWS(t, url, sers[i%len(sers)])
		sessions = append(sessions, s)
		if _, err := s.Subscribe(ctx, topic, wamp.Dict{}, subs[i].handle); err != nil {
			t.Fatal(err)
		}
	}
	pubs := make([]*wamp.Session, fanPublishers)
	for i := range pubs {
		pubs[i] = joinWS(t, url, sers[i%len(sers)])
		sessions = append(sessions, pubs[i])
	}
	perSession := float64(runtime.NumGoroutine()-baseline) / float64(len(sessions))

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, fanPublishers)
	for i, s := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range fanEvents {
				// Unacknowledged, as fast as the connection takes them.
				if _, err := s.Publish(ctx, topic, wamp.Dict{}, wamp.List{int64(i), int64(n)}, nil); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, f := range subs {
		select {
		case <-f.all:
		case <-time.After(testWait):
			f.mu.Lock()
			t.Fatalf("subscriber %d got %d of %d events; router %+v; errors %v", i, f.total, fanPublishers*fanEvents, srv.Stats(), f.errs)
		}
		f.mu.Lock()
		if len(f.errs) > 0 || f.marked > 0 {
			t.Errorf("subscriber %d: %d marked events, errors %v", i, f.marked, f.errs)
		}
		f.mu.Unlock()
	}
	elapsed := time.Since(start)
	st := srv.Stats()
	if st.Dropped != 0 {
		t.Errorf("Stats.Dropped = %d", st.Dropped)
	}
	t.Logf("%d events to %d subscribers (%d deliveries) in %v; %.1f goroutines per session (client and router side)",
		fanPublishers*fanEvents, fanSubscribers, fanPublishers*fanEvents*fanSubscribers, elapsed, perSession)
	// In-process, each session has its client's goroutines and the router's: a handful
	// each side, never growing with the traffic.
	if perSession > 16 {
		t.Errorf("%.1f goroutines per session", perSession)
	}
	if g := runtime.NumGoroutine() - baseline; float64(g) > 16*float64(len(sessions)) {
		t.Errorf("%d goroutines after the traffic for %d sessions", g, len(sessions))
	}

	// Everybody leaves: the router forgets every session and its goroutines end.
	for _, s := range sessions {
		cctx, cancel := context.WithTimeout(ctx, testWait)
		if err := s.Close(cctx); err != nil {
			t.Errorf("leaving: %v", err)
		}
		cancel()
	}
	deadline := time.Now().Add(testWait)
	for {
		srv.mu.Lock()
		peers, registered := len(srv.peers), len(srv.sessions)
		srv.mu.Unlock()
		g := runtime.NumGoroutine() - baseline
		// What may remain: the test's HTTP server and the router engine's own goroutines.
		if peers == 0 && registered == 0 && srv.Stats().Open == 0 && g <= 12 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after every client left: %d peers, %d sessions, %d open, %d goroutines over the baseline\n%s",
				peers, registered, srv.Stats().Open, g, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // bounded poll: connections close asynchronously
	}
}
