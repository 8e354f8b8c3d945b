package e2e

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// rotation is a publisher (caller) and a subscriber (callee) whose keys change: each side
// has two key pairs, 1 and 2.
type rotation struct {
	p1, p2, s1, s2 box.PrivateKey // originator and responder private keys, generations 1 and 2
	pub, sub       *keystore.Keystore
}

func newRotation(t *testing.T) *rotation {
	t.Helper()
	// Distinct in a byte X25519 does not clamp.
	r := &rotation{p1: box.PrivateKey{0, 1}, p2: box.PrivateKey{0, 2}, s1: box.PrivateKey{0, 3}, s2: box.PrivateKey{0, 4}}
	s1Pub, p1Pub := r.s1.Public(), r.p1.Public()
	r.pub, r.sub = keystore.New(), keystore.New()
	if err := r.pub.Put(&keystore.Entry{Prefix: keyed, OriginatorPrivate: &r.p1, ResponderPublic: &s1Pub}); err != nil {
		t.Fatal(err)
	}
	if err := r.sub.Put(&keystore.Entry{Prefix: keyed, ResponderPrivate: &r.s1, OriginatorPublic: &p1Pub}); err != nil {
		t.Fatal(err)
	}
	return r
}

// rotate adds a generation to ks's entry, retiring the older ones at retire (zero: not).
func rotate(t *testing.T, ks *keystore.Keystore, g *keystore.Generation, retire time.Time) {
	t.Helper()
	e, _ := ks.Get(keyed)
	r, err := e.Rotated(g, retire)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Put(r); err != nil {
		t.Fatal(err)
	}
}

// subRotates: the subscriber's generation 2, its new key and the publisher's new public key.
func (r *rotation) subRotates(t *testing.T) {
	p2Pub := r.p2.Public()
	rotate(t, r.sub, &keystore.Generation{ResponderPrivate: &r.s2, OriginatorPublic: &p2Pub}, time.Time{})
}

// pubRotates: the publisher's generation 2, its new key and the subscriber's new public key.
func (r *rotation) pubRotates(t *testing.T) {
	s2Pub := r.s2.Public()
	rotate(t, r.pub, &keystore.Generation{OriginatorPrivate: &r.p2, ResponderPublic: &s2Pub}, time.Time{})
}

// publish seals as the publisher and opens as the subscriber, with the options the
// router would forward (keep edits them: nil keeps all).
func publish(t *testing.T, r *rotation, form WireForm, keep func(wamp.Dict)) (wamp.List, wamp.Dict, error) {
	t.Helper()
	pub, sub := NewCodec(r.pub, "pub", form), NewCodec(r.sub, "sub", form)
	p, opts, ok, err := pub.Seal(true, keyed+"t", wamp.List{"hello"}, nil)
	if err != nil || !ok {
		t.Fatalf("Seal: %v %v", ok, err)
	}
	if keep != nil {
		keep(opts)
	}
	args, _, opened, err := sub.Open(false, keyed+"t", p, opts)
	if err == nil && !reflect.DeepEqual(args, wamp.List{"hello"}) {
		t.Fatalf("opened to %v", args)
	}
	return args, opened, err
}

func keyIDOption(form WireForm) string {
	if form == WirePPT {
		return wamp.OptPPTKeyID
	}
	return wamp.OptEncKey
}

// The subscriber rotates first, then the publisher: every payload opens, with the
// generation the key id names, and the key id is the subscriber's public key of the
// publisher's sealing generation.
func TestRotationLosesNothing(t *testing.T) {
	for _, form := range []WireForm{WireLegacy, WirePPT} {
		t.Run(form.String(), func(t *testing.T) {
			r := newRotation(t)
			check := func(step string, wantGen int64, wantID box.PublicKey) {
				t.Helper()
				var id any
				_, opened, err := publish(t, r, form, func(o wamp.Dict) { id = o[keyIDOption(form)] })
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if opened[OpenedGeneration] != wantGen || opened[OpenedEntry] != keyed {
					t.Fatalf("%s: opened by %v, want generation %d", step, opened, wantGen)
				}
				if id != keygen.Fingerprint(wantID) {
					t.Fatalf("%s: key id %v, want the fingerprint of %x", step, id, wantID)
				}
			}
			check("before", 1, r.s1.Public())
			r.subRotates(t)
			check("subscriber rotated", 1, r.s1.Public())
			r.pubRotates(t)
			check("both rotated", 2, r.s2.Public())
			// What opened it names the generation's keys by fingerprint.
			_, opened, _ := publish(t, r, form, nil)
			if opened[OpenedOriginator] != keygen.Fingerprint(r.p2.Public()) || opened[OpenedResponder] != keygen.Fingerprint(r.s2.Public()) {
				t.Fatalf("opened %v", opened)
			}
		})
	}
}

// Without a key id (Autobahn sends none), or with one of another form (cbx before key
// ids sent the originator's public key in base64) or a wrong one, every open generation
// is tried, newest first: the outcome does not depend on the key id.
func TestKeyIDOnlyOrdersTheGenerations(t *testing.T) {
	for _, form := range []WireForm{WireLegacy, WirePPT} {
		r := newRotation(t)
		r.subRotates(t)
		nine := box.PrivateKey{0, 9}
		wrong := keygen.Fingerprint(nine.Public())
		for name, edit := range map[string]func(wamp.Dict){
			"none":      func(o wamp.Dict) { delete(o, keyIDOption(form)) },
			"base64":    func(o wamp.Dict) { o[keyIDOption(form)] = keygen.Base64(r.p1.Public()) },
			"wrong":     func(o wamp.Dict) { o[keyIDOption(form)] = wrong },
			"not text":  func(o wamp.Dict) { o[keyIDOption(form)] = int64(7) },
			"lowercase": func(o wamp.Dict) { o[keyIDOption(form)] = strings.ToLower(o[keyIDOption(form)].(string)) },
		} {
			if _, opened, err := publish(t, r, form, edit); err != nil || opened[OpenedGeneration] != int64(1) {
				t.Errorf("%s, key id %s: %v, opened by %v", form, name, err, opened)
			}
		}
	}
	// The order: a payload of generation 1 with the key id is opened by the first
	// generation tried; without it, generation 2 is tried first.
	r := newRotation(t)
	r.subRotates(t)
	e, _ := r.sub.Get(keyed)
	id := keygen.Fingerprint(r.s1.Public())
	if c := appendCandidates(nil, e, false, id); len(c) != 2 || c[0].Number != 1 || c[1].Number != 2 {
		t.Fatalf("with the key id: %v", numbers(c))
	}
	if c := appendCandidates(nil, e, false, ""); len(c) != 2 || c[0].Number != 2 || c[1].Number != 1 {
		t.Fatalf("without a key id: %v", numbers(c))
	}
}

func numbers(gens []*keystore.Generation) []int {
	var n []int
	for _, g := range gens {
		n = append(n, g.Number)
	}
	return n
}

// When only the publisher's key changes, both of the subscriber's generations share its
// key, and so the key id: the newer is tried first and the older opens.
func TestKeyIDSharedByGenerations(t *testing.T) {
	r := newRotation(t)
	p2Pub := r.p2.Public()
	rotate(t, r.sub, &keystore.Generation{ResponderPrivate: &r.s1, OriginatorPublic: &p2Pub}, time.Time{})
	if _, opened, err := publish(t, r, WireLegacy, nil); err != nil || opened[OpenedGeneration] != int64(1) {
		t.Fatalf("%v, opened by %v", err, opened)
	}
	s1Pub := r.s1.Public()
	rotate(t, r.pub, &keystore.Generation{OriginatorPrivate: &r.p2, ResponderPublic: &s1Pub}, time.Time{})
	if _, opened, err := publish(t, r, WireLegacy, nil); err != nil || opened[OpenedGeneration] != int64(2) {
		t.Fatalf("%v, opened by %v", err, opened)
	}
}

// After its retire-after time, a generation opens nothing: a payload only it opens is
// refused naming it (decrypt_error to a peer), with or without a key id; before that
// time it opens. A payload no generation opens is still ErrDecrypt.
func TestRetiredGenerationRefused(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, form := range []WireForm{WireLegacy, WirePPT} {
		r := newRotation(t)
		p2Pub := r.p2.Public()
		rotate(t, r.sub, &keystore.Generation{ResponderPrivate: &r.s2, OriginatorPublic: &p2Pub}, at)
		pub, sub := NewCodec(r.pub, "pub", form), NewCodec(r.sub, "sub", form)
		p, opts, _, err := pub.Seal(true, keyed+"t", wamp.List{"old"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, o := range map[string]wamp.Dict{"with key id": opts, "without": without(opts, keyIDOption(form))} {
			sub.now = func() time.Time { return at.Add(-time.Second) }
			if _, _, opened, err := sub.Open(false, keyed+"t", p, o); err != nil || opened[OpenedGeneration] != int64(1) {
				t.Fatalf("%s %s, before retirement: %v", form, name, err)
			}
			sub.now = func() time.Time { return at }
			_, _, _, err := sub.Open(false, keyed+"t", p, o)
			var rk *RetiredKeyError
			if !errors.As(err, &rk) || rk.Generation != 1 || rk.Prefix != keyed || !rk.RetiredAt.Equal(at) || codecURI(err) != wamp.ErrURIDecrypt {
				t.Fatalf("%s %s, retired: %v", form, name, err)
			}
			if errors.Is(err, ErrDecrypt) {
				t.Fatalf("a payload that decrypted reported as ErrDecrypt: %v", err)
			}
			for _, want := range []string{`generation 1 of keystore entry "com.example.secure."`, "retired since 2030-01-01T00:00:00Z"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not say %q", err, want)
				}
			}
			// Offline (cbx open) alike.
			if _, err := sub.OpenMessage(false, keyed+"t", sealedOf(p)); !errors.As(err, &rk) {
				t.Fatalf("OpenMessage of a retired generation's payload: %v", err)
			}
		}
		// Tampered: no generation opens it, retired or not.
		bad := append([]byte{}, sealedOf(p)...)
		bad[len(bad)-1] ^= 1
		if _, err := sub.OpenMessage(false, keyed+"t", bad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("tampered: %v", err)
		}
		// Sealed with generation 1 for another URI: refused as retired (it decrypted with
		// a retired key), not delivered either way.
		moved, mopts, _, _ := pub.Seal(true, keyed+"other", wamp.List{"x"}, nil)
		if _, _, _, err := sub.Open(false, keyed+"t", moved, mopts); !errors.As(err, new(*RetiredKeyError)) {
			t.Fatalf("moved payload of a retired generation: %v", err)
		}
		// The new generation still opens.
		r.pubRotates(t)
		if _, opened, err := publish(t, r, form, nil); err != nil || opened[OpenedGeneration] != int64(2) {
			t.Fatalf("generation 2 after retirement: %v", err)
		}
	}
}

func without(d wamp.Dict, key string) wamp.Dict {
	out := wamp.Dict{}
	for k, v := range d {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func sealedOf(p wamp.Payload) []byte {
	if p.IsBare() {
		return p.Bare
	}
	return p.Args[0].([]byte)
}

// An open generation's URI mismatch ends the search: the payload decrypted, so it was
// sealed with that key, and is refused as moved.
func TestMismatchStopsTheSearch(t *testing.T) {
	r := newRotation(t)
	r.subRotates(t)
	pub, sub := NewCodec(r.pub, "pub", WireLegacy), NewCodec(r.sub, "sub", WireLegacy)
	p, opts, _, _ := pub.Seal(true, keyed+"a", wamp.List{"x"}, nil)
	if _, _, _, err := sub.Open(false, keyed+"b", p, opts); !errors.As(err, new(*URIMismatchError)) {
		t.Fatalf("%v", err)
	}
}

// A callee that rotated first answers a caller that has not with the generation that
// opened the call (SealReply), and names the caller's key; sealing the reply with the
// newest generation instead would leave the caller unable to open it.
func TestReplySealedWithTheRequestsGeneration(t *testing.T) {
	for _, form := range []WireForm{WireLegacy, WirePPT} {
		r := newRotation(t)
		r.subRotates(t)
		caller, callee := NewCodec(r.pub, "caller", form), NewCodec(r.sub, "callee", form)
		p, opts, _, _ := caller.Seal(true, keyed+"add", wamp.List{int64(1)}, nil)
		_, _, opened, err := callee.Open(false, keyed+"add", p, opts)
		if err != nil || opened[OpenedGeneration] != int64(1) {
			t.Fatalf("invocation: %v %v", err, opened)
		}
		for _, uri := range []string{keyed + "add", keyed + "error.bad"} {
			yp, yopts, ok, err := callee.SealReply(opened, uri, wamp.List{int64(2)}, nil)
			if err != nil || !ok {
				t.Fatal(err)
			}
			if yopts[keyIDOption(form)] != keygen.Fingerprint(r.p1.Public()) {
				t.Fatalf("reply key id %v", yopts[keyIDOption(form)])
			}
			args, _, ropened, err := caller.Open(true, uri, yp, yopts)
			if err != nil || !reflect.DeepEqual(args, wamp.List{int64(2)}) || ropened[OpenedGeneration] != int64(1) {
				t.Fatalf("%s: the caller cannot open the reply: %v", uri, err)
			}
		}
		// What Seal does instead: the newest generation, which the caller does not hold.
		yp, yopts, _, _ := callee.Seal(false, keyed+"add", wamp.List{int64(2)}, nil)
		if _, _, _, err := caller.Open(true, keyed+"add", yp, yopts); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("a reply with the newest generation opened for the caller: %v", err)
		}
		// replyTo naming another entry, or nothing, seals with the newest generation.
		for _, rt := range []wamp.Dict{{OpenedEntry: "org.", OpenedGeneration: int64(1)}, {OpenedEntry: keyed, OpenedGeneration: int64(5)}, {}} {
			_, yopts, _, _ := callee.SealReply(rt, keyed+"add", nil, nil)
			if yopts[keyIDOption(form)] != keygen.Fingerprint(r.p2.Public()) {
				t.Fatalf("reply to %v: key id %v, want generation 2's", rt, yopts[keyIDOption(form)])
			}
		}
		// Once the caller rotates too, replies use generation 2 again.
		r.pubRotates(t)
		p, opts, _, _ = caller.Seal(true, keyed+"add", nil, nil)
		if _, _, opened, err = callee.Open(false, keyed+"add", p, opts); err != nil || opened[OpenedGeneration] != int64(2) {
			t.Fatalf("after both rotated: %v %v", err, opened)
		}
	}
}

// A long-running subscriber's codec follows its keystore file (SetKeystore with the
// keystore read again) through the rotation: it is never rebuilt, and every payload
// opens; until SetKeystore it keeps the keystore it had.
func TestSetKeystoreDuringRotation(t *testing.T) {
	r := newRotation(t)
	reread := func(ks *keystore.Keystore) *keystore.Keystore {
		t.Helper()
		c, err := keystore.Parse(ks.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sub := NewCodec(reread(r.sub), "sub", WireLegacy)
	send := func(want int64) error {
		t.Helper()
		p, opts, _, err := NewCodec(r.pub, "pub", WireLegacy).Seal(true, keyed+"t", wamp.List{"x"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, opened, err := sub.Open(false, keyed+"t", p, opts)
		if err == nil && opened[OpenedGeneration] != want {
			t.Fatalf("opened by %v, want generation %d", opened, want)
		}
		return err
	}
	if err := send(1); err != nil {
		t.Fatal(err)
	}
	r.subRotates(t)
	sub.SetKeystore(reread(r.sub))
	if err := send(1); err != nil {
		t.Fatal(err)
	}
	r.pubRotates(t)
	if err := send(2); err != nil {
		t.Fatal(err)
	}
	// A codec that missed the subscriber's rotation cannot open generation 2.
	sub.SetKeystore(reread(newRotation(t).sub))
	if err := send(2); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a codec without the new generation opened its payload: %v", err)
	}
}
