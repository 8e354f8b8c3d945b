package wamp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// jsonSerializer implements wamp.2.json (text frames).
//
// Binary values travel as a string made of U+0000 followed by standard base64 with
// padding, at any depth (SPEC advanced/serialization_binary_json.md; Autobahn
// serializer.py, wire.md §1.7). The writer is our own rather than encoding/json so that:
// no HTML escaping happens, integral floats keep a ".0" (Python writes 1.0; encoding/json
// would write 1, which reads back as an integer), control characters are escaped the way
// Python's json module does, and dict keys come out sorted (deterministic frames).
type jsonSerializer struct{}

func (jsonSerializer) Name() string        { return "json" }
func (jsonSerializer) Subprotocol() string { return "wamp.2.json" }
func (jsonSerializer) Binary() bool        { return false }

func (jsonSerializer) Marshal(m Message) ([]byte, error) {
	l, err := Encode(m)
	if err != nil {
		return nil, err
	}
	var w jsonWriter
	if err := w.value(l, 0); err != nil {
		return nil, fmt.Errorf("encoding %v in JSON: %w", m.MessageType(), err)
	}
	return w.buf, nil
}

func (jsonSerializer) Unmarshal(b []byte) (Message, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return nil, protoErrf("json: %v", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, protoErrf("json: data after the message")
	}
	v, err := fromJSON(raw, 0)
	if err != nil {
		return nil, err
	}
	return unmarshalList("json", v)
}

// fromJSON converts encoding/json's output (UseNumber) into the value model: numbers to
// int64/uint64/float64, U+0000-prefixed strings to []byte.
func fromJSON(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, protoErrf("json: nested deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case json.Number:
		n, err := parseNumber(string(x))
		if err != nil {
			return nil, protoErrf("json: %v", err)
		}
		return n, nil
	case string:
		if len(x) > 0 && x[0] == 0 {
			b, err := base64.StdEncoding.DecodeString(x[1:])
			if err != nil {
				return nil, protoErrf("json: invalid base64 after U+0000: %v", err)
			}
			return b, nil
		}
		return x, nil
	case []any:
		for i, e := range x {
			n, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			n, err := fromJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	}
	return v, nil // nil, bool
}

type jsonWriter struct{ buf []byte }

func (w *jsonWriter) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, x)
	case int64:
		w.buf = strconv.AppendInt(w.buf, x, 10)
	case uint64:
		w.buf = strconv.AppendUint(w.buf, x, 10)
	case float64:
		return w.float(x)
	case string:
		if len(x) > 0 && x[0] == 0 {
			return errors.New("a string starting with U+0000 would be read back as binary; use []byte")
		}
		if !utf8.ValidString(x) {
			return errInvalidUTF8
		}
		w.string(x)
	case []byte:
		w.buf = append(w.buf, `"\u0000`...)
		w.buf = base64.StdEncoding.AppendEncode(w.buf, x)
		w.buf = append(w.buf, '"')
	case []any:
		w.buf = append(w.buf, '[')
		for i, e := range x {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
		w.buf = append(w.buf, ']')
	case map[string]any:
		w.buf = append(w.buf, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if !utf8.ValidString(k) {
				return errInvalidUTF8
			}
			w.string(k)
			w.buf = append(w.buf, ':')
			if err := w.value(x[k], depth+1); err != nil {
				return err
			}
		}
		w.buf = append(w.buf, '}')
	default:
		n, err := normalize(v, depth)
		if err != nil {
			return err
		}
		return w.value(n, depth)
	}
	return nil
}

func (w *jsonWriter) float(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("cannot encode %v in JSON", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		w.buf = strconv.AppendFloat(w.buf, f, 'f', -1, 64)
		w.buf = append(w.buf, ".0"...)
		return nil
	}
	w.buf = strconv.AppendFloat(w.buf, f, 'g', -1, 64)
	return nil
}

// string writes a JSON string the way Python's json.dumps(ensure_ascii=False) does:
// non-ASCII stays raw UTF-8, quote, backslash and control characters are escaped.
// Callers have checked that s is valid UTF-8; should it not be, bad bytes become U+FFFD.
func (w *jsonWriter) string(s string) {
	const hex = "0123456789abcdef"
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				w.buf = append(w.buf, '\\', c)
			case '\n':
				w.buf = append(w.buf, '\\', 'n')
			case '\r':
				w.buf = append(w.buf, '\\', 'r')
			case '\t':
				w.buf = append(w.buf, '\\', 't')
			case '\b':
				w.buf = append(w.buf, '\\', 'b')
			case '\f':
				w.buf = append(w.buf, '\\', 'f')
			default:
				if c < 0x20 {
					w.buf = append(w.buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
				} else {
					w.buf = append(w.buf, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.buf = utf8.AppendRune(w.buf, utf8.RuneError)
		} else {
			w.buf = append(w.buf, s[i:i+size]...)
		}
		i += size
	}
	w.buf = append(w.buf, '"')
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
