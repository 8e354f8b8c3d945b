package wamp

import "fmt"

// jsonSerializer implements wamp.2.json (text frames), in the JSON form of the package's
// value dialect ([UnmarshalJSON], [AppendJSON]): binary values travel as U+0000 followed by
// standard padded base64 at any depth (SPEC advanced/serialization_binary_json.md;
// Autobahn serializer.py, wire.md §1.7); the writer is our own rather than encoding/json
// so that nothing is HTML-escaped, integral floats keep a ".0" (Python writes 1.0;
// encoding/json would write 1, which reads back as an integer), control characters are
// escaped as Python's json module does, and dict keys come out sorted (deterministic
// frames).
type jsonSerializer struct{}

func (jsonSerializer) Name() string        { return SerializerJSON }
func (jsonSerializer) Subprotocol() string { return SubprotocolJSON }
func (jsonSerializer) Binary() bool        { return false }

func (jsonSerializer) Marshal(m Message) ([]byte, error) {
	l, err := ToList(m)
	if err != nil {
		return nil, err
	}
	b, err := AppendJSON(nil, l, NestMessage)
	if err != nil {
		return nil, fmt.Errorf("encoding %v in JSON: %w", m.MessageType(), err)
	}
	return b, nil
}

func (jsonSerializer) Unmarshal(b []byte) (Message, error) {
	v, err := UnmarshalJSON(b, NestMessage)
	if err != nil {
		if isValueError(err) {
			if m, ok, lerr := unmarshalJSONLenient(b); ok {
				return m, lerr
			}
		}
		return nil, protoWrap(err, SerializerJSON)
	}
	return unmarshalList(SerializerJSON, v)
}

// unmarshalJSONLenient decodes a JSON frame that is valid JSON but holds a value outside
// the dialect, element by element, refusing the payload rather than the message where
// that is where the value is (refused.go). ok is false when the frame is not a list.
func unmarshalJSONLenient(b []byte) (m Message, ok bool, err error) {
	elems, ok, err := jsonElements(b)
	if !ok {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, protoWrap(err, SerializerJSON)
	}
	m, err = lenientMessage(SerializerJSON, b, elems, func(s span) (any, error) {
		// The element sits inside the message list, so it may nest one level less.
		if s.depth > NestPayload.limit() {
			return nil, valueErr(ErrTooDeep)
		}
		r := jsonReader{b: b[:s.end], i: s.start}
		return r.value(0)
	}, jsonKind)
	return m, true, err
}
