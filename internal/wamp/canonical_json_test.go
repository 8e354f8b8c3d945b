package wamp

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// The texts CanonicalJSONList takes are exactly the written form of their value; each
// refusal below is a text whose value AppendJSONList writes differently, or one it leaves
// to the long way although it would be written back the same (a float, an escape).
func TestCanonicalJSONList(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, c := range []struct {
		text string
		want bool
	}{
		{`["` + strings.Repeat("x", 88) + `",12345]`, true}, // issue 10's event
		{`[]`, true},
		{`[0,-1,1,true,false,null,""]`, true},
		{`[123456789012345678,-123456789012345678]`, true},
		{"[\"é日本\x7f~\"]", true}, // raw UTF-8 and DEL stand for themselves
		{`[[1,[2,[]]],{}]`, true},
		{`[{"a":1,"b":[{"c":null}]}]`, true},
		{`[{"B":1,"a":2}]`, true},   // byte order: upper case first
		{deep(MaxDepth + 1), true},  // the Arguments list and MaxDepth levels in it
		{deep(MaxDepth + 2), false}, // too deep for NestPayload

		{` []`, false},
		{`[ ]`, false},
		{`[1, 2]`, false},
		{"[1]\n", false},
		{`[1]]`, false},
		{`[1,]`, false},
		{`[`, false},
		{``, false},
		{`{}`, false}, // not a list
		{`"a"`, false},
		{`[-0]`, false}, // read as 0
		{`[01]`, false}, // not JSON
		{`[1.0,2.5,-0.0,0.1,1e+16,1e-05,0.0001,123456.789]`, true}, // Python's repr
		{`[1.50]`, false},
		{`[1e3]`, false}, // written 1000.0
		{`[1E+16]`, false},
		{`[1e16]`, false},
		{`[1e400]`, false},
		{`[1e-400]`, false},  // would become 0
		{`[0.00001]`, false}, // written 1e-05
		{`[-]`, false},
		{`[1234567890123456789,18446744073709551615,-9223372036854775808]`, true},
		{`[18446744073709551616]`, false}, // outside 64 bits
		{`[-9223372036854775809]`, false},
		{`["a\"b\\c\nd\re\tf\bg\fh\u001fi\u0000j\u007"]`, false}, // a short \u
		{`["a\"b\\c\nd\re\tf\bg\fh\u001fi\u0000j"]`, true},       // the writer's escapes
		{`["\u001F"]`, false},                                    // written in lower case
		{`["\u000a"]`, false},                                    // written \n
		{`["\u00e9"]`, false},                                    // written raw
		{`["\/"]`, false},                                        // written "/"
		{`["\u0000AAAA"]`, false},                                // binary: the long way
		{`[{"a\"":1}]`, false},                                   // a key with an escape: the long way
		{"[\"\xff\"]", false},
		{"[\"a\x01\"]", false},
		{`[{"b":1,"a":2}]`, false}, // written sorted
		{`[{"a":1,"a":2}]`, false}, // read as one entry
		{`[{"a":1,}]`, false},
		{`[{"a" :1}]`, false},
		{`[{a:1}]`, false},
		{`[tru]`, false},
		{`[nul]`, false},
		{`[True]`, false},
	} {
		got := CanonicalJSONList([]byte(c.text), NestPayload)
		if got != c.want {
			t.Errorf("CanonicalJSONList(%.40q) = %v, want %v", c.text, got, c.want)
		}
		if got {
			checkCanonical(t, []byte(c.text), NestPayload)
		}
	}
}

// checkCanonical is the promise: read and written again, b is b.
func checkCanonical(t *testing.T, b []byte, nest Nest) {
	t.Helper()
	v, err := UnmarshalJSON(b, nest)
	if err != nil {
		t.Fatalf("%q is canonical but does not read: %v", b, err)
	}
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%q is canonical but reads as %T", b, v)
	}
	out, err := AppendJSONList(nil, l, nest)
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("%q is canonical but is written back as %q (%v)", b, out, err)
	}
}

// What the writer writes of values within the accepted part is accepted: the check is
// not so narrow that the lines it exists for take the long way.
func TestCanonicalJSONListTakesWrittenValues(t *testing.T) {
	for _, l := range []List{
		{},
		{"x", int64(1)},
		{int64(-9), uint64(12), true, false, nil, "", "日本語"},
		{List{List{}}, Dict{"z": int64(1), "a": List{"b"}, "": nil}},
		{Dict{}},
		{1.5, math.Copysign(0, -1), 1e300, 5e-324, 0.1, 100.0, "a\nb\"c\\", "x\x01\x7f", "é\u2028"},
	} {
		b, err := AppendJSONList(nil, l, NestPayload)
		if err != nil {
			t.Fatal(err)
		}
		if !CanonicalJSONList(b, NestPayload) {
			t.Errorf("%s, written by AppendJSONList, is not taken", b)
		}
	}
}

func FuzzCanonicalJSONList(f *testing.F) {
	for _, s := range []string{`["x",1]`, `[{"a":[1,{"b":null}],"c":-5}]`, `[-0]`, `[1.5]`, `["\u00e9"]`,
		`[{"b":1,"a":2}]`, `[{"a":1,"a":1}]`, "[\"\xe6\x97\xa5\"]", `[[[[[]]]]]`, `[123456789012345678]`,
		`[1.0,-0.0,1e+16,1e-05,0.0001,2.5]`, `[18446744073709551615,-9223372036854775808]`,
		`["a\"\\\n\r\t\b\f\u001f\u0000"]`, `["\u0000AA=="]`, `["\u000A"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, nest := range []Nest{NestValue, NestPayload, NestMessage} {
			if CanonicalJSONList(b, nest) {
				checkCanonical(t, b, nest)
			}
		}
	})
}

// PlainJSONText is true exactly when AppendJSONText writes the text between quotes.
func TestPlainJSONText(t *testing.T) {
	for _, s := range []string{"", "com.example.t", "日本", "a\x7fb", "a\"b", "a\\b", "a\nb", "\x00AA==", "\xff", "é\xc3"} {
		b, err := AppendJSONText(nil, s)
		want := err == nil && string(b) == `"`+s+`"`
		if got := PlainJSONText(s); got != want {
			t.Errorf("PlainJSONText(%q) = %v, written as %q (%v)", s, got, b, err)
		}
	}
}
