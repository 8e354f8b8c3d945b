package wamp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// The vectors in the module's testdata/vectors/cryptobox.json ([testkit.VectorsFile]) were
// produced by Autobahn|Python 22.7.1's own serializers (gen_vectors.py). Every WAMP
// message in them is checked against every serializer by one table.

type vectorMessage struct {
	JSON       string `json:"json"`
	MsgPackHex string `json:"msgpack_hex"`
	CBORHex    string `json:"cbor_hex"`
}

type vector struct {
	Name       string                    `json:"name"`
	URI        string                    `json:"uri"`
	PayloadHex string                    `json:"payload_hex"`
	Messages   map[string]*vectorMessage `json:"-"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	raw := testkit.CryptoboxVectors(t)
	var file struct {
		Vectors []map[string]json.RawMessage `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var out []vector
	for _, fields := range file.Vectors {
		var v vector
		for k, r := range fields {
			switch {
			case k == "name":
				json.Unmarshal(r, &v.Name)
			case k == "uri":
				json.Unmarshal(r, &v.URI)
			case k == "payload_hex":
				json.Unmarshal(r, &v.PayloadHex)
			case strings.HasSuffix(k, "wamp_message"):
				var m vectorMessage
				if err := json.Unmarshal(r, &m); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
				if v.Messages == nil {
					v.Messages = map[string]*vectorMessage{}
				}
				v.Messages[k] = &m
			}
		}
		if v.Name == "" || v.PayloadHex == "" || len(v.Messages) == 0 {
			t.Fatalf("vector %q incomplete", v.Name)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		t.Fatal("no vectors")
	}
	return out
}

// frameOf picks a vector message's bytes for a serializer.
func frameOf(t testing.TB, s Serializer, m *vectorMessage) []byte {
	t.Helper()
	var h string
	switch s.Name() {
	case "json":
		return []byte(m.JSON)
	case "msgpack":
		h = m.MsgPackHex
	case "cbor":
		h = m.CBORHex
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) == 0 {
		t.Fatalf("bad %s hex: %v", s.Name(), err)
	}
	return b
}

// payloadAndMeta returns the payload and the Options/Details dict of a payload message.
func payloadAndMeta(m Message) (Payload, Dict, bool) {
	switch m := m.(type) {
	case *Publish:
		return m.Payload, m.Options, true
	case *Event:
		return m.Payload, m.Details, true
	case *Call:
		return m.Payload, m.Options, true
	case *Invocation:
		return m.Payload, m.Details, true
	case *Yield:
		return m.Payload, m.Options, true
	case *Result:
		return m.Payload, m.Details, true
	case *Error:
		return m.Payload, m.Details, true
	}
	return Payload{}, nil, false
}

// jsonDictsSorted reports whether every object in a JSON text lists its keys in sorted
// order. Our serializers sort keys; Python keeps insertion order; so byte equality with
// a vector is expected exactly when this holds for it.
func jsonDictsSorted(t *testing.T, text string) bool {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(text))
	type frame struct {
		obj     bool
		lastKey *string
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.wantKey {
			if k, ok := tok.(string); ok {
				if top.lastKey != nil && *top.lastKey > k {
					return false
				}
				top.lastKey = &k
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.obj {
				top.wantKey = true
			}
			stack = append(stack, &frame{obj: true, wantKey: true})
			continue
		case json.Delim('['):
			if top != nil && top.obj {
				top.wantKey = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.obj {
			top.wantKey = true
		}
	}
	return true
}

func TestJSONDictsSortedHelper(t *testing.T) {
	for text, want := range map[string]bool{
		`[1,{"a":1,"b":{"c":[{"d":1,"e":2}]},"f":2}]`: true,
		`[1,{"b":1,"a":2}]`:                           false,
		`[{"a":{"z":1,"b":2}}]`:                       false,
		`[{"a":[{"b":1}],"c":2}]`:                     true,
		`[{"c":[{"b":1}],"a":2}]`:                     false,
	} {
		if got := jsonDictsSorted(t, text); got != want {
			t.Errorf("jsonDictsSorted(%s) = %v", text, got)
		}
	}
}

func TestVectorsAllSerializers(t *testing.T) {
	byteEqual := 0
	defer func() {
		// Every vector dict is in alphabetical order, so every frame must have been
		// compared byte for byte; this guards the premise.
		if byteEqual == 0 && !t.Failed() {
			t.Error("no vector was compared byte for byte")
		}
		t.Logf("%d frames re-encoded byte-identical to Autobahn's", byteEqual)
	}()
	for _, v := range loadVectors(t) {
		want, _ := hex.DecodeString(v.PayloadHex)
		for kind, vm := range v.Messages {
			// The JSON text, read by encoding/json (not by our decoder), is the
			// reference for the message's content.
			var canonical any
			if err := json.Unmarshal([]byte(vm.JSON), &canonical); err != nil {
				t.Fatal(err)
			}
			sorted := jsonDictsSorted(t, vm.JSON)
			var fromJSON Message
			for _, s := range Serializers {
				t.Run(v.Name+"/"+kind+"/"+s.Name(), func(t *testing.T) {
					frame := frameOf(t, s, vm)
					m, err := s.Unmarshal(frame)
					if err != nil {
						t.Fatalf("Unmarshal: %v", err)
					}
					p, meta, ok := payloadAndMeta(m)
					if !ok {
						t.Fatalf("%T is not a payload message", m)
					}
					if !p.IsBare() || !bytes.Equal(p.Bare, want) {
						t.Fatalf("bare payload = %x (bare=%v), want %x", p.Bare, p.IsBare(), want)
					}
					if p.Args != nil || p.Kwargs != nil {
						t.Fatalf("bare payload with Args/Kwargs: %v %v", p.Args, p.Kwargs)
					}
					if meta["enc_algo"] != "cryptobox" || meta["enc_serializer"] != "json" {
						t.Fatalf("options/details = %v", meta)
					}
					if s == JSON {
						fromJSON = m
					} else if fromJSON != nil && !reflect.DeepEqual(m, fromJSON) {
						t.Fatalf("%s decodes to\n%#v\njson decodes to\n%#v", s.Name(), m, fromJSON)
					}

					out, err := s.Marshal(m)
					if err != nil {
						t.Fatalf("Marshal: %v", err)
					}
					if s == JSON {
						var got any
						if err := json.Unmarshal(out, &got); err != nil {
							t.Fatalf("our JSON is not JSON: %v\n%s", err, out)
						}
						if !reflect.DeepEqual(got, canonical) {
							t.Fatalf("re-encoded JSON differs:\n got %s\nwant %s", out, vm.JSON)
						}
					}
					again, err := s.Unmarshal(out)
					if err != nil {
						t.Fatalf("re-decode: %v", err)
					}
					if !reflect.DeepEqual(again, m) {
						t.Fatalf("re-decoded message differs:\n%#v\n%#v", again, m)
					}
					if sorted {
						if !bytes.Equal(out, frame) {
							t.Fatalf("dict keys are sorted in the vector, so bytes should match:\n got %x\nwant %x", out, frame)
						}
						byteEqual++
					}
				})
			}
		}
	}
}

// sampleMessages has one or more instances of every message type, in the value model, so
// that Marshal→Unmarshal must give back exactly the same struct.
func sampleMessages() []Message {
	args := List{"x<y>&z", int64(-3), int64(42), 1.0, 2.5, true, nil, []byte{0, 1, 2, 0xff},
		List{int64(1), "two"}, Dict{"k": "v", "n": []byte{}}, uint64(math.MaxUint64), int64(math.MinInt64),
		"ünïcödé \u2028 \x01\t\n\"\\", float64(1e300), -0.5}
	kwargs := Dict{"b": []byte("bin"), "a": int64(1), "nested": Dict{"z": List{}, "y": Dict{}}, "f": 3.0}
	bare := []byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	det := Dict{"enc_algo": "cryptobox", "enc_serializer": "json"}
	return []Message{
		&Hello{Realm: "realm1", Details: Dict{"roles": Dict{"caller": Dict{"features": Dict{"call_canceling": true}}},
			"authmethods": List{"ticket", "anonymous"}, "authid": "joe"}},
		&Welcome{Session: 9007199254740992, Details: Dict{"roles": Dict{"broker": Dict{}}}},
		&Abort{Details: Dict{"message": "no"}, Reason: "wamp.error.no_such_realm"},
		&Challenge{AuthMethod: "wampcra", Extra: Dict{"challenge": "{\"nonce\":\"x\"}", "iterations": int64(1000)}},
		&Authenticate{Signature: "c2ln", Extra: Dict{}},
		&Goodbye{Details: Dict{}, Reason: "wamp.close.normal"},
		&Error{Type: CALL, Request: 7, Details: Dict{}, Error: "com.x.err", Payload: Payload{Args: args, Kwargs: kwargs}},
		&Error{Type: INVOCATION, Request: 7, Details: det, Error: "com.x.err", Payload: Payload{Bare: bare}},
		&Error{Type: SUBSCRIBE, Request: 0, Details: Dict{}, Error: "wamp.error.not_authorized"},
		&Publish{Request: 1, Options: Dict{"acknowledge": true}, Topic: "com.t", Payload: Payload{Args: args}},
		&Publish{Request: 2, Options: det, Topic: "com.t", Payload: Payload{Bare: bare}},
		&Publish{Request: 3, Options: Dict{}, Topic: "com.t"},
		&Published{Request: 1, Publication: 12345678901},
		&Subscribe{Request: 4, Options: Dict{"match": "prefix"}, Topic: "com"},
		&Subscribed{Request: 4, Subscription: 55},
		&Unsubscribe{Request: 5, Subscription: 55},
		&Unsubscribed{Request: 5},
		&Event{Subscription: 55, Publication: 66, Details: Dict{"topic": "com.t"}, Payload: Payload{Args: List{}, Kwargs: kwargs}},
		&Event{Subscription: 55, Publication: 66, Details: det, Payload: Payload{Bare: []byte{}}},
		&Call{Request: 6, Options: Dict{"receive_progress": true, "timeout": int64(1000)}, Procedure: "com.p", Payload: Payload{Args: args, Kwargs: kwargs}},
		&Call{Request: 7, Options: det, Procedure: "com.p", Payload: Payload{Bare: bare}},
		&Cancel{Request: 6, Options: Dict{"mode": "killnowait"}},
		&Result{Request: 6, Details: Dict{"progress": true}, Payload: Payload{Args: List{int64(1)}}},
		&Result{Request: 7, Details: det, Payload: Payload{Bare: bare}},
		&Result{Request: 8, Details: Dict{}},
		&Register{Request: 9, Options: Dict{"match": "wildcard"}, Procedure: "com..p"},
		&Registered{Request: 9, Registration: 77},
		&Unregister{Request: 10, Registration: 77},
		&Unregistered{Request: 10},
		&Invocation{Request: 11, Registration: 77, Details: Dict{"procedure": "com.a.p"}, Payload: Payload{Args: args}},
		&Invocation{Request: 12, Registration: 77, Details: det, Payload: Payload{Bare: bare}},
		&Interrupt{Request: 11, Options: Dict{"mode": "kill"}},
		&Yield{Request: 11, Options: Dict{"progress": true}, Payload: Payload{Args: List{"p"}, Kwargs: Dict{"i": int64(0)}}},
		&Yield{Request: 12, Options: det, Payload: Payload{Bare: bare}},
	}
}

func TestRoundTripEveryType(t *testing.T) {
	seen := map[MessageType]bool{}
	for _, m := range sampleMessages() {
		seen[m.MessageType()] = true
	}
	for mt := range typeNames {
		if !seen[mt] {
			t.Errorf("sampleMessages lacks %v", mt)
		}
	}
	for _, s := range Serializers {
		for i, m := range sampleMessages() {
			t.Run(s.Name()+"/"+m.MessageType().String(), func(t *testing.T) {
				b, err := s.Marshal(m)
				if err != nil {
					t.Fatalf("#%d Marshal: %v", i, err)
				}
				got, err := s.Unmarshal(b)
				if err != nil {
					t.Fatalf("#%d Unmarshal: %v\n%q", i, err, b)
				}
				if !reflect.DeepEqual(got, m) {
					t.Fatalf("#%d round trip:\n got %#v\nwant %#v", i, got, m)
				}
				// Deterministic output: the same message always gives the same bytes.
				b2, _ := s.Marshal(got)
				if !bytes.Equal(b, b2) {
					t.Fatalf("#%d not deterministic:\n%x\n%x", i, b, b2)
				}
			})
		}
	}
}

// TestToListPayloadForms checks the payload slot rules of basic/messages.md and wire.md
// §1.1 on the list form.
func TestToListPayloadForms(t *testing.T) {
	cases := []struct {
		name string
		p    Payload
		tail List // elements after Topic
	}{
		{"empty", Payload{}, nil},
		{"empty args and kwargs omitted", Payload{Args: List{}, Kwargs: Dict{}}, nil},
		{"args only", Payload{Args: List{"a"}}, List{List{"a"}}},
		{"kwargs only gets empty args", Payload{Kwargs: Dict{"k": int64(1)}}, List{List{}, Dict{"k": int64(1)}}},
		{"bare", Payload{Bare: []byte{1}}, List{[]byte{1}}},
		{"empty bare still bare", Payload{Bare: []byte{}}, List{[]byte{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := ToList(&Publish{Request: 1, Topic: "t", Payload: c.p})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(l[:4], List{int64(PUBLISH), int64(1), Dict{}, "t"}) {
				t.Fatalf("fixed fields %#v", l[:4])
			}
			if got := l[4:]; len(got) != len(c.tail) || (len(got) > 0 && !reflect.DeepEqual(got, c.tail)) {
				t.Fatalf("tail %#v, want %#v", got, c.tail)
			}
		})
	}
	if _, err := ToList(&Publish{Request: 1, Topic: "t", Payload: Payload{Bare: []byte{1}, Args: List{1}}}); err == nil {
		t.Fatal("bare + args encoded without error")
	}
	if _, err := ToList(&Publish{Request: MaxID + 1, Topic: "t"}); err == nil {
		t.Fatal("ID above 2^53 encoded without error")
	}
	if _, err := ToList(&Publish{Request: 1}); err == nil {
		t.Fatal("empty topic encoded without error")
	}
	if _, err := ToList(nil); err == nil {
		t.Fatal("nil message encoded without error")
	}
}

func TestFromListRejects(t *testing.T) {
	d := Dict{}
	cases := []struct {
		name string
		l    List
	}{
		{"empty", List{}},
		{"type not int", List{"16"}},
		{"type float", List{16.0, int64(1), d, "t"}},
		{"unknown type", List{int64(99)}},
		{"too short", List{int64(PUBLISH), int64(1), d}},
		{"too long", List{int64(PUBLISH), int64(1), d, "t", List{}, d, "x"}},
		{"fixed arity", List{int64(SUBSCRIBED), int64(1), int64(2), int64(3)}},
		{"id string", List{int64(PUBLISHED), "1", int64(2)}},
		{"id negative", List{int64(PUBLISHED), int64(-1), int64(2)}},
		{"id above 2^53", List{int64(PUBLISHED), int64(1)<<53 + 1, int64(2)}},
		{"id uint64", List{int64(PUBLISHED), uint64(math.MaxUint64), int64(2)}},
		{"id float", List{int64(PUBLISHED), 1.0, int64(2)}},
		{"options null", List{int64(PUBLISH), int64(1), nil, "t"}},
		{"options list", List{int64(PUBLISH), int64(1), List{}, "t"}},
		{"topic not string", List{int64(PUBLISH), int64(1), d, int64(5)}},
		{"topic empty", List{int64(PUBLISH), int64(1), d, ""}},
		{"args string", List{int64(PUBLISH), int64(1), d, "t", "payload"}},
		{"args dict", List{int64(PUBLISH), int64(1), d, "t", d}},
		{"kwargs list", List{int64(PUBLISH), int64(1), d, "t", List{}, List{}}},
		{"kwargs null", List{int64(PUBLISH), int64(1), d, "t", List{}, nil}},
		{"something after bare", List{int64(EVENT), int64(1), int64(2), d, []byte{1}, d}},
		{"error reqtype unknown", List{int64(ERROR), int64(99), int64(1), d, "e"}},
		{"error reqtype string", List{int64(ERROR), "CALL", int64(1), d, "e"}},
		{"hello realm empty", List{int64(HELLO), "", d}},
		{"abort reason missing", List{int64(ABORT), d}},
		{"challenge method int", List{int64(CHALLENGE), int64(1), d}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := FromList(c.l)
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("FromList(%#v) = %#v, %v; want *ProtocolError", c.l, m, err)
			}
			if !strings.HasPrefix(err.Error(), "protocol error: ") {
				t.Fatalf("error text %q", err)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		s    Serializer
		name string
		b    []byte
	}{
		{JSON, "not json", []byte("[16,1,{},")},
		{JSON, "not a list", []byte(`{"a":1}`)},
		{JSON, "trailing data", []byte(`[17,1,2] [17,1,2]`)},
		{JSON, "bad base64 after NUL", []byte(`[16,1,{},"t","\u0000!!!"]`)},
		{JSON, "unpadded base64", []byte(`[16,1,{},"t","\u0000AAE"]`)},
		{JSON, "urlsafe base64", []byte(`[16,1,{},"t","\u0000-_8="]`)},
		{JSON, "integer overflow", []byte(`[17,1,2,{},[123456789012345678901234567890]]`)},
		{JSON, "float overflow in Options", []byte(`[16,1,{"x":1e400},"t"]`)},
		{JSON, "too deep in Options", []byte(`[16,1,{"x":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `},"t"]`)},
		{JSON, "invalid utf-8 in Options", []byte("[16,1,{\"x\":\"\xff\"},\"t\"]")},
		{JSON, "lone surrogate in the topic", []byte(`[16,1,{},"\ud800"]`)},
		{JSON, "NaN", []byte(`[16,1,{},"t",[NaN]]`)},
		{MsgPack, "empty", nil},
		{MsgPack, "not a list", h("a3616263")},
		{MsgPack, "truncated", h("9311")},
		{MsgPack, "trailing data", h("931101020000")},
		{MsgPack, "ext type", h("9411010cd4010a")},                // fixext1 where a value goes
		{MsgPack, "int map key", h("941001" + "810102" + "a174")}, // {1:2} as Options
		{MsgPack, "str32 longer than message", h("941001" + "80" + "dbffffffff")},
		{MsgPack, "array32 longer than message", h("dd7fffffff")},
		{MsgPack, "invalid utf-8 str", h("941001" + "80" + "a2c328")},
		{MsgPack, "reserved code", h("c1")},
		{MsgPack, "NaN in Options", h("941001" + "81a178cb7ff8000000000000" + "a174")},
		{MsgPack, "infinity in Options", h("941001" + "81a178ca7f800000" + "a174")},
		{MsgPack, "topic starting with NUL", h("941001" + "80" + "a20061")},
		{CBOR, "empty", nil},
		{CBOR, "not a list", h("a0")},
		{CBOR, "truncated", h("831101")},
		{CBOR, "trailing data", h("8311010200")},
		{CBOR, "tag", h("841001a0c06174")},                // tag 0 before a text string
		{CBOR, "int map key", h("841001a10102" + "6174")}, // {1:2} as Options
		{CBOR, "bignum", h("841001a0" + "c249010000000000000000")},
		{CBOR, "negative below int64 in Options", h("841001a161783b8000000000000000" + "6174")},
		{CBOR, "simple value in Options", h("841001a16178f0" + "6174")},
		{CBOR, "invalid utf-8 text", h("841001a062c328")},
		{CBOR, "array longer than message", h("9affffffff")},
		{CBOR, "NaN in Options", h("841001a16178f97e00" + "6174")},
		{CBOR, "infinity in Options", h("841001a16178f97c00" + "6174")},
		{CBOR, "topic starting with NUL", h("841001a0" + "620061")},
	}
	for _, c := range cases {
		t.Run(c.s.Name()+"/"+c.name, func(t *testing.T) {
			m, err := c.s.Unmarshal(c.b)
			if !IsProtocolError(err) {
				t.Fatalf("Unmarshal(%x) = %#v, %v; want a protocol error", c.b, m, err)
			}
		})
	}
}

// TestNestingLimitSameForAll: what one serializer decodes, every serializer can encode,
// so the depth limit is the same for all of them: MaxDepth levels per value, which in a
// frame is MaxDepth+2 (the message list and the Arguments list).
func TestNestingLimitSameForAll(t *testing.T) {
	nest := func(levels int) List { // levels counts the message list itself
		var inner any = List{}
		for range levels - 2 {
			inner = List{inner}
		}
		return List{int64(PUBLISH), int64(1), Dict{}, "t", inner}
	}
	for _, s := range Serializers {
		ok, err := FromList(nest(MaxDepth + 2))
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Marshal(ok)
		if err != nil {
			t.Fatalf("%s: Marshal at the limit: %v", s.Name(), err)
		}
		if _, err := s.Unmarshal(b); err != nil {
			t.Fatalf("%s: Unmarshal at the limit: %v", s.Name(), err)
		}
		deep, _ := FromList(nest(MaxDepth + 3))
		if _, err := s.Marshal(deep); !errors.Is(err, ErrTooDeep) {
			t.Fatalf("%s: Marshal beyond the limit: %v", s.Name(), err)
		}
	}
	// A frame one level too deep, built by hand for each format, has its payload refused.
	depth := MaxDepth + 3
	frames := map[Serializer][]byte{
		JSON:    []byte(`[16,1,{},"t",` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `]`),
		MsgPack: append([]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't'}, append(bytes.Repeat([]byte{0x91}, depth-2), 0x90)...),
		CBOR:    append([]byte{0x85, 0x10, 0x01, 0xa0, 0x61, 't'}, append(bytes.Repeat([]byte{0x81}, depth-2), 0x80)...),
	}
	// Such a payload is refused (Payload.Err), the message itself is not.
	for s, b := range frames {
		m, err := s.Unmarshal(b)
		if err != nil {
			t.Errorf("%s: too-deep payload: err = %v", s.Name(), err)
			continue
		}
		if p, _, _ := payloadAndMeta(m); !errors.Is(p.Err, ErrTooDeep) {
			t.Errorf("%s: too-deep payload: Payload.Err = %v", s.Name(), p.Err)
		}
	}
}

func TestMarshalValueModel(t *testing.T) {
	type myString string
	type myInt int16
	in := List{int(1), int8(-2), int32(3), uint(4), uint8(5), uint16(6), uint32(7), ID(8), float32(0.5),
		json.Number("9"), json.Number("1.5"), json.Number("18446744073709551615"), []string{"a"},
		map[string]string{"k": "v"}, myString("s"), myInt(10), []int{1, 2}, map[string]int{"x": 1},
		[3]byte{1, 2, 3}, ptr(int64(11)), (*int)(nil)}
	want := List{int64(1), int64(-2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), 0.5,
		int64(9), 1.5, uint64(math.MaxUint64), List{"a"}, Dict{"k": "v"}, "s", int64(10), List{int64(1), int64(2)},
		Dict{"x": int64(1)}, []byte{1, 2, 3}, int64(11), nil}
	for _, s := range Serializers {
		b, err := s.Marshal(&Publish{Request: 1, Topic: "t", Payload: Payload{Args: in}})
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		m, err := s.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		if got := m.(*Publish).Args; !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", s.Name(), got, want)
		}
	}
	for _, bad := range []any{struct{}{}, make(chan int), map[int]string{1: "x"}, "\xff", "\x00abc",
		math.NaN(), math.Inf(-1), float32(math.Inf(1)), json.Number("1e400"), json.Number("18446744073709551616")} {
		for _, s := range Serializers {
			_, err := s.Marshal(&Publish{Request: 1, Topic: "t", Payload: Payload{Args: List{bad}}})
			var ve *ValueError
			if !errors.As(err, &ve) {
				t.Errorf("%s: Marshal(%#v): %v, want a *ValueError", s.Name(), bad, err)
			}
		}
	}
	cyclic := Dict{}
	cyclic["self"] = cyclic
	for _, s := range Serializers {
		if _, err := s.Marshal(&Publish{Request: 1, Topic: "t", Payload: Payload{Kwargs: cyclic}}); err == nil {
			t.Errorf("%s: cyclic dict encoded", s.Name())
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestJSONText checks properties of our JSON text that peers rely on, without a golden
// string: the output is valid JSON, HTML characters are not escaped, binary uses the
// U+0000+base64 form, and integral floats stay floats.
func TestJSONText(t *testing.T) {
	b, err := JSON.Marshal(&Publish{Request: 1, Topic: "t", Payload: Payload{Args: List{"<&>", []byte{0xfb, 0xff}, 2.0}}})
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON %s", b)
	}
	if !bytes.Contains(b, []byte("<&>")) {
		t.Errorf("HTML characters escaped: %s", b)
	}
	var generic []any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&generic); err != nil {
		t.Fatal(err)
	}
	args := generic[4].([]any)
	if args[1] != "\x00+/8=" { // standard alphabet, padded
		t.Errorf("binary as %q", args[1])
	}
	if n := args[2].(json.Number); !strings.ContainsAny(string(n), ".eE") {
		t.Errorf("float 2.0 written as integer %q", n)
	}
}

func TestSerializerLookup(t *testing.T) {
	for _, s := range Serializers {
		got, err := SerializerByName(strings.ToUpper(s.Name()))
		if err != nil || got != s {
			t.Errorf("SerializerByName(%q) = %v, %v", s.Name(), got, err)
		}
		got, ok := SerializerBySubprotocol(s.Subprotocol())
		if !ok || got != s {
			t.Errorf("SerializerBySubprotocol(%q) = %v, %v", s.Subprotocol(), got, ok)
		}
		if s.Binary() == (s == JSON) {
			t.Errorf("%s: Binary() = %v", s.Name(), s.Binary())
		}
	}
	if _, err := SerializerByName("ubjson"); err == nil {
		t.Error("ubjson accepted")
	}
	if _, ok := SerializerBySubprotocol("wamp.2.json.batched"); ok {
		t.Error("batched accepted")
	}
}

// The direct MessagePack encoding (encoder.direct) writes the bytes of the list form, and
// leaves every refusal to it: same bytes, same error, for every sample message and for
// messages that cannot be encoded.
func TestMsgpackDirectIsListForm(t *testing.T) {
	big := &Publish{Request: MaxID + 1, Options: Dict{}, Topic: "t"}
	msgs := append(sampleMessages(),
		big,
		&Publish{Request: 1, Topic: ""},
		&Publish{Request: 1, Topic: "t", Payload: Payload{Args: List{"\xff"}}},
		&Publish{Request: 1, Topic: "t", Payload: Payload{Bare: []byte{1}, Args: List{1}}},
		&Event{Subscription: 1, Publication: 2, Details: Dict{"k": make(chan int)}},
		&Error{Type: MessageType(99), Request: 1, Error: "e"},
		&Publish{Request: 1, Options: nil, Topic: "t", Payload: Payload{Kwargs: Dict{"a": int64(1)}}},
		&Event{Subscription: 1, Publication: 2, Payload: Payload{Err: &PayloadError{}}},
	)
	for _, m := range msgs {
		got, gerr := MsgPack.Marshal(m)
		want, werr := msgpackMarshalList(m)
		if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("%#v:\n direct %x %v\n list   %x %v", m, got, gerr, want, werr)
		}
	}
}

// The direct MessagePack reader (msgpackDecodeDirect) reads what the list form reads,
// and it does read the messages of the per-event and per-call paths, plain and sealed,
// each with two, one and no payload elements: were it to give them all up, the fuzz
// target's comparison would hold for nothing. Frames it must give up on (FromList
// refuses them) go to the list form and get its error.
func TestMsgpackDirectReadIsListForm(t *testing.T) {
	enc := Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"}
	payloads := []Payload{{}, {Args: List{"x", int64(300)}}, {Args: List{}, Kwargs: Dict{"k": true}}, {Bare: []byte{1, 2, 3}}}
	var msgs []Message
	for _, p := range payloads {
		opts := Dict{}
		if p.Bare != nil {
			opts = enc
		}
		msgs = append(msgs,
			&Publish{Request: 1 << 40, Options: opts, Topic: "com.example.t", Payload: p},
			&Event{Subscription: 5, Publication: MaxID, Details: opts, Payload: p},
			&Call{Request: 7, Options: opts, Procedure: "com.example.p", Payload: p},
			&Invocation{Request: 8, Registration: 9, Details: opts, Payload: p},
			&Yield{Request: 8, Options: opts, Payload: p},
			&Result{Request: 7, Details: opts, Payload: p},
		)
	}
	msgs = append(msgs, &Published{Request: 1, Publication: 2})
	for _, m := range msgs {
		b, err := MsgPack.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		direct, ok := msgpackDecodeDirect(b)
		if !ok {
			t.Errorf("%#v: not read straight", m)
			continue
		}
		viaList, err := msgpackUnmarshalList(b)
		if err != nil || !reflect.DeepEqual(direct, viaList) || !reflect.DeepEqual(direct, m) {
			t.Errorf("%#v:\n straight %#v\n list     %#v, %v", m, direct, viaList, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty procedure":             mpFrame(t, List{int64(CALL), int64(1), Dict{}, ""}),
		"procedure starting with NUL": mpFrame(t, List{int64(CALL), int64(1), Dict{}}, []byte{0xa2, 0, 'p'}),
		"procedure not UTF-8":         mpFrame(t, List{int64(CALL), int64(1), Dict{}}, []byte{0xa2, 'p', 0xff}),
		"topic not a string":          mpFrame(t, List{int64(PUBLISH), int64(1), Dict{}, int64(4)}),
		"bare payload then kwargs":    mpFrame(t, List{int64(YIELD), int64(1), Dict{}}, []byte{0xc4, 1, 0}, []byte{0x80}),
		"Details not a dict":          mpFrame(t, List{int64(RESULT), int64(1), List{}}),
		"request above 2^53":          mpFrame(t, List{int64(INVOCATION), int64(MaxID + 1), int64(1), Dict{}}),
		"arguments not a list":        mpFrame(t, List{int64(RESULT), int64(1), Dict{}, "x"}),
		"kwargs not a dict":           mpFrame(t, List{int64(CALL), int64(1), Dict{}, "p", List{}, List{}}),
		"too few elements":            mpFrame(t, List{int64(CALL), int64(1), Dict{}}),
		"too many elements":           mpFrame(t, List{int64(RESULT), int64(1), Dict{}, List{}, Dict{}, List{}}),
		"six declared, four present":  {0x96, 0x32, 0x30, 0x80, 0x90},
	} {
		if m, ok := msgpackDecodeDirect(b); ok {
			t.Errorf("%s: read straight as %#v", name, m)
		}
		if m, err := MsgPack.Unmarshal(b); err == nil || !IsProtocolError(err) {
			t.Errorf("%s: Unmarshal gave %#v, %v; want a protocol error", name, m, err)
		}
	}
}
