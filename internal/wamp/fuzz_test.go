package wamp

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Fuzz targets for the three decoders (style.md §3.14). Properties: Unmarshal never panics
// and fails only with a *ProtocolError; whatever it accepts re-encodes, and the
// re-encoding is a fixed point (decode → encode → decode → encode gives the same bytes).
// Byte comparison rather than DeepEqual: the bytes are what a peer sees.
//
// A message whose payload was refused (Payload.Err) must carry a *PayloadError and no
// values, must not encode, and must decode the same way again; the rest of it then obeys
// the round trip above. The lenient decoder (refused.go) must agree exactly with the
// strict one on every frame the strict one accepts, so that a good frame decodes the
// same whichever path reads it.
//
// Unmarshal keeps nothing of its input (Conn.Recv reads every frame into the same
// buffer): what it decoded from a copy is unchanged once the copy is overwritten.
//
// Seeds: every frame of the Autobahn vectors, every sample message, and frames with
// refused payloads.

func fuzzSeeds(f *testing.F, s Serializer) {
	for _, v := range loadVectors(f) {
		for _, vm := range v.Messages {
			f.Add(frameOf(f, s, vm))
		}
	}
	for _, m := range sampleMessages() {
		b, err := s.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// lenientUnmarshal runs s's lenient path alone.
func lenientUnmarshal(s Serializer, b []byte) (Message, bool, error) {
	switch s {
	case JSON:
		if _, err := jsonSyntax(b); err != nil {
			return nil, false, nil // the lenient path only ever sees valid JSON
		}
		return unmarshalJSONLenient(b)
	case MsgPack:
		return unmarshalMsgpackLenient(b)
	}
	return unmarshalCBORLenient(b)
}

func fuzzDecode(t *testing.T, s Serializer, b []byte) {
	if s == MsgPack {
		// A message read straight (PUBLISH, PUBLISHED, EVENT, CALL, INVOCATION, YIELD,
		// RESULT) is what the list form reads.
		if direct, ok := msgpackDecodeDirect(b); ok {
			if viaList, err := msgpackUnmarshalList(b); err != nil || !reflect.DeepEqual(direct, viaList) {
				t.Fatalf("%x: read straight as %#v; through the list %#v, %v", b, direct, viaList, err)
			}
		}
	}
	scratch := bytes.Clone(b)
	fromScratch, scratchErr := s.Unmarshal(scratch)
	for i := range scratch {
		scratch[i] = ^scratch[i]
	}
	m, err := s.Unmarshal(b)
	if !reflect.DeepEqual(fromScratch, m) || !reflect.DeepEqual(scratchErr, err) {
		t.Fatalf("what was decoded changed with the frame's bytes:\n %#v, %v\nnow:\n %#v, %v", m, err, fromScratch, scratchErr)
	}
	if err != nil {
		if !IsProtocolError(err) {
			t.Fatalf("error is not a protocol error: %T %v", err, err)
		}
		return
	}
	if p, _, ok := payloadAndMeta(m); ok && p.Err != nil {
		var pe *PayloadError
		if !errors.As(p.Err, &pe) || pe.Value == nil || !errors.Is(p.Err, ErrPayloadRefused) {
			t.Fatalf("Payload.Err is %T %v", p.Err, p.Err)
		}
		if p.Args != nil || p.Kwargs != nil || p.Bare != nil {
			t.Fatalf("a refused payload carries values: %#v", p)
		}
		if b1, err := s.Marshal(m); err == nil {
			t.Fatalf("a refused payload was encoded: %x", b1)
		}
		again, err := s.Unmarshal(b)
		if p2, _, _ := payloadAndMeta(again); err != nil || p2.Err == nil {
			t.Fatalf("decoding again gave %#v, %v", again, err)
		}
		m = withPayload(m, Payload{})
	} else if lm, ok, lerr := lenientUnmarshal(s, b); ok && (lerr != nil || !reflect.DeepEqual(lm, m)) {
		t.Fatalf("the lenient decoder disagrees on %x:\n %#v, %v\nstrict:\n %#v", b, lm, lerr, m)
	}
	b1, err := s.Marshal(m)
	if err != nil {
		t.Fatalf("accepted %x but cannot re-encode %#v: %v", b, m, err)
	}
	if s == MsgPack {
		if viaList, err := msgpackMarshalList(m); err != nil || !bytes.Equal(b1, viaList) {
			t.Fatalf("the direct encoding differs from the list's:\n%x\n%x (%v)", b1, viaList, err)
		}
	}
	m2, err := s.Unmarshal(b1)
	if err != nil {
		t.Fatalf("cannot decode own encoding %x: %v", b1, err)
	}
	if m2.MessageType() != m.MessageType() {
		t.Fatalf("type changed: %v → %v", m.MessageType(), m2.MessageType())
	}
	b2, err := s.Marshal(m2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("not stable:\n%x\n%x", b1, b2)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	fuzzSeeds(f, JSON)
	f.Add([]byte(`[16,1,{},"t",["\u0000AAE="],{"k":1.0}]`))
	f.Add([]byte(`[36,1,2,{},[1180591620717411303424],{"f":1e400}]`))
	f.Add([]byte("[68,3,4,{},[\"\xff\",[[[]]]]]"))
	f.Add([]byte(`[8,48,6,{},"com.err",[],{"k":"\u0000!!"}]`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, JSON, b) })
}

func FuzzDecodeMsgPack(f *testing.F) {
	fuzzSeeds(f, MsgPack)
	f.Add(mpFrame(f, List{int64(EVENT), int64(1), int64(2), Dict{}}, []byte{0x92, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0, 0x91, 0x90}, []byte{0x81, 0xa1, 'k', 0xd4, 1, 2}))
	f.Add(mpFrame(f, List{int64(YIELD), int64(9), Dict{}}, append([]byte{0x91}, binNest(false, MaxDepth+1)...)))
	// EVENTs and PUBLISHEDs at the edges of what msgpackDecodeDirect takes.
	f.Add([]byte{0x93, 0x11, 0xd0, 0x05, 0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x93, 0x24, 0x01, 0x02, 0x80})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0xc4, 0x00})
	f.Add([]byte{0x96, 0x24, 0x01, 0x02, 0x80, 0xc4, 0x00, 0x80})
	f.Add([]byte{0x96, 0x24, 0x01, 0x02, 0xde, 0, 0, 0x90, 0x80})
	f.Add([]byte{0x94, 0x24, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x80})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0xc0, 0x90})
	// PUBLISH, CALL, INVOCATION, YIELD and RESULT at the edges of what it takes: an empty
	// topic, six elements declared and four present, a bare payload then kwargs, an
	// INVOCATION's registration above 2^53, a CALL's procedure in a str8.
	f.Add([]byte{0x94, 0x10, 0x05, 0x80, 0xa0})
	f.Add([]byte{0x96, 0x32, 0x05, 0x80, 0x90})
	f.Add([]byte{0x95, 0x46, 0x05, 0x80, 0xc4, 0x01, 0x00, 0x80})
	f.Add([]byte{0x94, 0x44, 0x01, 0xcf, 0x00, 0x20, 0, 0, 0, 0, 0, 0x01, 0x80})
	f.Add([]byte{0x95, 0x30, 0x01, 0x80, 0xd9, 0x01, 'p', 0x91, 0x01})
	// Bare payloads, which it reads without value: bin 8, 16 and 32, cut short, or with
	// bytes after them.
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0xc4, 0x02, 0xaa, 0xbb})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0xc5, 0x00, 0x02, 0xaa, 0xbb})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0xc6, 0x00, 0x00, 0x00, 0x02, 0xaa, 0xbb})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0xc4, 0x03, 0xaa, 0xbb})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0xc5, 0x00})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x80, 0xc4, 0x01, 0xaa, 0xbb})
	f.Add([]byte{0x95, 0x24, 0x01, 0x02, 0x83, 0xa8, 'e', 'n', 'c', '_', 'a', 'l', 'g', 'o', 0xa9, 'c', 'r', 'y', 'p', 't', 'o', 'b', 'o', 'x', 0xa7, 'e', 'n', 'c', '_', 'k', 'e', 'y', 0xa2, '0', 'x', 0xae, 'e', 'n', 'c', '_', 's', 'e', 'r', 'i', 'a', 'l', 'i', 'z', 'e', 'r', 0xa4, 'j', 's', 'o', 'n', 0xc4, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, MsgPack, b) })
}

func FuzzDecodeCBOR(f *testing.F) {
	fuzzSeeds(f, CBOR)
	f.Add(cbFrame(f, List{int64(EVENT), int64(1), int64(2), Dict{}}, []byte{0x9f, 0xf9, 0x7e, 0x00, 0xff}, []byte{0xa1, 0x61, 'k', 0xc2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0}))
	f.Add(cbFrame(f, List{int64(YIELD), int64(9), Dict{}}, append([]byte{0x81}, binNest(true, MaxDepth+1)...)))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, CBOR, b) })
}
