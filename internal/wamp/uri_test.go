package wamp

import (
	"regexp"
	"strings"
	"testing"
)

func TestCheckURI(t *testing.T) {
	cases := []struct {
		uri, match string
		err        string // "" means valid
	}{
		{"com.example.topic", "", ""},
		{"com.example.topic", "exact", ""},
		{"Com.Example-1.x_y", "", ""}, // loose: the strict rule's lowercase is not required
		{"wamp.session.on_join", "", ""},
		{"com", "", ""},
		{"", "", "empty URI"},
		{"", "exact", "empty URI"},
		{"", "prefix", "empty URI"},
		{"", "wildcard", "empty URI"},
		{"com..topic", "", "component 2 is empty"},
		{".com", "", "component 1 is empty"},
		{"com.example.", "", "component 3 is empty"},
		{"com.example.", "prefix", ""},
		{"com.exa", "prefix", ""},
		{"com..x", "prefix", `component 2 is empty (a prefix may end with ".", but has no other empty components)`},
		{"com..x", "wildcard", ""},
		{"..", "wildcard", ""},
		{"com.a b", "", `component 2 ("a b") contains whitespace`},
		{"com.a\tb", "wildcard", `component 2 ("a\tb") contains whitespace`},
		{"com.a\u00a0b", "", `component 2 ("a\u00a0b") contains whitespace`},
		{"com.#", "", `component 2 ("#") contains "#"`},
		{"com.x#y", "prefix", `component 2 ("x#y") contains "#"`},
		{"com.\xff", "", "not valid UTF-8"},
	}
	for _, c := range cases {
		err := CheckURI(c.uri, c.match)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.err {
			t.Errorf("CheckURI(%q, %q) = %q, want %q", c.uri, c.match, got, c.err)
		}
	}
}

// The spec's loose patterns, as the routers write them (nexus wamp/identifier.go;
// Autobahn util.py), in ASCII: Go's \s is ASCII whitespace, while CheckURI also refuses
// Unicode whitespace, as Python's \s does.
var (
	looseNonEmpty  = regexp.MustCompile(`^([^\s\.#]+\.)*([^\s\.#]+)$`)
	looseLastEmpty = regexp.MustCompile(`^([^\s\.#]+\.)*([^\s\.#]*)$`)
	looseEmpty     = regexp.MustCompile(`^(([^\s\.#]+\.)|\.)*([^\s\.#]+)?$`)
)

// FuzzCheckURI: CheckURI agrees with the spec's loose patterns on ASCII input, for every
// match policy, but for the empty URI, which it always refuses; it never panics.
func FuzzCheckURI(f *testing.F) {
	for _, s := range []string{"com.example.topic", "", "com..x", "com.", ".", "a b", "a.#", "x.\x00", "..a.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		for match, re := range map[string]*regexp.Regexp{"": looseNonEmpty, "prefix": looseLastEmpty, "wildcard": looseEmpty} {
			err := CheckURI(uri, match)
			if strings.ContainsFunc(uri, func(r rune) bool { return r >= 0x80 || r == '\v' }) {
				continue // Unicode whitespace, and \v, which Go's \s leaves out: stricter by design
			}
			if uri == "" {
				if err == nil {
					t.Fatalf("CheckURI(\"\", %q) accepted the empty URI", match)
				}
				continue
			}
			if ok := re.MatchString(uri); ok != (err == nil) {
				t.Fatalf("CheckURI(%q, %q) = %v, the loose pattern says valid=%v", uri, match, err, ok)
			}
		}
	})
}
