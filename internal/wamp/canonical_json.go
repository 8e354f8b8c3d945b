package wamp

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// CanonicalJSONList reports whether b is a JSON array that UnmarshalJSON(b, nest) reads
// as a list l, without error, that AppendJSONList(nil, l, nest) writes back byte for byte.
// Such a text means the same thing read and written again as it does copied, so a command
// whose input and output are JSON (a --stdin line, a sealed plaintext, subscribe's line)
// can carry it on as it is instead of building its values and writing them out again.
//
// False says only that b must take the long way (read into values, and refused or
// written from them). Accepted: no white space; text of bytes that stand for themselves
// (UTF-8) and of the escapes the writer makes (\" \\ \n \r \t \b \f, and \u00xx in
// lower case for the other control characters; not \u0000 first, which makes a binary
// value); numbers written as the writer writes what the reader reads from them (an
// integer of at most 18 digits without a leading zero and not "-0" at once, any other
// read and written again: 1.0, 2.5, 1e+16 and -0.0 are, 1.50, 1e3 and 1E+16 are not);
// true, false, null; lists; dicts whose keys are text without escapes in strictly
// increasing byte order (the writer sorts keys, and a repeated key reads as one entry);
// containers no deeper than nest allows, by the reader's and the writer's count. Binary
// values and keys with escapes take the long way. FuzzCanonicalJSONList holds the
// promise for any input.
func CanonicalJSONList(b []byte, nest Nest) bool {
	if len(b) == 0 || b[0] != '[' {
		return false
	}
	s := canonicalScanner{b: b, limit: nest.limit()}
	return s.value(0) && s.i == len(b)
}

// ErrNotCanonicalJSON is Session.PublishJSON's error for arguments that are not JSON text
// in canonical form (CanonicalJSONList): nothing was sent, so the caller may read them
// into values and publish those.
var ErrNotCanonicalJSON = errors.New("the arguments are not a JSON list in canonical form")

// PlainJSONText reports whether AppendJSONText writes s as itself between quotes: UTF-8
// without a byte JSON escapes (a quote, a backslash, a control character). Such a text
// reads back as s (it cannot start with U+0000, which would make it binary).
func PlainJSONText(s string) bool {
	j, ascii := plainRun(s, 0)
	return j == len(s) && (ascii || utf8.ValidString(s))
}

// canonicalScanner is CanonicalJSONList's reader. Its recursion is bounded by limit.
type canonicalScanner struct {
	b     []byte
	i     int
	limit int
}

// value reads the value at s.i, which sits inside depth containers.
func (s *canonicalScanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '[':
		if depth >= s.limit {
			return false
		}
		s.i++
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return true
		}
		for {
			if !s.value(depth+1) || s.i >= len(s.b) {
				return false
			}
			s.i++
			switch s.b[s.i-1] {
			case ',':
			case ']':
				return true
			default:
				return false
			}
		}
	case '{':
		if depth >= s.limit {
			return false
		}
		s.i++
		if s.i < len(s.b) && s.b[s.i] == '}' {
			s.i++
			return true
		}
		var prev []byte
		for first := true; ; first = false {
			k, ok := s.text()
			if !ok || !first && bytes.Compare(prev, k) >= 0 {
				return false
			}
			prev = k
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return false
			}
			s.i++
			if !s.value(depth+1) || s.i >= len(s.b) {
				return false
			}
			s.i++
			switch s.b[s.i-1] {
			case ',':
			case '}':
				return true
			default:
				return false
			}
		}
	case '"':
		return s.valueText()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

// text reads a string of plain bytes that are UTF-8 (jsonReader.plainString) and returns
// them. Such a string cannot start with U+0000 (a control character), so it is text, not
// binary.
func (s *canonicalScanner) text() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	r := jsonReader{b: s.b, i: s.i}
	t, ok := r.plainString()
	s.i = r.i
	return t, ok
}

func (s *canonicalScanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// valueText reads a string value that the writer writes as it stands: plain bytes that
// are UTF-8, and the writer's escapes (jsonWriter.string).
func (s *canonicalScanner) valueText() bool {
	if _, ok := s.text(); ok {
		return true
	}
	start := s.i + 1
	for i := start; ; {
		j, ascii := plainRun(s.b, i)
		if !ascii && !utf8.Valid(s.b[i:j]) || j >= len(s.b) {
			return false
		}
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return true
		case '\\':
			if j+1 >= len(s.b) {
				return false
			}
			switch s.b[j+1] {
			case '"', '\\', 'n', 'r', 't', 'b', 'f':
				i = j + 2
			case 'u':
				c, ok := writtenControl(s.b[j+2:])
				if !ok || c == 0 && j == start {
					return false // another escape, or binary
				}
				i = j + 6
			default:
				return false
			}
		default:
			return false // a raw control character: not JSON
		}
	}
}

// writtenControl reads the four hex digits of a \u escape the writer makes: 00xx in lower
// case for a control character without a short escape.
func writtenControl(h []byte) (byte, bool) {
	if len(h) < 4 || h[0] != '0' || h[1] != '0' || h[2] != '0' && h[2] != '1' {
		return 0, false
	}
	var lo byte
	switch d := h[3]; {
	case isDigit(d):
		lo = d - '0'
	case 'a' <= d && d <= 'f':
		lo = d - 'a' + 10
	default:
		return 0, false
	}
	c := (h[2]-'0')<<4 | lo
	switch c {
	case '\n', '\r', '\t', '\b', '\f':
		return 0, false // written \n, \r, …
	}
	return c, true
}

// number reads a number whose text is what the writer writes for the value the reader
// reads from it. An integer of at most 18 digits is when it is not "-0" (the grammar has
// no leading zeros); any other number is read (parseNumber's rules) and written again,
// and must come back the same.
func (s *canonicalScanner) number() bool {
	n := scanNumber(s.b[s.i:])
	if n == 0 {
		return false
	}
	tok := s.b[s.i : s.i+n]
	if v, ok := smallInt(tok); ok {
		if v == 0 && tok[0] == '-' {
			return false
		}
		s.i += n
		return true
	}
	str := string(tok)
	if !strings.ContainsAny(str, ".eE") {
		// An integer beyond smallInt's 18 digits comes back the same whenever the reader
		// takes it (the grammar has no leading zeros, and "-0" is short): it must fit in
		// parseNumber's range, checked by ParseInt for a negative one and by ParseUint
		// (which takes every non-negative int64) otherwise, so that a valid one builds
		// no error value.
		var err error
		if str[0] == '-' {
			_, err = strconv.ParseInt(str, 10, 64)
		} else {
			_, err = strconv.ParseUint(str, 10, 64)
		}
		if err != nil {
			return false
		}
	} else {
		// A float, read as the reader reads it and written as the writer writes it. What
		// the reader refuses does not come back the same: beyond the float64 range is an
		// error, and a number that would become 0 is written 0.0.
		f, err := strconv.ParseFloat(str, 64)
		var tmp [32]byte
		if err != nil || string(appendPyFloat(tmp[:0], f)) != str {
			return false
		}
	}
	s.i += n
	return true
}
