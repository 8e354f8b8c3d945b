package box

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Message is what a cryptobox payload seals: the URI it was sealed for and the application
// arguments.
//
// Values inside Args and Kwargs use the WAMP value model: nil, bool, integers, float64,
// json.Number, string, []byte, []any and map[string]any. Decoding produces nil, bool,
// int64, uint64 (above MaxInt64 only), float64, string, []byte, []any and map[string]any.
type Message struct {
	URI    string
	Args   []any          // nil encodes as null, as Autobahn's callee results do
	Kwargs map[string]any // nil encodes as null
}

// binaryPrefix marks a binary value inside JSON: "\u0000" followed by standard, padded
// base64 (WAMP spec advanced/serialization_binary_json.md; autobahn/wamp/serializer.py).
const binaryPrefix = "\x00"

// EncodePlaintext encodes m exactly as autobahn/wamp/cryptobox.py does before sealing
// (wire.md §1.3): the object {"uri","args","kwargs"} in that order, compact separators,
// non-ASCII characters as raw UTF-8 (Python's ensure_ascii=False), binary values as
// "\u0000"+base64.
//
// One difference is deliberate and harmless: keys inside kwargs come out sorted (a Go map
// has no order), where Python keeps insertion order. Decoders on both sides read the same
// object.
func EncodePlaintext(m Message) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"uri":`)
	if err := writeJSON(&buf, m.URI); err != nil {
		return nil, err
	}
	buf.WriteString(`,"args":`)
	var args any
	if m.Args != nil {
		args = m.Args
	}
	if err := writeJSON(&buf, args); err != nil {
		return nil, err
	}
	buf.WriteString(`,"kwargs":`)
	var kwargs any
	if m.Kwargs != nil {
		kwargs = m.Kwargs
	}
	if err := writeJSON(&buf, kwargs); err != nil {
		return nil, err
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, v any) error {
	jv, err := toJSONValue(v)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(jv); err != nil {
		return fmt.Errorf("encoding plaintext: %w", err)
	}
	buf.Truncate(buf.Len() - 1) // Encode appends a newline
	return nil
}

// toJSONValue rewrites binary values into their "\u0000"+base64 strings and rejects
// anything outside the value model, so that what is sealed is exactly what the peer reads.
func toJSONValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, json.Number,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x, nil
	case float32:
		return toJSONValue(float64(x))
	case float64:
		return floatNumber(x)
	case []byte:
		return binaryPrefix + base64.StdEncoding.EncodeToString(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			je, err := toJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = je
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			je, err := toJSONValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = je
		}
		return out, nil
	default:
		return nil, fmt.Errorf("cannot encode a value of type %T", v)
	}
}

// floatNumber writes a float the way Python's json module does as far as the type goes: an
// integral value keeps a ".0" (Python writes 1.0 where Go writes 1), so that a float
// arrives as a float on the other side, not as an integer.
func floatNumber(x float64) (any, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil, fmt.Errorf("cannot encode %v: JSON has no NaN or infinity", x)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return nil, fmt.Errorf("encoding plaintext: %w", err)
	}
	if !bytes.ContainsAny(b, ".eE") {
		b = append(b, ".0"...)
	}
	return json.Number(b), nil
}

// DecodePlaintext parses Autobahn's plaintext object. Missing "args" or "kwargs" count as
// null (Autobahn reads them with dict.get); anything that is not an object with a string
// "uri", a list or null "args" and an object or null "kwargs" is [ErrPlaintext].
func DecodePlaintext(b []byte) (Message, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return Message{}, fmt.Errorf("%w: not a JSON object", ErrPlaintext)
	}
	var m Message
	if u, ok := raw["uri"]; ok {
		if err := json.Unmarshal(u, &m.URI); err != nil {
			return Message{}, fmt.Errorf("%w: \"uri\" is not a string", ErrPlaintext)
		}
	}
	if a, ok := raw["args"]; ok && !isNull(a) {
		v, err := decodeJSONValue(a)
		if err != nil {
			return Message{}, err
		}
		list, ok := v.([]any)
		if !ok {
			return Message{}, fmt.Errorf("%w: \"args\" is not a list", ErrPlaintext)
		}
		m.Args = list
	}
	if k, ok := raw["kwargs"]; ok && !isNull(k) {
		v, err := decodeJSONValue(k)
		if err != nil {
			return Message{}, err
		}
		dict, ok := v.(map[string]any)
		if !ok {
			return Message{}, fmt.Errorf("%w: \"kwargs\" is not an object", ErrPlaintext)
		}
		m.Kwargs = dict
	}
	return m, nil
}

// MarshalValue writes one value in the plaintext's JSON dialect: compact, raw UTF-8, binary
// as "\u0000"+base64, integral floats with ".0". cbx prints payloads with it, so what a
// user sees is what was sealed.
func MarshalValue(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalValue reads one JSON value in the same dialect, turning "\u0000"+base64
// strings into []byte and numbers into int64, uint64 or float64.
func UnmarshalValue(b []byte) (any, error) {
	return decodeJSONValue(b)
}

func isNull(r json.RawMessage) bool { return string(bytes.TrimSpace(r)) == "null" }

func decodeJSONValue(r json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(r))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPlaintext, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrPlaintext)
	}
	return fromJSONValue(v)
}

// fromJSONValue turns decoded JSON into the value model: exact integers, and binary
// strings back into []byte.
func fromJSONValue(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return NumberValue(x)
	case string:
		if strings.HasPrefix(x, binaryPrefix) {
			b, err := base64.StdEncoding.Strict().DecodeString(x[1:])
			if err != nil {
				return nil, fmt.Errorf("%w: binary value with bad base64: %v", ErrPlaintext, err)
			}
			return b, nil
		}
		return x, nil
	case []any:
		for i, e := range x {
			d, err := fromJSONValue(e)
			if err != nil {
				return nil, err
			}
			x[i] = d
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			d, err := fromJSONValue(e)
			if err != nil {
				return nil, err
			}
			x[k] = d
		}
		return x, nil
	default:
		return x, nil
	}
}

// NumberValue converts a JSON number to int64 when it is an integer that fits, uint64 for
// larger non-negative integers, and float64 otherwise, so that WAMP IDs and other integers
// up to 2^64-1 survive exactly.
func NumberValue(n json.Number) (any, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: number %q out of range", ErrPlaintext, s)
	}
	return f, nil
}
