package main

import (
	"bytes"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// plainPrinter is an eventPrinter without colour, at a fixed time.
func plainPrinter(format string, multi, timestamp bool) *eventPrinter {
	f, err := parseOutputFormat(format, []string{formatJSON, formatText, formatRaw}, sampleEventData)
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 12, 2, 10, 4, 5, 120000000, time.UTC)
	return &eventPrinter{format: f, multi: multi, timestamp: timestamp, st: newStyles(io.Discard, false, false), now: func() time.Time { return at }}
}

// The text line shows what arrived without letting it drive the terminal: a topic that
// holds control characters (a pattern's topic comes from the router) is printed as a JSON
// string, kwargs keys that would be ambiguous before "=" too, and values are JSON, whose
// escapes cover control characters.
func TestTextFormat(t *testing.T) {
	p := plainPrinter(formatText, true, true)
	sub := topicSpec{"org.", wamp.MatchPrefix}
	cases := []struct {
		ev   *wamp.EventInfo
		want string
	}{
		{&wamp.EventInfo{Topic: "org.t", Sealed: true, Args: []any{"a\x1b[2J", []byte{0, 1}}, Kwargs: map[string]any{"k": 1.5, "a b": nil, "x=y": true}},
			`2026-12-02T10:04:05.120000000Z org.t (org.) sealed "a\u001b[2J" "\u0000AAE=" "a b"=null k=1.5 "x=y"=true` + "\n"},
		{&wamp.EventInfo{Topic: "org.\x1b[31mred"}, `2026-12-02T10:04:05.120000000Z "org.\u001b[31mred" (org.) plain` + "\n"},
		{&wamp.EventInfo{Topic: "org."}, "2026-12-02T10:04:05.120000000Z org. plain\n"},
	}
	for _, c := range cases {
		got, err := p.appendEvent(nil, c.ev, sub)
		if err != nil || string(got) != c.want {
			t.Errorf("%q: got %q (%v), want %q", c.ev.Topic, got, err, c.want)
		}
	}
	// Without --timestamp, the local time of day.
	p.timestamp = false
	got, _ := p.appendEvent(nil, &wamp.EventInfo{Topic: "org.t"}, sub)
	if want := p.now().Local().Format("15:04:05.000") + " org.t (org.) plain\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A value cbx cannot print exactly: an error, nothing appended.
	got, err := p.appendEvent([]byte("before\n"), &wamp.EventInfo{Topic: "org.t", Args: []any{math.NaN()}}, sub)
	if err == nil || string(got) != "before\n" {
		t.Errorf("NaN: %q, %v", got, err)
	}
}

// raw writes the one argument as it is, refuses other shapes, and keeps binary off a
// terminal.
func TestRawFormat(t *testing.T) {
	p := plainPrinter(formatRaw, false, false)
	sub := topicSpec{"org.t", wamp.MatchExact}
	for _, c := range []struct {
		args   []any
		kwargs map[string]any
		want   string
		err    string
	}{
		{args: []any{"text\n"}, want: "text\n"},
		{args: []any{[]byte{0, 0xff, '\n'}}, want: "\x00\xff\n"},
		{args: []any{map[string]any{"id": int64(17)}}, want: `{"id":17}`},
		{args: []any{nil}, want: `null`},
		{args: []any{}, err: "it has 0 arguments and 0 kwargs"},
		{args: []any{"a", "b"}, err: "it has 2 arguments and 0 kwargs"},
		{args: []any{"a"}, kwargs: map[string]any{"k": 1}, err: "it has 1 argument and 1 kwarg"},
	} {
		got, err := p.appendEvent([]byte("<"), &wamp.EventInfo{Topic: "org.t", Args: c.args, Kwargs: c.kwargs}, sub)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || string(got) != "<"):
			t.Errorf("%v %v: %q, %v; want the error %q", c.args, c.kwargs, got, err, c.err)
		case c.err == "" && (err != nil || string(got) != "<"+c.want):
			t.Errorf("%v: %q, %v; want %q", c.args, got, err, c.want)
		}
	}
	p.stdoutTTY = true
	if got, err := p.appendEvent(nil, &wamp.EventInfo{Args: []any{[]byte{1, 2, 3}}}, sub); err == nil || len(got) != 0 ||
		!strings.Contains(err.Error(), "does not write a binary value (3 bytes) to a terminal") {
		t.Errorf("binary on a terminal: %q, %v", got, err)
	}
	if got, err := p.appendEvent(nil, &wamp.EventInfo{Args: []any{"text"}}, sub); err != nil || string(got) != "text" {
		t.Errorf("text on a terminal: %q, %v", got, err)
	}
}

// FuzzEventPrinterJSON: the JSON line with "subscription" and "time" is the plain line
// (appendEventLine) with those fields added at its end, and refuses what it refuses,
// leaving the buffer as it was.
func FuzzEventPrinterJSON(f *testing.F) {
	f.Add("com.t", "com.", uint64(1), true, `["a",1,{"k":"\u0000AA=="}]`, `{"x":[null,true]}`, true, true, true)
	f.Add("\xff", "com.", uint64(0), false, `[]`, `{}`, false, true, false)
	f.Add("com.t", "\xff", uint64(7), false, `[1]`, `{}`, false, false, true)
	f.Fuzz(func(t *testing.T, topic, subURI string, pub uint64, sealed bool, argsJSON, kwargsJSON string, details, multi, timestamp bool) {
		ev := &wamp.EventInfo{Topic: topic, Publication: wamp.ID(pub), Sealed: sealed, Details: map[string]any{"topic": topic}}
		if v, err := wamp.UnmarshalJSON([]byte(argsJSON), wamp.NestPayload); err == nil {
			ev.Args, _ = v.([]any)
		}
		if v, err := wamp.UnmarshalJSON([]byte(kwargsJSON), wamp.NestPayload); err == nil {
			ev.Kwargs, _ = v.(map[string]any)
		}
		p := plainPrinter(formatJSON, multi, timestamp)
		p.details = details
		prefix := []byte("earlier line\n")
		got, err := p.appendEvent(append([]byte(nil), prefix...), ev, topicSpec{subURI, wamp.MatchPrefix})
		base, baseErr := appendEventLine(nil, ev, details)
		var extra []byte
		if multi {
			var subErr error
			if extra, subErr = wamp.AppendJSON([]byte(`,"subscription":`), subURI, wamp.NestPayload); subErr != nil && baseErr == nil {
				baseErr = subErr
			}
		}
		if baseErr != nil {
			if err == nil || !bytes.Equal(got, prefix) {
				t.Fatalf("printed %q where the line fails (%v)", got, baseErr)
			}
			return
		}
		if timestamp {
			extra = append(extra, `,"time":"2026-12-02T10:04:05.120000000Z"`...)
		}
		want := append(append(append(append([]byte(nil), prefix...), base[:len(base)-2]...), extra...), "}\n"...)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("got %q (%v), want %q", got, err, want)
		}
		if !multi && !timestamp && !bytes.Equal(got[len(prefix):], base) {
			t.Fatalf("no extra field, yet %q is not the plain line %q", got[len(prefix):], base)
		}
	})
}

// FuzzOutputFormat: --format is one of the names, a template that runs on an event, or
// a usage error (exit 2); never a panic, and never a plain word taken for a template
// (which would print that word for every event).
func FuzzOutputFormat(f *testing.F) {
	for _, s := range []string{"json", "text", "raw", "jsno", "", "{{.Topic}}", "{{.Topc}}", "{{json .Args}}", "{{index .Args 3}}",
		"{{.Time.Format \"15:04\"}}", "{{", "{{.Topic", "{{template \"x\"}}", "{{range .Args}}{{.}}{{end}}", "{{json}}", "{{.Args 1}}"} {
		f.Add(s)
	}
	allowed := []string{formatJSON, formatText, formatRaw}
	ev := &wamp.EventInfo{Topic: "org.t", Args: []any{"a", int64(1), []byte{0}}, Kwargs: map[string]any{"k": nil}, Details: map[string]any{}}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := parseOutputFormat(s, allowed, sampleEventData)
		if err != nil {
			if code := exitCodeFor(err); code != exitUsage {
				t.Fatalf("%q: exit %d: %v", s, code, err)
			}
			return
		}
		if fm.name == formatTemplate {
			if !strings.Contains(s, "{{") {
				t.Fatalf("%q: taken for a template", s)
			}
			p := &eventPrinter{format: fm, st: newStyles(io.Discard, false, false), now: time.Now}
			p.appendEvent(nil, ev, topicSpec{"org.t", wamp.MatchExact}) //nolint:errcheck // an error is a skipped event; a panic fails
		} else if fm.name != s {
			t.Fatalf("%q: parsed as %q", s, fm.name)
		}
	})
}
