package wamp

import "testing"

// Decoding benchmarks. A good frame takes the strict path only; a frame with a refused
// payload is read a second time, element by element (refused.go), which only a frame that
// would otherwise have failed pays for.

func benchFrames(b *testing.B) map[string][]byte {
	b.Helper()
	ev := &Event{Subscription: 1, Publication: 2, Details: Dict{"topic": "com.example.t"},
		Payload: Payload{Args: List{"hello", int64(42), 1.5, List{true, nil, "x"}}, Kwargs: Dict{"k": Dict{"n": int64(7)}}}}
	frames := map[string][]byte{}
	for _, s := range Serializers {
		f, err := s.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		frames[s.Name()] = f
	}
	return frames
}

func BenchmarkUnmarshalEvent(b *testing.B) {
	frames := benchFrames(b)
	for _, s := range Serializers {
		b.Run(s.Name(), func(b *testing.B) {
			f := frames[s.Name()]
			b.SetBytes(int64(len(f)))
			for b.Loop() {
				if _, err := s.Unmarshal(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkUnmarshalRefusedEvent(b *testing.B) {
	fixed := List{int64(EVENT), int64(1), int64(2), Dict{"topic": "com.example.t"}}
	frames := map[Serializer][]byte{
		JSON:    []byte(`[36,1,2,{"topic":"com.example.t"},["hello",42,1.5,[true,null,"x"],1180591620717411303424]]`),
		MsgPack: mpFrame(b, fixed, []byte{0x92, 0xa5, 'h', 'e', 'l', 'l', 'o', 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}),
		CBOR:    cbFrame(b, fixed, []byte{0x82, 0x65, 'h', 'e', 'l', 'l', 'o', 0xf9, 0x7e, 0x00}),
	}
	for _, s := range Serializers {
		b.Run(s.Name(), func(b *testing.B) {
			f := frames[s]
			for b.Loop() {
				m, err := s.Unmarshal(f)
				if err != nil || m.(*Event).Err == nil {
					b.Fatal(m, err)
				}
			}
		})
	}
}
