package wamp

import "testing"

// A key id is given out again from keyIDValue's last one only while it is the same text:
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
		if _, ok := msgpackDecodeEvent(f); ok {
			t.Errorf("%q: the fast reader took it", bad)
		}
	}
}
