package router

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Authentication exchanges as Autobahn|Python performs them (wire.md §4
// "Authentication"; AB/auth.py, AB/cryptosign.py), over the in-memory harness.

func hello(details wamp.Dict) *wamp.Hello {
	details["roles"] = roles()
	return &wamp.Hello{Realm: "realm1", Details: details}
}

func expectAbort(t *testing.T, c *client, reason string) {
	t.Helper()
	a := expect[*wamp.Abort](c)
	if a.Reason != reason {
		t.Errorf("ABORT reason = %q, want %q (%v)", a.Reason, reason, a.Details)
	}
	c.waitClosed()
}

// expectWelcome checks the WELCOME's auth details; authid "" accepts any non-empty one
// (nexus makes one up for anonymous sessions).
func expectWelcome(t *testing.T, c *client, authid, method, role string) {
	t.Helper()
	w := expect[*wamp.Welcome](c)
	got, _ := w.Details["authid"].(string)
	if (authid == "" && got == "") || (authid != "" && got != authid) || w.Details["authmethod"] != method || w.Details["authrole"] != role {
		t.Errorf("WELCOME details = %v, want authid %q method %q role %q", w.Details, authid, method, role)
	}
}

func TestTicketAuth(t *testing.T) {
	srv, trace, _ := testServer(t, Config{Tickets: map[string]string{"alice": "s3cret-ticket"}})
	for _, tc := range []struct {
		name, authid, ticket string
		ok                   bool
	}{
		{"right ticket", "alice", "s3cret-ticket", true},
		{"wrong ticket", "alice", "s3cret-tickeT", false},
		{"unknown authid", "bob", "s3cret-ticket", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, srv)
			c.send(hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": tc.authid}))
			ch := expect[*wamp.Challenge](c)
			if ch.AuthMethod != "ticket" {
				t.Fatalf("CHALLENGE = %s", summarize(ch))
			}
			c.send(&wamp.Authenticate{Signature: tc.ticket, Extra: wamp.Dict{}})
			if tc.ok {
				expectWelcome(t, c, tc.authid, "ticket", "user")
			} else {
				expectAbort(t, c, "wamp.error.authentication_failed")
			}
		})
	}
	if containsLine(trace.String(), "s3cret") {
		t.Errorf("the trace shows a ticket:\n%s", trace)
	}
}

func TestAnonymousRule(t *testing.T) {
	t.Run("refused when another method is configured", func(t *testing.T) {
		srv, _, _ := testServer(t, Config{Tickets: map[string]string{"alice": "x"}})
		c := connect(t, srv)
		c.send(hello(wamp.Dict{}))
		expectAbort(t, c, "wamp.error.authentication_failed")
	})
	t.Run("allowed when asked for", func(t *testing.T) {
		srv, _, _ := testServer(t, Config{Tickets: map[string]string{"alice": "x"}, Anonymous: true})
		c := connect(t, srv)
		c.send(hello(wamp.Dict{}))
		expect[*wamp.Welcome](c)
	})
	t.Run("allowed when nothing is configured", func(t *testing.T) {
		srv, _, _ := testServer(t, Config{Anonymous: false})
		c := connect(t, srv)
		c.send(hello(wamp.Dict{"authmethods": wamp.List{"anonymous"}}))
		expectWelcome(t, c, "", "anonymous", "anonymous")
	})
}

func TestWampcraAuth(t *testing.T) {
	srv, _, _ := testServer(t, Config{WampcraSecrets: map[string]string{"carol": "cra-secret"}})
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{{"right secret", "cra-secret", true}, {"wrong secret", "cra-secreT", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, srv)
			c.send(hello(wamp.Dict{"authmethods": wamp.List{"wampcra"}, "authid": "carol"}))
			ch := expect[*wamp.Challenge](c)
			challenge, _ := ch.Extra["challenge"].(string)
			if ch.AuthMethod != "wampcra" || challenge == "" {
				t.Fatalf("CHALLENGE = %s", summarize(ch))
			}
			// Autobahn's compute_wcs: base64(HMAC-SHA256(secret, challenge)).
			mac := hmac.New(sha256.New, []byte(tc.secret))
			mac.Write([]byte(challenge))
			c.send(&wamp.Authenticate{Signature: base64.StdEncoding.EncodeToString(mac.Sum(nil)), Extra: wamp.Dict{}})
			if tc.ok {
				expectWelcome(t, c, "carol", "wampcra", "user")
			} else {
				expectAbort(t, c, "wamp.error.authentication_failed")
			}
		})
	}
}

func TestCryptosignAuth(t *testing.T) {
	pub1, priv1, _ := ed25519.GenerateKey(rand.Reader)
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	pubOther, privOther, _ := ed25519.GenerateKey(rand.Reader)
	srv, _, _ := testServer(t, Config{CryptosignKeys: map[string][]ed25519.PublicKey{"dave": {pub1, pub2}}})

	// sign answers a CHALLENGE as Autobahn does: hex(signature ‖ challenge).
	sign := func(priv ed25519.PrivateKey, challenge []byte) string {
		return hex.EncodeToString(append(ed25519.Sign(priv, challenge), challenge...))
	}
	for _, tc := range []struct {
		name   string
		authid string
		pub    ed25519.PublicKey
		answer func(ch []byte) string
		ok     bool
	}{
		{"first key", "dave", pub1, func(ch []byte) string { return sign(priv1, ch) }, true},
		{"second key", "dave", pub2, func(ch []byte) string { return sign(priv2, ch) }, true},
		{"authid found by key", "", pub2, func(ch []byte) string { return sign(priv2, ch) }, true},
		{"unauthorized key", "dave", pubOther, func(ch []byte) string { return sign(privOther, ch) }, false},
		{"signature by another key", "dave", pub1, func(ch []byte) string { return sign(priv2, ch) }, false},
		{"replayed signature of another challenge", "dave", pub1, func(ch []byte) string {
			other := make([]byte, 32)
			rand.Read(other)
			return sign(priv1, other)
		}, false},
		{"signature without the challenge", "dave", pub1, func(ch []byte) string {
			return hex.EncodeToString(ed25519.Sign(priv1, ch))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := connect(t, srv)
			d := wamp.Dict{"authmethods": wamp.List{"cryptosign"}, "authextra": wamp.Dict{"pubkey": hex.EncodeToString(tc.pub)}}
			if tc.authid != "" {
				d["authid"] = tc.authid
			}
			c.send(hello(d))
			ch := expect[*wamp.Challenge](c)
			chHex, _ := ch.Extra["challenge"].(string)
			challenge, err := hex.DecodeString(chHex)
			if ch.AuthMethod != "cryptosign" || err != nil || len(challenge) != 32 {
				t.Fatalf("CHALLENGE = %s", summarize(ch))
			}
			c.send(&wamp.Authenticate{Signature: tc.answer(challenge), Extra: wamp.Dict{}})
			if tc.ok {
				expectWelcome(t, c, "dave", "cryptosign", "user")
			} else {
				expectAbort(t, c, "wamp.error.authentication_failed")
			}
		})
	}
	t.Run("missing pubkey", func(t *testing.T) {
		c := connect(t, srv)
		c.send(hello(wamp.Dict{"authmethods": wamp.List{"cryptosign"}, "authid": "dave"}))
		expectAbort(t, c, "wamp.error.authentication_failed")
	})
}

// TestConfigValidation gives New one bad setting at a time and expects the error about
// that setting, not merely some error: a check that stopped working would otherwise hide
// behind a later one, or behind nexus refusing the same configuration with a message
// that names no setting.
func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty realm", Config{Realms: []string{""}}, `router: invalid realm ""`},
		{"realm with a space", Config{Realms: []string{"realm 1"}}, `router: invalid realm "realm 1"`},
		{"realm with a comment sign", Config{Realms: []string{"realm#1"}}, `router: invalid realm "realm#1"`},
		{"duplicate realm", Config{Realms: []string{"a", "b", "a"}}, `router: realm "a" listed twice`},
		{"negative size", Config{MaxMessageSize: -1}, "router: MaxMessageSize must not be negative"},
		{"negative queue", Config{OutQueueSize: -1}, "router: OutQueueSize must not be negative"},
		{"negative queue bytes", Config{OutQueueBytes: -1}, "router: OutQueueBytes must not be negative"},
		{"empty ticket", Config{Tickets: map[string]string{"a": ""}}, "router: tickets need a non-empty authid and ticket"},
		{"ticket without authid", Config{Tickets: map[string]string{"": "t"}}, "router: tickets need a non-empty authid and ticket"},
		{"empty wampcra secret", Config{WampcraSecrets: map[string]string{"a": ""}}, "router: wampcra secrets need a non-empty authid and secret"},
		{"wampcra secret without authid", Config{WampcraSecrets: map[string]string{"": "s"}}, "router: wampcra secrets need a non-empty authid and secret"},
		{"short key", Config{CryptosignKeys: map[string][]ed25519.PublicKey{"a": {make([]byte, 31)}}}, `router: cryptosign key for "a" has 31 bytes, want 32`},
		{"long key", Config{CryptosignKeys: map[string][]ed25519.PublicKey{"a": {make([]byte, 32), make([]byte, 33)}}}, `router: cryptosign key for "a" has 33 bytes, want 32`},
		{"no keys", Config{CryptosignKeys: map[string][]ed25519.PublicKey{"a": nil}}, `router: cryptosign authid "a" needs at least one key`},
		{"key without authid", Config{CryptosignKeys: map[string][]ed25519.PublicKey{"": {make([]byte, 32)}}}, `router: cryptosign authid "" needs at least one key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = discardLogger()
			srv, err := New(tc.cfg)
			if err == nil {
				srv.Close()
				t.Fatalf("New(%+v) succeeded, want %q", tc.cfg, tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("New(%+v): %q, want %q", tc.cfg, err, tc.want)
			}
			if srv != nil {
				t.Errorf("New returned a server with its error")
			}
		})
	}
	got, err := Config{}.withDefaults()
	if err != nil || got.MaxMessageSize != DefaultMaxMessageSize || got.OutQueueSize != DefaultOutQueueSize ||
		got.OutQueueBytes != DefaultOutQueueBytes || len(got.Realms) != 1 || got.Realms[0] != DefaultRealm || got.Logger == nil {
		t.Errorf("defaults = %+v, %v", got, err)
	}
}
