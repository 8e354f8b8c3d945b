package wamp

import (
	"bytes"
	"testing"
)

// Fuzz targets for the three decoders (style.md §3.14). Property: Unmarshal never panics
// and fails only with a *ProtocolError; whatever it accepts re-encodes, and the
// re-encoding is a fixed point (decode → encode → decode → encode gives the same bytes).
// Byte comparison rather than DeepEqual: the bytes are what a peer sees. Seeds: every frame of the Autobahn vectors plus every sample message.

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

func fuzzDecode(t *testing.T, s Serializer, b []byte) {
	m, err := s.Unmarshal(b)
	if err != nil {
		if !IsProtocolError(err) {
			t.Fatalf("error is not a protocol error: %T %v", err, err)
		}
		return
	}
	b1, err := s.Marshal(m)
	if err != nil {
		t.Fatalf("accepted %x but cannot re-encode %#v: %v", b, m, err)
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
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, JSON, b) })
}

func FuzzDecodeMsgPack(f *testing.F) {
	fuzzSeeds(f, MsgPack)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, MsgPack, b) })
}

func FuzzDecodeCBOR(f *testing.F) {
	fuzzSeeds(f, CBOR)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, CBOR, b) })
}
