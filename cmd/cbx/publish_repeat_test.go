package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/router"
)

// publish --repeat: an event the router refuses is reported by its number, exit 1, as a
// --stdin line is; nothing after the window is sent, the IDs of those published are
// printed in order, and a hint says how many were published.
func TestPublishRepeatRefusedEvent(t *testing.T) {
	const bad, window = 5, 4
	url, wait, received, ids := refusingBroker(t)
	// Every event is its number, but the fifth is "bad", which the broker refuses.
	arg := fmt.Sprintf(`{{if eq .Count %d}}"bad"{{else}}{{.Count}}{{end}}`, bad)
	out, errOut, code := cbxRun(t, "", "publish", "com.t", arg, "--template", "--repeat", "100", "--window", strconv.Itoa(window),
		"--ack", "--url", url, "--keystore", unrelatedKeystore(t))
	if err := wait(); err != nil {
		t.Fatalf("router: %v\nstderr:\n%s", err, errOut)
	}
	if code != exitError {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, errOut)
	}
	wantError(t, errOut, fmt.Sprintf(`cbx: error: event %d: publishing to "com.t": the router refused: wamp.error.not_authorized: no publishing here`, bad))
	n := len(*received)
	if n < bad || n > bad+window-1 {
		t.Fatalf("the router received %d PUBLISH; want the refused one (event %d) and at most %d after it", n, bad, window-1)
	}
	for i, got := range *received {
		if want := i + 1; i+1 != bad && got != want {
			t.Fatalf("PUBLISH %d held %d, want %d (the counter)", i+1, got, want)
		}
	}
	hint := fmt.Sprintf("cbx: hint: published: %d of the %d events sent; refused: event %d; nothing after event %d was sent", n-1, n, bad, n)
	if !strings.Contains(errOut, hint+"\n") {
		t.Fatalf("stderr:\n%s\nwant the hint:\n%s", errOut, hint)
	}
	if want := strings.Join(*ids, "\n") + "\n"; out != want {
		t.Fatalf("stdout:\n%s\nwant the published IDs in order:\n%s", out, want)
	}
}

// --interval spaces the events: each is due an interval after the one before was due,
// and none is made early. The events carry the time cbx made them ({{.Time.UnixMicro}};
// microseconds keep the broker's publication IDs within 2^53), so the spacing is read
// from what the publisher did, not from when the router or a subscriber saw it. The third cannot be made before two intervals have
// passed since the first (a bound, not a speed: a loaded machine only makes the gaps
// longer).
func TestPublishRepeatInterval(t *testing.T) {
	const interval = 150 * time.Millisecond
	url, wait, received, _ := refusingBroker(t)
	_, errOut, code := cbxRun(t, "", "publish", "com.t", "{{.Time.UnixMicro}}", "--template", "--repeat", "3",
		"--interval", interval.String(), "--url", url, "--keystore", unrelatedKeystore(t))
	if err := wait(); err != nil {
		t.Fatalf("router: %v\nstderr:\n%s", err, errOut)
	}
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	got := *received
	if len(got) != 3 {
		t.Fatalf("the router received %d events, want 3", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("event times %v are not increasing", got)
		}
	}
	// The third was due two intervals after the first was made; the times are whole
	// microseconds.
	if span := time.Duration(got[2]-got[0]) * time.Microsecond; span < 2*interval-time.Microsecond {
		t.Fatalf("events made at %v: the third %v after the first, want at least 2×%v", got, span, interval)
	}
}

// progressDefault: on when stderr is a terminal, except for --stdin typed on it.
func TestProgressDefault(t *testing.T) {
	for _, c := range []struct {
		stdinTTY, stderrTTY, stdin, want bool
	}{
		{stderrTTY: true, want: true},
		{stderrTTY: true, stdin: true, want: true},
		{stderrTTY: true, stdinTTY: true, stdin: true, want: false},
		{stderrTTY: true, stdinTTY: true, want: true}, // --repeat reads no input
		{stdin: true},
		{},
	} {
		if got := progressDefault(&ioStreams{stdinTTY: c.stdinTTY, stderrTTY: c.stderrTTY}, c.stdin); got != c.want {
			t.Errorf("%+v: %v", c, got)
		}
	}
}

// --repeat 0 runs until interrupted: SIGINT ends it politely (exit 130, as every session
// command), after the events already in flight were acknowledged.
func TestPublishRepeatUntilInterrupted(t *testing.T) {
	url, _ := serveRouterAt(t, "127.0.0.1:0", router.Config{})
	ks := emptyKeystore(t)
	sub := startCbx(t, "subscribe", "org.forever", "--count", "3", "--url", url, "--keystore", ks, "-v")
	sub.waitStderr(t, "subscribed to")
	pub := startCbx(t, "publish", "org.forever", "tick", "--repeat", "0", "--interval", "20ms", "--ack", "--url", url, "--keystore", ks)
	sub.waitExit(t, exitOK) // three events arrived: the publisher is running
	pub.interrupt(t)
	if n := len(stdoutLines(pub.stdout.String())); n < 3 {
		t.Fatalf("the publisher printed %d publication IDs, want at least the 3 the subscriber saw", n)
	}
}
