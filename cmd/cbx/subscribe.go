package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

type subscribeOptions struct {
	conn    connOptions
	topic   string
	receive receiveOptions
	details bool

	reconnect reconnectOptions
}

func newCmdSubscribe(f *factory, runF func(*subscribeOptions) error) *cobra.Command {
	o := &subscribeOptions{}
	cmd := &cobra.Command{
		Use:   "subscribe TOPIC [--match {exact | prefix | wildcard}] [--count N] [--timeout D] [--reconnect]",
		Short: "Print events as JSON lines, opening sealed payloads with the keystore",
		Long: `subscribe prints one JSON line per event on stdout:

  {"topic":"…","publication":123,"sealed":true,"args":[…],"kwargs":{…}}

"topic" is the event's own topic (for pattern subscriptions, the one the router names in
details.topic), and the key that opens a sealed payload is looked up for that topic.
"sealed" says whether the payload arrived sealed. Absent args and kwargs print as [] and
{}. Binary values print as the string "\u0000" followed by base64 (WAMP's JSON
convention), which is lossless and what cbx publish reads back.

An event that cannot be opened (wrong key, tampered, sealed for another topic) is
reported on stderr and skipped, as Autobahn drops it; with --require-encrypted it ends
cbx with exit 3 or 4, and so does a plaintext event on a topic the keystore covers. A
sealed event that opens but holds a value cbx cannot print exactly (an integer beyond 64
bits, a non-finite float, invalid UTF-8, nesting deeper than 100 levels) is skipped with
a warning saying so (exit 1 with --require-encrypted); it is never printed altered. So is
a plaintext event holding such a value, with or without --require-encrypted (refusing it
is not a downgrade; but plaintext on a covered topic still ends it with exit 3).

--details also adds, for a sealed event, "key": the keystore entry and the fingerprints
of the public keys of the key that opened it (what cbx keygen and cbx keys ls show for
them), so both ends can check they use the keys they think.

When the router had to drop events for this subscriber (it did not read fast enough, or
was stopped), cbx router marks the next event it does deliver with how many it dropped
before it (details._cbx_dropped, shown by --details); subscribe then warns on stderr:

  cbx: warning: the router dropped N event(s) for "TOPIC" before this one

subscribe ends after --count events (exit 0), at the --timeout deadline (exit 8 when
fewer than --count events came, exit 9 when moreover the router reported dropping some,
else 0), on SIGINT (exit 130), or when the router goes away (exit 6).

` + reconnectHelp(`subscribe joins again with the same keystore and credentials (read once, at
start) and subscribes to TOPIC with the same --match; --count counts across
reconnects and --timeout is one deadline for the whole run. With -v the "subscribed
to" line appears again, followed by "cbx: reconnected to URL after Ds (attempt N)",
so a script can wait for readiness.`, `Events published while no connection existed are lost, as in WAMP itself: a router
keeps no events for a subscriber that is not there.`),
		Example: `  $ cbx subscribe com.example.secure.orders --count 1
  $ cbx subscribe com.example.secure. --match prefix --timeout 30s
  $ cbx subscribe com.example.secure.orders --reconnect --reconnect-within 10m -v`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.topic = args[0]
			if err := o.receive.check("TOPIC", o.topic); err != nil {
				return err
			}
			if err := o.reconnect.resolve(cmd.Flags(), f.getenv); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return subscribeRun(cmd.Context(), f, o)
		},
	}
	addReceiveFlags(cmd, &o.receive, "topic matching: exact, prefix or wildcard", "exit after `N` events (0: no limit)")
	cmd.Flags().BoolVar(&o.details, "details", false, "add the event's details (as the router sent them) and the key that opened it to each line")
	addReconnectFlags(cmd, &o.reconnect)
	addConnFlags(cmd, &o.conn)
	return cmd
}

func subscribeRun(ctx context.Context, f *factory, o *subscribeOptions) error {
	ctx, c, done, err := f.session(ctx, &o.conn)
	if err != nil {
		return err
	}
	defer done()
	if err := c.codec.CheckCanReceive(o.topic, o.receive.match, "events"); err != nil {
		return err
	}
	// A keystore edited while it runs is used only if it can still open what arrives.
	c.dialer.setReloadCheck(func(codec *e2e.Codec) error {
		return codec.CheckCanReceive(o.topic, o.receive.match, "events")
	})

	life := newLifetime("events", o.receive.count)
	var dropped atomic.Uint64 // events the router reported dropping for this subscription
	// Events arrive one at a time, in order (internal/wamp runs them on one goroutine).
	handler := func(ev *wamp.EventInfo) {
		if life.over() {
			return
		}
		// The router's drop mark counts events lost before this one, whatever becomes
		// of this one; so it is reported first.
		if n, ok := dropMark(ev.Details); ok {
			dropped.Add(n)
			f.ui.warnf("the router dropped %d event(s) for %q before this one", n, o.topic)
		}
		if errors.Is(ev.Err, wamp.ErrPayloadRefused) {
			// A plaintext payload cbx cannot carry exactly: skipped, never printed altered.
			// It is no downgrade, so --require-encrypted does not end on it, unless it is
			// plaintext on a topic the keystore covers, which is one.
			if err := checkIncoming(c, ev.Topic, false, nil, "event"); err != nil {
				life.fail(err)
				return
			}
			f.ui.warnf("skipped an event on %q: %v", ev.Topic, ev.Err)
			return
		}
		if err := checkIncoming(c, ev.Topic, ev.Sealed, ev.Err, "event"); err != nil {
			if o.conn.requireEncrypted {
				life.fail(err)
				return
			}
			f.ui.warnf("skipped an event on %q: %v", ev.Topic, err)
			return
		}
		fields := []field{
			{"topic", ev.Topic}, {"publication", uint64(ev.Publication)}, {"sealed", ev.Sealed},
			{"args", argsOrEmpty(ev.Args)}, {"kwargs", kwargsOrEmpty(ev.Kwargs)},
		}
		if o.details {
			fields = withKey(append(fields, field{"details", ev.Details}), ev.Opened)
		}
		line, err := objectLine(fields...)
		if err != nil {
			f.ui.warnf("skipped an event on %q: %v", ev.Topic, err)
			return
		}
		if _, err := f.io.Out.Write(line); err != nil {
			life.fail(&stdoutError{err})
			return
		}
		if life.done() {
			life.fail(nil)
		}
	}
	opts := o.receive.options()
	// The same subscription on every session of the run (reconnect.go); the handler's c
	// is the first connection, whose keystore and options every later one shares.
	subscribe := func(ctx context.Context, c *conn) error {
		if _, err := c.sess.Subscribe(ctx, o.topic, opts, handler); err != nil {
			return c.failed(ctx, routerRefused(err), fmt.Sprintf("subscribing to %q", o.topic))
		}
		if o.conn.verbose {
			f.ui.noticef("subscribed to %q (match %s)", o.topic, o.receive.match)
		}
		return nil
	}
	err = f.serve(ctx, c, life, &o.reconnect, subscribe)
	if n := dropped.Load(); n > 0 && exitCodeFor(err) == exitTimeout {
		// Short of --count, and not merely because too few were published.
		return withCode(exitLost, fmt.Errorf("%w; the router dropped %d event(s) for %q: events were lost", err, n, o.topic),
			"the subscriber did not read fast enough, or was stopped; cbx router's --queue-size and --queue-bytes bound what waits for a subscriber")
	}
	return err
}

// dropMark reads the drop mark of an event's Details: the attribute (wamp.OptCBXDropped)
// in which cbx router says how many events it dropped for the subscription since the
// previous one it delivered (implementation-specific, as WAMP allows: basic/messages.md
// "Extensibility"). Only a positive integer is a mark cbx router sends; anything else
// under that key is another implementation's business and is not interpreted (--details
// still shows it).
func dropMark(details wamp.Dict) (n uint64, ok bool) {
	v, present := details[wamp.OptCBXDropped]
	if !present {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		if x > 0 {
			return uint64(x), true
		}
	case uint64:
		return x, x > 0
	}
	return 0, false
}
