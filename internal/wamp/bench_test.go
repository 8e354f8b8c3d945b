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

// The messages of issue 10's figures: a PUBLISH and an EVENT of 100 bytes of arguments,
// in plaintext and sealed (a 173-byte bare payload, what the legacy form carries for
// them), as a publisher marshals them and a subscriber unmarshals them once per event.
func benchPubSub() map[string]Message {
	args := List{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", int64(12345)}
	sealed := make([]byte, 173)
	enc := Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON}
	return map[string]Message{
		"publish-plain":  &Publish{Request: 7, Options: Dict{OptAcknowledge: true}, Topic: "com.example.bench", Payload: Payload{Args: args}},
		"publish-sealed": &Publish{Request: 7, Options: Dict{OptAcknowledge: true, OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON}, Topic: "com.example.bench", Payload: Payload{Bare: sealed}},
		"event-plain":    &Event{Subscription: 1, Publication: 2, Details: Dict{}, Payload: Payload{Args: args}},
		"event-sealed":   &Event{Subscription: 1, Publication: 2, Details: enc, Payload: Payload{Bare: sealed}},
	}
}

func BenchmarkMarshal(b *testing.B) {
	for _, s := range Serializers {
		for _, name := range []string{"publish-plain", "publish-sealed", "event-plain", "event-sealed"} {
			m := benchPubSub()[name]
			b.Run(s.Name()+"/"+name, func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Marshal(m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, s := range Serializers {
		for _, name := range []string{"publish-plain", "publish-sealed", "event-plain", "event-sealed"} {
			f, err := s.Marshal(benchPubSub()[name])
			if err != nil {
				b.Fatal(err)
			}
			b.Run(s.Name()+"/"+name, func(b *testing.B) {
				b.SetBytes(int64(len(f)))
				for b.Loop() {
					if _, err := s.Unmarshal(f); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// The JSON form of the dialect on its own, for a --stdin line and an output line.
func BenchmarkUnmarshalJSON(b *testing.B) {
	line := []byte(`["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",12345]`)
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := UnmarshalJSON(line, NestPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	v := Dict{"topic": "com.example.bench", "publication": int64(1234567), "sealed": true,
		"args": List{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", int64(12345), 1.5}, "kwargs": Dict{}}
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = AppendJSON(buf[:0], v, NestPayload); err != nil {
			b.Fatal(err)
		}
	}
}

// benchSealer seals as e2e.Codec does in the legacy form, minus the cryptography: a
// 173-byte bare payload and the three enc_* options, in a new Dict each time.
type benchSealer struct{ sealed []byte }

func (c benchSealer) Seal(bool, string, List, Dict) (Payload, Dict, bool, error) {
	return Payload{Bare: c.sealed}, Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"}, true, nil
}
func (benchSealer) Sealed(Payload, Dict) bool { return false }
func (benchSealer) Open(bool, string, Payload, Dict) (List, Dict, Dict, error) {
	return nil, nil, nil, nil
}

// BenchmarkPublishEncode: what a publisher's session does per event before the write,
// sealed (with benchSealer) and plain: the options, the codec, the PUBLISH encoded in
// msgpack.
func BenchmarkPublishEncode(b *testing.B) {
	args := List{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", int64(12345)}
	for _, sealed := range []bool{false, true} {
		name := "plain"
		s := &Session{conn: &Conn{ser: MsgPack, maxSize: DefaultMaxMessageSize}}
		if sealed {
			name = "sealed"
			s.cfg.Codec = benchSealer{sealed: make([]byte, 173)}
		}
		b.Run(name, func(b *testing.B) {
			opts := Dict{}
			id := ID(5512315355)
			for b.Loop() {
				p, o, err := s.seal(true, "com.example.bench", args, nil, opts)
				if err != nil {
					b.Fatal(err)
				}
				o[OptAcknowledge] = true
				if _, err := s.encode(&Publish{Request: id, Options: o, Topic: "com.example.bench", Payload: p}); err != nil {
					b.Fatal(err)
				}
				id++
			}
		})
	}
}
