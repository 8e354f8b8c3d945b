package wamp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file holds what the three serializers share for refused payloads (package comment,
// "Refused payloads"): when a frame's strict decoding meets a value outside the dialect,
// the serializer splits the frame into its top-level elements (without building anything,
// and without recursing into them, so that no nesting can exhaust the stack), decodes them
// one at a time, and lets lenientList put a *refusedValue in place of a payload element it
// cannot read. FromList then turns that into Payload.Err. Frames that decode strictly never
// come here: the extra work is only ever done for a frame that would otherwise have
// failed.

// ErrPayloadRefused: a received message is a well-formed WAMP message, but its Arguments
// or ArgumentsKw hold a value outside the dialect, so the payload was not read. Every
// [*PayloadError] is one.
var ErrPayloadRefused = errors.New("the payload holds a value that cannot be carried exactly")

// PayloadError is [Payload].Err: why a received payload was refused. Value says which
// value; errors.Is finds both [ErrPayloadRefused] and the Value's reason (ErrIntegerRange,
// …), so callers tell it apart from a sealed payload that failed to open.
type PayloadError struct {
	Value *ValueError
}

func (e *PayloadError) Error() string { return ErrPayloadRefused.Error() + ": " + e.Value.Msg }

// Unwrap gives [ErrPayloadRefused] and the *ValueError.
func (e *PayloadError) Unwrap() []error { return []error{ErrPayloadRefused, e.Value} }

// Reason is the error's text without any data of the value (the Err* reason alone), for a
// reply to the peer that sent it.
func (e *PayloadError) Reason() string {
	return ErrPayloadRefused.Error() + ": " + e.Value.Kind.Error()
}

// valueKind is the shape of a refused element, which FromList still checks: Arguments must
// be a list and ArgumentsKw a dict whether or not their contents can be read.
type valueKind int

const (
	kindScalar valueKind = iota
	kindList
	kindDict
)

// refusedValue stands, in the list form of a frame, for a payload element holding a value
// outside the dialect. Only lenientList makes one, and only FromList's payload slot reads it.
type refusedValue struct {
	kind valueKind
	err  *ValueError
}

// span is one top-level element of a frame: b[start:end]. depth is its deepest container
// level (1 for a list or dict holding only scalars) where the splitter measures it.
type span struct {
	start, end int
	depth      int
}

// payloadIndex is the position of the Arguments element in a message of type t, or 0 for a
// type that has no payload (basic/messages.md; the layouts in message.go).
func payloadIndex(t MessageType) int {
	switch t {
	case PUBLISH, EVENT, CALL, INVOCATION:
		return 4
	case RESULT, YIELD:
		return 3
	case ERROR:
		return 5
	}
	return 0
}

// lenientList decodes the n top-level elements of a frame one by one: decode(i) returns
// element i, kind(i) its shape. An element from the payload position on (Arguments,
// ArgumentsKw) that holds a value outside the dialect becomes a *refusedValue; anywhere
// else, or for any other error, the error is returned, since a message whose own fields
// cannot be read cannot be trusted at all.
func lenientList(n int, decode func(i int) (any, error), kind func(i int) valueKind) (List, error) {
	l := make(List, n)
	at := 0 // payload position, once the message type is known
	for i := range n {
		v, err := decode(i)
		if err != nil {
			var ve *ValueError
			if at == 0 || i < at || !errors.As(err, &ve) {
				return nil, err
			}
			v = &refusedValue{kind: kind(i), err: ve}
		}
		l[i] = v
		if i == 0 {
			if code, ok := toInt64(v); ok {
				at = payloadIndex(MessageType(code))
			}
		}
	}
	return l, nil
}

// isValueError reports whether a strict decoding failed because of a value outside the
// dialect, the only failure worth a second, lenient look.
func isValueError(err error) bool {
	var ve *ValueError
	return errors.As(err, &ve)
}

// ---- msgpack -------------------------------------------------------------------------

// msgpackElements splits a msgpack frame into the elements of its top-level array,
// checking only that each is well-formed msgpack. ok is false when the frame is not an
// array at all.
func msgpackElements(b []byte) (elems []span, ok bool, err error) {
	if len(b) == 0 {
		return nil, false, nil
	}
	c := b[0]
	i := 1
	var n uint64
	switch {
	case c >= 0x90 && c <= 0x9f:
		n = uint64(c & 0x0f)
	case c == 0xdc || c == 0xdd:
		var w int
		if n, w, err = msgpackLen(b, i, c == 0xdd); err != nil {
			return nil, true, err
		}
		i += w
	default:
		return nil, false, nil
	}
	if n > uint64(len(b)-i) {
		return nil, true, protoErrf("msgpack: array length %d exceeds the message", n)
	}
	for range n {
		end, err := msgpackSkip(b, i)
		if err != nil {
			return nil, true, err
		}
		elems = append(elems, span{start: i, end: end})
		i = end
	}
	if i != len(b) {
		return nil, true, protoErrf("msgpack: %d bytes after the message", len(b)-i)
	}
	return elems, true, nil
}

// msgpackLen reads a 16- or 32-bit big-endian length at b[i:].
func msgpackLen(b []byte, i int, wide bool) (n uint64, width int, err error) {
	width = 2
	if wide {
		width = 4
	}
	if len(b)-i < width {
		return 0, 0, protoErrf("msgpack: truncated message")
	}
	if wide {
		return uint64(binary.BigEndian.Uint32(b[i:])), width, nil
	}
	return uint64(binary.BigEndian.Uint16(b[i:])), width, nil
}

// msgpackSkip returns the end of the msgpack item starting at b[i], checking only that it
// is well-formed (every length within the frame, no reserved code). It keeps one count of
// the items still to read instead of recursing, so any nesting takes constant space.
func msgpackSkip(b []byte, i int) (int, error) {
	truncated := protoErrf("msgpack: truncated message")
	pending := uint64(1)
	for pending > 0 {
		if i >= len(b) {
			return 0, truncated
		}
		c := b[i]
		i++
		pending--
		var body, items uint64 // bytes of payload to skip, items to read
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			items = 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			items = uint64(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			body = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9: // bin8, str8
			if i >= len(b) {
				return 0, truncated
			}
			body = uint64(b[i])
			i++
		case c == 0xc5 || c == 0xc6 || c == 0xda || c == 0xdb: // bin16/32, str16/32
			n, w, err := msgpackLen(b, i, c == 0xc6 || c == 0xdb)
			if err != nil {
				return 0, err
			}
			body, i = n, i+w
		case c == 0xc7: // ext8: length, type, data
			if i >= len(b) {
				return 0, truncated
			}
			body = uint64(b[i]) + 1
			i++
		case c == 0xc8 || c == 0xc9: // ext16/32
			n, w, err := msgpackLen(b, i, c == 0xc9)
			if err != nil {
				return 0, err
			}
			body, i = n+1, i+w
		case c == 0xca, c == 0xce, c == 0xd2: // float32, uint32, int32
			body = 4
		case c == 0xcb, c == 0xcf, c == 0xd3: // float64, uint64, int64
			body = 8
		case c == 0xcc, c == 0xd0: // uint8, int8
			body = 1
		case c == 0xcd, c == 0xd1: // uint16, int16
			body = 2
		case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16: type + data
			body = 1 + 1<<(c-0xd4)
		case c == 0xdc || c == 0xdd: // array16/32
			n, w, err := msgpackLen(b, i, c == 0xdd)
			if err != nil {
				return 0, err
			}
			items, i = n, i+w
		case c == 0xde || c == 0xdf: // map16/32
			n, w, err := msgpackLen(b, i, c == 0xdf)
			if err != nil {
				return 0, err
			}
			items, i = 2*n, i+w
		default: // 0xc1, never used
			return 0, protoErrf("msgpack: unsupported type code 0x%02x", c)
		}
		if body > uint64(len(b)-i) {
			return 0, protoErrf("msgpack: length %d exceeds the message", body)
		}
		i += int(body)
		// Every item takes at least one byte.
		if pending += items; pending > uint64(len(b)-i) {
			return 0, protoErrf("msgpack: array or map length exceeds the message")
		}
	}
	return i, nil
}

func msgpackKind(c byte) valueKind {
	switch {
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		return kindList
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		return kindDict
	}
	return kindScalar
}

// ---- CBOR ----------------------------------------------------------------------------

// maxIndefinite bounds how deeply indefinite-length arrays, maps and strings may nest
// inside each other in a frame the lenient splitter reads: each such level costs it a
// counter. No frame that decodes at all nests deeper than NestMessage's limit, and
// cbor2 (Autobahn) never writes indefinite lengths.
var maxIndefinite = NestMessage.limit()

// cborElements splits a CBOR frame into the elements of its top-level array (definite or
// indefinite length), checking only that each is well-formed CBOR (RFC 8949 §3,
// Appendix C). ok is false when the frame is not an array at all.
func cborElements(b []byte) (elems []span, ok bool, err error) {
	if len(b) == 0 || b[0]>>5 != 4 {
		return nil, false, nil
	}
	n, i, indefinite, err := cborHead(b, 0)
	if err != nil {
		return nil, true, err
	}
	for k := uint64(0); indefinite || k < n; k++ {
		if indefinite {
			if i >= len(b) {
				return nil, true, protoErrf("cbor: truncated message")
			}
			if b[i] == 0xff {
				i++
				break
			}
		}
		end, err := cborSkip(b, i)
		if err != nil {
			return nil, true, err
		}
		elems = append(elems, span{start: i, end: end})
		i = end
	}
	if i != len(b) {
		return nil, true, protoErrf("cbor: %d bytes after the message", len(b)-i)
	}
	return elems, true, nil
}

// cborHead reads the head of the data item at b[i]: its argument n (a length or a value)
// and where its content starts; indefinite is true for additional information 31.
func cborHead(b []byte, i int) (n uint64, next int, indefinite bool, err error) {
	if i >= len(b) {
		return 0, 0, false, protoErrf("cbor: truncated message")
	}
	ai := b[i] & 0x1f
	i++
	switch {
	case ai < 24:
		return uint64(ai), i, false, nil
	case ai <= 27:
		w := 1 << (ai - 24)
		if len(b)-i < w {
			return 0, 0, false, protoErrf("cbor: truncated message")
		}
		for _, c := range b[i : i+w] {
			n = n<<8 | uint64(c)
		}
		return n, i + w, false, nil
	case ai == 31:
		return 0, i, true, nil
	}
	return 0, 0, false, protoErrf("cbor: reserved additional information %d", ai)
}

// cborSkip returns the end of the CBOR data item starting at b[i], checking only that it is
// well-formed. Items still owed to definite-length arrays and maps are one count per
// enclosing indefinite-length container (or the top), not one per level, so definite
// nesting of any depth takes constant space; indefinite-length nesting is bounded by
// maxIndefinite.
func cborSkip(b []byte, i int) (int, error) {
	// owed[len-1] counts the items still to read in the current run of definite-length
	// containers; each entry below it belongs to an open indefinite-length container,
	// which ends with a break once its own count is zero.
	owed := []uint64{1}
	for {
		top := len(owed) - 1
		if owed[top] == 0 && top == 0 {
			return i, nil
		}
		if i >= len(b) {
			return 0, protoErrf("cbor: truncated message")
		}
		if b[i] == 0xff { // break
			if top == 0 || owed[top] != 0 {
				return 0, protoErrf("cbor: unexpected break")
			}
			owed = owed[:top]
			i++
			continue
		}
		if owed[top] > 0 {
			owed[top]--
		}
		major, ai := b[i]>>5, b[i]&0x1f
		n, next, indefinite, err := cborHead(b, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch major {
		case 0, 1: // integers
			if indefinite {
				return 0, protoErrf("cbor: indefinite-length integer")
			}
		case 2, 3: // byte and text strings
			if !indefinite {
				if n > uint64(len(b)-i) {
					return 0, protoErrf("cbor: string length %d exceeds the message", n)
				}
				i += int(n)
				continue
			}
			// Definite-length chunks of the same major type, then a break.
			for {
				if i >= len(b) {
					return 0, protoErrf("cbor: truncated message")
				}
				if b[i] == 0xff {
					i++
					break
				}
				if b[i]>>5 != major {
					return 0, protoErrf("cbor: bad chunk in an indefinite-length string")
				}
				cn, cnext, cind, err := cborHead(b, i)
				if err != nil {
					return 0, err
				}
				if cind || cn > uint64(len(b)-cnext) {
					return 0, protoErrf("cbor: bad chunk in an indefinite-length string")
				}
				i = cnext + int(cn)
			}
		case 4, 5: // arrays and maps
			if major == 5 {
				n *= 2
			}
			if indefinite {
				if len(owed) > maxIndefinite {
					return 0, protoErrf("cbor: indefinite-length containers nested deeper than %d", maxIndefinite)
				}
				owed = append(owed, 0)
				continue
			}
			// Every item takes at least one byte.
			if n > uint64(len(b)-i) || owed[top]+n > uint64(len(b)-i) {
				return 0, protoErrf("cbor: array or map length exceeds the message")
			}
			owed[top] += n
		case 6: // a tag: its content is the item that follows
			if indefinite {
				return 0, protoErrf("cbor: indefinite-length tag")
			}
			owed[top]++
		case 7: // simple values and floats; the head already held their bytes
			if indefinite {
				return 0, protoErrf("cbor: unexpected break")
			}
			if ai == 24 && n < 32 {
				return 0, protoErrf("cbor: simple value %d in two bytes", n)
			}
		}
	}
}

func cborKind(c byte) valueKind {
	switch c >> 5 {
	case 4:
		return kindList
	case 5:
		return kindDict
	}
	return kindScalar
}

// ---- JSON ----------------------------------------------------------------------------

// jsonElements splits a JSON text, which jsonSyntax has accepted, into the elements of its
// top-level array, with each one's nesting depth. ok is false when the text is not an
// array.
func jsonElements(b []byte) (elems []span, ok bool, err error) {
	i := 0
	space := func() {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
	}
	space()
	if i >= len(b) || b[i] != '[' {
		return nil, false, nil
	}
	i++
	space()
	if i < len(b) && b[i] == ']' {
		return nil, true, nil
	}
	for {
		space()
		start := i
		end, depth, err := scanJSONValue(b, i)
		if err != nil {
			return nil, true, err
		}
		elems = append(elems, span{start: start, end: end, depth: depth})
		i = end
		space()
		if i >= len(b) {
			return nil, true, &SyntaxError{i, "unexpected end of input"}
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return elems, true, nil
		default:
			return nil, true, &SyntaxError{i, "expected ',' or the end of the list"}
		}
	}
}

func jsonKind(c byte) valueKind {
	switch c {
	case '[':
		return kindList
	case '{':
		return kindDict
	}
	return kindScalar
}

// lenientMessage finishes the lenient decoding shared by the serializers: elems are the
// frame's top-level elements, decode reads one, kind tells its shape from its first byte.
func lenientMessage(name string, b []byte, elems []span, decode func(s span) (any, error), kind func(c byte) valueKind) (Message, error) {
	l, err := lenientList(len(elems), func(i int) (any, error) { return decode(elems[i]) },
		func(i int) valueKind { return kind(b[elems[i].start]) })
	if err != nil {
		if IsProtocolError(err) {
			return nil, err
		}
		return nil, protoWrap(err, name)
	}
	return FromList(l)
}

// describeRefused is how FromList names a refused element in an error.
func describeRefused(r *refusedValue) string {
	shape := map[valueKind]string{kindScalar: "value", kindList: "list", kindDict: "dict"}[r.kind]
	return fmt.Sprintf("a %s holding a value outside the dialect (%s)", shape, r.err.Msg)
}
