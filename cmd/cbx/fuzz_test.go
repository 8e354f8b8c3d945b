package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// FuzzParseEventLine: --stdin lines either parse into args/kwargs or give an error.
func FuzzParseEventLine(f *testing.F) {
	for _, s := range []string{`[1,"a"]`, `{"args":[1],"kwargs":{"k":"\u0000AA=="}}`, `{"x":1}`, `42`, `[`, `{"args":{}}`,
		`[1180591620717411303424]`, `[-0,-0.0,1.0]`, "[\"\xff\"]", ` [[[]]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ev, err := parseEventLine([]byte(line))
		if err != nil {
			return
		}
		// What parsed must be sealable and open to the same payload, in both plaintexts.
		m := e2e.Message{URI: "u", Args: ev.args, Kwargs: ev.kwargs}
		pt, err := e2e.EncodePlaintext(m)
		if err != nil {
			t.Fatalf("%q parsed but does not encode: %v", line, err)
		}
		if back, err := e2e.DecodePlaintext(pt); err != nil || !reflect.DeepEqual(back.Args, ev.args) || !reflect.DeepEqual(back.Kwargs, ev.kwargs) {
			t.Fatalf("%q: sealed plaintext %s opens as %#v (%v)", line, pt, back, err)
		}
		if _, err := e2e.EncodePPTPlaintext(m); err != nil {
			t.Fatalf("%q parsed but does not encode as PPT: %v", line, err)
		}
	})
}

// FuzzEventLine: subscribe's output line, appended in place (appendEventLine), is byte
// for byte the object objectLine writes from the same fields, and refuses the same events
// with the same error, leaving what was in the buffer as it was.
func FuzzEventLine(f *testing.F) {
	f.Add("com.t", uint64(1), true, `["a",1,1.5,{"k":"\u0000AA=="}]`, `{"x":[null,true]}`, `{"topic":"com.t"}`, true, "s", 0.5)
	f.Add("com.t", uint64(1<<53), false, `[]`, `null`, `{}`, false, "\x00AA==", math.Inf(1))
	f.Add("\xff", uint64(0), false, `[1180591620717411303424]`, `{}`, `{"_cbx_dropped":3}`, true, "\xff", -0.0)
	f.Fuzz(func(t *testing.T, topic string, pub uint64, sealed bool, argsJSON, kwargsJSON, detailsJSON string, details bool, extra string, x float64) {
		ev := &wamp.EventInfo{Topic: topic, Publication: wamp.ID(pub), Sealed: sealed}
		if v, err := wamp.UnmarshalJSON([]byte(argsJSON), wamp.NestPayload); err == nil {
			ev.Args, _ = v.([]any)
		}
		if len(ev.Args) > 0 {
			ev.Args = append(ev.Args, extra, x) // values outside the dialect too
		}
		if v, err := wamp.UnmarshalJSON([]byte(kwargsJSON), wamp.NestPayload); err == nil {
			ev.Kwargs, _ = v.(map[string]any)
		}
		if v, err := wamp.UnmarshalJSON([]byte(detailsJSON), wamp.NestPayload); err == nil {
			ev.Details, _ = v.(map[string]any)
		}
		fields := []field{
			{"topic", ev.Topic}, {"publication", uint64(ev.Publication)}, {"sealed", ev.Sealed},
			{"args", argsOrEmpty(ev.Args)}, {"kwargs", kwargsOrEmpty(ev.Kwargs)},
		}
		if sealed {
			ev.Opened = wamp.Dict{"entry": extra, "originator": topic, "responder": "x"} // e2e.Opened.Dict's shape
		}
		if details {
			fields = withKey(append(fields, field{"details", ev.Details}), ev.Opened)
		}
		want, wantErr := objectLine(fields...)
		prefix := []byte("earlier line\n")
		got, err := appendEventLine(append([]byte(nil), prefix...), ev, details)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("error %v, objectLine's %v", err, wantErr)
		}
		if err != nil {
			want = nil
		}
		if !bytes.Equal(got, append(prefix, want...)) {
			t.Fatalf("appended %q, objectLine wrote %q", got[len(prefix):], want)
		}
	})
}

// chunkReader returns its data in reads of the sizes given (cycling; 0 is an empty
// read), then err (io.EOF when nil).
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
	err   error
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err == nil {
			return 0, io.EOF
		}
		return 0, r.err
	}
	n := len(r.data)
	if len(r.sizes) > 0 {
		n = min(n, int(r.sizes[r.i%len(r.sizes)]))
		r.i++
	}
	n = min(n, len(p))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// FuzzLineReaderMatchesScanner: --stdin's line reader yields the lines bufio.Scanner
// (ScanLines, with a buffer of max+1 bytes) yields, and ends with the same error: the
// same lines whatever the line endings, lengths at and past the limit, reads of any size
// and a read error at the end. lineBuffered never says a line is buffered when next would
// have to read.
func FuzzLineReaderMatchesScanner(f *testing.F) {
	f.Add([]byte("[1]\n\n{\"args\":[2]}\r\nlast"), []byte{3, 0, 5}, uint8(40), false)
	f.Add([]byte("0123456789abcdefghij\n0123456789abcdefghijk\n"), []byte{}, uint8(20), false)
	f.Add([]byte("a\rb\r\n\r\n\n"), []byte{1}, uint8(17), true)
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), []byte{7}, uint8(16), true)
	f.Fuzz(func(t *testing.T, data, sizes []byte, max uint8, fail bool) {
		limit := int(max%64) + 16 // bufio.Reader's smallest buffer is 16 bytes
		var readErr error
		if fail {
			readErr = errors.New("read failed")
		}
		sc := bufio.NewScanner(&chunkReader{data: data, sizes: sizes, err: readErr})
		sc.Buffer(make([]byte, 0, 16), limit+1)
		var want []string
		for sc.Scan() {
			want = append(want, sc.Text())
		}
		wantErr := sc.Err()

		lr := &lineReader{r: bufio.NewReaderSize(&chunkReader{data: data, sizes: sizes, err: readErr}, 16), max: limit}
		var got []string
		var err error
		for {
			buffered := lr.lineBuffered()
			before := lr.r.Buffered()
			var line []byte
			line, err = lr.next()
			if buffered && (lr.r.Buffered() > before || line == nil) {
				t.Fatalf("lineBuffered was true but next read more (%d -> %d bytes buffered)", before, lr.r.Buffered())
			}
			if line != nil {
				got = append(got, string(line))
			}
			if err != nil {
				break
			}
		}
		if err == io.EOF {
			err = nil
		}
		if !reflect.DeepEqual(got, want) || !errors.Is(err, wantErr) && err != wantErr {
			t.Fatalf("lines %q, %v\nScanner: %q, %v", got, err, want, wantErr)
		}
	})
}
