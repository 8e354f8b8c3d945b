package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// writeJSONLine writes v as one line of standard JSON, for output that holds no payload
// values (keys ls --json, keys show --json): encoding/json, without HTML escaping.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
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

// withKey adds the "key" field, what opened a sealed payload (e2e.Opened: the keystore
// entry and the fingerprints of its public keys), to an output line; a payload that was
// not sealed has none.
func withKey(fields []field, opened map[string]any) []field {
	if opened == nil {
		return fields
	}
	return append(fields, field{"key", opened})
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
