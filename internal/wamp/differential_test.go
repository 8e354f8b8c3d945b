package wamp

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Differential fuzz tests: each fast reader or writer of the dialect against its reference
// implementation (reference_test.go), on any input. They must agree byte for byte on what
// they write, value for value on what they read, and error for error on what they refuse:
// speed may change nothing a peer or a user can see.

// valueGen builds an arbitrary value, within the dialect or not, from fuzz input: every
// kind of the value model, strings of any bytes (invalid UTF-8, a leading U+0000,
// control characters), any float (NaN, infinities, -0), other Go kinds that normalize
// handles, and nesting past MaxDepth.
type valueGen struct {
	b   []byte
	big int // values of 64 KiB made so far, at most two (memory)
}

func (g *valueGen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *valueGen) bytes() []byte {
	n := min(int(g.byte()%40), len(g.b))
	s := g.b[:n]
	g.b = g.b[n:]
	return s
}

func (g *valueGen) u64() uint64 {
	var x [8]byte
	copy(x[:], g.b)
	g.b = g.b[min(8, len(g.b)):]
	return binary.LittleEndian.Uint64(x[:])
}

func (g *valueGen) value(depth int) any {
	switch k := g.byte(); k % 16 {
	case 0:
		return nil
	case 1:
		return k&0x10 != 0
	case 2:
		return int64(g.u64())
	case 3:
		return int64(int8(g.byte()))
	case 4:
		return g.u64() | 1<<63
	case 5:
		return math.Float64frombits(g.u64())
	case 6:
		return []float64{0, math.Copysign(0, -1), 1, 1e16, 1e-5, 123456.789, 0.1, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(-1)}[g.byte()%11]
	case 7, 8:
		return string(g.bytes())
	case 9:
		return append([]byte(nil), g.bytes()...)
	case 10:
		// Integers at the edges of every MessagePack and CBOR integer form, and an int
		// (normalized to int64).
		edges := []int64{0, 23, 24, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, -1, -24, -25, -32, -33,
			-128, -129, -256, -257, -32768, -32769, -65536, -65537, math.MinInt32, math.MinInt32 - 1, math.MinInt64, math.MaxInt64}
		if k&0x10 != 0 {
			return int(int32(g.u64()))
		}
		return edges[int(g.byte())%len(edges)]
	case 11:
		// Strings, binaries and lists at the edges of the length forms; a []string
		// (normalized to a list).
		n := []int{15, 16, 23, 24, 31, 32, 255, 256, 65535, 65536}[int(g.byte())%10]
		if n > 256 {
			if g.big++; g.big > 2 {
				n = 256
			}
		}
		switch g.byte() % 4 {
		case 0:
			return strings.Repeat("é", n/2) + strings.Repeat("a", n%2)
		case 1:
			return make([]byte, n)
		case 2:
			return make(List, n)
		}
		return []string{string(g.bytes()), "x"}
	case 12, 13:
		if depth > MaxDepth+4 {
			return List{}
		}
		n := int(g.byte() % 5)
		if k&0x80 != 0 {
			n = 1 // deep chains
		}
		l := make(List, n)
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		return l
	default:
		if depth > MaxDepth+4 {
			return Dict{}
		}
		n := int(g.byte() % 5)
		d := make(Dict, n)
		for range n {
			d[string(g.bytes())] = g.value(depth + 1)
		}
		return d
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// FuzzAppendJSONMatchesReference: AppendJSON writes what the reference writer writes, or
// refuses with the same error, for every nesting kind.
func FuzzAppendJSONMatchesReference(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x0e\x03\x05key\x00\x07\x04a\"b\n\x0c\x02\x05\x00\x00\x00\x00\x00\x00\xf0\x3f\x06\x03"))
	f.Add(bytes.Repeat([]byte{0x8c}, MaxDepth+3))
	f.Add([]byte("\x07\x03\xff\xfe\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v := (&valueGen{b: b}).value(0)
		for _, nest := range []Nest{NestValue, NestPayload, NestMessage} {
			prefix := []byte("prefix")
			want, wantErr := refAppendJSON(append([]byte(nil), prefix...), v, nest)
			got, err := AppendJSON(append([]byte(nil), prefix...), v, nest)
			if errText(err) != errText(wantErr) || !bytes.Equal(got, want) {
				t.Fatalf("nest %d: %q, %v\nreference: %q, %v", nest, got, err, want, wantErr)
			}
		}
	})
}

// FuzzMsgpackAppendMatchesReference: msgpackAppend writes what vmihailenco/msgpack's
// Encoder wrote, or refuses with the same error. (The reference may have written part of
// a refused value; only the error is compared then.)
func FuzzMsgpackAppendMatchesReference(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x0e\x03\x05key\x00\x07\x04a\"b\n\x0c\x02\x05\x00\x00\x00\x00\x00\x00\xf0\x3f\x06\x03"))
	f.Add([]byte("\x02\xff\xff\xff\xff\xff\xff\xff\xff\x02\x00\x80\xff\xff\xff\xff\xff\xff\x04\x00\x00\x01\x00"))
	f.Add(bytes.Repeat([]byte{0x8c}, MaxDepth+3))
	f.Fuzz(func(t *testing.T, b []byte) {
		v := (&valueGen{b: b}).value(0)
		for _, nest := range []Nest{NestValue, NestPayload, NestMessage} {
			want, wantErr := refMsgpackAppend(nil, v, nest)
			got, err := msgpackAppend(nil, v, 0, nest.limit())
			if errText(err) != errText(wantErr) || err == nil && !bytes.Equal(got, want) {
				t.Fatalf("nest %d: %x, %v\nreference: %x, %v", nest, got, err, want, wantErr)
			}
		}
	})
}

// refMsgpackDecode is the library-based reader (msgpackReader, which still explains every
// refusal) over a whole frame.
func refMsgpackDecode(b []byte, limit int) (any, error) {
	r := bytes.NewReader(b)
	d := msgpackReader{r: r, dec: msgpack.NewDecoder(r), limit: limit}
	v, err := d.value(0)
	if err == nil && r.Len() != 0 {
		err = protoErrf("msgpack: %d bytes after the message", r.Len())
	}
	return v, err
}

// FuzzMsgpackDecodeMatchesReference: the fast reader accepts exactly the frames the
// library-based reader accepts, and builds the same values from them (so nothing it
// gives up on is lost: Unmarshal then asks the library-based reader). The input is read
// as it is, and also as the encoding of a generated value, cut at some point.
func FuzzMsgpackDecodeMatchesReference(f *testing.F) {
	for _, m := range sampleMessages() {
		if b, err := MsgPack.Marshal(m); err == nil {
			f.Add(b, uint16(0))
		}
	}
	f.Add([]byte("\x0e\x03\x05key\x00\x07\x04a\"b\n\x0c\x02\x05\x00\x00\x00\x00\x00\x00\xf0\x3f\x06\x03"), uint16(1))
	f.Add([]byte("\x0b\x07\x02"), uint16(0xffff))
	f.Add([]byte{0xca, 0x7f, 0xc0, 0, 0}, uint16(0))
	f.Add([]byte{0x81, 0xa0, 0xc4, 0x00}, uint16(0))
	f.Fuzz(func(t *testing.T, b []byte, mode uint16) {
		if mode%2 == 1 {
			enc, err := msgpackAppend(nil, (&valueGen{b: b}).value(0), 0, MaxDepth+5)
			if err != nil {
				return
			}
			if cut := int(mode >> 1); cut < len(enc) && mode>>1 != 0x7fff {
				enc = enc[:cut]
			}
			b = enc
		}
		for _, limit := range []int{NestValue.limit(), NestMessage.limit()} {
			want, wantErr := refMsgpackDecode(b, limit)
			got, ok := msgpackDecode(b, limit)
			if ok != (wantErr == nil) || ok && !reflect.DeepEqual(got, want) {
				t.Fatalf("limit %d, %x: fast %#v, %v\nreference %#v, %v", limit, b, got, ok, want, wantErr)
			}
		}
	})
}

// FuzzUnmarshalJSONMatchesReference: the one-pass reader returns what the two-pass
// reader returned, value for value and error for error (the same type, text and offset),
// at every nesting kind. The input is read as it is, and also as the JSON of a generated
// value, cut at some point.
func FuzzUnmarshalJSONMatchesReference(f *testing.F) {
	for _, s := range []string{`[1,"a",{"k":[true,null,-0,1.5e3,"\u0000AA=="]}]`, `{"uri":"u","args":[1],"kwargs":null}`,
		`[1180591620717411303424, 1e400, 1e-400]`, "[\"\x01\"]", `"\ud800"`, `"\ud83d\ude00"`, ` [[[]]] `, `[1,]`, `{"a":1,}`,
		`-`, `01`, `[-123456789012345678,1234567890123456789]`, strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2)} {
		f.Add([]byte(s), uint16(0))
	}
	f.Add([]byte("\x0e\x03\x05key\x00\x07\x04a\"b\n\x0c\x02\x05\x00\x00\x00\x00\x00\x00\xf0\x3f\x06\x03"), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, mode uint16) {
		if mode%2 == 1 {
			enc, err := AppendJSON(nil, (&valueGen{b: b}).value(0), NestValue)
			if err != nil {
				return
			}
			if cut := int(mode >> 1); cut < len(enc) && mode>>1 != 0x7fff {
				enc = enc[:cut]
			}
			b = enc
		}
		for _, nest := range []Nest{NestValue, NestPayload, NestMessage} {
			want, wantErr := refUnmarshalJSON(b, nest)
			got, err := UnmarshalJSON(b, nest)
			if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("nest %d, %q:\n %#v, %#v\nreference:\n %#v, %#v", nest, b, got, err, want, wantErr)
			}
		}
	})
}

// plainRun, which tests eight bytes at a time (over a []byte or a string), stops exactly where the byte-by-byte test
// (jsonPlain) stops, for every byte value at every position of a word and across word
// boundaries, and says whether the run was ASCII.
func TestPlainRun(t *testing.T) {
	for c := range 256 {
		for start := range 4 {
			for p := start; p < 20; p++ {
				b := bytes.Repeat([]byte{'a'}, 20)
				b[p] = byte(c)
				want, wantASCII := p, true
				if jsonPlain[c] {
					want, wantASCII = len(b), c < 0x80
				}
				if got, ascii := plainRun(b, start); got != want || ascii != wantASCII {
					t.Fatalf("byte %#x at %d from %d: %d, %v; want %d, %v", c, p, start, got, ascii, want, wantASCII)
				}
				if got, ascii := plainRun(string(b), start); got != want || ascii != wantASCII {
					t.Fatalf("string: byte %#x at %d from %d: %d, %v; want %d, %v", c, p, start, got, ascii, want, wantASCII)
				}
			}
		}
	}
}

// The writer skips the bytes plainRun passes and escapes from the first one it stops at:
// every character that needs an escape (and a non-ASCII one), at every position of a
// string across word boundaries, once and twice, comes out as the reference writes it.
func TestAppendJSONTextEveryPosition(t *testing.T) {
	var specials []string
	for c := range 0x80 {
		if !jsonPlain[c] {
			specials = append(specials, string(rune(c)))
		}
	}
	specials = append(specials, "é", "\u2028", "\U0001F600", "\x7f")
	for _, sp := range specials {
		for p := range 20 {
			for _, twice := range []bool{false, true} {
				s := "z" + strings.Repeat("a", p) + sp + strings.Repeat("b", 19-p) // "z": U+0000 first is binary
				if twice {
					s += sp + "c"
				}
				got, err := AppendJSONText([]byte("x"), s)
				want, wantErr := refAppendJSON([]byte("x"), s, NestValue)
				if err != nil || wantErr != nil || !bytes.Equal(got, want) {
					t.Fatalf("%q: %q, %v; reference %q, %v", s, got, err, want, wantErr)
				}
			}
		}
	}
}
