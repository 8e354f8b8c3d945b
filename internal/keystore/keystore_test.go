package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
)

// Keys of testdata/vectors/cryptobox.json and the box key Autobahn derives from them.
const (
	origPriv   = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
	origPub    = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
	respPriv   = "XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os="
	respPub    = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
	singlePriv = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	boxKeyHex  = "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389"
	singleHex  = "0334c7817e029d5f732d5d98572ae34410dc9b1960a7bb02cd0e931e74154789"
)

func priv(t testing.TB, s string) *box.PrivateKey {
	k, err := keygen.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	p := box.PrivateKey(k)
	return &p
}

func pub(t testing.TB, s string) *box.PublicKey {
	k, err := keygen.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	p := box.PublicKey(k)
	return &p
}

const sample = `# a comment
cbx-keystore v1

prefix "com.example.secure."
originator-private ` + origPriv + `
responder-public ` + respPub + `

prefix "com.example.secure.callee."
responder-private ` + respPriv + `
originator-public ` + origPub + `

prefix ""
single ` + singlePriv + `
end
`

func TestParseMarshalRoundTrip(t *testing.T) {
	ks, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ks.Entries()); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
	out := ks.Marshal()
	ks2, err := Parse(out)
	if err != nil {
		t.Fatalf("marshalled keystore does not parse: %v\n%s", err, out)
	}
	if !bytes.Equal(ks2.Marshal(), out) {
		t.Fatal("marshal is not stable")
	}
	e, _ := ks2.Get("com.example.secure.")
	if keygen.Base64(*e.OriginatorPrivate) != origPriv || keygen.Base64(*e.ResponderPublic) != respPub || e.Single != nil {
		t.Fatalf("entry changed in the round trip: %+v", e)
	}
}

func TestDirectionsDeriveAutobahnsBoxKey(t *testing.T) {
	ks, err := Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := ks.Get("com.example.secure.")
	resp, _ := ks.Get("com.example.secure.callee.")
	single, _ := ks.Get("")
	if !orig.CanOriginate() || orig.CanRespond() || orig.Key(false) != nil {
		t.Fatal("publisher-side entry must serve the originator side only")
	}
	if resp.CanOriginate() || !resp.CanRespond() || resp.Key(true) != nil {
		t.Fatal("subscriber-side entry must serve the responder side only")
	}
	if got := fmt.Sprintf("%x", orig.Key(true).Bytes()); got != boxKeyHex {
		t.Fatalf("originator box key %s, want %s", got, boxKeyHex)
	}
	if got := fmt.Sprintf("%x", resp.Key(false).Bytes()); got != boxKeyHex {
		t.Fatalf("responder box key %s, want %s", got, boxKeyHex)
	}
	if got := fmt.Sprintf("%x", single.Key(true).Bytes()); got != singleHex || single.Key(false) != single.Key(true) {
		t.Fatalf("single key %s, want %s on both sides", got, singleHex)
	}
	if orig.Key(true) != orig.Key(true) {
		t.Fatal("the box key is recomputed instead of reused")
	}
}

func TestParseErrors(t *testing.T) {
	body := "prefix \"a.\"\nsingle " + singlePriv + "\n"
	cases := map[string]string{
		"":                         "empty file",
		"# only comments\n":        "empty file",
		"hello\n":                  "not a cbx keystore",
		"cbx-keystore v3\nend\n":   "format version 3 is newer than this cbx reads (versions 1 to 2)",
		"cbx-keystore v02\nend\n":  "bad format version",
		"cbx-keystore v0\nend\n":   "bad format version",
		"cbx-keystore vx\nend\n":   "bad format version",
		"cbx-keystore v1\n" + body: `no "end" line`,
		"cbx-keystore v1\n" + body + "end\nprefix \"b.\"\n":                                          "after the \"end\"",
		"cbx-keystore v1\nsingle " + singlePriv + "\nend\n":                                          "before the first prefix",
		"cbx-keystore v1\nprefix a.\nend\n":                                                          "double-quoted",
		"cbx-keystore v1\n" + body + body + "end\n":                                                  "appears twice",
		"cbx-keystore v1\nprefix \"a.\"\nsecret " + singlePriv + "\nend\n":                           "unknown field",
		"cbx-keystore v1\nprefix \"a.\"\nsingle AAAA\nend\n":                                         `line 3: prefix "a.": single: malformed key: 2 bytes of hex (4 digits)`,
		"cbx-keystore v1\nprefix \"a.\"\nsingle AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw==\nend\n": "single: malformed key: 31 bytes",
		"cbx-keystore v1\nprefix \"a.\"\noriginator-private " + origPriv + "\nresponder-public 7v////////////////////////////////////////8=\nend\n": `line 4: prefix "a.": responder-public: low-order public key`,
		"cbx-keystore v1\nprefix \"a.\"\nsingle " + singlePriv + "\nsingle " + singlePriv + "\nend\n":                                               "given twice",
		"cbx-keystore v1\nprefix \"a.\"\nend\n":                                                                         "allows no direction",
		"cbx-keystore v1\nprefix \"a.\"\nresponder-public " + respPub + "\nend\n":                                       "allows no direction",
		"cbx-keystore v1\nprefix \"a.\"\nsingle " + singlePriv + "\nresponder-public " + respPub + "\nend\n":            "cannot be combined",
		"cbx-keystore v1\nprefix \"a.\"\noriginator-private " + origPriv + "\noriginator-public " + origPub + "\nend\n": "not both",
		// Version 1 knows no generations.
		"cbx-keystore v1\nprefix \"a.\"\ngeneration 1\nsingle " + singlePriv + "\nend\n":                      `unknown field "generation" in a version 1 keystore`,
		"cbx-keystore v1\nprefix \"a.\"\nsingle " + singlePriv + "\nretire-after 2026-01-01T00:00:00Z\nend\n": `unknown field "retire-after" in a version 1 keystore`,
		// Version 2: generations numbered 1, 2, … and only older ones retiring.
		"cbx-keystore v2\nprefix \"a.\"\nsingle " + singlePriv + "\nend\n":                                                          `line 3: prefix "a.": "single" before the first generation line`,
		"cbx-keystore v2\nprefix \"a.\"\nend\n":                                                                                     `prefix "a." has no generation`,
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 2\nsingle " + singlePriv + "\nend\n":                                            `want "generation 1"`,
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 01\nsingle " + singlePriv + "\nend\n":                                           `want "generation 1"`,
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 1\nsingle " + singlePriv + "\ngeneration 3\nend\n":                              `line 5: prefix "a.": want "generation 2"`,
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 1\nsingle " + singlePriv + "\ngeneration 2\nend\n":                              `generation 2: allows no direction`,
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 1\nretire-after 2026-01-01T00:00:00Z\nsingle " + singlePriv + "\nend\n":         "generation 1 is the newest, which seals: it cannot have retire-after",
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 1\nretire-after 2026-01-01\nsingle " + singlePriv + "\nend\n":                   "retire-after must be an RFC 3339 time",
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 1\nretire-after 2026-01-01T00:00:00Z\nretire-after 2026-01-01T00:00:00Z\nend\n": "retire-after given twice",
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 1\nsingle " + singlePriv + "\nsingle " + singlePriv + "\nend\n":                 `single given twice for prefix "a.", generation 1`,
		"cbx-keystore v2\nprefix \"a.\"\ngeneration 1\nsecret " + singlePriv + "\nend\n":                                            "unknown field \"secret\" (want generation, retire-after,",
	}
	for in, want := range cases {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", in, err, want)
			continue
		}
		for _, k := range []string{origPriv, respPriv, singlePriv} {
			if strings.Contains(err.Error(), k) {
				t.Errorf("error %q reveals a private key", err)
			}
		}
	}
}

func TestLookupFollowsAutobahnKeyRing(t *testing.T) {
	ks := New()
	for _, p := range []string{"com.app", "com.app.secure.", "com.app.secure.deep.", "wamp.session."} {
		if err := ks.Put(&Entry{Prefix: p, Single: priv(t, singlePriv)}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct{ uri, want string }{
		{"com.app.secure.deep.x", "com.app.secure.deep."},
		{"com.app.secure.x", "com.app.secure."},
		{"com.application.x", "com.app"}, // character prefix, as pytrie's longest_prefix
		{"org.other", "-"},               // no default: plaintext
		{"wamp.session.get", "wamp.session."},
	}
	check := func() {
		for _, c := range cases {
			e, ok := ks.Lookup(c.uri)
			got := "-"
			if ok {
				got = e.Prefix
			}
			if got != c.want {
				t.Errorf("Lookup(%q) = %q, want %q", c.uri, got, c.want)
			}
		}
	}
	check()
	if err := ks.Put(&Entry{Prefix: "", Single: priv(t, singlePriv)}); err != nil {
		t.Fatal(err)
	}
	cases[3].want = ""                                                               // now the default key applies
	cases = append(cases, struct{ uri, want string }{"wamp.registration.list", "-"}) // but never to the meta API
	check()

	r := ks.Explain("com.application.x")
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], `does not end in "."`) {
		t.Errorf("no warning about the prefix without a dot: %+v", r)
	}
	r = ks.Explain("com.app.secure.deep.x")
	if len(r.Shadowed) != 2 || !strings.Contains(r.Reason, "longest prefix") {
		t.Errorf("explain: %+v", r)
	}
}

func TestPermissionsAreEnforced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "keystore")
	if err := Update(path, func(ks *Keystore) error {
		return ks.Put(&Entry{Prefix: "a.", Single: priv(t, singlePriv)})
	}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != want {
			t.Fatalf("%s: mode %v (%v), want %04o", p, st.Mode(), err, want)
		}
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var pe *PermissionError
	if !errors.As(err, &pe) || pe.Mode.Perm() != 0o644 || !strings.Contains(err.Error(), "0644") {
		t.Fatalf("world-readable keystore: err = %v, want PermissionError with mode 0644", err)
	}
	if err := Update(path, func(*Keystore) error { return nil }); !errors.As(err, &pe) {
		t.Fatalf("Update on a world-readable keystore: err = %v", err)
	}
	var nf *NotFoundError
	if _, err := Load(filepath.Join(dir, "none")); !errors.As(err, &nf) {
		t.Fatalf("missing keystore: err = %v", err)
	}
}

func TestTruncatedKeystoreIsNeverOverwritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keystore")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	cut := []byte(sample[:strings.Index(sample, "prefix \"\"")])
	if err := os.WriteFile(path, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	var pe *ParseError
	if _, err := Load(path); !errors.As(err, &pe) {
		t.Fatalf("truncated keystore loaded: %v", err)
	}
	err := Update(path, func(ks *Keystore) error { return ks.Put(&Entry{Prefix: "x.", Single: priv(t, singlePriv)}) })
	if !errors.As(err, &pe) {
		t.Fatalf("Update over a truncated keystore: err = %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, cut) {
		t.Fatal("the truncated keystore was changed")
	}
}

func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keystore")
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Update(path, func(ks *Keystore) error {
				return ks.Put(&Entry{Prefix: fmt.Sprintf("p%02d.", i), Single: priv(t, singlePriv)})
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ks, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(ks.Entries()); got != n {
		t.Fatalf("%d entries after %d concurrent adds", got, n)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if e.Name() != "keystore" && e.Name() != "keystore.lock" {
			t.Fatalf("left behind: %q", e.Name())
		}
	}
}

func TestReadSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	os.WriteFile(path, []byte(singlePriv), 0o640)
	var pe *PermissionError
	if _, err := ReadSecretFile(path); !errors.As(err, &pe) {
		t.Fatalf("group-readable key file: err = %v", err)
	}
	os.Chmod(path, 0o400)
	if b, err := ReadSecretFile(path); err != nil || string(b) != singlePriv {
		t.Fatalf("0400 key file: %q, %v", b, err)
	}
}

// FuzzParse: whatever parses, in either version, is written back in the current version
// and reads back to the same entries, generations, keys and retirement times.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(sampleV2))
	f.Add([]byte("cbx-keystore v1\nend\n"))
	f.Add([]byte("cbx-keystore v1\nprefix \"\\u00e9\"\nsingle " + singlePriv + "\nend"))
	f.Add([]byte("cbx-keystore v2\nprefix \"a\"\ngeneration 1\nretire-after 2026-02-03T04:05:06+07:00\nsingle " + singlePriv + "\ngeneration 2\nsingle " + origPriv + "\nend"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := Parse(data)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		out := ks.Marshal()
		ks2, err := Parse(out)
		if err != nil {
			t.Fatalf("marshalled keystore does not parse: %v\n%s", err, out)
		}
		if !bytes.Equal(ks2.Marshal(), out) {
			t.Fatalf("marshal not stable")
		}
		if !bytes.HasPrefix(bytes.SplitAfter(out, []byte("\n"))[2], []byte("cbx-keystore v2\n")) {
			t.Fatalf("not written in version 2:\n%s", out)
		}
		for _, e := range ks.Entries() {
			e2, ok := ks2.Get(e.Prefix)
			if !ok || e2.CanOriginate() != e.CanOriginate() || e2.CanRespond() != e.CanRespond() {
				t.Fatalf("entry %q changed in the round trip", e.Prefix)
			}
			g1, g2 := e.Generations(), e2.Generations()
			if len(g1) != len(g2) {
				t.Fatalf("entry %q: %d generations, %d after the round trip", e.Prefix, len(g1), len(g2))
			}
			for i := range g1 {
				if g1[i].Number != i+1 || g2[i].Number != i+1 || !sameKeys(g1[i], g2[i]) || !g1[i].RetireAfter.Equal(g2[i].RetireAfter) {
					t.Fatalf("entry %q: generation %d changed in the round trip", e.Prefix, i+1)
				}
			}
			if !e.Newest().RetireAfter.IsZero() {
				t.Fatalf("entry %q: the newest generation retires", e.Prefix)
			}
		}
	})
}

// Explain and Lookup must agree, and LookupOpen differs only for wamp.* URIs, where it is
// plain Autobahn KeyRing lookup.
func TestLookupOpenAndExplainAgree(t *testing.T) {
	ks := New()
	for _, p := range []string{"", "com.", "com.app.", "wamp.session."} {
		if err := ks.Put(&Entry{Prefix: p, Single: priv(t, singlePriv)}); err != nil {
			t.Fatal(err)
		}
	}
	prefix := func(e *Entry, ok bool) string {
		if !ok {
			return "-"
		}
		return e.Prefix
	}
	cases := []struct{ uri, seal, open string }{
		{"com.app.x", "com.app.", "com.app."},
		{"org.x", "", ""},
		{"wamp.session.get", "wamp.session.", "wamp.session."},
		{"wamp.error.runtime_error", "-", ""}, // Autobahn seals it under the default key
	}
	for _, c := range cases {
		if got := prefix(ks.Lookup(c.uri)); got != c.seal {
			t.Errorf("Lookup(%q) = %q, want %q", c.uri, got, c.seal)
		}
		r := ks.Explain(c.uri)
		if got := prefix(r.Entry, r.Entry != nil); got != c.seal {
			t.Errorf("Explain(%q) chose %q, Lookup %q", c.uri, got, c.seal)
		}
		if got := prefix(ks.LookupOpen(c.uri)); got != c.open {
			t.Errorf("LookupOpen(%q) = %q, want %q", c.uri, got, c.open)
		}
	}
}

func TestUpdateThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "keystore")
	if err := Update(real, func(ks *Keystore) error { return ks.Put(&Entry{Prefix: "a.", Single: priv(t, singlePriv)}) }); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := Update(link, func(ks *Keystore) error { return ks.Put(&Entry{Prefix: "b.", Single: priv(t, singlePriv)}) }); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", st.Mode(), err)
	}
	ks, err := Load(real)
	if err != nil || len(ks.Entries()) != 2 {
		t.Fatalf("the real keystore was not updated: %v", err)
	}
}

// A malformed line may be a key: no parse error repeats it (an acceptance review found a
// stray key line and "originator-private=KEY" printed back in full).
func TestParseErrorsNeverShowKeys(t *testing.T) {
	const key = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
	const hexKey = "7707c3a0a7e86a4cc4e42138ab8e2d5fe1ee6cb8fac4ea8db4bb9aec0766ed7e"
	for name, body := range map[string]string{
		"stray key line":          "prefix \"x.\"\nsingle " + key + "\n" + key + "\nend\n",
		"field=key":               "prefix \"x.\"\noriginator-private=" + key + "\nend\n",
		"key before prefix":       hexKey + "\nend\n",
		"field=key before prefix": "single=" + key + "\nend\n",
	} {
		_, err := Parse([]byte("cbx-keystore v1\n" + body))
		if err == nil {
			t.Errorf("%s: parsed", name)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, key[:12]) || strings.Contains(msg, hexKey[:12]) {
			t.Errorf("%s: the error shows the key: %s", name, msg)
		}
	}
	// A plausible field name is still named, to help with typos.
	_, err := Parse([]byte("cbx-keystore v1\nprefix \"x.\"\nsingel " + key + "\nend\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown field "singel"`) {
		t.Errorf("a mistyped field name: %v", err)
	}
}

// An Update that would make the keystore larger than cbx reads back is refused and
// writes nothing: otherwise the user would be locked out of their own keystore.
func TestUpdateRefusesKeystoreTooLargeToRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keystore")
	var priv box.PrivateKey
	priv[0] = 9
	add := func(n int) error {
		return Update(path, func(ks *Keystore) error {
			for i := 0; i < n; i++ {
				k := priv
				if err := ks.Put(&Entry{Prefix: fmt.Sprintf("com.example.p%07d.", len(ks.entries)), Single: &k}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// An entry is about 85 bytes: 40,000 fit under 4 MiB, 60,000 do not.
	if err := add(40000); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = add(20000)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !tl.Writing {
		t.Fatalf("Update beyond the limit: %v, want *TooLargeError (writing)", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("the refused Update changed the keystore")
	}
	if _, err := Load(path); err != nil {
		t.Fatalf("the keystore no longer loads: %v", err)
	}
}

// PrefixName is how every message names an entry: quoted as Go quotes, and the default
// key said in words, since "" alone reads as nothing.
func TestPrefixName(t *testing.T) {
	for prefix, want := range map[string]string{
		"":               `"" (default key)`,
		"com.example.":   `"com.example."`,
		"com.\"quoted\"": `"com.\"quoted\""`,
	} {
		if got := PrefixName(prefix); got != want {
			t.Errorf("PrefixName(%q) = %s, want %s", prefix, got, want)
		}
	}
}

// Lookup keeps choosing the longest prefix whatever the order entries were put in, and
// after entries are replaced and removed (Keystore.byLength follows every change).
func TestLookupLongestAfterPutAndRemove(t *testing.T) {
	ks := New()
	put := func(p string) *Entry {
		t.Helper()
		e := &Entry{Prefix: p, Single: priv(t, singlePriv)}
		if err := ks.Put(e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	want := func(uri string, w *Entry) {
		t.Helper()
		if e, ok := ks.Lookup(uri); (w == nil) != !ok || (ok && e != w) {
			t.Errorf("Lookup(%q) = %v, %v; want %v", uri, e, ok, w)
		}
	}
	mid := put("com.app.")
	long := put("com.app.secure.")
	short := put("com.")
	def := put("")
	want("com.app.secure.x", long)
	want("com.app.x", mid)
	want("com.x", short)
	want("org.x", def)
	long2 := put("com.app.secure.") // replaces the entry, keeps one copy
	want("com.app.secure.x", long2)
	if !ks.Remove("com.app.secure.") {
		t.Fatal("Remove found no entry")
	}
	want("com.app.secure.x", mid)
	ks.Remove("com.app.")
	want("com.app.secure.x", short)
	ks.Remove("com.")
	ks.Remove("")
	want("com.x", nil)
	if ks.Remove("com.") {
		t.Error("Remove of a removed entry reported one")
	}
}

// A parsed keystore chooses the longest prefix too: the file lists entries by prefix, so
// a shorter prefix comes before the longer ones it contains, and Parse must not keep
// that order for Lookup.
func TestLookupLongestAfterParse(t *testing.T) {
	ks := New()
	for _, p := range []string{"", "com.", "com.app.", "com.app.secure.", "com.b."} {
		if err := ks.Put(&Entry{Prefix: p, Single: priv(t, singlePriv)}); err != nil {
			t.Fatal(err)
		}
	}
	parsed, err := Parse(ks.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	for uri, want := range map[string]string{
		"com.app.secure.x": "com.app.secure.",
		"com.app.x":        "com.app.",
		"com.b.x":          "com.b.",
		"com.c":            "com.",
	} {
		if e, ok := parsed.Lookup(uri); !ok || e.Prefix != want {
			t.Errorf("Lookup(%q) = %v, %v; want prefix %q", uri, e, ok, want)
		}
	}
}
