package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdRepeat is "repeat FILE COUNT TEXT": it writes TEXT COUNT times to FILE, for inputs
// too large to keep in a script (cbx open's 64 MiB limit).
func cmdRepeat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: repeat FILE COUNT TEXT")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), bytes.Repeat([]byte(args[2]), n), 0o600))
}

// ---- adapters: the paths a value takes through cbx ---------------------------------

const dialectDepth = wamp.MaxDepth

// testCodec is the codec cbx seal and cbx open use, over a keystore with one single key
// (the default entry), and that key's box.
func testCodec() (*e2e.Codec, *box.SharedKey) {
	var priv box.PrivateKey
	priv[0] = 7
	ks := keystore.New()
	if err := ks.Put(&keystore.Entry{Prefix: "", Single: &priv}); err != nil {
		panic(err) // a fixed, valid key
	}
	return e2e.NewCodec(ks, "test", e2e.WireLegacy), ks.Entries()[0].Key(true)
}

// refusedAs: refused, for the given reason.
func refusedAs(err error, kind error) bool { return err != nil && errors.Is(err, kind) }

func pathCLIArg(s string) (any, error) {
	l, _, err := (&valueReader{}).payload([]string{s}, nil, &valueOptions{})
	if err != nil {
		return nil, err
	}
	return l[0], nil
}

func pathCLIKwarg(s string) (any, error) {
	_, d, err := (&valueReader{}).payload(nil, []string{"k=" + s}, &valueOptions{})
	if err != nil {
		return nil, err
	}
	return d["k"], nil
}

func pathStdinList(s string) (any, error) {
	ev, err := parseEventLine([]byte("[" + s + "]"))
	if err != nil {
		return nil, err
	}
	return ev.args[0], nil
}

func pathStdinObject(s string) (any, error) {
	ev, err := parseEventLine([]byte(`{"args":[` + s + `],"kwargs":{"k":` + s + `}}`))
	if err != nil {
		return nil, err
	}
	if !sameValue(ev.args[0], ev.kwargs["k"]) {
		return nil, fmt.Errorf("args and kwargs differ: %#v %#v", ev.args[0], ev.kwargs["k"])
	}
	return ev.args[0], nil
}

func pathOutput(v any) (string, error) {
	b, err := marshalOutput(v)
	return string(b), err
}

// pathSealOpen seals a Go value as cbx seal does and opens it as cbx open does.
func pathSealOpen(v any) (any, error) {
	c, _ := testCodec()
	p, err := c.SealMessage(true, e2e.Message{URI: "u", Args: []any{v}})
	if err != nil {
		return nil, err
	}
	m, err := c.OpenMessage(false, "u", p)
	if err != nil {
		return nil, err
	}
	return m.Args[0], nil
}

// pathOpenText opens a plaintext sealed by someone else (Autobahn writes its JSON text).
func pathOpenText(jsonText string) (any, error) {
	c, k := testCodec()
	p, err := k.Seal([]byte(`{"uri":"u","args":[` + jsonText + `],"kwargs":{}}`))
	if err != nil {
		return nil, err
	}
	m, err := c.OpenMessage(false, "u", p)
	if err != nil {
		return nil, err
	}
	return m.Args[0], nil
}

func pathPPT(v any) (any, error) {
	b, err := e2e.EncodePPTPlaintext(e2e.Message{URI: "u", Args: []any{v}})
	if err != nil {
		return nil, err
	}
	m, err := e2e.DecodePPTPlaintext(b)
	if err != nil {
		return nil, err
	}
	return m.Args[0], nil
}

// pathPPTBytes decodes a PPT plaintext {"uri":"u","args":[v],"kwargs":{}} whose value is
// given in CBOR.
func pathPPTBytes(cborValue []byte) (any, error) {
	b := append([]byte{0xa3, 0x63, 'u', 'r', 'i', 0x61, 'u', 0x64, 'a', 'r', 'g', 's', 0x81}, cborValue...)
	b = append(b, 0x66, 'k', 'w', 'a', 'r', 'g', 's', 0xa0)
	m, err := e2e.DecodePPTPlaintext(b)
	if err != nil {
		return nil, err
	}
	return m.Args[0], nil
}

// ---- the table ---------------------------------------------------------------------

// dialectRow is one edge value. json is how a user or Autobahn writes it; goValue is
// what a Go caller hands the encoders; msgpack and cbor are its encodings on those wires
// (nil: the format cannot express it). Exactly one of want and refuse is set; out is how
// cbx prints an accepted value.
type dialectRow struct {
	name          string
	json          string
	goValue       any
	msgpack, cbor []byte
	want          any
	out           string
	refuse        error
}

func nested(levels int) any {
	var v any = []any{}
	for range levels - 1 {
		v = []any{v}
	}
	return v
}

func nestedJSON(levels int) string {
	return strings.Repeat("[", levels) + strings.Repeat("]", levels)
}

func nestedBin(prefix byte, levels int) []byte {
	return append(bytes.Repeat([]byte{prefix}, levels-1), prefix&0xf0) // ... [ [] ]
}

func be64(u uint64) []byte {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(u >> (56 - 8*i))
	}
	return b
}

var (
	errKindInteger = wamp.ErrIntegerRange
	errKindFloat   = wamp.ErrFloatRange
	errKindUTF8    = wamp.ErrInvalidUTF8
	errKindDepth   = wamp.ErrTooDeep
	errKindBinary  = wamp.ErrBinaryText
)

func dialectRows() []dialectRow {
	negZero := math.Copysign(0, -1)
	return []dialectRow{
		{name: "2^53+1", json: "9007199254740993", goValue: int64(1<<53 + 1),
			msgpack: append([]byte{0xcf}, be64(1<<53+1)...), cbor: append([]byte{0x1b}, be64(1<<53+1)...),
			want: int64(1<<53 + 1), out: "9007199254740993"},
		{name: "2^64-1", json: "18446744073709551615", goValue: uint64(math.MaxUint64),
			msgpack: append([]byte{0xcf}, be64(math.MaxUint64)...), cbor: append([]byte{0x1b}, be64(math.MaxUint64)...),
			want: uint64(math.MaxUint64), out: "18446744073709551615"},
		{name: "-2^63", json: "-9223372036854775808", goValue: int64(math.MinInt64),
			msgpack: append([]byte{0xd3}, be64(1<<63)...), cbor: append([]byte{0x3b}, be64(1<<63-1)...),
			want: int64(math.MinInt64), out: "-9223372036854775808"},
		{name: "2^64", json: "18446744073709551616", goValue: json.Number("18446744073709551616"),
			cbor: append([]byte{0xc2, 0x49, 0x01}, make([]byte, 8)...), refuse: errKindInteger},
		{name: "-2^63-1", json: "-9223372036854775809", goValue: json.Number("-9223372036854775809"),
			cbor: append([]byte{0x3b}, be64(1<<63)...), refuse: errKindInteger},
		{name: "2^70", json: "1180591620717411303424", goValue: json.Number("1180591620717411303424"),
			cbor: append([]byte{0xc2, 0x49, 0x40}, make([]byte, 8)...), refuse: errKindInteger},
		{name: "1e400", json: "1e400", goValue: math.Inf(1),
			msgpack: append([]byte{0xcb}, be64(math.Float64bits(math.Inf(1)))...),
			cbor:    append([]byte{0xfb}, be64(math.Float64bits(math.Inf(1)))...), refuse: errKindFloat},
		{name: "1e-400", json: "1e-400", goValue: json.Number("1e-400"), refuse: errKindFloat},
		{name: "NaN", json: "", goValue: math.NaN(),
			msgpack: append([]byte{0xcb}, be64(math.Float64bits(math.NaN()))...),
			cbor:    []byte{0xf9, 0x7e, 0x00}, refuse: errKindFloat},
		{name: "-0", json: "-0", goValue: int64(0), msgpack: []byte{0x00}, cbor: []byte{0x00},
			want: int64(0), out: "0"},
		{name: "-0.0", json: "-0.0", goValue: negZero,
			msgpack: append([]byte{0xcb}, be64(math.Float64bits(negZero))...),
			cbor:    append([]byte{0xfb}, be64(math.Float64bits(negZero))...), want: negZero, out: "-0.0"},
		{name: "1.0", json: "1.0", goValue: 1.0,
			msgpack: append([]byte{0xcb}, be64(math.Float64bits(1))...),
			cbor:    append([]byte{0xfb}, be64(math.Float64bits(1))...), want: 1.0, out: "1.0"},
		{name: "1e16", json: "1e16", goValue: 1e16,
			msgpack: append([]byte{0xcb}, be64(math.Float64bits(1e16))...),
			cbor:    append([]byte{0xfb}, be64(math.Float64bits(1e16))...), want: 1e16, out: "1e+16"},
		{name: "depth at the limit", json: nestedJSON(dialectDepth), goValue: nested(dialectDepth),
			msgpack: nestedBin(0x91, dialectDepth), cbor: nestedBin(0x81, dialectDepth),
			want: nested(dialectDepth), out: nestedJSON(dialectDepth)},
		{name: "depth beyond the limit", json: nestedJSON(dialectDepth + 1), goValue: nested(dialectDepth + 1),
			msgpack: nestedBin(0x91, dialectDepth+1), cbor: nestedBin(0x81, dialectDepth+1), refuse: errKindDepth},
		{name: "invalid UTF-8", json: "\"a\xffb\"", goValue: "a\xffb",
			msgpack: []byte{0xa3, 'a', 0xff, 'b'}, cbor: []byte{0x63, 'a', 0xff, 'b'}, refuse: errKindUTF8},
		{name: "lone surrogate", json: `"\ud800"`, goValue: "\xed\xa0\x80",
			msgpack: []byte{0xa3, 0xed, 0xa0, 0x80}, cbor: []byte{0x63, 0xed, 0xa0, 0x80}, refuse: errKindUTF8},
		{name: "binary", json: `"\u0000AAH+/w=="`, goValue: []byte{0, 1, 0xfe, 0xff},
			msgpack: []byte{0xc4, 4, 0, 1, 0xfe, 0xff}, cbor: []byte{0x44, 0, 1, 0xfe, 0xff},
			want: []byte{0, 1, 0xfe, 0xff}, out: `"\u0000AAH+/w=="`},
		{name: "text starting with U+0000", json: `"\u0000abc"`, goValue: "\x00abc",
			msgpack: []byte{0xa4, 0, 'a', 'b', 'c'}, cbor: []byte{0x64, 0, 'a', 'b', 'c'}, refuse: errKindBinary},
		{name: "unicode text", json: `"grüße ✓\n"`, goValue: "grüße ✓\n",
			msgpack: append([]byte{0xa0 | byte(len("grüße ✓\n"))}, "grüße ✓\n"...), cbor: append([]byte{0x60 | byte(len("grüße ✓\n"))}, "grüße ✓\n"...),
			want: "grüße ✓\n", out: `"grüße ✓\n"`},
	}
}

// sameValue is DeepEqual that also tells -0.0 from 0.0.
func sameValue(a, b any) bool {
	if fa, ok := a.(float64); ok {
		fb, ok := b.(float64)
		return ok && fa == fb && math.Signbit(fa) == math.Signbit(fb)
	}
	return reflect.DeepEqual(a, b)
}

// show prints a value for a failure message, shortened.
func show(v any) string {
	s := fmt.Sprintf("%#v (%T)", v, v)
	if len(s) > 120 {
		s = s[:100] + "…" + s[len(s)-20:]
	}
	return s
}

// frame wraps a value's encoding in PUBLISH [16, 1, {}, "t", [v]] for each serializer.
func frame(s wamp.Serializer, r dialectRow) []byte {
	switch s {
	case wamp.JSON:
		if r.json == "" {
			return nil
		}
		return []byte(`[16,1,{},"t",[` + r.json + `]]`)
	case wamp.MsgPack:
		if r.msgpack == nil {
			return nil
		}
		return append([]byte{0x95, 0x10, 0x01, 0x80, 0xa1, 't', 0x91}, r.msgpack...)
	default:
		if r.cbor == nil {
			return nil
		}
		return append([]byte{0x85, 0x10, 0x01, 0xa0, 0x61, 't', 0x81}, r.cbor...)
	}
}

// TestValueDialectAllPaths holds every path a value takes through cbx to the same table:
// command-line arguments (ARG and -k), --stdin lines (both forms), printing, seal → open
// of the legacy JSON plaintext (from a Go value and from another sealer's JSON text), the
// PPT CBOR plaintext, and the json, msgpack and cbor session serializers (encode of the Go
// value, decode of the wire bytes). Each row is accepted as exactly the same value by
// every path, or refused by every path for the same reason.
func TestValueDialectAllPaths(t *testing.T) {
	for _, r := range dialectRows() {
		t.Run(r.name, func(t *testing.T) {
			check := func(path string, got any, err error) {
				t.Helper()
				if r.refuse != nil || r.want == nil {
					if !refusedAs(err, r.refuse) {
						t.Errorf("%s: got %s, %v; want refused (%v)", path, show(got), err, r.refuse)
					}
					return
				}
				if err != nil {
					t.Errorf("%s: %v; want %s", path, err, show(r.want))
				} else if !sameValue(got, r.want) {
					t.Errorf("%s: got %s, want %s", path, show(got), show(r.want))
				}
			}
			if r.json != "" {
				v, err := pathCLIArg(r.json)
				check("argument", v, err)
				v, err = pathCLIKwarg(r.json)
				check("-k value", v, err)
				v, err = pathStdinList(r.json)
				check("--stdin list line", v, err)
				v, err = pathStdinObject(r.json)
				check("--stdin object line", v, err)
				v, err = pathOpenText(r.json)
				check("open of a JSON plaintext", v, err)
			}
			v, err := pathSealOpen(r.goValue)
			check("seal → open", v, err)
			v, err = pathPPT(r.goValue)
			check("PPT plaintext", v, err)
			if r.cbor != nil {
				v, err = pathPPTBytes(r.cbor)
				check("PPT plaintext bytes", v, err)
			}
			if r.refuse == nil {
				out, err := pathOutput(r.want)
				if err != nil || out != r.out {
					t.Errorf("printed as %s (%v), want %s", out, err, r.out)
				}
			}
			for _, s := range wamp.Serializers {
				b, err := s.Marshal(&wamp.Publish{Request: 1, Topic: "t", Payload: wamp.Payload{Args: wamp.List{r.goValue}}})
				if err == nil {
					var m wamp.Message
					m, err = s.Unmarshal(b)
					if err == nil {
						check(s.Name()+" encode+decode", m.(*wamp.Publish).Args[0], nil)
					}
				}
				if err != nil {
					check(s.Name()+" encode+decode", nil, err)
				}
				if f := frame(s, r); f != nil {
					// A value outside the dialect in a payload refuses the payload
					// (Payload.Err), not the frame.
					m, err := s.Unmarshal(f)
					if err == nil {
						err = m.(*wamp.Publish).Err
					}
					if err != nil {
						check(s.Name()+" decode", nil, err)
					} else {
						check(s.Name()+" decode", m.(*wamp.Publish).Args[0], nil)
					}
				}
			}
		})
	}
}

// TestArgumentRefusals: what the dialect refuses on the command line is a usage error
// (exit 2) that names the argument and says why, with a hint on how to send it; nothing
// is sealed. Text that is not JSON is a string, unless it is not UTF-8.
func TestArgumentRefusals(t *testing.T) {
	binaryHint := `cbx: hint: binary data goes as the JSON string "\u0000" followed by standard padded base64`
	for _, c := range []struct {
		args       []string
		err, hint  string
		wantString bool
	}{
		{args: []string{"a\xffb"}, err: `cbx: error: argument "a\xffb": text is not valid UTF-8`, hint: binaryHint},
		{args: []string{"\"a\xffb\""}, err: `cbx: error: argument "\"a\xffb\"": text is not valid UTF-8 (the string at byte 0)`, hint: binaryHint},
		{args: []string{`"\u0000abc"`}, err: `cbx: error: argument "\"\\u0000abc\"": a string starting with U+0000 is binary`, hint: binaryHint},
		{args: []string{"-k", "k=[1e400]"}, err: `cbx: error: -k/--kwarg "k": number 1e400 is not a finite 64-bit float`},
		{args: []string{"-k", "k\xff=1"}, err: `cbx: error: -k/--kwarg key "k\xff": text is not valid UTF-8`, hint: binaryHint},
		{args: []string{"--", "-9223372036854775809"}, err: `cbx: error: argument "-9223372036854775809": integer -9223372036854775809 does not fit in 64 bits`,
			hint: `cbx: hint: quote it to send a string`},
	} {
		out, errOut, code := cbxRun(t, "", append([]string{"--keystore", filepath.Join(t.TempDir(), "none"), "seal", "com.example.t"}, c.args...)...)
		if code != exitUsage || out != "" || !strings.Contains(errOut, c.err) || !strings.Contains(errOut, c.hint) {
			t.Errorf("cbx seal %q: exit %d, stdout %q, stderr:\n%s\nwant exit 2, %q, %q", c.args, code, out, errOut, c.err, c.hint)
		}
	}
	// Not JSON, so strings, sent as they are.
	for _, s := range []string{"NaN", "[1e400", "hello world", "01", "ü"} {
		v, err := parseValue(s)
		if err != nil || v != s {
			t.Errorf("parseValue(%q) = %#v, %v; want the string", s, v, err)
		}
	}
}
