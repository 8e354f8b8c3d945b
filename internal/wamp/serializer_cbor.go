package wamp

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// cborSerializer implements wamp.2.cbor (binary frames).
//
// Binary values are CBOR byte strings (major type 2) and text is major type 3, as cbor2
// writes them for Autobahn (wire.md §1.7). Writing is done here by hand because
// fxamacker/cbor has no option for the key order we want: dict keys are sorted by their
// string value, the same rule as the other serializers, which also reproduces Autobahn's
// frames whenever Python's insertion order happens to be alphabetical (as in the test
// vectors). Integers use the shortest head; floats are always 64-bit like cbor2's default,
// except NaN and ±Inf, which use cbor2's half-precision forms.
//
// Reading uses fxamacker/cbor into `any` with tags forbidden (WAMP has no use for them and
// they would smuggle in types outside the value model), invalid UTF-8 rejected, and
// map[string]any as the map type, so a non-string key is an error.
type cborSerializer struct{}

func (cborSerializer) Name() string        { return "cbor" }
func (cborSerializer) Subprotocol() string { return "wamp.2.cbor" }
func (cborSerializer) Binary() bool        { return true }

var cborDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxNestedLevels:  maxDepth + 1,
		MaxArrayElements: math.MaxInt32,
		MaxMapPairs:      math.MaxInt32,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertNone,
		DefaultMapType:   reflect.TypeFor[map[string]any](),
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err) // constant options; covered by every test
	}
	return dm
}()

func (cborSerializer) Marshal(m Message) ([]byte, error) {
	l, err := Encode(m)
	if err != nil {
		return nil, err
	}
	var w cborWriter
	if err := w.value(l, 0); err != nil {
		return nil, fmt.Errorf("encoding %v in CBOR: %w", m.MessageType(), err)
	}
	return w.buf, nil
}

func (cborSerializer) Unmarshal(b []byte) (Message, error) {
	var raw any
	if err := cborDecMode.Unmarshal(b, &raw); err != nil {
		return nil, protoErrf("cbor: %v", err)
	}
	v, err := fromCBOR(raw)
	if err != nil {
		return nil, err
	}
	return unmarshalList("cbor", v)
}

// fromCBOR maps the decoder's output onto the value model: uint64 at most MaxInt64
// becomes int64; big integers (negative below MinInt64) and simple values other than
// true/false/null/undefined are rejected. Nesting was already bounded by the decoder.
func fromCBOR(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return x, nil
	case uint64:
		return fromUint64(x), nil
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return x, nil
	case []any:
		for i, e := range x {
			n, err := fromCBOR(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
		return x, nil
	case map[string]any:
		for k, e := range x {
			n, err := fromCBOR(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
		return x, nil
	}
	return nil, protoErrf("cbor: unsupported value %T", v)
}

type cborWriter struct{ buf []byte }

// head writes a CBOR initial byte plus argument in the shortest form (RFC 8949 §3).
func (w *cborWriter) head(major byte, n uint64) {
	major <<= 5
	switch {
	case n < 24:
		w.buf = append(w.buf, major|byte(n))
	case n <= math.MaxUint8:
		w.buf = append(w.buf, major|24, byte(n))
	case n <= math.MaxUint16:
		w.buf = binary.BigEndian.AppendUint16(append(w.buf, major|25), uint16(n))
	case n <= math.MaxUint32:
		w.buf = binary.BigEndian.AppendUint32(append(w.buf, major|26), uint32(n))
	default:
		w.buf = binary.BigEndian.AppendUint64(append(w.buf, major|27), n)
	}
}

func (w *cborWriter) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, 0xf6)
	case bool:
		if x {
			w.buf = append(w.buf, 0xf5)
		} else {
			w.buf = append(w.buf, 0xf4)
		}
	case int64:
		if x >= 0 {
			w.head(0, uint64(x))
		} else {
			w.head(1, uint64(-(x + 1)))
		}
	case uint64:
		w.head(0, x)
	case float64:
		switch {
		case math.IsNaN(x):
			w.buf = append(w.buf, 0xf9, 0x7e, 0x00)
		case math.IsInf(x, 1):
			w.buf = append(w.buf, 0xf9, 0x7c, 0x00)
		case math.IsInf(x, -1):
			w.buf = append(w.buf, 0xf9, 0xfc, 0x00)
		default:
			w.buf = binary.BigEndian.AppendUint64(append(w.buf, 0xfb), math.Float64bits(x))
		}
	case string:
		if !utf8.ValidString(x) {
			return errInvalidUTF8
		}
		w.head(3, uint64(len(x)))
		w.buf = append(w.buf, x...)
	case []byte:
		w.head(2, uint64(len(x)))
		w.buf = append(w.buf, x...)
	case []any:
		w.head(4, uint64(len(x)))
		for _, e := range x {
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		w.head(5, uint64(len(x)))
		for _, k := range sortedKeys(x) {
			if !utf8.ValidString(k) {
				return errInvalidUTF8
			}
			w.head(3, uint64(len(k)))
			w.buf = append(w.buf, k...)
			if err := w.value(x[k], depth+1); err != nil {
				return err
			}
		}
	default:
		n, err := normalize(v, depth)
		if err != nil {
			return err
		}
		return w.value(n, depth)
	}
	return nil
}
