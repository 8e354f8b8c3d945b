package wamp

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// Cryptosign test vectors from the WAMP spec (wamp-proto
// rfc/text/advanced/authentication_cryptosign.md, "Test Vectors"): private key (Ed25519
// seed), challenge, optional TLS channel ID, and the expected hex(signature ‖ message).
var cryptosignSpecVectors = []struct{ channelID, privateKey, challenge, signature string }{
	{"", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
	{"", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
		"b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
		"d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"},
	{"", "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
		"b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
		"7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2"},
	{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"9b6f41540c9b95b4b7b281c3042fa9c54cef43c842d62ea3fd6030fcb66e70b3e80d49d44c29d1635da9348d02ec93f3ed1ef227dfb59a07b580095c2b82f80f9d16ca518aa0c2b707f2b2a609edeca73bca8dd59817a633f35574ac6fd80d00"},
	{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
		"b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
		"305aaa3ac25e98f651427688b3fc43fe7d8a68a7ec1d7d61c61517c519bd4a427c3015599d83ca28b4c652333920223844ef0725eb5dc2febfd6af7677b73f01d0852a29b460fc92ec943242ac638a053bbacc200512b18b30d15083cbdc9282"},
	{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff", "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
		"b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
		"ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d"},
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCryptosignSpecVectors(t *testing.T) {
	for i, v := range cryptosignSpecVectors {
		key := ed25519.NewKeyFromSeed(mustHex(t, v.privateKey))
		var cid []byte
		if v.channelID != "" {
			cid = mustHex(t, v.channelID)
		}
		if got := cryptosignSign(key, mustHex(t, v.challenge), cid); got != v.signature {
			t.Errorf("vector %d:\n got %s\nwant %s", i, got, v.signature)
		}
		if cid != nil {
			continue
		}
		// The CHALLENGE path (no channel binding) gives the same answer.
		got, err := cryptosignSignature(key, Dict{"challenge": v.challenge, "channel_binding": nil})
		if err != nil || got != v.signature {
			t.Errorf("vector %d via challenge: %s, %v", i, got, err)
		}
	}
}

func TestCryptosignRejectsBadChallenges(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	for _, extra := range []Dict{
		{},
		{"challenge": "zz"},
		{"challenge": strings.Repeat("ab", 31)},
		{"challenge": strings.Repeat("ab", 32), "channel_binding": "tls-unique"},
		{"challenge": int64(5)},
	} {
		if sig, err := cryptosignSignature(key, extra); err == nil {
			t.Errorf("challenge %v answered with %s", extra, sig)
		}
	}
}

// TestWampcraMatchesAutobahn computes WAMP-CRA signatures with Autobahn|Python's own
// auth.derive_key and auth.compute_wcs and compares them with ours, salted and not.
func TestWampcraMatchesAutobahn(t *testing.T) {
	py := testkit.NeedAutobahnPython(t)
	type tc struct {
		Secret     string `json:"secret"`
		Salt       string `json:"salt"`
		Iterations int    `json:"iterations"`
		KeyLen     int    `json:"keylen"`
		Challenge  string `json:"challenge"`
	}
	challenge := `{"nonce":"LHRTC9zeOIrt_9U3","authprovider":"userdb","authid":"peter","timestamp":"2014-06-22T16:36:25.448Z","authrole":"user","authmethod":"wampcra","session":3251278072152162}`
	cases := []tc{
		{"secret", "", 0, 0, challenge},
		{"squeamish ossifrage", "salt123", 1000, 32, challenge},
		{"pässwörd ✓", "sälz", 100, 16, "ünïcode challenge"},
		{"s", "x", 1, 64, ""},
	}
	in, _ := json.Marshal(cases)
	const script = `
import json, sys, txaio
txaio.use_asyncio()
from autobahn.wamp import auth
out = []
for c in json.load(sys.stdin):
    key = c["secret"].encode("utf8")
    if c["salt"]:
        key = auth.derive_key(c["secret"], c["salt"], c["iterations"], c["keylen"])
    out.append(auth.compute_wcs(key, c["challenge"]).decode("ascii"))
print(json.dumps(out))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = bytes.NewReader(in)
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want []string
	if err := json.Unmarshal(outb, &want); err != nil || len(want) != len(cases) {
		t.Fatalf("python output %q: %v", outb, err)
	}
	for i, c := range cases {
		extra := Dict{"challenge": c.Challenge}
		if c.Salt != "" {
			extra["salt"], extra["iterations"], extra["keylen"] = c.Salt, int64(c.Iterations), int64(c.KeyLen)
		}
		got, err := wampcraSignature(c.Secret, extra)
		if err != nil || got != want[i] {
			t.Errorf("case %d: got %q, %v; Autobahn %q", i, got, err, want[i])
		}
	}
	// Autobahn's defaults (1000 iterations, 32 bytes) apply when the router omits them.
	withDefaults, err1 := wampcraSignature("squeamish ossifrage", Dict{"challenge": challenge, "salt": "salt123"})
	if err1 != nil || withDefaults != want[1] {
		t.Errorf("defaults: %q, %v; want %q", withDefaults, err1, want[1])
	}
}

func TestWampcraRejectsHostileParameters(t *testing.T) {
	for _, extra := range []Dict{
		{},
		{"challenge": "c", "salt": "s", "iterations": int64(wampcraMaxIterations + 1)},
		{"challenge": "c", "salt": "s", "keylen": int64(wampcraMaxKeyLen + 1)},
		{"challenge": "c", "salt": "s", "iterations": int64(-1)},
		{"challenge": "c", "salt": "s", "iterations": "1000"},
	} {
		if sig, err := wampcraSignature("pw", extra); err == nil {
			t.Errorf("extra %v answered with %s", extra, sig)
		}
	}
}

func TestConfigAuthMethod(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	cases := []struct {
		cfg  Config
		want string
		ok   bool
	}{
		{Config{}, "", true},
		{Config{Ticket: "t"}, "ticket", true},
		{Config{WampcraSecret: "s"}, "wampcra", true},
		{Config{CryptosignKey: key}, "cryptosign", true},
		{Config{Ticket: "t", CryptosignKey: key}, "", false},
		{Config{CryptosignKey: key[:10]}, "", false},
	}
	for i, c := range cases {
		got, err := c.cfg.authMethod()
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("case %d: %q, %v", i, got, err)
		}
	}
}

// FuzzRespondChallenge: whatever CHALLENGE a router sends (after the JSON decoder has
// accepted it), answering it never panics, for every method.
func FuzzRespondChallenge(f *testing.F) {
	f.Add([]byte(`[4,"wampcra",{"challenge":"{\"nonce\":\"x\"}","salt":"s","iterations":10,"keylen":32}]`))
	f.Add([]byte(`[4,"wampcra",{"challenge":"c"}]`))
	f.Add([]byte(`[4,"cryptosign",{"challenge":"` + strings.Repeat("ab", 32) + `","channel_binding":null}]`))
	f.Add([]byte(`[4,"ticket",{}]`))
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	cfgs := map[string]Config{
		"ticket":     {Ticket: "t"},
		"wampcra":    {WampcraSecret: "s"},
		"cryptosign": {CryptosignKey: key},
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := JSON.Unmarshal(frame)
		if err != nil {
			return
		}
		ch, ok := m.(*Challenge)
		if !ok {
			return
		}
		if n, ok := toInt64(ch.Extra["iterations"]); ok && n > 10000 {
			return // a legitimate but slow derivation; bounded by wampcraMaxIterations
		}
		for method, cfg := range cfgs {
			a, err := cfg.respondChallenge(method, ch)
			if err == nil && a == nil {
				t.Fatalf("%s: nil AUTHENTICATE without error", method)
			}
		}
	})
}
