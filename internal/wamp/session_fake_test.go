package wamp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Tests against a scripted router: the test goroutine plays the router over a real
// WebSocket (Accept on a loopback httptest server), so it can send exactly the frames a
// case needs, including sealed payloads in Autobahn's bare form that nexus cannot carry,
// and check exactly what the session sends back.

// fakeCodec is a PayloadCodec with the shape of Autobahn's KeyRing but no cryptography:
// URIs starting with "sec." have a "key". Seal stores the plaintext under a counter and
// sends "fake:N" as the bare payload; Open looks it up and enforces what the real codec
// must: the box direction (a payload sealed as originator is opened as responder and
// vice versa) and the trusted-URI check. Every call is recorded.
type fakeCodec struct {
	mu     sync.Mutex
	stored map[string]fakeSealed
	seals  []fakeCall
	opens  []fakeCall
	next   int
	// openErr, if set, is what Open returns (a non-CodecError decrypt failure).
	openErr error
}

type fakeSealed struct {
	originating bool
	uri         string
	args        List
	kwargs      Dict
}

type fakeCall struct {
	originating bool
	uri         string
}

type mismatchError struct{ envelope, inner string }

func (e *mismatchError) Error() string {
	return fmt.Sprintf("fake: payload sealed for %q opened as %q", e.inner, e.envelope)
}
func (e *mismatchError) WAMPErrorURI() string { return "wamp.error.encryption.trusted_uri_mismatch" }

func newFakeCodec() *fakeCodec { return &fakeCodec{stored: map[string]fakeSealed{}} }

var fakeOpts = Dict{"enc_algo": "x_fake", "enc_serializer": "json"}

func (f *fakeCodec) Seal(originating bool, uri string, args List, kwargs Dict) (Payload, Dict, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seals = append(f.seals, fakeCall{originating, uri})
	if strings.HasPrefix(uri, "sec.broken.") {
		return Payload{}, nil, false, errors.New("fake: this URI is keyed but cannot be sealed")
	}
	if !strings.HasPrefix(uri, "sec.") {
		return Payload{}, nil, false, nil
	}
	f.next++
	id := "fake:" + strconv.Itoa(f.next)
	f.stored[id] = fakeSealed{originating, uri, args, kwargs}
	return Payload{Bare: []byte(id)}, Dict{"enc_algo": "x_fake", "enc_serializer": "json"}, true, nil
}

// sealAs produces a payload as the other party would (for the scripted router to send).
func (f *fakeCodec) sealAs(originating bool, uri string, args List, kwargs Dict) Payload {
	p, _, ok, _ := f.Seal(originating, uri, args, kwargs)
	f.mu.Lock()
	f.seals = f.seals[:len(f.seals)-1] // not the session's doing
	f.mu.Unlock()
	if !ok {
		panic("sealAs on an unkeyed URI")
	}
	return p
}

func (f *fakeCodec) Sealed(p Payload, details Dict) bool {
	return p.IsBare() && details["enc_algo"] == "x_fake"
}

func (f *fakeCodec) Open(originating bool, uri string, p Payload, details Dict) (List, Dict, Dict, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens = append(f.opens, fakeCall{originating, uri})
	if f.openErr != nil {
		return nil, nil, nil, f.openErr
	}
	s, ok := f.stored[string(p.Bare)]
	if !ok {
		return nil, nil, nil, errors.New("fake: unknown payload")
	}
	if s.originating == originating {
		return nil, nil, nil, fmt.Errorf("fake: payload sealed with originating=%v opened with the same box", s.originating)
	}
	if s.uri != uri {
		return nil, nil, nil, &mismatchError{envelope: uri, inner: s.uri}
	}
	return s.args, s.kwargs, Dict{"fake_uri": s.uri}, nil
}

func (f *fakeCodec) sealCalls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.seals...)
}

func (f *fakeCodec) openCalls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCall(nil), f.opens...)
}

func (f *fakeCodec) payloadOf(t *testing.T, p Payload) fakeSealed {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.stored[string(p.Bare)]
	if !p.IsBare() || !ok {
		t.Fatalf("payload %+v is not a fake-sealed payload", p)
	}
	return s
}

// fakeRouter is the router end of one connection.
type fakeRouter struct {
	t testing.TB
	c *Conn
}

// expect waits for the next message from the session.
func (r *fakeRouter) expect() Message {
	r.t.Helper()
	type res struct {
		m   Message
		err error
	}
	ch := make(chan res, 1)
	go func() {
		m, err := r.c.Recv()
		ch <- res{m, err}
	}()
	got := recvWithin(r.t, ch, "message from the session")
	if got.err != nil {
		r.t.Fatalf("router Recv: %v", got.err)
	}
	return got.m
}

func expectType[T Message](r *fakeRouter) T {
	r.t.Helper()
	m := r.expect()
	v, ok := m.(T)
	if !ok {
		r.t.Fatalf("session sent %T %+v, want %T", m, m, *new(T))
	}
	return v
}

func (r *fakeRouter) send(m Message) {
	r.t.Helper()
	if err := r.c.Send(m); err != nil {
		r.t.Fatalf("router Send: %v", err)
	}
}

// routerWelcome announces broker and dealer roles like a real router.
var routerWelcome = Dict{"roles": Dict{
	"broker": Dict{"features": Dict{"pattern_based_subscription": true, "payload_transparency": true}},
	"dealer": Dict{"features": Dict{"progressive_call_results": true, "call_canceling": true}},
}}

// fakeServer starts a loopback server handing accepted connections to the test.
func fakeServer(t testing.TB) (string, <-chan *Conn) {
	conns := make(chan *Conn, 4)
	url := serveWS(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, AcceptOptions{})
		if err != nil {
			return
		}
		t.Cleanup(func() { c.Close() })
		conns <- c
	})
	return url, conns
}

// fakeSession joins a session through the scripted router and returns both ends.
func fakeSession(t testing.TB, ser Serializer, cfg Config) (*Session, *fakeRouter) {
	t.Helper()
	url, conns := fakeServer(t)
	cfg.Realm = "fake"
	type res struct {
		s   *Session
		err error
	}
	joined := make(chan res, 1)
	go func() {
		s, err := dialJoin(testCtx(t), url, ser, cfg)
		joined <- res{s, err}
	}()
	r := &fakeRouter{t: t, c: recvWithin(t, conns, "connection")}
	hello := expectType[*Hello](r)
	if hello.Realm != "fake" {
		t.Fatalf("HELLO realm %q", hello.Realm)
	}
	r.send(&Welcome{Session: 4242, Details: routerWelcome})
	j := recvWithin(t, joined, "join")
	if j.err != nil {
		t.Fatal(j.err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the scripted router does not answer GOODBYE
		j.s.Close(ctx)
	})
	return j.s, r
}

func TestFakeHelloAnnouncesRoles(t *testing.T) {
	url, conns := fakeServer(t)
	go dialJoin(testCtx(t), url, JSON, Config{Realm: "fake", Features: map[string]bool{"payload_passthru_mode": true, "off": false}})
	r := &fakeRouter{t: t, c: recvWithin(t, conns, "connection")}
	hello := expectType[*Hello](r)
	roles, _ := hello.Details["roles"].(Dict)
	for role, want := range map[string][]string{
		"caller":     {"call_canceling", "progressive_call_results", "payload_transparency", "payload_passthru_mode"},
		"callee":     {"call_canceling", "progressive_call_results", "payload_transparency", "payload_passthru_mode"},
		"publisher":  {"publisher_exclusion", "payload_transparency", "payload_passthru_mode"},
		"subscriber": {"pattern_based_subscription", "payload_transparency", "payload_passthru_mode"},
	} {
		r, _ := roles[role].(Dict)
		f, _ := r["features"].(Dict)
		for _, name := range want {
			if f[name] != true {
				t.Errorf("%s does not announce %s: %v", role, name, f)
			}
		}
		if _, present := f["off"]; present {
			t.Errorf("%s announces a feature configured false", role)
		}
	}
	if _, present := hello.Details["authmethods"]; present {
		t.Errorf("anonymous HELLO has authmethods %v", hello.Details["authmethods"])
	}
}

func TestFakeSealOutgoing(t *testing.T) {
	codec := newFakeCodec()
	s, r := fakeSession(t, CBOR, Config{Codec: codec})
	ctx := testCtx(t)

	// PUBLISH on a keyed topic: bare payload, codec options merged with the caller's.
	if _, err := s.Publish(ctx, "sec.t", Dict{"exclude_me": false}, List{"a", int64(1)}, Dict{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	pub := expectType[*Publish](r)
	if pub.Options["exclude_me"] != false || pub.Options["enc_algo"] != "x_fake" || pub.Options["enc_serializer"] != "json" {
		t.Fatalf("PUBLISH options %v", pub.Options)
	}
	if got := codec.payloadOf(t, pub.Payload); !got.originating || got.uri != "sec.t" ||
		!reflect.DeepEqual(got.args, List{"a", int64(1)}) || !reflect.DeepEqual(got.kwargs, Dict{"k": "v"}) {
		t.Fatalf("sealed %+v", got)
	}
	// On an unkeyed topic: plaintext, no codec options.
	if _, err := s.Publish(ctx, "plain.t", nil, List{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	pub = expectType[*Publish](r)
	if pub.IsBare() || !reflect.DeepEqual(pub.Args, List{"a"}) || len(pub.Options) != 0 {
		t.Fatalf("plaintext PUBLISH %+v", pub)
	}

	// CALL on a keyed procedure; the result comes back sealed by the callee.
	type callRes struct {
		r   *ResultInfo
		err error
	}
	call := func(proc string, args List) <-chan callRes {
		ch := make(chan callRes, 1)
		go func() {
			res, err := s.Call(ctx, proc, nil, args, nil, nil)
			ch <- callRes{res, err}
		}()
		return ch
	}
	done := call("sec.add", List{int64(2), int64(3)})
	c := expectType[*Call](r)
	if got := codec.payloadOf(t, c.Payload); !got.originating || got.uri != "sec.add" || c.Options["enc_algo"] != "x_fake" {
		t.Fatalf("CALL %+v sealed %+v", c, got)
	}
	r.send(&Result{Request: c.Request, Details: merged(fakeOpts), Payload: codec.sealAs(false, "sec.add", List{int64(5)}, nil)})
	got := recvWithin(t, done, "call result")
	if got.err != nil || !got.r.Sealed || !reflect.DeepEqual(got.r.Args, List{int64(5)}) || got.r.Opened["fake_uri"] != "sec.add" {
		t.Fatalf("sealed result: %+v, %v", got.r, got.err)
	}
	if opens := codec.openCalls(); opens[len(opens)-1] != (fakeCall{true, "sec.add"}) {
		t.Fatalf("RESULT opened as %+v, want originator on the procedure", opens[len(opens)-1])
	}

	// A plaintext RESULT to a sealed call is accepted as plaintext (Autobahn does not
	// enforce encryption on receive, wire.md §1.5).
	done = call("sec.add", nil)
	c = expectType[*Call](r)
	r.send(&Result{Request: c.Request, Details: Dict{}, Payload: Payload{Args: List{"plain"}}})
	if got := recvWithin(t, done, "call result"); got.err != nil || got.r.Sealed || !reflect.DeepEqual(got.r.Args, List{"plain"}) {
		t.Fatalf("plaintext result: %+v, %v", got.r, got.err)
	}

	// A RESULT sealed for another URI fails the trusted-URI check: Call returns the
	// codec's error.
	done = call("sec.add", nil)
	c = expectType[*Call](r)
	r.send(&Result{Request: c.Request, Details: merged(fakeOpts), Payload: codec.sealAs(false, "sec.other", List{"x"}, nil)})
	var me *mismatchError
	if got := recvWithin(t, done, "call result"); !errors.As(got.err, &me) {
		t.Fatalf("mismatched result: %+v, %v", got.r, got.err)
	}

	// An ERROR sealed under the error URI is opened under that URI, as originator.
	done = call("sec.add", nil)
	c = expectType[*Call](r)
	r.send(&Error{Type: CALL, Request: c.Request, Details: merged(fakeOpts), Error: "sec.error.bad",
		Payload: codec.sealAs(false, "sec.error.bad", List{"why"}, Dict{"code": int64(7)})})
	var re *RPCError
	if got := recvWithin(t, done, "call error"); !errors.As(got.err, &re) || !re.Sealed || re.URI != "sec.error.bad" || re.Opened["fake_uri"] != "sec.error.bad" ||
		!reflect.DeepEqual(re.Args, List{"why"}) || !reflect.DeepEqual(re.Kwargs, Dict{"code": int64(7)}) {
		t.Fatalf("sealed error: %v", got.err)
	}
	if opens := codec.openCalls(); opens[len(opens)-1] != (fakeCall{true, "sec.error.bad"}) {
		t.Fatalf("ERROR opened as %+v", opens[len(opens)-1])
	}

	// Each progressive RESULT is opened separately.
	progress := make(chan *ResultInfo, 3)
	pdone := make(chan callRes, 1)
	go func() {
		res, err := s.Call(ctx, "sec.count", nil, nil, nil, func(r *ResultInfo) { progress <- r })
		pdone <- callRes{res, err}
	}()
	c = expectType[*Call](r)
	if c.Options["receive_progress"] != true {
		t.Fatalf("CALL options %v", c.Options)
	}
	for i := range int64(2) {
		r.send(&Result{Request: c.Request, Details: merged(fakeOpts, Dict{"progress": true}),
			Payload: codec.sealAs(false, "sec.count", List{i}, nil)})
		if p := recvWithin(t, progress, "progress"); !p.Progress || !p.Sealed || !reflect.DeepEqual(p.Args, List{i}) {
			t.Fatalf("progress %d: %+v", i, p)
		}
	}
	r.send(&Result{Request: c.Request, Details: merged(fakeOpts), Payload: codec.sealAs(false, "sec.count", List{"end"}, nil)})
	if got := recvWithin(t, pdone, "final"); got.err != nil || !reflect.DeepEqual(got.r.Args, List{"end"}) {
		t.Fatalf("final: %+v %v", got.r, got.err)
	}
}

// merged returns a new dict with the entries of all ds, later ones winning.
func merged(ds ...Dict) Dict {
	out := Dict{}
	for _, d := range ds {
		for k, v := range d {
			out[k] = v
		}
	}
	return out
}

func TestFakeYieldSealedOnlyIfInvocationSealed(t *testing.T) {
	codec := newFakeCodec()
	s, r := fakeSession(t, JSON, Config{Codec: codec})
	ctx := testCtx(t)
	invs := make(chan *InvocationInfo, 4)
	regDone := make(chan *Registration, 1)
	go func() {
		reg, err := s.Register(ctx, "sec.count", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
			invs <- inv
			for i := range int64(2) {
				if err := inv.Progress(List{i}, nil); err != nil {
					return nil, err
				}
			}
			return &YieldResult{Args: List{"final"}, Kwargs: Dict{"n": int64(2)}}, nil
		})
		if err != nil {
			t.Error(err)
		}
		regDone <- reg
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 99})
	recvWithin(t, regDone, "registration")

	// Plaintext INVOCATION on a keyed procedure → plaintext YIELDs.
	r.send(&Invocation{Request: 1, Registration: 99, Details: Dict{"receive_progress": true}, Payload: Payload{Args: List{"in"}}})
	inv := recvWithin(t, invs, "invocation")
	if inv.Sealed || inv.Opened != nil || !reflect.DeepEqual(inv.Args, List{"in"}) {
		t.Fatalf("plaintext invocation %+v", inv)
	}
	for i := range 3 {
		y := expectType[*Yield](r)
		if y.IsBare() || y.Options["enc_algo"] != nil || (y.Options["progress"] == true) != (i < 2) {
			t.Fatalf("YIELD %d to a plaintext invocation: %+v", i, y)
		}
	}
	sealsBefore := len(codec.sealCalls())

	// Sealed INVOCATION → each YIELD sealed separately, as responder, on the procedure.
	r.send(&Invocation{Request: 2, Registration: 99, Details: merged(fakeOpts, Dict{"receive_progress": true}),
		Payload: codec.sealAs(true, "sec.count", List{"secret"}, nil)})
	inv = recvWithin(t, invs, "invocation")
	if !inv.Sealed || !reflect.DeepEqual(inv.Args, List{"secret"}) || inv.Procedure != "sec.count" || inv.Opened["fake_uri"] != "sec.count" {
		t.Fatalf("sealed invocation %+v", inv)
	}
	var payloads [][]byte
	for i := range 3 {
		y := expectType[*Yield](r)
		got := codec.payloadOf(t, y.Payload)
		if got.originating || got.uri != "sec.count" || y.Options["enc_algo"] != "x_fake" || (y.Options["progress"] == true) != (i < 2) {
			t.Fatalf("YIELD %d to a sealed invocation: %+v sealed %+v", i, y, got)
		}
		for _, p := range payloads {
			if bytes.Equal(p, y.Bare) {
				t.Fatal("two YIELDs share one sealed payload")
			}
		}
		payloads = append(payloads, y.Bare)
	}
	if n := len(codec.sealCalls()) - sealsBefore; n != 3 {
		t.Fatalf("%d Seal calls for 3 YIELDs", n)
	}
	if opens := codec.openCalls(); opens[len(opens)-1] != (fakeCall{false, "sec.count"}) {
		t.Fatalf("INVOCATION opened as %+v, want responder on the procedure", opens[len(opens)-1])
	}
}

func TestFakeErrorSealedByErrorURI(t *testing.T) {
	codec := newFakeCodec()
	s, r := fakeSession(t, MsgPack, Config{Codec: codec})
	ctx := testCtx(t)
	regDone := make(chan error, 1)
	go func() {
		_, err := s.Register(ctx, "sec.p", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
			return nil, &RPCError{URI: inv.Kwargs["uri"].(string), Args: List{"nope"}, Kwargs: Dict{"k": int64(1)}}
		})
		regDone <- err
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 7})
	if err := recvWithin(t, regDone, "registration"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		sealedIn   bool
		uri        string
		wantSealed bool
	}{
		{"keyed error URI, plaintext call", false, "sec.error.bad", true},
		{"keyed error URI, sealed call", true, "sec.error.bad", true},
		{"unkeyed error URI, sealed call", true, "app.error.bad", false},
		{"unkeyed error URI, plaintext call", false, "app.error.bad", false},
		{"keyed error URI that cannot be sealed", true, "sec.broken.error", false},
	}
	for i, c := range cases {
		inv := &Invocation{Request: ID(i + 1), Registration: 7, Details: Dict{}, Payload: Payload{Kwargs: Dict{"uri": c.uri}}}
		if c.sealedIn {
			inv.Details = merged(fakeOpts)
			inv.Payload = codec.sealAs(true, "sec.p", nil, Dict{"uri": c.uri})
		}
		r.send(inv)
		e := expectType[*Error](r)
		if e.Type != INVOCATION || e.Request != inv.Request || e.Error != c.uri {
			t.Fatalf("%s: ERROR %+v", c.name, e)
		}
		if c.uri == "sec.broken.error" {
			// Keyed but unsealable: the URI goes alone, never the payload in plaintext.
			if e.IsBare() || e.Details["enc_algo"] != nil || len(e.Kwargs) != 0 || reflect.DeepEqual(e.Args, List{"nope"}) {
				t.Fatalf("%s: the payload leaked or the error was sealed: %+v", c.name, e)
			}
			continue
		}
		if !c.wantSealed {
			if e.IsBare() || !reflect.DeepEqual(e.Args, List{"nope"}) || e.Details["enc_algo"] != nil {
				t.Fatalf("%s: want plaintext, got %+v", c.name, e)
			}
			continue
		}
		got := codec.payloadOf(t, e.Payload)
		if got.originating || got.uri != c.uri || !reflect.DeepEqual(got.args, List{"nope"}) || e.Details["enc_algo"] != "x_fake" {
			t.Fatalf("%s: sealed %+v details %v", c.name, got, e.Details)
		}
	}
}

func TestFakePatternEnvelopeURIs(t *testing.T) {
	codec := newFakeCodec()
	s, r := fakeSession(t, JSON, Config{Codec: codec})
	ctx := testCtx(t)
	events := make(chan *EventInfo, 4)
	subDone := make(chan error, 1)
	go func() {
		_, err := s.Subscribe(ctx, "sec.", Dict{"match": "prefix"}, func(ev *EventInfo) { events <- ev })
		subDone <- err
	}()
	sub := expectType[*Subscribe](r)
	if sub.Options["match"] != "prefix" || sub.Topic != "sec." {
		t.Fatalf("SUBSCRIBE %+v", sub)
	}
	r.send(&Subscribed{Request: sub.Request, Subscription: 5})
	if err := recvWithin(t, subDone, "subscription"); err != nil {
		t.Fatal(err)
	}
	// The envelope is details.topic, and the payload is opened as responder under it.
	r.send(&Event{Subscription: 5, Publication: 1, Details: merged(fakeOpts, Dict{"topic": "sec.a.b"}),
		Payload: codec.sealAs(true, "sec.a.b", List{"hi"}, nil)})
	ev := recvWithin(t, events, "event")
	if ev.Topic != "sec.a.b" || !ev.Sealed || ev.Err != nil || !reflect.DeepEqual(ev.Args, List{"hi"}) || ev.Opened["fake_uri"] != "sec.a.b" {
		t.Fatalf("event %+v", ev)
	}
	if opens := codec.openCalls(); opens[len(opens)-1] != (fakeCall{false, "sec.a.b"}) {
		t.Fatalf("EVENT opened as %+v", opens[len(opens)-1])
	}
	// Sealed for a different topic than the envelope: delivered with Err, no payload.
	r.send(&Event{Subscription: 5, Publication: 2, Details: merged(fakeOpts, Dict{"topic": "sec.a.b"}),
		Payload: codec.sealAs(true, "sec.other", List{"hi"}, nil)})
	ev = recvWithin(t, events, "event")
	var me *mismatchError
	if !errors.As(ev.Err, &me) || ev.Args != nil || ev.Kwargs != nil || ev.Sealed || ev.Topic != "sec.a.b" {
		t.Fatalf("mismatched event %+v", ev)
	}

	regDone := make(chan error, 1)
	invs := make(chan *InvocationInfo, 1)
	go func() {
		_, err := s.Register(ctx, "sec.", Dict{"match": "prefix"}, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
			invs <- inv
			return &YieldResult{Args: List{"ok"}}, nil
		})
		regDone <- err
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 8})
	if err := recvWithin(t, regDone, "registration"); err != nil {
		t.Fatal(err)
	}
	r.send(&Invocation{Request: 1, Registration: 8, Details: merged(fakeOpts, Dict{"procedure": "sec.x.y"}),
		Payload: codec.sealAs(true, "sec.x.y", List{"arg"}, nil)})
	inv := recvWithin(t, invs, "invocation")
	if inv.Procedure != "sec.x.y" || !inv.Sealed || !reflect.DeepEqual(inv.Args, List{"arg"}) || inv.Registration.Procedure != "sec." {
		t.Fatalf("invocation %+v", inv)
	}
	y := expectType[*Yield](r)
	if got := codec.payloadOf(t, y.Payload); got.uri != "sec.x.y" || got.originating {
		t.Fatalf("YIELD sealed %+v, want responder on details.procedure", got)
	}
}

func TestFakeOpenFailureReplies(t *testing.T) {
	t.Run("with codec", func(t *testing.T) {
		codec := newFakeCodec()
		s, r := fakeSession(t, JSON, Config{Codec: codec})
		registerEcho(t, s, r, "sec.p", 3)
		// Trusted-URI mismatch: the CodecError's URI.
		r.send(&Invocation{Request: 1, Registration: 3, Details: merged(fakeOpts), Payload: codec.sealAs(true, "sec.q", nil, nil)})
		if e := expectType[*Error](r); e.Error != "wamp.error.encryption.trusted_uri_mismatch" || e.Request != 1 || e.Type != INVOCATION {
			t.Fatalf("ERROR %+v", e)
		}
		// Any other open failure: decrypt_error.
		codec.mu.Lock()
		codec.openErr = errors.New("bad tag")
		codec.mu.Unlock()
		r.send(&Invocation{Request: 2, Registration: 3, Details: merged(fakeOpts), Payload: codec.sealAs(true, "sec.p", nil, nil)})
		if e := expectType[*Error](r); e.Error != ErrURIDecrypt || !reflect.DeepEqual(e.Args, List{"bad tag"}) {
			t.Fatalf("ERROR %+v", e)
		}
		// A bare payload the codec does not recognise (no enc_algo): no_payload_codec.
		r.send(&Invocation{Request: 3, Registration: 3, Details: Dict{}, Payload: Payload{Bare: []byte{1, 2}}})
		if e := expectType[*Error](r); e.Error != ErrURINoPayloadCodec {
			t.Fatalf("ERROR %+v", e)
		}
		// An INVOCATION for a registration we do not have.
		r.send(&Invocation{Request: 4, Registration: 12345, Details: Dict{}})
		if e := expectType[*Error](r); e.Error != "wamp.error.no_such_registration" {
			t.Fatalf("ERROR %+v", e)
		}
	})
	t.Run("without codec", func(t *testing.T) {
		s, r := fakeSession(t, CBOR, Config{})
		registerEcho(t, s, r, "sec.p", 3)
		codec := newFakeCodec()
		r.send(&Invocation{Request: 1, Registration: 3, Details: merged(fakeOpts), Payload: codec.sealAs(true, "sec.p", nil, nil)})
		if e := expectType[*Error](r); e.Error != ErrURINoPayloadCodec || e.IsBare() {
			t.Fatalf("ERROR %+v", e)
		}
		// EVENT: delivered with Err.
		events := make(chan *EventInfo, 1)
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
		r.send(&Event{Subscription: 6, Publication: 1, Details: merged(fakeOpts), Payload: codec.sealAs(true, "sec.t", List{"x"}, nil)})
		ev := recvWithin(t, events, "event")
		if !errors.Is(ev.Err, ErrNoPayloadCodec) || ev.Args != nil || ev.Topic != "sec.t" {
			t.Fatalf("event %+v", ev)
		}
		// RESULT: Call returns the error.
		callErr := make(chan error, 1)
		go func() {
			_, err := s.Call(testCtx(t), "sec.p", nil, nil, nil, nil)
			callErr <- err
		}()
		c := expectType[*Call](r)
		r.send(&Result{Request: c.Request, Details: merged(fakeOpts), Payload: codec.sealAs(false, "sec.p", nil, nil)})
		if err := recvWithin(t, callErr, "call"); !errors.Is(err, ErrNoPayloadCodec) {
			t.Fatalf("Call error %v", err)
		}
	})
}

// registerEcho registers proc on the scripted router under registration ID regID.
func registerEcho(t *testing.T, s *Session, r *fakeRouter, proc string, regID ID) {
	t.Helper()
	regDone := make(chan error, 1)
	go func() {
		_, err := s.Register(testCtx(t), proc, nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
			return &YieldResult{Args: inv.Args, Kwargs: inv.Kwargs}, nil
		})
		regDone <- err
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: regID})
	if err := recvWithin(t, regDone, "registration"); err != nil {
		t.Fatal(err)
	}
}

func TestFakeHandlerFailuresBecomeRuntimeErrors(t *testing.T) {
	s, r := fakeSession(t, JSON, Config{})
	regDone := make(chan error, 1)
	go func() {
		_, err := s.Register(testCtx(t), "com.p", nil, func(context.Context, *InvocationInfo) (*YieldResult, error) {
			panic("boom")
		})
		regDone <- err
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 1})
	recvWithin(t, regDone, "registration")
	r.send(&Invocation{Request: 1, Registration: 1, Details: Dict{}})
	if e := expectType[*Error](r); e.Error != ErrURIRuntime || !strings.Contains(fmt.Sprint(e.Args), "boom") {
		t.Fatalf("ERROR %+v", e)
	}
	// An *RPCError without a URI cannot go on the wire as is; it becomes a runtime error.
	regDone2 := make(chan error, 1)
	go func() {
		_, err := s.Register(testCtx(t), "com.q", nil, func(context.Context, *InvocationInfo) (*YieldResult, error) {
			return nil, &RPCError{Args: List{"no uri"}}
		})
		regDone2 <- err
	}()
	reg = expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 2})
	recvWithin(t, regDone2, "registration")
	r.send(&Invocation{Request: 2, Registration: 2, Details: Dict{}})
	if e := expectType[*Error](r); e.Error != ErrURIRuntime || e.Request != 2 {
		t.Fatalf("ERROR %+v", e)
	}
	// Results and errors that cannot be encoded still produce an answer.
	regDone3 := make(chan error, 1)
	go func() {
		_, err := s.Register(testCtx(t), "com.r", nil, func(_ context.Context, inv *InvocationInfo) (*YieldResult, error) {
			if inv.Args[0] == "yield" {
				return &YieldResult{Args: List{make(chan int)}}, nil
			}
			return nil, &RPCError{URI: "com.error.x", Args: List{struct{}{}}}
		})
		regDone3 <- err
	}()
	reg = expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 3})
	recvWithin(t, regDone3, "registration")
	for i, mode := range []string{"yield", "error"} {
		r.send(&Invocation{Request: ID(10 + i), Registration: 3, Details: Dict{}, Payload: Payload{Args: List{mode}}})
		if e := expectType[*Error](r); e.Error != ErrURIRuntime || e.Request != ID(10+i) || !strings.Contains(fmt.Sprint(e.Args), "cannot send") {
			t.Fatalf("%s: ERROR %+v", mode, e)
		}
	}
	if s.Err() != nil {
		t.Fatalf("session ended: %v", s.Err())
	}
}

// TestFakeBadFramesEndSession: whatever malformed thing the router sends, the session
// ends with a protocol error, tells the router with ABORT protocol_violation, closes Done,
// fails pending requests, and leaves no goroutines behind.
func TestFakeBadFramesEndSession(t *testing.T) {
	cases := []struct {
		name string
		ser  Serializer
		bad  func(r *fakeRouter, pendingReq ID)
	}{
		{"truncated json", JSON, func(r *fakeRouter, _ ID) { r.c.ws.WriteMessage(websocket.TextMessage, []byte(`[36,1,`)) }},
		{"binary frame on json", JSON, func(r *fakeRouter, _ ID) { r.c.ws.WriteMessage(websocket.BinaryMessage, []byte(`[17,1,2]`)) }},
		{"text frame on cbor", CBOR, func(r *fakeRouter, _ ID) { r.c.ws.WriteMessage(websocket.TextMessage, []byte{0x83, 0x11, 1, 2}) }},
		{"msgpack garbage", MsgPack, func(r *fakeRouter, _ ID) { r.c.ws.WriteMessage(websocket.BinaryMessage, []byte{0xc1}) }},
		{"event with string id", JSON, func(r *fakeRouter, _ ID) {
			r.c.ws.WriteMessage(websocket.TextMessage, []byte(`[36,"1",2,{}]`))
		}},
		{"bare payload then kwargs", JSON, func(r *fakeRouter, _ ID) {
			r.c.ws.WriteMessage(websocket.TextMessage, []byte(`[36,1,2,{},"\u0000AA==",{}]`))
		}},
		{"HELLO from the router", JSON, func(r *fakeRouter, _ ID) { r.send(&Hello{Realm: "x", Details: Dict{}}) }},
		{"second WELCOME", CBOR, func(r *fakeRouter, _ ID) { r.send(&Welcome{Session: 1, Details: Dict{}}) }},
		{"reply of the wrong type", JSON, func(r *fakeRouter, req ID) { r.send(&Registered{Request: req, Registration: 1}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, r := fakeSession(t, c.ser, Config{})
			subErr := make(chan error, 1)
			go func() {
				_, err := s.Subscribe(testCtx(t), "com.t", nil, func(*EventInfo) {})
				subErr <- err
			}()
			sub := expectType[*Subscribe](r)
			c.bad(r, sub.Request)
			abort := expectType[*Abort](r)
			if abort.Reason != ErrURIProtocol {
				t.Fatalf("ABORT %+v", abort)
			}
			recvWithin(t, s.Done(), "session end")
			if !IsProtocolError(s.Err()) {
				t.Fatalf("Err = %v, want a protocol error", s.Err())
			}
			if err := recvWithin(t, subErr, "pending Subscribe"); !IsProtocolError(err) {
				t.Fatalf("pending Subscribe returned %v", err)
			}
			// Close says why the session had ended: what was sent without a reply may
			// not have been handled.
			if err := s.Close(testCtx(t)); !IsProtocolError(err) {
				t.Fatalf("Close after the end: %v, want the protocol error", err)
			}
			waitNoOurGoroutines(t)
		})
	}
}

func TestFakeRouterGoodbyeAndAbort(t *testing.T) {
	t.Run("goodbye", func(t *testing.T) {
		s, r := fakeSession(t, JSON, Config{})
		r.send(&Goodbye{Details: Dict{"message": "maintenance"}, Reason: "wamp.close.system_shutdown"})
		if g := expectType[*Goodbye](r); g.Reason != "wamp.close.goodbye_and_out" {
			t.Fatalf("reply %+v", g)
		}
		recvWithin(t, s.Done(), "session end")
		var ge *GoodbyeError
		if !errors.As(s.Err(), &ge) || ge.Reason != "wamp.close.system_shutdown" || !strings.Contains(ge.Error(), "maintenance") {
			t.Fatalf("Err = %v", s.Err())
		}
	})
	t.Run("abort", func(t *testing.T) {
		s, r := fakeSession(t, JSON, Config{})
		r.send(&Abort{Details: Dict{}, Reason: "wamp.error.system_shutdown"})
		recvWithin(t, s.Done(), "session end")
		var ae *AbortError
		if !errors.As(s.Err(), &ae) || ae.Reason != "wamp.error.system_shutdown" {
			t.Fatalf("Err = %v", s.Err())
		}
	})
	t.Run("close", func(t *testing.T) {
		s, r := fakeSession(t, MsgPack, Config{})
		closed := make(chan error, 1)
		go func() { closed <- s.Close(testCtx(t)) }()
		if g := expectType[*Goodbye](r); g.Reason != "wamp.close.normal" {
			t.Fatalf("GOODBYE %+v", g)
		}
		r.send(&Goodbye{Details: Dict{}, Reason: "wamp.close.goodbye_and_out"})
		if err := recvWithin(t, closed, "Close"); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(s.Err(), ErrSessionClosed) {
			t.Fatalf("Err = %v", s.Err())
		}
	})
	t.Run("close without reply", func(t *testing.T) {
		s, r := fakeSession(t, MsgPack, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Close(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close = %v", err)
		}
		expectType[*Goodbye](r)
		recvWithin(t, s.Done(), "session end")
		waitNoOurGoroutines(t)
	})
}

func TestFakeJoinFailures(t *testing.T) {
	t.Run("challenge for another method", func(t *testing.T) {
		url, conns := fakeServer(t)
		joined := make(chan error, 1)
		go func() {
			_, err := dialJoin(testCtx(t), url, JSON, Config{Realm: "fake", AuthID: "joe", Ticket: "t"})
			joined <- err
		}()
		r := &fakeRouter{t: t, c: recvWithin(t, conns, "connection")}
		hello := expectType[*Hello](r)
		if !reflect.DeepEqual(hello.Details["authmethods"], List{"ticket"}) || hello.Details["authid"] != "joe" {
			t.Fatalf("HELLO %+v", hello.Details)
		}
		r.send(&Challenge{AuthMethod: "wampcra", Extra: Dict{"challenge": "x"}})
		if a := expectType[*Abort](r); a.Reason != "wamp.error.authentication_failed" {
			t.Fatalf("ABORT %+v", a)
		}
		if err := recvWithin(t, joined, "join"); err == nil || !strings.Contains(err.Error(), "wampcra") {
			t.Fatalf("Join = %v", err)
		}
	})
	t.Run("silent router and cancelled ctx", func(t *testing.T) {
		url, conns := fakeServer(t)
		ctx, cancel := context.WithCancel(testCtx(t))
		joined := make(chan error, 1)
		go func() {
			_, err := dialJoin(ctx, url, JSON, Config{Realm: "fake"})
			joined <- err
		}()
		r := &fakeRouter{t: t, c: recvWithin(t, conns, "connection")}
		expectType[*Hello](r)
		cancel()
		if err := recvWithin(t, joined, "join"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Join = %v", err)
		}
		waitNoOurGoroutines(t)
	})
	t.Run("protocol error during join", func(t *testing.T) {
		url, conns := fakeServer(t)
		joined := make(chan error, 1)
		go func() {
			_, err := dialJoin(testCtx(t), url, JSON, Config{Realm: "fake"})
			joined <- err
		}()
		r := &fakeRouter{t: t, c: recvWithin(t, conns, "connection")}
		expectType[*Hello](r)
		r.send(&Event{Subscription: 1, Publication: 1, Details: Dict{}})
		if a := expectType[*Abort](r); a.Reason != ErrURIProtocol {
			t.Fatalf("ABORT %+v", a)
		}
		if err := recvWithin(t, joined, "join"); !IsProtocolError(err) {
			t.Fatalf("Join = %v", err)
		}
	})
}

// A router cannot move a sealed payload to a URI the subscription or registration does not
// cover by naming that URI in Details: the event carries an error, the invocation is
// refused with trusted_uri_mismatch, and OnRefused hears of it.
func TestFakeRouterCannotRenameEnvelope(t *testing.T) {
	codec := newFakeCodec()
	refused := make(chan string, 1)
	s, r := fakeSession(t, JSON, Config{Codec: codec, OnRefused: func(proc, uri string, err error) { refused <- proc + " " + uri }})
	ctx := testCtx(t)
	events := make(chan *EventInfo, 4)
	subDone := make(chan error, 1)
	go func() {
		_, err := s.Subscribe(ctx, "sec.a", nil, func(ev *EventInfo) { events <- ev })
		subDone <- err
	}()
	sub := expectType[*Subscribe](r)
	r.send(&Subscribed{Request: sub.Request, Subscription: 5})
	if err := recvWithin(t, subDone, "subscription"); err != nil {
		t.Fatal(err)
	}
	// Sealed for sec.b, delivered to the exact subscriber of sec.a with topic sec.b.
	r.send(&Event{Subscription: 5, Publication: 1, Details: merged(fakeOpts, Dict{"topic": "sec.b"}),
		Payload: codec.sealAs(true, "sec.b", List{"moved"}, nil)})
	ev := recvWithin(t, events, "event")
	if ev.Err == nil || ev.Args != nil || ev.Sealed || ev.Topic != "sec.a" || !strings.Contains(ev.Err.Error(), `delivered "sec.b" to "sec.a"`) {
		t.Fatalf("renamed event accepted: %+v", ev)
	}

	regDone := make(chan error, 1)
	go func() {
		_, err := s.Register(ctx, "sec.p.", Dict{"match": "prefix"}, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
			t.Error("the handler ran for a procedure the registration does not cover")
			return nil, nil
		})
		regDone <- err
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 8})
	if err := recvWithin(t, regDone, "registration"); err != nil {
		t.Fatal(err)
	}
	r.send(&Invocation{Request: 3, Registration: 8, Details: merged(fakeOpts, Dict{"procedure": "sec.other"}),
		Payload: codec.sealAs(true, "sec.other", List{"x"}, nil)})
	e := expectType[*Error](r)
	if e.Error != ErrURITrustedMismatch || e.Request != 3 {
		t.Fatalf("ERROR %+v", e)
	}
	if got := recvWithin(t, refused, "OnRefused"); got != "sec.p. "+ErrURITrustedMismatch {
		t.Fatalf("OnRefused got %q", got)
	}
}

func TestURIMatches(t *testing.T) {
	cases := []struct {
		pattern, match, uri string
		want                bool
	}{
		{"a.b", "", "a.b", true}, {"a.b", "exact", "a.bc", false},
		{"a.", "prefix", "a.b.c", true}, {"a.", "prefix", "b.a", false},
		{"a..c", "wildcard", "a.b.c", true}, {"a..c", "wildcard", "a.b.d", false},
		{"a..c", "wildcard", "a.b.x.c", false}, {"a.b", "bogus", "a.b", false},
	}
	for _, c := range cases {
		if got := URIMatches(c.pattern, c.match, c.uri); got != c.want {
			t.Errorf("URIMatches(%q, %q, %q) = %v", c.pattern, c.match, c.uri, got)
		}
	}
}

// A router that closes the connection after our GOODBYE has closed the session as asked,
// unless its close says it refused something: then Close reports it, because messages
// sent without a reply (PUBLISH without acknowledge) before it may not have been handled.
// A connection that just ends, with no close frame at all (code 0 here: a router that
// crashed, or a proxy that dropped it), says nothing of what the router handled, so it
// is not taken for an answer either.
func TestFakeCloseAfterGoodbyeTellsACauseApart(t *testing.T) {
	for _, c := range []struct {
		code    int
		wantErr bool
	}{
		{0, true},
		{websocket.CloseNormalClosure, false},
		{websocket.CloseGoingAway, false},
		{websocket.CloseNoStatusReceived, false},
		{websocket.CloseMessageTooBig, true},
		{websocket.CloseProtocolError, true},
		{websocket.CloseInternalServerErr, true},
	} {
		t.Run(strconv.Itoa(c.code), func(t *testing.T) {
			s, r := fakeSession(t, JSON, Config{})
			closed := make(chan error, 1)
			go func() { closed <- s.Close(testCtx(t)) }()
			expectType[*Goodbye](r)
			if c.code != 0 {
				r.c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, ""), time.Now().Add(time.Second))
			}
			r.c.ws.Close()
			err := recvWithin(t, closed, "Close")
			if (err != nil) != c.wantErr {
				t.Fatalf("close %d after GOODBYE: Close = %v, want error %v", c.code, err, c.wantErr)
			}
			if err != nil && c.code != 0 && !strings.Contains(err.Error(), strconv.Itoa(c.code)) {
				t.Errorf("Close = %v; want the close code named", err)
			}
		})
	}
}

// replySealerCodec is the fake codec with a ReplySealer: it records what each reply was
// sealed in reply to.
type replySealerCodec struct {
	*fakeCodec
	mu      sync.Mutex
	replies []Dict
}

func (c *replySealerCodec) SealReply(replyTo Dict, uri string, args List, kwargs Dict) (Payload, Dict, bool, error) {
	c.mu.Lock()
	c.replies = append(c.replies, replyTo)
	c.mu.Unlock()
	return c.fakeCodec.Seal(false, uri, args, kwargs)
}

// A codec with a ReplySealer seals every reply to a sealed INVOCATION (progressive and
// final YIELDs, the handler's ERROR) in reply to what opened it; other messages, and
// replies to a plaintext INVOCATION, go through Seal as before.
func TestFakeReplySealedInReplyToTheInvocation(t *testing.T) {
	codec := &replySealerCodec{fakeCodec: newFakeCodec()}
	s, r := fakeSession(t, JSON, Config{Codec: codec})
	ctx := testCtx(t)
	regDone := make(chan *Registration, 1)
	go func() {
		reg, err := s.Register(ctx, "sec.p", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
			if inv.Args[0] == "fail" {
				return nil, &RPCError{URI: "sec.error.x", Args: List{"no"}}
			}
			if err := inv.Progress(List{"step"}, nil); err != nil {
				return nil, err
			}
			return &YieldResult{Args: List{"done"}}, nil
		})
		if err != nil {
			t.Error(err)
		}
		regDone <- reg
	}()
	reg := expectType[*Register](r)
	r.send(&Registered{Request: reg.Request, Registration: 5})
	recvWithin(t, regDone, "registration")

	r.send(&Invocation{Request: 1, Registration: 5, Details: merged(fakeOpts, Dict{"receive_progress": true}),
		Payload: codec.sealAs(true, "sec.p", List{"go"}, nil)})
	for range 2 {
		if y := expectType[*Yield](r); codec.payloadOf(t, y.Payload).uri != "sec.p" {
			t.Fatalf("YIELD %+v", y)
		}
	}
	r.send(&Invocation{Request: 2, Registration: 5, Details: merged(fakeOpts), Payload: codec.sealAs(true, "sec.p", List{"fail"}, nil)})
	if e := expectType[*Error](r); e.Error != "sec.error.x" || codec.payloadOf(t, e.Payload).uri != "sec.error.x" {
		t.Fatalf("ERROR %+v", e)
	}
	codec.mu.Lock()
	replies := append([]Dict(nil), codec.replies...)
	codec.mu.Unlock()
	if len(replies) != 3 {
		t.Fatalf("%d replies sealed through SealReply, want 3 (two YIELDs, one ERROR)", len(replies))
	}
	for i, rt := range replies {
		if rt["fake_uri"] != "sec.p" {
			t.Errorf("reply %d sealed in reply to %v, want what opened the INVOCATION", i, rt)
		}
	}
	// A plaintext INVOCATION's reply is not sealed at all; nothing goes through SealReply.
	r.send(&Invocation{Request: 3, Registration: 5, Details: Dict{"receive_progress": true}, Payload: Payload{Args: List{"plain"}}})
	expectType[*Yield](r) // progressive
	if y := expectType[*Yield](r); y.IsBare() {
		t.Fatalf("plaintext invocation answered sealed: %+v", y)
	}
	codec.mu.Lock()
	defer codec.mu.Unlock()
	if len(codec.replies) != 3 {
		t.Fatalf("SealReply called for a plaintext invocation's replies")
	}
}
