package main

import (
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// topicSpec is one subscription of cbx subscribe: a URI and its match policy
// (advanced/pattern_based_subscription.md: exact, prefix or wildcard).
type topicSpec struct {
	uri   string
	match string
}

// String is the subscription as a TOPIC argument that means it under --match exact: the
// URI alone for an exact match, else POLICY:URI (and exact:URI for a URI that would read
// as having a policy).
func (s topicSpec) String() string {
	if word, _, ok := strings.Cut(s.uri, ":"); s.match == wamp.MatchExact && !(ok && isPolicyWord(word)) {
		return s.uri
	}
	return s.match + ":" + s.uri
}

// matchPolicies are the words a TOPIC may start with, followed by ":", to choose its own
// match policy.
var matchPolicies = []string{wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard}

// parseTopicSpec reads one TOPIC argument of cbx subscribe: "URI", matched as --match
// (match) says, or "POLICY:URI" with its own policy (exact:, prefix:, wildcard:), so that
// one session can hold subscriptions of different policies.
//
// An argument that starts with a word of letters and a colon before any dot is taken for
// such a policy, and an unknown word ("prefx:com.") is refused rather than subscribed to
// as a URI that nobody publishes to; a URI that really starts so is written after
// "exact:" ("exact:urn:x"). WAMP's strict URI rule allows no ":" at all, and its loose
// rule (which routers check) allows it anywhere.
//
// The URI is then checked as for every receiver (checkPatternArg): a topic written in
// another system's wildcard syntax (com.*, com.>, com/#) is refused with the WAMP form,
// and so is one the router would refuse under its policy. An error names the argument as
// typed.
func parseTopicSpec(arg, match string) (topicSpec, error) {
	spec := topicSpec{uri: arg, match: match}
	if word, rest, ok := strings.Cut(arg, ":"); ok && isPolicyWord(word) {
		known := false
		for _, m := range matchPolicies {
			if word == m {
				known = true
			}
		}
		if !known {
			return spec, withCode(exitUsage, fmt.Errorf("TOPIC %q: unknown match policy %q: want exact:, prefix: or wildcard: before the URI", arg, word+":"),
				fmt.Sprintf("for a URI that starts with %q, write exact:%s", word+":", arg))
		}
		spec = topicSpec{uri: rest, match: word}
	}
	return spec, checkPatternArg("TOPIC", arg, spec.uri, spec.match)
}

// isPolicyWord reports whether s, the text before a TOPIC's first colon, has the shape of
// a match policy word: ASCII letters only (so neither a URI's first component, which
// would hold a dot, nor an empty string).
func isPolicyWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// checkPatternArg checks the URI of a subscription or registration, shown to the user as
// arg (what they typed, which may hold a policy prefix), under its match policy: first
// for another system's wildcard syntax (wildcardMistake), then the URI rule
// (checkURIArgAs).
func checkPatternArg(name, arg, uri, match string) error {
	if err := wildcardMistake(name, arg, uri); err != nil {
		return err
	}
	return checkURIArgAs(name, arg, uri, match, true)
}

// Wildcards of other systems. WAMP's patterns are an empty component (match "wildcard":
// com..orders, any one component in its place) and a prefix (match "prefix": every URI
// that starts with the given text, character by character), chosen by the subscription's
// match option (advanced/pattern_based_subscription.md). Users of NATS (orders.*,
// orders.>), MQTT (orders/+, orders/#), AMQP topic exchanges (orders.#) and shell globs
// type those; "#" is not allowed in a WAMP URI at all, and "*", ">" and "+" are ordinary
// characters under the loose URI rule routers check, so com.* would subscribe to the one
// topic named "com.*" and wait for ever. Such a topic is refused (exit 2) with the WAMP
// pattern that means what was meant, when there is one.

// Kinds of wildcard tokens.
const (
	globOne = iota + 1 // one component: NATS and AMQP "*", MQTT "+"
	globAny            // any number of trailing components: NATS ">", MQTT and AMQP "#", "**"
	globIn             // a "*" inside a component: a shell glob
)

// globToken classifies one component (one level of a slash-separated MQTT topic).
func globToken(c string) int {
	switch c {
	case "*", "+":
		return globOne
	case ">", "#", "**":
		return globAny
	}
	if strings.Contains(c, "*") {
		return globIn
	}
	return 0
}

// wildcardMistake refuses a URI that is another system's wildcard pattern (see above),
// with hints naming the WAMP pattern; nil when uri has none of their tokens. name is
// the argument's name in the usage line: TOPIC (subscribe), PROC (register).
func wildcardMistake(name, arg, uri string) error {
	parts, sep := strings.Split(uri, "."), "."
	if strings.Contains(uri, "/") {
		// MQTT separates levels with "/"; its wildcards are whole levels.
		for _, l := range strings.Split(uri, "/") {
			if l == "+" || l == "#" {
				parts, sep = strings.Split(uri, "/"), "/"
				break
			}
		}
	}
	first, kinds := -1, map[int]int{}
	token := ""
	for i, p := range parts {
		if k := globToken(p); k != 0 {
			kinds[k]++
			if first < 0 {
				first, token = i, p
			}
		}
	}
	if first < 0 {
		return nil
	}
	if kinds[globIn] > 0 && kinds[globOne]+kinds[globAny] == 0 {
		token = "*"
	}
	last := len(parts) - 1
	what := fmt.Sprintf("%q is not a wildcard in WAMP", token)
	if strings.Contains(uri, "#") {
		what += ` (and "#" is not allowed in a URI)`
	} else {
		noun := "the topic"
		if name != "TOPIC" {
			noun = "the procedure"
		}
		what += fmt.Sprintf(" (this would match only %s named %q)", noun, uri)
	}
	err := fmt.Errorf("%s %q: %s", name, arg, what)
	hints := []string{`WAMP's patterns: --match wildcard with an empty component for any one component (com..orders), --match prefix for every URI that starts with the text given (com.example.)`}
	if sep == "/" {
		hints = append(hints, `WAMP URIs separate components with ".", not "/"`)
	}
	// Each suggestion is a pattern cbx would accept; there is none when the rest of the
	// topic is not a URI either.
	suggest := func(text, match, uri string) {
		if wamp.CheckURI(uri, match) != nil || wildcardMistake(name, uri, uri) != nil {
			return
		}
		f := fmt.Sprintf("--match %s %s", match, uri)
		if name == "TOPIC" {
			f += fmt.Sprintf(" (or the TOPIC %s:%s)", match, uri)
		}
		hints = append(hints, text+": "+f)
	}
	under := strings.Join(parts[:first], ".") + "."
	general := len(hints)
	switch {
	case kinds[globAny] == 0 && kinds[globIn] == 0:
		// Only one-component tokens: WAMP's wildcard, with an empty component for each.
		empty := make([]string, len(parts))
		for i, p := range parts {
			if globToken(p) == 0 {
				empty[i] = p
			}
		}
		suggest(fmt.Sprintf("exactly one component in place of each %q", token), wamp.MatchWildcard, strings.Join(empty, "."))
		if first == last && first > 0 {
			suggest("or every topic under "+under, wamp.MatchPrefix, under)
		}
	case kinds[globAny] == 1 && kinds[globOne]+kinds[globIn] == 0 && globToken(parts[last]) == globAny && last > 0:
		suggest("every topic under "+under, wamp.MatchPrefix, under)
	case kinds[globIn] == 1 && kinds[globOne]+kinds[globAny] == 0 && first == last &&
		strings.Index(parts[last], "*") == len(parts[last])-1:
		// A glob such as com.example.ord*: WAMP's prefix match is by character.
		p := strings.Join(parts[:last], ".")
		if last > 0 {
			p += "."
		}
		p += strings.TrimSuffix(parts[last], "*")
		suggest(fmt.Sprintf("every topic that starts with %q", p), wamp.MatchPrefix, p)
	case first > 0:
		suggest("no WAMP pattern means exactly that; the nearest covers every topic under "+under+", and more", wamp.MatchPrefix, under)
	}
	if len(hints) == general {
		hints = append(hints, "no WAMP pattern means that")
	}
	return withCode(exitUsage, err, hints...)
}
