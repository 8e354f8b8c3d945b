package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

type publishOptions struct {
	conn      connOptions
	topic     string
	args      []string
	kwargs    []string
	stdin     bool
	ack       bool
	receiveMe bool
}

func newCmdPublish(f *factory) *cobra.Command {
	o := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish TOPIC [ARG...] [-k KEY=VALUE...] [--stdin] [--ack]",
		Short: "Publish an event, sealed when the keystore has a key for TOPIC",
		Long: `publish publishes one event to TOPIC. When the keystore covers TOPIC the payload is
sealed as the originator (Autobahn's KeyRing.encode for PUBLISH) and the router sees only
ciphertext; otherwise it goes in plaintext.

ARGs and VALUEs are JSON where they are valid JSON, else strings; put -- before ARGs that
start with a dash. With --stdin each line of standard input is one event: a JSON array
(the args) or a JSON object with "args" and/or "kwargs".

With --ack the router acknowledges each event and its publication ID is printed on
stdout. Any failure exits non-zero; see ` + "`cbx help exit-codes`" + `.`,
		Example: `  $ cbx publish com.example.secure.orders '{"id":17}' -k priority=high
  $ printf '%s\n' '[1]' '{"args":[2],"kwargs":{"x":true}}' | cbx publish com.example.secure.n --stdin --ack`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.topic, o.args = args[0], args[1:]
			return publishRun(cmd, f, o)
		},
	}
	cmd.Flags().StringArrayVarP(&o.kwargs, "kwarg", "k", nil, "keyword argument `KEY=VALUE` (repeatable)")
	cmd.Flags().BoolVar(&o.stdin, "stdin", false, "publish one event per line of standard input")
	cmd.Flags().BoolVar(&o.ack, "ack", false, "ask the router to acknowledge, and print publication IDs")
	cmd.Flags().BoolVar(&o.receiveMe, "receive-own", false, "let this session's own subscriptions receive the event (exclude_me=false)")
	addConnFlags(cmd, &o.conn)
	return cmd
}

type eventPayload struct {
	args   []any
	kwargs map[string]any
}

func publishRun(cmd *cobra.Command, f *factory, o *publishOptions) error {
	if err := checkURIArg("TOPIC", o.topic, "", false); err != nil {
		return err
	}
	var single *eventPayload
	if o.stdin {
		if len(o.args) > 0 || len(o.kwargs) > 0 {
			return &usageError{errors.New("--stdin can't be used with ARGs or -k/--kwarg")}
		}
	} else {
		args, kwargs, err := parseArgsKwargs(o.args, o.kwargs)
		if err != nil {
			return err
		}
		single = &eventPayload{args, kwargs}
	}
	ctx, c, done, err := f.session(cmd, &o.conn)
	if err != nil {
		return err
	}
	defer done()
	opts := wamp.Dict{}
	if o.ack {
		opts["acknowledge"] = true
	}
	if o.receiveMe {
		opts["exclude_me"] = false
	}
	count := 0
	publish := func(ev eventPayload) error {
		count++
		id, err := c.sess.Publish(ctx, o.topic, copyDict(opts), ev.args, ev.kwargs)
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return withCode(exitTimeout, fmt.Errorf("event %d to %q: no acknowledgement before the deadline", count, o.topic))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			what := fmt.Sprintf("publishing to %q", o.topic)
			if o.stdin {
				what = fmt.Sprintf("publishing event %d to %q", count, o.topic)
			}
			return fmt.Errorf("%s: %w", what, c.failure(routerRefused(err)))
		}
		if o.ack {
			if _, err := fmt.Fprintf(f.io.Out, "%d\n", id); err != nil {
				// Stop: publishing on with nobody learning the IDs would lose them all.
				hint := fmt.Sprintf("event %d to %q was published (publication %d) but its ID could not be written", count, o.topic, id)
				if o.stdin {
					hint += "; no further events were published"
				}
				return withCode(exitError, &stdoutError{err}, hint)
			}
		}
		return nil
	}
	if single != nil {
		err = publish(*single)
	} else {
		// Events are published as lines arrive, so `tail -f log | cbx publish --stdin` works.
		err = eachEventLine(ctx, f, publish)
	}
	if err != nil {
		return err
	}
	// The GOODBYE round trip is what tells, without --ack, that the router was still there
	// to handle every PUBLISH before it (it handles a session's messages in order).
	if err := c.close(); err != nil && !o.ack {
		return withCode(exitConnection, fmt.Errorf("publishing to %q: %w", o.topic, err),
			"the router may not have handled the event(s); with --ack each one is confirmed")
	}
	if o.conn.verbose {
		f.ui.noticef("published %d event(s) to %q", count, o.topic)
	}
	return nil
}

func copyDict(d wamp.Dict) wamp.Dict {
	out := make(wamp.Dict, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}

// eachEventLine reads --stdin input, one JSON array or {"args","kwargs"} object a line,
// and hands each event to fn as soon as its line is read. Lines are read on their own
// goroutine so that a signal ends cbx even while standard input is silent.
func eachEventLine(ctx context.Context, f *factory, fn func(eventPayload) error) error {
	type line struct {
		text string
		err  error
	}
	lines := make(chan line)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(f.io.In)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			select {
			case lines <- line{text: sc.Text()}:
			case <-ctx.Done():
				return
			}
		}
		if err := sc.Err(); err != nil {
			select {
			case lines <- line{err: err}:
			case <-ctx.Done():
			}
		}
	}()
	n, events := 0, 0
	for {
		var l line
		var ok bool
		select {
		case l, ok = <-lines:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			break
		}
		if l.err != nil {
			return fmt.Errorf("reading standard input: %w", l.err)
		}
		n++
		text := strings.TrimSpace(l.text)
		if text == "" {
			continue
		}
		ev, err := parseEventLine(text)
		if err != nil {
			return &usageError{fmt.Errorf("stdin line %d: %w", n, err)}
		}
		events++
		if err := fn(ev); err != nil {
			return err
		}
	}
	if events == 0 {
		return &usageError{errors.New("--stdin: no events on standard input")}
	}
	return nil
}

// parseEventLine reads one --stdin line in the value dialect, once: a JSON array (the
// args) or an object with "args" and/or "kwargs". A value outside the dialect is a
// *wamp.ValueError.
func parseEventLine(line string) (eventPayload, error) {
	const want = "want a JSON array of args or an object with \"args\" and/or \"kwargs\""
	// The array is itself the Arguments list; the object adds a level around it.
	nest := wamp.NestMessage
	if strings.HasPrefix(strings.TrimLeft(line, " \t\r\n"), "[") {
		nest = wamp.NestPayload
	}
	v, err := wamp.UnmarshalJSON([]byte(line), nest)
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
