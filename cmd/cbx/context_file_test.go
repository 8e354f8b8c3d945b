package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const goodContexts = `# a comment
cbx-contexts v1

current "prod"

context "prod"
url "wss://router.example.com/ws"
realm "realm1"
serializer "msgpack"
keystore "/home/me/.config/cbx/prod.ks"
authid "alice"
authrole "ops"
ticket "env:PROD_TICKET"
ca "/etc/ssl/prod-ca.pem"

context "local"
  url "ws://127.0.0.1:8080/ws"
cryptosign-key "/home/me/cs.key"

end
`

func TestParseContexts(t *testing.T) {
	cf, err := parseContexts([]byte(goodContexts))
	if err != nil {
		t.Fatal(err)
	}
	want := &contextFile{current: "prod", contexts: map[string]*cbxContext{
		"prod": {name: "prod", url: "wss://router.example.com/ws", realm: "realm1", serializer: "msgpack",
			keystore: "/home/me/.config/cbx/prod.ks", authID: "alice", authRole: "ops", ticket: "env:PROD_TICKET", ca: "/etc/ssl/prod-ca.pem"},
		"local": {name: "local", url: "ws://127.0.0.1:8080/ws", cryptosign: "/home/me/cs.key"},
	}}
	if !reflect.DeepEqual(cf, want) {
		t.Fatalf("got %+v\nwant %+v", cf, want)
	}
	// What marshal writes parses back to the same contexts.
	back, err := parseContexts(cf.marshal())
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip: %+v, %v\n%s", back, err, cf.marshal())
	}
}

// Each malformed file is refused with an error naming the line and the problem, and
// none repeats a value that could be a secret.
func TestParseContextsRefuses(t *testing.T) {
	const h = "cbx-contexts v1\n"
	for _, c := range []struct{ in, err string }{
		{"", "empty file"},
		{"# only a comment\n", "empty file"},
		{"cbx-keystore v1\nend\n", `line 1: not a cbx contexts file`},
		{"cbx-contexts v2\nend\n", "line 1: format version 2 is not known to this cbx (it reads version 1)"},
		{"cbx-contexts vx\nend\n", `line 1: bad format version "x"`},
		{"cbx-contexts v01\nend\n", `line 1: bad format version "01"`},
		{"cbx-contexts v+1\nend\n", `line 1: bad format version "+1"`},
		{h + `context "a"` + "\n", `no "end" line`},
		{h + "end\nend\n", `line 3: content after the "end" line`},
		{h + `url "ws://h:1/ws"` + "\nend\n", "line 2: url before the first context line"},
		{h + `context "a"` + "\ncolour \"blue\"\nend\n", `line 3: unknown field "colour"`},
		{h + `context "a"` + "\nurl ws://h:1/ws\nend\n", `line 3: url: the value must be a double-quoted string`},
		{h + `context "a"` + "\nurl \"ws://h:1/ws\"\nurl \"ws://h:2/ws\"\nend\n", `line 4: context "a": url given twice`},
		{h + `context "a"` + "\nurl \"\"\nend\n", `line 3: context "a": url: empty value`},
		{h + `context "a"` + "\n" + `context "a"` + "\nend\n", `line 3: context "a" appears twice`},
		{h + `context "a b"` + "\nend\n", `line 2: context "a b": a context name is`},
		{h + `context "-x"` + "\nend\n", `line 2: context "-x": a context name is`},
		{h + `current "b"` + "\n" + `context "a"` + "\nend\n", `line 2: current "b" names no context in the file`},
		{h + `current "a"` + "\n" + `current "a"` + "\n" + `context "a"` + "\nend\n", "line 3: current appears twice"},
		{h + `context "a"` + "\n" + `current "a"` + "\nend\n", "line 3: current must come before the first context"},
		{h + `context "a"` + "\nurl \"http://h/\"\nend\n", `line 2: context "a": url "http://h/": want a ws:// or wss:// URL`},
		{h + `context "a"` + "\nserializer \"xml\"\nend\n", `line 2: context "a": serializer "xml": want json, msgpack or cbor`},
		{h + `context "a"` + "\nrealm \"a..b\"\nend\n", `line 2: context "a": realm "a..b": component 2 is empty`},
		{h + `context "a"` + "\nkeystore \"rel/ks\"\nend\n", `line 2: context "a": keystore "rel/ks": want an absolute file path`},
		{h + `context "a"` + "\nca \"/etc/../x.pem\"\nend\n", `want a clean file path`},
		{h + `context "a"` + "\nurl \"ws://h:1/ws\x1b[31m\"\nend\n", `not printable UTF-8`},
		{h + `context "a"` + "\nauthid \"alice\"\nticket \"s3cret\"\nend\n", `line 2: context "a": ticket: want an absolute file path or env:NAME (the value is not shown: it may be a secret)`},
		{h + `context "a"` + "\nauthid \"alice\"\nticket \"-\"\nend\n", `ticket: standard input ("-") can't be stored`},
		{h + `context "a"` + "\nauthid \"alice\"\nwampcra-secret \"env:A-B\"\nend\n", `wampcra-secret: env:NAME needs a variable name`},
		{h + `context "a"` + "\nticket \"env:T\"\nend\n", `context "a": ticket needs authid`},
		{h + `context "a"` + "\nauthid \"x\"\nticket \"env:T\"\ncryptosign-key \"env:K\"\nend\n", `ticket and cryptosign-key can't be combined`},
		{h + `context "a"` + "\ns3cretvalue=\"x\"\nend\n", `unknown field`},
		{h + `context "a"` + "\nABCDEF+/= \"x\"\nend\n", `a line starting with 9 characters that are not a field name (not shown)`},
	} {
		_, err := parseContexts([]byte(c.in))
		if err == nil {
			t.Errorf("%q: parsed, want an error saying %q", c.in, c.err)
			continue
		}
		if !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q:\n got %v\nwant it to say %q", c.in, err, c.err)
		}
		for _, secret := range []string{"s3cret", "ABCDEF"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the error repeats %q: %v", c.in, secret, err)
			}
		}
	}
}

// FuzzParseContexts: any input is refused or parses to contexts that marshal writes back
// in a form that parses to the same contexts, byte for byte stable from then on; a
// refused input never panics.
func FuzzParseContexts(f *testing.F) {
	f.Add([]byte(goodContexts))
	f.Add([]byte("cbx-contexts v1\nend\n"))
	f.Add([]byte("cbx-contexts v1\ncurrent \"a\"\ncontext \"a\"\nurl \"ws://h:1/ws\"\nend\n"))
	f.Add([]byte("cbx-contexts v1\ncontext \"a\"\nauthid \"\\u00e9\"\nticket \"env:X\"\nend\n"))
	f.Add([]byte("cbx-contexts v1\ncontext \"a\"\nkeystore \"/a b/\\\"q\\\"\"\nend\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := parseContexts(data)
		if err != nil {
			return
		}
		out := cf.marshal()
		back, err := parseContexts(out)
		if err != nil {
			t.Fatalf("%q parsed, but its marshalled form does not: %v\n%s", data, err, out)
		}
		if !reflect.DeepEqual(back, cf) {
			t.Fatalf("%q: round trip changed the contexts:\n got %+v\nwant %+v", data, back, cf)
		}
		if again := back.marshal(); !bytes.Equal(again, out) {
			t.Fatalf("%q: marshal is not stable:\n%s\n%s", data, out, again)
		}
		for _, c := range cf.contexts {
			if err := c.validate(); err != nil {
				t.Fatalf("%q: parsed a context that does not validate: %v", data, err)
			}
		}
	})
}

// The contexts file is written 0600 in a 0700 directory, and refused when group or
// others can access it, whichever way it is read.
func TestContextsFilePermissions(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	f := &factory{io: &ioStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, getenv: os.Getenv}
	f.ui = newUI(f.io)
	path, err := f.updateContexts(func(cf *contextFile) error {
		cf.contexts["a"] = &cbxContext{name: "a", url: "ws://h:1/ws"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "cbx", "contexts"); path != want {
		t.Fatalf("path %q, want %q", path, want)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %04o, want %04o", p, st.Mode().Perm(), mode)
		}
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	_, _, lerr := loadContexts()
	_, uerr := f.updateContexts(func(*contextFile) error { t.Fatal("updated a file group can read"); return nil })
	for _, err := range []error{lerr, uerr} {
		if code := exitCodeFor(err); code != exitKey || !strings.Contains(err.Error(), "has mode 0640") {
			t.Errorf("got %v (exit %d), want the mode refused with exit 5", err, code)
		}
		if h := hintsFor(err, false); len(h) == 0 || !strings.Contains(h[len(h)-1], "chmod 600") {
			t.Errorf("hints %q, want chmod 600", h)
		}
	}
}

// A contexts file that cannot be written (its directory's place is taken by a file) is
// refused with exit 5, worded for the contexts file, and fn's change is not reported done.
func TestContextsFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if err := os.WriteFile(filepath.Join(dir, "cbx"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f := &factory{io: &ioStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, getenv: os.Getenv}
	f.ui = newUI(f.io)
	_, err := f.updateContexts(func(cf *contextFile) error {
		cf.contexts["a"] = &cbxContext{name: "a", url: "ws://h:1/ws"}
		return nil
	})
	if code := exitCodeFor(err); code != exitKey || !strings.HasPrefix(err.Error(), `contexts file "`+filepath.Join(dir, "cbx", "contexts")+`"`) {
		t.Fatalf("got %v (exit %d), want the contexts file refused with exit 5", err, code)
	}
}
