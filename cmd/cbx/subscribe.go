package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

type subscribeOptions struct {
	conn      connOptions
	topics    []topicSpec // in the order given
	receive   receiveOptions
	details   bool
	format    string // --format as given; "": json, or text on a terminal
	timestamp bool

	reconnect reconnectOptions
}

func newCmdSubscribe(f *factory, runF func(*subscribeOptions) error) *cobra.Command {
	o := &subscribeOptions{}
	cmd := &cobra.Command{
		Use:   "subscribe TOPIC... [--match {exact | prefix | wildcard}] [--format {json | text | raw | TEMPLATE}] [--timestamp] [--count N] [--timeout D] [--reconnect] [--ready-file FILE]",
		Short: "Print events of one or more topics, opening sealed payloads with the keystore",
		Long: `subscribe subscribes to each TOPIC, in one session, and prints one line per event on
stdout. Off a terminal (a pipe, a file) the line is JSON, the default for programs:

  {"topic":"…","publication":123,"sealed":true,"args":[…],"kwargs":{…}}

"topic" is the event's own topic (for pattern subscriptions, the one the router names in
details.topic), and the key that opens a sealed payload is looked up for that topic.
"sealed" says whether the payload arrived sealed. Absent args and kwargs print as [] and
{}. Binary values print as the string "\u0000" followed by base64 (WAMP's JSON
convention), which is lossless and what cbx publish reads back. With more than one TOPIC,
"subscription" (last) names the URI subscribed to that the event matched; an event that
two subscriptions match arrives, and is printed, once for each.

Each TOPIC is matched as --match says (exact by default), or as its own prefix says:
prefix:com.example. (every topic that starts with that text), wildcard:com..orders (an
empty component matches any one component), exact:com.example.orders. A URI that
really starts with a word and a colon is written after exact: (exact:urn:x). WAMP has
no other wildcards: com.*, com.>, com/# or com.+ (NATS, MQTT, AMQP) would match only a
topic of that literal name, and are refused (exit 2) with the WAMP pattern that means
what they mean. Each URI may be given once. --count counts the events of all the
subscriptions together.

--format chooses the output:
  json      the JSON line above (the default off a terminal)
  text      one line for a person (the default on a terminal): the time of day, the
            topic, "sealed" or "plain", each argument as JSON and each kwarg as
            KEY=JSON; in colour on a terminal, never with NO_COLOR
  raw       an event of exactly one argument and no kwargs as that argument alone: a
            string's text, a binary value's bytes, any other value's JSON, with nothing
            added, so that a file published with @FILE comes out byte for byte (other
            events are skipped with a warning; binary is not written to a terminal)
  TEMPLATE  a Go template (text/template), executed for each event and followed by a
            newline, e.g. '{{.Topic}} {{json .Args}}'. Its fields: .Topic,
            .Subscription (the URI subscribed to), .Match (its policy), .Publication,
            .Sealed, .Args (a list), .Kwargs, .Details (maps), .Key (what opened a sealed
            payload, as --details' "key"; nil when plain) and .Time (when cbx read the
            event: prints as RFC 3339, and has Go's time methods, {{.Time.Unix}}); the
            function json writes a value as the JSON line does. A template that cannot
            run (unknown field) is refused at start (exit 2); one that fails on an event
            (index out of range) skips that event with a warning.
--timestamp adds "time" to the JSON line (after the other fields) and the date to the
text line: when cbx read the event, RFC 3339 in UTC with nine digits of fraction
(2026-12-02T10:04:05.123456789Z). With raw, or a template (which has .Time, .Details
and .Key), --timestamp and --details would do nothing and are refused (exit 2).

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

--ready-file FILE tells a script when publishing to TOPIC starts reaching this
subscriber: FILE is created (atomically: one JSON line, {"url","realm","session"}) once
the router has confirmed every subscription, removed when the session ends (created again
after a --reconnect) and when subscribe ends. A FILE left from an earlier run is removed
at start. "cbx wait --file FILE" waits for it, without sleep.

subscribe ends after --count events (exit 0), at the --timeout deadline (exit 8 when
fewer than --count events came, exit 9 when moreover the router reported dropping some,
else 0), on SIGINT (exit 130), or when the router goes away (exit 6).

` + reconnectHelp(`subscribe joins again with the same keystore and credentials (read once, at
start) and subscribes to every TOPIC again, as at start; --count counts across
reconnects and --timeout is one deadline for the whole run. With -v the "subscribed
to" line appears again, followed by "cbx: reconnected to URL after Ds (attempt N)",
so a script can wait for readiness.`, `Events published while no connection existed are lost, as in WAMP itself: a router
keeps no events for a subscriber that is not there.`),
		Example: `  $ cbx subscribe com.example.secure.orders --count 1
  $ cbx subscribe com.example.secure. --match prefix --timeout 30s
  $ cbx subscribe com.example.orders prefix:com.example.audit. wildcard:com..status --format text
  $ cbx subscribe com.example.photos --count 1 --format raw >photo.jpg
  $ cbx subscribe com.example.orders --format '{{.Time.Format "15:04:05"}} {{json .Args}}' 
  $ cbx subscribe com.example.secure.orders --reconnect --reconnect-within 10m -v
  $ cbx subscribe com.example.secure.orders --count 1 --ready-file sub.ready & cbx wait --file sub.ready`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.receive.checkFlags(); err != nil {
				return err
			}
			topics, err := parseTopics(args, o.receive.match)
			if err != nil {
				return err
			}
			o.topics = topics
			if _, err := o.outputFormat(false); err != nil {
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
	addReceiveFlags(cmd, &o.receive, "topic matching: exact, prefix or wildcard", "exit after `N` events (0: no limit)",
		"create `FILE` once subscribed, remove it when the subscription ends (cbx wait --file FILE waits for it)")
	cmd.Flags().BoolVar(&o.details, "details", false, "add the event's details (as the router sent them) to each line")
	cmd.Flags().StringVar(&o.format, "format", "", "output `FORMAT`: json, text, raw or a Go template (default: json, text on a terminal)")
	cmd.Flags().BoolVar(&o.timestamp, "timestamp", false, `add the time each event was read ("time" in json; the full date in text)`)
	addReconnectFlags(cmd, &o.reconnect)
	addConnFlags(cmd, &o.conn)
	return cmd
}

// parseTopics reads subscribe's TOPIC arguments (parseTopicSpec), --match being match, and
// refuses a URI given twice: the router would answer both SUBSCRIBEs with one
// subscription when their policies are the same, and when they differ, one policy's
// topics are a subset of the other's (exact and wildcard without empty components
// within prefix; a wildcard ending in an empty component within the prefix of the same
// text), so subscribing once with the broader one loses nothing.
func parseTopics(args []string, match string) ([]topicSpec, error) {
	topics := make([]topicSpec, 0, len(args))
	seen := map[string]string{}
	for _, a := range args {
		t, err := parseTopicSpec(a, match)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[t.uri]; dup {
			return nil, withCode(exitUsage, fmt.Errorf("TOPIC %q: the URI %q is already given (TOPIC %q)", a, t.uri, first),
				"subscribe to each URI once; of two match policies for the same URI, one covers the other (prefix the widest)")
		}
		seen[t.uri] = a
		topics = append(topics, t)
	}
	return topics, nil
}

// outputFormat is the --format to use: as given, else json, or text when standard
// output is a terminal.
func (o *subscribeOptions) outputFormat(stdoutTTY bool) (outputFormat, error) {
	name := o.format
	if name == "" {
		name = formatJSON
		if stdoutTTY {
			name = formatText
		}
	}
	f, err := parseOutputFormat(name, []string{formatJSON, formatText, formatRaw}, sampleEventData)
	if err != nil {
		return f, err
	}
	return f, checkFormatFlags(f, o.details, o.timestamp, "{{.Details}} and {{.Key}}")
}

// checkFormatFlags refuses --details and --timestamp where they would do nothing: raw
// prints the payload alone, and a template shows what it names (then has names for).
func checkFormatFlags(f outputFormat, details, timestamp bool, detailsFields string) error {
	var what string
	switch f.name {
	case formatRaw:
		what = "--format raw, which prints the payload alone"
	case formatTemplate:
		what = "a --format template, which shows what it names: " + detailsFields + ", {{.Time}}"
	default:
		return nil
	}
	switch {
	case details:
		return &usageError{fmt.Errorf("--details does nothing with %s", what)}
	case timestamp:
		return &usageError{fmt.Errorf("--timestamp does nothing with %s", what)}
	}
	return nil
}

// topicList names the subscriptions in messages: "com.a", "com.a", "com.b." and 2 more.
func topicList(topics []topicSpec) string {
	var parts []string
	for i, t := range topics {
		if i == 3 {
			return strings.Join(parts, ", ") + fmt.Sprintf(" and %d more", len(topics)-3)
		}
		parts = append(parts, strconv.Quote(t.uri))
	}
	return strings.Join(parts, ", ")
}

func subscribeRun(ctx context.Context, f *factory, o *subscribeOptions) error {
	format, err := o.outputFormat(f.io.stdoutTTY)
	if err != nil {
		return err
	}
	ready, err := newReadyFile(f, o.receive.readyFile)
	if err != nil {
		return err
	}
	defer ready.close()
	// The plain JSON line (the default off a terminal) is appended by appendEventLine
	// itself, as it always was; the other formats by an eventPrinter (below). The line
	// copies a sealed event's args as the plaintext holds them when they are canonical
	// JSON: what their values would be written as.
	lineOnly := format.name == formatJSON && !o.timestamp && len(o.topics) == 1
	o.conn.eventArgsJSON = lineOnly
	ctx, c, done, err := f.session(ctx, &o.conn)
	if err != nil {
		return err
	}
	defer done()
	// Every subscription's keys are checked before the first is made: each would
	// otherwise fail its sealed events one at a time while looking healthy. A keystore
	// edited while it runs is used only if it passes the same check.
	if err := c.requireKeys(func(codec *e2e.Codec) error {
		for _, t := range o.topics {
			if err := codec.CheckCanReceive(t.uri, t.match, "events"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}

	life := newLifetime("events", o.receive.count)
	var dropped atomic.Uint64 // events the router reported dropping, all subscriptions together
	droppedFor := make([]atomic.Bool, len(o.topics))
	out := &lineBuffer{w: f.io.Out}
	flush := func() {
		if err := out.flush(); err != nil {
			life.fail(&stdoutError{err})
		}
	}
	defer flush() // lines of events handled as the session ended (see below)
	var printer *eventPrinter
	if !lineOnly {
		printer = &eventPrinter{format: format, details: o.details, timestamp: o.timestamp, multi: len(o.topics) > 1,
			st: stdoutStyles(f), stdoutTTY: f.io.stdoutTTY, now: time.Now}
	}
	// Events arrive one at a time, in order, whichever subscription they are for
	// (internal/wamp runs them on one goroutine). Their lines are written together while
	// more events wait behind them, and as soon as none does.
	handle := func(ev *wamp.EventInfo, i int) {
		if life.over() {
			return
		}
		sub := o.topics[i]
		// The router's drop mark counts events lost before this one, whatever becomes
		// of this one; so it is reported first.
		if n, ok := dropMark(ev.Details); ok {
			dropped.Add(n)
			droppedFor[i].Store(true)
			f.ui.warnf("the router dropped %d event(s) for %q before this one", n, sub.uri)
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
		var lineErr error
		if printer == nil {
			lineErr, err = out.add(func(b []byte) ([]byte, error) { return appendEventLine(b, ev, o.details) })
		} else {
			lineErr, err = out.add(func(b []byte) ([]byte, error) { return printer.appendEvent(b, ev, sub) })
		}
		if lineErr != nil {
			f.ui.warnf("skipped an event on %q: %v", ev.Topic, lineErr)
			return
		}
		if err != nil {
			life.fail(&stdoutError{err})
			return
		}
		if life.done() {
			flush()
			life.fail(nil)
		}
	}
	handlers := make([]func(*wamp.EventInfo), len(o.topics))
	for i := range o.topics {
		handlers[i] = func(ev *wamp.EventInfo) {
			handle(ev, i)
			if !ev.More {
				flush()
			}
		}
	}
	// The same subscriptions on every session of the run (reconnect.go); the handler's c
	// is the first connection, whose keystore and options every later one shares.
	subscribe := func(ctx context.Context, c *conn) error {
		for i, t := range o.topics {
			if _, err := c.sess.Subscribe(ctx, t.uri, matchOptions(t.match), handlers[i]); err != nil {
				return c.failed(ctx, routerRefused(err), fmt.Sprintf("subscribing to %q", t.uri))
			}
			if o.conn.verbose {
				f.ui.noticef("subscribed to %q (match %s)", t.uri, t.match)
			}
		}
		go func() {
			// A session that ends runs no handler for the events still waiting, so the
			// last line handled may be buffered: written now, not after a reconnect.
			<-c.sess.Done()
			flush()
		}()
		// Ready once every subscription is confirmed.
		return ready.announce(c)
	}
	err = f.serve(ctx, c, life, &o.reconnect, subscribe)
	if n := dropped.Load(); n > 0 && exitCodeFor(err) == exitTimeout {
		// Short of --count, and not merely because too few were published.
		var lossy []topicSpec
		for i, t := range o.topics {
			if droppedFor[i].Load() {
				lossy = append(lossy, t)
			}
		}
		return withCode(exitLost, fmt.Errorf("%w; the router dropped %d event(s) for %s: events were lost", err, n, topicList(lossy)),
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
