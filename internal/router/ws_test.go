package router

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// These tests go through real WebSockets on loopback: the serializers of internal/wamp on
// both ends, the router in between.

func wsURL(ts *httptest.Server) string { return "ws" + strings.TrimPrefix(ts.URL, "http") + "/ws" }

func startWS(t *testing.T, cfg Config) (*Server, string, *syncBuffer) {
	t.Helper()
	srv, trace, _ := testServer(t, cfg)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, wsURL(ts), trace
}

type wsClient struct {
	t *testing.T
	c *wamp.Conn
}

func dialWS(t *testing.T, url string, ser wamp.Serializer) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	c, err := wamp.Dial(ctx, url, wamp.DialOptions{Serializers: []wamp.Serializer{ser}, PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(m wamp.Message) {
	w.t.Helper()
	if err := w.c.Send(m); err != nil {
		w.t.Fatal(err)
	}
}

// recv reads the next message; the connection's read deadline bounds the wait.
func (w *wsClient) recv() (wamp.Message, error) {
	type result struct {
		m   wamp.Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := w.c.Recv()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(testWait):
		w.c.Close()
		return nil, errors.New("no message in time")
	}
}

func wsExpect[T wamp.Message](w *wsClient) T {
	w.t.Helper()
	m, err := w.recv()
	if err != nil {
		w.t.Fatal(err)
	}
	v, ok := m.(T)
	if !ok {
		var zero T
		w.t.Fatalf("got %s, want %T", summarize(m), zero)
	}
	return v
}

func wsJoin(t *testing.T, url string, ser wamp.Serializer, r wamp.Dict) *wsClient {
	t.Helper()
	w := dialWS(t, url, ser)
	w.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": r}})
	wsExpect[*wamp.Welcome](w)
	return w
}

// TestBinaryAcrossSerializers: a sealed payload, a binary argument and a PPT payload
// published from each serializer reach subscribers on every serializer as binary (the
// nexus gaps of wire.md §3: binary between JSON and msgpack/CBOR sessions).
func TestBinaryAcrossSerializers(t *testing.T) {
	srv, url, _ := startWS(t, Config{})
	sealed := sealedBytes(t, 115)
	for _, pubSer := range wamp.Serializers {
		t.Run("from "+pubSer.Name(), func(t *testing.T) {
			topic := "com.example.secure.bin_" + pubSer.Name()
			subs := map[string]*wsClient{}
			for _, s := range wamp.Serializers {
				subs[s.Name()] = wsJoin(t, url, s, autobahnRoles())
				subs[s.Name()].send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: topic})
				wsExpect[*wamp.Subscribed](subs[s.Name()])
			}
			pub := wsJoin(t, url, pubSer, roles(wamp.FeaturePayloadTransparency, wamp.FeaturePayloadEncryptionCryptobox, wamp.FeaturePayloadPassthruMode))
			pub.send(&wamp.Publish{Request: 1, Options: encOpts(wamp.Dict{"exclude_me": false}), Topic: topic, Payload: wamp.Payload{Bare: sealed}})
			plainArgs := wamp.List{"x", []byte{0, 0xff, 0x10}}
			plainKw := wamp.Dict{"b": []byte("\x00kw")}
			pub.send(&wamp.Publish{Request: 2, Options: wamp.Dict{}, Topic: topic, Payload: wamp.Payload{Args: plainArgs, Kwargs: plainKw}})
			ppt := wamp.Dict{wamp.OptPPTScheme: "wamp", wamp.OptPPTSerializer: "cbor"}
			pub.send(&wamp.Publish{Request: 3, Options: ppt, Topic: topic, Payload: wamp.Payload{Args: wamp.List{sealed}}})
			for name, sub := range subs {
				ev := wsExpect[*wamp.Event](sub)
				if !bytes.Equal(ev.Bare, sealed) || ev.Details[wamp.OptEncAlgo] != "cryptobox" || ev.Details[wamp.OptEncSerializer] != "json" {
					t.Errorf("%s subscriber: sealed EVENT = %s", name, summarize(ev))
				}
				ev = wsExpect[*wamp.Event](sub)
				if !reflect.DeepEqual(ev.Args, plainArgs) || !reflect.DeepEqual(ev.Kwargs, plainKw) {
					t.Errorf("%s subscriber: plain EVENT = %#v", name, ev.Payload)
				}
				ev = wsExpect[*wamp.Event](sub)
				if !reflect.DeepEqual(ev.Args, wamp.List{sealed}) || ev.Details[wamp.OptPPTScheme] != "wamp" || ev.Details[wamp.OptPPTSerializer] != "cbor" {
					t.Errorf("%s subscriber: PPT EVENT = %s", name, summarize(ev))
				}
			}
		})
	}
	if st := srv.Stats(); st.Sealed != 3 || st.PPT != 3 || st.Connections != 12 {
		t.Errorf("Stats = %+v, want 3 sealed, 3 PPT, 12 connections", st)
	}
}

func TestMessageTooBig(t *testing.T) {
	srv, url, _ := startWS(t, Config{MaxMessageSize: 2048})
	logs := &syncBuffer{}
	srv.cfg.Logger.SetOutput(logs)
	w := wsJoin(t, url, wamp.MsgPack, autobahnRoles())
	// The router closes as soon as it has read the frame header, so this write, or the
	// client's read of the close frame, may also fail with a reset: TCP discards what the
	// client had not read yet when the router's socket closes with data unread.
	w.c.Send(&wamp.Publish{Request: 1, Options: encOpts(nil), Topic: "com.example.big", Payload: wamp.Payload{Bare: make([]byte, 4096)}})
	_, err := w.recv()
	var ce *websocket.CloseError
	if err == nil || (errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig) {
		t.Fatalf("after an oversized frame: %v, want close 1009", err)
	}
	deadline := time.Now().Add(testWait)
	for srv.Stats().TooBig == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // bounded poll on a counter
	}
	if st := srv.Stats(); st.TooBig != 1 || st.Sealed != 0 {
		t.Errorf("Stats = %+v, want TooBig 1 and the message not received", st)
	}
	if !strings.Contains(logs.String(), "closed with 1009: a message exceeded the 2048-byte limit") {
		t.Errorf("no warning in the log:\n%s", logs)
	}
	// The router is still fine for others.
	other := wsJoin(t, url, wamp.JSON, roles())
	other.send(&wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.ok"})
	wsExpect[*wamp.Subscribed](other)
}

func TestBadFrameAborts(t *testing.T) {
	_, url, _ := startWS(t, Config{})
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Sec-WebSocket-Protocol": {"wamp.2.json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(testWait))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`[1,"realm1",{"roles":{"subscriber":{}}}]`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := ws.ReadMessage()
	if err != nil || !bytes.HasPrefix(b, []byte("[2,")) {
		t.Fatalf("WELCOME: %q %v", b, err)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`[16,"not an id",{},"a.b"]`)); err != nil {
		t.Fatal(err)
	}
	_, b, err = ws.ReadMessage()
	if err != nil || !bytes.HasPrefix(b, []byte(`[3,{"message":`)) || !bytes.Contains(b, []byte("wamp.error.protocol_violation")) {
		t.Fatalf("want ABORT protocol_violation, got %q %v", b, err)
	}
	_, _, err = ws.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseProtocolError {
		t.Errorf("close: %v, want 1002", err)
	}
}

func TestForeignOriginRefused(t *testing.T) {
	_, url, _ := startWS(t, Config{})
	h := http.Header{"Sec-WebSocket-Protocol": {"wamp.2.json"}, "Origin": {"https://evil.example"}}
	_, resp, err := websocket.DefaultDialer.Dial(url, h)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("dial with a foreign Origin: %v (response %v), want 403", err, resp)
	}
	h.Set("Origin", strings.Replace(url, "ws://", "http://", 1))
	ws, _, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		t.Errorf("dial with the router's own origin: %v", err)
	} else {
		ws.Close()
	}
}

func TestServeAndClose(t *testing.T) {
	srv, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	url := "ws://" + l.Addr().String() + "/ws"
	w := wsJoin(t, url, wamp.CBOR, roles())
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if g := wsExpect[*wamp.Goodbye](w); g.Reason != "wamp.close.system_shutdown" {
		t.Errorf("GOODBYE = %s", summarize(g))
	}
	select {
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	case <-time.After(testWait):
		t.Fatal("Serve did not return after Close")
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Close = %v", err)
	}
}
