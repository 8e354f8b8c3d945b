package wamp

import (
	"errors"
	"reflect"
	"sync"
	"testing"
)

// jsonFakeCodec is fakeCodec with JSONArgsCodec's two methods: SealJSON seals what the
// text reads as (and says it was given text), OpenJSON gives the args back written as
// JSON. It records which of the four methods ran.
type jsonFakeCodec struct {
	*fakeCodec
	mu        sync.Mutex
	jsonSeals []string
	jsonOpens int
}

func (f *jsonFakeCodec) SealJSON(originating bool, uri string, argsJSON []byte) (Payload, Dict, bool, error) {
	f.mu.Lock()
	f.jsonSeals = append(f.jsonSeals, string(argsJSON))
	f.mu.Unlock()
	v, err := UnmarshalJSON(argsJSON, NestPayload)
	if err != nil {
		return Payload{}, nil, false, err
	}
	return f.Seal(originating, uri, v.([]any), nil)
}

func (f *jsonFakeCodec) OpenJSON(originating bool, uri string, p Payload, details Dict) ([]byte, List, Dict, Dict, error) {
	f.mu.Lock()
	f.jsonOpens++
	f.mu.Unlock()
	args, kwargs, opened, err := f.Open(originating, uri, p, details)
	if err != nil || args == nil {
		return nil, args, kwargs, opened, err
	}
	text, err := AppendJSONList(nil, args, NestPayload)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return text, nil, kwargs, opened, nil
}

// PublishJSON seals the text through SealJSON when the codec has it and seals the topic,
// with the same options as PublishAsync; otherwise the text's values go out, sealed by
// Seal or in plaintext, as PublishAsync sends them. A text that is not canonical sends
// nothing.
func TestFakePublishJSON(t *testing.T) {
	codec := &jsonFakeCodec{fakeCodec: newFakeCodec()}
	s, r := fakeSession(t, MsgPack, Config{Codec: codec})
	opts := Dict{"exclude_me": false}
	text := []byte(`["x",1,[true,null],{"a":-2}]`)
	want := List{"x", int64(1), List{true, nil}, Dict{"a": int64(-2)}}

	if _, err := s.PublishJSON("sec.t", opts, text, false); err != nil {
		t.Fatal(err)
	}
	p := expectType[*Publish](r)
	if got := codec.payloadOf(t, p.Payload); got.uri != "sec.t" || !reflect.DeepEqual(got.args, want) {
		t.Fatalf("sealed %+v, want %v", got, want)
	}
	if !reflect.DeepEqual(p.Options, Dict{"acknowledge": true, "exclude_me": false, "enc_algo": "x_fake", "enc_serializer": "json"}) {
		t.Fatalf("options %v", p.Options)
	}
	if len(codec.jsonSeals) != 1 || codec.jsonSeals[0] != string(text) {
		t.Fatalf("SealJSON calls %q", codec.jsonSeals)
	}

	// A topic the codec does not seal: the values, in plaintext.
	if _, err := s.PublishJSON("plain.t", opts, text, false); err != nil {
		t.Fatal(err)
	}
	if p := expectType[*Publish](r); !reflect.DeepEqual(p.Args, want) || p.Kwargs != nil || p.Options["enc_algo"] != nil {
		t.Fatalf("plaintext PUBLISH %+v", p)
	}

	// Not canonical: refused, nothing sent (the next message is the next publication).
	for _, bad := range []string{`[1.50]`, `[ 1]`, `{"args":[1]}`, `[1`} {
		if _, err := s.PublishJSON("sec.t", opts, []byte(bad), false); err == nil {
			t.Errorf("PublishJSON(%s) sent", bad)
		}
	}
	if _, err := s.PublishAsync("plain.u", nil, List{"next"}, nil); err != nil {
		t.Fatal(err)
	}
	if p := expectType[*Publish](r); p.Topic != "plain.u" {
		t.Fatalf("after the refusals, %+v", p)
	}
	if len(codec.jsonSeals) != 2 {
		t.Fatalf("SealJSON calls %q", codec.jsonSeals)
	}

	// A codec without SealJSON seals the values.
	plain := newFakeCodec()
	s2, r2 := fakeSession(t, JSON, Config{Codec: plain})
	if _, err := s2.PublishJSON("sec.t", nil, text, true); err != nil {
		t.Fatal(err)
	}
	if err := s2.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := plain.payloadOf(t, expectType[*Publish](r2).Payload); !reflect.DeepEqual(got.args, want) {
		t.Fatalf("sealed by Seal: %+v", got)
	}
}

// With Config.EventArgsJSON a sealed event's args come as text from OpenJSON, everything
// else as values; without it, OpenJSON is never asked.
func TestFakeEventArgsJSON(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		codec := &jsonFakeCodec{fakeCodec: newFakeCodec()}
		s, r := fakeSession(t, JSON, Config{Codec: codec, EventArgsJSON: asJSON})
		events := make(chan *EventInfo, 4)
		done := make(chan error, 1)
		go func() {
			_, err := s.Subscribe(testCtx(t), "sec.", Dict{"match": "prefix"}, func(ev *EventInfo) { events <- ev })
			done <- err
		}()
		sub := expectType[*Subscribe](r)
		r.send(&Subscribed{Request: sub.Request, Subscription: 5})
		if err := recvWithin(t, done, "subscription"); err != nil {
			t.Fatal(err)
		}
		r.send(&Event{Subscription: 5, Publication: 1, Details: merged(fakeOpts, Dict{"topic": "sec.a"}),
			Payload: codec.sealAs(true, "sec.a", List{"hi", int64(2)}, Dict{"k": "v"})})
		ev := recvWithin(t, events, "event")
		if !ev.Sealed || ev.Err != nil || !reflect.DeepEqual(ev.Kwargs, Dict{"k": "v"}) || ev.Opened["fake_uri"] != "sec.a" {
			t.Fatalf("sealed event %+v", ev)
		}
		if asJSON && (string(ev.ArgsJSON) != `["hi",2]` || ev.Args != nil) ||
			!asJSON && (ev.ArgsJSON != nil || !reflect.DeepEqual(ev.Args, List{"hi", int64(2)})) {
			t.Fatalf("EventArgsJSON %v: args %v, text %q", asJSON, ev.Args, ev.ArgsJSON)
		}
		// A plaintext event: values either way.
		r.send(&Event{Subscription: 5, Publication: 2, Details: Dict{"topic": "sec.b"}, Payload: Payload{Args: List{"p"}}})
		if ev := recvWithin(t, events, "event"); ev.Sealed || ev.ArgsJSON != nil || !reflect.DeepEqual(ev.Args, List{"p"}) {
			t.Fatalf("plaintext event %+v", ev)
		}
		// Refused as Open refuses: sealed for another topic.
		r.send(&Event{Subscription: 5, Publication: 3, Details: merged(fakeOpts, Dict{"topic": "sec.c"}),
			Payload: codec.sealAs(true, "sec.d", List{"x"}, nil)})
		ev = recvWithin(t, events, "event")
		var me *mismatchError
		if !errors.As(ev.Err, &me) || ev.Sealed || ev.Args != nil || ev.ArgsJSON != nil {
			t.Fatalf("mismatched event %+v", ev)
		}
		if want := map[bool]int{false: 0, true: 2}[asJSON]; codec.jsonOpens != want {
			t.Fatalf("EventArgsJSON %v: OpenJSON asked %d times, want %d", asJSON, codec.jsonOpens, want)
		}
	}
}
