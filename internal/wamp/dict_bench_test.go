package wamp

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"testing"
)

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

// A dict msgpackDict encodes while it keeps another that names a key id (keyedDict)
// comes out exactly as it does with nothing kept: only a dict with the same entries, of
// the same types, reuses the kept bytes.
func TestKeyedDictMemo(t *testing.T) {
	kept := Dict{OptAcknowledge: true, OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"}
	with := func(k string, v any) Dict {
		d := Dict{}
		for kk, vv := range kept {
			d[kk] = vv
		}
		if v == nil {
			delete(d, k)
		} else {
			d[k] = v
		}
		return d
	}
	for _, d := range []Dict{
		with(OptEncKey, "0x51D1751dDfc8c817Bb8f72968071C30189cd4B63"),
		with(OptEncKey, []byte("0x51D1751dDfc8c817Bb8f72968071C30189cd4B62")),
		with(OptEncKey, List{"0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"}),
		with(OptEncKey, Dict{"k": "v"}),
		with(OptAcknowledge, false),
		with(OptAcknowledge, int64(1)),
		with(OptAcknowledge, nil),
		with("x", int64(0)),
		with("x", uint64(0)),
		with("x", 0.0),
		with("x", math.Copysign(0, -1)),
		with("x", nil),
		{OptEncKey: int64(1)},
		{OptEncKey: uint64(1)},
		{OptEncKey: 1.0},
		{OptPPTKeyID: "0xA", OptPPTScheme: PPTSchemeWAMP},
		{OptPPTKeyID: "0xA", OptPPTScheme: PPTSchemeWAMP, "y": "\xff"},
		kept,
	} {
		for _, first := range []Dict{kept, d} {
			keyedDicts.reset()
			want, wantErr := msgpackDict(nil, d, 0, 64)
			keyedDicts.reset()
			msgpackDict(nil, first, 0, 64) // kept, unless refused
			for range 2 {                  // the second time, d may have been kept itself
				got, err := msgpackDict(nil, d, 0, 64)
				if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
					t.Fatalf("%v after %v: %x, %v; with nothing kept %x, %v", d, first, got, err, want, wantErr)
				}
			}
		}
	}
	keyedDicts.reset()
}

// A dict read while another that names a key id is kept (keyedRead) is what it is with
// nothing kept, and each one read is a map of its own.
func TestKeyedReadMemo(t *testing.T) {
	kept := Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62"}
	dicts := []Dict{
		kept,
		{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B63"},
		{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON},
		{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62", "x": int64(1)},
		{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: []byte("0x51")},
		{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: List{int64(1)}, OptEncKey: "0x51"},
		{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: Dict{OptEncKey: "0x51"}, OptEncKey: "0x51"},
		{OptPPTKeyID: "0xA", OptPPTScheme: PPTSchemeWAMP, "n": 1.5},
		{OptPPTKeyID: "0xA", OptPPTScheme: PPTSchemeWAMP, "n": int64(-3), "b": false},
	}
	frames := make([][]byte, len(dicts))
	for i, d := range dicts {
		f, err := MsgPack.Marshal(&Event{Subscription: 1, Publication: 2, Details: d, Payload: Payload{Bare: []byte{1}}})
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = f
	}
	for i, f := range frames {
		keyedReads.reset()
		want, err := MsgPack.Unmarshal(f)
		if err != nil {
			t.Fatal(err)
		}
		for j := range frames {
			keyedReads.reset()
			MsgPack.Unmarshal(frames[j]) // kept, if it may be
			for range 2 {                // the second time, f's own dict may be kept
				got, err := MsgPack.Unmarshal(f)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Fatalf("dict %d after %d: %#v, %v; with nothing kept %#v", i, j, got, err, want)
				}
				got.(*Event).Details["changed"] = true // the next one read must not see it
			}
		}
	}
	keyedReads.reset()
}

// Where keyed dicts of more senders interleave than there are slots, a kept one is not
// replaced at every other dict (which would copy each and match none) but at every
// keptReplaceEvery-th, when encoding and when reading; until the slots are full, each
// new one is kept at once, and those kept go on matching.
func TestKeptReplacedSeldom(t *testing.T) {
	dicts := make([]Dict, keptSlots+1)
	frames := make([][]byte, len(dicts))
	for i := range dicts {
		dicts[i] = Dict{OptEncAlgo: EncAlgoCryptobox, OptEncKey: fmt.Sprintf("0x%X", i+10)}
		f, err := MsgPack.Marshal(&Event{Subscription: 1, Publication: 2, Details: dicts[i], Payload: Payload{Bare: []byte{1}}})
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = f
	}
	keyedDicts.reset()
	keyedReads.reset()
	defer keyedDicts.reset()
	defer keyedReads.reset()
	// keptDict and keptRead say which slot holds dicts[i], or -1.
	keptDict := func(i int) int {
		for s := range keyedDicts.slots {
			if d := keyedDicts.slots[s].Load(); d != nil && d.matches(dicts[i]) {
				return s
			}
		}
		return -1
	}
	keptRead := func(i int) int {
		for s := range keyedReads.slots {
			if r := keyedReads.slots[s].Load(); r != nil && bytes.HasPrefix(frames[i][4:], r.raw) {
				return s
			}
		}
		return -1
	}
	for i := range keptSlots {
		msgpackDict(nil, dicts[i], 0, 64)
		MsgPack.Unmarshal(frames[i])
		if keptDict(i) != i || keptRead(i) != i {
			t.Fatalf("dict %d kept in slots %d and %d, want %d (a slot was free)", i, keptDict(i), keptRead(i), i)
		}
	}
	last := keptSlots
	for n := 1; n <= keptReplaceEvery; n++ {
		for i := range keptSlots { // those kept match, and are not counted as misses
			msgpackDict(nil, dicts[i], 0, 64)
			MsgPack.Unmarshal(frames[i])
		}
		msgpackDict(nil, dicts[last], 0, 64)
		MsgPack.Unmarshal(frames[last])
		if (keptDict(last) >= 0) != (keptRead(last) >= 0) {
			t.Fatalf("after %d misses: the encoding's and the reading's kept dicts differ in being replaced", n)
		}
		if keptDict(last) >= 0 {
			if n != keptReplaceEvery {
				t.Fatalf("kept after %d misses, want %d", n, keptReplaceEvery)
			}
			if keptDict(last) != 0 || keptRead(last) != 0 || keptDict(0) >= 0 || keptRead(0) >= 0 {
				t.Fatal("the new dict did not replace the one kept longest")
			}
			for i := 1; i < keptSlots; i++ {
				if keptDict(i) != i || keptRead(i) != i {
					t.Fatalf("dict %d is no longer kept where it was", i)
				}
			}
			return
		}
	}
	t.Fatalf("not kept after %d misses", keptReplaceEvery)
}

// reset empties k (tests only).
func (k *kept[T]) reset() {
	for i := range k.slots {
		k.slots[i].Store(nil)
	}
	k.next.Store(0)
	k.misses.Store(0)
}

// Kept texts (key ids, topics and procedures, a plaintext's URI) follow the same rule as
// kept dicts: the first keptSlots are kept at once and then read without allocating,
// and a further one in turn with them is kept only at every keptReplaceEvery-th miss,
// in place of the one kept longest, so that more texts in turn than slots cost each
// message no copy of its own.
func TestKeptTextsReplacedSeldom(t *testing.T) {
	var k kept[internedName]
	texts := make([][]byte, keptSlots+1)
	for i := range texts {
		texts[i] = fmt.Appendf(nil, "com.example.topic.%d", i)
	}
	isKept := func(i int) int {
		for s := range k.slots {
			if n := k.slots[s].Load(); n != nil && n.s == string(texts[i]) {
				return s
			}
		}
		return -1
	}
	for i := range keptSlots {
		if v := keptValue(&k, texts[i]); v != string(texts[i]) || isKept(i) != i {
			t.Fatalf("text %d: %v, kept in slot %d, want %d (a slot was free)", i, v, isKept(i), i)
		}
	}
	if a := testing.AllocsPerRun(100, func() {
		for i := range keptSlots {
			keptValue(&k, texts[i])
		}
	}); a != 0 {
		t.Fatalf("reading the kept texts allocated %v times", a)
	}
	last := keptSlots
	for n := 1; n <= keptReplaceEvery; n++ {
		if v := keptValue(&k, texts[last]); v != string(texts[last]) {
			t.Fatalf("got %v", v)
		}
		switch s := isKept(last); {
		case s < 0 && n < keptReplaceEvery:
		case s == 0 && n == keptReplaceEvery && isKept(0) < 0:
			for i := 1; i < keptSlots; i++ {
				if isKept(i) != i {
					t.Fatalf("text %d is no longer kept where it was", i)
				}
			}
			return
		default:
			t.Fatalf("after %d misses the new text is in slot %d", n, s)
		}
	}
}
