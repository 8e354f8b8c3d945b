package wamp

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// msgpackSerializer implements wamp.2.msgpack (binary frames).
//
// Binary values are msgpack bin and text is msgpack str, as Autobahn packs them
// (use_bin_type=True) and expects them (raw=False): a str where bytes are required is
// rejected by Autobahn (wire.md §1.7, §5.1). Integers use the smallest encoding, with
// positive values as uint like Python's msgpack; floats are always float64; dict keys are
// sorted. Reading walks the stream item by item with the library's primitives, so it
// yields exactly the value model, refuses extension types and non-string dict keys, and
// checks every declared length against the bytes left before allocating. Both directions
// apply the package's value dialect: no NaN or infinities, UTF-8 text not starting with
// U+0000, at most [MaxDepth] levels per value.
type msgpackSerializer struct{}

func (msgpackSerializer) Name() string        { return SerializerMsgPack }
func (msgpackSerializer) Subprotocol() string { return SubprotocolMsgPack }
func (msgpackSerializer) Binary() bool        { return true }

func (msgpackSerializer) Marshal(m Message) ([]byte, error) {
	l, err := ToList(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := msgpackWrite(enc, l, 0, NestMessage.limit()); err != nil {
		return nil, fmt.Errorf("encoding %v in MessagePack: %w", m.MessageType(), err)
	}
	return buf.Bytes(), nil
}

func msgpackWrite(e *msgpack.Encoder, v any, depth, limit int) error {
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
			if err := msgpackWrite(e, el, depth+1, limit); err != nil {
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
			if err := msgpackWrite(e, x[k], depth+1, limit); err != nil {
				return err
			}
		}
		return nil
	}
	n, err := normalize(v, depth, limit)
	if err != nil {
		return err
	}
	return msgpackWrite(e, n, depth, limit)
}

func (msgpackSerializer) Unmarshal(b []byte) (Message, error) {
	r := bytes.NewReader(b)
	d := msgpackReader{r: r, dec: msgpack.NewDecoder(r), limit: NestMessage.limit()}
	v, err := d.value(0)
	if err != nil {
		if isValueError(err) {
			if m, ok, lerr := unmarshalMsgpackLenient(b); ok {
				return m, lerr
			}
		}
		return nil, err
	}
	if r.Len() != 0 {
		return nil, protoErrf("msgpack: %d bytes after the message", r.Len())
	}
	return unmarshalList(SerializerMsgPack, v)
}

// unmarshalMsgpackLenient decodes a frame whose strict decoding met a value outside the
// dialect, element by element (refused.go). ok is false when the frame is not an array.
func unmarshalMsgpackLenient(b []byte) (m Message, ok bool, err error) {
	elems, ok, err := msgpackElements(b)
	if !ok || err != nil {
		return nil, ok, err
	}
	m, err = lenientMessage(SerializerMsgPack, b, elems, func(s span) (any, error) {
		r := bytes.NewReader(b[s.start:s.end])
		d := msgpackReader{r: r, dec: msgpack.NewDecoder(r), limit: NestPayload.limit()}
		return d.value(0)
	}, msgpackKind)
	return m, true, err
}

// msgpackReader reads from a bytes.Reader, which the msgpack decoder uses directly
// (it implements io.ByteScanner), so r.Len() is always the number of unread bytes.
type msgpackReader struct {
	r     *bytes.Reader
	dec   *msgpack.Decoder
	limit int // deepest container level allowed
}

func (d *msgpackReader) fail(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return protoErrf("msgpack: truncated message")
	}
	return protoErrf("msgpack: %v", err)
}

// value reads one item that sits inside depth containers.
func (d *msgpackReader) value(depth int) (any, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, d.fail(err)
	}
	switch {
	case c == msgpcode.Nil:
		return nil, d.wrap(d.dec.DecodeNil())
	case c == msgpcode.True || c == msgpcode.False:
		v, err := d.dec.DecodeBool()
		return v, d.wrap(err)
	case c == msgpcode.Uint64:
		u, err := d.dec.DecodeUint64()
		if err != nil {
			return nil, d.fail(err)
		}
		return fromUint64(u), nil
	case msgpcode.IsFixedNum(c), c == msgpcode.Int8, c == msgpcode.Int16, c == msgpcode.Int32,
		c == msgpcode.Int64, c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32:
		n, err := d.dec.DecodeInt64()
		return n, d.wrap(err)
	case c == msgpcode.Float, c == msgpcode.Double:
		var f float64
		if c == msgpcode.Float {
			f32, err := d.dec.DecodeFloat32()
			if err != nil {
				return nil, d.fail(err)
			}
			f = float64(f32)
		} else if f, err = d.dec.DecodeFloat64(); err != nil {
			return nil, d.fail(err)
		}
		if err := checkFloat(f); err != nil {
			return nil, protoWrap(err, SerializerMsgPack)
		}
		return f, nil
	case msgpcode.IsString(c):
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		if len(s) > 0 && s[0] == 0 {
			return nil, protoWrap(valueErr(ErrBinaryText), "msgpack: str")
		}
		return s, nil
	case msgpcode.IsBin(c):
		return d.raw()
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		if depth >= d.limit {
			return nil, protoWrap(valueErr(ErrTooDeep), SerializerMsgPack)
		}
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return nil, d.fail(err)
		}
		if n < 0 || n > d.r.Len() { // every element takes at least one byte
			return nil, protoErrf("msgpack: array length %d exceeds the message", n)
		}
		l := make([]any, n)
		for i := range l {
			if l[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return l, nil
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		if depth >= d.limit {
			return nil, protoWrap(valueErr(ErrTooDeep), SerializerMsgPack)
		}
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return nil, d.fail(err)
		}
		if n < 0 || n > d.r.Len()/2 {
			return nil, protoErrf("msgpack: map length %d exceeds the message", n)
		}
		m := make(map[string]any, n)
		for range n {
			kc, err := d.dec.PeekCode()
			if err != nil {
				return nil, d.fail(err)
			}
			if !msgpcode.IsString(kc) {
				return nil, protoWrap(valueErrf(ErrUnsupported, "dict key must be a str, got code 0x%02x", kc), SerializerMsgPack)
			}
			k, err := d.str() // a key may start with U+0000: keys are never binary
			if err != nil {
				return nil, err
			}
			if m[k], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	if msgpcode.IsExt(c) {
		return nil, protoWrap(valueErrf(ErrUnsupported, "extension type (code 0x%02x) is not a WAMP value", c), SerializerMsgPack)
	}
	return nil, protoErrf("msgpack: unsupported type code 0x%02x", c)
}

// str reads a str, which must be UTF-8.
func (d *msgpackReader) str() (string, error) {
	b, err := d.raw()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", protoWrap(valueErr(ErrInvalidUTF8), "msgpack: str")
	}
	return string(b), nil
}

// raw reads a str or bin body after checking its declared length against what is left.
func (d *msgpackReader) raw() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, d.fail(err)
	}
	if n < 0 || n > d.r.Len() {
		return nil, protoErrf("msgpack: length %d exceeds the message", n)
	}
	b := make([]byte, n)
	if err := d.dec.ReadFull(b); err != nil {
		return nil, d.fail(err)
	}
	return b, nil
}

func (d *msgpackReader) wrap(err error) error {
	if err != nil {
		return d.fail(err)
	}
	return nil
}
