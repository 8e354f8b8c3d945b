package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// The codec as a session uses it, without a session: the Autobahn vectors, every role in
// both wire forms, and every refusal. Keys are the vectors' (testdata/vectors), so the
// keystores below are an Autobahn publisher's/caller's and subscriber's/callee's.

const keyed = "com.example.secure."

// sides are the two keystores of the vectors' key pairs, and the single-key one.
type sides struct {
	v          *vectorFile
	originator *keystore.Keystore // publisher, caller: originator-private, responder-public
	responder  *keystore.Keystore // subscriber, callee: responder-private, originator-public
	single     *keystore.Keystore // KeyRing(priv): the default key, both roles
}

func vectorSides(t *testing.T) *sides {
	t.Helper()
	v := loadVectors(t)
	priv := func(s string) *box.PrivateKey {
		k := box.PrivateKey(unhex(t, s))
		return &k
	}
	o, r, s := priv(v.Keys.OriginatorPrivHex), priv(v.Keys.ResponderPrivHex), priv(v.Keys.SinglePrivHex)
	oPub, rPub := o.Public(), r.Public()
	put := func(e *keystore.Entry) *keystore.Keystore {
		ks := keystore.New()
		if err := ks.Put(e); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	return &sides{
		v:          v,
		originator: put(&keystore.Entry{Prefix: keyed, OriginatorPrivate: o, ResponderPublic: &rPub}),
		responder:  put(&keystore.Entry{Prefix: keyed, ResponderPrivate: r, OriginatorPublic: &oPub}),
		single:     put(&keystore.Entry{Prefix: "", Single: s}),
	}
}

// receiver is the keystore that opens the vector name sealed in direction, and the side
// it opens it as: the receiver of an originator's message is the responder, and the
// other way; the single-key vector's is the single key.
func (s *sides) receiver(name, direction string) (ks *keystore.Keystore, originating bool) {
	ks, originating = s.responder, false
	if direction == "responder->originator" {
		ks, originating = s.originator, true
	}
	if name == "single-key-default-publish-noargs" {
		ks = s.single
	}
	return ks, originating
}

// legacyDetails are the options of Autobahn's sealed form, as a receiver sees them.
var legacyDetails = wamp.Dict{wamp.OptEncAlgo: wamp.EncAlgoCryptobox, wamp.OptEncSerializer: wamp.SerializerJSON}

// codecURI is the WAMP error URI an error carries for the session ("" if none).
func codecURI(err error) string {
	var ce wamp.CodecError
	if errors.As(err, &ce) {
		return ce.WAMPErrorURI()
	}
	return ""
}

// TestCodecOpensAutobahnVectors: every payload Autobahn's KeyRing made opens with the
// codec of the receiving side, as a session opens it (Sealed, Open) and as cbx open does
// (OpenMessage), to Autobahn's plaintext.
func TestCodecOpensAutobahnVectors(t *testing.T) {
	s := vectorSides(t)
	for _, vec := range s.v.Vectors {
		t.Run(vec.Name, func(t *testing.T) {
			ks, originating := s.receiver(vec.Name, vec.Direction)
			c := NewCodec(ks, "ks", WireLegacy)
			payload := unhex(t, vec.PayloadHex)
			want, err := DecodePlaintext(unhex(t, vec.PlaintextHex))
			if err != nil {
				t.Fatal(err)
			}
			p := wamp.Payload{Bare: payload}
			if !c.Sealed(p, legacyDetails) {
				t.Fatal("Autobahn's payload is not recognised as sealed")
			}
			args, kwargs, _, err := c.Open(originating, vec.URI, p, legacyDetails)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !reflect.DeepEqual(args, wamp.List(want.Args)) || !reflect.DeepEqual(kwargs, wamp.Dict(want.Kwargs)) {
				t.Fatalf("Open gave %#v %#v, want %#v", args, kwargs, want)
			}
			m, err := c.OpenMessage(originating, vec.URI, payload)
			if err != nil || !reflect.DeepEqual(m, want) {
				t.Fatalf("OpenMessage gave %#v (%v), want %#v", m, err, want)
			}
			// The other side's keystore cannot open it: it lacks this side's keys.
			if ks != s.single {
				other := NewCodec(map[bool]*keystore.Keystore{true: s.responder, false: s.originator}[originating], "other", WireLegacy)
				_, err := other.OpenMessage(originating, vec.URI, payload)
				var sk *SideKeysError
				if !errors.As(err, &sk) || sk.Originating != originating || sk.Prefix != keyed {
					t.Fatalf("the other side's keystore: %v, want a *SideKeysError", err)
				}
			}
		})
	}
}

// role is one direction of a sealed message: who seals it and who opens it.
type role struct {
	name        string
	originating bool   // the sealer's side; the opener is the other side
	uri         string // the URI the message travels on
}

// roles are the messages Autobahn seals (wire.md §1.5): PUBLISH and CALL by the
// originator, opened as EVENT and INVOCATION by the responder; YIELD and the callee's
// ERROR by the responder, opened as RESULT and ERROR by the originator (an ERROR under
// the key of its error URI).
var roles = []role{
	{"publish/event", true, keyed + "topic1"},
	{"call/invocation", true, keyed + "add2"},
	{"yield/result", false, keyed + "add2"},
	{"error", false, keyed + "error.invalid_input"},
}

// TestCodecRoles: every role in both wire forms seals on one side and opens on the other
// with the pair's one box key, with exactly the options of its form, and what a session
// seals opens as cbx open opens it (the same code).
func TestCodecRoles(t *testing.T) {
	s := vectorSides(t)
	// The pair's one box key: Box(originator private, responder public) ==
	// Box(responder private, originator public), the vectors' box_key_originator_responder.
	pairKey := receiverKey(t, s.v, "")
	if got := hex.EncodeToString(pairKey.Bytes()); got != "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389" {
		t.Fatalf("the vectors' key pair gives box key %s", got)
	}
	// The key id of a payload is the fingerprint of its recipient's public key: the
	// responder's for PUBLISH and CALL, the originator's for YIELD and ERROR.
	originatorPriv := box.PrivateKey(unhex(t, s.v.Keys.OriginatorPrivHex))
	responderPriv := box.PrivateKey(unhex(t, s.v.Keys.ResponderPrivHex))
	keyIDFor := func(originating bool) string {
		if originating {
			return keygen.Fingerprint(responderPriv.Public())
		}
		return keygen.Fingerprint(originatorPriv.Public())
	}
	args := wamp.List{"grüße", int64(-3), uint64(math.MaxUint64), 2.5, []byte{0, 1, 0xfe}, nil, wamp.Dict{"x": wamp.List{true}}}
	kwargs := wamp.Dict{"k": "v", "n": int64(1)}
	for _, form := range []WireForm{WireLegacy, WirePPT} {
		for _, r := range roles {
			t.Run(form.String()+"/"+r.name, func(t *testing.T) {
				sealKS, openKS := s.responder, s.originator
				if r.originating {
					sealKS, openKS = s.originator, s.responder
				}
				sealer, opener := NewCodec(sealKS, "sealer", form), NewCodec(openKS, "opener", form)
				p, opts, ok, err := sealer.Seal(r.originating, r.uri, args, kwargs)
				if err != nil || !ok {
					t.Fatalf("Seal: ok=%v, %v", ok, err)
				}
				var sealed []byte
				switch form {
				case WireLegacy:
					want := wamp.Dict{wamp.OptEncAlgo: wamp.EncAlgoCryptobox, wamp.OptEncSerializer: wamp.SerializerJSON, wamp.OptEncKey: keyIDFor(r.originating)}
					if !reflect.DeepEqual(opts, want) || !p.IsBare() || p.Args != nil || p.Kwargs != nil {
						t.Fatalf("legacy form: options %v, payload %#v", opts, p)
					}
					sealed = p.Bare
				case WirePPT:
					want := wamp.Dict{wamp.OptPPTScheme: wamp.PPTSchemeWAMP, wamp.OptPPTSerializer: wamp.SerializerCBOR,
						wamp.OptPPTCipher: wamp.PPTCipherXSalsa20Poly1305, wamp.OptPPTKeyID: keyIDFor(r.originating)}
					if !reflect.DeepEqual(opts, want) || p.IsBare() || len(p.Args) != 1 || p.Kwargs != nil {
						t.Fatalf("PPT form: options %v, payload %#v", opts, p)
					}
					sealed = p.Args[0].([]byte)
				}
				// Sealed with the pair's box key, over the form's plaintext.
				pt, err := pairKey.Open(sealed)
				if err != nil {
					t.Fatalf("not sealed with the pair's box key: %v", err)
				}
				m := Message{URI: r.uri, Args: args, Kwargs: kwargs}
				wantPT, _ := EncodePlaintext(m)
				if form == WirePPT {
					wantPT, _ = EncodePPTPlaintext(m)
				}
				if !bytes.Equal(pt, wantPT) {
					t.Fatalf("plaintext %q, want %q", pt, wantPT)
				}
				// The other side opens it, as a session does.
				if !opener.Sealed(p, opts) {
					t.Fatal("not recognised as sealed")
				}
				gotArgs, gotKwargs, _, err := opener.Open(!r.originating, r.uri, p, opts)
				if err != nil || !reflect.DeepEqual(gotArgs, args) || !reflect.DeepEqual(gotKwargs, kwargs) {
					t.Fatalf("Open: %#v %#v (%v)", gotArgs, gotKwargs, err)
				}
				// ...and as cbx open does, and cbx seal's payload opens as the session's.
				if got, err := opener.OpenMessage(!r.originating, r.uri, sealed); err != nil || !reflect.DeepEqual(got, m) {
					t.Fatalf("OpenMessage: %#v (%v)", got, err)
				}
				offline, err := sealer.SealMessage(r.originating, m)
				if err != nil {
					t.Fatal(err)
				}
				op := wamp.Payload{Bare: offline}
				if form == WirePPT {
					op = wamp.Payload{Args: wamp.List{offline}}
				}
				if a, kw, _, err := opener.Open(!r.originating, r.uri, op, opts); err != nil || !reflect.DeepEqual(a, args) || !reflect.DeepEqual(kw, kwargs) {
					t.Fatalf("SealMessage's payload opens as %#v %#v (%v)", a, kw, err)
				}
				// The sealer's own side cannot open it (it has the other box only).
				if _, _, _, err := sealer.Open(!r.originating, r.uri, p, opts); codecURI(err) != wamp.ErrURIDecrypt {
					t.Fatalf("the sealer's keystore opened it as the receiver: %v", err)
				}
			})
		}
	}
}

// TestCodecPlaintextWhereNoKey: a URI the keystore does not cover travels in plaintext,
// as with Autobahn's KeyRing; cbx seal (SealMessage) refuses it instead, since the user
// asked for a sealed payload.
func TestCodecPlaintextWhereNoKey(t *testing.T) {
	s := vectorSides(t)
	c := NewCodec(s.originator, "pub.ks", WireLegacy)
	if p, opts, ok, err := c.Seal(true, "org.plain.t", wamp.List{1}, nil); ok || err != nil || opts != nil || p.IsBare() {
		t.Fatalf("Seal of an uncovered URI: %#v %v ok=%v %v", p, opts, ok, err)
	}
	_, err := c.SealMessage(true, Message{URI: "org.plain.t"})
	var nk *NoKeyError
	if !errors.As(err, &nk) || nk.URI != "org.plain.t" || nk.Keystore != "pub.ks" || !errors.Is(err, ErrNoKey) {
		t.Fatalf("SealMessage of an uncovered URI: %v, want a *NoKeyError", err)
	}
	if err.Error() != `no key for URI "org.plain.t" in keystore "pub.ks"` {
		t.Errorf("text %q", err)
	}
	if c.CanSeal(true, "org.plain.t") || !c.CanSeal(true, keyed+"t") || c.CanSeal(false, keyed+"t") {
		t.Error("CanSeal does not follow the keystore")
	}
}

// TestCodecRefusals: what the codec refuses, each with its typed error and, for a
// session, the WAMP error URI Autobahn uses for it.
func TestCodecRefusals(t *testing.T) {
	s := vectorSides(t)
	pub, sub := NewCodec(s.originator, "pub.ks", WireLegacy), NewCodec(s.responder, "sub.ks", WireLegacy)
	pubPPT := NewCodec(s.originator, "pub.ks", WirePPT)
	sealed := func(c *Codec, uri string) (wamp.Payload, wamp.Dict) {
		t.Helper()
		p, opts, ok, err := c.Seal(true, uri, wamp.List{"x"}, nil)
		if err != nil || !ok {
			t.Fatalf("Seal(%q): ok=%v %v", uri, ok, err)
		}
		return p, opts
	}

	t.Run("no key", func(t *testing.T) {
		// A sealed payload on a URI the (non-empty) keystore does not cover.
		p, opts := sealed(NewCodec(s.single, "single.ks", WireLegacy), "org.other.t")
		_, _, _, err := sub.Open(false, "org.other.t", p, opts)
		var nk *NoKeyError
		if !errors.As(err, &nk) || codecURI(err) != wamp.ErrURIDecrypt {
			t.Fatalf("%v (%s), want a *NoKeyError with %s", err, codecURI(err), wamp.ErrURIDecrypt)
		}
		if err.Error() != `cannot open the sealed payload on "org.other.t": no key for URI "org.other.t" in keystore "sub.ks"` {
			t.Errorf("text %q", err)
		}
	})
	t.Run("entry lacks the side's keys", func(t *testing.T) {
		// A subscriber's keystore asked to seal as the originator (call, publish).
		_, _, ok, err := sub.Seal(true, keyed+"t", wamp.List{"card 4111"}, nil)
		var sr *SealRefusedError
		var sk *SideKeysError
		if ok || !errors.As(err, &sr) || !errors.As(err, &sk) || !sk.Originating || sk.Prefix != keyed || sk.URI != keyed+"t" {
			t.Fatalf("ok=%v %v, want a *SealRefusedError around a *SideKeysError", ok, err)
		}
		if err.Error() != `refusing to send "com.example.secure.t" in plaintext: keystore entry "com.example.secure." covers "com.example.secure.t" but has no originator (publisher/caller) keys` {
			t.Errorf("text %q", err)
		}
		if _, err := sub.SealMessage(true, Message{URI: keyed + "t"}); !errors.As(err, &sk) || errors.As(err, &sr) {
			t.Errorf("SealMessage: %v, want a bare *SideKeysError", err)
		}
		// A publisher's keystore asked to open an event.
		p, opts := sealed(pub, keyed+"t")
		if _, _, _, err := pub.Open(false, keyed+"t", p, opts); !errors.As(err, &sk) || sk.Originating || codecURI(err) != wamp.ErrURIDecrypt {
			t.Fatalf("Open: %v, want a *SideKeysError with %s", err, wamp.ErrURIDecrypt)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		p, opts := sealed(NewCodec(s.single, "single.ks", WireLegacy), keyed+"t")
		_, _, _, err := sub.Open(false, keyed+"t", p, opts)
		if !errors.Is(err, ErrDecrypt) || codecURI(err) != wamp.ErrURIDecrypt {
			t.Fatalf("%v, want ErrDecrypt with %s", err, wamp.ErrURIDecrypt)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		for _, c := range []*Codec{pub, pubPPT} {
			p, opts := sealed(c, keyed+"t")
			b := p.Bare
			if c.Wire() == WirePPT {
				b = p.Args[0].([]byte)
			}
			b[len(b)-1] ^= 1
			if _, _, _, err := sub.Open(false, keyed+"t", p, opts); !errors.Is(err, ErrDecrypt) || codecURI(err) != wamp.ErrURIDecrypt {
				t.Errorf("%s: %v, want ErrDecrypt", c.Wire(), err)
			}
			if _, err := sub.OpenMessage(false, keyed+"t", b[:box.Overhead-1]); !errors.Is(err, ErrTooShort) {
				t.Errorf("%s: a cut payload: %v, want ErrTooShort", c.Wire(), err)
			}
		}
	})
	t.Run("URI mismatch", func(t *testing.T) {
		for _, c := range []*Codec{pub, pubPPT} {
			p, opts := sealed(c, keyed+"orders")
			_, _, _, err := sub.Open(false, keyed+"bills", p, opts)
			var mm *URIMismatchError
			if !errors.As(err, &mm) || mm.Inner != keyed+"orders" || mm.Envelope != keyed+"bills" || codecURI(err) != wamp.ErrURITrustedMismatch {
				t.Errorf("%s: %v, want a *URIMismatchError with %s", c.Wire(), err, wamp.ErrURITrustedMismatch)
			}
			if errors.Is(err, ErrDecrypt) || errors.Is(err, ErrPlaintext) {
				t.Errorf("%s: a mismatch is not a decryption or plaintext failure: %v", c.Wire(), err)
			}
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		p, _ := sealed(pub, keyed+"t")
		pp, _ := sealed(pubPPT, keyed+"t")
		good := wamp.Dict{wamp.OptPPTScheme: wamp.PPTSchemeWAMP, wamp.OptPPTSerializer: wamp.SerializerCBOR, wamp.OptPPTCipher: wamp.PPTCipherXSalsa20Poly1305}
		with := func(d wamp.Dict, k string, v any) wamp.Dict {
			out := wamp.Dict{}
			for kk, vv := range d {
				out[kk] = vv
			}
			out[k] = v
			return out
		}
		for _, c := range []struct {
			p       wamp.Payload
			details wamp.Dict
			option  string
		}{
			{p, with(legacyDetails, wamp.OptEncAlgo, "other"), wamp.OptEncAlgo},
			{p, with(legacyDetails, wamp.OptEncSerializer, wamp.SerializerMsgPack), wamp.OptEncSerializer},
			{pp, with(good, wamp.OptPPTCipher, "aes256gcm"), wamp.OptPPTCipher},
			{pp, with(good, wamp.OptPPTSerializer, wamp.SerializerJSON), wamp.OptPPTSerializer},
		} {
			_, _, _, err := sub.Open(false, keyed+"t", c.p, c.details)
			var ue *UnsupportedError
			if !errors.As(err, &ue) || ue.Option != c.option || ue.URI != keyed+"t" || codecURI(err) != wamp.ErrURIEncryptionUnsupported {
				t.Errorf("%v: %v, want an *UnsupportedError for %s with %s", c.details, err, c.option, wamp.ErrURIEncryptionUnsupported)
			}
		}
	})
	t.Run("unrepresentable value", func(t *testing.T) {
		// Never sealed altered, and never sent in plaintext instead.
		for _, bad := range []any{math.NaN(), json.Number("1180591620717411303424"), "\xff", struct{}{}} {
			for _, c := range []*Codec{pub, pubPPT} {
				if _, _, ok, err := c.Seal(true, keyed+"t", wamp.List{bad}, nil); ok || err == nil {
					t.Errorf("%s: Seal(%#v): ok=%v %v", c.Wire(), bad, ok, err)
				}
				if _, err := c.SealMessage(true, Message{URI: keyed + "t", Args: []any{bad}}); err == nil {
					t.Errorf("%s: SealMessage(%#v) succeeded", c.Wire(), bad)
				}
			}
		}
		// A payload that authenticates but holds such a value (Python's JSON writes 2^70).
		k := s.responder.Entries()[0].Key(false)
		b, err := k.Seal([]byte(`{"uri":"com.example.secure.t","args":[1180591620717411303424],"kwargs":{}}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = sub.Open(false, keyed+"t", wamp.Payload{Bare: b}, legacyDetails)
		if !errors.Is(err, ErrPlaintext) || !errors.Is(err, wamp.ErrIntegerRange) || codecURI(err) != wamp.ErrURIDecrypt {
			t.Fatalf("%v, want ErrPlaintext (ErrIntegerRange) with %s", err, wamp.ErrURIDecrypt)
		}
		if strings.Contains(err.Error(), "1180591620717411303424") {
			t.Errorf("the error quotes the plaintext: %v", err)
		}
	})
	t.Run("empty keystore", func(t *testing.T) {
		p, opts := sealed(pub, keyed+"t")
		_, _, _, err := NewCodec(keystore.New(), "none.ks", WireLegacy).Open(false, keyed+"t", p, opts)
		var ek *EmptyKeystoreError
		if !errors.As(err, &ek) || !errors.Is(err, ErrNoKey) || codecURI(err) != wamp.ErrURINoPayloadCodec {
			t.Fatalf("%v, want an *EmptyKeystoreError with %s", err, wamp.ErrURINoPayloadCodec)
		}
		if err.Error() != `no key: a sealed payload arrived on "com.example.secure.t" but keystore "none.ks" holds no keys` {
			t.Errorf("text %q", err)
		}
	})
}

// TestCodecMetaAPI: the router's wamp.* URIs are sealed only under a prefix starting
// with "wamp.", never under the default key; but what Autobahn sealed under the default
// key for its own wamp.error.* replies still opens (keystore Lookup, LookupOpen).
func TestCodecMetaAPI(t *testing.T) {
	s := vectorSides(t)
	c := NewCodec(s.single, "single.ks", WireLegacy)
	const meta = "wamp.error.runtime_error"
	if _, _, ok, err := c.Seal(false, meta, wamp.List{"x"}, nil); ok || err != nil {
		t.Fatalf("Seal(%s) under the default key: ok=%v %v", meta, ok, err)
	}
	if c.CanSeal(false, meta) {
		t.Error("CanSeal: the default key covers wamp.*")
	}
	if err := c.CheckPlaintext(meta); err != nil {
		t.Errorf("CheckPlaintext(%s): %v", meta, err)
	}
	k := s.single.Entries()[0].Key(false)
	b, err := sealWithKey(k, WireLegacy, Message{URI: meta, Args: []any{"boom"}})
	if err != nil {
		t.Fatal(err)
	}
	if a, _, _, err := c.Open(true, meta, wamp.Payload{Bare: b}, legacyDetails); err != nil || !reflect.DeepEqual(a, wamp.List{"boom"}) {
		t.Fatalf("Autobahn's sealed %s: %v %v", meta, a, err)
	}
	// A prefix that starts with "wamp." does cover it.
	metaKS := keystore.New()
	single := box.PrivateKey(unhex(t, s.v.Keys.SinglePrivHex))
	if err := metaKS.Put(&keystore.Entry{Prefix: "wamp.error.", Single: &single}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := NewCodec(metaKS, "meta.ks", WireLegacy).Seal(false, meta, wamp.List{"x"}, nil); !ok || err != nil {
		t.Fatalf("Seal(%s) under wamp.error.: ok=%v %v", meta, ok, err)
	}
	// A pattern under wamp.* is not refused for a default key it never uses.
	if err := c.CheckCanReceive("wamp.session.", wamp.MatchPrefix, "events"); err != nil {
		t.Errorf("CheckCanReceive(wamp.session.): %v", err)
	}
}

// TestCheckPlaintext is the rule of --require-encrypted: plaintext on a URI the keystore
// covers is a downgrade.
func TestCheckPlaintext(t *testing.T) {
	s := vectorSides(t)
	c := NewCodec(s.responder, "sub.ks", WireLegacy)
	err := c.CheckPlaintext(keyed + "t")
	var dg *DowngradeError
	if !errors.As(err, &dg) || dg.URI != keyed+"t" {
		t.Fatalf("%v, want a *DowngradeError", err)
	}
	if err := c.CheckPlaintext("org.plain.t"); err != nil {
		t.Errorf("an uncovered URI: %v", err)
	}
}

// fakeRouter announces features per role, as a WELCOME does.
type fakeRouter map[string]map[string]bool

func (r fakeRouter) RouterFeature(role, feature string) bool { return r[role][feature] }

// TestWireFor: the legacy form unless the router announces PPT but not payload
// transparency (plain nexus), on either role.
func TestWireFor(t *testing.T) {
	pt, ppt := wamp.FeaturePayloadTransparency, wamp.FeaturePayloadPassthruMode
	for _, c := range []struct {
		r    fakeRouter
		want WireForm
	}{
		{fakeRouter{}, WireLegacy},
		{fakeRouter{wamp.RoleBroker: {pt: true, ppt: true}, wamp.RoleDealer: {pt: true, ppt: true}}, WireLegacy},
		{fakeRouter{wamp.RoleBroker: {ppt: true}, wamp.RoleDealer: {ppt: true}}, WirePPT},
		{fakeRouter{wamp.RoleDealer: {ppt: true}}, WirePPT},
		{fakeRouter{wamp.RoleBroker: {ppt: true}, wamp.RoleDealer: {pt: true}}, WireLegacy},
	} {
		if got := WireFor(c.r); got != c.want {
			t.Errorf("WireFor(%v) = %s, want %s", c.r, got, c.want)
		}
	}
}
