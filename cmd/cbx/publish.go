package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

type publishOptions struct {
	conn      connOptions
	topic     string
	args      []string
	kwargs    []string
	values    valueOptions
	stdin     bool
	ack       bool
	receiveMe bool
	window    int
	windowSet bool // --window was given

	repeat      int           // --repeat N: how many events (0: no end), when repeatSet
	repeatSet   bool          // --repeat was given (publish_repeat.go)
	interval    time.Duration // --interval: between repeated events
	template    bool          // --template: ARGs and -k VALUEs are templates
	progress    bool          // --progress, when progressSet (publish_progress.go)
	progressSet bool

	single      *eventPayload    // the event of ARGs and -k, parsed (with --template: event 1); nil with --stdin
	payloadTmpl *payloadTemplate // with --template: makes each event's payload
}

func newCmdPublish(f *factory, runF func(*publishOptions) error) *cobra.Command {
	o := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish TOPIC [ARG...] [-k KEY=VALUE...] [--file FILE...] [--strict] [--repeat N [--interval D] [--template]] [--stdin] [--window N] [--progress] [--ack]",
		Short: "Publish an event, sealed when the keystore has a key for TOPIC",
		Long: `publish publishes one event to TOPIC. When the keystore covers TOPIC the payload is
sealed as the originator (Autobahn's KeyRing.encode for PUBLISH) and the router sees only
ciphertext; otherwise it goes in plaintext.

` + valuesHelp + `

With --stdin each line of standard input is one event: a JSON array (the args) or a JSON
object with "args" and/or "kwargs".

With --stdin the router acknowledges every event, and at most --window of them are
unacknowledged at a time: events are sent without waiting for each acknowledgement, and
reading pauses while the window is full. So a fast input cannot outrun the router (a
router drops what a client's queue cannot hold), and an event the router refuses is
reported with its line number; cbx then reads no further, waits for the events in flight,
says how many were published, and exits 1. The default, 64, is nexus's default
per-client queue, which holds the router's acknowledgements too and drops those that do
not fit; a router that announces a longer queue (cbx router) gets a 64th of it, at most
1024 (-v says which). A larger window is faster, but safe only with a router that queues
more; elsewhere a lost acknowledgement keeps cbx waiting until --timeout.

--repeat N publishes the event of the ARGs and -k values N times (0: until interrupted
or --timeout, which then ends the run as planned, exit 0), acknowledged and within
--window as --stdin's events; an event the router refuses is reported by its number.
--interval D spaces them: each is due D after the one before was due (the rate holds
however long a PUBLISH takes; after a send the window held back, the next is due D
later, with no burst to catch up). --template expands {{.Count}} (1, 2, …) and {{.Time}}
(RFC 3339 in UTC with nanoseconds; {{.Time.Unix}} and Go's other time methods work
too) in each ARG and -k VALUE, for each event, before the value is read as JSON or text:
'{"n":{{.Count}},"at":"{{.Time}}"}'. Without --template nothing is expanded: a value
holding {{ is sent exactly as given (on a terminal cbx warns that it is). @FILE values
are read once and never expanded.

--progress shows on stderr, for --stdin and --repeat, how many events were sent and
acknowledged and the rate over the last second: one line redrawn in place on a
terminal, a line a second elsewhere, and the totals at the end. It is on by default
when stderr is a terminal (for --stdin, when standard input is not one too);
--progress=false turns it off.

With --ack the publication IDs are printed on stdout, one per line, in input order; a
single event (ARGs) is acknowledged only with --ack. Any failure exits non-zero; see
` + "`cbx help exit-codes`" + `.`,
		Example: `  $ cbx publish com.example.secure.orders '{"id":17}' -k priority=high
  $ printf '%s\n' '[1]' '{"args":[2],"kwargs":{"x":true}}' | cbx publish com.example.secure.n --stdin --ack
  $ cbx publish com.example.secure.photos @cat.jpg -k meta=@meta.json --max-message-size 4194304
  $ cbx publish com.example.soak '{"n":{{.Count}},"at":"{{.Time}}"}' --template --repeat 0 --interval 100ms --timeout 1h`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.topic, o.args = args[0], args[1:]
			o.windowSet = cmd.Flags().Changed("window")
			o.repeatSet = cmd.Flags().Changed("repeat")
			o.progressSet = cmd.Flags().Changed("progress")
			r, err := f.valueReader(cmd, &o.values)
			if err != nil {
				return err
			}
			if !o.template {
				warnTemplateLike(f, o.args, o.kwargs)
			}
			if err := o.check(r); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return publishRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringArrayVarP(&o.kwargs, "kwarg", "k", nil, "keyword argument `KEY=VALUE` (repeatable)")
	addValueFlags(cmd, &o.values)
	cmd.Flags().BoolVar(&o.stdin, "stdin", false, "publish one event per line of standard input")
	cmd.Flags().BoolVar(&o.ack, "ack", false, "print publication IDs (the router acknowledges each event)")
	cmd.Flags().IntVar(&o.window, "window", defaultWindow, "with --stdin or --repeat, at most `N` events unacknowledged at a time (64, or more from a router that announces a long queue)")
	cmd.Flags().IntVar(&o.repeat, "repeat", 1, "publish the event `N` times (0: until interrupted or --timeout)")
	cmd.Flags().DurationVar(&o.interval, "interval", 0, "with --repeat, publish an event every `D` (e.g. 100ms)")
	cmd.Flags().BoolVar(&o.template, "template", false, "expand {{.Count}} and {{.Time}} in ARGs and -k VALUEs, for each event")
	cmd.Flags().BoolVar(&o.progress, "progress", false, "show events sent and acknowledged on stderr, for --stdin and --repeat (default on a terminal)")
	cmd.Flags().BoolVar(&o.receiveMe, "receive-own", false, "let this session's own subscriptions receive the event (exclude_me=false)")
	addConnFlags(cmd, &o.conn)
	return cmd
}

type eventPayload struct {
	args   []any
	kwargs map[string]any
}

// check refuses a bad command line before anything is read or sent.
func (o *publishOptions) check(r *valueReader) error {
	if err := checkURIArg("TOPIC", o.topic, "", false); err != nil {
		return err
	}
	if err := o.checkRepeat(); err != nil {
		return err
	}
	if o.stdin {
		if len(o.args) > 0 || len(o.kwargs) > 0 || len(o.values.files) > 0 {
			return &usageError{errors.New("--stdin can't be used with ARGs, -k/--kwarg or --file")}
		}
		if o.window < 1 {
			return &usageError{fmt.Errorf("--window %d: must be at least 1", o.window)}
		}
	} else {
		if o.windowSet && !o.repeatSet {
			return &usageError{errors.New("--window can only be used with --stdin or --repeat")}
		}
		if o.template {
			pt, err := parseRepeatTemplates(r, o.args, o.kwargs, &o.values)
			if err != nil {
				return err
			}
			first, _ := pt.payload(1, time.Now()) // it made event 1 once already
			o.single, o.payloadTmpl = &first, pt
			return nil
		}
		args, kwargs, err := r.payload(o.args, o.kwargs, &o.values)
		if err != nil {
			return err
		}
		o.single = &eventPayload{args, kwargs}
	}
	return nil
}

func publishRun(ctx context.Context, f *factory, o *publishOptions) error {
	single := o.single
	ctx, c, done, err := f.session(ctx, &o.conn)
	if err != nil {
		return err
	}
	defer done()
	opts := wamp.Dict{}
	if o.receiveMe {
		opts[wamp.OptExcludeMe] = false
	}
	if single == nil && !o.windowSet {
		o.window = windowFor(c.sess.Welcome().Details)
		if o.conn.verbose {
			f.ui.noticef("at most %d events unacknowledged at a time (--window)", o.window)
		}
	}
	count := 0
	switch {
	case o.repeatSet:
		prog := startProgress(f.io.ErrOut, f.io.stderrTTY, o.showProgress(f.io))
		p := &repeatPublisher{ackLedger: ackLedger{f: f, c: c, o: o, prog: prog}, opts: opts}
		err := p.run(ctx)
		prog.end()
		if err != nil {
			return err
		}
		count = p.acked
	case single != nil:
		if err := publishOne(ctx, f, c, o, opts, *single); err != nil {
			return err
		}
		count = 1
	default:
		prog := startProgress(f.io.ErrOut, f.io.stderrTTY, o.showProgress(f.io))
		p := &stdinPublisher{ackLedger: ackLedger{f: f, c: c, o: o, prog: prog, stdin: true}, opts: opts}
		err := p.run(ctx)
		prog.end()
		if err != nil {
			return err
		}
		count = p.acked
	}
	// The GOODBYE round trip is what tells, for an unacknowledged event, that the router
	// was still there to handle it (it handles a session's messages in order). --stdin
	// events are all acknowledged already.
	if err := c.close(); err != nil && single != nil && !o.repeatSet && !o.ack {
		return withCode(exitConnection, fmt.Errorf("publishing to %q: %w", o.topic, err),
			"the router may not have handled the event(s); with --ack each one is confirmed")
	}
	if o.conn.verbose {
		f.ui.noticef("published %d event(s) to %q", count, o.topic)
	}
	return nil
}

// publishOne publishes the event given as arguments: acknowledged only with --ack, since
// the GOODBYE round trip that follows confirms that the router handled it. Without --ack
// the PUBLISH waits in the write queue for that GOODBYE, and both go in one write
// (Session.QueueEvent); a failed write is then reported by the close, as the router not
// having handled the event.
func publishOne(ctx context.Context, f *factory, c *conn, o *publishOptions, opts wamp.Dict, ev eventPayload) error {
	var id wamp.ID
	var err error
	if o.ack {
		opts[wamp.OptAcknowledge] = true
		id, err = c.sess.Publish(ctx, o.topic, opts, ev.args, ev.kwargs)
	} else {
		err = c.sess.QueueEvent(o.topic, opts, ev.args, ev.kwargs)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return withCode(exitTimeout, fmt.Errorf("event 1 to %q: no acknowledgement before the deadline", o.topic))
		}
		return c.failed(ctx, routerRefused(err), fmt.Sprintf("publishing to %q", o.topic))
	}
	if o.ack {
		if _, err := fmt.Fprintf(f.io.Out, "%d\n", id); err != nil {
			return withCode(exitError, &stdoutError{err},
				fmt.Sprintf("event 1 to %q was published (publication %d) but its ID could not be written", o.topic, id))
		}
	}
	return nil
}

// defaultWindow is how many --stdin publications may be unacknowledged at a time. It is
// the per-client queue of nexus (64 messages, router/websocketserver.go
// defaultOutQueueSize), which queues the router's PUBLISHED to the publisher without
// blocking and drops it when that queue is full: with at most 64 publications in flight
// no acknowledgement can be lost there. It is also about as fast as not waiting at all
// (scripts/bench-window.sh measures it).
const defaultWindow = 64

// maxAutoWindow is the largest window cbx chooses by itself, for a router that announces
// a long queue: beyond it a larger window gained little (scripts/bench-window.sh: 64,
// 256 and 1024 ran at 0.71, 0.81 and 0.87 of fire-and-forget), while the memory a
// burst holds in the router grows.
const maxAutoWindow = 1024

// windowFor is the window when --window is not given: defaultWindow, unless the router's
// WELCOME announces how many messages it queues for one client (cbx router:
// wamp.OptCBXQueueSize). Then a window of a 64th of that queue, between defaultWindow
// and maxAutoWindow, leaves room for the acknowledgements many times over (cbx router
// also keeps a reserve for replies above the queue).
func windowFor(welcome wamp.Dict) int {
	n, ok := welcome[wamp.OptCBXQueueSize].(int64)
	if !ok || n <= 0 {
		return defaultWindow
	}
	return int(min(max(n/64, defaultWindow), maxAutoWindow))
}

// stdinPublisher publishes --stdin events with flow control: every event is sent with
// acknowledge: true, without waiting for its PUBLISHED (pipelined), and at most
// --window are unacknowledged at a time; when that many are in flight, reading stdin
// pauses until the oldest is acknowledged. A broker that cannot keep up thus slows cbx
// down instead of dropping what its queues cannot hold, and each publication the router
// refuses is known, by its line.
//
// The first failure (a refused publication, a line that is not an event, a message too
// large, the session's end, stdout) stops the reading; the publications in flight are
// still waited for, and their IDs printed, so that what was published is known exactly.
type stdinPublisher struct {
	ackLedger // publish_ledger.go; its numbers are stdin lines
	opts      wamp.Dict
	queued    bool // events are in the session's write queue (QueuePublish), not written
	lastLine  int  // line of the last event sent
}

// stopGrace bounds the wait for acknowledgements in flight after a signal: they are on
// their way (the router answers before it answers the GOODBYE that follows).
const stopGrace = 2 * time.Second

func (p *stdinPublisher) run(ctx context.Context) error {
	lines := readLines(ctx, p.f.io.In)
	// Whether the topic is sealed: then a line that is already a canonical plaintext's
	// args takes PublishJSON. Only a shortcut: PublishJSON publishes what the line's
	// values would be, sealed or not, whatever a reloaded keystore says by then.
	sealing := p.c.codec.CanSeal(true, p.o.topic)
	var read []stdinLine // lines read and not yet handled, in order
	n, events := 0, 0
	reading := true
	var interrupted error
	var grace <-chan time.Time
	for reading || len(p.inflight) > 0 {
		var oldest <-chan struct{}
		if len(p.inflight) > 0 {
			oldest = p.inflight[0].ack.Done()
		}
		// The next line: one already read, else standard input; neither while the window
		// is full.
		var in <-chan []stdinLine
		var next <-chan struct{}
		switch {
		case !reading || len(p.inflight) >= p.o.window:
		case len(read) > 0:
			next = readyNow
		default:
			in = lines
		}
		if next == nil && p.queued {
			// Events are queued (below) only while another line is ready to follow them:
			// before waiting for anything else they are written, all in one go. A failed
			// write settles their acknowledgements with its error.
			p.c.sess.Flush() //nolint:errcheck // reported by the acknowledgements
			p.queued = false
		}
		done := ctx.Done()
		if interrupted != nil {
			done = nil
		}
		select {
		case <-oldest:
			p.settle()
			// Every acknowledgement already in is settled now, before the next line is
			// published: a window that several freed at once is refilled with the PUBLISHes
			// queued and written together (below), not one write per acknowledgement.
			for p.fail == nil && len(p.inflight) > 0 && settled(p.inflight[0].ack) {
				p.settle()
			}
		case batch, ok := <-in:
			if !ok {
				reading = false
				if events == 0 {
					p.failAt(n+1, &usageError{errors.New("--stdin: no events on standard input")})
				}
				break
			}
			read = batch
		case <-next:
			l := read[0]
			read = read[1:]
			if l.err != nil {
				p.failAt(n+1, fmt.Errorf("reading standard input: %w", l.err))
				reading = false
				break
			}
			n++
			text := bytes.TrimSpace(l.text)
			if len(text) == 0 {
				continue
			}
			events++
			// With another line read and room in the window, the PUBLISH waits in the
			// write queue for the next ones: a burst costs one write, not one per event.
			queue := len(read) > 0 && len(p.inflight)+1 < p.o.window
			// An array line in the form cbx writes goes into the sealed plaintext as it is
			// (wamp.JSONArgsCodec): it is what its values would be written as. PublishJSON
			// checks the form, and sends nothing when it is not; the line then takes the
			// values.
			var ack *wamp.PublishAck
			err := wamp.ErrNotCanonicalJSON
			if sealing && text[0] == '[' {
				ack, err = p.c.sess.PublishJSON(p.o.topic, p.opts, text, queue)
			}
			if errors.Is(err, wamp.ErrNotCanonicalJSON) {
				ev, perr := parseEventLine(text)
				if perr != nil {
					p.failAt(n, &usageError{fmt.Errorf("stdin line %d: %w", n, perr)})
					reading = false
					break
				}
				publish := p.c.sess.PublishAsync
				if queue {
					publish = p.c.sess.QueuePublish
				}
				ack, err = publish(p.o.topic, p.opts, ev.args, ev.kwargs)
			}
			p.queued = queue && err == nil || p.queued && err != nil
			if err != nil {
				p.failAt(n, p.publishError(n, err))
				reading = false
				break
			}
			p.inflight = append(p.inflight, pending{n, ack})
			p.sent++
			p.prog.addSent()
			p.lastLine = n
		case <-done:
			reading = false
			if !errors.Is(ctx.Err(), context.Canceled) {
				// The deadline (--timeout): what is in flight stays unconfirmed.
				if first := p.abandon(); first > 0 {
					p.failAt(first, withCode(exitTimeout, fmt.Errorf("stdin line %d: publishing to %q: no acknowledgement before the deadline", first, p.o.topic)))
				} else {
					p.failAt(n+1, ctx.Err())
				}
				break
			}
			// A signal: collect the acknowledgements already on their way, briefly.
			interrupted = ctx.Err()
			grace = time.After(stopGrace)
		case <-grace:
			p.abandon()
		}
		if p.fail != nil {
			reading = false
		}
	}
	return p.outcome(interrupted, p.lastLine) // interrupted: exit 130, nothing printed (run)
}

// settled reports whether an acknowledgement has settled, without waiting.
func settled(a *wamp.PublishAck) bool {
	select {
	case <-a.Done():
		return true
	default:
		return false
	}
}

// lineList names stdin lines: "line 7", "lines 7, 9", at most ten of them.
func lineList(lines []int) string {
	if len(lines) == 1 {
		return fmt.Sprintf("line %d", lines[0])
	}
	var parts []string
	for i, l := range lines {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("… (%d in all)", len(lines)))
			break
		}
		parts = append(parts, strconv.Itoa(l))
	}
	return "lines " + strings.Join(parts, ", ")
}

// withHints adds hints to err, after those it has, and keeps its exit code.
func withHints(err error, hints ...string) error {
	var inner *codedError
	if errors.As(err, &inner) {
		hints = append(append([]string(nil), inner.hints...), hints...)
	}
	return &codedError{code: exitCodeFor(err), err: err, hints: hints}
}

// stdinLine is one line of --stdin input, or the error that ended the reading.
type stdinLine struct {
	text []byte
	err  error
}

// readyNow is always ready: the run loop's case for a line already read.
var readyNow = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Lines are handed over in batches of what standard input already holds: at most
// maxBatchLines lines, and no line after maxBatchBytes bytes, so that a fast input costs
// one hand-over between goroutines per batch rather than one per line.
const (
	maxBatchLines = 64
	maxBatchBytes = 64 << 10
)

// readLines reads standard input on its own goroutine, so that a signal ends cbx even
// while standard input is silent, and so that events are published as lines arrive
// (`tail -f log | cbx publish --stdin` works): a batch goes as soon as what has been read
// holds no further complete line, never waiting for more input. The channel is
// unbuffered: while nobody takes lines (the window is full), at most one batch waits.
func readLines(ctx context.Context, in io.Reader) <-chan []stdinLine {
	lines := make(chan []stdinLine)
	go func() {
		defer close(lines)
		lr := newLineReader(in)
		var batch []stdinLine
		size := 0
		for {
			text, err := lr.next()
			if text != nil {
				batch = append(batch, stdinLine{text: text})
				size += len(text)
			}
			end := err != nil
			if end && err != io.EOF {
				batch = append(batch, stdinLine{err: err})
			}
			if !end && len(batch) < maxBatchLines && size < maxBatchBytes && lr.lineBuffered() {
				continue
			}
			if len(batch) > 0 {
				select {
				case lines <- batch:
				case <-ctx.Done():
					return
				}
			}
			if end {
				return
			}
			batch, size = nil, 0
		}
	}()
	return lines
}

// maxLine is the longest --stdin line (its newline aside) cbx reads; a longer one ends
// the input with bufio.ErrTooLong, as bufio.Scanner, which read the lines before, reports
// it with a 16 MiB buffer.
const maxLine = 16<<20 - 1

// lineReader splits its input into lines as bufio.Scanner with ScanLines does (a line
// without its newline and a carriage return before it; a last line without a newline
// counts; a read error ends the input after the line it cut short), and also tells
// whether a complete line is already buffered, which a Scanner cannot.
type lineReader struct {
	r   *bufio.Reader
	max int // maxLine; smaller in tests
}

func newLineReader(in io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(in, 64<<10), max: maxLine}
}

// next returns the next line, a copy the caller keeps (non-nil, even when empty), and
// the error that ended the input (io.EOF at its end), which may come with a last line.
func (l *lineReader) next() ([]byte, error) {
	chunk, err := l.r.ReadSlice('\n')
	line := append([]byte{}, chunk...)
	for err == bufio.ErrBufferFull {
		if len(line) > l.max {
			return nil, bufio.ErrTooLong
		}
		chunk, err = l.r.ReadSlice('\n')
		line = append(line, chunk...)
	}
	if len(line) == 0 {
		return nil, err // ReadSlice returns no data only with an error
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	if len(line) > l.max {
		return nil, bufio.ErrTooLong
	}
	return bytes.TrimSuffix(line, []byte{'\r'}), err
}

// lineBuffered reports whether the input already read holds a complete line, which next
// then returns without reading.
func (l *lineReader) lineBuffered() bool {
	b, _ := l.r.Peek(l.r.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// parseEventLine reads one --stdin line in the value dialect, once: a JSON array (the
// args) or an object with "args" and/or "kwargs". A value outside the dialect is a
// *wamp.ValueError.
func parseEventLine(line []byte) (eventPayload, error) {
	const want = "want a JSON array of args or an object with \"args\" and/or \"kwargs\""
	// The array is itself the Arguments list; the object adds a level around it.
	nest := wamp.NestMessage
	if bytes.HasPrefix(bytes.TrimLeft(line, " \t\r\n"), []byte("[")) {
		nest = wamp.NestPayload
	}
	v, err := wamp.UnmarshalJSON(line, nest)
	var se *wamp.SyntaxError
	if errors.As(err, &se) {
		return eventPayload{}, errors.New("not JSON: " + want)
	}
	if err != nil {
		return eventPayload{}, err
	}
	switch x := v.(type) {
	case []any:
		return eventPayload{args: x}, nil
	case map[string]any:
		var ev eventPayload
		for k := range x {
			if k != "args" && k != "kwargs" {
				return ev, fmt.Errorf("unknown key %q: %s", k, want)
			}
		}
		if a, ok := x["args"]; ok && a != nil {
			if ev.args, ok = a.([]any); !ok {
				return ev, errors.New("\"args\" must be an array")
			}
		}
		if k, ok := x["kwargs"]; ok && k != nil {
			if ev.kwargs, ok = k.(map[string]any); !ok {
				return ev, errors.New("\"kwargs\" must be an object")
			}
		}
		return ev, nil
	}
	return eventPayload{}, errors.New(want)
}
