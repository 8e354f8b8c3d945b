package wamp

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of lists and dicts that the serializers read and write. It
// keeps a hostile frame (or a dict that contains itself) from exhausting the stack, and it
// is the same for every serializer so that whatever one decodes another can encode.
const maxDepth = 512

// Normalize converts v into the package's value model (see the package comment): nil,
// bool, int64, uint64 (only above MaxInt64), float64, string, []byte, []any and
// map[string]any, copying lists and dicts. It accepts the other Go integer and float
// kinds, json.Number, [ID], named types with such underlying kinds, slices, arrays and
// maps with string keys, and pointers to any of these. Anything else (structs, channels,
// funcs, non-string map keys, NaN-free JSON numbers that overflow) is an error.
//
// Serializers call it only for values outside the model, so application code may pass
// e.g. []string or map[string]int as Arguments.
func Normalize(v any) (any, error) {
	return normalize(v, 0)
}

func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil, bool, string, int64, float64:
		return x, nil
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
		return float64(x), nil
	case ID:
		return fromUint64(uint64(x)), nil
	case json.Number:
		return parseNumber(string(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	}
	return normalizeReflect(reflect.ValueOf(v), depth)
}

// normalizeReflect handles named types and composite kinds not listed in normalize's
// type switch. Reflection is used only here, for application values; the message codec
// itself is explicit per type.
func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fromUint64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
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
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("unsupported map key type %s (WAMP dicts have string keys)", rv.Type().Key())
		}
		if rv.IsNil() {
			return map[string]any(nil), nil
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			n, err := normalize(it.Value().Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = n
		}
		return out, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface(), depth+1)
	case reflect.Invalid:
		return nil, nil
	}
	return nil, fmt.Errorf("unsupported value type %s", rv.Type())
}

func fromUint64(u uint64) any {
	if u > math.MaxInt64 {
		return u
	}
	return int64(u)
}

// parseNumber converts JSON number text: integer text stays exact (int64, or uint64 above
// MaxInt64); anything with a fraction or exponent becomes float64. Integers outside
// [MinInt64, MaxUint64] and floats that overflow are errors rather than silently rounded.
func parseNumber(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
		return nil, fmt.Errorf("integer %s out of range", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("number %s out of range", s)
	}
	return f, nil
}
