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

// marshalOutput writes a value for stdout in the dialect's JSON: what was sealed is what is
// printed, binary values as "\u0000"+base64 (lossless, and the form cbx reads back as an
// argument). v is a scalar or a list or dict of application values (args, kwargs,
// details).
func marshalOutput(v any) ([]byte, error) {
	b, err := wamp.MarshalJSON(v, wamp.NestPayload)
	if err != nil {
		return nil, fmt.Errorf("cannot print the payload: %w", err)
	}
	return b, nil
}

// field is one key of an output object; objectLine keeps the keys in the order given,
// so output lines read the same every time.
type field struct {
	key   string
	value any
}

// objectLine writes a JSON object as one line in the dialect.
func objectLine(fields ...field) ([]byte, error) {
	b := []byte{'{'}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := marshalOutput(f.key)
		if err != nil {
			return nil, err
		}
		v, err := marshalOutput(f.value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}', '\n'), nil
}

// argsOrEmpty and kwargsOrEmpty print absent arguments as [] and {}, so consumers such as
// jq need no null checks.
func argsOrEmpty(a []any) []any {
	if a == nil {
		return []any{}
	}
	return a
}

func kwargsOrEmpty(k map[string]any) map[string]any {
	if k == nil {
		return map[string]any{}
	}
	return k
}
