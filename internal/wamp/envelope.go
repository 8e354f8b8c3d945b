package wamp

import (
	"fmt"
	"strings"
)

// envelopeURI is the URI a received EVENT or INVOCATION is trusted for, opened under and
// reported as: the subscription's (registration's) own URI, or, for a pattern match, the
// concrete URI the router names in Details.topic (Details.procedure)
// (advanced/pattern_based_subscription.md, pattern_based_registration.md; Autobahn
// protocol.py reads the same fields). A router that names a URI the subscription does not
// cover is not believed: otherwise it could move a payload sealed for one URI to a
// subscriber of another under the same key, past the trusted-URI check. This decides
// which URI to trust, and so which key opens the payload; that the payload was sealed for
// that URI is the codec's check (internal/e2e), made on the URI returned here. The error
// is returned with own.
func envelopeURI(own string, opts Dict, claimed any) (string, error) {
	c, _ := claimed.(string)
	if c == "" || c == own {
		return own, nil
	}
	match, _ := opts[OptMatch].(string)
	if URIMatches(own, match, c) {
		return c, nil
	}
	if match == "" {
		match = MatchExact
	}
	return own, fmt.Errorf("the router delivered %q to %q (match %s), which does not cover it", c, own, match)
}

// URIMatches reports whether uri is covered by pattern under a WAMP match policy: "" or
// "exact", "prefix" (string prefix), or "wildcard" (same number of dot-separated
// components, an empty pattern component matching any one component).
func URIMatches(pattern, match, uri string) bool {
	switch match {
	case "", MatchExact:
		return uri == pattern
	case MatchPrefix:
		return strings.HasPrefix(uri, pattern)
	case MatchWildcard:
		p, u := strings.Split(pattern, "."), strings.Split(uri, ".")
		if len(p) != len(u) {
			return false
		}
		for i := range p {
			if p[i] != "" && p[i] != u[i] {
				return false
			}
		}
		return true
	}
	return false
}
