package wamp

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// Reference implementations: the dialect's readers and writers as they were before they
// were made faster (issue 10), kept only for the differential fuzz tests
// (differential_test.go), which hold the fast ones to exactly their output and their
// errors.

// refAppendJSON is AppendJSON before: a writer that copied strings byte by byte, sorted
// keys into a fresh slice and formatted floats through a temporary allocation.
func refAppendJSON(dst []byte, v any, nest Nest) ([]byte, error) {
	w := refJSONWriter{buf: dst, limit: nest.limit()}
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

type refJSONWriter struct {
	buf   []byte
	limit int
}

func (w *refJSONWriter) value(v any, depth int) error {
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
		if err := checkText(x); err != nil {
			return err
		}
		w.string(x)
	case []byte:
		w.buf = append(w.buf, `"\u0000`...)
		w.buf = base64.StdEncoding.AppendEncode(w.buf, x)
		w.buf = append(w.buf, '"')
	case []any:
		if depth >= w.limit {
			return valueErr(ErrTooDeep)
		}
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
		if depth >= w.limit {
			return valueErr(ErrTooDeep)
		}
		w.buf = append(w.buf, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if err := checkKey(k); err != nil {
				return err
			}
			w.string(k)
			w.buf = append(w.buf, ':')
			if err := w.value(x[k], depth+1); err != nil {
				return err
			}
		}
		w.buf = append(w.buf, '}')
	default:
		n, err := normalize(v, depth, w.limit)
		if err != nil {
			return err
		}
		return w.value(n, depth)
	}
	return nil
}

// float writes f as Python's repr does (float_repr_style "short"): the shortest digits
// that read back as f, in positional notation when the decimal exponent is from -4 to
// 15, else as d.ddde±XX; a positional integral value keeps ".0" so that it reads back
// as a float, not an integer.
func (w *refJSONWriter) float(f float64) error {
	if err := checkFloat(f); err != nil {
		return err
	}
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	exp, _ := strconv.Atoi(string(e[slices.Index(e, 'e')+1:]))
	if exp < -4 || exp >= 16 {
		w.buf = append(w.buf, e...)
		return nil
	}
	start := len(w.buf)
	w.buf = strconv.AppendFloat(w.buf, f, 'f', -1, 64)
	if !slices.Contains(w.buf[start:], '.') {
		w.buf = append(w.buf, ".0"...)
	}
	return nil
}

// string writes a JSON string the way Python's json.dumps(ensure_ascii=False) does:
// non-ASCII stays raw UTF-8; quote, backslash and control characters are escaped. s has
// been checked to be UTF-8.
func (w *refJSONWriter) string(s string) {
	const hex = "0123456789abcdef"
	w.buf = append(w.buf, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
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
	}
	w.buf = append(w.buf, '"')
}

// refMsgpackAppend is msgpackAppend before: vmihailenco/msgpack's Encoder, one per
// message, over a bytes.Buffer.
func refMsgpackAppend(dst []byte, v any, nest Nest) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	if err := refMsgpackWrite(msgpack.NewEncoder(buf), v, 0, nest.limit()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func refMsgpackWrite(e *msgpack.Encoder, v any, depth, limit int) error {
	switch x := v.(type) {
	case nil:
		return e.EncodeNil()
	case bool:
		return e.EncodeBool(x)
	case int64:
		return e.EncodeInt(x)
	case uint64:
		return e.EncodeUint(x)
	case float64:
		if err := checkFloat(x); err != nil {
			return err
		}
		return e.EncodeFloat64(x)
	case string:
		if err := checkText(x); err != nil {
			return err
		}
		return e.EncodeString(x)
	case []byte:
		if x == nil {
			x = []byte{} // EncodeBytes writes nil as msgpack nil
		}
		return e.EncodeBytes(x)
	case []any:
		if depth >= limit {
			return valueErr(ErrTooDeep)
		}
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, el := range x {
			if err := refMsgpackWrite(e, el, depth+1, limit); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if depth >= limit {
			return valueErr(ErrTooDeep)
		}
		if err := e.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, k := range sortedKeys(x) {
			if err := checkKey(k); err != nil {
				return err
			}
			if err := e.EncodeString(k); err != nil {
				return err
			}
			if err := refMsgpackWrite(e, x[k], depth+1, limit); err != nil {
				return err
			}
		}
		return nil
	}
	n, err := normalize(v, depth, limit)
	if err != nil {
		return err
	}
	return refMsgpackWrite(e, n, depth, limit)
}
