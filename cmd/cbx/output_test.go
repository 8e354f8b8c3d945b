package main

import (
	"fmt"
	"strings"
	"testing"
)

// subscribe gathers the lines of events that arrive together into one write, but never
// holds a line back while no event follows: a script reading its output line by line
// gets each event as it comes, with subscribe still running (no --count, no exit to
// flush at).
func TestSubscribeLinesArriveWhileIdle(t *testing.T) {
	url, _ := startInteropRouter(t)
	ks := emptyKeystore(t)
	sub := startCbx(t, "subscribe", "com.plain.lines", "-v", "--url", url, "--keystore", ks)
	sub.waitStderr(t, "subscribed")
	lines := func(n int) func(string) bool {
		return func(s string) bool { return len(stdoutLines(s)) >= n }
	}

	cbxOK(t, "", "publish", "com.plain.lines", "one", "--ack", "--url", url, "--keystore", ks)
	out := waitFor(t, sub.stdout, sub.exited, "the line of a single event", lines(1))
	if got := oneLine(t, out); got["args"].([]any)[0] != "one" {
		t.Fatalf("line %v", got)
	}

	// A burst: the last line too comes out while subscribe waits for more.
	var in strings.Builder
	for i := range 500 {
		fmt.Fprintf(&in, "[%d]\n", i)
	}
	cbxOK(t, in.String(), "publish", "com.plain.lines", "--stdin", "--url", url, "--keystore", ks)
	out = waitFor(t, sub.stdout, sub.exited, "the lines of a burst of 500 events", lines(501))
	if last := stdoutLines(out)[500]; decodeLine(t, []byte(last))["args"].([]any)[0] != int64(499) {
		t.Fatalf("last line %s", last)
	}
	sub.interrupt(t)
}
