package wamp

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
)

// A message whose payload holds a value outside the dialect is refused on its own; the
// session goes on (package comment, "Refused payloads"). The scripted router sends the
// frames raw, since our own encoders refuse such values.

// badPayloadFrame is a frame of a message with the given fixed fields whose Arguments hold
// a value outside the dialect: 2^70 in JSON (as Python's json writes it), NaN in msgpack
// and CBOR (as Python's packers write float("nan")).
func badPayloadFrame(t *testing.T, ser Serializer, fixed List) []byte {
	t.Helper()
	switch ser {
	case JSON:
		b, err := MarshalJSON(fixed, NestMessage)
		if err != nil {
			t.Fatal(err)
		}
		return append(b[:len(b)-1], `,["ok",1180591620717411303424]]`...)
	case MsgPack:
		return mpFrame(t, fixed, []byte{0x92, 0xa2, 'o', 'k', 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0})
	}
	return cbFrame(t, fixed, []byte{0x82, 0x62, 'o', 'k', 0xf9, 0x7e, 0x00})
}

// badKind is the reason badPayloadFrame's value is refused.
func badKind(ser Serializer) error {
	if ser == JSON {
		return ErrIntegerRange
	}
	return ErrFloatRange
}

func (r *fakeRouter) sendRaw(ser Serializer, b []byte) {
	r.t.Helper()
	typ := websocket.TextMessage
	if ser.Binary() {
		typ = websocket.BinaryMessage
	}
	if err := r.c.ws.WriteMessage(typ, b); err != nil {
		r.t.Fatal(err)
	}
}

func TestFakeRefusedEvent(t *testing.T) {
	for _, ser := range Serializers {
		for _, withCodec := range []bool{false, true} {
			name := ser.Name() + "/no codec"
			cfg := Config{}
			if withCodec {
				name = ser.Name() + "/codec"
				cfg.Codec = newFakeCodec()
			}
			t.Run(name, func(t *testing.T) {
				s, r := fakeSession(t, ser, cfg)
				events := make(chan *EventInfo, 2)
				subDone := make(chan error, 1)
				go func() {
					_, err := s.Subscribe(testCtx(t), "sec.t", nil, func(ev *EventInfo) { events <- ev })
					subDone <- err
				}()
				sub := expectType[*Subscribe](r)
				r.send(&Subscribed{Request: sub.Request, Subscription: 6})
				if err := recvWithin(t, subDone, "subscription"); err != nil {
					t.Fatal(err)
				}
				r.sendRaw(ser, badPayloadFrame(t, ser, List{int64(EVENT), int64(6), int64(1), Dict{}}))
				r.send(&Event{Subscription: 6, Publication: 2, Details: Dict{}, Payload: Payload{Args: List{"next"}}})

				ev := recvWithin(t, events, "refused event")
				var pe *PayloadError
				if !errors.As(ev.Err, &pe) || !errors.Is(ev.Err, ErrPayloadRefused) || !errors.Is(ev.Err, badKind(ser)) {
					t.Fatalf("first event Err = %v, want a refused payload", ev.Err)
				}
				if errors.Is(ev.Err, ErrNoPayloadCodec) || ev.Args != nil || ev.Kwargs != nil || ev.Sealed ||
					ev.Topic != "sec.t" || ev.Publication != 1 {
					t.Fatalf("first event %+v", ev)
				}
				ev = recvWithin(t, events, "next event")
				if ev.Err != nil || !reflect.DeepEqual(ev.Args, List{"next"}) || ev.Publication != 2 {
					t.Fatalf("second event %+v", ev)
				}
				if s.Err() != nil {
					t.Fatalf("session ended: %v", s.Err())
				}
				if withCodec {
					if opens := cfg.Codec.(*fakeCodec).openCalls(); len(opens) != 0 {
						t.Errorf("the codec was asked to open %v", opens)
					}
				}
			})
		}
	}
}

func TestFakeRefusedInvocation(t *testing.T) {
	for _, ser := range Serializers {
		t.Run(ser.Name(), func(t *testing.T) {
			type refusal struct {
				proc, uri string
				err       error
			}
			refusals := make(chan refusal, 2)
			s, r := fakeSession(t, ser, Config{OnRefused: func(proc, uri string, err error) {
				refusals <- refusal{proc, uri, err}
			}})
			var mu sync.Mutex
			var ran []List
			regDone := make(chan error, 1)
			go func() {
				_, err := s.Register(testCtx(t), "com.p", nil, func(_ context.Context, inv *InvocationInfo) (*YieldResult, error) {
					mu.Lock()
					ran = append(ran, inv.Args)
					mu.Unlock()
					return &YieldResult{Args: inv.Args}, nil
				})
				regDone <- err
			}()
			reg := expectType[*Register](r)
			r.send(&Registered{Request: reg.Request, Registration: 3})
			if err := recvWithin(t, regDone, "registration"); err != nil {
				t.Fatal(err)
			}

			r.sendRaw(ser, badPayloadFrame(t, ser, List{int64(INVOCATION), int64(1), int64(3), Dict{}}))
			e := expectType[*Error](r)
			want := ErrPayloadRefused.Error() + ": " + badKind(ser).Error()
			if e.Type != INVOCATION || e.Request != 1 || e.Error != ErrURIInvalidArgument || !reflect.DeepEqual(e.Args, List{want}) || e.Kwargs != nil {
				t.Fatalf("ERROR %+v, want %s with %q", e, ErrURIInvalidArgument, want)
			}
			rf := recvWithin(t, refusals, "OnRefused")
			if rf.proc != "com.p" || rf.uri != ErrURIInvalidArgument || !errors.Is(rf.err, ErrPayloadRefused) {
				t.Fatalf("OnRefused(%q, %q, %v)", rf.proc, rf.uri, rf.err)
			}

			// The next call is answered as usual, and the refused one never reached the
			// handler.
			r.send(&Invocation{Request: 2, Registration: 3, Details: Dict{}, Payload: Payload{Args: List{"next"}}})
			if y := expectType[*Yield](r); y.Request != 2 || !reflect.DeepEqual(y.Args, List{"next"}) {
				t.Fatalf("YIELD %+v", y)
			}
			mu.Lock()
			defer mu.Unlock()
			if !reflect.DeepEqual(ran, []List{{"next"}}) {
				t.Fatalf("the handler ran for %v", ran)
			}
			if s.Err() != nil {
				t.Fatalf("session ended: %v", s.Err())
			}
		})
	}
}

func TestFakeRefusedReplies(t *testing.T) {
	for _, ser := range Serializers {
		t.Run(ser.Name(), func(t *testing.T) {
			s, r := fakeSession(t, ser, Config{})
			type res struct {
				r   *ResultInfo
				err error
			}
			call := func(onProgress func(*ResultInfo)) (chan res, *Call) {
				ch := make(chan res, 1)
				go func() {
					ri, err := s.Call(testCtx(t), "com.p", nil, nil, nil, onProgress)
					ch <- res{ri, err}
				}()
				return ch, expectType[*Call](r)
			}

			// RESULT: the call fails with the refusal; it is not a WAMP error.
			ch, c := call(nil)
			r.sendRaw(ser, badPayloadFrame(t, ser, List{int64(RESULT), int64(c.Request), Dict{}}))
			got := recvWithin(t, ch, "call")
			var rpc *RPCError
			if !errors.Is(got.err, ErrPayloadRefused) || !errors.Is(got.err, badKind(ser)) || errors.As(got.err, &rpc) || got.r != nil {
				t.Fatalf("Call = %+v, %v", got.r, got.err)
			}
			if !strings.Contains(got.err.Error(), "the result") {
				t.Errorf("error %q does not say it was the result", got.err)
			}

			// A progressive RESULT: the call fails at once and is cancelled.
			ch, c = call(func(*ResultInfo) { t.Error("a refused progressive result was delivered") })
			r.sendRaw(ser, badPayloadFrame(t, ser, List{int64(RESULT), int64(c.Request), Dict{"progress": true}}))
			if cancel := expectType[*Cancel](r); cancel.Request != c.Request {
				t.Fatalf("CANCEL %+v", cancel)
			}
			if got := recvWithin(t, ch, "call"); !errors.Is(got.err, ErrPayloadRefused) {
				t.Fatalf("Call = %+v, %v", got.r, got.err)
			}

			// ERROR: still the callee's WAMP error, with its URI, and the refusal beside.
			ch, c = call(nil)
			r.sendRaw(ser, badPayloadFrame(t, ser, List{int64(ERROR), int64(CALL), int64(c.Request), Dict{}, "com.error.x"}))
			got = recvWithin(t, ch, "call")
			if !errors.As(got.err, &rpc) || rpc.URI != "com.error.x" || rpc.Args != nil || rpc.Kwargs != nil ||
				!errors.Is(rpc.PayloadErr, ErrPayloadRefused) {
				t.Fatalf("Call error %#v", got.err)
			}
			if !strings.HasPrefix(rpc.Error(), "com.error.x") || !strings.Contains(rpc.Error(), "could not be read") {
				t.Errorf("RPCError text %q", rpc.Error())
			}

			// Through all this the session went on.
			ch, c = call(nil)
			r.send(&Result{Request: c.Request, Details: Dict{}, Payload: Payload{Args: List{int64(1)}}})
			if got := recvWithin(t, ch, "call"); got.err != nil || !reflect.DeepEqual(got.r.Args, List{int64(1)}) {
				t.Fatalf("Call = %+v, %v", got.r, got.err)
			}
		})
	}
}
