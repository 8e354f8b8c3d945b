package wamp

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// The tests below hold CanonicalJSONList's promise (true only for a text that is read as a
// list and written back byte for byte) over systematic edges rather than random bytes:
// many spellings of floats from random bits and the edges of the float64 range and of the
// writer's switch to exponent form, integers at the 64-bit edges, strings of up to three
// pieces among raw bytes, every \u00XX in both cases, surrogates and broken UTF-8 around
// escapes, keys in and out of order, and nesting at each Nest's limit.

// roundTrips is the promise's other side, computed the long way: b reads as a list at
// nest and is written back as b.
func roundTrips(b []byte, nest Nest) bool {
	v, err := UnmarshalJSON(b, nest)
	if err != nil {
		return false
	}
	l, ok := v.([]any)
	if !ok {
		return false
	}
	out, err := AppendJSONList(nil, l, nest)
	return err == nil && bytes.Equal(out, b)
}

// edgeCheck holds CanonicalJSONList to its promise for b at every nest, and counts the
// texts it leaves to the long way although they would be written back the same.
type edgeCheck struct {
	t                     *testing.T
	checks, taken, missed int
	missedExamples        []string
}

func (c *edgeCheck) check(b []byte) {
	c.t.Helper()
	for _, nest := range []Nest{NestValue, NestPayload, NestMessage} {
		c.checks++
		got, want := CanonicalJSONList(b, nest), roundTrips(b, nest)
		if got && !want {
			c.t.Errorf("CanonicalJSONList(%.80q, %d) is true but the text is not written back as itself", b, nest)
		}
		if got {
			c.taken++
		} else if want {
			c.missed++
			if len(c.missedExamples) < 4 && nest == NestPayload {
				c.missedExamples = append(c.missedExamples, fmt.Sprintf("%.60q", b))
			}
		}
	}
}

func (c *edgeCheck) report(name string) {
	c.t.Logf("%s: %d checks (text, nest), %d taken, %d left to the long way that would be written back the same, e.g. %v", name, c.checks, c.taken, c.missed, c.missedExamples)
}

// floatSpellings returns ways of writing f as JSON, the writer's among them.
func floatSpellings(f float64) []string {
	var out []string
	w := jsonWriter{}
	if w.float(f) == nil {
		out = append(out, string(w.buf))
	}
	for _, fm := range []byte{'e', 'E', 'f', 'g', 'G'} {
		for _, prec := range []int{-1, 1, 15, 16, 17, 20, 25} {
			out = append(out, strconv.FormatFloat(f, fm, prec, 64))
		}
	}
	// Exponent variants of the shortest form: without '+', with leading zeros, bare.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	if i := strings.IndexByte(e, 'e'); i >= 0 {
		mant, exp := e[:i], e[i+1:]
		sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
		if digits == "" {
			digits = "0"
		}
		for _, s := range []string{sign, ""} {
			if s == "-" || sign == "+" {
				for _, d := range []string{digits, "0" + digits, "00" + digits, "000" + digits} {
					out = append(out, mant+"e"+s+d, mant+"E"+s+d)
				}
			}
		}
		if !strings.Contains(mant, ".") {
			out = append(out, mant+".0e"+exp, mant+".00e"+exp)
		}
	}
	// Trailing zeros and a '+' sign the grammar refuses.
	for _, s := range out[:1] {
		out = append(out, s+"0", s+"00", "+"+s, s+"1")
	}
	// A leading zero and a doubled minus, which the grammar refuses.
	if len(out) > 0 && !strings.HasPrefix(out[0], "-") {
		out = append(out, "0"+out[0], "-"+out[0])
	}
	return out
}

func TestCanonicalJSONListFloatEdges(t *testing.T) {
	c := &edgeCheck{t: t}
	floats := []float64{
		0, math.Copysign(0, -1), 5e-324, -5e-324, 4.9e-324, 2.4703282292062327e-324,
		2.2250738585072014e-308, 2.225073858507201e-308, 2.2250738585072011e-308,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
		1e16, 1e16 - 2, 1e16 + 2, 9999999999999998, 9999999999999999, 1e15, 1e15 + 0.5,
		123456789012345678, 1 << 53, 1<<53 + 1, 1 << 63, 1 << 64, -(1 << 63),
		1e-4, 1e-5, 0.00010000000000000002, 9.999999999999999e-5, 9.999999999999999e-6,
		0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 100, 1e21, 1e22, 1e23, 1e-7, 1e300, 1e-300,
		1.5, 2.5, 1.7976931348623157e308, 4.940656458412465e-324,
	}
	for i := 1; i <= 1100; i++ {
		floats = append(floats, math.Pow(10, float64(i-550)))
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 1500; i++ {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		floats = append(floats, f, math.Nextafter(f, 0), math.Nextafter(f, math.Inf(1)))
	}
	for i := 0; i < 500; i++ { // near the repr switch and round numbers
		e := rng.Intn(30) - 10
		floats = append(floats, math.Nextafter(math.Pow(10, float64(e)), math.Inf(int(rng.Int63()%2)*2-1)))
		floats = append(floats, float64(rng.Int63n(1<<53))*math.Pow(10, float64(e)))
	}
	for _, f := range floats {
		for _, s := range floatSpellings(f) {
			c.check([]byte("[" + s + "]"))
			c.check([]byte("[" + s + ",1," + s + "]"))
		}
		// The writer's form is taken.
		w := jsonWriter{}
		if w.float(f) == nil {
			if b := []byte("[" + string(w.buf) + "]"); !CanonicalJSONList(b, NestPayload) {
				t.Errorf("%s, the writer's form of %v, is not taken", b, f)
			}
		}
	}
	// Texts that spell numbers the shortest form does not reach.
	for _, s := range []string{"1e-400", "1e400", "-1e400", "0e0", "0e-0", "0.0e0", "-0e0", "0.0", "-0.0",
		"1e+16", "1e16", "1E16", "1e+016", "1.0e+16", "1e-05", "1e-5", "1e-005", "0.00001", "0.0001",
		"1e-04", "4.9e-324", "5e-324", "2e-324", "3e-324", "2.4703282292062328e-324", "2.4703282292062327e-324",
		"1.7976931348623157e+308", "1.7976931348623158e+308", "1.7976931348623159e+308", "1.797693134862316e+308",
		"0." + strings.Repeat("0", 400) + "1", "1" + strings.Repeat("0", 400) + ".0",
		"1." + strings.Repeat("0", 800) + "1", "0.1" + strings.Repeat("0", 800), "1e" + strings.Repeat("0", 50) + "1",
		"1e-" + strings.Repeat("9", 30), "1e+" + strings.Repeat("9", 30), "0e+" + strings.Repeat("9", 30)} {
		c.check([]byte("[" + s + "]"))
	}
	c.report("floats")
}

func TestCanonicalJSONListIntegerEdges(t *testing.T) {
	c := &edgeCheck{t: t}
	var ints []string
	for _, s := range []string{"0", "-0", "00", "-00", "01", "-01", "1", "-1", "+1",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551615", "18446744073709551616", "-18446744073709551615", "-18446744073709551616",
		"99999999999999999999", "100000000000000000000", strings.Repeat("9", 400)} {
		ints = append(ints, s)
	}
	for d := 1; d <= 21; d++ {
		ints = append(ints, strings.Repeat("9", d), "1"+strings.Repeat("0", d-1), "-"+strings.Repeat("9", d), "-1"+strings.Repeat("0", d-1),
			"0"+strings.Repeat("1", d), "1"+strings.Repeat("0", d-1)+".0", "1"+strings.Repeat("0", d-1)+"e0")
	}
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 5000; i++ {
		u := rng.Uint64() >> uint(rng.Intn(64))
		ints = append(ints, strconv.FormatUint(u, 10), strconv.FormatInt(-int64(u), 10), strconv.FormatUint(u, 10)+"0")
	}
	for _, s := range ints {
		c.check([]byte("[" + s + "]"))
		c.check([]byte(`[{"a":` + s + `},` + s + "]"))
	}
	c.report("integers")
}

// TestCanonicalJSONListStringEdges writes every string of up to three pieces from a set of
// raw bytes and escapes (every \u00XX in both cases, surrogates, invalid UTF-8, split
// multi-byte characters) as a value and as a key.
func TestCanonicalJSONListStringEdges(t *testing.T) {
	c := &edgeCheck{t: t}
	pieces := []string{"", "a", "é", "\xc3", "\xa9", "\xe6\x97", "\xa5", "日", "\xff", "\xed\xa0\x80", "\x7f", "\x00", "\x1f", "\n",
		`\"`, `\\`, `\/`, `\n`, `\r`, `\t`, `\b`, `\f`, `\x`, `\`, `\u`, `\u00`, `\u00e`,
		`\ud83d\ude00`, `\ud83d`, `\ude00`, `\uD83D\uDE00`, `\u2028`, `\uffff`, `\u0100`, "\"", "AAAA", "AA=="}
	for x := 0; x < 256; x++ {
		pieces = append(pieces, fmt.Sprintf(`\u%04x`, x))
		if u := fmt.Sprintf(`\u%04X`, x); u != fmt.Sprintf(`\u%04x`, x) {
			pieces = append(pieces, u)
		}
		pieces = append(pieces, string([]byte{byte(x)}))
	}
	short := pieces[:37] // the set without the 256-way expansions, for three in a row
	var texts []string
	for _, a := range pieces {
		for _, b := range short {
			texts = append(texts, a+b, b+a)
		}
	}
	for _, a := range short {
		for _, b := range short {
			for _, d := range short {
				texts = append(texts, a+b+d)
			}
		}
	}
	long := strings.Repeat("é", 5) // a run of non-ASCII bytes longer than a word
	for _, p := range pieces {
		texts = append(texts, long+p+long, "abcdefgh"+p+"abcdefgh", long[:3]+p+long[3:])
	}
	for _, s := range texts {
		c.check([]byte(`["` + s + `"]`))
		c.check([]byte(`[1,"` + s + `",{"k":"` + s + `"}]`))
		c.check([]byte(`[{"` + s + `":1}]`))
		c.check([]byte(`[{"` + s + `":1,"~~":2}]`))
	}
	c.report("strings")
}

func TestCanonicalJSONListKeyEdges(t *testing.T) {
	c := &edgeCheck{t: t}
	keys := []string{"", "a", "b", "A", "aa", "ab", "a\\u0000", `\u0000`, "\x7f", "é", "e", "日", `a\"`, `\n`, `\u001f`, "~", "a b", "\xff"}
	for _, k1 := range keys {
		for _, k2 := range keys {
			c.check([]byte(`[{"` + k1 + `":1,"` + k2 + `":2}]`))
			for _, k3 := range keys[:8] {
				c.check([]byte(`[{"` + k1 + `":1,"` + k2 + `":2,"` + k3 + `":[{"` + k2 + `":{}}]}]`))
			}
		}
	}
	c.report("keys")
}

func TestCanonicalJSONListDepthEdges(t *testing.T) {
	c := &edgeCheck{t: t}
	for _, nest := range []Nest{NestValue, NestPayload, NestMessage} {
		lim := nest.limit()
		for n := lim - 1; n <= lim+2; n++ {
			for _, open := range []string{"[", `{"a":`, `[1,{"b":[`} {
				var pre, post strings.Builder
				pre.WriteString("[")
				post.WriteString("]")
				depth := 1
				var closers []string
				for depth < n {
					pre.WriteString(open)
					switch open {
					case "[":
						closers = append(closers, "]")
						depth++
					case `{"a":`:
						closers = append(closers, "}")
						depth++
					default:
						closers = append(closers, "]}]")
						depth += 3
					}
				}
				var b strings.Builder
				b.WriteString(pre.String())
				b.WriteString("0")
				for i := len(closers) - 1; i >= 0; i-- {
					b.WriteString(closers[i])
				}
				b.WriteString(post.String())
				c.check([]byte(b.String()))
				e := strings.Replace(b.String(), "0", "[]", 1)
				c.check([]byte(e))
				e = strings.Replace(b.String(), "0", "{}", 1)
				c.check([]byte(e))
			}
		}
	}
	c.report("depth")
}

// Checking a number writes it into a buffer on the stack: a line of floats and big
// integers, as a sealed plaintext carries, is taken without an allocation.
func TestCanonicalJSONListNumbersDoNotAllocate(t *testing.T) {
	b := []byte(`[1.5,-0.0,1e+16,1e-05,0.1,123456.789,5e-324,18446744073709551615,-9223372036854775808,1234567890123456789]`)
	if !CanonicalJSONList(b, NestPayload) {
		t.Fatalf("%s is not taken", b)
	}
	if n := testing.AllocsPerRun(100, func() { CanonicalJSONList(b, NestPayload) }); n != 0 {
		t.Errorf("CanonicalJSONList allocates %v times for %s", n, b)
	}
}
