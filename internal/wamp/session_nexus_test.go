package wamp

import (
	"context"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gammazero/nexus/v3/router"
	"github.com/gammazero/nexus/v3/router/auth"
	nxwamp "github.com/gammazero/nexus/v3/wamp"
)

// These tests run cbx's session against gammazero/nexus v3.3.0's router, started
// in-process on a loopback httptest server: an independent WAMP implementation checks
// our wire format, handshake, authentication and RPC/PubSub behaviour. nexus is a
// test-only import of this package.

const testRealm = "cbx.test"

// startNexus starts a nexus router with the given realms (default: one anonymous realm)
// and returns its ws:// URL.
func startNexus(t testing.TB, realms ...*router.RealmConfig) string {
	t.Helper()
	if len(realms) == 0 {
		realms = []*router.RealmConfig{{URI: testRealm, AnonymousAuth: true}}
	}
	r, err := router.NewRouter(&router.Config{RealmConfigs: realms}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(router.NewWebsocketServer(r))
	t.Cleanup(func() {
		srv.Close()
		r.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// joinWith dials url with one serializer and joins; the session is closed at cleanup.
func joinWith(t *testing.T, url string, ser Serializer, cfg Config) *Session {
	t.Helper()
	s, err := dialJoin(testCtx(t), url, ser, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func dialJoin(ctx context.Context, url string, ser Serializer, cfg Config) (*Session, error) {
	if cfg.Realm == "" {
		cfg.Realm = testRealm
	}
	c, err := Dial(ctx, url, DialOptions{Serializers: []Serializer{ser}})
	if err != nil {
		return nil, err
	}
	return Join(ctx, c, cfg)
}

// recvWithin waits for a value, failing the test if the test context ends first.
func recvWithin[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-testCtx(t).Done():
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func TestNexusPubSubAndRPCAllSerializers(t *testing.T) {
	url := startNexus(t)
	for _, ser := range Serializers {
		t.Run(ser.Name(), func(t *testing.T) {
			ctx := testCtx(t)
			sub := joinWith(t, url, ser, Config{})
			pub := joinWith(t, url, ser, Config{})
			if sub.ID() == 0 || sub.ID() == pub.ID() {
				t.Fatalf("session IDs %d, %d", sub.ID(), pub.ID())
			}
			if !sub.RouterFeature("broker", "pattern_based_subscription") || sub.RouterFeature("broker", "no_such_feature") {
				t.Fatal("RouterFeature does not reflect nexus's WELCOME")
			}

			events := make(chan *EventInfo, 1)
			topic := "com.example." + ser.Name()
			if _, err := sub.Subscribe(ctx, topic, nil, func(ev *EventInfo) { events <- ev }); err != nil {
				t.Fatal(err)
			}
			args := List{"hello", int64(42), 1.5, []byte{0, 1, 2, 255}, true, nil}
			kwargs := Dict{"k": "v", "n": Dict{"x": List{int64(1)}}}
			pubID, err := pub.Publish(ctx, topic, Dict{"acknowledge": true}, args, kwargs)
			if err != nil || pubID == 0 {
				t.Fatalf("Publish = %d, %v", pubID, err)
			}
			ev := recvWithin(t, events, "event")
			if ev.Topic != topic || ev.Publication != pubID || ev.Err != nil || ev.Sealed {
				t.Fatalf("event %+v", ev)
			}
			if !reflect.DeepEqual(ev.Args, args) || !reflect.DeepEqual(ev.Kwargs, kwargs) {
				t.Fatalf("event payload %#v %#v", ev.Args, ev.Kwargs)
			}

			proc := "com.example.add." + ser.Name()
			if _, err := sub.Register(ctx, proc, nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
				if inv.Procedure != proc || inv.Progress != nil {
					return nil, fmt.Errorf("bad invocation %+v", inv)
				}
				a, _ := inv.Args[0].(int64)
				b, _ := inv.Args[1].(int64)
				switch inv.Kwargs["mode"] {
				case "rpc-error":
					return nil, &RPCError{URI: "com.example.error.bad", Args: List{"bad input", a}, Kwargs: Dict{"why": "test"}}
				case "plain-error":
					return nil, errors.New("something broke")
				}
				return &YieldResult{Args: List{a + b}, Kwargs: Dict{"echo": inv.Args[2]}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			res, err := pub.Call(ctx, proc, nil, List{int64(23), int64(7), []byte("bin")}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Args, List{int64(30)}) || !reflect.DeepEqual(res.Kwargs, Dict{"echo": []byte("bin")}) || res.Progress || res.Sealed {
				t.Fatalf("result %+v", res)
			}

			_, err = pub.Call(ctx, proc, nil, List{int64(1), int64(2), nil}, Dict{"mode": "rpc-error"}, nil)
			var re *RPCError
			if !errors.As(err, &re) || re.URI != "com.example.error.bad" ||
				!reflect.DeepEqual(re.Args, List{"bad input", int64(1)}) || !reflect.DeepEqual(re.Kwargs, Dict{"why": "test"}) {
				t.Fatalf("RPC error = %#v (%v)", re, err)
			}
			_, err = pub.Call(ctx, proc, nil, List{int64(1), int64(2), nil}, Dict{"mode": "plain-error"}, nil)
			if !errors.As(err, &re) || re.URI != ErrURIRuntime || !reflect.DeepEqual(re.Args, List{"something broke"}) {
				t.Fatalf("runtime error = %v", err)
			}
			_, err = pub.Call(ctx, "com.example.nobody", nil, nil, nil, nil)
			if !errors.As(err, &re) || re.URI != "wamp.error.no_such_procedure" {
				t.Fatalf("call to unregistered procedure: %v", err)
			}
		})
	}
}

func TestNexusProgressiveResults(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	callee := joinWith(t, url, CBOR, Config{})
	caller := joinWith(t, url, MsgPack, Config{})
	if _, err := callee.Register(ctx, "com.example.count", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
		if inv.Progress == nil {
			return nil, errors.New("caller did not ask for progress")
		}
		for i := range int64(3) {
			if err := inv.Progress(List{i}, Dict{"step": i}); err != nil {
				return nil, err
			}
		}
		return &YieldResult{Args: List{"done"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var progress []*ResultInfo
	res, err := caller.Call(ctx, "com.example.count", nil, nil, nil, func(r *ResultInfo) { progress = append(progress, r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != 3 {
		t.Fatalf("%d progressive results, want 3", len(progress))
	}
	for i, p := range progress {
		if !p.Progress || !reflect.DeepEqual(p.Args, List{int64(i)}) || !reflect.DeepEqual(p.Kwargs, Dict{"step": int64(i)}) {
			t.Fatalf("progress %d: %+v", i, p)
		}
	}
	if res.Progress || !reflect.DeepEqual(res.Args, List{"done"}) {
		t.Fatalf("final %+v", res)
	}
	// Without onProgress no progress is requested, and the handler sees nil Progress.
	if _, err := caller.Call(ctx, "com.example.count", nil, nil, nil, nil); err == nil || !strings.Contains(err.Error(), "did not ask for progress") {
		t.Fatalf("call without progress: %v", err)
	}
}

func TestNexusCancel(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	started := make(chan struct{}, 1)
	calleeSawCancel := make(chan error, 1)
	sentErrors := make(chan string, 4)
	callee := joinWith(t, url, JSON, Config{Trace: func(dir string, m Message) {
		if e, ok := m.(*Error); ok && dir == "tx" {
			sentErrors <- e.Error
		}
	}})
	caller := joinWith(t, url, JSON, Config{})
	if _, err := callee.Register(ctx, "com.example.slow", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
		started <- struct{}{}
		<-ctx.Done()
		calleeSawCancel <- ctx.Err()
		return nil, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	callCtx, cancel := context.WithCancel(ctx)
	callErr := make(chan error, 1)
	go func() {
		_, err := caller.Call(callCtx, "com.example.slow", nil, nil, nil, nil)
		callErr <- err
	}()
	recvWithin(t, started, "invocation")
	cancel()
	if err := recvWithin(t, callErr, "call error"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Call error = %v, want context.Canceled", err)
	}
	if err := recvWithin(t, calleeSawCancel, "INTERRUPT"); !errors.Is(err, context.Canceled) {
		t.Fatalf("callee ctx error %v", err)
	}
	if uri := recvWithin(t, sentErrors, "callee ERROR"); uri != ErrURICanceled {
		t.Fatalf("callee replied %s", uri)
	}
	// The session is still usable.
	if _, err := caller.Publish(ctx, "com.example.after", Dict{"acknowledge": true}, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestNexusPatternSubscriptions: on prefix and wildcard matches the router sends
// details.topic, which becomes EventInfo.Topic. Each publication matches exactly one
// subscription: nexus v3.3.0 shares one details dict between all deliveries of a
// publication and writes details.topic into it while earlier deliveries are being
// serialized (router/broker.go prepareEvent), a data race in nexus that the race
// detector reports when a pattern match and another match coincide.
func TestNexusPatternSubscriptions(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	sub := joinWith(t, url, JSON, Config{})
	pub := joinWith(t, url, JSON, Config{})
	for _, c := range []struct{ match, pattern, topic string }{
		{"prefix", "com.acme.", "com.acme.orders.new"},
		{"wildcard", "org..update", "org.acme.update"},
	} {
		events := make(chan *EventInfo, 1)
		if _, err := sub.Subscribe(ctx, c.pattern, Dict{"match": c.match}, func(ev *EventInfo) { events <- ev }); err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Publish(ctx, c.topic, Dict{"acknowledge": true}, List{"x"}, nil); err != nil {
			t.Fatal(err)
		}
		ev := recvWithin(t, events, c.match+" event")
		if ev.Topic != c.topic || ev.Details["topic"] != c.topic || ev.Subscription.Topic != c.pattern {
			t.Fatalf("%s: Topic %q, details %v, subscribed %q", c.match, ev.Topic, ev.Details, ev.Subscription.Topic)
		}
	}
}

// TestNexusUnsubscribeSharedID: nexus gives both subscriptions to one topic the same ID;
// removing one keeps the other, removing both stops delivery. Non-delivery is shown by
// ordering: the same publisher's later event on another topic arrives after it would have.
func TestNexusUnsubscribeSharedID(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	sub := joinWith(t, url, JSON, Config{})
	pub := joinWith(t, url, JSON, Config{})
	var mu sync.Mutex
	count := map[string]int{}
	marker := make(chan struct{}, 4)
	handler := func(name string) func(*EventInfo) {
		return func(*EventInfo) {
			mu.Lock()
			count[name]++
			mu.Unlock()
		}
	}
	a, err := sub.Subscribe(ctx, "com.t", nil, handler("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := sub.Subscribe(ctx, "com.t", nil, handler("b"))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Fatalf("nexus gave different IDs %d, %d", a.ID, b.ID)
	}
	if _, err := sub.Subscribe(ctx, "com.marker", nil, func(*EventInfo) { marker <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	round := func() map[string]int {
		if _, err := pub.Publish(ctx, "com.t", Dict{"acknowledge": true}, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := pub.Publish(ctx, "com.marker", Dict{"acknowledge": true}, nil, nil); err != nil {
			t.Fatal(err)
		}
		recvWithin(t, marker, "marker event")
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(count)
	}
	if c := round(); c["a"] != 1 || c["b"] != 1 {
		t.Fatalf("both subscribed: %v", c)
	}
	if err := sub.Unsubscribe(ctx, a); err != nil {
		t.Fatal(err)
	}
	if c := round(); c["a"] != 1 || c["b"] != 2 {
		t.Fatalf("a unsubscribed: %v", c)
	}
	if err := sub.Unsubscribe(ctx, b); err != nil {
		t.Fatal(err)
	}
	if c := round(); c["a"] != 1 || c["b"] != 2 {
		t.Fatalf("both unsubscribed: %v", c)
	}
	if err := sub.Unsubscribe(ctx, b); err == nil {
		t.Fatal("second Unsubscribe succeeded")
	}
}

func TestNexusUnregister(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	callee := joinWith(t, url, JSON, Config{})
	caller := joinWith(t, url, JSON, Config{})
	reg, err := callee.Register(ctx, "com.p", nil, func(context.Context, *InvocationInfo) (*YieldResult, error) { return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(ctx, "com.p", nil, func(context.Context, *InvocationInfo) (*YieldResult, error) { return nil, nil }); err == nil {
		t.Fatal("double registration accepted")
	}
	if res, err := caller.Call(ctx, "com.p", nil, nil, nil, nil); err != nil || len(res.Args) != 0 {
		t.Fatalf("call: %+v, %v", res, err)
	}
	if err := callee.Unregister(ctx, reg); err != nil {
		t.Fatal(err)
	}
	var re *RPCError
	if _, err := caller.Call(ctx, "com.p", nil, nil, nil, nil); !errors.As(err, &re) || re.URI != "wamp.error.no_such_procedure" {
		t.Fatalf("call after unregister: %v", err)
	}
}

func TestNexusRequestIDsStartAtOneAndIncrease(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	var mu sync.Mutex
	var ids []ID
	s := joinWith(t, url, JSON, Config{Trace: func(dir string, m Message) {
		if dir != "tx" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch m := m.(type) {
		case *Subscribe:
			ids = append(ids, m.Request)
		case *Publish:
			ids = append(ids, m.Request)
		case *Register:
			ids = append(ids, m.Request)
		}
	}})
	if _, err := s.Subscribe(ctx, "com.a", nil, func(*EventInfo) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, "com.a", Dict{"acknowledge": true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "com.a", nil, func(context.Context, *InvocationInfo) (*YieldResult, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(ids, []ID{1, 2, 3}) {
		t.Fatalf("request IDs %v", ids)
	}
}

// joinExpectAbort joins and expects the router to refuse with an ABORT. nexus v3.3.0
// writes its ABORT and then closes the peer, which discards unsent messages
// (router/router.go sendAbort, transport/websocketpeer.go Close), so now and then only
// the close frame arrives. Such attempts are retried (bounded); every attempt must fail,
// and the ABORT, once it arrives, is returned.
func joinExpectAbort(t *testing.T, url string, cfg Config) *AbortError {
	t.Helper()
	var lastErr error
	for range 10 {
		s, err := dialJoin(testCtx(t), url, JSON, cfg)
		if err == nil {
			s.Close(context.Background())
			t.Fatal("join succeeded, want an ABORT")
		}
		var ae *AbortError
		if errors.As(err, &ae) {
			return ae
		}
		if !strings.Contains(err.Error(), "close 1000") {
			t.Fatalf("join = %v, want *AbortError", err)
		}
		lastErr = err
	}
	t.Fatalf("no ABORT in 10 attempts: %v", lastErr)
	return nil
}

func TestNexusAbortUnknownRealm(t *testing.T) {
	url := startNexus(t)
	if ae := joinExpectAbort(t, url, Config{Realm: "no.such.realm"}); ae.Reason != string(nxwamp.ErrNoSuchRealm) {
		t.Fatalf("join unknown realm: %v", ae)
	}
}

// TestNexusPPTPublish: Payload PassThru Mode (wire.md §2) through nexus. A publisher that
// announced payload_passthru_mode may publish ppt_* options with args [binary]; nexus
// copies the options into EVENT details and forwards the bytes untouched. Without the
// announcement nexus aborts the publisher with wamp.error.protocol_violation.
func TestNexusPPTPublish(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	ppt := Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_cipher": "xsalsa20poly1305", "ppt_keyid": "k1"}
	payload := []byte{0xa2, 0x64, 'a', 'r', 'g', 's', 0x80, 0x00, 0xff}
	for _, ser := range Serializers {
		t.Run(ser.Name(), func(t *testing.T) {
			sub := joinWith(t, url, ser, Config{Features: map[string]bool{"payload_passthru_mode": true}})
			pub := joinWith(t, url, ser, Config{Features: map[string]bool{"payload_passthru_mode": true}})
			if !pub.RouterFeature("broker", "payload_passthru_mode") {
				t.Fatal("nexus did not announce payload_passthru_mode")
			}
			events := make(chan *EventInfo, 1)
			topic := "com.ppt." + ser.Name()
			if _, err := sub.Subscribe(ctx, topic, nil, func(ev *EventInfo) { events <- ev }); err != nil {
				t.Fatal(err)
			}
			opts := maps.Clone(ppt)
			opts["acknowledge"] = true
			if _, err := pub.Publish(ctx, topic, opts, List{payload}, nil); err != nil {
				t.Fatal(err)
			}
			ev := recvWithin(t, events, "PPT event")
			for k, v := range ppt {
				if ev.Details[k] != v {
					t.Errorf("details[%s] = %v, want %v", k, ev.Details[k], v)
				}
			}
			if !reflect.DeepEqual(ev.Args, List{payload}) {
				t.Fatalf("args %#v", ev.Args)
			}

			// The same publication without ppt_* is fine for a session without the
			// feature; with them, nexus ends the session.
			plain := joinWith(t, url, ser, Config{})
			if _, err := plain.Publish(ctx, topic, Dict{"acknowledge": true}, List{payload}, nil); err != nil {
				t.Fatal(err)
			}
			recvWithin(t, events, "plain event")
			if _, err := plain.Publish(ctx, topic, maps.Clone(ppt), List{payload}, nil); err != nil {
				t.Fatal(err) // sent; the answer is the ABORT
			}
			recvWithin(t, plain.Done(), "session end")
			// nexus queues the ABORT and then closes the peer, discarding its queue
			// (transport/websocketpeer.go Close), so the ABORT is sometimes lost and
			// only the close frame arrives. Either way the router ended the session;
			// when the ABORT does arrive it must name the protocol violation.
			var ae *AbortError
			switch err := plain.Err(); {
			case errors.As(err, &ae):
				if ae.Reason != string(nxwamp.ErrProtocolViolation) {
					t.Fatalf("ABORT reason %q", ae.Reason)
				}
			case err != nil && strings.Contains(err.Error(), "close 1000") && !errors.Is(err, ErrSessionClosed):
				t.Logf("nexus closed the connection before its ABORT was written: %v", err)
			default:
				t.Fatalf("publisher without the feature ended with %v", err)
			}
			if pub.Err() != nil {
				t.Fatalf("publisher with the feature was ended too: %v", pub.Err())
			}
			waitNexusSessionGone(t, pub, plain.ID())
		})
	}
}

// waitNexusSessionGone polls nexus's session meta API (bounded) until the router has
// finished with session id. nexus v3.3.0 panics ("send on closed channel",
// router/realm.go) if the router is closed while it is still tearing down a session it
// aborted itself, which is what the PPT test provokes; waiting here keeps the cleanup's
// router.Close away from that window.
func waitNexusSessionGone(t *testing.T, observer *Session, id ID) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := observer.Call(testCtx(t), "wamp.session.get", nil, List{int64(id)}, nil, nil)
		var re *RPCError
		if errors.As(err, &re) && re.URI == string(nxwamp.ErrNoSuchSession) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nexus still knows session %d: %v", id, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testKeyStore is nexus's view of our test users (router/auth KeyStore).
type testKeyStore struct {
	salted  bool
	signPub ed25519.PublicKey
}

const (
	testTicket = "ticket-for-joe"
	testSecret = "squeamish ossifrage"
	testSalt   = "salt123"
)

func (ks *testKeyStore) AuthKey(authid, method string) ([]byte, error) {
	if authid != "joe" {
		return nil, errors.New("no such user")
	}
	switch method {
	case "ticket":
		return []byte(testTicket), nil
	case "wampcra":
		if !ks.salted {
			return []byte(testSecret), nil
		}
		// The router side of salted WAMP-CRA, as nexus's own tests store it: the
		// base64 of the PBKDF2-derived key is the HMAC key.
		dk, err := pbkdf2.Key(sha256.New, testSecret, []byte(testSalt), 1000, 32)
		if err != nil {
			return nil, err
		}
		return []byte(base64.StdEncoding.EncodeToString(dk)), nil
	case "cryptosign":
		return ks.signPub, nil
	}
	return nil, errors.New("unknown method")
}

func (ks *testKeyStore) PasswordInfo(string) (string, int, int) {
	if ks.salted {
		return testSalt, 32, 1000
	}
	return "", 0, 0
}
func (ks *testKeyStore) AuthRole(authid string) (string, error) {
	if authid != "joe" {
		return "", errors.New("no such user")
	}
	return "user", nil
}
func (ks *testKeyStore) Provider() string { return "cbx-test" }

func TestNexusAuth(t *testing.T) {
	signKey := ed25519.NewKeyFromSeed(bytesOf(0x42, 32))
	otherKey := ed25519.NewKeyFromSeed(bytesOf(0x43, 32))
	plainKS := &testKeyStore{signPub: signKey.Public().(ed25519.PublicKey)}
	saltedKS := &testKeyStore{salted: true}
	url := startNexus(t,
		&router.RealmConfig{URI: "cbx.auth", Authenticators: []auth.Authenticator{
			auth.NewTicketAuthenticator(plainKS, time.Second),
			auth.NewCRAuthenticator(plainKS, time.Second),
			auth.NewCryptoSignAuthenticator(plainKS, time.Second),
		}},
		&router.RealmConfig{URI: "cbx.auth.salted", Authenticators: []auth.Authenticator{
			auth.NewCRAuthenticator(saltedKS, time.Second),
		}},
	)
	cases := []struct {
		name, realm, method string
		cfg                 Config
		ok                  bool
	}{
		{"ticket", "cbx.auth", "ticket", Config{Ticket: testTicket}, true},
		{"ticket wrong", "cbx.auth", "ticket", Config{Ticket: "guess"}, false},
		{"wampcra", "cbx.auth", "wampcra", Config{WampcraSecret: testSecret}, true},
		{"wampcra wrong", "cbx.auth", "wampcra", Config{WampcraSecret: "guess"}, false},
		{"wampcra salted", "cbx.auth.salted", "wampcra", Config{WampcraSecret: testSecret}, true},
		{"wampcra salted wrong", "cbx.auth.salted", "wampcra", Config{WampcraSecret: "guess"}, false},
		{"cryptosign", "cbx.auth", "cryptosign", Config{CryptosignKey: signKey}, true},
		{"cryptosign wrong key", "cbx.auth", "cryptosign", Config{CryptosignKey: otherKey}, false},
		{"anonymous refused", "cbx.auth", "", Config{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Realm = c.realm
			c.cfg.AuthID = "joe"
			if !c.ok {
				if ae := joinExpectAbort(t, url, c.cfg); ae.Reason != string(nxwamp.ErrAuthenticationFailed) {
					t.Fatalf("ABORT %v", ae)
				}
				return
			}
			s, err := dialJoin(testCtx(t), url, JSON, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			d := s.Welcome().Details
			if d["authmethod"] != c.method || d["authid"] != "joe" || d["authrole"] != "user" {
				t.Fatalf("WELCOME details %v", d)
			}
		})
	}
	if _, err := dialJoin(testCtx(t), url, JSON, Config{Realm: "cbx.auth", Ticket: "x", WampcraSecret: "y"}); err == nil {
		t.Fatal("two auth methods accepted")
	}
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// ourGoroutines lists running goroutines that are inside this package's session or
// transport code (not the tests themselves).
func ourGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "internal/wamp.(*Session)") || strings.Contains(g, "internal/wamp.(*Conn)") {
			out = append(out, g)
		}
	}
	return out
}

// waitNoOurGoroutines polls (bounded) until none of our goroutines is left.
func waitNoOurGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := ourGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNexusCloseLeavesNoGoroutines: after Close, the session's and the connection's
// goroutines (reader, event loop, keepalive, handlers) are gone.
func TestNexusCloseLeavesNoGoroutines(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	var sessions []*Session
	for _, ser := range Serializers {
		s, err := dialJoin(ctx, url, ser, Config{})
		if err != nil {
			t.Fatal(err)
		}
		sessions = append(sessions, s)
	}
	got := make(chan *EventInfo, 1)
	if _, err := sessions[0].Subscribe(ctx, "com.t", nil, func(ev *EventInfo) { got <- ev }); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions[1].Register(ctx, "com.p", nil, func(ctx context.Context, _ *InvocationInfo) (*YieldResult, error) {
		return &YieldResult{Args: List{"ok"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions[2].Publish(ctx, "com.t", Dict{"acknowledge": true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	recvWithin(t, got, "event")
	if _, err := sessions[2].Call(ctx, "com.p", nil, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(ourGoroutines()) == 0 {
		t.Fatal("goroutine detection finds nothing while sessions run")
	}
	for _, s := range sessions {
		if err := s.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		select {
		case <-s.Done():
		default:
			t.Fatal("Done not closed after Close")
		}
		if !errors.Is(s.Err(), ErrSessionClosed) {
			t.Fatalf("Err after Close = %v", s.Err())
		}
		if err := s.Close(ctx); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	}
	waitNoOurGoroutines(t)
}

// TestNexusHandlersMayCallSession: handlers do not run on the reading goroutine, so an
// event handler can make a call and a callee can publish with acknowledgement (both wait
// for replies that the reader must deliver) without deadlocking.
func TestNexusHandlersMayCallSession(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	a := joinWith(t, url, JSON, Config{})
	b := joinWith(t, url, CBOR, Config{})
	if _, err := a.Register(ctx, "com.echo", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
		if _, err := a.Publish(ctx, "com.audit", Dict{"acknowledge": true}, inv.Args, nil); err != nil {
			return nil, err
		}
		return &YieldResult{Args: inv.Args}, nil
	}); err != nil {
		t.Fatal(err)
	}
	results := make(chan any, 2)
	if _, err := b.Subscribe(ctx, "com.audit", nil, func(ev *EventInfo) { results <- ev.Args[0] }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "com.trigger", nil, func(ev *EventInfo) {
		res, err := b.Call(ctx, "com.echo", nil, List{"ping"}, nil, nil)
		if err != nil {
			results <- err
			return
		}
		results <- res.Args[0]
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Publish(ctx, "com.trigger", Dict{"acknowledge": true}, nil, nil); err != nil {
		t.Fatal(err)
	}
	got := map[any]int{}
	for range 2 {
		got[recvWithin(t, results, "handler result")]++
	}
	if got["ping"] != 2 {
		t.Fatalf("results %v", got)
	}
}

// A callee that closes while a handler is still finishing must send that handler's YIELD
// before its GOODBYE: `cbx register --count 1` closes right after its last call.
func TestNexusCloseSendsPendingReplyFirst(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	callee := joinWith(t, url, JSON, Config{})
	caller := joinWith(t, url, JSON, Config{})
	started := make(chan struct{})
	if _, err := callee.Register(ctx, "com.example.last", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
		close(started)
		time.Sleep(100 * time.Millisecond) // still working when Close is called
		return &YieldResult{Args: List{"last answer"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		res *ResultInfo
		err error
	}
	got := make(chan outcome, 1)
	go func() {
		res, err := caller.Call(ctx, "com.example.last", nil, nil, nil, nil)
		got <- outcome{res, err}
	}()
	recvWithin(t, started, "the invocation")
	if err := callee.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	o := recvWithin(t, got, "the call's outcome")
	if o.err != nil || !reflect.DeepEqual(o.res.Args, List{"last answer"}) {
		t.Fatalf("the caller got %+v, %v; want the handler's result", o.res, o.err)
	}
}

// TestNexusRegisterInline: a handler registered with RegisterInline runs on the read loop
// and answers like any other: results, progressive results, errors, a panic, and, when
// the handler's own return triggers Close (cbx register --echo --count), its YIELD still
// goes before the GOODBYE.
func TestNexusRegisterInline(t *testing.T) {
	url := startNexus(t)
	ctx := testCtx(t)
	callee := joinWith(t, url, MsgPack, Config{})
	caller := joinWith(t, url, JSON, Config{})
	var ran atomic.Bool
	last := make(chan struct{})
	if _, err := callee.RegisterInline(ctx, "com.inline", nil, func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error) {
		ran.Store(true)
		switch inv.Args[0] {
		case "progress":
			for i := range int64(2) {
				if err := inv.Progress(List{i}, nil); err != nil {
					return nil, err
				}
			}
		case "error":
			return nil, &RPCError{URI: "com.inline.error", Args: List{"no"}}
		case "panic":
			panic("inline")
		case "last":
			// As cbx register does after its last call: the command ends, whose Close
			// must send this reply first.
			defer close(last)
		}
		return &YieldResult{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := caller.Call(ctx, "com.inline", nil, List{"ping", int64(7)}, Dict{"k": "v"}, nil)
	if err != nil || !reflect.DeepEqual(res.Args, List{"ping", int64(7)}) || !reflect.DeepEqual(res.Kwargs, Dict{"k": "v"}) {
		t.Fatalf("echo: %+v, %v", res, err)
	}
	if !ran.Load() {
		t.Fatal("the handler did not run")
	}
	var progress []List
	res, err = caller.Call(ctx, "com.inline", nil, List{"progress"}, nil, func(r *ResultInfo) { progress = append(progress, r.Args) })
	if err != nil || !reflect.DeepEqual(progress, []List{{int64(0)}, {int64(1)}}) || !reflect.DeepEqual(res.Args, List{"progress"}) {
		t.Fatalf("progress: %v, %+v, %v", progress, res, err)
	}
	var rpc *RPCError
	if _, err := caller.Call(ctx, "com.inline", nil, List{"error"}, nil, nil); !errors.As(err, &rpc) || rpc.URI != "com.inline.error" {
		t.Fatalf("error: %v", err)
	}
	if _, err := caller.Call(ctx, "com.inline", nil, List{"panic"}, nil, nil); !errors.As(err, &rpc) || rpc.URI != ErrURIRuntime {
		t.Fatalf("panic: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		res, err := caller.Call(ctx, "com.inline", nil, List{"last"}, nil, nil)
		if err == nil && !reflect.DeepEqual(res.Args, List{"last"}) {
			err = fmt.Errorf("result %+v", res)
		}
		got <- err
	}()
	recvWithin(t, last, "the last invocation")
	if err := callee.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := recvWithin(t, got, "the last call's outcome"); err != nil {
		t.Fatalf("last call: %v", err)
	}
}

// BenchmarkCallEcho: one call at a time to an echo through nexus, in one process, its
// handler on a goroutine per invocation (Register) or on the read loop (RegisterInline).
func BenchmarkCallEcho(b *testing.B) {
	for _, inline := range []bool{false, true} {
		name := "goroutine"
		if inline {
			name = "inline"
		}
		b.Run(name, func(b *testing.B) {
			url := startNexus(b)
			ctx := context.Background()
			callee, err := dialJoin(ctx, url, MsgPack, Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer callee.Close(ctx)
			caller, err := dialJoin(ctx, url, MsgPack, Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer caller.Close(ctx)
			echo := func(_ context.Context, inv *InvocationInfo) (*YieldResult, error) {
				return &YieldResult{Args: inv.Args}, nil
			}
			register := callee.Register
			if inline {
				register = callee.RegisterInline
			}
			if _, err := register(ctx, "com.echo", nil, echo); err != nil {
				b.Fatal(err)
			}
			args := List{strings.Repeat("x", 100)}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := caller.Call(ctx, "com.echo", nil, args, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
