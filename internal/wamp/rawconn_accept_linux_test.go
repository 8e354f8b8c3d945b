package wamp

import (
	"net/http"
	"strings"
	"testing"
)

// Both ends of a WebSocket made by Dial and Accept read and write through rawTCPConn, and
// messages cross both ways, large ones included.
func TestDialAndAcceptUseRawConn(t *testing.T) {
	accepted := make(chan *Conn, 1)
	url := serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{})
		if err != nil {
			return
		}
		accepted <- c
		for {
			m, err := c.Recv()
			if err != nil {
				return
			}
			if err := c.Send(m); err != nil {
				return
			}
		}
	})
	c := dial(t, url, DialOptions{Serializers: []Serializer{MsgPack}})
	s := <-accepted
	t.Cleanup(func() { s.Close() })
	for _, conn := range []*Conn{c, s} {
		if _, ok := conn.nc.(*rawTCPConn); !ok {
			t.Errorf("connection writes to %T, not *rawTCPConn", conn.nc)
		}
	}
	for _, size := range []int{10, 200 << 10} {
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
}
