package wamp

import (
	"testing"
)

// A CBOR dict with several values outside the dialect is refused with the same error on
// every read: that of the first such key in sorted order, not whichever Go's map order
// meets first. (Its words reach the peer in an ABORT and the user in a message; the
// decoders' fuzz targets compare errors between two reads of the same bytes.)
func TestCBORDictErrorIsDeterministic(t *testing.T) {
	// {"b": simple(10), "a": "\xff", "c": [1, simple(10)]}, nested once more in a list.
	dict := []byte{0xa3, 0x61, 'b', 0xea, 0x61, 'a', 0x61, 0xff, 0x61, 'c', 0x82, 0x01, 0xea}
	for _, frame := range [][]byte{dict, append([]byte{0x81}, dict...)} {
		_, first := UnmarshalCBOR(frame, NestPayload)
		if first == nil {
			t.Fatalf("%x accepted", frame)
		}
		for range 64 {
			if _, err := UnmarshalCBOR(frame, NestPayload); err == nil || err.Error() != first.Error() {
				t.Fatalf("%x: refused with %q, then with %v", frame, first, err)
			}
		}
		if _, want := UnmarshalCBOR([]byte{0x61, 0xff}, NestPayload); first.Error() != want.Error() {
			t.Errorf("%x: %q, want the error of key \"a\" (%q)", frame, first, want)
		}
	}
}
