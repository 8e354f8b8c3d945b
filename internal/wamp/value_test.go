package wamp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// TestJSONMatchesPython: the dialect writes what Autobahn|Python's _dumps writes, byte for
// byte, for the same parsed input: floats in Python's repr (1.0, -0.0, 1e+16, 1e-05),
// exact integers, Python's string escapes with raw UTF-8, binary as "\u0000"+base64.
// Lists only, so that key order (Python keeps insertion order) is not in play.
func TestJSONMatchesPython(t *testing.T) {
	py := testkit.NeedAutobahnPython(t)
	const input = `[1.0,-0.0,0.0,0.1,2.5,100.0,1e15,1e16,1234567890123456.0,12345678901234567.0,` +
		`0.0001,0.00001,1.5e300,5e-324,1.7976931348623157e308,1e21,1e22,123456.5,-1.25e-7,3.141592653589793,` +
		`0,-0,1,-1,9007199254740993,-9223372036854775808,18446744073709551615,` +
		`"a\u0001\u001f\u007f\u2028\"\\/\b\f\n\r\t","grüße ✓ <&>","\ud83d\ude00","\u0000AAH+/w==","\u0000",` +
		`true,false,null,[],{},[[1,[2.0]],{"k":[null]}]]`
	const script = `
import sys, txaio
txaio.use_asyncio()
from autobahn.wamp.serializer import _dumps, _loads
sys.stdout.write(_dumps(_loads(sys.stdin.read())))
`
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(input)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	v, err := UnmarshalJSON([]byte(input), NestValue)
	if err != nil {
		t.Fatal(err)
	}
	got, err := MarshalJSON(v, NestValue)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("dialect differs from Autobahn's _dumps:\n got %s\nwant %s", got, want)
	}
}

// TestUnmarshalJSONErrors: "not JSON" and "JSON holding a value outside the dialect" are
// different errors, because the command line treats the first as a string and refuses
// the second. Syntax is judged on the whole text first: text that is not JSON is a
// *SyntaxError even when it begins with an out-of-range number or deep nesting.
func TestUnmarshalJSONErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	cases := []struct {
		in   string
		kind error // nil: a *SyntaxError
	}{
		{``, nil}, {` `, nil}, {`hello`, nil}, {`NaN`, nil}, {`[Infinity]`, nil}, {`01`, nil},
		{`1.`, nil}, {`.5`, nil}, {`+1`, nil}, {`[1,]`, nil}, {`{"a":1,}`, nil}, {`{a:1}`, nil},
		{`"a` + "\x01" + `"`, nil}, {`"\x"`, nil}, {`"\u12"`, nil}, {`[1] [2]`, nil}, {`[`, nil},
		{`[1e400`, nil}, {`[18446744073709551616,`, nil}, {deep[:len(deep)-1], nil}, {"\xff", nil},
		{`18446744073709551616`, ErrIntegerRange}, {`-9223372036854775809`, ErrIntegerRange},
		{`[1e400]`, ErrFloatRange}, {`-1e309`, ErrFloatRange}, {`[1e-400]`, ErrFloatRange}, {`-2e-324`, ErrFloatRange},
		{deep, ErrTooDeep}, {`{"a":` + deep + `}`, ErrTooDeep},
		{"\"\xff\"", ErrInvalidUTF8}, {"{\"\xc3\":1}", ErrInvalidUTF8}, {`"\udc00"`, ErrInvalidUTF8},
		{`"\ud800x"`, ErrInvalidUTF8}, {`"\ud800\u0041"`, ErrInvalidUTF8}, {`"\ud800"`, ErrInvalidUTF8},
		{`"\u0000abc"`, ErrBinaryText}, {`"\u0000AAE"`, ErrBinaryText}, {`["\u0000-_8="]`, ErrBinaryText},
	}
	for _, c := range cases {
		v, err := UnmarshalJSON([]byte(c.in), NestValue)
		var se *SyntaxError
		var ve *ValueError
		switch {
		case c.kind == nil && !errors.As(err, &se):
			t.Errorf("UnmarshalJSON(%.40q) = %#v, %v; want a *SyntaxError", c.in, v, err)
		case c.kind != nil && (!errors.As(err, &ve) || !errors.Is(err, c.kind)):
			t.Errorf("UnmarshalJSON(%.40q) = %#v, %v; want a *ValueError %v", c.in, v, err, c.kind)
		}
	}
	// Accepted: exact integers, -0 as 0, -0.0 as negative zero, a key starting with U+0000
	// (keys are never binary), a repeated key keeps the last value, surrogate pairs.
	v, err := UnmarshalJSON([]byte(` {"\u0000k":[-0,-0.0,1E2,9007199254740993],"d":1,"d":2,"e":"\ud83d\ude00"} `), NestValue)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	l := m["\x00k"].([]any)
	if l[0] != int64(0) || !math.Signbit(l[1].(float64)) || l[2] != 100.0 || l[3] != int64(9007199254740993) || m["d"] != int64(2) || m["e"] != "😀" {
		t.Fatalf("got %#v", v)
	}
}

// TestNestLevels: the same value is allowed MaxDepth levels wherever it travels; the
// document kinds add their own levels on top.
func TestNestLevels(t *testing.T) {
	value := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	for _, c := range []struct {
		doc  string
		nest Nest
	}{
		{value, NestValue},
		{"[" + value + "]", NestPayload},
		{`{"uri":"u","args":[` + value + `],"kwargs":{"k":` + value + `}}`, NestMessage},
	} {
		if _, err := UnmarshalJSON([]byte(c.doc), c.nest); err != nil {
			t.Errorf("nest %d at the limit: %v", c.nest, err)
		}
		deeper := strings.Replace(c.doc, value, "["+value+"]", 1)
		if _, err := UnmarshalJSON([]byte(deeper), c.nest); !errors.Is(err, ErrTooDeep) {
			t.Errorf("nest %d beyond the limit: %v", c.nest, err)
		}
	}
}

// FuzzUnmarshalJSON: never a panic; an error is a *SyntaxError exactly when
// encoding/json's validator (an independent RFC 8259 scanner) says the text is not JSON,
// otherwise a *ValueError; whatever is accepted writes back to a fixed point and reads the
// same in the CBOR form of the dialect.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range []string{`[1,"a",{"b":[null,true,-0.0,1.0]}]`, `"\u0000AAH+/w=="`, `18446744073709551616`,
		`"\ud83d\ude00"`, `1e400`, "\"\xff\"", `[[[[]]]]`, ` {"\u0000":-0} `, `1E-7`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := UnmarshalJSON(b, NestValue)
		var se *SyntaxError
		var ve *ValueError
		switch {
		case errors.As(err, &se):
			if json.Valid(b) {
				t.Fatalf("%q: syntax error %v, but it is JSON", b, err)
			}
			return
		case json.Valid(b) == false && bytes.Count(b, []byte("[")) < 9000:
			t.Fatalf("%q is not JSON but gave %#v, %v", b, v, err)
		case errors.As(err, &ve):
			return
		case err != nil:
			t.Fatalf("%q: untyped error %v", b, err)
		}
		out, err := MarshalJSON(v, NestValue)
		if err != nil {
			t.Fatalf("%q read as %#v does not write: %v", b, v, err)
		}
		v2, err := UnmarshalJSON(out, NestValue)
		if err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("round trip changed %q: %s → %#v (%v)", b, out, v2, err)
		}
		if out2, _ := MarshalJSON(v2, NestValue); !bytes.Equal(out, out2) {
			t.Fatalf("not a fixed point: %s vs %s", out, out2)
		}
		c, err := AppendCBOR(nil, v, NestValue)
		if err != nil {
			t.Fatalf("%#v does not write as CBOR: %v", v, err)
		}
		if v3, err := UnmarshalCBOR(c, NestValue); err != nil || !reflect.DeepEqual(v, v3) {
			t.Fatalf("CBOR form of %#v reads back as %#v (%v)", v, v3, err)
		}
	})
}

// FuzzUnmarshalCBOR: never a panic; whatever is accepted is in the dialect, so it writes
// back to the same value in CBOR and in JSON.
func FuzzUnmarshalCBOR(f *testing.F) {
	for _, s := range [][]byte{{0x83, 0x01, 0x61, 'a', 0xa1, 0x61, 'b', 0xf6}, {0xc2, 0x41, 0x01}, {0xfb, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x9f, 0x01, 0xff}, {0x44, 0, 1, 2, 3}, {0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := UnmarshalCBOR(b, NestValue)
		if err != nil {
			return
		}
		c, err := AppendCBOR(nil, v, NestValue)
		if err != nil {
			t.Fatalf("%x read as %#v does not write: %v", b, v, err)
		}
		if v2, err := UnmarshalCBOR(c, NestValue); err != nil || !reflect.DeepEqual(v, v2) {
			t.Fatalf("CBOR round trip changed %#v → %#v (%v)", v, v2, err)
		}
		j, err := MarshalJSON(v, NestValue)
		if err != nil {
			t.Fatalf("%#v does not write as JSON: %v", v, err)
		}
		if v3, err := UnmarshalJSON(j, NestValue); err != nil || !reflect.DeepEqual(v, v3) {
			t.Fatalf("JSON form %s of %#v reads back as %#v (%v)", j, v, v3, err)
		}
	})
}

// The typed writers write what AppendJSON writes, and refuse what it refuses.
func TestAppendJSONTyped(t *testing.T) {
	deep := List{}
	for range MaxDepth + 2 {
		deep = List{deep}
	}
	lists := []List{{}, {"a", int64(1), 2.5, nil, true, []byte{1}, Dict{"k": List{}}}, {"\xff"}, {math.Inf(1)}, deep}
	dicts := []Dict{{}, {"b": int64(1), "a": List{"x"}}, {"\xff": int64(1)}, {"k": deep}}
	texts := []string{"", "com.example", "\x00binary?", "\xff", "tab\there \"q\" \u2028"}
	for _, nest := range []Nest{NestValue, NestPayload} {
		for _, l := range lists {
			got, gerr := AppendJSONList([]byte("p"), l, nest)
			want, werr := AppendJSON([]byte("p"), l, nest)
			if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("list %#v: %s %v, want %s %v", l, got, gerr, want, werr)
			}
		}
		for _, d := range dicts {
			got, gerr := AppendJSONDict([]byte("p"), d, nest)
			want, werr := AppendJSON([]byte("p"), d, nest)
			if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("dict %#v: %s %v, want %s %v", d, got, gerr, want, werr)
			}
		}
	}
	for _, s := range texts {
		got, gerr := AppendJSONText([]byte("p"), s)
		want, werr := AppendJSON([]byte("p"), s, NestValue)
		if !bytes.Equal(got, want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("text %q: %s %v, want %s %v", s, got, gerr, want, werr)
		}
	}
}
