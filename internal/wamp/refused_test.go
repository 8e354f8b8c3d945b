package wamp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Tests for refused payloads (package comment, "Refused payloads"): a well-formed message
// whose Arguments or ArgumentsKw hold a value outside the dialect decodes, with Payload.Err
// set, instead of failing; anything else wrong stays a protocol error.

// jsonNest is a JSON value nested levels deep: [[…]] with levels brackets.
func jsonNest(levels int) string {
	return strings.Repeat("[", levels) + strings.Repeat("]", levels)
}

// arrayHead is a msgpack (mp) or CBOR array header for n elements.
func arrayHead(cbor bool, n int) []byte {
	if cbor {
		switch {
		case n < 24:
			return []byte{0x80 | byte(n)}
		case n < 256:
			return []byte{0x98, byte(n)}
		}
		return binary.BigEndian.AppendUint32([]byte{0x9a}, uint32(n))
	}
	if n < 16 {
		return []byte{0x90 | byte(n)}
	}
	return binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(n))
}

// binNest is a msgpack or CBOR value nested levels deep: levels-1 one-element arrays
// around an empty one.
func binNest(cbor bool, levels int) []byte {
	one, empty := byte(0x91), byte(0x90)
	if cbor {
		one, empty = 0x81, 0x80
	}
	return append(bytes.Repeat([]byte{one}, levels-1), empty)
}

// binFrame builds a msgpack or CBOR frame: the fixed elements encoded by the format's
// encoder (our own, so the dialect holds for them), then payload elements given as raw
// bytes.
func binFrame(t testing.TB, cbor bool, fixed List, raw ...[]byte) []byte {
	t.Helper()
	b := arrayHead(cbor, len(fixed)+len(raw))
	for _, v := range fixed {
		var enc []byte
		var err error
		if cbor {
			enc, err = AppendCBOR(nil, v, NestPayload)
		} else {
			enc, err = msgpack.Marshal(v)
		}
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, enc...)
	}
	for _, r := range raw {
		b = append(b, r...)
	}
	return b
}

func mpFrame(t testing.TB, fixed List, raw ...[]byte) []byte {
	return binFrame(t, false, fixed, raw...)
}
func cbFrame(t testing.TB, fixed List, raw ...[]byte) []byte { return binFrame(t, true, fixed, raw...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// withPayload returns m with its payload replaced by p.
func withPayload(m Message, p Payload) Message {
	switch m := m.(type) {
	case *Publish:
		m.Payload = p
	case *Event:
		m.Payload = p
	case *Call:
		m.Payload = p
	case *Invocation:
		m.Payload = p
	case *Yield:
		m.Payload = p
	case *Result:
		m.Payload = p
	case *Error:
		m.Payload = p
	}
	return m
}

func TestRefusedPayloadDecodes(t *testing.T) {
	const big = "1180591620717411303424" // 2^70
	d := Dict{}
	ev := func() Message { return &Event{Subscription: 1, Publication: 2, Details: Dict{"topic": "com.t"}} }
	evFixed := List{int64(EVENT), int64(1), int64(2), Dict{"topic": "com.t"}}
	mpNaN := []byte{0x91, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}
	mpEmptyList, mpEmptyMap := []byte{0x90}, []byte{0x80}
	cbNaN := []byte{0x81, 0xf9, 0x7e, 0x00}
	cases := []struct {
		name  string
		ser   Serializer
		frame []byte
		want  Message // with an empty payload
		kind  error
	}{
		// JSON: every message that carries a payload, every reason.
		{"json/event integer", JSON, []byte(`[36,1,2,{"topic":"com.t"},[1,` + big + `]]`), ev(), ErrIntegerRange},
		{"json/event negative integer in kwargs", JSON, []byte(`[36,1,2,{"topic":"com.t"},[],{"n":-` + big + `}]`), ev(), ErrIntegerRange},
		{"json/event good args, bad kwargs", JSON, []byte(`[36,1,2,{"topic":"com.t"},["ok"],{"f":1e400}]`), ev(), ErrFloatRange},
		{"json/invocation invalid utf-8", JSON, []byte("[68,3,4,{},[\"\xff\"]]"), &Invocation{Request: 3, Registration: 4, Details: d}, ErrInvalidUTF8},
		{"json/invocation lone surrogate", JSON, []byte(`[68,3,4,{},["\ud800"]]`), &Invocation{Request: 3, Registration: 4, Details: d}, ErrInvalidUTF8},
		{"json/result bad binary", JSON, []byte(`[50,5,{},["\u0000!!"]]`), &Result{Request: 5, Details: d}, ErrBinaryText},
		{"json/error integer", JSON, []byte(`[8,48,6,{},"com.err",[` + big + `]]`), &Error{Type: CALL, Request: 6, Details: d, Error: "com.err"}, ErrIntegerRange},
		{"json/publish 101 levels", JSON, []byte(`[16,7,{},"com.t",[` + jsonNest(MaxDepth+1) + `]]`), &Publish{Request: 7, Options: d, Topic: "com.t"}, ErrTooDeep},
		{"json/call million levels", JSON, []byte(`[48,8,{},"com.p",[],{"k":` + jsonNest(1_000_000) + `}]`), &Call{Request: 8, Options: d, Procedure: "com.p"}, ErrTooDeep},
		{"json/yield float", JSON, []byte(`[70,9,{},[-1e400]]`), &Yield{Request: 9, Options: d}, ErrFloatRange},
		{"json/kwargs refused, args refused too", JSON, []byte(`[36,1,2,{"topic":"com.t"},[` + big + `],{"f":1e400}]`), ev(), ErrIntegerRange},
		{"json/spaces", JSON, []byte(" [ 36 , 1 , 2 , {\"topic\":\"com.t\"} , [ " + big + " ] ] "), ev(), ErrIntegerRange},

		// msgpack.
		{"msgpack/event NaN", MsgPack, mpFrame(t, evFixed, mpNaN), ev(), ErrFloatRange},
		{"msgpack/event infinity in kwargs", MsgPack, mpFrame(t, evFixed, mpEmptyList, []byte{0x81, 0xa1, 'k', 0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0}), ev(), ErrFloatRange},
		{"msgpack/invocation invalid utf-8", MsgPack, mpFrame(t, List{int64(INVOCATION), int64(3), int64(4), d}, []byte{0x91, 0xa2, 0xc3, 0x28}), &Invocation{Request: 3, Registration: 4, Details: d}, ErrInvalidUTF8},
		{"msgpack/result text starting with NUL", MsgPack, mpFrame(t, List{int64(RESULT), int64(5), d}, []byte{0x91, 0xa2, 0x00, 0x61}), &Result{Request: 5, Details: d}, ErrBinaryText},
		{"msgpack/error extension type", MsgPack, mpFrame(t, List{int64(ERROR), int64(INVOCATION), int64(6), d, "com.err"}, []byte{0x91, 0xd4, 0x01, 0x0a}), &Error{Type: INVOCATION, Request: 6, Details: d, Error: "com.err"}, ErrUnsupported},
		{"msgpack/publish integer dict key", MsgPack, mpFrame(t, List{int64(PUBLISH), int64(7), d, "com.t"}, mpEmptyList, []byte{0x81, 0x01, 0x02}), &Publish{Request: 7, Options: d, Topic: "com.t"}, ErrUnsupported},
		{"msgpack/call 101 levels", MsgPack, mpFrame(t, List{int64(CALL), int64(8), d, "com.p"}, cat([]byte{0x91}, binNest(false, MaxDepth+1))), &Call{Request: 8, Options: d, Procedure: "com.p"}, ErrTooDeep},
		{"msgpack/yield million levels, then kwargs", MsgPack, mpFrame(t, List{int64(YIELD), int64(9), d}, cat([]byte{0x91}, binNest(false, 1_000_000)), mpEmptyMap), &Yield{Request: 9, Options: d}, ErrTooDeep},
		{"msgpack/nested bad value after good ones", MsgPack, mpFrame(t, evFixed, cat([]byte{0x92, 0x81, 0xa1, 'a', 0x92, 0x01, 0xa1, 'x'}, []byte{0x91, 0xc0}, []byte{}), []byte{0x81, 0xa1, 'b', 0xca, 0x7f, 0xc0, 0, 0}), ev(), ErrFloatRange},

		// CBOR.
		{"cbor/event NaN", CBOR, cbFrame(t, evFixed, cbNaN), ev(), ErrFloatRange},
		{"cbor/event bignum 2^64", CBOR, cbFrame(t, evFixed, []byte{0x81, 0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0}), ev(), ErrIntegerRange},
		{"cbor/invocation negative bignum", CBOR, cbFrame(t, List{int64(INVOCATION), int64(3), int64(4), d}, []byte{0x80}, []byte{0xa1, 0x61, 'n', 0xc3, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0}), &Invocation{Request: 3, Registration: 4, Details: d}, ErrIntegerRange},
		{"cbor/result invalid utf-8", CBOR, cbFrame(t, List{int64(RESULT), int64(5), d}, []byte{0x81, 0x62, 0xc3, 0x28}), &Result{Request: 5, Details: d}, ErrInvalidUTF8},
		{"cbor/error text starting with NUL", CBOR, cbFrame(t, List{int64(ERROR), int64(CALL), int64(6), d, "com.err"}, []byte{0x81, 0x62, 0x00, 0x61}), &Error{Type: CALL, Request: 6, Details: d, Error: "com.err"}, ErrBinaryText},
		{"cbor/publish tag", CBOR, cbFrame(t, List{int64(PUBLISH), int64(7), d, "com.t"}, []byte{0x81, 0xd9, 0x03, 0xe8, 0x61, 't'}), &Publish{Request: 7, Options: d, Topic: "com.t"}, ErrUnsupported},
		{"cbor/publish date", CBOR, cbFrame(t, List{int64(PUBLISH), int64(7), d, "com.t"}, cat([]byte{0x81, 0xc0, 0x74}, []byte("2013-03-21T20:04:00Z"))), &Publish{Request: 7, Options: d, Topic: "com.t"}, ErrUnsupported},
		{"cbor/publish simple value", CBOR, cbFrame(t, List{int64(PUBLISH), int64(7), d, "com.t"}, []byte{0x81, 0xf0}), &Publish{Request: 7, Options: d, Topic: "com.t"}, ErrUnsupported},
		{"cbor/publish integer dict key", CBOR, cbFrame(t, List{int64(PUBLISH), int64(7), d, "com.t"}, []byte{0x80}, []byte{0xa1, 0x01, 0x02}), &Publish{Request: 7, Options: d, Topic: "com.t"}, ErrUnsupported},
		{"cbor/call 101 levels", CBOR, cbFrame(t, List{int64(CALL), int64(8), d, "com.p"}, cat([]byte{0x81}, binNest(true, MaxDepth+1))), &Call{Request: 8, Options: d, Procedure: "com.p"}, ErrTooDeep},
		{"cbor/yield million levels, then kwargs", CBOR, cbFrame(t, List{int64(YIELD), int64(9), d}, cat([]byte{0x81}, binNest(true, 1_000_000)), []byte{0xa0}), &Yield{Request: 9, Options: d}, ErrTooDeep},
		{"cbor/indefinite lengths", CBOR, cat([]byte{0x9f}, cbFrame(t, evFixed)[1:], []byte{0x9f, 0x01, 0xf9, 0x7e, 0x00, 0xff, 0xbf, 0x61, 'k', 0x7f, 0x61, 'a', 0xff, 0xff, 0xff}), ev(), ErrFloatRange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := c.ser.Unmarshal(c.frame)
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			p, _, ok := payloadAndMeta(m)
			if !ok {
				t.Fatalf("decoded %T", m)
			}
			var pe *PayloadError
			if !errors.As(p.Err, &pe) || !errors.Is(p.Err, ErrPayloadRefused) || !errors.Is(p.Err, c.kind) {
				t.Fatalf("Payload.Err = %v, want a *PayloadError for %v", p.Err, c.kind)
			}
			if p.Args != nil || p.Kwargs != nil || p.Bare != nil {
				t.Errorf("refused payload still carries %#v", p)
			}
			if !strings.HasPrefix(pe.Error(), ErrPayloadRefused.Error()+": ") || pe.Reason() != ErrPayloadRefused.Error()+": "+c.kind.Error() {
				t.Errorf("texts %q / %q", pe.Error(), pe.Reason())
			}
			// Everything but the payload is decoded as usual.
			got := withPayload(m, Payload{})
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("decoded\n %#v\nwant\n %#v", got, c.want)
			}
			// A refused payload is never sent on.
			if _, err := c.ser.Marshal(withPayload(m, p)); err == nil {
				t.Errorf("a message with a refused payload was encoded")
			}
		})
	}
}

// TestRefusedPayloadFixedFieldsStayFatal: a value outside the dialect where the message's
// own fields are (IDs, URIs, Options/Details), or a payload slot of the wrong shape, or a
// frame that is malformed besides, is still a protocol error.
func TestRefusedPayloadFixedFieldsStayFatal(t *testing.T) {
	const big = "1180591620717411303424"
	d := Dict{}
	cases := []struct {
		name  string
		ser   Serializer
		frame []byte
	}{
		{"json/details integer", JSON, []byte(`[36,1,2,{"x":` + big + `},[1]]`)},
		{"json/details 101 levels", JSON, []byte(`[36,1,2,{"x":` + jsonNest(MaxDepth+1) + `},[1]]`)},
		{"json/details deep, payload bad", JSON, []byte(`[36,1,2,{"x":` + jsonNest(1000) + `},[` + big + `]]`)},
		{"json/subscription id", JSON, []byte(`[36,` + big + `,2,{},[1]]`)},
		{"json/message type", JSON, []byte(`[` + big + `,1,2,{},[1]]`)},
		{"json/uri invalid utf-8", JSON, []byte("[8,48,6,{},\"com.\xff\",[1e400]]")},
		{"json/arguments not a list", JSON, []byte(`[36,1,2,{},1e400]`)},
		{"json/arguments a bad dict", JSON, []byte(`[36,1,2,{},{"a":1e400}]`)},
		{"json/kwargs a bad list", JSON, []byte(`[36,1,2,{},[],[1e400]]`)},
		{"json/too many elements", JSON, []byte(`[36,1,2,{},[1e400],{},5]`)},
		{"json/bare then bad", JSON, []byte(`[36,1,2,{},"\u0000AA==",[1e400]]`)},
		{"json/no payload in subscribe", JSON, []byte(`[32,1,{"x":1e400},"com.t"]`)},
		{"json/not a list", JSON, []byte(`{"a":1e400}`)},
		{"json/bad value alone", JSON, []byte(`1e400`)},
		{"json/syntax error after bad value", JSON, []byte(`[36,1,2,{},[1e400],`)},
		{"msgpack/options NaN", MsgPack, mpFrame(t, List{int64(PUBLISH), int64(1)}, []byte{0x81, 0xa1, 'x', 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, []byte{0xa5, 'c', 'o', 'm', '.', 't'}, []byte{0x91, 0x01})},
		{"msgpack/uri invalid utf-8", MsgPack, mpFrame(t, List{int64(ERROR), int64(CALL), int64(6), d}, []byte{0xa2, 0xc3, 0x28}, []byte{0x91, 0xc0})},
		{"msgpack/trailing bytes", MsgPack, append(mpFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x91, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}), 0x00)},
		{"msgpack/truncated kwargs", MsgPack, mpFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x91, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, []byte{0x81, 0xa1})},
		{"msgpack/truncated inside the bad value", MsgPack, mpFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x92, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0})},
		{"msgpack/reserved code in the bad value", MsgPack, mpFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x92, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc1})},
		{"msgpack/array longer than the frame", MsgPack, mpFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0xdd, 0x7f, 0xff, 0xff, 0xff, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0})},
		{"cbor/uri invalid utf-8", CBOR, cbFrame(t, List{int64(ERROR), int64(CALL), int64(6), d}, []byte{0x62, 0xc3, 0x28}, []byte{0x81, 0xf9, 0x7e, 0x00})},
		{"cbor/details NaN", CBOR, cbFrame(t, List{int64(EVENT), int64(1), int64(2)}, []byte{0xa1, 0x61, 'x', 0xf9, 0x7e, 0x00}, []byte{0x80})},
		{"cbor/trailing bytes", CBOR, append(cbFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x81, 0xf9, 0x7e, 0x00}), 0x00)},
		{"cbor/truncated", CBOR, cbFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x82, 0xf9, 0x7e, 0x00})},
		{"cbor/reserved additional info", CBOR, cbFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x82, 0xf9, 0x7e, 0x00, 0x1c})},
		{"cbor/break outside indefinite", CBOR, cbFrame(t, List{int64(EVENT), int64(1), int64(2), d}, []byte{0x82, 0xf9, 0x7e, 0x00, 0xff})},
		{"cbor/deep indefinite", CBOR, cbFrame(t, List{int64(EVENT), int64(1), int64(2), d}, cat(bytes.Repeat([]byte{0x9f}, 200_000), bytes.Repeat([]byte{0xff}, 200_000)))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := c.ser.Unmarshal(c.frame)
			if !IsProtocolError(err) {
				t.Fatalf("Unmarshal = %#v, %v; want a protocol error", m, err)
			}
		})
	}
}
