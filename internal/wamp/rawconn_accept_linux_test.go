package wamp

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Both ends of a WebSocket made by Dial and Accept read and write through rawTCPConn, and
// messages cross both ways, large ones included. Only the accepted end (the router's)
// makes an ordinary system call now and then, to wake the runtime's monitor thread
// (monitoredRawConn): at most one per monitorWakeEvery, and one once that long has
// passed.
func TestDialAndAcceptUseRawConn(t *testing.T) {
	accepted := make(chan *Conn, 1)
	url := serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{})
		if err != nil {
			return
		}
		accepted <- c
		echoMessages(c)
	})
	c := dial(t, url, DialOptions{Serializers: []Serializer{MsgPack}})
	s := <-accepted
	t.Cleanup(func() { s.Close() })
	for _, conn := range []*Conn{c, s} {
		rc, ok := conn.nc.(*rawTCPConn)
		if !ok {
			t.Fatalf("connection writes to %T, not *rawTCPConn", conn.nc)
		}
		if want := conn == s; rc.wakeMonitor != want {
			t.Errorf("wakeMonitor of the %s end = %v", map[bool]string{true: "accepted", false: "dialled"}[want], rc.wakeMonitor)
		}
	}
	echo := func(size int) {
		t.Helper()
		want := &Publish{Request: 1, Options: Dict{}, Topic: "com.example.t", Payload: Payload{Args: List{strings.Repeat("x", size)}}}
		if err := c.Send(want); err != nil {
			t.Fatal(err)
		}
		got, err := c.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := got.(*Publish); !ok || p.Args[0] != want.Args[0] {
			t.Fatalf("echo of %d bytes: got %v", size, got.MessageType())
		}
	}
	for _, size := range []int{10, 200 << 10} {
		echo(size)
	}

	// Ordinary calls: one as soon as monitorWakeEvery has passed, then at most one per
	// monitorWakeEvery however many reads and writes the accepted end makes.
	time.Sleep(2 * monitorWakeEvery)
	before := monitorCalls.Load()
	start := time.Now()
	echo(10)
	if n := monitorCalls.Load() - before; n != 1 {
		t.Fatalf("%d ordinary system calls in the first echo after an idle spell, want 1", n)
	}
	const echoes = 200
	for range echoes {
		echo(10)
	}
	elapsed := time.Since(start)
	n := monitorCalls.Load() - before
	if most := uint64(elapsed/monitorWakeEvery) + 1; n > most {
		t.Fatalf("%d ordinary system calls in %v (%d echoes), want at most %d", n, elapsed, echoes, most)
	}
	t.Logf("%d ordinary system calls in %v (%d echoes, each a read and a write at the accepted end)", n, elapsed, echoes)
}
