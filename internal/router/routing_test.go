package router

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// These tests drive real nexus routing through the adapter with message values (the
// in-memory harness): what a legacy (Autobahn cryptobox) peer, a PPT peer and a peer that
// announced nothing receive.

func sealedBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func encOpts(extra wamp.Dict) wamp.Dict {
	d := wamp.Dict{wamp.OptEncAlgo: "cryptobox", wamp.OptEncSerializer: "json"}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// hasNoPPT fails if d carries any ppt_* key.
func hasNoPPT(t *testing.T, what string, d wamp.Dict) {
	t.Helper()
	for k := range d {
		if strings.HasPrefix(k, "ppt_") {
			t.Errorf("%s: unexpected %s in %v", what, k, d)
		}
	}
}

// WELCOME announces the client's queue (--queue-size) as _cbx_queue_size, which
// cbx publish --stdin reads to choose its window; Autobahn ignores the key (the interop
// tests join through this router).
func TestWelcomeAnnouncesQueueSize(t *testing.T) {
	for _, tc := range []struct{ cfg, want int }{{0, DefaultOutQueueSize}, {1000, 1000}} {
		srv, _, _ := testServer(t, Config{OutQueueSize: tc.cfg})
		c := connect(t, srv)
		c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": autobahnRoles()}})
		w := expect[*wamp.Welcome](c)
		if got, ok := w.Details[wamp.OptCBXQueueSize].(int64); !ok || got != int64(tc.want) {
			t.Errorf("OutQueueSize %d: WELCOME %s = %v, want %d", tc.cfg, wamp.OptCBXQueueSize, w.Details[wamp.OptCBXQueueSize], tc.want)
		}
	}
}

func TestWelcomeAnnouncesPayloadFeatures(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	c := connect(t, srv)
	c.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": autobahnRoles()}})
	w := expect[*wamp.Welcome](c)
	r, _ := w.Details["roles"].(map[string]any)
	for _, role := range []string{"broker", "dealer"} {
		rd, _ := r[role].(map[string]any)
		f, _ := rd["features"].(map[string]any)
		for _, feat := range []string{wamp.FeaturePayloadTransparency, wamp.FeaturePayloadEncryptionCryptobox, wamp.FeaturePayloadPassthruMode} {
			if f[feat] != true {
				t.Errorf("WELCOME roles.%s.features.%s = %v, want true", role, feat, f[feat])
			}
		}
	}
	// nexus's own features are still there.
	if f := r["broker"].(map[string]any)["features"].(map[string]any); f["pattern_based_subscription"] != true {
		t.Errorf("broker lost nexus's features: %v", f)
	}
	if f := r["dealer"].(map[string]any)["features"].(map[string]any); f["progressive_call_results"] != true {
		t.Errorf("dealer lost nexus's features: %v", f)
	}
	if w.Details["authrole"] != "anonymous" || w.Details["authmethod"] != "anonymous" {
		t.Errorf("WELCOME auth details = %v", w.Details)
	}
}

func TestSealedPubSub(t *testing.T) {
	srv, trace, _ := testServer(t, Config{})
	payload := sealedBytes(t, 115)
	for _, tc := range []struct {
		name      string
		subRoles  wamp.Dict
		withKey   bool
		subPrefix bool
	}{
		{"autobahn subscriber", autobahnRoles(), false, false},
		{"subscriber announcing nothing", roles(), false, false},
		{"ppt subscriber", pptRoles(), false, false},
		{"enc_key kept", autobahnRoles(), true, false},
		{"prefix subscription", autobahnRoles(), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := "com.example.secure." + strings.ReplaceAll(tc.name, " ", "_")
			sub := join(t, srv, tc.subRoles)
			pub := join(t, srv, autobahnRoles())
			subTopic, subOpts := topic, wamp.Dict(nil)
			if tc.subPrefix {
				subTopic, subOpts = "com.example.secure.", wamp.Dict{"match": "prefix"}
			}
			subID := sub.subscribe(subTopic, subOpts)
			opts := encOpts(wamp.Dict{"acknowledge": true})
			if tc.withKey {
				opts[wamp.OptEncKey] = "key-id-1"
			}
			pub.send(&wamp.Publish{Request: pub.nextReq(), Options: opts, Topic: topic, Payload: wamp.Payload{Bare: payload}})
			ack := expect[*wamp.Published](pub)

			ev := expect[*wamp.Event](sub)
			if ev.Subscription != subID || ev.Publication != ack.Publication {
				t.Errorf("EVENT ids = %d/%d, want %d/%d", ev.Subscription, ev.Publication, subID, ack.Publication)
			}
			if !bytes.Equal(ev.Bare, payload) || ev.Args != nil || ev.Kwargs != nil {
				t.Fatalf("EVENT payload = %+v, want the bare %d bytes", ev.Payload, len(payload))
			}
			if ev.Details[wamp.OptEncAlgo] != "cryptobox" || ev.Details[wamp.OptEncSerializer] != "json" {
				t.Errorf("EVENT details = %v, want enc_algo/enc_serializer", ev.Details)
			}
			if got, want := ev.Details[wamp.OptEncKey], map[bool]any{true: "key-id-1", false: nil}[tc.withKey]; got != want {
				t.Errorf("EVENT enc_key = %v, want %v", got, want)
			}
			if tc.subPrefix && ev.Details["topic"] != topic {
				t.Errorf("EVENT details.topic = %v, want %q", ev.Details["topic"], topic)
			}
			hasNoPPT(t, "EVENT details", ev.Details)
		})
	}
	if !strings.Contains(trace.String(), "payload=<sealed 115 bytes base64:") {
		t.Errorf("trace does not show the sealed payload as opaque bytes:\n%s", trace)
	}
}

// TestSealedPublishOptionsAsPlain: a sealed PUBLISH reaches exactly the subscribers a
// plain one with the same options reaches, on the same subscriptions, with the same
// Details plus enc_algo/enc_serializer: nexus applies every option (exclusion,
// eligibility, publisher disclosure, matching policies) to both alike, whatever form the
// sealed payload travels in through it.
func TestSealedPublishOptionsAsPlain(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	const topic = "com.example.secure.opts"
	const marker = "com.example.marker"
	pub := join(t, srv, roles(wamp.FeaturePayloadTransparency, "publisher_identification"))
	exact := join(t, srv, roles("publisher_identification"))
	prefix := join(t, srv, autobahnRoles())
	wildcard := join(t, srv, pptRoles())
	subs := []*client{pub, exact, prefix, wildcard}
	pub.subscribe(topic, nil)
	exact.subscribe(topic, nil)
	prefix.subscribe("com.example.secure.", wamp.Dict{"match": "prefix"})
	wildcard.subscribe("com.example..opts", wamp.Dict{"match": "wildcard"})
	for _, c := range subs {
		c.subscribe(marker, nil)
	}
	// received publishes (plain or sealed) with opts, then a marker, and returns what each
	// subscriber got before the marker, in order.
	received := func(opts wamp.Dict, sealed bool) [][]*wamp.Event {
		t.Helper()
		o := wamp.Dict{wamp.OptAcknowledge: true}
		for k, v := range opts {
			o[k] = v
		}
		pl := wamp.Payload{Args: wamp.List{"x"}}
		if sealed {
			o = encOpts(o)
			pl = wamp.Payload{Bare: sealedBytes(t, 40)}
		}
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: o, Topic: topic, Payload: pl})
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{wamp.OptAcknowledge: true, "exclude_me": false}, Topic: marker})
		got := make([][]*wamp.Event, len(subs))
		for i, c := range subs {
			acks := 0
			for {
				switch m := c.next().(type) {
				case *wamp.Published:
					acks++
					continue
				case *wamp.Event:
					if m.Args == nil && m.Bare == nil { // the marker
						// The publisher's PUBLISHEDs come from another nexus goroutine
						// than its EVENTs, in any order relative to them.
						for ; c == pub && acks < 2; acks++ {
							expect[*wamp.Published](c)
						}
						goto next
					}
					got[i] = append(got[i], m)
				default:
					t.Fatalf("unexpected %s", summarize(m))
				}
			}
		next:
		}
		return got
	}
	for _, opts := range []wamp.Dict{
		nil,
		{"exclude_me": false},
		{"disclose_me": true},
		{"disclose_me": true, "exclude_me": false},
		{"exclude": wamp.List{int64(exact.session)}},
		{"eligible": wamp.List{int64(prefix.session), int64(wildcard.session)}},
		{"exclude_me": false, "eligible": wamp.List{int64(pub.session), int64(exact.session)}, "exclude": wamp.List{int64(exact.session)}},
	} {
		plain, sealed := received(opts, false), received(opts, true)
		for i := range subs {
			if len(plain[i]) != len(sealed[i]) {
				t.Fatalf("options %v, subscriber %d: %d plain events, %d sealed", opts, i, len(plain[i]), len(sealed[i]))
			}
			for j, pe := range plain[i] {
				se := sealed[i][j]
				want := wamp.Dict{}
				for k, v := range pe.Details {
					want[k] = v
				}
				want[wamp.OptEncAlgo], want[wamp.OptEncSerializer] = "cryptobox", "json"
				if se.Subscription != pe.Subscription || !reflect.DeepEqual(se.Details, want) {
					t.Errorf("options %v, subscriber %d: sealed EVENT %s, plain %s", opts, i, summarize(se), summarize(pe))
				}
			}
		}
	}
}

func TestSealedRPC(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	callee := join(t, srv, autobahnRoles())
	caller := join(t, srv, autobahnRoles())
	regID := callee.register("com.example.secure.", wamp.Dict{"match": "prefix"})

	// CALL → INVOCATION, sealed.
	callPayload := sealedBytes(t, 90)
	callReq := caller.nextReq()
	caller.send(&wamp.Call{Request: callReq, Options: encOpts(wamp.Dict{"receive_progress": true}),
		Procedure: "com.example.secure.add2", Payload: wamp.Payload{Bare: callPayload}})
	inv := expect[*wamp.Invocation](callee)
	if inv.Registration != regID || !bytes.Equal(inv.Bare, callPayload) {
		t.Fatalf("INVOCATION = %s", summarize(inv))
	}
	if inv.Details[wamp.OptEncAlgo] != "cryptobox" || inv.Details[wamp.OptEncSerializer] != "json" ||
		inv.Details["procedure"] != "com.example.secure.add2" || inv.Details["receive_progress"] != true {
		t.Errorf("INVOCATION details = %v", inv.Details)
	}
	hasNoPPT(t, "INVOCATION details", inv.Details)

	// Progressive YIELDs → RESULTs, each sealed separately, then the final one.
	var sent [][]byte
	for i := range 4 {
		p := sealedBytes(t, 60+i)
		sent = append(sent, p)
		opts := encOpts(nil)
		if i < 3 {
			opts["progress"] = true
		}
		callee.send(&wamp.Yield{Request: inv.Request, Options: opts, Payload: wamp.Payload{Bare: p}})
	}
	for i := range 4 {
		res := expect[*wamp.Result](caller)
		if res.Request != callReq || !bytes.Equal(res.Bare, sent[i]) {
			t.Fatalf("RESULT %d = %s", i, summarize(res))
		}
		if res.Details[wamp.OptEncAlgo] != "cryptobox" || res.Details[wamp.OptEncSerializer] != "json" {
			t.Errorf("RESULT %d details = %v", i, res.Details)
		}
		if progress, _ := res.Details["progress"].(bool); progress != (i < 3) {
			t.Errorf("RESULT %d progress = %v", i, res.Details["progress"])
		}
		hasNoPPT(t, "RESULT details", res.Details)
	}

	// A sealed ERROR from the callee reaches the caller sealed, under its own URI.
	callReq = caller.nextReq()
	caller.send(&wamp.Call{Request: callReq, Options: encOpts(nil), Procedure: "com.example.secure.failme",
		Payload: wamp.Payload{Bare: sealedBytes(t, 70)}})
	inv = expect[*wamp.Invocation](callee)
	errPayload := sealedBytes(t, 80)
	callee.send(&wamp.Error{Type: wamp.INVOCATION, Request: inv.Request, Details: encOpts(nil),
		Error: "com.example.secure.error.oops", Payload: wamp.Payload{Bare: errPayload}})
	e := expect[*wamp.Error](caller)
	if e.Type != wamp.CALL || e.Request != callReq || e.Error != "com.example.secure.error.oops" || !bytes.Equal(e.Bare, errPayload) {
		t.Fatalf("ERROR = %s", summarize(e))
	}
	if e.Details[wamp.OptEncAlgo] != "cryptobox" || e.Details[wamp.OptEncSerializer] != "json" {
		t.Errorf("ERROR details = %v", e.Details)
	}
	hasNoPPT(t, "ERROR details", e.Details)

	// A plaintext error for a sealed call stays plaintext (wire.md §1.5).
	callReq = caller.nextReq()
	caller.send(&wamp.Call{Request: callReq, Options: encOpts(nil), Procedure: "com.example.secure.failme",
		Payload: wamp.Payload{Bare: sealedBytes(t, 70)}})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Error{Type: wamp.INVOCATION, Request: inv.Request, Details: wamp.Dict{},
		Error: "com.example.error.plain", Payload: wamp.Payload{Args: wamp.List{"boom", int64(1)}}})
	e = expect[*wamp.Error](caller)
	if e.Error != "com.example.error.plain" || e.IsBare() || !reflect.DeepEqual(e.Args, wamp.List{"boom", int64(1)}) {
		t.Fatalf("plain ERROR = %s", summarize(e))
	}
	if _, ok := e.Details[wamp.OptEncAlgo]; ok {
		t.Errorf("plain ERROR got enc_algo: %v", e.Details)
	}
}

// A sealed CALL to one of nexus's meta procedures (wamp.*, whose only callee is the
// realm's meta session: nexus refuses anyone else's REGISTER of a wamp. URI) is refused
// with feature_not_supported, as it was when every sealed CALL travelled in the PPT form
// (the meta session announces no payload_passthru_mode): the meta procedures cannot read
// the sealed arguments, and must not run without them. Carried as a legacyPayload, they
// ran on an argument they could not read, wamp.registration.list answering the sealed
// call with a plaintext RESULT.
func TestSealedCallToMetaProcedureRefused(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	caller := join(t, srv, autobahnRoles())
	for _, proc := range []string{"wamp.registration.list", "wamp.subscription.list", "wamp.session.count", "wamp.session.get"} {
		req := caller.nextReq()
		caller.send(&wamp.Call{Request: req, Options: encOpts(nil), Procedure: proc, Payload: wamp.Payload{Bare: sealedBytes(t, 90)}})
		m := caller.next()
		if e, ok := m.(*wamp.Error); !ok || e.Type != wamp.CALL || e.Request != req || e.Error != wamp.ErrURIFeatureNotSupported {
			t.Errorf("sealed CALL to %s: got %s, want ERROR %s", proc, summarize(m), wamp.ErrURIFeatureNotSupported)
		}
	}
}

func TestPlainMessagesUnchanged(t *testing.T) {
	srv, trace, _ := testServer(t, Config{})
	sub := join(t, srv, roles())
	pub := join(t, srv, roles())
	sub.subscribe("com.example.plain", nil)
	args := wamp.List{"hello-plain", int64(42), []byte{0, 1, 2}, wamp.Dict{"nested": wamp.List{1.5, true, nil}}}
	kwargs := wamp.Dict{"k": "v", "bin": []byte("xyz")}
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{}, Topic: "com.example.plain",
		Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
	ev := expect[*wamp.Event](sub)
	if !reflect.DeepEqual(ev.Args, args) || !reflect.DeepEqual(ev.Kwargs, kwargs) || ev.IsBare() {
		t.Errorf("EVENT payload = %+v, want %v %v", ev.Payload, args, kwargs)
	}
	if len(ev.Details) != 0 {
		t.Errorf("EVENT details = %v, want {}", ev.Details)
	}
	if !containsLine(trace.String(), "rx ", "PUBLISH", `"hello-plain"`, "<binary 3 bytes>") {
		t.Errorf("trace does not show the plain args:\n%s", trace)
	}
}

func TestPPTPassesUnchanged(t *testing.T) {
	srv, trace, _ := testServer(t, Config{})
	sub := join(t, srv, pptRoles())
	pub := join(t, srv, pptRoles())
	callee := join(t, srv, pptRoles())
	sub.subscribe("com.example.ppt", nil)
	callee.register("com.example.ppt.proc", nil)

	ppt := wamp.Dict{wamp.OptPPTScheme: "wamp", wamp.OptPPTSerializer: "cbor", wamp.OptPPTCipher: "xsalsa20poly1305", wamp.OptPPTKeyID: "k1"}
	body := sealedBytes(t, 50)
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: ppt, Topic: "com.example.ppt", Payload: wamp.Payload{Args: wamp.List{body}}})
	ev := expect[*wamp.Event](sub)
	if !reflect.DeepEqual(ev.Args, wamp.List{body}) || ev.IsBare() {
		t.Fatalf("EVENT = %s", summarize(ev))
	}
	for k, v := range ppt {
		if ev.Details[k] != v {
			t.Errorf("EVENT details[%s] = %v, want %v", k, ev.Details[k], v)
		}
	}
	if _, ok := ev.Details[wamp.OptEncAlgo]; ok {
		t.Errorf("PPT EVENT got enc_algo: %v", ev.Details)
	}

	pub.send(&wamp.Call{Request: pub.nextReq(), Options: ppt, Procedure: "com.example.ppt.proc", Payload: wamp.Payload{Args: wamp.List{body}}})
	inv := expect[*wamp.Invocation](callee)
	if !reflect.DeepEqual(inv.Args, wamp.List{body}) || inv.Details[wamp.OptPPTScheme] != "wamp" || inv.Details[wamp.OptPPTKeyID] != "k1" {
		t.Fatalf("INVOCATION = %s", summarize(inv))
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: ppt, Payload: wamp.Payload{Args: wamp.List{body}}})
	res := expect[*wamp.Result](pub)
	if !reflect.DeepEqual(res.Args, wamp.List{body}) || res.Details[wamp.OptPPTScheme] != "wamp" || res.Details[wamp.OptPPTCipher] != "xsalsa20poly1305" {
		t.Fatalf("RESULT = %s", summarize(res))
	}
	if !strings.Contains(trace.String(), `payload=<ppt scheme="wamp" 50 bytes base64:`) {
		t.Errorf("trace does not show the PPT payload as opaque:\n%s", trace)
	}
}

func TestPPTRulesFollowRealAnnouncement(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	ppt := wamp.Dict{wamp.OptPPTScheme: "wamp", wamp.OptPPTSerializer: "cbor"}
	body := wamp.Payload{Args: wamp.List{[]byte{1, 2, 3}}}

	t.Run("publisher without the feature is aborted", func(t *testing.T) {
		pub := join(t, srv, roles())
		pub.send(&wamp.Publish{Request: 1, Options: ppt, Topic: "com.example.x", Payload: body})
		a := expect[*wamp.Abort](pub)
		if a.Reason != wamp.ErrURIProtocol {
			t.Errorf("ABORT reason = %q", a.Reason)
		}
		if code := pub.waitClosed(); code != closeProtocol {
			t.Errorf("close code = %d, want %d", code, closeProtocol)
		}
	})
	t.Run("callee without the feature is not invoked", func(t *testing.T) {
		callee := join(t, srv, autobahnRoles())
		caller := join(t, srv, pptRoles())
		callee.register("com.example.nonppt.proc", nil)
		caller.send(&wamp.Call{Request: 7, Options: ppt, Procedure: "com.example.nonppt.proc", Payload: body})
		e := expect[*wamp.Error](caller)
		if e.Type != wamp.CALL || e.Request != 7 || e.Error != wamp.ErrURIFeatureNotSupported {
			t.Errorf("caller got %s, want ERROR feature_not_supported", summarize(e))
		}
		// The callee is still usable and saw nothing of that call.
		caller.send(&wamp.Call{Request: 8, Options: wamp.Dict{}, Procedure: "com.example.nonppt.proc"})
		inv := expect[*wamp.Invocation](callee)
		if inv.IsBare() || len(inv.Args) != 0 {
			t.Errorf("INVOCATION = %s", summarize(inv))
		}
	})
	t.Run("caller without the feature gets an error, not a PPT result", func(t *testing.T) {
		callee := join(t, srv, pptRoles())
		caller := join(t, srv, roles())
		callee.register("com.example.pptcallee.proc", nil)
		caller.send(&wamp.Call{Request: 3, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.pptcallee.proc"})
		inv := expect[*wamp.Invocation](callee)
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{wamp.OptPPTScheme: "wamp", wamp.OptPPTSerializer: "cbor", "progress": true}, Payload: body})
		callee.send(&wamp.Yield{Request: inv.Request, Options: ppt, Payload: body})
		e := expect[*wamp.Error](caller)
		if e.Type != wamp.CALL || e.Request != 3 || e.Error != wamp.ErrURIFeatureNotSupported {
			t.Errorf("caller got %s, want ERROR feature_not_supported", summarize(e))
		}
		// The final RESULT of that call is swallowed: the next message is for the next call.
		caller.send(&wamp.Call{Request: 4, Options: wamp.Dict{}, Procedure: "com.example.pptcallee.proc"})
		inv = expect[*wamp.Invocation](callee)
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"ok"}}})
		res := expect[*wamp.Result](caller)
		if res.Request != 4 || !reflect.DeepEqual(res.Args, wamp.List{"ok"}) {
			t.Errorf("caller got %s, want RESULT 4", summarize(res))
		}
	})
}

func TestProtocolViolationsAbort(t *testing.T) {
	srv, _, logs := testServer(t, Config{})
	for _, tc := range []struct {
		name string
		msg  wamp.Message
	}{
		{"reserved scheme", &wamp.Publish{Request: 1, Options: wamp.Dict{wamp.OptPPTScheme: legacyScheme}, Topic: "a.b", Payload: wamp.Payload{Args: wamp.List{[]byte{1}}}}},
		{"non-string ppt_serializer", &wamp.Publish{Request: 1, Options: wamp.Dict{wamp.OptPPTScheme: "wamp", wamp.OptPPTSerializer: int64(5)}, Topic: "a.b", Payload: wamp.Payload{Args: wamp.List{[]byte{1}}}}},
		{"non-string ppt_scheme", &wamp.Call{Request: 1, Options: wamp.Dict{wamp.OptPPTScheme: true}, Procedure: "a.b"}},
		{"non-string enc_algo", &wamp.Publish{Request: 1, Options: wamp.Dict{wamp.OptEncAlgo: int64(1)}, Topic: "a.b", Payload: wamp.Payload{Bare: []byte{1}}}},
		{"bare publish with ppt", &wamp.Publish{Request: 1, Options: wamp.Dict{wamp.OptPPTKeyID: "k"}, Topic: "a.b", Payload: wamp.Payload{Bare: []byte{1}}}},
		{"bare publish with non-string enc_key", &wamp.Publish{Request: 1, Options: wamp.Dict{wamp.OptEncAlgo: "cryptobox", wamp.OptEncKey: []byte{1}}, Topic: "a.b", Payload: wamp.Payload{Bare: []byte{1}}}},
		{"bare with ppt", &wamp.Yield{Request: 1, Options: wamp.Dict{wamp.OptPPTScheme: "wamp"}, Payload: wamp.Payload{Bare: []byte{1}}}},
		{"router message from client", &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Payload: wamp.Payload{Bare: []byte{1}}}},
		{"second HELLO", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles()}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := join(t, srv, pptRoles())
			c.send(tc.msg)
			a := expect[*wamp.Abort](c)
			if a.Reason != wamp.ErrURIProtocol || a.Details["message"] == "" {
				t.Errorf("ABORT = %s", summarize(a))
			}
			if code := c.waitClosed(); code != closeProtocol {
				t.Errorf("close code = %d, want %d", code, closeProtocol)
			}
		})
	}
	if srv.Stats().Aborted < 9 {
		t.Errorf("Stats.Aborted = %d, want ≥ 9", srv.Stats().Aborted)
	}
	if !strings.Contains(logs.String(), "aborting: wamp.error.protocol_violation") {
		t.Errorf("aborts not logged:\n%s", logs)
	}
}

func TestHelloErrors(t *testing.T) {
	srv, _, _ := testServer(t, Config{Realms: []string{"realm1", "other"}})
	c := connect(t, srv)
	c.send(&wamp.Hello{Realm: "nope", Details: wamp.Dict{"roles": roles()}})
	if a := expect[*wamp.Abort](c); a.Reason != "wamp.error.no_such_realm" {
		t.Errorf("ABORT = %s", summarize(a))
	}
	c.waitClosed()

	c = connect(t, srv)
	c.send(&wamp.Hello{Realm: "other", Details: wamp.Dict{"roles": wamp.Dict{"bogus": wamp.Dict{}}}})
	if a := expect[*wamp.Abort](c); a.Reason != "wamp.error.no_such_role" {
		t.Errorf("ABORT = %s", summarize(a))
	}

	c = connect(t, srv)
	c.send(&wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "a.b"})
	if a := expect[*wamp.Abort](c); a.Reason != wamp.ErrURIProtocol {
		t.Errorf("ABORT = %s", summarize(a))
	}
}

func TestSlowSubscriberDrops(t *testing.T) {
	const queue = 4
	srv, trace, logs := testServer(t, Config{OutQueueSize: queue})
	slow := join(t, srv, autobahnRoles())
	probe := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	slow.subscribe("com.example.firehose", nil)
	probe.subscribe("com.example.barrier", nil)

	// The slow subscriber reads nothing while n events are published.
	const n = 50
	for i := range n {
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(wamp.Dict{"acknowledge": true}),
			Topic: "com.example.firehose", Payload: wamp.Payload{Bare: []byte{byte(i)}}})
		expect[*wamp.Published](pub) // the publisher is never held up
	}
	// nexus's broker handles publications one at a time, in order: once the probe has
	// the barrier event, every firehose event was handed to the slow session, and once
	// it is settled, queued or dropped.
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{}, Topic: "com.example.barrier"})
	expect[*wamp.Event](probe)
	settle(t, srv, slow)

	// The queue holds `queue` events and the writer one more, unless it had not yet
	// taken the first when the queue filled.
	d := srv.Stats().Dropped
	if d != n-queue-1 && d != n-queue {
		t.Fatalf("Stats.Dropped = %d, want %d or %d", d, n-queue-1, n-queue)
	}
	if !containsLine(trace.String(), "drop ", "EVENT outbound queue full (4 messages) dropped_total=") {
		t.Errorf("no drop line in the trace:\n%s", trace)
	}
	// Every drop was for the slow subscriber: the trace's running total for it ends at
	// Stats.Dropped, and its warnings add up to Stats.Dropped. The first drop is reported
	// at once; the others within the rate-limit window only when the window ends (the
	// session stays open, so nothing else can report them).
	if got := traceDropTotal(t, trace.String(), slow.session); got != d {
		t.Errorf("last dropped_total in the trace for session %d = %d, want Stats.Dropped = %d", slow.session, got, d)
	}
	if !containsLine(logs.String(), "is not reading fast enough: 1 message(s) dropped", "1 dropped in total") {
		t.Errorf("first drop not reported at once:\n%s", logs)
	}
	waitLoggedDrops(t, logs, slow.session, d)
	if strings.Contains(logs.String(), "!!! Dropped") {
		t.Errorf("nexus's drop line was not recognised (nexus log format changed?):\n%s", logs)
	}
	// The slow subscriber now gets what was queued: the first `queue` events, then (the
	// writer having taken one off the queue at some point) one later event, in order.
	last := -1
	for i := range n - int(d) {
		ev := expect[*wamp.Event](slow)
		if len(ev.Bare) != 1 || int(ev.Bare[0]) <= last || (i < queue && int(ev.Bare[0]) != i) {
			t.Errorf("slow subscriber event %d = %v (previous %d)", i, ev.Bare, last)
		}
		if len(ev.Bare) == 1 {
			last = int(ev.Bare[0])
		}
	}
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(nil), Topic: "com.example.firehose", Payload: wamp.Payload{Bare: []byte("last")}})
	if ev := expect[*wamp.Event](slow); string(ev.Bare) != "last" {
		t.Errorf("after catching up, slow subscriber got %v, want the new event", ev.Bare)
	}
	if got := srv.Stats().Dropped; got != d {
		t.Errorf("Stats.Dropped grew to %d after the subscriber caught up", got)
	}
}

func TestBlockedCalleeCounted(t *testing.T) {
	const queue = 2
	srv, trace, _ := testServer(t, Config{OutQueueSize: queue})
	callee := join(t, srv, autobahnRoles())
	caller := join(t, srv, autobahnRoles())
	callee.register("com.example.stuck", nil)
	// The callee reads nothing: the writer holds the first INVOCATION, the queue two
	// more, and the fourth call fails at once.
	caller.send(&wamp.Call{Request: caller.nextReq(), Options: wamp.Dict{}, Procedure: "com.example.stuck"})
	waitTraceLine(t, trace, "tx ", fmt.Sprintf("session=%d ", callee.session), " INVOCATION ")
	for range queue + 1 {
		caller.send(&wamp.Call{Request: caller.nextReq(), Options: wamp.Dict{}, Procedure: "com.example.stuck"})
	}
	e := expect[*wamp.Error](caller)
	if e.Error != "wamp.error.network_failure" || e.Request != queue+2 {
		t.Fatalf("caller got %s", summarize(e))
	}
	if msg, _ := e.Args[0].(string); !strings.Contains(msg, "the callee's outbound queue full (2 messages)") {
		t.Errorf("the error does not say why: %q", msg)
	}
	if d := srv.Stats().Dropped; d != 1 {
		t.Errorf("Stats.Dropped = %d, want 1", d)
	}
	if !containsLine(trace.String(), "drop ", fmt.Sprintf("session=%d INVOCATION outbound queue full (2 messages) dropped_total=1", callee.session)) {
		t.Errorf("no drop line in the trace:\n%s", trace)
	}
}

func TestCloseSendsGoodbye(t *testing.T) {
	srv, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c := join(t, srv, roles())
	pending := connect(t, srv) // connected, no HELLO yet
	done := make(chan error)
	go func() { done <- srv.Close() }()
	g := expect[*wamp.Goodbye](c)
	if g.Reason != "wamp.close.system_shutdown" {
		t.Errorf("GOODBYE reason = %q", g.Reason)
	}
	c.waitClosed()
	pending.waitClosed()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(testWait):
		t.Fatal("Close did not return")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := srv.Stats().Open; n != 0 {
		t.Errorf("Stats.Open = %d after Close", n)
	}
	// A connection after Close is refused.
	late := connect(t, srv)
	if code := late.waitClosed(); code != closeGoingAway {
		t.Errorf("late connection close code = %d, want %d", code, closeGoingAway)
	}
}

// TestMetaAPI calls nexus's own meta procedures and subscribes to its meta events: their
// values are nexus types (ID, URI, Dict, []ID) and must reach the client in
// internal/wamp's value model.
func TestMetaAPI(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	watcher := join(t, srv, roles())
	watcher.subscribe("wamp.session.on_join", nil)
	callee := join(t, srv, roles())
	// nexus publishes on_join asynchronously, so the watcher's own may come first.
	for {
		ev := expect[*wamp.Event](watcher)
		if len(ev.Args) != 1 {
			t.Fatalf("on_join EVENT = %s", summarize(ev))
		}
		info, _ := ev.Args[0].(map[string]any)
		sid, ok := info["session"].(int64)
		if !ok {
			t.Fatalf("on_join session = %#v, want an int64", info["session"])
		}
		if wamp.ID(sid) == callee.session {
			break
		}
		if wamp.ID(sid) != watcher.session {
			t.Fatalf("on_join for unknown session %d", sid)
		}
	}

	regID := callee.register("com.example.meta.proc", nil)
	callee.send(&wamp.Call{Request: callee.nextReq(), Options: wamp.Dict{}, Procedure: "wamp.registration.list"})
	res := expect[*wamp.Result](callee)
	if len(res.Args) != 1 {
		t.Fatalf("wamp.registration.list RESULT = %s", summarize(res))
	}
	lists, _ := res.Args[0].(map[string]any)
	exact, _ := lists["exact"].([]any)
	found := false
	for _, id := range exact {
		if _, ok := id.(int64); !ok {
			t.Errorf("registration ID %#v is not an int64", id)
		}
		found = found || id == any(int64(regID))
	}
	if !found {
		t.Errorf("registration.list exact = %#v, want it to contain %d", lists["exact"], regID)
	}
	if _, err := wamp.ToList(res); err != nil {
		t.Errorf("meta RESULT does not encode: %v", err)
	}
}

// TestNoGoroutinesLeft: after Close, nothing of the server keeps running.
func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, err := New(Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv.closeGrace = 50 * time.Millisecond
	pub := join(t, srv, autobahnRoles())
	sub := join(t, srv, autobahnRoles())
	sub.subscribe("com.example.leak", nil)
	pub.send(&wamp.Publish{Request: 1, Options: encOpts(nil), Topic: "com.example.leak", Payload: wamp.Payload{Bare: []byte{1}}})
	expect[*wamp.Event](sub)
	connect(t, srv) // one that never says HELLO
	pub.p.Close(closeNormal, "")
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testWait)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // bounded poll: goroutines finish after Close returns
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
