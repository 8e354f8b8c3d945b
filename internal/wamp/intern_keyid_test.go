package wamp

import "testing"

// A key id is given out again from keyIDValue's kept ones only while it is the same text:
// events alternating between key ids (a publisher's rotation, two publishers) each get
// their own, in either metadata name, and a value that is not a str under those names is
// read as any other value.
func TestKeyIDsRepeatedAndAlternating(t *testing.T) {
	a, b := "0x51D1751dDfc8c817Bb8f72968071C30189cd4B62", "0x51D1751dDfc8c817Bb8f72968071C30189cd4B63"
	for i, want := range []any{a, a, b, a, "", b, b, int64(7), "0x1", a, "é" + a[2:]} {
		for _, name := range []string{OptEncKey, OptPPTKeyID} {
			f, err := MsgPack.Marshal(&Event{Subscription: 1, Publication: 2, Details: Dict{name: want, OptEncAlgo: EncAlgoCryptobox},
				Payload: Payload{Bare: []byte{1, 2, 3}}})
			if err != nil {
				t.Fatal(err)
			}
			m, err := MsgPack.Unmarshal(f)
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			if got := m.(*Event).Details[name]; got != want {
				t.Fatalf("event %d: %s = %#v, want %#v", i, name, got, want)
			}
		}
	}
}

// A key id with U+0000 first or invalid UTF-8 is refused as any other text value is.
func TestKeyIDRefusedAsText(t *testing.T) {
	for _, bad := range []string{"\x000x51D1751dDfc8c817Bb8f72968071C30189cd4B62", "0x51D1751dDfc8c817Bb8f72968071C30189cd4B6\xff"} {
		// Encoded by hand: the writers refuse such text themselves.
		f := []byte{0x95, 36, 1, 2, 0x81, 0xa7}
		f = append(f, OptEncKey...)
		f = append(f, 0xd9, byte(len(bad)))
		f = append(f, bad...)
		f = append(f, 0xc4, 3, 1, 2, 3)
		if _, ok := msgpackDecodeDirect(f); ok {
			t.Errorf("%q: the fast reader took it", bad)
		}
	}
}

// Two key ids read alternately cost no more than one read again and again: cbx router
// reads a sealed call's CALL, with the caller's key id, and its YIELD, with the callee's,
// turn about, and a subscriber may follow two publishers.
func TestKeyIDsAlternatingKept(t *testing.T) {
	ids := []string{"0x51D1751dDfc8c817Bb8f72968071C30189cd4B62", "0x908Ba8137B43f1140a533322A5aCc6cE2328A312"}
	frames := make([][]byte, len(ids))
	for i, id := range ids {
		f, err := MsgPack.Marshal(&Call{Request: 1, Options: Dict{OptEncAlgo: EncAlgoCryptobox, OptEncSerializer: SerializerJSON, OptEncKey: id},
			Procedure: "com.example.echo", Payload: Payload{Bare: []byte{1, 2, 3}}})
		if err != nil {
			t.Fatal(err)
		}
		frames[i] = f
	}
	read := func(f []byte) {
		if _, err := MsgPack.Unmarshal(f); err != nil {
			t.Fatal(err)
		}
	}
	read(frames[0])
	read(frames[1])
	same := testing.AllocsPerRun(100, func() { read(frames[0]) })
	n := 0
	alternating := testing.AllocsPerRun(100, func() { read(frames[n%2]); n++ })
	if alternating > same {
		t.Errorf("%.1f allocations per CALL with two key ids in turn, %.1f with one", alternating, same)
	}
}
