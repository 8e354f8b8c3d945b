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

// EventInfo.More tells a handler that buffers output whether another event waits behind
// the one it handles: true while one does, false for the last one queued and for an event
// that arrives alone, so a handler that flushes when More is false never holds output
// back while the session is idle.
func TestFakeEventMore(t *testing.T) {
	s, r := fakeSession(t, MsgPack, Config{})
	type seen struct {
		pub  ID
		more bool
	}
	events := make(chan seen, 8)
	release := make(chan struct{})
	subDone := make(chan error, 1)
	go func() {
		_, err := s.Subscribe(testCtx(t), "com.t", nil, func(ev *EventInfo) {
			if ev.Publication == 1 {
				<-release // the events behind it queue up meanwhile
			}
			events <- seen{ev.Publication, ev.More}
		})
		subDone <- err
	}()
	sub := expectType[*Subscribe](r)
	r.send(&Subscribed{Request: sub.Request, Subscription: 9})
	if err := recvWithin(t, subDone, "subscription"); err != nil {
		t.Fatal(err)
	}
	for pub := range ID(3) {
		r.send(&Event{Subscription: 9, Publication: pub + 1, Details: Dict{}, Payload: Payload{Args: List{int64(pub)}}})
	}
	// The read loop handles messages in order: once the PUBLISHED behind them is read,
	// events 2 and 3 wait behind event 1.
	published := make(chan error, 1)
	go func() {
		_, err := s.Publish(testCtx(t), "com.other", Dict{"acknowledge": true}, nil, nil)
		published <- err
	}()
	pub := expectType[*Publish](r)
	r.send(&Published{Request: pub.Request, Publication: 99})
	if err := recvWithin(t, published, "PUBLISHED"); err != nil {
		t.Fatal(err)
	}
	close(release)
	recvWithin(t, events, "event 1") // its More depends on how fast 2 came
	for _, want := range []seen{{2, true}, {3, false}} {
		if got := recvWithin(t, events, "a queued event"); got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	r.send(&Event{Subscription: 9, Publication: 4, Details: Dict{}, Payload: Payload{Args: List{int64(4)}}})
	if got := recvWithin(t, events, "a lone event"); got != (seen{4, false}) {
		t.Fatalf("got %+v, want a lone event without More", got)
	}
}
