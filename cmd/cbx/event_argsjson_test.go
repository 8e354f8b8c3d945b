package main

import (
	"bytes"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// FuzzEventArgsJSON: an event whose args come as canonical JSON text (EventInfo.ArgsJSON,
// which subscribe asks for when it prints the plain JSON line) prints byte for byte as
// the same event with the args as values, or is refused alike, in the plain line with
// and without --details and in every eventPrinter format (json with --timestamp or
// several topics, text, raw, a template), which read the text back into values.
func FuzzEventArgsJSON(f *testing.F) {
	f.Add(`["x",1,[true,null],{"":{},"a":"b"}]`, `{}`, false, 0, "com.t")
	f.Add(`[]`, `null`, true, 1, "com.t")
	f.Add("[\"\u2028\x7f日本\"]", `{"k":[1]}`, true, 2, "\xff")
	f.Add(`[{"id":17}]`, `null`, false, 3, "com.t")
	f.Add(`[123456789012345678,-123456789012345678,0]`, `null`, false, 4, "com.t")
	f.Add(`[[[[[[]]]]]]`, `{}`, true, 5, "com.t")
	f.Fuzz(func(t *testing.T, argsJSON, kwargsJSON string, details bool, format int, topic string) {
		text := []byte(argsJSON)
		if !wamp.CanonicalJSONList(text, wamp.NestPayload) {
			return
		}
		v, err := wamp.UnmarshalJSON(text, wamp.NestPayload)
		if err != nil {
			t.Fatalf("%s is canonical but does not read: %v", text, err)
		}
		var kwargs map[string]any
		if v, err := wamp.UnmarshalJSON([]byte(kwargsJSON), wamp.NestPayload); err == nil {
			kwargs, _ = v.(map[string]any)
		}
		events := func() (asText, asValues *wamp.EventInfo) {
			ev := wamp.EventInfo{Topic: topic, Publication: 7, Sealed: true, Kwargs: kwargs,
				Details: wamp.Dict{"topic": topic}, Opened: wamp.Dict{"entry": "com."}}
			asText, asValues = &ev, new(wamp.EventInfo)
			*asValues = ev
			asText.ArgsJSON = bytes.Clone(text)
			asValues.Args = v.([]any)
			return asText, asValues
		}
		prefix := []byte("earlier line\n")
		same := func(what string, write func([]byte, *wamp.EventInfo) ([]byte, error)) {
			a, b := events()
			got, err := write(bytes.Clone(prefix), a)
			want, wantErr := write(bytes.Clone(prefix), b)
			if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
				t.Fatalf("%s: args as text %q (%v), as values %q (%v)", what, got, err, want, wantErr)
			}
		}
		same("plain line", func(b []byte, ev *wamp.EventInfo) ([]byte, error) { return appendEventLine(b, ev, details) })
		spec := topicSpec{"com.", wamp.MatchPrefix}
		for _, c := range []struct {
			format           string
			multi, timestamp bool
		}{
			{formatJSON, false, true}, {formatJSON, true, false},
			{formatText, false, true}, {formatText, true, true},
			{formatRaw, false, false},
			{"{{.Topic}} {{.Args}} {{.Kwargs}}", false, false},
		}[format&0x7fff%6:] {
			p := plainPrinter(c.format, c.multi, c.timestamp)
			p.details = details && c.format == formatJSON
			same(c.format, func(b []byte, ev *wamp.EventInfo) ([]byte, error) { return p.appendEvent(b, ev, spec) })
		}
	})
}
