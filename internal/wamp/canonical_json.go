package wamp

import (
	"bytes"
	"unicode/utf8"
)

// CanonicalJSONList reports whether b is a JSON array that UnmarshalJSON(b, nest) reads
// as a list l, without error, that AppendJSONList(nil, l, nest) writes back byte for byte.
// Such a text means the same thing read and written again as it does copied, so a command
// whose input and output are JSON (a --stdin line, a sealed plaintext, subscribe's line)
// can carry it on as it is instead of building its values and writing them out again.
//
// False says only that b must take the long way (read into values, and refused or
// written from them): the check accepts the part of the written form that lines and
// plaintexts hold in practice, and leaves the rest to the reader. Accepted: no white
// space; text without escapes (bytes that stand for themselves, UTF-8, which the writer
// copies); integers of at most 18 digits (smallInt's int64, written back by
// strconv) without a leading zero, and not "-0" (read as 0, written "0"); true, false,
// null; lists; dicts whose keys are such texts in strictly increasing byte order (the
// writer sorts keys, and a repeated key reads as one entry); containers no deeper than
// nest allows, by the reader's and the writer's count. Floats (written as Python's
// repr, not as given), escapes and longer integers take the long way.
// FuzzCanonicalJSONList holds the promise for any input.
func CanonicalJSONList(b []byte, nest Nest) bool {
	if len(b) == 0 || b[0] != '[' {
		return false
	}
	s := canonicalScanner{b: b, limit: nest.limit()}
	return s.value(0) && s.i == len(b)
}

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
		_, ok := s.text()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		return s.integer()
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

// integer reads -?(0|[1-9][0-9]{0,17}), not "-0". What follows is the container's to
// check: a fraction, an exponent or a further digit after "0" is not one of its
// separators, so the text is refused there.
func (s *canonicalScanner) integer() bool {
	i := s.i
	neg := s.b[i] == '-'
	if neg {
		i++
	}
	if i >= len(s.b) || !isDigit(s.b[i]) {
		return false
	}
	if s.b[i] == '0' {
		if neg {
			return false
		}
		s.i = i + 1
		return true
	}
	start := i
	for i < len(s.b) && isDigit(s.b[i]) {
		i++
	}
	if i-start > 18 {
		return false
	}
	s.i = i
	return true
}
