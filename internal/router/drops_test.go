package router

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Helpers and tests for the drop accounting of slow receivers (doc.go, "Bounded
// resources"): the counts in a session's warnings must add up to its drops, and the
// trace's drop lines carry the session's running total.

// dropWarningRE matches both forms of the drop warning (peer.warnDropsLocked).
var dropWarningRE = regexp.MustCompile(`\(session (\d+)\) (?:is not reading fast enough|was sent messages too large for it|closed): (\d+) message\(s\) dropped`)

// loggedDrops adds up the counts in the drop warnings for session sess and counts the
// warning lines.
func loggedDrops(t testing.TB, logs string, sess wamp.ID) (sum uint64, lines int) {
	t.Helper()
	for _, m := range dropWarningRE.FindAllStringSubmatch(logs, -1) {
		if m[1] != strconv.FormatUint(uint64(sess), 10) {
			continue
		}
		n, err := strconv.ParseUint(m[2], 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("drop warning with count %q", m[2])
		}
		sum += n
		lines++
	}
	return sum, lines
}

// waitLoggedDrops polls the log, up to testWait, until the counts in the drop warnings
// for sess add up to want, and returns the number of warning lines. It fails at once if
// they add up to more.
func waitLoggedDrops(t testing.TB, logs *syncBuffer, sess wamp.ID, want uint64) int {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		sum, lines := loggedDrops(t, logs.String(), sess)
		if sum == want {
			return lines
		}
		if sum > want {
			t.Fatalf("drop warnings for session %d add up to %d, more than the %d drops:\n%s", sess, sum, want, logs)
		}
		if time.Now().After(deadline) {
			t.Fatalf("drop warnings for session %d add up to %d after %v, want %d:\n%s", sess, sum, testWait, want, logs)
		}
		time.Sleep(5 * time.Millisecond) // bounded poll: the report comes from a timer or a closing session
	}
}

var traceDropRE = regexp.MustCompile(`^drop conn=\d+ session=(\d+) \S+ (?:outbound queue full \(\d+ (?:messages|bytes)\)|too large: \d+ bytes as \S+ exceed the \d+-byte message limit) dropped_total=(\d+)$`)

// traceDropTotal checks that the trace's drop lines for session sess carry the running
// totals 1, 2, 3, … in order, and returns the last one (0 if there is none).
func traceDropTotal(t testing.TB, trace string, sess wamp.ID) uint64 {
	t.Helper()
	var last uint64
	for _, line := range strings.Split(trace, "\n") {
		if !strings.HasPrefix(line, "drop ") || strings.Contains(line, "session=? ") {
			continue
		}
		m := traceDropRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("drop line without a running total: %q", line)
		}
		if m[1] != strconv.FormatUint(uint64(sess), 10) {
			continue
		}
		n, _ := strconv.ParseUint(m[2], 10, 64)
		if n != last+1 {
			t.Fatalf("drop line %q follows dropped_total=%d", line, last)
		}
		last = n
	}
	return last
}

// TestDropWarningsFlushedOnClose: drops still unreported when a session ends are logged
// then, not lost. The rate-limit window is made an hour long so that only the session's
// end can report them; two slow subscribers show that the accounting is per session.
func TestDropWarningsFlushedOnClose(t *testing.T) {
	const queue = 4
	srv, trace, logs := testServer(t, Config{OutQueueSize: queue})
	srv.dropWarnEvery = time.Hour
	slow1 := join(t, srv, autobahnRoles())
	slow2 := join(t, srv, autobahnRoles())
	probe := join(t, srv, autobahnRoles())
	pub := join(t, srv, autobahnRoles())
	slow1.subscribe("com.example.firehose", nil)
	slow2.subscribe("com.example.firehose", nil)
	probe.subscribe("com.example.barrier", nil)

	const n = 40
	for i := range n {
		pub.send(&wamp.Publish{Request: pub.nextReq(), Options: encOpts(wamp.Dict{"acknowledge": true}),
			Topic: "com.example.firehose", Payload: wamp.Payload{Bare: []byte{byte(i)}}})
		expect[*wamp.Published](pub)
	}
	// Every firehose event was queued or dropped once the probe has the barrier event
	// (see TestSlowSubscriberDrops); drops are traced and counted before nexus goes on.
	pub.send(&wamp.Publish{Request: pub.nextReq(), Options: wamp.Dict{}, Topic: "com.example.barrier"})
	expect[*wamp.Event](probe)
	settle(t, srv, slow1)
	settle(t, srv, slow2)

	d := srv.Stats().Dropped
	d1 := traceDropTotal(t, trace.String(), slow1.session)
	d2 := traceDropTotal(t, trace.String(), slow2.session)
	if d1 < n-queue-1 || d2 < n-queue-1 || d1+d2 != d {
		t.Fatalf("trace totals %d and %d, Stats.Dropped %d; want each ≥ %d, adding up", d1, d2, d, n-queue-1)
	}
	// Inside the window only each session's first drop has been reported.
	for _, c := range []*client{slow1, slow2} {
		if sum, lines := loggedDrops(t, logs.String(), c.session); sum != 1 || lines != 1 {
			t.Fatalf("before close, session %d has %d warning line(s) adding up to %d, want 1 line of 1:\n%s", c.session, lines, sum, logs)
		}
	}

	// The first slow subscriber's connection goes away: the rest of its drops are
	// reported at once, the other session's are not.
	slow1.p.Close(closeNormal, "")
	if lines := waitLoggedDrops(t, logs, slow1.session, d1); lines != 2 {
		t.Errorf("session %d: %d warning lines, want 2 (the first drop, then the rest at close):\n%s", slow1.session, lines, logs)
	}
	if !containsLine(logs.String(), "(session "+strconv.FormatUint(uint64(slow1.session), 10)+") closed: ",
		strconv.FormatUint(d1-1, 10)+" message(s) dropped since the last warning",
		strconv.FormatUint(d1, 10)+" dropped in total") {
		t.Errorf("no closing drop warning for session %d:\n%s", slow1.session, logs)
	}
	if sum, _ := loggedDrops(t, logs.String(), slow2.session); sum != 1 {
		t.Errorf("session %d's warnings add up to %d before it closed, want 1", slow2.session, sum)
	}

	// The second one ends through the router's shutdown.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if sum, _ := loggedDrops(t, logs.String(), slow2.session); sum != d2 {
		t.Errorf("after Close, session %d's warnings add up to %d, want %d:\n%s", slow2.session, sum, d2, logs)
	}
	if got := srv.Stats().Dropped; got != d {
		t.Errorf("Stats.Dropped = %d after the sessions closed, want %d", got, d)
	}
}
