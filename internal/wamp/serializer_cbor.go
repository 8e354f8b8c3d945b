package wamp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// cborSerializer implements wamp.2.cbor (binary frames).
//
// Binary values are CBOR byte strings (major type 2) and text is major type 3, as cbor2
// writes them for Autobahn (wire.md §1.7). Writing is done here by hand because
// fxamacker/cbor has no option for the key order we want: dict keys are sorted by their
// string value, the same rule as the other serializers, which also reproduces Autobahn's
// frames whenever Python's insertion order happens to be alphabetical (as in the test
// vectors). Integers use the shortest head; floats are always 64-bit like cbor2's default.
//
// Reading uses fxamacker/cbor into `any`, then maps the result onto the value model and
// the package's dialect ([UnmarshalCBOR]): bignums (tags 2 and 3, how cbor2 writes
// integers beyond 64 bits) are refused unless they fit in 64 bits, every other tag and
// simple value is refused (they would smuggle in types outside the value model), and so are
// NaN, infinities, invalid UTF-8, text starting with U+0000 and nesting deeper than
// [MaxDepth] per value. map[string]any is the map type, so a non-string key is an error.
type cborSerializer struct{}

func (cborSerializer) Name() string        { return SerializerCBOR }
func (cborSerializer) Subprotocol() string { return SubprotocolCBOR }
func (cborSerializer) Binary() bool        { return true }

// cborDecModes holds one decoder per Nest: fxamacker bounds the nesting itself, before
// building anything.
var cborDecModes = func() [NestMessage + 1]cbor.DecMode {
	var modes [NestMessage + 1]cbor.DecMode
	for n := range modes {
		dm, err := cbor.DecOptions{
			MaxNestedLevels:  Nest(n).limit(),
			MaxArrayElements: math.MaxInt32,
			MaxMapPairs:      math.MaxInt32,
			TagsMd:           cbor.TagsAllowed,
			BigIntDec:        cbor.BigIntDecodeValue,
			IntDec:           cbor.IntDecConvertNone,
			DefaultMapType:   reflect.TypeFor[map[string]any](),
			UTF8:             cbor.UTF8DecodeInvalid, // checked by fromCBOR, as a *ValueError
		}.DecMode()
		if err != nil {
			panic(err) // constant options; covered by every test
		}
		modes[n] = dm
	}
	return modes
}()

func (cborSerializer) Marshal(m Message) ([]byte, error) {
	l, err := ToList(m)
	if err != nil {
		return nil, err
	}
	b, err := AppendCBOR(nil, l, NestMessage)
	if err != nil {
		return nil, fmt.Errorf("encoding %v in CBOR: %w", m.MessageType(), err)
	}
	return b, nil
}

func (cborSerializer) Unmarshal(b []byte) (Message, error) {
	v, err := UnmarshalCBOR(b, NestMessage)
	if err != nil {
		if isValueError(err) {
			if m, ok, lerr := unmarshalCBORLenient(b); ok {
				return m, lerr
			}
		}
		return nil, protoWrap(err, SerializerCBOR)
	}
	return unmarshalList(SerializerCBOR, v)
}

// unmarshalCBORLenient decodes a frame whose strict decoding met a value outside the
// dialect, element by element (refused.go). ok is false when the frame is not an array.
func unmarshalCBORLenient(b []byte) (m Message, ok bool, err error) {
	elems, ok, err := cborElements(b)
	if !ok || err != nil {
		return nil, ok, err
	}
	m, err = lenientMessage(SerializerCBOR, b, elems, func(s span) (any, error) {
		return UnmarshalCBOR(b[s.start:s.end], NestPayload)
	}, cborKind)
	return m, true, err
}

// UnmarshalCBOR reads one CBOR data item (RFC 8949) in the dialect: the CBOR form of the
// value model, with the same refusals as [UnmarshalJSON]. nest says what b is, for the
// nesting limit. Malformed CBOR is a plain error, values outside the dialect a
// [*ValueError].
func UnmarshalCBOR(b []byte, nest Nest) (any, error) {
	if nest < NestValue || nest > NestMessage {
		return nil, fmt.Errorf("UnmarshalCBOR: bad nest %d", nest)
	}
	var raw any
	if err := cborDecModes[nest].Unmarshal(b, &raw); err != nil {
		var deep *cbor.MaxNestedLevelError
		if errors.As(err, &deep) {
			return nil, valueErr(ErrTooDeep)
		}
		var typ *cbor.UnmarshalTypeError
		if errors.As(err, &typ) {
			// Decoding into any, the only type that can fail is a dict key's.
			return nil, valueErrf(ErrUnsupported, "dict key must be a text string, got %s", typ.CBORType)
		}
		return nil, err
	}
	return fromCBOR(raw)
}

// AppendCBOR appends v in the CBOR form of the dialect (see cborSerializer). nest says what
// v is, for the nesting limit.
func AppendCBOR(dst []byte, v any, nest Nest) ([]byte, error) {
	w := cborWriter{buf: dst, limit: nest.limit()}
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

// fromCBOR maps the decoder's output onto the value model: uint64 at most MaxInt64
// becomes int64, a bignum that fits in 64 bits becomes int64 or uint64; anything else
// outside the dialect is a *ValueError, types CBOR has and WAMP has not (tags, simple
// values) included, so that which one is reported first never changes how a frame is
// judged; which one that is does not depend on Go's map order either (firstDictError).
// Nesting was already bounded by the decoder.
func fromCBOR(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64:
		return x, nil
	case float64:
		return x, checkFloat(x)
	case string:
		return x, checkText(x)
	case uint64:
		return fromUint64(x), nil
	case big.Int:
		switch {
		case x.IsInt64():
			return x.Int64(), nil
		case x.IsUint64():
			return x.Uint64(), nil
		}
		return nil, valueErrf(ErrIntegerRange, "integer %s does not fit in 64 bits (-2^63 to 2^64-1)", excerpt(x.String()))
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
			if err := checkKey(k); err != nil {
				return nil, firstDictError(x, err)
			}
			n, err := fromCBOR(e)
			if err != nil {
				return nil, firstDictError(x, err)
			}
			x[k] = n
		}
		return x, nil
	case cbor.Tag:
		return nil, valueErrf(ErrUnsupported, "CBOR tag %d is not a WAMP value", x.Number)
	}
	return nil, valueErrf(ErrUnsupported, "unsupported CBOR value %T", v)
}

// firstDictError is the error of a dict that fromCBOR refuses: that of its first key, in
// sorted order, that is refused or whose value is, so that the same bytes are refused in
// the same words every time rather than for whichever entry Go's map order met first
// (err, the one it met, is returned should none be found). fromCBOR may have converted
// some values already; it gives the same for a value it converted.
func firstDictError(x map[string]any, err error) error {
	for _, k := range slices.Sorted(maps.Keys(x)) {
		if e := checkKey(k); e != nil {
			return e
		}
		if _, e := fromCBOR(x[k]); e != nil {
			return e
		}
	}
	return err
}

type cborWriter struct {
	buf   []byte
	limit int
}

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
		if err := checkFloat(x); err != nil {
			return err
		}
		w.buf = binary.BigEndian.AppendUint64(append(w.buf, 0xfb), math.Float64bits(x))
	case string:
		if err := checkText(x); err != nil {
			return err
		}
		w.head(3, uint64(len(x)))
		w.buf = append(w.buf, x...)
	case []byte:
		w.head(2, uint64(len(x)))
		w.buf = append(w.buf, x...)
	case []any:
		if depth >= w.limit {
			return valueErr(ErrTooDeep)
		}
		w.head(4, uint64(len(x)))
		for _, e := range x {
			if err := w.value(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		if depth >= w.limit {
			return valueErr(ErrTooDeep)
		}
		w.head(5, uint64(len(x)))
		for _, k := range sortedKeys(x) {
			if err := checkKey(k); err != nil {
				return err
			}
			w.head(3, uint64(len(k)))
			w.buf = append(w.buf, k...)
			if err := w.value(x[k], depth+1); err != nil {
				return err
			}
		}
	default:
		n, err := normalize(v, depth, w.limit)
		if err != nil {
			return err
		}
		return w.value(n, depth)
	}
	return nil
}
