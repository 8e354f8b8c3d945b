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

// BenchmarkUnmarshalSealedCall: the sealed CALL and YIELD of one round trip of issue 10's
// call benchmark, as cbx router reads them in turn (each with its sender's key id; 180
// sealed bytes), in msgpack: two messages per op.
func BenchmarkUnmarshalSealedCall(b *testing.B) {
	var frames [][]byte
	for _, m := range []Message{
		&Call{Request: 7, Options: Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"},
			Procedure: "com.bench.sealed.1.echo", Payload: Payload{Bare: make([]byte, 180)}},
		&Yield{Request: 9, Options: Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x908Ba8137B43f1140a533322A5aCc6cE2328A312"},
			Payload: Payload{Bare: make([]byte, 180)}},
	} {
		f, err := MsgPack.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, f)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range frames {
			if _, err := MsgPack.Unmarshal(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// appendSortedEntries orders every dict as slices.Sort orders its keys, whichever way it
// sorts (insertion up to maxInsertionSort entries, SortFunc above), appending after what
// the slice already holds.
func TestAppendSortedEntries(t *testing.T) {
	keys := []string{"topic", "enc_key", "acknowledge", "enc_algo", "", "é", "enc_serializer", "a", "ab", "b", "\x00", "zz", "Z", "_x", "9"}
	for n := 0; n <= len(keys); n++ {
		m := map[string]any{}
		for i, k := range keys[:n] {
			m[k] = i
		}
		pre := dictEntry{"pre", nil}
		got := appendSortedEntries([]dictEntry{pre}, m)
		want := sortedKeys(m)
		if len(got) != n+1 || got[0] != pre {
			t.Fatalf("%d keys: %v", n, got)
		}
		for i, k := range want {
			if got[i+1].k != k || got[i+1].v != m[k] {
				t.Fatalf("%d keys: entry %d is %q=%v, want %q=%v", n, i, got[i+1].k, got[i+1].v, k, m[k])
			}
		}
	}
}
