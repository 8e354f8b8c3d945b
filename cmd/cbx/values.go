package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

// checkIntegers refuses JSON integers that do not fit in 64 bits: they would silently
// become floats and lose digits (msgpack and CBOR cannot carry them as integers either).
func checkIntegers(s string) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // not JSON (a string argument) or the end
		}
		n, ok := tok.(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE") {
			continue
		}
		if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			continue
		}
		if _, err := strconv.ParseUint(string(n), 10, 64); err == nil {
			continue
		}
		return fmt.Errorf("integer %s does not fit in 64 bits; quote it to send a string", n)
	}
}

// parseArgsKwargs builds a payload from positional ARGs and -k KEY=VALUE pairs.
func parseArgsKwargs(args, kv []string) ([]any, map[string]any, error) {
	list := make([]any, 0, len(args))
	for _, a := range args {
		if err := checkIntegers(a); err != nil {
			return nil, nil, &usageError{fmt.Errorf("argument %q: %v", a, err)}
		}
		list = append(list, parseValue(a))
	}
	dict := make(map[string]any, len(kv))
	for _, p := range kv {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg %q: want KEY=VALUE", p)}
		}
		if err := checkIntegers(v); err != nil {
			return nil, nil, &usageError{fmt.Errorf("-k/--kwarg %q: %v", k, err)}
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

// field is one key of an output object; objectLine keeps the keys in the order given,
// so output lines read the same every time.
type field struct {
	key   string
	value any
}

// objectLine writes a JSON object as one line in the plaintext's dialect.
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
