package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// cbx bench's own logic; its command line is in testdata/script/bench.txtar.

// A payload carries its kind, sender, sequence number and send time in exactly --size
// bytes, and reads back the same.
func TestBenchPayloadRoundTrip(t *testing.T) {
	for _, size := range []int{benchHeaderLen, 100, 4096} {
		p := newBenchPayload(size)
		for _, c := range []struct {
			kind byte
			who  int
			seq  uint64
			sent time.Duration
		}{
			{benchKindTimed, 0, 0, 0},
			{benchKindWarm, 999, 123456789, 17 * time.Hour},
			{benchKindTimed, 0xffff, 1<<48 - 1, 1<<63 - 1},
		} {
			text := p.text(c.kind, c.who, c.seq, c.sent)
			if len(text) != size {
				t.Fatalf("size %d: payload of %d bytes", size, len(text))
			}
			kind, who, seq, sent, ok := parseBenchPayload(wamp.List{text}, size)
			if !ok || kind != c.kind || who != c.who || seq != c.seq || sent != c.sent {
				t.Fatalf("%q read back as %c %d %d %v %v, want %c %d %d %v", text, kind, who, seq, sent, ok, c.kind, c.who, c.seq, c.sent)
			}
		}
	}
	good := newBenchPayload(40).text(benchKindTimed, 1, 2, 3)
	for _, bad := range []wamp.List{
		nil, {}, {good, good}, {int64(1)}, {good[:39]}, {good + "."},
		{"x" + good[1:]}, {good[:5] + "zz" + good[7:]}, {good[:17] + "f" + good[18:]}, // a send time over 2^63
	} {
		if _, _, _, _, ok := parseBenchPayload(bad, 40); ok {
			t.Errorf("%q read as a payload of this run", bad)
		}
	}
}

func TestBenchShares(t *testing.T) {
	for _, c := range []struct {
		total, n int
		want     []int
	}{{10, 3, []int{4, 3, 3}}, {2, 4, []int{1, 1, 0, 0}}, {9, 3, []int{3, 3, 3}}, {0, 2, []int{0, 0}}} {
		if got := shares(c.total, c.n); !slices.Equal(got, c.want) {
			t.Errorf("shares(%d, %d) = %v, want %v", c.total, c.n, got, c.want)
		}
	}
}

func TestGroupDigits(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", 100000: "100,000"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

// startBenchTestRouter starts cbx's router in-process with the given queue limit and its trace.
func startBenchTestRouter(t *testing.T, queue int) (string, *watchedBuffer) {
	t.Helper()
	return startTestRouter(t, router.Config{OutQueueSize: queue})
}

// The bench measures what it says: every publisher and subscriber is its own session on
// its own connection, the sealed mode's payloads cross the router sealed (the router sees
// no plaintext of them), the plain mode's in plaintext, and every event reaches every
// subscriber.
func TestBenchSessionsAndSealing(t *testing.T) {
	url, trace := startBenchTestRouter(t, 0)
	out, _ := cbxExit(t, 0, "bench", "pubsub", "--url", url, "--msgs", "40", "--warmup", "4", "--pubs", "2", "--subs", "3", "--size", "50", "--json")
	lines := stdoutLines(out)
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, one per mode:\n%s", out)
	}
	for _, l := range lines {
		m := decodeLine(t, []byte(l))
		if m["expected"] != int64(120) || m["received"] != int64(120) || m["lost"] != int64(0) {
			t.Fatalf("not every event reached every subscriber: %s", l)
		}
	}
	tr := trace.String()
	hello := regexp.MustCompile(`(?m)^rx conn=(\d+) session=\S+ json HELLO `)
	conns := map[string]bool{}
	for _, m := range hello.FindAllStringSubmatch(tr, -1) {
		conns[m[1]] = true
	}
	if len(conns) != 2*(2+3) {
		t.Fatalf("%d connections joined, want 10 (2 publishers and 3 subscribers per mode)", len(conns))
	}
	// The payload's filler: the sealed mode's must never appear on the router.
	pad := strings.Repeat(".", 50-benchHeaderLen)
	publishes := traceLines(tr, "rx", "json", "PUBLISH")
	events := traceLines(tr, "tx", "json", "EVENT")
	var sealed, plain int
	for _, l := range append(publishes, events...) {
		switch {
		case strings.Contains(l, "<sealed "):
			sealed++
			if strings.Contains(l, pad) || strings.Contains(l, ".plain") {
				t.Fatalf("a sealed message with plaintext, or on the plain topic: %s", l)
			}
		case strings.Contains(l, pad):
			plain++
		}
	}
	if sealed != 44+3*44 || plain != 44+3*44 {
		t.Fatalf("%d sealed and %d plain PUBLISH and EVENT lines, want 176 each (44 events, warm-up included, each to 3 subscribers)\n%s", sealed, plain, tr)
	}
}

// Events the router drops are counted as lost: the results are printed, then the error,
// exit 9. A router queue of one message and publishers that do not wait for
// acknowledgements (--window 0) make a subscriber fall behind.
func TestBenchLossesExit9(t *testing.T) {
	url, _ := startBenchTestRouter(t, 1)
	out, errOut := cbxExit(t, exitLost, "bench", "pubsub", "--url", url, "--msgs", "20000", "--warmup", "0",
		"--window", "0", "--pubs", "2", "--subs", "3", "--mode", "plain", "--json")
	m := oneLine(t, out)
	expected, received, lost := m["expected"].(int64), m["received"].(int64), m["lost"].(int64)
	if expected != 60000 || lost == 0 || lost != expected-received {
		t.Fatalf("expected %d, received %d, lost %d: %s", expected, received, lost, out)
	}
	if m["router_dropped"].(int64) == 0 {
		t.Fatalf("the router's drop marks were not counted: %s", out)
	}
	want := "cbx: error: plain: " + groupDigits(uint64(lost)) + " of 60,000 events did not arrive\n"
	if !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, "cbx: hint: plain: the router reported dropping ") {
		t.Fatalf("stderr:\n%s\nwant it to start with %q and give the router's count", errOut, want)
	}
}

// A table with a loss marks it; with colour off (not a terminal) it is plain text.
func TestBenchTableShowsLosses(t *testing.T) {
	url, _ := startBenchTestRouter(t, 1)
	out, _ := cbxExit(t, exitLost, "bench", "pubsub", "--url", url, "--msgs", "20000", "--warmup", "0",
		"--window", "0", "--subs", "3", "--mode", "plain")
	row := regexp.MustCompile(`(?m)^plain .* ([0-9,]+)$`).FindStringSubmatch(out)
	if row == nil || row[1] == "0" {
		t.Fatalf("no plain row with a loss:\n%s", out)
	}
}

func TestNewCmdBenchPubSub(t *testing.T) {
	defaults := benchOptions{bench: "pubsub", mode: "both", msgs: defaultBenchEvents, size: defaultBenchSize, warmup: defaultBenchWarmup,
		prefix: defaultBenchPrefix, rounds: 1, pubs: 1, subs: 1, window: defaultWindow, concurrency: 1}
	with := func(edit func(*benchOptions)) *benchOptions {
		o := defaults
		edit(&o)
		return &o
	}
	checkFlagCases(t, newCmdBenchPubSub, []flagCase[benchOptions]{
		{args(), with(func(*benchOptions) {}), ""},
		{args("-n", "5", "--size", "33", "--pubs", "4", "--subs", "1000", "--window", "0", "--rate", "100", "--mode", "sealed", "--csv", "--warmup", "0", "--prefix", "com.x."),
			with(func(o *benchOptions) {
				o.msgs, o.size, o.pubs, o.subs, o.window, o.rate, o.mode, o.csv, o.warmup, o.prefix = 5, 33, 4, 1000, 0, 100, "sealed", true, 0, "com.x."
			}), ""},
		{args("--url", "ws://h:1/ws", "--serializer", "msgpack", "--json", "--mode", "plain", "--timeout", "1m"),
			with(func(o *benchOptions) {
				o.conn, o.json, o.mode = connOptions{url: "ws://h:1/ws", serializer: wamp.SerializerMsgPack, timeout: time.Minute}, true, "plain"
			}), ""},
		{args("--mode", "encrypted"), nil, `--mode "encrypted": want sealed, plain or both`},
		{args("--json", "--csv"), nil, "--json and --csv can't be combined"},
		{args("--msgs", "-1"), nil, "--msgs -1: must be from 1 to 1000000000"},
		{args("--size", "1"), nil, "--size 1: must be from 33 to"},
		{args("--size", "67108865"), nil, "--size 67108865: must be from 33 to 67108864"},
		{args("--pubs", "0"), nil, "--pubs 0: must be from 1 to 1000"},
		{args("--subs", "1001"), nil, "--subs 1001: must be from 1 to 1000"},
		{args("--window", "-2"), nil, "--window -2: must not be negative"},
		{args("--require-encrypted"), nil, "--require-encrypted: cbx bench makes its own keys"},
		{args("--concurrency", "2"), nil, "unknown flag: --concurrency"},
		{args("topic"), nil, `"topic"`},
	})
}

func TestNewCmdBenchCall(t *testing.T) {
	defaults := benchOptions{bench: "call", mode: "both", msgs: defaultBenchCalls, size: defaultBenchSize, warmup: defaultBenchWarmup,
		prefix: defaultBenchPrefix, rounds: 1, pubs: 1, subs: 1, concurrency: 1}
	with := func(edit func(*benchOptions)) *benchOptions {
		o := defaults
		edit(&o)
		return &o
	}
	checkFlagCases(t, newCmdBenchCall, []flagCase[benchOptions]{
		{args(), with(func(*benchOptions) {}), ""},
		{args("--concurrency", "16", "--msgs", "7", "--mode", "sealed", "--json", "--wire", "ppt", "--rounds", "5"),
			with(func(o *benchOptions) {
				o.concurrency, o.msgs, o.mode, o.json, o.conn.wire, o.rounds = 16, 7, "sealed", true, "ppt", 5
			}), ""},
		{args("--rounds", "101"), nil, "--rounds 101: must be from 1 to 100"},
		{args("--procedure", "com.x.echo", "--url", "ws://h:1/ws"), with(func(o *benchOptions) { o.procedure, o.conn.url = "com.x.echo", "ws://h:1/ws" }), ""},
		{args("--procedure", "com.x.echo", "--mode", "plain"), nil, "--mode can't be used with --procedure"},
		{args("--procedure", "com x"), nil, `--procedure "com x"`},
		{args("--concurrency", "1001"), nil, "--concurrency 1001: must be from 1 to 1000"},
		{args("--pubs", "2"), nil, "unknown flag: --pubs"},
		{args("--rate", "2"), nil, "unknown flag: --rate"},
	})
}

// A subscriber's record: each timed event once, with its latency; a second copy is a
// duplicate; an event this run did not publish, one in plaintext where the run seals
// (a downgrading router) or one that did not open is an error, never counted as received.
func TestBenchSubscriberCounts(t *testing.T) {
	o := &benchOptions{size: 40}
	b := &benchEnv{o: o, base: time.Now()}
	s := &benchSubscriber{b: b, topic: "t", sealed: true, shares: []int{2, 1}, timed: newCounter(3), warm: newCounter(1), seen: [][]uint64{{0}, {0}}}
	p := newBenchPayload(40)
	ev := func(sealed bool, args ...any) *wamp.EventInfo {
		return &wamp.EventInfo{Args: args, Sealed: sealed, Details: wamp.Dict{}}
	}

	s.onEvent(ev(true, p.text(benchKindWarm, 0, 7, 0)))
	s.onEvent(ev(true, p.text(benchKindTimed, 0, 0, b.now())))
	s.onEvent(ev(true, p.text(benchKindTimed, 0, 0, b.now())))                                        // again: a duplicate
	s.onEvent(ev(false, p.text(benchKindTimed, 0, 1, b.now())))                                       // plaintext: refused
	s.onEvent(ev(true, p.text(benchKindTimed, 1, 5, b.now())))                                        // beyond publisher 1's share
	s.onEvent(ev(true, p.text(benchKindTimed, 2, 0, b.now())))                                        // no publisher 2
	s.onEvent(&wamp.EventInfo{Err: e2e.ErrDecrypt, Details: wamp.Dict{wamp.OptCBXDropped: int64(4)}}) // did not open; 4 dropped before it
	s.onEvent(ev(true, p.text(benchKindTimed, 1, 0, b.now())))

	if s.received != 2 || s.dups != 1 || s.bad != 4 || s.dropped != 4 || s.hist.Count() != 2 || s.timed.load() != 2 || s.warm.load() != 1 {
		t.Fatalf("received %d dups %d bad %d dropped %d latencies %d timed %d warm %d; want 2 1 4 4 2 2 1",
			s.received, s.dups, s.bad, s.dropped, s.hist.Count(), s.timed.load(), s.warm.load())
	}
	if want := `a plaintext event on "t", which this run seals`; s.firstErr == nil || s.firstErr.Error() != want {
		t.Fatalf("first error %v, want %q", s.firstErr, want)
	}

	// Reported after the results: the first error decides the exit code (3 for a payload
	// that did not open), ahead of duplicates (1) and losses (9).
	res := func(edit func(*benchResult)) []*benchResult {
		r := &benchResult{o: o, bench: "pubsub", mode: "sealed", expected: 10, received: 10}
		edit(r)
		return []*benchResult{r}
	}
	for _, c := range []struct {
		results []*benchResult
		code    int
		msg     string
	}{
		{res(func(r *benchResult) {}), exitOK, ""},
		{res(func(r *benchResult) { r.errors, r.firstErr, r.lost = 2, fmt.Errorf("opening: %w", e2e.ErrDecrypt), 3 }), exitDecrypt, "sealed: 2 events could not be read; the first: opening: "},
		{res(func(r *benchResult) {
			r.errors, r.firstErr = 1, errors.New("an event on \"t\" that this run did not publish")
		}), exitError, "sealed: 1 event could not be read; the first: an event"},
		{res(func(r *benchResult) { r.dups, r.lost = 5, 1 }), exitError, "sealed: 5 events arrived more than once"},
		{res(func(r *benchResult) { r.lost, r.received, r.dropped = 1234, 8766, 1000 }), exitLost, "sealed: 1,234 of 10 events did not arrive"},
	} {
		err := benchFailure(c.results)
		if code := exitCodeFor(err); code != c.code || err != nil && !strings.HasPrefix(err.Error(), c.msg) {
			t.Errorf("benchFailure: %v (exit %d), want exit %d and %q", err, code, c.code, c.msg)
		}
	}
}

// SIGINT ends a run as it ends every session command: exit 130, no results, no error.
func TestBenchInterrupted(t *testing.T) {
	p := startCbx(t, "bench", "pubsub", "--msgs", "100000000", "--warmup", "0", "-v")
	p.waitStderr(t, "embedded cbx router listening on")
	p.waitStderr(t, "joined realm")
	p.interrupt(t)
	if out := p.stdout.String(); out != "" {
		t.Fatalf("results printed after SIGINT:\n%s", out)
	}
	if strings.Contains(p.stderr.String(), "cbx: error:") {
		t.Fatalf("an error after SIGINT:\n%s", p.stderr)
	}
}

// Any WAMP router: through plain nexus, which cannot carry the legacy sealed form, the
// sealed mode seals in Payload PassThru Mode (--wire auto), events and calls alike.
// nexus queues at most 64 messages per client and drops the rest without a word; the
// events are paced (--rate) so that its subscriber keeps up: the losses this test is
// not about (TestBenchLossesExit9 is).
func TestBenchThroughPlainNexus(t *testing.T) {
	url := startPlainNexus(t)
	for _, bench := range []string{"pubsub", "call"} {
		argv := []string{"bench", bench, "--url", url, "--msgs", "200", "--warmup", "10", "--serializer", "cbor", "--json"}
		if bench == "pubsub" {
			argv = append(argv, "--rate", "2000", "--window", "8")
		}
		out, _ := cbxExit(t, 0, argv...)
		lines := stdoutLines(out)
		if len(lines) != 2 {
			t.Fatalf("%s: want 2 lines:\n%s", bench, out)
		}
		for i, want := range []string{"", "ppt"} {
			m := decodeLine(t, []byte(lines[i]))
			if m["sealed_form"] != want || m["received"] != int64(200) || m["lost"] != int64(0) || m["errors"] != int64(0) {
				t.Fatalf("%s: %s", bench, lines[i])
			}
		}
	}
}
