package main

import (
	"reflect"
	"testing"

	"github.com/cbx-wamp/cbx/internal/e2e"
)

// FuzzParseEventLine: --stdin lines either parse into args/kwargs or give an error.
func FuzzParseEventLine(f *testing.F) {
	for _, s := range []string{`[1,"a"]`, `{"args":[1],"kwargs":{"k":"\u0000AA=="}}`, `{"x":1}`, `42`, `[`, `{"args":{}}`,
		`[1180591620717411303424]`, `[-0,-0.0,1.0]`, "[\"\xff\"]", ` [[[]]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := parseEventLine(line)
		if err != nil {
			return
		}
		// What parsed must be sealable and open to the same payload, in both plaintexts.
		m := e2e.Message{URI: "u", Args: ev.args, Kwargs: ev.kwargs}
		pt, err := e2e.EncodePlaintext(m)
		if err != nil {
			t.Fatalf("%q parsed but does not encode: %v", line, err)
		}
		if back, err := e2e.DecodePlaintext(pt); err != nil || !reflect.DeepEqual(back.Args, ev.args) || !reflect.DeepEqual(back.Kwargs, ev.kwargs) {
			t.Fatalf("%q: sealed plaintext %s opens as %#v (%v)", line, pt, back, err)
		}
		if _, err := e2e.EncodePPTPlaintext(m); err != nil {
			t.Fatalf("%q parsed but does not encode as PPT: %v", line, err)
		}
	})
}
