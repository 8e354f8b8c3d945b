package wamp

import "testing"

// BenchmarkMsgpackOptionsDict: a sealed PUBLISH's options (acknowledge and the three
// enc_* options) in msgpack, the dict every sealed event carries.
func BenchmarkMsgpackOptionsDict(b *testing.B) {
	d := Dict{OptAcknowledge: true, OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"}
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = msgpackDict(buf[:0], d, 0, 64); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJSONOptionsDict: the same dict in JSON.
func BenchmarkJSONOptionsDict(b *testing.B) {
	d := Dict{OptAcknowledge: true, OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"}
	w := jsonWriter{limit: 64}
	for b.Loop() {
		w.buf = w.buf[:0]
		if err := w.dict(d, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalSealedEvent: the EVENT a subscriber of issue 10's sealed benchmark
// reads (cbx router's Details: the three enc_* values; 160 sealed bytes), in msgpack.
func BenchmarkUnmarshalSealedEvent(b *testing.B) {
	f, err := MsgPack.Marshal(&Event{Subscription: 1, Publication: 4431809937765355,
		Details: Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"},
		Payload: Payload{Bare: make([]byte, 160)}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MsgPack.Unmarshal(f); err != nil {
			b.Fatal(err)
		}
	}
}
