package wamp

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckURI checks uri against the WAMP spec's loose URI rule (basic profile, "URIs":
// ^([^\s\.#]+\.)*([^\s\.#]+)$): dot-separated components, none empty and none holding
// whitespace or "#". A pattern may leave components empty where its match policy gives
// them a meaning (advanced/pattern_based_subscription.md, pattern_based_registration.md):
// match "wildcard" any of them, match "prefix" the last one ("com.example."). Uppercase
// letters, hyphens and other characters the strict rule forbids are accepted, as by
// Autobahn, Crossbar.io and nexus, which check the loose rule by default. The empty URI
// is refused whatever the policy.
//
// It is the rule the routers apply to PUBLISH, SUBSCRIBE, CALL and REGISTER; checking it
// first lets a client refuse a URI the router would refuse, or, for a PUBLISH without
// acknowledgement, drop without a word (nexus broker.go). The error says what is wrong
// without repeating uri, which the caller names.
func CheckURI(uri, match string) error {
	if !utf8.ValidString(uri) {
		return errors.New("not valid UTF-8")
	}
	if uri == "" {
		// The patterns allow "" for prefix and wildcard matches, but a WAMP message's URI
		// is never empty (ToList and FromList refuse it) and Autobahn refuses it too.
		return errors.New("empty URI")
	}
	parts := strings.Split(uri, ".")
	for i, p := range parts {
		if p == "" {
			switch {
			case match == MatchWildcard:
				continue
			case match == MatchPrefix && i == len(parts)-1:
				continue
			case match == MatchPrefix:
				return fmt.Errorf("component %d is empty (a prefix may end with \".\", but has no other empty components)", i+1)
			}
			return fmt.Errorf("component %d is empty", i+1)
		}
		if r := strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || r == '#' }); r >= 0 {
			c, _ := utf8.DecodeRuneInString(p[r:])
			if c == '#' {
				return fmt.Errorf("component %d (%q) contains \"#\"", i+1, p)
			}
			return fmt.Errorf("component %d (%q) contains whitespace", i+1, p)
		}
	}
	return nil
}
