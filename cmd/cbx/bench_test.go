package main

import (
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// The command line's per-event work for issue 10's event (100 bytes of arguments): a
// --stdin line read into a payload, and an event written as subscribe's output line.

var benchLine = `["` + strings.Repeat("x", 88) + `",12345]`

func BenchmarkParseEventLine(b *testing.B) {
	for b.Loop() {
		if _, err := parseEventLine(benchLine); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOutputLine(b *testing.B) {
	ev := &wamp.EventInfo{Topic: "com.example.bench", Publication: 1234567, Sealed: true,
		Args: wamp.List{strings.Repeat("x", 88), int64(12345)}}
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
