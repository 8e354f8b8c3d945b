package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// FuzzFileValue: a file's content becomes exactly one of its JSON value, its text, or its
// bytes, each time the one the rules choose, and nothing is ever altered on the way; or
// it is refused, only when it is JSON the dialect cannot carry.
func FuzzFileValue(f *testing.F) {
	for _, s := range []string{`{"id":17}`, "{\"id\":17\n", "hello\n", "", "\x00\x01\xfe\xff", "\x00abc", `"\u0000AAH+/w=="`,
		`[1180591620717411303424]`, "\"\xff\"", " 42 ", `"\u0000abc"`, "\xef\xbb\xbf{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := fileValue(data, false)
		parsed, jsonErr := wamp.UnmarshalJSON(data, wamp.NestValue)
		var se *wamp.SyntaxError
		isJSON := utf8.Valid(data) && !errors.As(jsonErr, &se)
		if err != nil {
			// Refused: only JSON holding a value outside the dialect, and for that reason.
			var ve *wamp.ValueError
			if !isJSON || !errors.As(err, &ve) {
				t.Fatalf("%q refused: %v", data, err)
			}
			return
		}
		switch x := v.(type) {
		case string:
			if isJSON && parsed != x || !isJSON && x != string(data) {
				t.Fatalf("%q became the string %q", data, x)
			}
			if wamp.CheckText(x) != nil {
				t.Fatalf("%q became the string %q, which is not text", data, x)
			}
		case []byte:
			if isJSON {
				if !bytes.Equal(x, parsed.([]byte)) {
					t.Fatalf("%q: binary JSON value %x, want %x", data, x, parsed)
				}
			} else if !bytes.Equal(x, data) {
				t.Fatalf("%q became the bytes %x", data, x)
			} else if utf8.Valid(data) && wamp.CheckText(string(data)) == nil {
				t.Fatalf("%q is text, yet became bytes", data)
			}
		default:
			if !isJSON || !reflect.DeepEqual(v, parsed) {
				t.Fatalf("%q became %#v", data, v)
			}
		}
		// Strict: the JSON value, or nothing.
		sv, serr := fileValue(data, true)
		if isJSON != (serr == nil) || serr == nil && !reflect.DeepEqual(sv, v) {
			t.Fatalf("%q strict: %#v, %v (JSON: %v)", data, sv, serr, isJSON)
		}
	})
}

// On a terminal, a value that starts like JSON but is not JSON is sealed as a string, as
// always, but with a warning; off a terminal, or for text that does not start with { or
// [, nothing is said; with --strict it is an error instead.
func TestBrokenJSONWarning(t *testing.T) {
	keys := newInteropKeys(t)
	seal := func(tty bool, args ...string) (string, int) {
		var out, errb bytes.Buffer
		streams := &ioStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, stderrTTY: tty, noColor: true}
		code := run(append([]string{"--keystore", keys.origKS, "seal", securePrefix + "t"}, args...), streams)
		return errb.String(), code
	}
	for _, tc := range []struct {
		args []string
		tty  bool
		warn string // "": no warning
	}{
		{[]string{`{"id":17`}, true, `cbx: warning: argument "{\"id\":17" is not JSON (unexpected end of input at byte 8), so it is taken as a string; --strict refuses it` + "\n"},
		{[]string{"-k", `items=[1,2`}, true, `cbx: warning: -k/--kwarg "items" is not JSON (unexpected end of input at byte 4), so it is taken as a string; --strict refuses it` + "\n"},
		{[]string{`{"id":17`}, false, ""},
		{[]string{`{"id":17}`, `[1]`, "hello", "{ok"}, true, `"{ok" is not JSON`},
		{[]string{"hello", "-k", "a=b"}, true, ""},
	} {
		errOut, code := seal(tc.tty, tc.args...)
		if code != 0 {
			t.Errorf("%q (tty %v): exit %d\n%s", tc.args, tc.tty, code, errOut)
		}
		switch {
		case tc.warn == "" && errOut != "":
			t.Errorf("%q (tty %v): stderr %q, want nothing", tc.args, tc.tty, errOut)
		case tc.warn != "" && !strings.Contains(errOut, tc.warn):
			t.Errorf("%q (tty %v): stderr %q, want %q", tc.args, tc.tty, errOut, tc.warn)
		}
	}
	if errOut, code := seal(true, `{"id":17`, "--strict"); code != exitUsage || strings.Contains(errOut, "warning") {
		t.Errorf("--strict on a terminal: exit %d, stderr:\n%s", code, errOut)
	}
}

// A 2 MiB binary file as an argument: refused before sending at the default
// --max-message-size (exit 1), and with the limits raised on both sides, sealed,
// published through cbx router and printed by the subscriber byte for byte; the same
// size from standard input (@-) as a -k value.
func TestLargeFileArgument(t *testing.T) {
	keys := newInteropKeys(t)
	dir := t.TempDir()
	payload := make([]byte, 2<<20)
	rand.Read(payload)
	payload[0] = 0xff // not UTF-8, whatever the random bytes: one binary value
	file := filepath.Join(dir, "big.bin")
	if err := os.WriteFile(file, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("0123456789abcdef", (2<<20)/16) // 2 MiB of text, on stdin

	const limit = "8388608"
	url := startRouterCmd(t, "--max-message-size", limit)
	topic := securePrefix + "big"

	_, errOut := cbxExit(t, exitError, "--keystore", keys.origKS, "publish", topic, "@"+file, "--url", url)
	if !strings.Contains(errOut, "exceeds the 1048576-byte message limit") {
		t.Errorf("publish over the default limit: stderr:\n%s", errOut)
	}

	ready := filepath.Join(dir, "sub.ready")
	sub := startCbx(t, "--keystore", keys.respKS, "subscribe", topic, "--count", "1", "--timeout", "60s", "--url", url,
		"--ready-file", ready)
	cbxOK(t, "", "wait", "--file", ready, "--timeout", "30s")
	out, errOut, code := cbxRun(t, text, "--keystore", keys.origKS, "publish", topic, "@"+file, "-k", "text=@-", "--ack",
		"--url", url, "--max-message-size", limit)
	if code != 0 {
		t.Fatalf("publish: exit %d, stdout %q\n%s", code, out, errOut)
	}
	sub.waitExit(t, 0)
	ev := decodeLine(t, []byte(sub.stdout.String()))
	if ev["sealed"] != true {
		t.Errorf("the event was not sealed: %v", ev["sealed"])
	}
	args, _ := ev["args"].([]any)
	if len(args) != 1 {
		t.Fatalf("args: %d values, want 1", len(args))
	}
	if got, ok := args[0].([]byte); !ok || !bytes.Equal(got, payload) {
		t.Errorf("the subscriber's binary value differs from the file (%T, %d bytes)", args[0], len(got))
	}
	if kw, _ := ev["kwargs"].(map[string]any); kw["text"] != text {
		t.Errorf("the -k text=@- value differs from standard input")
	}
}
