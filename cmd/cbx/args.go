package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Values on the command line, on --stdin lines, in --exec output and in output lines all
// use internal/wamp's value dialect (its package comment), the same rules as the sealed
// plaintext and the session serializers: a value is carried exactly or refused, never
// rounded or replaced.

// parseValue reads one value given as text (an argument, a -k VALUE, --exec output): JSON
// where the whole text is JSON (so 42 is a number, true a boolean, '{"a":1}' an object),
// otherwise the text itself as a string. Inside JSON, a string "\u0000" + base64 is a
// binary value, the WAMP JSON convention (spec advanced/serialization_binary_json.md).
// JSON holding a value outside the dialect (an integer beyond 64 bits, 1e400, invalid
// UTF-8, nesting deeper than wamp.MaxDepth) is an error, a *wamp.ValueError, and so is
// text that is not UTF-8: sending it as a string would alter it.
func parseValue(s string) (any, error) {
	v, err := wamp.UnmarshalJSON([]byte(s), wamp.NestValue)
	var se *wamp.SyntaxError
	if errors.As(err, &se) {
		if err := wamp.CheckText(s); err != nil {
			return nil, err
		}
		return s, nil
	}
	return v, err
}

// quoteArg quotes a command-line value for an error message, shortened when long.
func quoteArg(s string) string {
	if r := []rune(s); len(r) > 40 {
		return fmt.Sprintf("%q", string(r[:20])+"…")
	}
	return fmt.Sprintf("%q", s)
}

// parseArgsKwargs builds a payload from positional ARGs and -k KEY=VALUE pairs.
func parseArgsKwargs(args, kv []string) ([]any, map[string]any, error) {
	list := make([]any, 0, len(args))
	for _, a := range args {
		v, err := parseValue(a)
		if err != nil {
			return nil, nil, &usageError{fmt.Errorf("argument %s: %w", quoteArg(a), err)}
		}
		list = append(list, v)
	}
	dict := make(map[string]any, len(kv))
	for _, p := range kv {
		k, val, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg %s: want KEY=VALUE", quoteArg(p))}
		}
		if err := wamp.CheckText(k); err != nil {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg key %s: %w", quoteArg(k), err)}
		}
		if _, dup := dict[k]; dup {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg: key %q given twice", k)}
		}
		v, err := parseValue(val)
		if err != nil {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg %q: %w", k, err)}
		}
		dict[k] = v
	}
	return list, dict, nil
}

// valueHints explains how to send what the dialect refused on the command line.
func valueHints(err error) []string {
	switch {
	case errors.Is(err, wamp.ErrIntegerRange):
		return []string{`quote it to send a string ('"1180591620717411303424"'); cbx never rounds an integer to a float`}
	case errors.Is(err, wamp.ErrInvalidUTF8), errors.Is(err, wamp.ErrBinaryText):
		return []string{`binary data goes as the JSON string "\u0000" followed by standard padded base64, e.g. '"\u0000AAH+/w=="'`}
	}
	return nil
}

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
