package wamp

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testCtx bounds a whole test; nothing in these tests should come near it.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serveWS starts a loopback HTTP server and returns its ws:// URL.
func serveWS(t testing.TB, h http.HandlerFunc) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// echoServer accepts with all serializers, reports the chosen one, and echoes messages.
func echoServer(t *testing.T, chosen chan<- Serializer) string {
	return serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{})
		if err != nil {
			return
		}
		defer c.Close()
		if chosen != nil {
			chosen <- c.Serializer()
		}
		echoMessages(c)
	})
}

// echoMessages sends back every message c receives, until either fails.
func echoMessages(c *Conn) {
	for {
		m, err := c.Recv()
		if err != nil {
			return
		}
		if err := c.Send(m); err != nil {
			return
		}
	}
}

func dial(t *testing.T, url string, o DialOptions) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTransportEchoAllSerializers(t *testing.T) {
	for _, s := range Serializers {
		t.Run(s.Name(), func(t *testing.T) {
			chosen := make(chan Serializer, 1)
			c := dial(t, echoServer(t, chosen), DialOptions{Serializers: []Serializer{s}})
			if got := <-chosen; got != s || c.Serializer() != s {
				t.Fatalf("server chose %v, client has %v, want %v", got.Name(), c.Serializer().Name(), s.Name())
			}
			for _, m := range sampleMessages() {
				if err := c.Send(m); err != nil {
					t.Fatal(err)
				}
				got, err := c.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, m) {
					t.Fatalf("echo:\n got %#v\nwant %#v", got, m)
				}
			}
		})
	}
}

func TestSubprotocolClientPreference(t *testing.T) {
	chosen := make(chan Serializer, 1)
	c := dial(t, echoServer(t, chosen), DialOptions{Serializers: []Serializer{CBOR, JSON}})
	if got := <-chosen; got != CBOR || c.Serializer() != CBOR {
		t.Fatalf("server chose %s, client %s; want cbor (the client's first offer)", got.Name(), c.Serializer().Name())
	}
}

func TestDialNoCommonSubprotocol(t *testing.T) {
	acceptErr := make(chan error, 1)
	url := serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		_, err := Accept(w, r, AcceptOptions{Serializers: []Serializer{JSON}})
		acceptErr <- err
	})
	_, err := Dial(testCtx(t), url, DialOptions{Serializers: []Serializer{MsgPack}})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("Dial error = %v, want the server's HTTP 400", err)
	}
	if err := <-acceptErr; err == nil || !strings.Contains(err.Error(), "no supported WAMP subprotocol") {
		t.Fatalf("Accept error = %v", err)
	}
}

// rawServer upgrades with gorilla directly, selecting subprotocol proto ("" for none),
// and hands the connection to f.
func rawServer(t *testing.T, proto string, f func(ws *websocket.Conn)) string {
	return serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		h := http.Header{}
		if proto != "" {
			h.Set("Sec-WebSocket-Protocol", proto)
		}
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, h)
		if err != nil {
			return
		}
		defer ws.Close()
		f(ws)
	})
}

// drain reads until the connection fails, so that the peer's close completes.
func drain(ws *websocket.Conn) {
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return
		}
	}
}

func TestDialServerChoseNone(t *testing.T) {
	url := rawServer(t, "", drain)
	_, err := Dial(testCtx(t), url, DialOptions{})
	if err == nil || !strings.Contains(err.Error(), "chose no WebSocket subprotocol") ||
		!strings.Contains(err.Error(), "wamp.2.json, wamp.2.msgpack, wamp.2.cbor") {
		t.Fatalf("Dial error = %v", err)
	}
}

func TestRecvRejectsBadFrames(t *testing.T) {
	cases := []struct {
		name  string
		ser   Serializer
		frame int
		data  []byte
	}{
		{"json in binary frame", JSON, websocket.BinaryMessage, []byte(`[17,1,2]`)},
		{"cbor in text frame", CBOR, websocket.TextMessage, []byte{0x83, 0x11, 0x01, 0x02}},
		{"msgpack in text frame", MsgPack, websocket.TextMessage, []byte{0x93, 0x11, 0x01, 0x02}},
		{"truncated json", JSON, websocket.TextMessage, []byte(`[17,1,`)},
		{"json wrong arity", JSON, websocket.TextMessage, []byte(`[17,1]`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := rawServer(t, c.ser.Subprotocol(), func(ws *websocket.Conn) {
				ws.WriteMessage(c.frame, c.data)
				drain(ws)
			})
			conn := dial(t, url, DialOptions{Serializers: []Serializer{c.ser}})
			m, err := conn.Recv()
			if !IsProtocolError(err) {
				t.Fatalf("Recv = %#v, %v; want a protocol error", m, err)
			}
		})
	}
}

func TestMessageSizeLimit(t *testing.T) {
	big := strings.Repeat("x", 2048)
	url := rawServer(t, JSON.Subprotocol(), func(ws *websocket.Conn) {
		ws.WriteMessage(websocket.TextMessage, []byte(`[16,1,{},"t",["`+big+`"]]`))
		drain(ws)
	})
	c := dial(t, url, DialOptions{Serializers: []Serializer{JSON}, MaxMessageSize: 1024})
	if _, err := c.Recv(); err == nil || !errors.Is(err, websocket.ErrReadLimit) || !strings.Contains(err.Error(), "1024-byte limit") {
		t.Fatalf("Recv of oversize frame: %v", err)
	}
	err := c.Send(&Publish{Request: 1, Topic: "t", Payload: Payload{Args: List{big}}})
	if err == nil || !strings.Contains(err.Error(), "exceeds the 1024-byte message limit") {
		t.Fatalf("Send of oversize message: %v", err)
	}
}

func TestConcurrentSend(t *testing.T) {
	const senders, each = 8, 50
	c := dial(t, echoServer(t, nil), DialOptions{Serializers: []Serializer{MsgPack}})
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				if err := c.Send(&Published{Request: ID(g*each + i + 1), Publication: ID(g)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[ID]bool{}
	for range senders * each {
		m, err := c.Recv()
		if err != nil {
			t.Fatal(err)
		}
		p := m.(*Published)
		if seen[p.Request] || int(p.Publication) != int(p.Request-1)/each {
			t.Fatalf("duplicate or corrupted message %+v", p)
		}
		seen[p.Request] = true
	}
	wg.Wait()
}

func TestCloseUnblocksRecvAndIsIdempotent(t *testing.T) {
	c := dial(t, echoServer(t, nil), DialOptions{})
	recvErr := make(chan error, 1)
	go func() {
		_, err := c.Recv()
		recvErr <- err
	}()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-recvErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Send(&Unsubscribed{Request: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

func TestCloseWithCodeReachesPeer(t *testing.T) {
	serverErr := make(chan error, 1)
	url := serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{})
		if err != nil {
			serverErr <- err
			return
		}
		defer c.Close()
		_, err = c.Recv()
		serverErr <- err
	})
	c := dial(t, url, DialOptions{})
	if err := c.CloseWithCode(websocket.CloseProtocolError, "bad frame"); err != nil {
		t.Fatal(err)
	}
	var ce *websocket.CloseError
	if err := <-serverErr; !errors.As(err, &ce) || ce.Code != websocket.CloseProtocolError || ce.Text != "bad frame" {
		t.Fatalf("server Recv error = %v", err)
	}
}

// TestKeepalivePongsKeepConnectionAlive: the peer answers pings (gorilla does so while
// reading) but sends nothing else; after more ping intervals than a read may stay
// silent, Recv has still not failed, because pongs extend the deadline. The test waits
// on observed pings, not on the clock. A read may stay silent for 5 intervals here
// (1 s), so only a scheduling stall of 800 ms could fail it.
func TestKeepalivePongsKeepConnectionAlive(t *testing.T) {
	const interval = 200 * time.Millisecond
	defer func(f int) { testOnlyReadTimeoutFactor = f }(testOnlyReadTimeoutFactor)
	testOnlyReadTimeoutFactor = 5
	const wantPings = 8 // 1.6 s > the 1 s read timeout
	pings := make(chan struct{}, 100)
	url := rawServer(t, JSON.Subprotocol(), func(ws *websocket.Conn) {
		ws.SetPingHandler(func(data string) error {
			pings <- struct{}{}
			return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		drain(ws)
	})
	c := dial(t, url, DialOptions{Serializers: []Serializer{JSON}, PingInterval: interval})
	recvErr := make(chan error, 1)
	go func() {
		_, err := c.Recv()
		recvErr <- err
	}()
	for i := range wantPings {
		select {
		case <-pings:
		case err := <-recvErr:
			t.Fatalf("Recv failed after %d pings: %v", i, err)
		case <-testCtx(t).Done():
			t.Fatal("no pings")
		}
	}
	select {
	case err := <-recvErr:
		t.Fatalf("Recv failed although pongs arrived: %v", err)
	default:
	}
	c.Close()
	if err := <-recvErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after Close: %v", err)
	}
}

// TestKeepaliveDetectsSilentPeer: a peer that never reads never answers pings, so Recv
// fails with a keepalive timeout instead of blocking forever.
func TestKeepaliveDetectsSilentPeer(t *testing.T) {
	release := make(chan struct{})
	url := rawServer(t, JSON.Subprotocol(), func(ws *websocket.Conn) { <-release })
	defer close(release)
	c := dial(t, url, DialOptions{Serializers: []Serializer{JSON}, PingInterval: 20 * time.Millisecond})
	recvErr := make(chan error, 1)
	go func() {
		_, err := c.Recv()
		recvErr <- err
	}()
	select {
	case err := <-recvErr:
		if err == nil || !strings.Contains(err.Error(), "no pong") {
			t.Fatalf("Recv error = %v", err)
		}
	case <-testCtx(t).Done():
		t.Fatal("Recv did not time out")
	}
}

// TestKeepaliveWaitsFullTimeoutAfterLastMessage: Recv extends the read deadline at most
// every eighth of the timeout (extendReadDeadline), yet never fails sooner than the
// timeout after the last message: a burst of messages close together, most of which do
// not move the deadline, then silence (the peer never reads, so no pongs either). Only
// the lower bound is checked, with 5 ms to spare: the test reads the clock after Recv
// returns, a little later than Recv did, so only a stall of more than that between the
// two could fail it. A deadline counted from the last extension rather than the last
// message fails it by up to the burst's length (watched: 370 ms of silence for 400).
func TestKeepaliveWaitsFullTimeoutAfterLastMessage(t *testing.T) {
	const interval = 200 * time.Millisecond // read timeout: 2 intervals
	const burst, gap = 8, 10 * time.Millisecond
	release := make(chan struct{})
	url := rawServer(t, JSON.Subprotocol(), func(ws *websocket.Conn) {
		for i := range burst {
			time.Sleep(gap)
			if ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf("[36,1,%d,{}]", i+1))) != nil {
				return
			}
		}
		<-release
	})
	defer close(release)
	c := dial(t, url, DialOptions{Serializers: []Serializer{JSON}, PingInterval: interval})
	timeout := time.Duration(testOnlyReadTimeoutFactor) * interval
	var last time.Time
	for n := 0; ; n++ {
		_, err := c.Recv()
		now := time.Now()
		if err == nil {
			last = now
			continue
		}
		if n != burst || !strings.Contains(err.Error(), "no pong") {
			t.Fatalf("after %d messages: %v", n, err)
		}
		if silent := now.Sub(last); silent < timeout-5*time.Millisecond {
			t.Fatalf("timed out after %v of silence, want at least %v", silent, timeout)
		}
		return
	}
}

func TestParseTLSConfigAndWSS(t *testing.T) {
	if cfg, err := ParseTLSConfig("", false); cfg != nil || err != nil {
		t.Fatalf("no options: %v, %v", cfg, err)
	}
	if cfg, err := ParseTLSConfig("", true); err != nil || !cfg.InsecureSkipVerify {
		t.Fatalf("insecure: %+v, %v", cfg, err)
	}
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := ParseTLSConfig(junk, false); err == nil {
		t.Fatal("junk CA accepted")
	}
	if _, err := ParseTLSConfig(filepath.Join(dir, "missing.pem"), false); err == nil {
		t.Fatal("missing CA accepted")
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			m, err := c.Recv()
			if err != nil || c.Send(m) != nil {
				return
			}
		}
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake below is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	url := "wss" + strings.TrimPrefix(srv.URL, "https")

	if _, err := Dial(testCtx(t), url, DialOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("dial with system roots: %v, want a certificate error", err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range []struct {
		ca       string
		insecure bool
	}{{ca, false}, {"", true}} {
		t.Run(fmt.Sprintf("ca=%v,insecure=%v", args.ca != "", args.insecure), func(t *testing.T) {
			cfg, err := ParseTLSConfig(args.ca, args.insecure)
			if err != nil {
				t.Fatal(err)
			}
			c := dial(t, url, DialOptions{TLS: cfg})
			if err := c.Send(&Unsubscribed{Request: 3}); err != nil {
				t.Fatal(err)
			}
			if m, err := c.Recv(); err != nil || m.(*Unsubscribed).Request != 3 {
				t.Fatalf("echo over wss: %#v, %v", m, err)
			}
		})
	}
}
