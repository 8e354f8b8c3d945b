package wamp

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
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
	b []byte
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
		return int(int32(g.u64())) // normalized to int64
	case 11:
		return []string{string(g.bytes()), "x"} // normalized to a list
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
