package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

// cbx bench measures a router with cbx's own sessions: publish → subscribe
// (bench_pubsub.go) and call → result (bench_call.go), sealed and plain side by side.
// docs/bench.md says what is timed and how to reproduce a figure; this file holds what
// both have in common: flags, keys made in memory, the embedded router, the progress
// line, and the results as a table, JSON lines or CSV (bench_output.go).
//
// It does not cheat: every publisher, subscriber, caller and callee is its own WAMP
// session over its own WebSocket connection, through the loopback interface to the
// router, exactly as separate processes would connect; only the process is shared.

// Defaults. The size is the 100-byte event; the window is cbx publish --stdin's.
const (
	defaultBenchSize   = 100
	defaultBenchWarmup = 1000
	defaultBenchPrefix = "cbx.bench."
	// benchDrainIdle is how long a pubsub run waits, once every publisher is done, for
	// an event after the last one: events the router has not delivered by then count as
	// lost. A router still delivering a backlog keeps the run going.
	benchDrainIdle = 2 * time.Second
	// benchWarmupWait bounds the wait for the warm-up's events or calls.
	benchWarmupWait = 30 * time.Second
	// benchMaxSessions bounds --pubs, --subs and --concurrency: each is a connection.
	benchMaxSessions = 1000
	maxBenchRounds   = 100
)

// benchOptions are the flags of cbx bench pubsub and cbx bench call; each command uses
// its own part.
type benchOptions struct {
	conn   connOptions
	bench  string // "pubsub" or "call"
	mode   string // plain, sealed or both
	msgs   int
	size   int
	warmup int
	prefix string
	rounds int // the modes, alternated, this many times
	json   bool
	csv    bool

	pubs, subs int // pubsub
	window     int // pubsub: unacknowledged publications per publisher; 0: no acknowledgements
	rate       int // pubsub: events per second per publisher; 0: as fast as possible

	concurrency int    // call: callers, each with one call in flight
	procedure   string // call: an existing procedure to call, sealed as the keystore says
}

func newCmdBench(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench {pubsub | call}",
		Short: "Measure a router's throughput and latency, sealed and plain side by side",
		Long: `bench measures how fast events (bench pubsub) and calls (bench call) go through a
WAMP router with cbx's own sessions, sealed with cryptobox and in plaintext side by side
(--mode both, the default), so that the cost of the encryption shows in one run.

It runs against --url (any WAMP router: Crossbar.io, nexus, cbx router elsewhere) or,
when neither --url nor CBX_URL is given, against a cbx router it starts in the same
process on a free loopback port. Either way every publisher, subscriber, caller and
callee is its own WAMP session over its own WebSocket connection, through the loopback
interface or the network: nothing is passed in memory. With the embedded router, the
router and every session share this process and its CPUs; separate processes
(scripts/bench-e2e.sh) spread the same work over several.

The keys are made on the fly, in memory, for this run: no keystore is read or written
(--keystore is refused, but for bench call --procedure, which calls a callee of another
process with the keystore's keys). Topics and procedures are --prefix plus a random run ID plus
"sealed" or "plain", so runs on one router do not mix; the sealed URI is covered by the
run's keys, the plain one by none.

Results: messages per second, MB/s (10^6 bytes of payload, --size per message) and
latency min/p50/p90/p99/p99.9/max and mean, as a table, or with --json one JSON object a
line, with --csv a header and one row, per mode and round; every figure's name says its unit
(msgs_per_s, mb_per_s, p99_us). Percentiles are at most 0.8 % above the exact value
(internal/latency). While it runs, a progress line is shown on stderr when stderr is
a terminal.

Before the timing starts, --warmup events (calls) go the whole way and are waited for:
connections are open, keys computed and buffers grown before anything is timed.
docs/bench.md says exactly what is timed; all times are read from Go's monotonic clock.

Exit status: 0 when everything arrived; 9 when events or calls were lost (the results
are printed first, then the error); 3 or 4 when a sealed payload did not open; 1 when
something arrived twice or malformed; 6 when the router could not be reached or went
away; 8 when --timeout passed before the run ended (nothing is printed); 130 on SIGINT.`,
		Example: `  $ cbx bench pubsub
  $ cbx bench pubsub --msgs 200000 --serializer msgpack --subs 4 --json
  $ cbx bench call --concurrency 8 --mode sealed
  $ cbx bench pubsub --url wss://router.example.com/ws --realm test --ticket ticket.txt --authid bench`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(graceful(newCmdBenchPubSub(f, nil)), graceful(newCmdBenchCall(f, nil)))
	return cmd
}

// addBenchFlags adds the flags both benchmarks share, and the connection flags less
// those that name keys.
func addBenchFlags(cmd *cobra.Command, o *benchOptions, msgs int, what string) {
	fl := cmd.Flags()
	fl.StringVar(&o.mode, "mode", "both", "`sealed`, plain, or both side by side")
	fl.IntVarP(&o.msgs, "msgs", "n", msgs, "number of timed "+what)
	fl.IntVar(&o.size, "size", defaultBenchSize, "payload `bytes` per message (at least 33: a sequence number and a timestamp travel in it)")
	fl.IntVar(&o.warmup, "warmup", defaultBenchWarmup, "untimed "+what+" sent first and waited for (0: none)")
	fl.IntVar(&o.rounds, "rounds", 1, "run the modes this many times, alternating (a noisy machine slows them alike)")
	fl.StringVar(&o.prefix, "prefix", defaultBenchPrefix, "URI `prefix` of the run's topics and procedures")
	fl.BoolVar(&o.json, "json", false, "print one JSON object per mode instead of a table")
	fl.BoolVar(&o.csv, "csv", false, "print a CSV header and one row per mode instead of a table")
	addConnFlags(cmd, &o.conn)
	// The run's keys are made in memory: nothing to require.
	fl.MarkHidden("require-encrypted")
}

// check refuses a bad command line before anything is started.
func (o *benchOptions) check(cmd *cobra.Command, f *factory) error {
	if (cmd.Flags().Changed("keystore") || f.keystoreSet) && o.procedure == "" {
		return withCode(exitUsage, errors.New("--keystore: cbx bench makes its own keys in memory and reads no keystore"),
			"sealed payloads are measured with --mode sealed or both; cbx bench call --procedure calls a procedure with the keystore's keys")
	}
	if o.procedure != "" {
		if err := checkURIArg("--procedure", o.procedure, "", false); err != nil {
			return err
		}
		if cmd.Flags().Changed("mode") {
			return withCode(exitUsage, errors.New("--mode can't be used with --procedure: the keystore decides whether the calls are sealed"),
				"`cbx keys explain "+shellQuote(o.procedure)+"` shows the decision")
		}
	}
	if cmd.Flags().Changed("require-encrypted") {
		return &usageError{errors.New("--require-encrypted: cbx bench makes its own keys; --mode sealed seals every payload")}
	}
	switch o.mode {
	case "sealed", "plain", "both":
	default:
		return &usageError{fmt.Errorf("--mode %q: want sealed, plain or both", o.mode)}
	}
	if o.json && o.csv {
		return &usageError{errors.New("--json and --csv can't be combined: choose one")}
	}
	if o.msgs < 1 || o.msgs > maxBenchMsgs {
		return &usageError{fmt.Errorf("--msgs %d: must be from 1 to %d", o.msgs, maxBenchMsgs)}
	}
	if o.size < benchHeaderLen || o.size > maxBenchSize {
		return &usageError{fmt.Errorf("--size %d: must be from %d to %d bytes", o.size, benchHeaderLen, maxBenchSize)}
	}
	if o.rounds < 1 || o.rounds > maxBenchRounds {
		return &usageError{fmt.Errorf("--rounds %d: must be from 1 to %d", o.rounds, maxBenchRounds)}
	}
	if o.warmup < 0 {
		return &usageError{fmt.Errorf("--warmup %d: must not be negative", o.warmup)}
	}
	for _, n := range []struct {
		flag string
		v    int
	}{{"--pubs", o.pubs}, {"--subs", o.subs}, {"--concurrency", o.concurrency}} {
		if n.v < 1 || n.v > benchMaxSessions {
			return &usageError{fmt.Errorf("%s %d: must be from 1 to %d", n.flag, n.v, benchMaxSessions)}
		}
	}
	if o.bench == "pubsub" && uint64(o.msgs)*uint64(o.subs) > maxBenchDeliveries {
		// Each subscriber keeps a bit per event to count duplicates and losses.
		return &usageError{fmt.Errorf("--msgs %d with --subs %d: at most %d events can be received in one run, all subscribers together", o.msgs, o.subs, maxBenchDeliveries)}
	}
	if o.window < 0 {
		return &usageError{fmt.Errorf("--window %d: must not be negative (0: no acknowledgements)", o.window)}
	}
	if o.rate < 0 {
		return &usageError{fmt.Errorf("--rate %d: must not be negative (0: as fast as possible)", o.rate)}
	}
	if err := wamp.CheckURI(o.prefix+"x", ""); err != nil {
		return &usageError{fmt.Errorf("--prefix %q: %w", o.prefix, err)}
	}
	return nil
}

// maxBenchMsgs and maxBenchDeliveries bound a run's memory: a subscriber keeps one bit
// per event (a billion events: 125 MB), to tell a duplicate from a new one.
const (
	maxBenchMsgs       = 1_000_000_000
	maxBenchDeliveries = 2_000_000_000
)

// maxBenchSize bounds --size: far above what a router carries by default (1 MiB), so the
// router's own limit is what a large size meets.
const maxBenchSize = 64 << 20

// modes lists the modes a run measures, in order.
func (o *benchOptions) modes() []string {
	switch {
	case o.procedure != "":
		return []string{""} // the keystore decides: call sets the mode
	case o.mode == "both":
		return []string{"plain", "sealed"}
	}
	return []string{o.mode}
}

// benchRun is cbx bench pubsub and cbx bench call: it resolves the connection, starts
// the embedded router when no router is named, makes the keys, runs each mode, prints
// the results and says what went wrong.
func benchRun(ctx context.Context, f *factory, o *benchOptions) error {
	embedded := o.conn.url == ""
	if err := o.conn.resolve(f); err != nil {
		return err
	}
	// Nor from the environment or a context (resolve names where it took the URL).
	embedded = embedded && o.conn.from["--url"] == ""
	if embedded && o.procedure != "" {
		return withCode(exitUsage, errors.New("--procedure needs --url (or CBX_URL, or a context's URL): the router where its callee is registered"))
	}
	if embedded && (o.conn.ticket != "" || o.conn.wampcra != "" || o.conn.cryptosign != "") {
		return withCode(exitUsage, errors.New("authentication flags need --url: the embedded router takes anonymous sessions"),
			"give --url (or CBX_URL) to measure a router that authenticates")
	}
	ctx, cancel := o.conn.withTimeout(ctx)
	defer cancel()

	run := &benchEnv{f: f, o: o, base: time.Now(), id: benchRunID()}
	routerName := o.conn.url
	if embedded {
		r, err := startBenchRouter(o.conn.realm)
		if err != nil {
			return err
		}
		defer r.close()
		run.router = r
		o.conn.url = r.url
		routerName = "embedded"
		if o.conn.verbose {
			f.ui.noticef("bench: embedded cbx router listening on %s", r.url)
		}
	}
	if err := run.dialers(); err != nil {
		return err
	}

	var results []*benchResult
	for round := 1; round <= o.rounds; round++ {
		for _, mode := range o.modes() {
			res := &benchResult{bench: o.bench, mode: mode, round: round, router: routerName, serializer: o.conn.serializer, started: time.Now().UTC(), o: o}
			uri := o.prefix + run.id + "." + mode
			if o.procedure != "" {
				uri = o.procedure
			}
			var err error
			switch o.bench {
			case "pubsub":
				err = run.pubsub(ctx, uri, res)
			case "call":
				err = run.call(ctx, uri, res)
			}
			if err != nil {
				if errors.Is(ctx.Err(), context.DeadlineExceeded) {
					return withCode(exitTimeout, fmt.Errorf("%s: the --timeout deadline (%v) passed before the run ended", strings.TrimSpace(o.bench+" "+mode), o.conn.timeout))
				}
				return err
			}
			results = append(results, res)
		}
	}
	if err := writeBenchResults(f, o, results); err != nil {
		return &stdoutError{err}
	}
	return benchFailure(results)
}

// benchEnv is one run: its options, its dialers, the embedded router and the base of its
// clock.
type benchEnv struct {
	f          *factory
	o          *benchOptions
	id         string
	originator *dialer // publishers and callers: they seal
	responder  *dialer // subscribers and the callee: they open (and the callee seals its results)
	router     *benchRouter
	// base is the run's zero: every time is time.Since(base), Go's monotonic clock.
	base time.Time
}

// dialers makes the run's dialers: one for the originator side (publishers, callers), one
// for the responder side (subscribers, the callee), each with its keys made in memory;
// with --procedure, one for the callers with the keystore as every command finds it.
func (b *benchEnv) dialers() error {
	f, o := b.f, b.o
	var err error
	if o.procedure != "" {
		b.originator, err = f.newDialer(&o.conn)
		return err
	}
	origKS, respKS, err := benchKeystores(o.prefix + b.id + ".sealed")
	if err != nil {
		return err
	}
	// One dialer reads the credentials (a secret on standard input is read once); the
	// responder side differs only in its keys.
	const ksName = "cbx bench's in-memory keys"
	if b.originator, err = f.dialerWith(&o.conn, origKS, ksName); err != nil {
		return err
	}
	b.responder = b.originator.withKeystore(respKS)
	return nil
}

// now is the time since the run's base.
func (b *benchEnv) now() time.Duration { return time.Since(b.base) }

// benchRunID is a random name for a run's URIs, so that runs on one router do not mix.
func benchRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// benchKeystores makes the run's keys in memory: the originator's keystore (publishers,
// callers: its private key and the responder's public key for uri) and the responder's
// (subscribers, the callee: the other two). Nothing is written anywhere.
func benchKeystores(uri string) (originator, responder *keystore.Keystore, err error) {
	origPriv, err := keygen.Generate(nil)
	if err != nil {
		return nil, nil, err
	}
	respPriv, err := keygen.Generate(nil)
	if err != nil {
		return nil, nil, err
	}
	origPub, respPub := origPriv.Public(), respPriv.Public()
	originator, responder = keystore.New(), keystore.New()
	if err := originator.Put(&keystore.Entry{Prefix: uri, OriginatorPrivate: &origPriv, ResponderPublic: &respPub}); err != nil {
		return nil, nil, err
	}
	if err := responder.Put(&keystore.Entry{Prefix: uri, ResponderPrivate: &respPriv, OriginatorPublic: &origPub}); err != nil {
		return nil, nil, err
	}
	return originator, responder, nil
}

// benchRouter is the embedded cbx router: internal/router on a free loopback port.
type benchRouter struct {
	srv *router.Server
	url string
}

func startBenchRouter(realm string) (*benchRouter, error) {
	srv, err := router.New(router.Config{Realms: []string{realm}, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, withCode(exitConnection, fmt.Errorf("starting the embedded router: %w", err))
	}
	// Serve returns when the router is closed; should the listener fail before, the
	// sessions' connections fail, and the run with them (exit 6).
	go srv.Serve(l) //nolint:errcheck // see above

	return &benchRouter{srv: srv, url: "ws://" + l.Addr().String() + "/ws"}, nil
}

// dropped is the number of events the embedded router has dropped so far.
func (r *benchRouter) dropped() uint64 { return r.srv.Stats().Dropped }

func (r *benchRouter) close() { r.srv.Close() }

// dialAll opens n sessions with d, in parallel; on failure it closes those it opened.
func dialAll(ctx context.Context, d *dialer, n int) ([]*conn, error) {
	conns := make([]*conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() { conns[i], errs[i] = d.dial(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			closeAll(conns)
			return nil, err // the first: all are likely the same
		}
	}
	return conns, nil
}

// closeAll ends sessions (GOODBYE, bounded), in parallel.
func closeAll(conns []*conn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		if c != nil {
			wg.Go(func() { c.close() })
		}
	}
	wg.Wait()
}

// sessionLost returns a channel that yields the error of the first of conns whose
// session ends before stop is closed.
func sessionLost(conns []*conn, stop <-chan struct{}) <-chan error {
	lost := make(chan error, len(conns))
	for _, c := range conns {
		go func() {
			select {
			case <-c.sess.Done():
				lost <- withCode(exitConnection, sessionEnded(c.sess.Err()))
			case <-stop:
			}
		}()
	}
	return lost
}

// shares splits total among n as evenly as possible, the first ones taking the remainder.
func shares(total, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = total / n
		if i < total%n {
			out[i]++
		}
	}
	return out
}

// The payload of every benchmark message is one string argument of exactly --size
// bytes: a kind byte ('w' warm-up, 't' timed), the publisher's (caller's) number in 4
// hex digits, the sequence number in 12 and the send time (since the run's base, in
// nanoseconds) in 16, then dots. In compact JSON the arguments are [""] around it:
// --size + 4 bytes. A string and not binary, so that every serializer carries it alike
// and the sealed plaintext holds it without base64.
const (
	benchHeaderLen = 1 + 4 + 12 + 16
	benchKindWarm  = 'w'
	benchKindTimed = 't'
)

// benchPayload builds payloads of one size in a reused buffer.
type benchPayload struct{ buf []byte }

func newBenchPayload(size int) *benchPayload {
	return &benchPayload{buf: []byte(strings.Repeat(".", size))}
}

func (p *benchPayload) text(kind byte, who int, seq uint64, sent time.Duration) string {
	p.buf[0] = kind
	putHex(p.buf[1:5], uint64(who))
	putHex(p.buf[5:17], seq)
	putHex(p.buf[17:33], uint64(sent))
	return string(p.buf)
}

// putHex writes v into b as fixed-width lowercase hex (the low bits that fit).
func putHex(b []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
}

// parseBenchPayload reads a payload back from an event's arguments.
func parseBenchPayload(args wamp.List, size int) (kind byte, who int, seq uint64, sent time.Duration, ok bool) {
	if len(args) != 1 {
		return 0, 0, 0, 0, false
	}
	s, isString := args[0].(string)
	if !isString || len(s) != size {
		return 0, 0, 0, 0, false
	}
	w, err1 := strconv.ParseUint(s[1:5], 16, 16)
	q, err2 := strconv.ParseUint(s[5:17], 16, 64)
	t, err3 := strconv.ParseUint(s[17:33], 16, 63)
	if err1 != nil || err2 != nil || err3 != nil || (s[0] != benchKindWarm && s[0] != benchKindTimed) {
		return 0, 0, 0, 0, false
	}
	return s[0], int(w), q, time.Duration(t), true
}

// benchProgress shows a run's progress on one stderr line, rewritten in place, when
// stderr is a terminal; otherwise it does nothing.
type benchProgress struct {
	stop chan struct{}
	done chan struct{}
	w    io.Writer
}

func (b *benchEnv) progress(mode, what string, total uint64, count func() uint64) *benchProgress {
	p := &benchProgress{stop: make(chan struct{}), done: make(chan struct{}), w: b.f.io.ErrOut}
	if !b.f.io.stderrTTY {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			n := count()
			fmt.Fprintf(p.w, "\r\x1b[Kcbx: %s: %s of %s %s (%d %%)", mode, groupDigits(n), groupDigits(total), what, n*100/max(total, 1))
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// end erases the progress line.
func (p *benchProgress) end() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.stop)
	<-p.done
}

// counter is an atomic count that closes a channel when it reaches a target.
type counter struct {
	n      atomic.Uint64
	target uint64
	once   sync.Once
	full   chan struct{}
}

func newCounter(target uint64) *counter {
	c := &counter{target: target, full: make(chan struct{})}
	if target == 0 {
		close(c.full)
	}
	return c
}

func (c *counter) add(d uint64) {
	if c.n.Add(d) >= c.target {
		c.once.Do(func() { close(c.full) })
	}
}

func (c *counter) load() uint64 { return c.n.Load() }

// eachSession runs run(ctx, i) for i in [0, n), each in its own goroutine, and returns
// the latest time they returned. The first to fail cancels the others' ctx; its error,
// rather than the cancellation it caused in the others, is the one returned.
func eachSession(ctx context.Context, n int, run func(ctx context.Context, i int) (time.Duration, error)) (time.Duration, error) {
	ends := make([]time.Duration, n)
	errs := make([]error, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ends[i], errs[i] = run(ctx, i)
			if errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	if first != nil {
		return 0, first
	}
	return slices.Max(ends), nil
}

// warnf is the run's warning on stderr.
func (b *benchEnv) warnf(format string, a ...any) { b.f.ui.warnf(format, a...) }

// waitWarm waits until c is full (every warm-up message arrived), at most benchWarmupWait.
func (b *benchEnv) waitWarm(ctx context.Context, c *counter, lost <-chan error, mode, what string) error {
	t := time.NewTimer(benchWarmupWait)
	defer t.Stop()
	select {
	case <-c.full:
		return nil
	case err := <-lost:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		b.warnf("%s: only %d of %d warm-up %s arrived within %v; measuring anyway", mode, c.load(), c.target, what, benchWarmupWait)
		return nil
	}
}
