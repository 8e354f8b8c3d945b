package main

import (
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// The command line's per-event work for issue 10's event (100 bytes of arguments): a
// --stdin line read into a payload, and an event written as subscribe's output line.

var benchLine = []byte(`["` + strings.Repeat("x", 88) + `",12345]`)

func BenchmarkParseEventLine(b *testing.B) {
	for b.Loop() {
		if _, err := parseEventLine(benchLine); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOutputLine is subscribe's line, appended into the buffer it reuses.
func BenchmarkOutputLine(b *testing.B) {
	ev := benchEvent()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = appendEventLine(buf[:0], ev, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventLineAsText is the work a sealed --stdin line and a sealed event's line
// take when their args travel as JSON text: the line checked (CanonicalJSONList, instead
// of ParseEventLine) and the output line with the args copied (instead of
// BenchmarkOutputLine's writing of values).
func BenchmarkEventLineAsText(b *testing.B) {
	b.Run("stdin", func(b *testing.B) {
		for b.Loop() {
			if !wamp.CanonicalJSONList(benchLine, wamp.NestPayload) {
				b.Fatal("not canonical")
			}
		}
	})
	b.Run("output", func(b *testing.B) {
		ev := benchEvent()
		ev.Args, ev.ArgsJSON = nil, benchLine
		var buf []byte
		for b.Loop() {
			var err error
			if buf, err = appendEventLine(buf[:0], ev, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkObjectLine is the same line written by objectLine (call's and register's
// lines), as subscribe wrote it before appendEventLine.
func BenchmarkObjectLine(b *testing.B) {
	ev := benchEvent()
	for b.Loop() {
		fields := []field{
			{"topic", ev.Topic}, {"publication", uint64(ev.Publication)}, {"sealed", ev.Sealed},
			{"args", argsOrEmpty(ev.Args)}, {"kwargs", kwargsOrEmpty(ev.Kwargs)},
		}
		if _, err := objectLine(fields...); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEvent() *wamp.EventInfo {
	return &wamp.EventInfo{Topic: "com.example.bench", Publication: 1234567, Sealed: true,
		Args: wamp.List{strings.Repeat("x", 88), int64(12345)}}
}
