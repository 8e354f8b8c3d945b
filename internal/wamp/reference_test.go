package wamp

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

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

// refUnmarshalJSON is UnmarshalJSON before: the whole text's syntax and depth checked
// first (jsonSyntax), then the value built by a second pass.
func refUnmarshalJSON(b []byte, nest Nest) (any, error) {
	depth, err := jsonSyntax(b)
	if err != nil {
		return nil, err
	}
	if depth > nest.limit() {
		return nil, valueErr(ErrTooDeep)
	}
	r := refJSONReader{b: b}
	v, err := r.value()
	if err != nil {
		return nil, err
	}
	r.space()
	if r.i != len(b) {
		return nil, &SyntaxError{r.i, "data after the value"}
	}
	return v, nil
}

type refJSONReader struct {
	b []byte
	i int
}

func (r *refJSONReader) space() {
	for r.i < len(r.b) && isSpace(r.b[r.i]) {
		r.i++
	}
}

func (r *refJSONReader) syntax() error {
	return &SyntaxError{r.i, "unexpected input"}
}

func (r *refJSONReader) value() (any, error) {
	r.space()
	if r.i >= len(r.b) {
		return nil, r.syntax()
	}
	switch c := r.b[r.i]; {
	case c == '[':
		r.i++
		l := []any{}
		if r.space(); r.i < len(r.b) && r.b[r.i] == ']' {
			r.i++
			return l, nil
		}
		for {
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			l = append(l, v)
			r.space()
			if r.i >= len(r.b) {
				return nil, r.syntax()
			}
			r.i++
			switch r.b[r.i-1] {
			case ',':
			case ']':
				return l, nil
			default:
				return nil, r.syntax()
			}
		}
	case c == '{':
		r.i++
		m := map[string]any{}
		if r.space(); r.i < len(r.b) && r.b[r.i] == '}' {
			r.i++
			return m, nil
		}
		for {
			r.space()
			if r.i >= len(r.b) || r.b[r.i] != '"' {
				return nil, r.syntax()
			}
			k, err := r.text()
			if err != nil {
				return nil, err
			}
			if r.space(); r.i >= len(r.b) || r.b[r.i] != ':' {
				return nil, r.syntax()
			}
			r.i++
			v, err := r.value()
			if err != nil {
				return nil, err
			}
			m[k] = v
			r.space()
			if r.i >= len(r.b) {
				return nil, r.syntax()
			}
			r.i++
			switch r.b[r.i-1] {
			case ',':
			case '}':
				return m, nil
			default:
				return nil, r.syntax()
			}
		}
	case c == '"':
		start := r.i
		s, err := r.text()
		if err != nil {
			return nil, err
		}
		if len(s) > 0 && s[0] == 0 {
			// WAMP's JSON form of binary (spec advanced/serialization_binary_json.md).
			// Strict, padded base64 only, so that writing the bytes back gives the same
			// text.
			bin, err := base64.StdEncoding.Strict().DecodeString(s[1:])
			if err != nil {
				return nil, valueErrf(ErrBinaryText, "%s at byte %d", ErrBinaryText, start)
			}
			return bin, nil
		}
		return s, nil
	case c == '-' || isDigit(c):
		n := scanNumber(r.b[r.i:])
		if n == 0 {
			return nil, r.syntax()
		}
		s := string(r.b[r.i : r.i+n])
		r.i += n
		return parseNumber(s)
	default:
		for _, lit := range []struct {
			text string
			v    any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if len(r.b)-r.i >= len(lit.text) && string(r.b[r.i:r.i+len(lit.text)]) == lit.text {
				r.i += len(lit.text)
				return lit.v, nil
			}
		}
		return nil, r.syntax()
	}
}

// text reads a JSON string, r.b[r.i] being its opening quote. Raw bytes must be UTF-8 and
// \u escapes must form Unicode scalar values: an escaped lone surrogate (which Python's
// json accepts, then cannot encode) is not text.
func (r *refJSONReader) text() (string, error) {
	start := r.i
	r.i++
	// Fast path: no escapes.
	j := r.i
	for j < len(r.b) && r.b[j] != '"' && r.b[j] != '\\' {
		j++
	}
	if j < len(r.b) && r.b[j] == '"' {
		s := r.b[r.i:j]
		if !utf8.Valid(s) {
			return "", r.badUTF8(start)
		}
		r.i = j + 1
		return string(s), nil
	}
	var out []byte
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(out) {
				return "", r.badUTF8(start)
			}
			return string(out), nil
		case c == '\\':
			if r.i+1 >= len(r.b) {
				return "", r.syntax()
			}
			e := r.b[r.i+1]
			r.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				u, ok := r.hex4()
				if !ok {
					return "", r.syntax()
				}
				rn := rune(u)
				if utf16.IsSurrogate(rn) {
					// Only a high surrogate followed by an escaped low one is a character.
					lo, ok := r.lowSurrogate()
					if !ok || u >= 0xdc00 {
						return "", r.badUTF8(start)
					}
					rn = utf16.DecodeRune(rn, lo)
				}
				out = utf8.AppendRune(out, rn)
			default:
				return "", r.syntax()
			}
		case c < 0x20:
			return "", r.syntax()
		default:
			out = append(out, c)
			r.i++
		}
	}
	return "", r.syntax()
}

func (r *refJSONReader) hex4() (uint16, bool) {
	if r.i+4 > len(r.b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(r.b[r.i:r.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return uint16(n), true
}

// lowSurrogate reads a following \uDC00–\uDFFF escape, if there is one.
func (r *refJSONReader) lowSurrogate() (rune, bool) {
	if r.i+6 > len(r.b) || r.b[r.i] != '\\' || r.b[r.i+1] != 'u' {
		return 0, false
	}
	save := r.i
	r.i += 2
	u, ok := r.hex4()
	if !ok || u < 0xdc00 || u > 0xdfff {
		r.i = save
		return 0, false
	}
	return rune(u), true
}

func (r *refJSONReader) badUTF8(start int) error {
	return valueErrf(ErrInvalidUTF8, "%s (the string at byte %d)", ErrInvalidUTF8, start)
}
