package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Topics written in another system's wildcard syntax are refused (exit 2) with the WAMP
// pattern that means the same, or the nearest one, as hints.
func TestWildcardMistake(t *testing.T) {
	cases := []struct {
		arg  string
		err  string
		hint string // one of the hints; "" when none but the general one
	}{
		{"com.*", `TOPIC "com.*": "*" is not a wildcard in WAMP (this would match only the topic named "com.*")`,
			`exactly one component in place of each "*": --match wildcard com. (or the TOPIC wildcard:com.)`},
		{"com.*", "", `or every topic under com.: --match prefix com. (or the TOPIC prefix:com.)`},
		{"com.*.orders", `"*" is not a wildcard in WAMP`, `exactly one component in place of each "*": --match wildcard com..orders (or the TOPIC wildcard:com..orders)`},
		{"com.+.orders.+", `"+" is not a wildcard in WAMP`, `--match wildcard com..orders. (or`},
		{"com.example.>", `">" is not a wildcard in WAMP`, `every topic under com.example.: --match prefix com.example. (or the TOPIC prefix:com.example.)`},
		{"com.example.#", `"#" is not a wildcard in WAMP (and "#" is not allowed in a URI)`, `--match prefix com.example.`},
		{"com.example.**", `"**" is not a wildcard in WAMP`, `--match prefix com.example.`},
		{"com/example/#", `TOPIC "com/example/#": "#" is not a wildcard in WAMP`, `--match prefix com.example.`},
		{"com/example/#", "", `WAMP URIs separate components with ".", not "/"`},
		{"sensors/+/temp", `"+" is not a wildcard in WAMP`, `--match wildcard sensors..temp`},
		{"com.example.ord*", `"*" is not a wildcard in WAMP`, `every topic that starts with "com.example.ord": --match prefix com.example.ord`},
		{"com.*.x.>", `"*" is not a wildcard in WAMP`, `no WAMP pattern means exactly that; the nearest covers every topic under com., and more: --match prefix com.`},
		{"*.orders", `"*" is not a wildcard in WAMP`, `--match wildcard .orders`},
		{"*", `"*" is not a wildcard in WAMP`, `no WAMP pattern means that`},
		{"#", `"#" is not a wildcard in WAMP`, `no WAMP pattern means that`},
		{"prefix:com.*", `TOPIC "prefix:com.*": "*" is not a wildcard in WAMP`, ""},
	}
	for _, c := range cases {
		_, err := parseTopicSpec(c.arg, wamp.MatchExact)
		if err == nil {
			t.Errorf("%q: accepted", c.arg)
			continue
		}
		if code := exitCodeFor(err); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", c.arg, code, exitUsage)
		}
		if c.err != "" && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: error %q, want it to say %q", c.arg, err, c.err)
		}
		hints := hintsOf(err)
		if c.hint != "" && !strings.Contains(strings.Join(hints, "\n"), c.hint) {
			t.Errorf("%q: hints\n%s\nwant one saying %q", c.arg, strings.Join(hints, "\n"), c.hint)
		}
	}
	// register's PROC: the same check, hints without the TOPIC form.
	err := (&receiveOptions{match: wamp.MatchExact}).check("PROC", "com.*")
	if err == nil || !strings.Contains(err.Error(), `PROC "com.*": "*" is not a wildcard in WAMP`) {
		t.Errorf("register com.*: %v", err)
	} else if h := strings.Join(hintsOf(err), "\n"); !strings.Contains(h, "--match wildcard com.\n") && !strings.HasSuffix(h, "--match wildcard com.") {
		t.Errorf("register com.*: hints\n%s", h)
	}
	// What is no other system's wildcard goes through: "+" and "*" inside a component
	// (c++ and such) are text, as are MQTT-style levels without wildcards.
	for _, ok := range []string{"com.c++", "com.a>b", "sensors/temp", "a+b.c", "com.example.orders"} {
		if _, err := parseTopicSpec(ok, wamp.MatchExact); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// hintsOf is the hints an error carries (withCode).
func hintsOf(err error) []string {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.hints
	}
	return nil
}

// suggested finds the WAMP patterns a hint suggests: "--match POLICY URI".
var suggested = regexp.MustCompile(`--match (exact|prefix|wildcard) (\S*)`)

// FuzzTopicSpec: a TOPIC argument is either a subscription the router accepts under its
// policy, written back the same way, or a usage error naming the argument; and every
// pattern a hint suggests is itself accepted.
func FuzzTopicSpec(f *testing.F) {
	for _, s := range []string{"com.t", "prefix:com.", "wildcard:com..x", "exact:urn:x", "prefx:com", "com.*", "com.>", "com/#",
		"a/+/b", "com.ex*", "*", "", ":", "prefix:", "com..x", "a b", "\xff", "com.*.x.#", "urn:x", "Prefix:com."} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, arg string, m uint8) {
		match := matchPolicies[int(m)%len(matchPolicies)]
		spec, err := parseTopicSpec(arg, match)
		if err != nil {
			if code := exitCodeFor(err); code != exitUsage {
				t.Fatalf("%q: exit %d: %v", arg, code, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("TOPIC %q", arg)) {
				t.Fatalf("%q: the error does not name the argument: %v", arg, err)
			}
			for _, h := range hintsOf(err) {
				for _, s := range suggested.FindAllStringSubmatch(h, -1) {
					if _, err := parseTopicSpec(s[2], s[1]); err != nil && s[2] != "" {
						t.Fatalf("%q: the hint %q suggests a pattern that is refused: %v", arg, h, err)
					}
				}
			}
			return
		}
		if err := wamp.CheckURI(spec.uri, spec.match); err != nil {
			t.Fatalf("%q: accepted as %+v, which the router refuses: %v", arg, spec, err)
		}
		back, err := parseTopicSpec(spec.String(), wamp.MatchExact)
		if err != nil || back != spec {
			t.Fatalf("%q: %+v written as %q reads back as %+v (%v)", arg, spec, spec.String(), back, err)
		}
	})
}
