package wamp

import (
	"context"
	"reflect"
	"testing"
)

// A router may send an EVENT right behind the SUBSCRIBED that created its subscription
// (a publication racing the subscribe), and an INVOCATION right behind REGISTERED. The
// session must know the subscription or registration by the time it reads the next
// message, or that message is lost (an EVENT silently, an INVOCATION answered
// no_such_registration).

func TestFakeEventRightAfterSubscribed(t *testing.T) {
	s, r := fakeSession(t, JSON, Config{})
	for i := range 30 {
		events := make(chan *EventInfo, 1)
		subDone := make(chan error, 1)
		go func() {
			_, err := s.Subscribe(testCtx(t), "com.t", nil, func(ev *EventInfo) { events <- ev })
			subDone <- err
		}()
		sub := expectType[*Subscribe](r)
		subID := ID(100 + i)
		r.send(&Subscribed{Request: sub.Request, Subscription: subID})
		r.send(&Event{Subscription: subID, Publication: ID(i + 1), Details: Dict{}, Payload: Payload{Args: List{int64(i)}}})
		if err := recvWithin(t, subDone, "subscription"); err != nil {
			t.Fatal(err)
		}
		if ev := recvWithin(t, events, "the event sent right after SUBSCRIBED"); !reflect.DeepEqual(ev.Args, List{int64(i)}) {
			t.Fatalf("event %+v", ev)
		}
	}
}

func TestFakeInvocationRightAfterRegistered(t *testing.T) {
	s, r := fakeSession(t, MsgPack, Config{})
	for i := range 30 {
		regDone := make(chan error, 1)
		go func() {
			_, err := s.Register(testCtx(t), "com.p", Dict{"invoke": "roundrobin"}, func(_ context.Context, inv *InvocationInfo) (*YieldResult, error) {
				return &YieldResult{Args: inv.Args}, nil
			})
			regDone <- err
		}()
		reg := expectType[*Register](r)
		regID := ID(100 + i)
		r.send(&Registered{Request: reg.Request, Registration: regID})
		r.send(&Invocation{Request: ID(i + 1), Registration: regID, Details: Dict{}, Payload: Payload{Args: List{int64(i)}}})
		if err := recvWithin(t, regDone, "registration"); err != nil {
			t.Fatal(err)
		}
		if y := expectType[*Yield](r); y.Request != ID(i+1) || !reflect.DeepEqual(y.Args, List{int64(i)}) {
			t.Fatalf("reply %+v", y)
		}
	}
}
