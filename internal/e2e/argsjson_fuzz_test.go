package e2e

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// FuzzOpenJSONPlaintext seals any plaintext bytes with the publisher's real key (as a
// sealer with the key, in good faith or not, may) and opens the payload under an
// envelope URI with Open and with OpenJSON (openBoth): both give the same message, or
// refuse it with the same error (URI mismatch, plaintext outside the dialect, too deep,
// invalid UTF-8, binary text, wrong key). Where OpenJSON gives text, it is byte for byte
// the args as subscribe's line writes Open's values (AppendJSONList; "[]" for none), and
// it outlives the pooled plaintext buffer, which the next open wipes and reuses.
//
// FuzzPlaintextArgsJSON holds plaintextArgsJSON to decodePlaintextFor alone; this holds
// the whole receive path, with the trusted-URI check that the fast path skips.
func FuzzOpenJSONPlaintext(f *testing.F) {
	pub, sub := benchCodecs(f)
	e, ok := pub.keys().Lookup(benchURI)
	if !ok {
		f.Fatal("no entry")
	}
	k := e.Key(true)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	pt := func(uri, args, kwargs string) string {
		return `{"uri":"` + uri + `","args":` + args + `,"kwargs":` + kwargs + `}`
	}
	const u = benchURI
	for _, s := range []struct{ pt, suffix string }{
		{pt(u, `["x",1]`, `null`), ""},
		{pt(u, `[]`, `{}`), ""},
		{pt(u, `[0,-1,true,false,null,"","日本","\u2028","a`+"\x7f"+`"]`, `{}`), ""},
		{pt(u, "[\"\u2028\",\"\x7f\",{\"\":1,\"\x7f\":2,\"é\":3}]", `null`), ""},
		{pt(u, `[123456789012345678,-123456789012345678]`, `null`), ""},
		{pt(u, `[1234567890123456789,18446744073709551615,-9223372036854775808]`, `null`), ""},
		{pt(u, `[18446744073709551616]`, `null`), ""},
		{pt(u, `[-0,1.0,1e3]`, `null`), ""},
		{pt(u, `["\u0000AAH+/w=="]`, `null`), ""},
		{pt(u, `["\u0000x"]`, `null`), ""},
		{pt(u, "[\"\xff\"]", `null`), ""},
		{pt(u, "[{\"\xff\":1}]", `null`), ""},
		{pt(u, `[{"b":1,"a":2}]`, `null`), ""},
		{pt(u, `[{"a":1,"a":2}]`, `null`), ""},
		{pt(u, `[{"":1,"":2}]`, `null`), ""},
		{pt(u, deep(wamp.MaxDepth+1), `null`), ""}, // the deepest args the plaintext holds
		{pt(u, deep(wamp.MaxDepth+2), `null`), ""}, // one too deep: refused either way
		{pt(u, `[`+deep(wamp.MaxDepth)+`,{"a":`+deep(wamp.MaxDepth)+`}]`, `{}`), ""},
		{pt(u, `[1]`, `{"a":1}`), ""},
		{pt(u, `null`, `null`), ""},
		{pt(u, `{}`, `null`), ""},
		{pt(u+".other", `[1]`, `null`), ""},                             // swapped URI
		{pt(u, `[1]`, `null`), ".other"},                                // swapped the other way
		{`{"uri":"` + u + `","args":[1],"args":[2],"kwargs":null}`, ""}, // repeated keys
		{`{"uri":"` + u + `","args":[1],"kwargs":null,"uri":"x"}`, ""},
		{`{"uri":"` + u + `","args":[1],"kwargs":null,"args":[2],"kwargs":null}`, ""},
		{`{"uri":"` + u + `","args":[1],"kwargs":{},"kwargs":null}`, ""},
		{`{"uri":"` + u + `","uri":"` + u + `","args":[1],"kwargs":null}`, ""},
		{`{"uri":"` + u + `","args":[1],"kwargs":null}` + " ", ""},
		{`{"uri":"` + u + `","args":[1],"kwargs":null}}`, ""},
		{`{"uri":"` + u + `\"","args":[1],"kwargs":null}`, `"`},
		{`{"uri":"` + u + `\\","args":[1],"kwargs":null}`, `\`},
		{"{\"uri\":\"" + u + "\t\",\"args\":[1],\"kwargs\":null}", "\t"},
		{"{\"uri\":\"" + u + "\xff\",\"args\":[1],\"kwargs\":null}", "\xff"},
		{"{\"uri\":\"" + u + "é\",\"args\":[1],\"kwargs\":null}", "é"},
		{`{"uri":"` + u + `\u00e9","args":[1],"kwargs":null}`, "é"},
		{`{"uri":"` + u + `","args":[1],"kwargs":null,"extra":[1.5]}`, ""},
		{`{"args":[1],"uri":"` + u + `","kwargs":null}`, ""},
		{`{"uri":"` + u + `","args":[1]}`, ""},
		{``, ""},
	} {
		f.Add([]byte(s.pt), s.suffix, false)
	}
	f.Add([]byte(pt(u, `[1]`, `null`)), "", true)
	other := wamp.Payload{Bare: mustSeal(f, k, []byte(pt(u, `["`+strings.Repeat("z", 600)+`"]`, `null`)))}
	f.Fuzz(func(t *testing.T, plaintext []byte, suffix string, tamper bool) {
		sealed, err := k.Seal(plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if tamper {
			sealed[len(sealed)-1] ^= 1
		}
		uri := benchURI + suffix
		text, _, _, err := openBoth(t, sub, false, uri, wamp.Payload{Bare: sealed}, legacyDetails)
		wantArgs, _, _, wantErr := sub.Open(false, uri, wamp.Payload{Bare: sealed}, legacyDetails)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("OpenJSON error %v, Open's %v", err, wantErr)
		}
		if text == nil {
			return
		}
		if tamper {
			t.Fatalf("a tampered payload opened as %s", text)
		}
		line, lerr := wamp.AppendJSONList(nil, wantArgs, wamp.NestPayload)
		if wantArgs == nil {
			line, lerr = []byte("[]"), nil
		}
		if lerr != nil || !bytes.Equal(line, text) {
			t.Fatalf("OpenJSON's text %s; Open's values are written %s (%v)", text, line, lerr)
		}
		kept := bytes.Clone(text)
		// The next open takes the pooled buffer this one's plaintext was in, and wipes it.
		if _, _, _, _, err := sub.OpenJSON(false, benchURI, other, legacyDetails); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(kept, text) {
			t.Fatalf("the text changed to %q when the buffer was reused: it was not a copy", text)
		}
	})
}

func mustSeal(tb testing.TB, k interface{ Seal([]byte) ([]byte, error) }, pt []byte) []byte {
	tb.Helper()
	b, err := k.Seal(pt)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
