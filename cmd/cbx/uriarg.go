package main

import (
	"fmt"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// uriRuleHint says what a WAMP URI looks like (the spec's loose rule, wamp.CheckURI).
const uriRuleHint = `a URI is dot-separated components, none empty, without whitespace or "#" (e.g. com.example.orders)`

// checkURIArg refuses, before anything is sent, a URI the router would refuse (or, for an
// unacknowledged PUBLISH, drop without a word), as a usage error that names the argument
// as the usage line does (TOPIC, PROC, --error-uri). match is the --match policy of a
// subscription or registration, "" where there is none; withMatch says the command has
// --match, so the hint may point at the policy that allows the URI.
func checkURIArg(name, uri, match string, withMatch bool) error {
	err := wamp.CheckURI(uri, match)
	if err == nil {
		return nil
	}
	hints := []string{uriRuleHint}
	if withMatch && (match == "" || match == wamp.MatchExact) {
		switch {
		case uri != "" && wamp.CheckURI(uri, wamp.MatchPrefix) == nil:
			hints = append(hints, fmt.Sprintf("--match prefix allows an empty last component: %q then covers every URI that starts with it", uri))
		case wamp.CheckURI(uri, wamp.MatchWildcard) == nil:
			hints = append(hints, "--match wildcard allows empty components, as in com..orders")
		}
	}
	return withCode(exitUsage, fmt.Errorf("%s %q: %w", name, uri, err), hints...)
}
