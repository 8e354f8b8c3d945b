package wamp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth is how deeply one application value (one argument, one keyword argument, one
// Options or Details entry) may nest lists and dicts: a scalar has depth 0, [] and {} depth
// 1, [[1]] depth 2. Every reader and writer of the dialect enforces it, so that a value one
// of them accepts every other accepts too (package comment, "Nesting").
//
// 100 is far above what applications send and well inside what Autobahn|Python 22.7.1
// handles on every serializer once the two levels of a message are added: its JSON decoder
// (a pure-Python scanner) overflows the interpreter stack at about 490 levels, and
// msgpack's packer refuses more than 511.
const MaxDepth = 100

// Nest says how many levels of lists and dicts a document wraps around the application
// values it carries, so that the same MaxDepth holds for a value wherever it travels.
type Nest int

const (
	// NestValue: the document is one application value (a command-line argument).
	NestValue Nest = 0
	// NestPayload: the document is an Arguments list or an ArgumentsKw, Options or
	// Details dict.
	NestPayload Nest = 1
	// NestMessage: the document is a WAMP message [TYPE, …, {Details}, [Arguments],
	// {ArgumentsKw}] or a sealed plaintext {"uri", "args": […], "kwargs": {…}}.
	NestMessage Nest = 2
)

// limit is the deepest container level (1 for the outermost container) a document of
// this kind may hold.
func (n Nest) limit() int { return MaxDepth + int(n) }

// The reasons a value is outside the dialect. A [*ValueError] wraps exactly one of them, so
// callers tell them apart with errors.Is. Their texts carry no data of the value: they may
// be shown to a peer about a payload that was sealed.
var (
	// ErrIntegerRange: an integer outside [-2^63, 2^64-1]. msgpack and CBOR cannot carry
	// it as an integer and rounding it to a float would change it.
	ErrIntegerRange = errors.New("integer does not fit in 64 bits (-2^63 to 2^64-1)")
	// ErrFloatRange: NaN, an infinity, or a JSON number beyond the float64 range. JSON
	// has no form for them, so they could not be printed or relayed as they are.
	ErrFloatRange = errors.New("number is not a finite 64-bit float")
	// ErrInvalidUTF8: text that is not UTF-8 (including an escaped lone UTF-16
	// surrogate). WAMP text is Unicode; replacing bad bytes with U+FFFD would alter it.
	ErrInvalidUTF8 = errors.New("text is not valid UTF-8")
	// ErrTooDeep: lists and dicts nested deeper than MaxDepth.
	ErrTooDeep = fmt.Errorf("lists and dicts nested deeper than %d levels", MaxDepth)
	// ErrBinaryText: a string starting with U+0000 that is not U+0000 followed by
	// standard padded base64, or text starting with U+0000. In WAMP's JSON such a string
	// is a binary value, so text cannot start with U+0000 and keep its meaning.
	ErrBinaryText = errors.New(`a string starting with U+0000 is binary in WAMP's JSON and must be U+0000 followed by standard padded base64`)
	// ErrUnsupported: a Go value with no WAMP form (a struct, a channel, a map with
	// non-string keys).
	ErrUnsupported = errors.New("not a WAMP value")
)

// ValueError reports a value outside the dialect: what kind (one of the Err* reasons
// above, for errors.Is) and, in Msg, which value, when a reader saw it in its input.
type ValueError struct {
	Kind error
	Msg  string
}

func (e *ValueError) Error() string { return e.Msg }
func (e *ValueError) Unwrap() error { return e.Kind }

func valueErr(kind error) *ValueError { return &ValueError{Kind: kind, Msg: kind.Error()} }

func valueErrf(kind error, format string, args ...any) *ValueError {
	return &ValueError{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// excerpt shortens input quoted in an error message.
func excerpt(s string) string {
	if len(s) > 40 {
		return s[:32] + "…"
	}
	return s
}

// Normalize converts v into the package's value model (see the package comment): nil,
// bool, int64, uint64 (only above MaxInt64), float64, string, []byte, []any and
// map[string]any, copying lists and dicts. It accepts the other Go integer and float
// kinds, json.Number, [ID], named types with such underlying kinds, slices, arrays and
// maps with string keys, and pointers to any of these. Anything outside the dialect is a
// [*ValueError]: structs, channels, funcs, non-string map keys, integers or json.Numbers
// outside [-2^63, 2^64-1], NaN and infinities, invalid UTF-8, text starting with U+0000,
// nesting deeper than [MaxDepth] below the value's own level (v itself may be an Arguments
// list or a dict, so it is allowed MaxDepth+[NestMessage] levels).
//
// Serializers call it only for values outside the model, so application code may pass
// e.g. []string or map[string]int as Arguments.
func Normalize(v any) (any, error) {
	return normalize(v, 0, NestMessage.limit())
}

// normalize converts v, which sits inside depth containers of a document whose containers
// may nest limit levels.
func normalize(v any, depth, limit int) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64:
		return x, nil
	case string:
		return x, checkText(x)
	case float64:
		return x, checkFloat(x)
	case []byte:
		return x, nil
	case uint64:
		return fromUint64(x), nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint:
		return fromUint64(uint64(x)), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case float32:
		return float64(x), checkFloat(float64(x))
	case ID:
		return fromUint64(uint64(x)), nil
	case json.Number:
		return parseNumber(string(x))
	case []any:
		if depth >= limit {
			return nil, valueErr(ErrTooDeep)
		}
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1, limit)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		if depth >= limit {
			return nil, valueErr(ErrTooDeep)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := checkKey(k); err != nil {
				return nil, err
			}
			n, err := normalize(e, depth+1, limit)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return normalizeReflect(reflect.ValueOf(v), depth, limit)
}

// normalizeReflect handles named types and composite kinds not listed in normalize's
// type switch. Reflection is used only here, for application values; the list form of
// messages (listform.go) is explicit per type.
func normalizeReflect(rv reflect.Value, depth, limit int) (any, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fromUint64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), checkFloat(rv.Float())
	case reflect.String:
		return rv.String(), checkText(rv.String())
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			if rv.Type().Elem().Kind() == reflect.Uint8 {
				return []byte(nil), nil
			}
			return []any(nil), nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b, nil
		}
		if depth >= limit {
			return nil, valueErr(ErrTooDeep)
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), depth+1, limit)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, valueErrf(ErrUnsupported, "unsupported map key type %s (WAMP dicts have string keys)", rv.Type().Key())
		}
		if rv.IsNil() {
			return map[string]any(nil), nil
		}
		if depth >= limit {
			return nil, valueErr(ErrTooDeep)
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key().String()
			if err := checkKey(k); err != nil {
				return nil, err
			}
			n, err := normalize(it.Value().Interface(), depth+1, limit)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		// A pointer is not a level of the value, but a pointer cycle must still end.
		if depth >= limit {
			return nil, valueErr(ErrTooDeep)
		}
		return normalize(rv.Elem().Interface(), depth+1, limit)
	case reflect.Invalid:
		return nil, nil
	}
	return nil, valueErrf(ErrUnsupported, "unsupported value type %s", rv.Type())
}

func fromUint64(u uint64) any {
	if u > math.MaxInt64 {
		return u
	}
	return int64(u)
}

// CheckText reports whether s can travel as a text value: UTF-8, not starting with U+0000
// (which JSON would read back as binary). The command line uses it for arguments that are
// not JSON and so are sent as text.
func CheckText(s string) error { return checkText(s) }

// checkText enforces the rules for a text value on every writer.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return valueErr(ErrInvalidUTF8)
	}
	if len(s) > 0 && s[0] == 0 {
		return valueErr(ErrBinaryText)
	}
	return nil
}

// checkKey enforces UTF-8 on dict keys. Keys are never binary (Autobahn's JSON decoder
// converts only values), so a key may start with U+0000.
func checkKey(k string) error {
	if !utf8.ValidString(k) {
		return valueErr(ErrInvalidUTF8)
	}
	return nil
}

func checkFloat(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return valueErrf(ErrFloatRange, "%v is not a finite 64-bit float", f)
	}
	return nil
}

// parseNumber converts JSON number text as Python's json module reads it, minus rounding:
// text without fraction or exponent is an integer and stays exact (int64, or uint64 above
// MaxInt64; "-0" is 0); anything else is the nearest float64. Integers outside
// [-2^63, 2^64-1], and numbers that overflow a float64 or would become 0 in one, are
// refused rather than rounded.
func parseNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
		return nil, valueErrf(ErrIntegerRange, "integer %s does not fit in 64 bits (-2^63 to 2^64-1)", excerpt(s))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, valueErrf(ErrFloatRange, "number %s is not a finite 64-bit float", excerpt(s))
	}
	if f == 0 && nonZeroMantissa(s) {
		// ParseFloat rounds what is below the smallest float64 (about 5e-324) to zero
		// without an error; that would change the value, so it is refused like 1e400.
		return nil, valueErrf(ErrFloatRange, "number %s is too small for a 64-bit float (it would become 0)", excerpt(s))
	}
	return f, nil
}

// nonZeroMantissa reports whether the digits of a JSON number before its exponent hold
// anything but zeros.
func nonZeroMantissa(s string) bool {
	for _, c := range s {
		switch {
		case c == 'e' || c == 'E':
			return false
		case '1' <= c && c <= '9':
			return true
		}
	}
	return false
}
