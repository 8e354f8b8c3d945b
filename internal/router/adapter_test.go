package router

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/testkit"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// The module's testdata/vectors/cryptobox.json ([testkit.VectorsFile]) holds messages produced
// by Autobahn|Python 22.7.1's own serializers, including the forwarded forms Crossbar.io
// sends (wire.md §6.4).

type vectorMessage struct {
	JSON       string `json:"json"`
	MsgPackHex string `json:"msgpack_hex"`
	CBORHex    string `json:"cbor_hex"`
}

type vector struct {
	Name      string
	Payload   []byte
	Sent      *vectorMessage // what the client sends
	Forwarded *vectorMessage // what Crossbar delivers, if the vector has it
}

type vectorKeys struct {
	OriginatorPrivB64 string `json:"originator_priv_b64"`
	OriginatorPubB64  string `json:"originator_pub_b64"`
	ResponderPrivB64  string `json:"responder_priv_b64"`
	ResponderPubB64   string `json:"responder_pub_b64"`
	Prefix            string `json:"keyring_prefix"`
}

func loadVectorFile(t testing.TB) (vs []vector, keys vectorKeys) {
	t.Helper()
	raw := testkit.CryptoboxVectors(t)
	var file struct {
		Keys    vectorKeys                   `json:"keys"`
		Vectors []map[string]json.RawMessage `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	for _, fields := range file.Vectors {
		var v vector
		var payloadHex string
		json.Unmarshal(fields["name"], &v.Name)
		json.Unmarshal(fields["payload_hex"], &payloadHex)
		var err error
		if v.Payload, err = hex.DecodeString(payloadHex); err != nil {
			t.Fatal(err)
		}
		for k, r := range fields {
			if !strings.HasSuffix(k, "wamp_message") {
				continue
			}
			var m vectorMessage
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatal(err)
			}
			if k == "wamp_message" {
				v.Sent = &m
			} else {
				v.Forwarded = &m
			}
		}
		if v.Sent == nil {
			t.Fatalf("vector %s has no wamp_message", v.Name)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		t.Fatal("no vectors")
	}
	return vs, file.Keys
}

// decodeVector decodes a vector message with serializer s.
func decodeVector(t testing.TB, s wamp.Serializer, m *vectorMessage) wamp.Message {
	t.Helper()
	var b []byte
	switch s.Name() {
	case "json":
		b = []byte(m.JSON)
	case "msgpack":
		b, _ = hex.DecodeString(m.MsgPackHex)
	case "cbor":
		b, _ = hex.DecodeString(m.CBORHex)
	}
	msg, err := s.Unmarshal(b)
	if err != nil {
		t.Fatalf("%s: %v", s.Name(), err)
	}
	return msg
}

// metaAndPayload returns a payload message's Options/Details and payload.
func metaAndPayload(m wamp.Message) (wamp.Dict, wamp.Payload) {
	switch m := m.(type) {
	case *wamp.Publish:
		return m.Options, m.Payload
	case *wamp.Call:
		return m.Options, m.Payload
	case *wamp.Yield:
		return m.Options, m.Payload
	case *wamp.Error:
		return m.Details, m.Payload
	case *wamp.Event:
		return m.Details, m.Payload
	case *wamp.Invocation:
		return m.Details, m.Payload
	case *wamp.Result:
		return m.Details, m.Payload
	}
	return nil, wamp.Payload{}
}

func nxMetaAndArgs(m nx.Message) (nx.Dict, nx.List, nx.Dict) {
	switch m := m.(type) {
	case *nx.Publish:
		return m.Options, m.Arguments, m.ArgumentsKw
	case *nx.Call:
		return m.Options, m.Arguments, m.ArgumentsKw
	case *nx.Yield:
		return m.Options, m.Arguments, m.ArgumentsKw
	case *nx.Error:
		return m.Details, m.Arguments, m.ArgumentsKw
	}
	return nil, nil, nil
}

// TestVectorsInbound: every message Autobahn sends sealed reaches nexus carrying the
// enc_* values, with the payload bytes untouched, whatever the serializer: a PUBLISH, CALL
// or YIELD with its Options as they are and a legacy payload as its Arguments, an ERROR
// in the PPT form.
func TestVectorsInbound(t *testing.T) {
	vs, _ := loadVectorFile(t)
	for _, v := range vs {
		for _, s := range wamp.Serializers {
			t.Run(v.Name+"/"+s.Name(), func(t *testing.T) {
				m := decodeVector(t, s, v.Sent)
				meta, pl := metaAndPayload(m)
				if !bytes.Equal(pl.Bare, v.Payload) {
					t.Fatalf("vector payload not decoded as bare binary: %s", summarize(m))
				}
				origMeta := make(wamp.Dict, len(meta))
				for k, v := range meta {
					origMeta[k] = v
				}
				a := newAdapter()
				a.pptRoles = map[string]bool{} // an Autobahn client: no PPT announced
				nm, err := a.inbound(m)
				if err != nil {
					t.Fatal(err)
				}
				if nm.MessageType() != nx.MessageType(m.MessageType()) {
					t.Fatalf("type %v became %v", m.MessageType(), nm.MessageType())
				}
				opts, args, kw := nxMetaAndArgs(nm)
				switch m.(type) {
				case *wamp.Publish, *wamp.Call, *wamp.Yield:
					// It keeps its Options; its Arguments are the legacy payload.
					lp := legacyOf(args, kw)
					if lp == nil || !bytes.Equal(lp.bare, v.Payload) || lp.enc != [3]any{"cryptobox", "json", origMeta[wamp.OptEncKey]} {
						t.Errorf("nexus Arguments = %#v, ArgumentsKw = %v; want [legacy payload]", args, kw)
					}
					if !reflect.DeepEqual(opts, nx.Dict(origMeta)) {
						t.Errorf("nexus options = %v, want %v", opts, origMeta)
					}
					return
				}
				if len(args) != 1 || !bytes.Equal(args[0].([]byte), v.Payload) || len(kw) != 0 {
					t.Errorf("nexus Arguments = %v, ArgumentsKw = %v; want [payload]", args, kw)
				}
				want := nx.Dict{wamp.OptPPTScheme: legacyScheme, wamp.OptPPTCipher: "cryptobox", wamp.OptPPTSerializer: "json"}
				for k, v := range origMeta {
					if !strings.HasPrefix(k, "enc_") {
						want[k] = v
					}
				}
				if !reflect.DeepEqual(opts, want) {
					t.Errorf("nexus options = %v, want %v", opts, want)
				}
				if !reflect.DeepEqual(meta, origMeta) {
					t.Errorf("the client's message was modified: %v, was %v", meta, origMeta)
				}
			})
		}
	}
}

// TestVectorsForwardedIdentity: a forwarded message as Crossbar sends it (the vector),
// once in the form nexus delivers, comes out of the adapter exactly as the vector
// (legacy → nexus → legacy is the identity): an EVENT, INVOCATION or RESULT carrying a
// legacy payload, and an INVOCATION, RESULT or ERROR in the PPT form (the form of an
// ERROR; outbound takes it for all three).
func TestVectorsForwardedIdentity(t *testing.T) {
	vs, _ := loadVectorFile(t)
	for _, v := range vs {
		if v.Forwarded == nil {
			continue
		}
		for _, s := range wamp.Serializers {
			t.Run(v.Name+"/"+s.Name(), func(t *testing.T) {
				want := decodeVector(t, s, v.Forwarded)
				meta, pl := metaAndPayload(want)
				// The form of the same message nexus delivers: the inbound rewrite of its
				// metadata, Arguments = [payload] (PPT), or, for an EVENT, Details without
				// enc_* and Arguments = [legacy payload].
				a := newAdapter()
				pptMeta, args, kw, err := a.sealedToPPT(meta, pl, "callee", false)
				if err != nil {
					t.Fatal(err)
				}
				lpArgs, err := newLegacyPayload(meta, pl.Bare)
				if err != nil {
					t.Fatal(err)
				}
				details := nx.Dict{} // nexus's own Details: the vector's without enc_*
				for k, v := range meta {
					if !strings.HasPrefix(k, "enc_") {
						details[k] = v
					}
				}
				var forms []nx.Message
				switch w := want.(type) {
				case *wamp.Event:
					forms = append(forms, &nx.Event{Subscription: nx.ID(w.Subscription), Publication: nx.ID(w.Publication), Details: details, Arguments: lpArgs})
				case *wamp.Invocation:
					forms = append(forms,
						&nx.Invocation{Request: nx.ID(w.Request), Registration: nx.ID(w.Registration), Details: details, Arguments: lpArgs},
						&nx.Invocation{Request: nx.ID(w.Request), Registration: nx.ID(w.Registration), Details: pptMeta, Arguments: args, ArgumentsKw: kw})
				case *wamp.Result:
					forms = append(forms,
						&nx.Result{Request: nx.ID(w.Request), Details: details, Arguments: lpArgs},
						&nx.Result{Request: nx.ID(w.Request), Details: pptMeta, Arguments: args, ArgumentsKw: kw})
				case *wamp.Error:
					forms = append(forms, &nx.Error{Type: nx.MessageType(w.Type), Request: nx.ID(w.Request), Details: pptMeta, Error: nx.URI(w.Error), Arguments: args, ArgumentsKw: kw})
				default:
					t.Fatalf("unexpected forwarded %T", want)
				}
				for _, nm := range forms {
					checkForwarded(t, a, s, nm, want)
				}
			})
		}
	}
}

// checkForwarded checks that outbound turns nm into want, and that want's encoding by s
// decodes back to it.
func checkForwarded(t *testing.T, a *adapter, s wamp.Serializer, nm nx.Message, want wamp.Message) {
	t.Helper()
	got, reply, err := a.outbound(nm)
	if err != nil || reply != nil {
		t.Fatalf("outbound %T: %v, reply %v", nm, err, reply)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("outbound %T\n got %s\nwant %s", nm, summarize(got), summarize(want))
	}
	// And the client gets the same bytes' worth: re-encoding gives back a message equal
	// to the vector.
	b, err := s.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Unmarshal(b)
	if err != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("re-encoded %s: %v %s", s.Name(), err, summarize(again))
	}
}

// TestVectorsThroughNexus sends each vector's message from an Autobahn-like client
// through real nexus routing and compares what the receiver gets with what Crossbar sends
// (the vector's forwarded message), apart from IDs and Details keys nexus adds itself.
func TestVectorsThroughNexus(t *testing.T) {
	vs, _ := loadVectorFile(t)
	byName := map[string]vector{}
	for _, v := range vs {
		byName[v.Name] = v
	}
	for _, s := range wamp.Serializers {
		t.Run(s.Name(), func(t *testing.T) {
			srv, _, _ := testServer(t, Config{})
			sub := join(t, srv, roles())
			pub := join(t, srv, autobahnRoles())
			callee := join(t, srv, autobahnRoles())

			// PUBLISH → EVENT.
			pv := byName["publish-basic"]
			publish := decodeVector(t, s, pv.Sent).(*wamp.Publish)
			sub.subscribe(publish.Topic, nil)
			pub.send(publish)
			expect[*wamp.Published](pub)
			ev := expect[*wamp.Event](sub)
			wantEv := decodeVector(t, s, pv.Forwarded).(*wamp.Event)
			if !reflect.DeepEqual(ev.Details, wantEv.Details) || !bytes.Equal(ev.Bare, wantEv.Bare) {
				t.Errorf("EVENT %s\nwant %s", summarize(ev), summarize(wantEv))
			}

			// CALL → INVOCATION, YIELD → RESULT.
			cv := byName["call-basic"]
			call := decodeVector(t, s, cv.Sent).(*wamp.Call)
			callee.register(call.Procedure, nil)
			pub.send(call)
			inv := expect[*wamp.Invocation](callee)
			wantInv := decodeVector(t, s, cv.Forwarded).(*wamp.Invocation)
			checkSealedDetails(t, "INVOCATION", inv.Details, wantInv.Details)
			if !bytes.Equal(inv.Bare, wantInv.Bare) {
				t.Errorf("INVOCATION payload differs")
			}
			yv := byName["yield-plain-return"]
			yield := decodeVector(t, s, yv.Sent).(*wamp.Yield)
			yield.Request = inv.Request
			callee.send(yield)
			res := expect[*wamp.Result](pub)
			wantRes := decodeVector(t, s, yv.Forwarded).(*wamp.Result)
			if res.Request != call.Request || !reflect.DeepEqual(res.Details, wantRes.Details) || !bytes.Equal(res.Bare, wantRes.Bare) {
				t.Errorf("RESULT %s\nwant %s", summarize(res), summarize(wantRes))
			}

			// ERROR (INVOCATION) → ERROR (CALL).
			call.Request++
			pub.send(call)
			inv = expect[*wamp.Invocation](callee)
			ev2 := byName["error-from-callee"]
			errMsg := decodeVector(t, s, ev2.Sent).(*wamp.Error)
			errMsg.Request = inv.Request
			callee.send(errMsg)
			e := expect[*wamp.Error](pub)
			wantErr := decodeVector(t, s, ev2.Forwarded).(*wamp.Error)
			if e.Type != wamp.CALL || e.Request != call.Request || e.Error != wantErr.Error ||
				!reflect.DeepEqual(e.Details, wantErr.Details) || !bytes.Equal(e.Bare, wantErr.Bare) {
				t.Errorf("ERROR %s\nwant %s", summarize(e), summarize(wantErr))
			}
		})
	}
}

// checkSealedDetails compares Details with Crossbar's, allowing the keys nexus adds on
// its own: it always sets INVOCATION "progress", and "procedure" for registrations made
// without an explicit match policy (dealer.go syncCall); Autobahn accepts both.
func checkSealedDetails(t *testing.T, what string, got, want wamp.Dict) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s details[%s] = %v, want %v", what, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != "progress" && k != "procedure" {
			t.Errorf("%s details has extra %s: %v", what, k, got)
		}
	}
}

func TestHelloRewrite(t *testing.T) {
	orig := &wamp.Hello{Realm: "realm1", Details: wamp.Dict{
		"authid": "x",
		"roles": wamp.Dict{
			"publisher":  wamp.Dict{"features": wamp.Dict{wamp.FeaturePayloadTransparency: true}},
			"subscriber": wamp.Dict{},
			"caller":     wamp.Dict{"features": wamp.Dict{wamp.FeaturePayloadPassthruMode: true}},
			"callee":     "not a dict",
			"bogus":      wamp.Dict{"features": wamp.Dict{}},
		},
	}}
	before := summarize(orig)
	h, announced := rewriteHello(orig)
	if summarize(orig) != before {
		t.Errorf("the client's HELLO was modified: %s", summarize(orig))
	}
	if !reflect.DeepEqual(announced, map[string]bool{"caller": true}) {
		t.Errorf("announced = %v, want only caller", announced)
	}
	r := h.Details["roles"].(map[string]any)
	for _, role := range clientRoles {
		f := r[role].(map[string]any)["features"].(map[string]any)
		if f[wamp.FeaturePayloadPassthruMode] != true {
			t.Errorf("%s lacks %s after rewrite: %v", role, wamp.FeaturePayloadPassthruMode, f)
		}
	}
	if f := r["publisher"].(map[string]any)["features"].(map[string]any); f[wamp.FeaturePayloadTransparency] != true {
		t.Errorf("publisher lost its features: %v", f)
	}
	if !reflect.DeepEqual(r["bogus"], wamp.Dict{"features": wamp.Dict{}}) {
		t.Errorf("non-client role changed: %v", r["bogus"])
	}
	if h.Details["authid"] != "x" || h.Realm != "realm1" {
		t.Errorf("other HELLO fields changed: %s", summarize(h))
	}
	// nexus sees every client role as PPT-capable.
	sess := nx.NewSession(nil, 1, nil, nx.NormalizeDict(map[string]any(h.Details)))
	for _, role := range clientRoles {
		if !sess.HasFeature(role, wamp.FeaturePayloadPassthruMode) {
			t.Errorf("nexus does not see %s.%s", role, wamp.FeaturePayloadPassthruMode)
		}
	}
}

func TestWelcomeRewriteDoesNotShareMaps(t *testing.T) {
	features := map[string]any{"x": true}
	d := wamp.Dict{"roles": map[string]any{"broker": map[string]any{"features": features}}}
	out := rewriteWelcomeDetails(d)
	if len(features) != 1 {
		t.Errorf("input features modified: %v", features)
	}
	bf := out["roles"].(map[string]any)["broker"].(map[string]any)["features"].(map[string]any)
	if bf["x"] != true || bf[wamp.FeaturePayloadEncryptionCryptobox] != true {
		t.Errorf("broker features = %v", bf)
	}
}

// TestOutboundDoesNotModifyShared: nexus hands one EVENT to every subscriber; the
// adapter must leave it as it was for the next one.
func TestOutboundDoesNotModifyShared(t *testing.T) {
	details := nx.Dict{"topic": nx.URI("a.b")}
	lp := &legacyPayload{bare: []byte{9}, enc: [3]any{"cryptobox", "json", nil}}
	ev := &nx.Event{Subscription: 1, Publication: 2, Details: details, Arguments: nx.List{lp}}
	for range 2 {
		out, _, err := newAdapter().outbound(ev)
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*wamp.Event)
		if !bytes.Equal(got.Bare, []byte{9}) || got.Details[wamp.OptEncAlgo] != "cryptobox" || got.Details["topic"] != "a.b" {
			t.Errorf("EVENT = %s", summarize(got))
		}
	}
	if len(details) != 1 || details["topic"] != nx.URI("a.b") {
		t.Errorf("nexus's details were modified: %v", details)
	}
	if !bytes.Equal(lp.bare, []byte{9}) || lp.enc != [3]any{"cryptobox", "json", nil} {
		t.Errorf("the legacy payload was modified: %#v", lp)
	}
}

func TestFromNexusNormalizesValues(t *testing.T) {
	res := &nx.Result{Request: 5, Details: nx.Dict{"callee": nx.ID(7)}, Arguments: nx.List{
		nx.Dict{"exact": []nx.ID{1, 2}, "uri": nx.URI("a.b"), "n": 3, "l": nx.List{nx.ID(4)}},
		[]string{"x"}, uint64(1 << 62), []byte{1},
	}}
	out, err := fromNexus(res)
	if err != nil {
		t.Fatal(err)
	}
	want := &wamp.Result{Request: 5, Details: wamp.Dict{"callee": int64(7)}, Payload: wamp.Payload{Args: wamp.List{
		map[string]any{"exact": []any{int64(1), int64(2)}, "uri": "a.b", "n": int64(3), "l": []any{int64(4)}},
		[]any{"x"}, int64(1 << 62), []byte{1},
	}}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("fromNexus\n got %#v\nwant %#v", out, want)
	}
	if _, err := wamp.ToList(out); err != nil {
		t.Errorf("normalized message does not encode: %v", err)
	}
}

// TestSharedSealedDetails: a session's EVENTs with the same enc_* values and nothing
// from nexus in their Details share one dict, which is what the subscriber must get and
// stays so when a drop mark is added; other values get their own.
func TestSharedSealedDetails(t *testing.T) {
	a := newAdapter()
	event := func(enc [3]any) wamp.Dict {
		t.Helper()
		lp := &legacyPayload{bare: []byte{1}, enc: enc}
		out, _, err := a.outbound(&nx.Event{Subscription: 1, Publication: 2, Details: nx.Dict{}, Arguments: nx.List{lp}})
		if err != nil {
			t.Fatal(err)
		}
		return out.(*wamp.Event).Details
	}
	same := func(x, y wamp.Dict) bool {
		return reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	}
	withKey := [3]any{wamp.EncAlgoCryptobox, wamp.SerializerJSON, "fp-1"}
	d1, d2 := event(withKey), event([3]any{wamp.EncAlgoCryptobox, wamp.SerializerJSON, "fp-1"})
	want := wamp.Dict{wamp.OptEncAlgo: wamp.EncAlgoCryptobox, wamp.OptEncSerializer: wamp.SerializerJSON, wamp.OptEncKey: "fp-1"}
	if !reflect.DeepEqual(d1, want) || !same(d1, d2) {
		t.Errorf("Details %v and %v (shared: %v), want %v shared", d1, d2, same(d1, d2), want)
	}
	if marked := withDropMark(d2, 3); marked[wamp.OptCBXDropped] != int64(3) || !reflect.DeepEqual(d1, want) {
		t.Errorf("drop mark %v; shared Details now %v", marked, d1)
	}
	for _, enc := range [][3]any{
		{wamp.EncAlgoCryptobox, wamp.SerializerJSON, "fp-2"},
		{wamp.EncAlgoCryptobox, wamp.SerializerJSON, nil},
		{wamp.EncAlgoCryptobox, nil, nil},
		{"other", wamp.SerializerMsgPack, nil},
	} {
		d := event(enc)
		want := wamp.Dict{}
		for i, v := range enc {
			if v != nil {
				want[encToPPT[i][0]] = v
			}
		}
		if !reflect.DeepEqual(d, want) || same(d, d1) {
			t.Errorf("enc %v: Details %v, want %v of its own", enc, d, want)
		}
	}
	if !reflect.DeepEqual(d1, want) {
		t.Errorf("the first shared Details are now %v", d1)
	}
}

// TestLegacyResultsOfFailedCall: once the router has failed a call itself (failCall, a
// progressive RESULT too large for the caller), the sealed RESULTs nexus still delivers
// for it, carried as legacy payloads, are not passed on, the final one included; a
// sealed RESULT of another call is.
func TestLegacyResultsOfFailedCall(t *testing.T) {
	a := newAdapter()
	a.failCall(7)
	lp := func(b byte) nx.List {
		args, err := newLegacyPayload(wamp.Dict{wamp.OptEncAlgo: "cryptobox", wamp.OptEncSerializer: "json"}, []byte{b})
		if err != nil {
			t.Fatal(err)
		}
		return args
	}
	for i, r := range []*nx.Result{
		{Request: 7, Details: nx.Dict{wamp.OptProgress: true}, Arguments: lp(1)},
		{Request: 7, Details: nx.Dict{}, Arguments: lp(2)},
	} {
		if out, reply, err := a.outbound(r); out != nil || reply != nil || err != nil {
			t.Fatalf("RESULT %d of the failed call: delivered %s, reply %v, err %v", i, summarize(out), reply, err)
		}
	}
	if a.refused[7] {
		t.Error("the failed call is still recorded after its final RESULT")
	}
	out, _, err := a.outbound(&nx.Result{Request: 8, Details: nx.Dict{}, Arguments: lp(3)})
	want := &wamp.Result{Request: 8, Details: wamp.Dict{wamp.OptEncAlgo: "cryptobox", wamp.OptEncSerializer: "json"}, Payload: wamp.Payload{Bare: []byte{3}}}
	if err != nil || !reflect.DeepEqual(out, want) {
		t.Errorf("RESULT of another call: %s, %v; want %s", summarize(out), err, summarize(want))
	}
}
