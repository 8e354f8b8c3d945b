package router

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/cbx-wamp/cbx/internal/testkit"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// filteredTrace keeps only the trace lines that contain one of its words.
type filteredTrace struct {
	mu    sync.Mutex
	words [][]byte
	b     bytes.Buffer
}

func (f *filteredTrace) Write(p []byte) (int, error) {
	for _, w := range f.words {
		if bytes.Contains(p, w) {
			f.mu.Lock()
			f.b.Write(p)
			f.mu.Unlock()
			break
		}
	}
	return len(p), nil
}

func (f *filteredTrace) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b.String()
}

// eventWatch consumes a peer's lines while it runs, so that its standard output never
// blocks it, and signals when an "event" line whose first argument is want arrives.
type eventWatch struct {
	want atomic.Int64
	seen chan struct{}
	once sync.Once
}

func watchEvents(p *peerProc) *eventWatch {
	w := &eventWatch{seen: make(chan struct{})}
	w.want.Store(-1)
	go func() {
		for m := range p.lines {
			if args, _ := m["args"].([]any); m["event"] == "event" && len(args) > 0 && args[0] == float64(w.want.Load()) {
				w.once.Do(func() { close(w.seen) })
			}
		}
	}()
	return w
}

// Autobahn|Python and AutobahnJS subscribers keep working when the router marks an event
// with Details._cbx_dropped: both are stopped (SIGSTOP) under a steady stream through a
// router with small limits, so that it drops events for them and marks the next ones it
// delivers; both print every event the router delivered to them, in order, and nothing
// fails. (Both read only the Details keys they know, so the mark is ignored; the trace
// shows it was sent.)
func TestInteropDropMarkIgnored(t *testing.T) {
	python := testkit.NeedAutobahnPython(t)
	nodeArgv := jsPeer(t)
	script, _ := filepath.Abs("testdata/abpeer.py")
	trace := &filteredTrace{words: [][]byte{[]byte(" WELCOME "), []byte("drop "), []byte(wamp.OptCBXDropped)}}
	srv, _, _ := testServer(t, Config{OutQueueSize: 16, OutQueueBytes: 128 << 10, Trace: trace})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	url := wsURL(ts)
	// Python's prefix subscription (NS.pfx.) and JS's exact one (JSNS.topic) both match
	// the stream's topic; their procedures differ.
	const ns, jsNS = "com.example.marks", "com.example.marks.pfx.js"
	const topic = jsNS + ".topic"
	ctx, cancel := context.WithTimeout(context.Background(), 2*peerTimeout)
	defer cancel()

	py := startPeer(t, ctx, "Autobahn|Python subscriber", python, script, "--url", url, "--serializer", "json",
		"--role", "responder", "--ns", ns, "--marker", "M")
	py.waitFor(t, "ready")
	js := startPeer(t, ctx, "AutobahnJS subscriber", append(append([]string{}, nodeArgv...), url, "responder", "cbor", jsNS, "M")...)
	js.waitFor(t, "ready")
	watches := []*eventWatch{watchEvents(py), watchEvents(js)}

	c, err := wamp.Dial(ctx, url, wamp.DialOptions{Serializers: []wamp.Serializer{wamp.MsgPack}})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := wamp.Join(ctx, c, wamp.Config{Realm: DefaultRealm})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	var published atomic.Int64
	stop, streamed := make(chan struct{}), make(chan error, 1)
	pad := strings.Repeat("z", 4096)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				streamed <- nil
				return
			case <-tick.C:
			}
			if _, err := pub.Publish(ctx, topic, wamp.Dict{}, wamp.List{i, pad}, nil); err != nil {
				streamed <- err
				return
			}
			published.Add(1)
		}
	}()
	signal := func(sig syscall.Signal) {
		for _, p := range []*peerProc{py, js} {
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(500 * time.Millisecond)
	signal(syscall.SIGSTOP)
	time.Sleep(3 * time.Second)
	signal(syscall.SIGCONT)
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	if err := <-streamed; err != nil {
		t.Fatal(err)
	}
	// Once they have caught up, one last event reaches both and carries the mark for
	// whatever was dropped at the end.
	time.Sleep(2 * time.Second)
	last := published.Load()
	for _, w := range watches {
		w.want.Store(last)
	}
	if _, err := pub.Publish(ctx, topic, wamp.Dict{"acknowledge": true}, wamp.List{last, pad}, nil); err != nil {
		t.Fatal(err)
	}
	published.Add(1)
	for i, w := range watches {
		select {
		case <-w.seen:
		case <-time.After(peerTimeout):
			t.Fatalf("%s did not get the last event", []*peerProc{py, js}[i].name)
		}
	}

	// Which session is which: Python joined with json, JS with cbor.
	sessions := map[string]wamp.ID{}
	for _, m := range regexp.MustCompile(`(?m)^tx conn=\d+ session=(\d+) (json|cbor) WELCOME `).FindAllStringSubmatch(trace.String(), -1) {
		id, _ := strconv.ParseUint(m[1], 10, 64)
		sessions[m[2]] = wamp.ID(id)
	}
	for _, sc := range []struct {
		p   *peerProc
		ser string
	}{{py, "json"}, {js, "cbor"}} {
		lines := sc.p.finish(t)
		sess := sessions[sc.ser]
		dropped := traceDropTotal(t, trace.String(), sess)
		if dropped == 0 {
			t.Fatalf("%s lost nothing: the test did not stop it long enough", sc.p.name)
		}
		if !containsLine(trace.String(), fmt.Sprintf("tx conn="), fmt.Sprintf("session=%d %s EVENT ", sess, sc.ser), wamp.OptCBXDropped+":") {
			t.Fatalf("no marked EVENT was sent to %s (session %d)", sc.p.name, sess)
		}
		if f := pick(lines, "failure", ""); len(f) > 0 {
			t.Errorf("%s failed: %v", sc.p.name, f)
		}
		events := pick(lines, "event", "")
		prev := float64(-1)
		for _, ev := range events {
			args, _ := ev["args"].([]any)
			n, _ := args[0].(float64)
			if len(args) != 2 || n <= prev {
				t.Fatalf("%s: event %v after %v", sc.p.name, args[:1], prev)
			}
			prev = n
		}
		if uint64(len(events))+dropped != uint64(published.Load()) {
			t.Errorf("%s printed %d events, the router dropped %d for it, %d were published", sc.p.name, len(events), dropped, published.Load())
		}
		t.Logf("%s: %d of %d events, %d dropped and marked", sc.p.name, len(events), published.Load(), dropped)
	}
}
