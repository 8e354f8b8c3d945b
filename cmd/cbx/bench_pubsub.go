package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cbx-wamp/cbx/internal/latency"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

const defaultBenchEvents = 100000

func newCmdBenchPubSub(f *factory, runF func(*benchOptions) error) *cobra.Command {
	o := &benchOptions{bench: "pubsub", concurrency: 1}
	cmd := &cobra.Command{
		Use:   "pubsub [--msgs N] [--size B] [--pubs P] [--subs S] [--mode {sealed | plain | both}] [--json | --csv]",
		Short: "Measure publish → subscribe through a router, sealed and plain",
		Long: `bench pubsub publishes --msgs events (shared among --pubs publishers) to one topic
that --subs subscribers receive, each in its own session, and measures, per mode:

  msgs_per_s       events received per second, all subscribers together, from the
                   first timed publication to the last timed event received
  mb_per_s         the same in payload bytes (--size per event, 10^6 bytes a MB)
  pub_msgs_per_s   events published per second, until the last was sent (acknowledged,
                   with --window)
  latency          per event and subscriber, from just before the publisher sealed and
                   sent it to the moment the subscriber's handler had it opened (the send
                   time travels in the payload; one clock, since all run in this process)
  lost             events a subscriber did not receive: expected (msgs × subs) less
                   received, counted when all arrived or nothing more came for 2 s after
                   the publishers finished; router_dropped is what the router reported
                   dropping (details._cbx_dropped, or the embedded router's own count)

Publishers publish as cbx publish --stdin does: acknowledged, at most --window
unacknowledged at a time (--window 0: fire and forget, unacknowledged), as fast as that
allows or at --rate events per second each. A fast publisher can outrun a slow
subscriber; a router then queues, and beyond its queue drops: those are the losses.

` + benchCommonHelp,
		Example: `  $ cbx bench pubsub
  $ cbx bench pubsub --serializer msgpack --msgs 500000 --size 1024
  $ cbx bench pubsub --pubs 4 --subs 4 --mode sealed --json
  $ cbx bench pubsub --rate 1000 --msgs 10000     # latency at a steady 1000 events/s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(cmd, f); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return benchRun(cmd.Context(), f, o)
		},
	}
	addBenchFlags(cmd, o, defaultBenchEvents, "events")
	fl := cmd.Flags()
	fl.IntVar(&o.pubs, "pubs", 1, "publishers, each its own session; --msgs is shared among them")
	fl.IntVar(&o.subs, "subs", 1, "subscribers, each its own session receiving every event")
	fl.IntVar(&o.window, "window", defaultWindow, "at most `N` unacknowledged events per publisher (0: no acknowledgements)")
	fl.IntVar(&o.rate, "rate", 0, "events per second per publisher (0: as fast as the window allows)")
	// Taken only to be refused with the reason (check): not offered in the help.
	fl.Var(&keystoreFlag{f}, "keystore", "")
	fl.MarkHidden("keystore")
	return cmd
}

// benchCommonHelp ends both benchmarks' help.
const benchCommonHelp = `The embedded router (no --url, no CBX_URL) runs in this process, so the router and
every session share its CPUs; every session still has its own WebSocket connection over
loopback. --warmup messages go first, untimed, and are waited for. All times come from
Go's monotonic clock. docs/bench.md has the details.

Keys are made in memory for the run (bench call --procedure excepted): no keystore is
read or written. Exit status: 0; 9 when messages were lost (after the results); 3 or 4
when a sealed payload did not open; 1 when one arrived twice or malformed; 6 when the
router could not be reached or went away; 8 at the --timeout deadline (no results);
130 on SIGINT.`

// pubsub runs one mode of cbx bench pubsub on topic and fills res.
func (b *benchEnv) pubsub(ctx context.Context, topic string, res *benchResult) error {
	o := b.o
	subs, err := dialAll(ctx, b.responder, o.subs)
	if err != nil {
		return err
	}
	defer closeAll(subs)
	pubs, err := dialAll(ctx, b.originator, o.pubs)
	if err != nil {
		return err
	}
	defer closeAll(pubs)
	if res.mode == "sealed" {
		res.form = pubs[0].codec.Wire().String()
	}
	stop := make(chan struct{})
	defer close(stop) // before the sessions close (defers run last in, first out)
	lost := sessionLost(append(append([]*conn(nil), subs...), pubs...), stop)

	perPub := shares(o.msgs, o.pubs)
	timed := newCounter(uint64(o.msgs) * uint64(o.subs))
	warm := newCounter(uint64(o.warmup) * uint64(o.subs))
	receivers := make([]*benchSubscriber, o.subs)
	for i, c := range subs {
		s := &benchSubscriber{b: b, topic: topic, sealed: res.mode == "sealed", shares: perPub, timed: timed, warm: warm, seen: make([][]uint64, o.pubs)}
		for p, n := range perPub {
			s.seen[p] = make([]uint64, (n+63)/64)
		}
		receivers[i] = s
		if _, err := c.sess.Subscribe(ctx, topic, nil, s.onEvent); err != nil {
			return c.failed(ctx, routerRefused(err), fmt.Sprintf("subscribing to %q", topic))
		}
	}

	if o.warmup > 0 {
		if _, err := b.publishAll(ctx, pubs, topic, benchKindWarm, shares(o.warmup, o.pubs), 0); err != nil {
			return err
		}
		if err := b.waitWarm(ctx, warm, lost, res.mode, "events"); err != nil {
			return err
		}
	}
	var dropped0 uint64
	if b.router != nil {
		dropped0 = b.router.dropped()
	}

	prog := b.progress(res.mode, "events received", timed.target, timed.load)
	t0 := b.now()
	pubEnd, err := b.publishAll(ctx, pubs, topic, benchKindTimed, perPub, o.rate)
	if err == nil {
		err = b.drain(ctx, timed, lost)
	}
	prog.end()
	if err != nil {
		return err
	}

	res.expected = timed.target
	var last time.Duration
	for _, s := range receivers {
		s.mu.Lock()
		res.hist.Merge(&s.hist)
		res.received += s.received
		res.dups += s.dups
		res.errors += s.bad
		res.dropped += s.dropped
		if res.firstErr == nil {
			res.firstErr = s.firstErr
		}
		last = max(last, s.last)
		s.mu.Unlock()
	}
	if b.router != nil {
		// The embedded router counts every drop; a mark counts only those before an
		// event that was then delivered.
		res.dropped = b.router.dropped() - dropped0
	}
	res.lost = res.expected - min(res.received, res.expected)
	res.elapsed = max(last-t0, 0)
	res.pubElapsed = pubEnd - t0
	return nil
}

// publishAll runs one publisher per session, each publishing its share of events, and
// returns when the last is done (its events sent, and acknowledged with a window).
func (b *benchEnv) publishAll(ctx context.Context, pubs []*conn, topic string, kind byte, counts []int, rate int) (time.Duration, error) {
	return eachSession(ctx, len(pubs), func(ctx context.Context, i int) (time.Duration, error) {
		return b.publishOne(ctx, pubs[i], topic, i, kind, counts[i], rate)
	})
}

// publishOne publishes n events on c as publisher number who and returns when the last
// was sent and, with a window, acknowledged.
func (b *benchEnv) publishOne(ctx context.Context, c *conn, topic string, who int, kind byte, n, rate int) (time.Duration, error) {
	window := b.o.window
	p := newBenchPayload(b.o.size)
	what := fmt.Sprintf("publishing to %q", topic)
	var inflight []*wamp.PublishAck // oldest first
	settle := func() error {
		a := inflight[0]
		inflight = inflight[1:]
		if _, err := a.Wait(ctx); err != nil {
			return c.failed(ctx, routerRefused(err), what)
		}
		return nil
	}
	var interval time.Duration
	if rate > 0 {
		interval = time.Second / time.Duration(rate)
	}
	pace := time.NewTimer(0)
	defer pace.Stop()
	start := b.now()
	for i := 0; i < n; i++ {
		if interval > 0 {
			if d := start + time.Duration(i)*interval - b.now(); d > 0 {
				pace.Reset(d)
				select {
				case <-pace.C:
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
		}
		if window > 0 && len(inflight) >= window {
			if err := settle(); err != nil {
				return 0, err
			}
		}
		args := wamp.List{p.text(kind, who, uint64(i), b.now())}
		if window == 0 {
			if _, err := c.sess.Publish(ctx, topic, nil, args, nil); err != nil {
				return 0, c.failed(ctx, err, what)
			}
			continue
		}
		a, err := c.sess.PublishAsync(topic, nil, args, nil)
		if err != nil {
			return 0, c.failed(ctx, err, what)
		}
		inflight = append(inflight, a)
	}
	for len(inflight) > 0 {
		if err := settle(); err != nil {
			return 0, err
		}
	}
	return b.now(), nil
}

// drain waits until every timed event arrived, or nothing more arrives for
// benchDrainIdle.
func (b *benchEnv) drain(ctx context.Context, c *counter, lost <-chan error) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	seen, since := c.load(), time.Now()
	for {
		select {
		case <-c.full:
			return nil
		case err := <-lost:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if n := c.load(); n != seen {
				seen, since = n, time.Now()
			} else if time.Since(since) >= benchDrainIdle {
				return nil
			}
		}
	}
}

// benchSubscriber is one subscriber's record of a run. Its session calls onEvent for one
// event at a time; the lock is for reading the record at the end.
type benchSubscriber struct {
	b           *benchEnv
	topic       string
	sealed      bool  // events must arrive sealed (else in plaintext)
	shares      []int // events per publisher
	timed, warm *counter

	mu       sync.Mutex
	hist     latency.Histogram
	seen     [][]uint64 // per publisher, one bit per sequence number
	received uint64     // distinct timed events
	dups     uint64
	bad      uint64 // could not be opened, malformed, or sealed when plain was due (or the reverse)
	firstErr error
	dropped  uint64        // the router's drop marks (_cbx_dropped)
	last     time.Duration // when the latest timed event arrived
}

func (s *benchSubscriber) onEvent(ev *wamp.EventInfo) {
	now := s.b.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := dropMark(ev.Details); ok {
		s.dropped += n
	}
	if ev.Err != nil {
		s.fail(ev.Err)
		return
	}
	kind, who, seq, sent, ok := parseBenchPayload(ev.Args, s.b.o.size)
	switch {
	case !ok || who >= len(s.shares):
		s.fail(fmt.Errorf("an event on %q that this run did not publish", s.topic))
		return
	case ev.Sealed != s.sealed && s.sealed:
		s.fail(fmt.Errorf("a plaintext event on %q, which this run seals", s.topic))
		return
	case ev.Sealed != s.sealed:
		s.fail(fmt.Errorf("a sealed event on %q, which this run publishes in plaintext", s.topic))
		return
	case kind == benchKindWarm:
		s.warm.add(1)
		return
	case seq >= uint64(s.shares[who]):
		s.fail(fmt.Errorf("an event on %q that this run did not publish", s.topic))
		return
	}
	word, bit := seq/64, uint64(1)<<(seq%64)
	if s.seen[who][word]&bit != 0 {
		s.dups++
		return
	}
	s.seen[who][word] |= bit
	s.received++
	s.last = max(s.last, now)
	s.hist.Record(now - sent)
	s.timed.add(1)
}

func (s *benchSubscriber) fail(err error) {
	s.bad++
	if s.firstErr == nil {
		s.firstErr = err
	}
}
