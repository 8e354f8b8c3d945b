package wamp

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Tests of Conn's own write path (transport_write.go), read by gorilla on the other side:
// what gorilla accepts as frames, in order, masked or not, is what any peer gets.

// writeSizes cross every length encoding boundary of RFC 6455 §5.2 (7-bit, 16-bit,
// 64-bit) and the 8-byte steps of maskBytes.
var writeSizes = []int{0, 1, 7, 8, 9, 125, 126, 127, 1000, 65535, 65536, 200_000}

// wantPublish is the message of size roughly n used by the write tests: a PUBLISH whose
// argument is n bytes of a pattern that tells a wrong mask byte from a right one.
func wantPublish(i, n int) *Publish {
	b := make([]byte, n)
	for j := range b {
		b[j] = byte(j*7 + i)
	}
	return &Publish{Request: ID(i + 1), Options: Dict{}, Topic: "com.example.t", Payload: Payload{Args: List{b}}}
}

// checkFrames reads len(writeSizes) messages with gorilla and checks each against
// wantPublish, decoded with ser.
func checkFrames(t *testing.T, ws *websocket.Conn, ser Serializer) {
	t.Helper()
	for i, n := range writeSizes {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if typ != websocket.BinaryMessage {
			t.Fatalf("message %d: frame type %d", i, typ)
		}
		m, err := ser.Unmarshal(data)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got, ok := m.(*Publish)
		want := wantPublish(i, n)
		if !ok || got.Request != want.Request || len(got.Args) != 1 || !bytes.Equal(got.Args[0].([]byte), want.Args[0].([]byte)) {
			t.Fatalf("message %d (%d bytes) arrived changed", i, n)
		}
	}
}

// TestWriteFramesFromServer: unmasked frames of every length encoding, queued together
// and flushed once, arrive whole and in order at a gorilla client.
func TestWriteFramesFromServer(t *testing.T) {
	done := make(chan error, 1)
	url := serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{Serializers: []Serializer{MsgPack}})
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		for i, n := range writeSizes {
			if err := c.Queue(wantPublish(i, n)); err != nil {
				done <- err
				return
			}
		}
		done <- c.Flush()
		c.Recv() // until the client closes
	})
	d := websocket.Dialer{Subprotocols: []string{MsgPack.Subprotocol()}}
	ws, _, err := d.DialContext(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	checkFrames(t, ws, MsgPack)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWriteFramesFromClient: the same from a dialled connection, whose frames are masked
// (gorilla's server refuses unmasked ones), sent by several goroutines at once.
func TestWriteFramesFromClient(t *testing.T) {
	got := make(chan error, 1)
	url := rawServer(t, MsgPack.Subprotocol(), func(ws *websocket.Conn) {
		seen := map[ID]bool{}
		for range writeSizes {
			_, data, err := ws.ReadMessage()
			if err != nil {
				got <- err
				return
			}
			m, err := MsgPack.Unmarshal(data)
			if err != nil {
				got <- err
				return
			}
			p := m.(*Publish)
			i := int(p.Request) - 1
			if i < 0 || i >= len(writeSizes) || seen[p.Request] || !bytes.Equal(p.Args[0].([]byte), wantPublish(i, writeSizes[i]).Args[0].([]byte)) {
				got <- errors.New("a message arrived changed or twice")
				return
			}
			seen[p.Request] = true
		}
		got <- nil
		drain(ws)
	})
	c := dial(t, url, DialOptions{Serializers: []Serializer{MsgPack}, PingInterval: -1})
	var wg sync.WaitGroup
	for i, n := range writeSizes {
		wg.Go(func() {
			if err := c.Send(wantPublish(i, n)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestCloseFollowsQueuedFrames: messages queued before Close are written before the close
// frame, and nothing after it.
func TestCloseFollowsQueuedFrames(t *testing.T) {
	c, ws := acceptedPair(t)
	for i := range 3 {
		if err := c.Queue(&Published{Request: ID(i + 1), Publication: 9}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CloseWithCode(4001, "bye"); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(&Published{Request: 4, Publication: 9}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	for i := range 3 {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		if m, err := JSON.Unmarshal(data); err != nil || m.(*Published).Request != ID(i+1) {
			t.Fatalf("message %d: %v %v", i+1, m, err)
		}
	}
	var ce *websocket.CloseError
	if _, _, err := ws.ReadMessage(); !errors.As(err, &ce) || ce.Code != 4001 || ce.Text != "bye" {
		t.Fatalf("after the messages: %v, want close 4001", err)
	}
}

// TestPingAnsweredAndCloseEchoed: the write path answers a ping with a pong holding its
// data, and a peer's close frame with the same code, after which Send fails with
// websocket.ErrCloseSent, as gorilla's own handlers and WriteMessage did.
func TestPingAnsweredAndCloseEchoed(t *testing.T) {
	c, ws := acceptedPair(t)
	recvErr := make(chan error, 1)
	go func() {
		for {
			if _, err := c.Recv(); err != nil {
				recvErr <- err
				return
			}
		}
	}()
	pong := make(chan string, 1)
	ws.SetPongHandler(func(data string) error { pong <- data; return nil })
	closed := make(chan error, 1)
	go func() {
		_, _, err := ws.ReadMessage()
		closed <- err
	}()
	if err := ws.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-pong:
		if got != "are you there" {
			t.Fatalf("pong data %q", got)
		}
	case <-testCtx(t).Done():
		t.Fatal("no pong")
	}
	if err := ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4002, "done"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := <-recvErr; !errors.As(err, &ce) || ce.Code != 4002 {
		t.Fatalf("Recv: %v, want the peer's close 4002", err)
	}
	if err := <-closed; !errors.As(err, &ce) || ce.Code != 4002 {
		t.Fatalf("the peer read %v, want its close 4002 echoed", err)
	}
	if err := c.Send(&Published{Request: 1, Publication: 2}); !errors.Is(err, websocket.ErrCloseSent) {
		t.Fatalf("Send after the close handshake: %v", err)
	}
}

// TestNothingAfterGorillasClose: a frame over the read limit makes gorilla write close 1009
// itself; nothing may follow it, so Send fails and the peer reads the close frame next.
func TestNothingAfterGorillasClose(t *testing.T) {
	c, ws := acceptedPairWith(t, AcceptOptions{Serializers: []Serializer{JSON}, MaxMessageSize: 64})
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`[16,1,{},"t",["`+strings.Repeat("x", 100)+`"]]`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(); !errors.Is(err, websocket.ErrReadLimit) {
		t.Fatalf("Recv: %v", err)
	}
	if err := c.Send(&Published{Request: 1, Publication: 2}); !errors.Is(err, websocket.ErrCloseSent) {
		t.Fatalf("Send after gorilla's close frame: %v", err)
	}
	var ce *websocket.CloseError
	if _, _, err := ws.ReadMessage(); !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("the peer read %v, want close 1009 and nothing before it", err)
	}
}

// TestNothingAfterGorillasProtocolClose: a malformed frame (here an unmasked one from a
// client, RFC 6455 §5.1) makes gorilla write close 1002 itself; as after 1009, nothing may
// follow it.
func TestNothingAfterGorillasProtocolClose(t *testing.T) {
	c, ws := acceptedPair(t)
	// A final text frame of 2 bytes without the mask bit, written under gorilla.
	if _, err := ws.NetConn().Write([]byte{0x81, 0x02, '[', ']'}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recv(); err == nil {
		t.Fatal("Recv accepted an unmasked frame from a client")
	}
	if err := c.Send(&Published{Request: 1, Publication: 2}); !errors.Is(err, websocket.ErrCloseSent) {
		t.Fatalf("Send after gorilla's close frame: %v", err)
	}
	var ce *websocket.CloseError
	if _, _, err := ws.ReadMessage(); !errors.As(err, &ce) || ce.Code != websocket.CloseProtocolError {
		t.Fatalf("the peer read %v, want close 1002 and nothing before it", err)
	}
}

// acceptedPair returns the server side (a Conn, JSON) and the client side (plain gorilla)
// of a loopback connection.
func acceptedPair(t *testing.T) (*Conn, *websocket.Conn) {
	t.Helper()
	return acceptedPairWith(t, AcceptOptions{Serializers: []Serializer{JSON}})
}

// acceptedPairWith is acceptedPair with the server side accepted with o; the client
// offers o's first serializer.
func acceptedPairWith(t *testing.T, o AcceptOptions) (*Conn, *websocket.Conn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	url := serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, o)
		if err != nil {
			return
		}
		conns <- c
		<-c.closed
	})
	ws := dialRaw(t, url, o.Serializers[0])
	c := <-conns
	t.Cleanup(func() { c.Close() })
	return c, ws
}

func dialRaw(t *testing.T, url string, s Serializer) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{s.Subprotocol()}}
	ws, _, err := d.DialContext(testCtx(t), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}
