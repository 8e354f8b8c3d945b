package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/box"
)

// parseValue reads one command-line argument: JSON where it is valid JSON (so 42 is a
// number, true a boolean, '{"a":1}' an object), otherwise the text as a string. Inside
// JSON, a string "\u0000" + base64 is a binary value, the WAMP JSON convention
// (spec advanced/serialization_binary_json.md).
func parseValue(s string) any {
	v, err := box.UnmarshalValue([]byte(s))
	if err != nil {
		return s
	}
	return v
}

// parseArgsKwargs builds a payload from positional ARGs and -k KEY=VALUE pairs.
func parseArgsKwargs(args, kv []string) ([]any, map[string]any, error) {
	list := make([]any, 0, len(args))
	for _, a := range args {
		list = append(list, parseValue(a))
	}
	dict := make(map[string]any, len(kv))
	for _, p := range kv {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg %q: want KEY=VALUE", p)}
		}
		if _, dup := dict[k]; dup {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg: key %q given twice", k)}
		}
		dict[k] = parseValue(v)
	}
	return list, dict, nil
}

// marshalOutput writes a value for stdout in the plaintext's JSON dialect: what was
// sealed is what is printed, binary values as "\u0000"+base64 (lossless, and the form
// cbx reads back as an argument).
func marshalOutput(v any) ([]byte, error) {
	b, err := box.MarshalValue(v)
	if err != nil {
		return nil, errors.New("cannot print the payload: " + err.Error())
	}
	return b, nil
}
