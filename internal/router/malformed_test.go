package router

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// A PUBLISH, CALL or YIELD whose msgpack list header declares six elements where four
// follow (a frame the direct reader must give up on; FuzzDecodeMsgPack found it taking
// such a RESULT once) is a protocol violation at the router as at any peer: the session
// gets ABORT wamp.error.protocol_violation and the connection closes with 1002, and
// nothing of it is routed: a subscriber of the topic gets no EVENT and a callee of the
// procedure no INVOCATION.
func TestMalformedFrameAbortsSession(t *testing.T) {
	srv, _, _ := testServer(t, Config{Logger: discardLogger()})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	url := wsURL(ts)
	const uri = "com.example.malformed"

	sub := rawJoin(t, url)
	rawSend(t, sub, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: uri})
	rawExpect(t, sub, wamp.SUBSCRIBED)
	callee := rawJoin(t, url)
	rawSend(t, callee, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: uri})
	rawExpect(t, callee, wamp.REGISTERED)

	for _, tc := range []struct {
		name string
		msg  wamp.Message
	}{
		{"publish", &wamp.Publish{Request: 2, Options: wamp.Dict{}, Topic: uri}},
		{"call", &wamp.Call{Request: 2, Options: wamp.Dict{}, Procedure: uri}},
		{"yield", &wamp.Yield{Request: 2, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"x"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := rawJoin(t, url)
			f, err := wamp.MsgPack.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if f[0] != 0x94 {
				t.Fatalf("%s encodes as %x…, not a list of four", tc.name, f[:1])
			}
			f[0] = 0x96
			if err := ws.WriteMessage(websocket.BinaryMessage, f); err != nil {
				t.Fatal(err)
			}
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, reply, err := ws.ReadMessage()
			if err != nil {
				t.Fatalf("no ABORT: %v", err)
			}
			if m, err := wamp.MsgPack.Unmarshal(reply); err != nil || m.MessageType() != wamp.ABORT || m.(*wamp.Abort).Reason != wamp.ErrURIProtocol {
				t.Fatalf("got %v (%v), want ABORT %s", m, err, wamp.ErrURIProtocol)
			}
			_, _, err = ws.ReadMessage()
			if ce, ok := errors.AsType[*websocket.CloseError](err); !ok || ce.Code != closeProtocol {
				t.Errorf("after the ABORT: %v, want close %d", err, closeProtocol)
			}
		})
	}
	// Nothing was routed: the subscriber's and the callee's next message is the reply to a
	// request of their own.
	rawSend(t, sub, &wamp.Unsubscribe{Request: 3, Subscription: 0})
	rawSend(t, callee, &wamp.Unregister{Request: 3, Registration: 0})
	for _, ws := range []*websocket.Conn{sub, callee} {
		ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		rawExpect(t, ws, wamp.ERROR)
	}
}
