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
// checks every declared length against the bytes left before allocating.
type msgpackSerializer struct{}

func (msgpackSerializer) Name() string        { return "msgpack" }
func (msgpackSerializer) Subprotocol() string { return "wamp.2.msgpack" }
func (msgpackSerializer) Binary() bool        { return true }

func (msgpackSerializer) Marshal(m Message) ([]byte, error) {
	l, err := Encode(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := msgpackWrite(enc, l, 0); err != nil {
		return nil, fmt.Errorf("encoding %v in MessagePack: %w", m.MessageType(), err)
	}
	return buf.Bytes(), nil
}

func msgpackWrite(e *msgpack.Encoder, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
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
		return e.EncodeFloat64(x)
	case string:
		if !utf8.ValidString(x) {
			return errInvalidUTF8
		}
		return e.EncodeString(x)
	case []byte:
		if x == nil {
			x = []byte{} // EncodeBytes writes nil as msgpack nil
		}
		return e.EncodeBytes(x)
	case []any:
		if err := e.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, el := range x {
			if err := msgpackWrite(e, el, depth+1); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if err := e.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, k := range sortedKeys(x) {
			if !utf8.ValidString(k) {
				return errInvalidUTF8
			}
			if err := e.EncodeString(k); err != nil {
				return err
			}
			if err := msgpackWrite(e, x[k], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	n, err := normalize(v, depth)
	if err != nil {
		return err
	}
	return msgpackWrite(e, n, depth)
}

func (msgpackSerializer) Unmarshal(b []byte) (Message, error) {
	r := bytes.NewReader(b)
	d := msgpackReader{r: r, dec: msgpack.NewDecoder(r)}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, protoErrf("msgpack: %d bytes after the message", r.Len())
	}
	return unmarshalList("msgpack", v)
}

// msgpackReader reads from a bytes.Reader, which the msgpack decoder uses directly
// (it implements io.ByteScanner), so r.Len() is always the number of unread bytes.
type msgpackReader struct {
	r   *bytes.Reader
	dec *msgpack.Decoder
}

func (d *msgpackReader) fail(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return protoErrf("msgpack: truncated message")
	}
	return protoErrf("msgpack: %v", err)
}

func (d *msgpackReader) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, protoErrf("msgpack: nested deeper than %d levels", maxDepth)
	}
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
	case c == msgpcode.Float:
		f, err := d.dec.DecodeFloat32()
		return float64(f), d.wrap(err)
	case c == msgpcode.Double:
		f, err := d.dec.DecodeFloat64()
		return f, d.wrap(err)
	case msgpcode.IsString(c):
		b, err := d.raw()
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			return nil, protoErrf("msgpack: str is not valid UTF-8")
		}
		return string(b), nil
	case msgpcode.IsBin(c):
		return d.raw()
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
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
				return nil, protoErrf("msgpack: dict key must be a str, got code 0x%02x", kc)
			}
			k, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if m[k.(string)], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, protoErrf("msgpack: unsupported type code 0x%02x", c)
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
