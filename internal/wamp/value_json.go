package wamp

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the JSON form of the dialect (package comment): one reader and one writer,
// used by the wamp.2.json serializer, by the sealed plaintexts (internal/e2e) and by the
// command line (arguments, --stdin lines, output lines).

// SyntaxError reports input that is not one JSON text (RFC 8259). Offset counts bytes.
// It is kept apart from [*ValueError] so that the command line can tell "not JSON" (then
// an argument is a string) from "JSON holding a value outside the dialect" (refused).
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("not JSON: %s at byte %d", e.Msg, e.Offset) }

// UnmarshalJSON reads one JSON text in the dialect: integers exact as int64 (uint64 above
// MaxInt64), other numbers as float64, "\u0000"+base64 strings as []byte, lists as []any,
// objects as map[string]any (a repeated key keeps its last value, as in Python). nest
// says what b is, for the nesting limit. It returns a [*SyntaxError] when b is not JSON and
// a [*ValueError] when it is JSON but holds a value outside the dialect.
func UnmarshalJSON(b []byte, nest Nest) (any, error) {
	// One pass first: the reader checks the syntax as it builds and stops at the nesting
	// limit, so for a text in the dialect it is the whole job.
	r := jsonReader{b: b, limit: nest.limit()}
	if v, err := r.value(0); err == nil {
		if r.space(); r.i == len(b) {
			return v, nil
		}
	}
	// Anything else is answered as it always was: syntax first (a text too deep to build
	// is still told apart from one that is not JSON), then depth, then the value, so that
	// the command line's "JSON, else a string" and every error stay the same.
	depth, err := jsonSyntax(b)
	if err != nil {
		return nil, err
	}
	if depth > nest.limit() {
		return nil, valueErr(ErrTooDeep)
	}
	r = jsonReader{b: b}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	r.space()
	if r.i != len(b) {
		return nil, &SyntaxError{r.i, "data after the value"}
	}
	return v, nil
}

// UnmarshalJSONFields reads b, one JSON object, as UnmarshalJSON(b, nest) does, but
// keeps only the values of the keys in names: vals[i] is the value of names[i] (of its
// last occurrence, as UnmarshalJSON's map keeps it), nil when the key is absent. Every
// other value is read and checked the same way, then dropped. It reports false, with
// vals unspecified, for anything UnmarshalJSON would not return as an object without
// error; UnmarshalJSON then says why.
//
// It is UnmarshalJSON for a reader that wants a few fields of an object it reads for
// every message (the sealed plaintext, internal/e2e), without the map and the key
// strings UnmarshalJSON builds only to be looked up once.
//
// known holds, for the first len(known) names, the text the caller expects each to have:
// where names[i]'s value is known[i] written without escapes, vals[i] is a string kept
// from an earlier message (knownTexts) rather than a new copy of the text (the URI a
// sealed plaintext repeats, which its reader only compares with the one it has). The
// result is the same either way.
func UnmarshalJSONFields(b []byte, nest Nest, names []string, vals []any, known []string) bool {
	clear(vals)
	r := jsonReader{b: b, limit: nest.limit()}
	r.space()
	if r.i >= len(b) || b[r.i] != '{' {
		return false
	}
	r.i++
	if r.space(); r.i < len(b) && b[r.i] == '}' {
		r.i++
	} else {
		for {
			r.space()
			if r.i >= len(b) || b[r.i] != '"' {
				return false
			}
			field := -1
			if k, ok := r.plainString(); ok {
				for n, name := range names {
					if string(k) == name {
						field = n
					}
				}
			} else {
				k, err := r.text() // escapes: the key as UnmarshalJSON's map would have it
				if err != nil {
					return false
				}
				for n, name := range names {
					if k == name {
						field = n
					}
				}
			}
			if r.space(); r.i >= len(b) || b[r.i] != ':' {
				return false
			}
			r.i++
			if field >= 0 && field < len(known) && r.knownText(known[field]) {
				vals[field] = keptValue(&knownTexts, known[field])
			} else {
				v, err := r.value(1)
				if err != nil {
					return false
				}
				if field >= 0 {
					vals[field] = v
				}
			}
			r.space()
			if r.i >= len(b) {
				return false
			}
			r.i++
			if c := b[r.i-1]; c == '}' {
				break
			} else if c != ',' {
				return false
			}
		}
	}
	r.space()
	return r.i == len(b)
}

// MarshalJSON writes v in the dialect; see [AppendJSON].
func MarshalJSON(v any, nest Nest) ([]byte, error) {
	return AppendJSON(nil, v, nest)
}

// AppendJSON appends v in the dialect, byte for byte as Python's json.dumps with
// separators (',', ':') and ensure_ascii=False writes it (Autobahn's _dumps): compact, raw
// UTF-8, Python's escapes, floats as Python's repr (1.0, 1e+16, -0.0), binary as
// "\u0000"+base64. Dict keys come out sorted (a Go map has no order). nest says what v is,
// for the nesting limit. Values outside the dialect are a [*ValueError].
func AppendJSON(dst []byte, v any, nest Nest) ([]byte, error) {
	w := jsonWriter{buf: dst, limit: nest.limit()}
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

// AppendJSONList, AppendJSONDict and AppendJSONText are AppendJSON for a value of that
// type, byte for byte: for the writers that run once per event (a sealed plaintext, an
// output line), which would otherwise box the value in an interface, an allocation each
// time, since AppendJSON's value may reach the reflection-based normalize.
func AppendJSONList(dst []byte, l List, nest Nest) ([]byte, error) {
	w := jsonWriter{buf: dst, limit: nest.limit()}
	if err := w.list(l, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

// AppendJSONDict is AppendJSON for a Dict; see AppendJSONList.
func AppendJSONDict(dst []byte, d Dict, nest Nest) ([]byte, error) {
	w := jsonWriter{buf: dst, limit: nest.limit()}
	if err := w.dict(d, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

// AppendJSONText is AppendJSON for a string; see AppendJSONList.
func AppendJSONText(dst []byte, s string) ([]byte, error) {
	if err := checkText(s); err != nil {
		return dst, err
	}
	w := jsonWriter{buf: dst}
	w.string(s)
	return w.buf, nil
}

// ---- reading -------------------------------------------------------------------------

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonSyntax checks that b is exactly one JSON text and returns the deepest container
// level in it. It keeps its own stack of open containers instead of recursing, so any
// nesting is checked in constant stack space before anything is built; that is what lets
// the command line tell a deep but well-formed argument (refused) from text that merely
// starts with brackets (a string).
func jsonSyntax(b []byte) (int, error) {
	end, deepest, err := scanJSONValue(b, 0)
	if err != nil {
		return 0, err
	}
	i := end
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i != len(b) {
		return 0, &SyntaxError{i, "data after the value"}
	}
	return deepest, nil
}

// scanJSONValue checks the syntax of the JSON value starting at b[i] (after optional
// white space) and returns where it ends and its deepest container level, without
// recursing (see jsonSyntax).
func scanJSONValue(b []byte, i int) (end, deepest int, err error) {
	var stack []byte // '[' or '{' per open container
	space := func() {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
	}
	fail := func(msg string) (int, int, error) {
		if i >= len(b) {
			return 0, 0, &SyntaxError{len(b), "unexpected end of input"}
		}
		return 0, 0, &SyntaxError{i, msg}
	}
	// key reads `"…" :` inside an object.
	key := func() bool {
		space()
		if i >= len(b) || b[i] != '"' {
			return false
		}
		n, ok := scanString(b[i:])
		if !ok {
			return false
		}
		i += n
		space()
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i++
		return true
	}
	open := func(c byte) {
		stack = append(stack, c)
		deepest = max(deepest, len(stack))
		i++
	}
	needValue := true
	for {
		if needValue {
			space()
			if i >= len(b) {
				return fail("")
			}
			switch c := b[i]; {
			case c == '[':
				open('[')
				if space(); i < len(b) && b[i] == ']' {
					i++
					stack = stack[:len(stack)-1]
					needValue = false
				}
				continue
			case c == '{':
				open('{')
				if space(); i < len(b) && b[i] == '}' {
					i++
					stack = stack[:len(stack)-1]
					needValue = false
				} else if !key() {
					return fail("expected a string key")
				}
				continue
			case c == '"':
				n, ok := scanString(b[i:])
				if !ok {
					return fail("bad string")
				}
				i += n
			case c == '-' || '0' <= c && c <= '9':
				n := scanNumber(b[i:])
				if n == 0 {
					return fail("bad number")
				}
				i += n
			default:
				n := scanLiteral(b[i:])
				if n == 0 {
					return fail("unexpected character")
				}
				i += n
			}
			needValue = false
		}
		if len(stack) == 0 {
			return i, deepest, nil
		}
		space()
		if i >= len(b) {
			return fail("")
		}
		top := stack[len(stack)-1]
		switch c := b[i]; {
		case c == ',':
			i++
			if top == '{' && !key() {
				return fail("expected a string key")
			}
			needValue = true
		case c == ']' && top == '[', c == '}' && top == '{':
			i++
			stack = stack[:len(stack)-1]
		default:
			return fail("expected ',' or the end of the list or object")
		}
	}
}

// scanString returns the length of the JSON string at the start of b (which starts with
// '"'), checking only its syntax: escapes and no raw control characters.
func scanString(b []byte) (int, bool) {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			i++
			if i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return 0, false
					}
				}
				i += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

// jsonPlain marks the bytes that stand for themselves inside a JSON string: all but the
// quote, the backslash and the control characters.
var jsonPlain = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// plainRun returns where the run of plain bytes (jsonPlain) that starts at b[i] ends, and
// whether they are all ASCII (then they are UTF-8 without a further look). It tests eight
// bytes at a time: a word holds a byte below 0x20, a quote or a backslash exactly when
// the classic "has a zero byte" test finds one in the word itself or in the word XORed
// with that byte repeated; the byte loop then finds which. The reader runs it over its
// input, the writer over a string to find the first byte to escape.
func plainRun[T string | []byte](b T, i int) (int, bool) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	var seen uint64 // every byte passed, ORed: its high bits say whether one was not ASCII
	for ; i+8 <= len(b); i += 8 {
		w := b[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q, bs := x^(ones*'"'), x^(ones*'\\')
		if ((x-ones*0x20)&^x|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
		seen |= x
	}
	for ; i < len(b) && jsonPlain[b[i]]; i++ {
		seen |= uint64(b[i])
	}
	return i, seen&highs == 0
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber returns the length of the JSON number at the start of b, 0 if there is none:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, the grammar of RFC 8259 and of Python's
// json module. NaN and Infinity, which Python also reads and writes, are not JSON.
func scanNumber(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

func scanLiteral(b []byte) int {
	for _, lit := range []string{"true", "false", "null"} {
		if len(b) >= len(lit) && string(b[:len(lit)]) == lit {
			return len(lit)
		}
	}
	return 0
}

// jsonReader builds a value from JSON text. With a limit it checks the syntax as it goes
// and refuses containers nested deeper than limit, so that any text is read in bounded
// stack; without one it reads only text jsonSyntax accepted (whose nesting is known) and
// still reports anything unexpected rather than panic.
type jsonReader struct {
	b     []byte
	i     int
	limit int // deepest container level allowed; 0: checked before (jsonSyntax)
}

func (r *jsonReader) space() {
	for r.i < len(r.b) && isSpace(r.b[r.i]) {
		r.i++
	}
}

func (r *jsonReader) syntax() error {
	return &SyntaxError{r.i, "unexpected input"}
}

// value reads the value at r.i, which sits inside depth containers.
func (r *jsonReader) value(depth int) (any, error) {
	r.space()
	if r.i >= len(r.b) {
		return nil, r.syntax()
	}
	switch c := r.b[r.i]; {
	case c == '[':
		if r.limit > 0 && depth >= r.limit {
			return nil, valueErr(ErrTooDeep)
		}
		r.i++
		if r.space(); r.i < len(r.b) && r.b[r.i] == ']' {
			r.i++
			return []any{}, nil
		}
		// The elements are gathered on the stack (most lists are short), so that the
		// list is allocated once, at its length.
		var small [8]any
		elems := small[:0]
		for {
			v, err := r.value(depth + 1)
			if err != nil {
				return nil, err
			}
			elems = append(elems, v)
			r.space()
			if r.i >= len(r.b) {
				return nil, r.syntax()
			}
			r.i++
			switch r.b[r.i-1] {
			case ',':
			case ']':
				return append(make([]any, 0, len(elems)), elems...), nil
			default:
				return nil, r.syntax()
			}
		}
	case c == '{':
		if r.limit > 0 && depth >= r.limit {
			return nil, valueErr(ErrTooDeep)
		}
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
			v, err := r.value(depth + 1)
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
		num := r.b[r.i : r.i+n]
		r.i += n
		if v, ok := smallInt(num); ok {
			return v, nil
		}
		return parseNumber(string(num))
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

// knownText reads, after any space, a JSON string that is k written without escapes, and
// reports whether it did; otherwise only space is read. Such a string is what text would
// return as k, UTF-8 checked the same way.
func (r *jsonReader) knownText(k string) bool {
	r.space()
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return false
	}
	start := r.i
	if s, ok := r.plainString(); ok && string(s) == k {
		return true
	}
	r.i = start
	return false
}

// plainString reads the JSON string at r.i (its opening quote) when it has no escapes and
// is UTF-8, as most strings are, and returns its bytes (r.b's own, to be copied if kept).
// Otherwise it reports false and reads nothing, and text reads the string the long way
// and says what is wrong with it. The one fast path of text, knownText and
// UnmarshalJSONFields' keys.
func (r *jsonReader) plainString() ([]byte, bool) {
	j, ascii := plainRun(r.b, r.i+1)
	if j >= len(r.b) || r.b[j] != '"' {
		return nil, false
	}
	s := r.b[r.i+1 : j]
	if !ascii && !utf8.Valid(s) {
		return nil, false
	}
	r.i = j + 1
	return s, true
}

// text reads a JSON string, r.b[r.i] being its opening quote. Raw bytes must be UTF-8 and
// \u escapes must form Unicode scalar values: an escaped lone surrogate (which Python's
// json accepts, then cannot encode) is not text.
func (r *jsonReader) text() (string, error) {
	if s, ok := r.plainString(); ok {
		return text(s), nil
	}
	start := r.i
	r.i++
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

// smallInt reads a JSON number that scanNumber accepted when it is an integer of at most
// 18 digits, which int64 holds whatever they are: what parseNumber returns for it,
// without its string.
func smallInt(num []byte) (int64, bool) {
	digits := num
	if num[0] == '-' {
		digits = num[1:]
	}
	if len(digits) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if !isDigit(c) {
			return 0, false // a fraction or an exponent: a float
		}
		n = n*10 + int64(c-'0')
	}
	if num[0] == '-' {
		n = -n
	}
	return n, true
}

func (r *jsonReader) hex4() (uint16, bool) {
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
func (r *jsonReader) lowSurrogate() (rune, bool) {
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

func (r *jsonReader) badUTF8(start int) error {
	return valueErrf(ErrInvalidUTF8, "%s (the string at byte %d)", ErrInvalidUTF8, start)
}

// ---- writing -------------------------------------------------------------------------

type jsonWriter struct {
	buf   []byte
	limit int
}

func (w *jsonWriter) value(v any, depth int) error {
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
		return w.list(x, depth)
	case map[string]any:
		return w.dict(x, depth)
	default:
		n, err := normalize(v, depth, w.limit)
		if err != nil {
			return err
		}
		return w.value(n, depth)
	}
	return nil
}

// list writes a list that sits inside depth containers.
func (w *jsonWriter) list(x []any, depth int) error {
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
	return nil
}

// dict writes a dict that sits inside depth containers, its keys sorted.
func (w *jsonWriter) dict(x map[string]any, depth int) error {
	if depth >= w.limit {
		return valueErr(ErrTooDeep)
	}
	var small [8]dictEntry // the entries of most dicts, sorted without an allocation
	w.buf = append(w.buf, '{')
	for i, kv := range appendSortedEntries(small[:0], x) {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		if err := checkKey(kv.k); err != nil {
			return err
		}
		w.string(kv.k)
		w.buf = append(w.buf, ':')
		if err := w.value(kv.v, depth+1); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, '}')
	return nil
}

// float writes f as Python's repr does (float_repr_style "short"): the shortest digits
// that read back as f, in positional notation when the decimal exponent is from -4 to
// 15, else as d.ddde±XX; a positional integral value keeps ".0" so that it reads back
// as a float, not an integer.
func (w *jsonWriter) float(f float64) error {
	if err := checkFloat(f); err != nil {
		return err
	}
	w.buf = appendPyFloat(w.buf, f)
	return nil
}

// appendPyFloat appends finite f as jsonWriter.float writes it. A function of its buffer
// rather than a method, so that a caller's stack buffer stays on the stack.
func appendPyFloat(buf []byte, f float64) []byte {
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	// The exponent: what follows 'e', a sign and at least two digits.
	i := slices.Index(e, 'e')
	exp := 0
	for _, c := range e[i+2:] {
		exp = exp*10 + int(c-'0')
	}
	if e[i+1] == '-' {
		exp = -exp
	}
	if exp < -4 || exp >= 16 {
		return append(buf, e...)
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, 'f', -1, 64)
	if !slices.Contains(buf[start:], '.') {
		buf = append(buf, ".0"...)
	}
	return buf
}

// string writes a JSON string the way Python's json.dumps(ensure_ascii=False) does:
// non-ASCII stays raw UTF-8; quote, backslash and control characters are escaped. s has
// been checked to be UTF-8.
func (w *jsonWriter) string(s string) {
	const hex = "0123456789abcdef"
	w.buf = append(w.buf, '"')
	// Most strings need no escape: plainRun finds the first byte that does (or the end)
	// eight bytes at a time, and what precedes it is copied in one go.
	first, _ := plainRun(s, 0)
	start := 0 // s[start:i] is still to be copied as it is
	for i := first; i < len(s); i++ {
		c := s[i]
		if jsonPlain[c] {
			continue
		}
		w.buf = append(w.buf, s[start:i]...)
		start = i + 1
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
			w.buf = append(w.buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	w.buf = append(w.buf, s[start:]...)
	w.buf = append(w.buf, '"')
}

func sortedKeys(m map[string]any) []string {
	return appendSortedKeys(make([]string, 0, len(m)), m)
}

// appendSortedKeys appends m's keys to keys, sorted.
func appendSortedKeys(keys []string, m map[string]any) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
