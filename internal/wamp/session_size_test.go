package wamp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Tests of Config.MaxMessageSize: a message that would exceed it is never written, the
// method that would have sent it fails with *MessageTooLargeError, and the session goes
// on. A YIELD that is too large becomes ERROR wamp.error.payload_size_exceeded, as
// Autobahn answers when its transport refuses the result (protocol.py,
// PayloadExceededError; basic/uri_reference.md).

const testLimit = 2000

func TestFakeYieldTooLargeBecomesPayloadSizeError(t *testing.T) {
	for _, ser := range Serializers {
		t.Run(ser.Name(), func(t *testing.T) {
			codec := newFakeCodec()
			s, r := fakeSession(t, ser, Config{Codec: codec, MaxMessageSize: testLimit})
			regDone := make(chan error, 1)
			go func() {
				_, err := s.Register(testCtx(t), "sec.p", nil, func(_ context.Context, inv *InvocationInfo) (*YieldResult, error) {
					if inv.Args[0] == "big" {
						return &YieldResult{Args: List{strings.Repeat("x", 3*testLimit)}}, nil
					}
					return &YieldResult{Args: List{"small"}}, nil
				})
				regDone <- err
			}()
			reg := expectType[*Register](r)
			r.send(&Registered{Request: reg.Request, Registration: 1})
			if err := recvWithin(t, regDone, "registration"); err != nil {
				t.Fatal(err)
			}
			r.send(&Invocation{Request: 10, Registration: 1, Details: Dict{}, Payload: Payload{Args: List{"big"}}})
			e := expectType[*Error](r)
			if e.Error != ErrURIPayloadSizeExceeded || e.Request != 10 || e.Type != INVOCATION {
				t.Fatalf("ERROR %+v, want %s for request 10", e, ErrURIPayloadSizeExceeded)
			}
			msg := fmt.Sprint(e.Args)
			if !strings.Contains(msg, "the result of sec.p") || !strings.Contains(msg, fmt.Sprintf("%d-byte", testLimit)) {
				t.Errorf("error message %q does not say the result exceeds the %d-byte limit", msg, testLimit)
			}
			// The session goes on: the next call is answered.
			r.send(&Invocation{Request: 11, Registration: 1, Details: Dict{}, Payload: Payload{Args: List{"small"}}})
			if y := expectType[*Yield](r); y.Request != 11 || len(y.Args) != 1 || y.Args[0] != "small" {
				t.Fatalf("after the refused result: %+v", y)
			}
			// The size checked is that of the YIELD as sent, after sealing: the fake codec's
			// sealed form of the same big result is a few bytes, so it goes out.
			r.send(&Invocation{Request: 12, Registration: 1, Details: merged(fakeOpts), Payload: codec.sealAs(true, "sec.p", List{"big"}, nil)})
			if y := expectType[*Yield](r); y.Request != 12 || !y.IsBare() {
				t.Fatalf("sealed big result: %+v, want the sealed YIELD", y)
			}
			if s.Err() != nil {
				t.Fatalf("session ended: %v", s.Err())
			}
		})
	}
}

// An error payload too large for the limit is replaced by payload_size_exceeded too.
func TestFakeErrorTooLargeBecomesPayloadSizeError(t *testing.T) {
	s, r := fakeSession(t, JSON, Config{MaxMessageSize: testLimit})
	regDone := make(chan error, 1)
	go func() {
		_, err := s.Register(testCtx(t), "com.p", nil, func(context.Context, *InvocationInfo) (*YieldResult, error) {
			return nil, &RPCError{URI: "com.example.error.big", Args: List{strings.Repeat("e", 3*testLimit)}}
		})
		regDone <- err
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 1})
	recvWithin(t, regDone, "registration")
	r.send(&Invocation{Request: 7, Registration: 1, Details: Dict{}})
	e := expectType[*Error](r)
	if e.Error != ErrURIPayloadSizeExceeded || e.Request != 7 || !strings.Contains(fmt.Sprint(e.Args), "com.example.error.big") {
		t.Fatalf("ERROR %+v, want %s naming the original error URI", e, ErrURIPayloadSizeExceeded)
	}
}

// Call and Publish refuse a message over the limit before anything is written; the
// session is still usable.
func TestFakeCallPublishTooLarge(t *testing.T) {
	s, r := fakeSession(t, MsgPack, Config{MaxMessageSize: testLimit})
	big := List{make([]byte, testLimit)}

	_, err := s.Call(testCtx(t), "com.p", nil, big, nil, nil)
	var tl *MessageTooLargeError
	if !errors.As(err, &tl) || tl.Type != CALL || tl.Limit != testLimit || tl.Size <= testLimit {
		t.Fatalf("Call: %v, want a *MessageTooLargeError for CALL over %d bytes", err, testLimit)
	}
	_, err = s.Publish(testCtx(t), "com.t", nil, big, nil)
	if !errors.As(err, &tl) || tl.Type != PUBLISH {
		t.Fatalf("Publish: %v, want a *MessageTooLargeError for PUBLISH", err)
	}
	_, err = s.Publish(testCtx(t), "com.t", Dict{"acknowledge": true}, big, nil)
	if !errors.As(err, &tl) || tl.Type != PUBLISH {
		t.Fatalf("Publish with acknowledge: %v, want a *MessageTooLargeError for PUBLISH", err)
	}
	// Nothing of those went out: the first message the router sees is this one.
	if _, err := s.Publish(testCtx(t), "com.t", nil, List{"small"}, nil); err != nil {
		t.Fatal(err)
	}
	if p := expectType[*Publish](r); len(p.Args) != 1 || p.Args[0] != "small" {
		t.Fatalf("router got %+v, want the small PUBLISH first", p)
	}
	if s.Err() != nil {
		t.Fatalf("session ended: %v", s.Err())
	}
}

// Conn.Send reports a message over the connection's limit as *MessageTooLargeError, with
// the serialized size, and the connection stays usable.
func TestConnSendTooLargeTyped(t *testing.T) {
	c := dial(t, echoServer(t, nil), DialOptions{Serializers: []Serializer{JSON}, MaxMessageSize: 1024})
	err := c.Send(&Publish{Request: 1, Topic: "t", Payload: Payload{Args: List{strings.Repeat("x", 2048)}}})
	var tl *MessageTooLargeError
	if !errors.As(err, &tl) || tl.Type != PUBLISH || tl.Limit != 1024 || tl.Size < 2048 || tl.Serializer != "json" {
		t.Fatalf("Send: %v (%+v), want a *MessageTooLargeError for a PUBLISH of 2048+ bytes in json over 1024", err, tl)
	}
	if err := c.Send(&Published{Request: 1, Publication: 2}); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Recv(); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*Published); !ok {
		t.Fatalf("echo: %+v", m)
	}
}
