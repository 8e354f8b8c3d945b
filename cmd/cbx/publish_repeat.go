package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// publish --repeat N [--interval D] [--template]: the event of the ARGs and -k values,
// N times (0: until interrupted or --timeout), for smoke and soak tests.
//
// Every repeated event is acknowledged, within the same --window as --stdin and for the
// same reasons (publish.go, stdinPublisher): a publisher faster than the router is slowed
// down rather than dropped, and each refusal is known, by the event's number. --interval
// spaces the sends: event k is due D after event k-1 was due, so the rate holds however
// long each PUBLISH takes, but a send that the window held back is not followed by a
// burst to catch up (the next is due D after it).
//
// --template expands {{.Count}} (1, 2, …) and {{.Time}} (RFC 3339 in UTC, nanoseconds;
// time.Time's methods too: {{.Time.Unix}}) in every ARG and -k VALUE, for each event,
// before the value is read (so '{"n":{{.Count}}}' is JSON). Only with --template: a
// value holding "{{" is otherwise sent exactly as given, never altered. @FILE values are
// read once and never expanded, their names included.

// checkRepeat refuses --repeat, --interval, --template and --progress where they do
// nothing or make no sense.
func (o *publishOptions) checkRepeat() error {
	switch {
	case o.repeatSet && o.stdin:
		return &usageError{errors.New("--repeat can't be used with --stdin: each line is its own event")}
	case o.template && o.stdin:
		return &usageError{errors.New("--template can't be used with --stdin: lines are events, not templates")}
	case o.repeatSet && o.repeat < 0:
		return &usageError{fmt.Errorf("--repeat %d: must not be negative (0: until interrupted)", o.repeat)}
	case o.repeatSet && o.window < 1:
		return &usageError{fmt.Errorf("--window %d: must be at least 1", o.window)}
	case o.interval < 0:
		return &usageError{fmt.Errorf("--interval %v: must not be negative", o.interval)}
	case o.interval > 0 && !o.repeatSet:
		return &usageError{errors.New("--interval needs --repeat")}
	case o.progressSet && o.progress && !o.repeatSet && !o.stdin:
		return &usageError{errors.New("--progress needs --stdin or --repeat: a single event has none to show")}
	}
	return nil
}

// showProgress is whether this run shows its progress (publishProgress).
func (o *publishOptions) showProgress(s *ioStreams) bool {
	if o.progressSet {
		return o.progress
	}
	return progressDefault(s, o.stdin)
}

// repeatData is what an ARG template sees.
type repeatData struct {
	Count uint64    // the event's number, from 1
	Time  eventTime // when the event was made, just before it was sent
}

// payloadTemplate is the ARGs and -k values of a publish --template: each text value a
// template, each @FILE value read once.
type payloadTemplate struct {
	args   []valueTemplate
	kwargs []kwargTemplate
	r      *valueReader // without its broken-JSON warning after the first event
}

type valueTemplate struct {
	what  string             // how errors name the value
	tmpl  *template.Template // nil for a value read once (@FILE, --file)
	fixed any
}

type kwargTemplate struct {
	key string
	valueTemplate
}

// parseRepeatTemplates reads the ARGs, --file FILEs and -k KEY=VALUEs of a publish
// --template as templates; @FILE values are read now. The first event's payload is then
// made, so that a template or value that cannot be used is a usage error at start.
func parseRepeatTemplates(r *valueReader, args, kv []string, o *valueOptions) (*payloadTemplate, error) {
	pt := &payloadTemplate{r: r}
	parse := func(s, what string) (valueTemplate, error) {
		if strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@@") {
			v, err := r.value(s, what)
			return valueTemplate{what: what, fixed: v}, err
		}
		t, err := template.New(what).Option("missingkey=error").Parse(s)
		if err != nil {
			return valueTemplate{}, withCode(exitUsage, fmt.Errorf("%s: %w", what, err), templateHint)
		}
		return valueTemplate{what: what, tmpl: t}, nil
	}
	for _, a := range args {
		vt, err := parse(a, "argument "+quoteArg(a))
		if err != nil {
			return nil, err
		}
		pt.args = append(pt.args, vt)
	}
	for _, p := range o.files {
		what := "--file " + quoteArg(p)
		if p == "" {
			return nil, &usageError{errors.New(`--file "": give a file name, or - for standard input`)}
		}
		v, err := r.file(p, what)
		if err != nil {
			return nil, err
		}
		pt.args = append(pt.args, valueTemplate{what: what, fixed: v})
	}
	seen := map[string]bool{}
	for _, p := range kv {
		k, val, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, &usageError{fmt.Errorf("-k/--kwarg %s: want KEY=VALUE", quoteArg(p))}
		}
		if err := wamp.CheckText(k); err != nil {
			return nil, &usageError{fmt.Errorf("-k/--kwarg key %s: %w", quoteArg(k), err)}
		}
		if seen[k] {
			return nil, &usageError{fmt.Errorf("-k/--kwarg: key %q given twice", k)}
		}
		seen[k] = true
		vt, err := parse(val, fmt.Sprintf("-k/--kwarg %q", k))
		if err != nil {
			return nil, err
		}
		pt.kwargs = append(pt.kwargs, kwargTemplate{k, vt})
	}
	if _, err := pt.payload(1, time.Now()); err != nil {
		return nil, err
	}
	// The first event was read with the reader's warnings; the others hold the same text
	// but for the counter and the time.
	quiet := *r
	quiet.warn = nil
	pt.r = &quiet
	return pt, nil
}

// templateHint says what an ARG template may use.
const templateHint = "with --template, ARGs and -k VALUEs may use {{.Count}} (1, 2, …) and {{.Time}} (RFC 3339); write {{\"{{\"}} for a literal {{"

// payload makes event n's payload, made at time at.
func (pt *payloadTemplate) payload(n uint64, at time.Time) (eventPayload, error) {
	d := repeatData{Count: n, Time: eventTime{at}}
	var buf bytes.Buffer
	value := func(vt valueTemplate) (any, error) {
		if vt.tmpl == nil {
			return vt.fixed, nil
		}
		buf.Reset()
		if err := vt.tmpl.Execute(&buf, d); err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("%s: %w", vt.what, err), templateHint)
		}
		s := buf.String()
		if strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@@") {
			// Only a template that starts with an action can get here; a file name made by
			// the template would read files nobody named.
			return nil, withCode(exitUsage, fmt.Errorf("%s: expands to %s, which would name a file", vt.what, quoteArg(s)),
				"@FILE values are read once, never made by a template; write @@ for text starting with @")
		}
		return pt.r.value(s, vt.what)
	}
	ev := eventPayload{args: make([]any, 0, len(pt.args)), kwargs: make(map[string]any, len(pt.kwargs))}
	for _, vt := range pt.args {
		v, err := value(vt)
		if err != nil {
			return ev, err
		}
		ev.args = append(ev.args, v)
	}
	for _, kt := range pt.kwargs {
		v, err := value(kt.valueTemplate)
		if err != nil {
			return ev, err
		}
		ev.kwargs[kt.key] = v
	}
	return ev, nil
}

// warnTemplateLike warns, where a person reads stderr, about ARGs and -k values that hold
// "{{" without --template: they are sent as they are, which may not be what was meant.
func warnTemplateLike(f *factory, args, kv []string) {
	if !f.io.stderrTTY {
		return
	}
	for _, a := range append(append([]string(nil), args...), kv...) {
		if strings.Contains(a, "{{") {
			f.ui.warnf("%s holds {{ but is sent as it is: --template expands {{.Count}} and {{.Time}}", quoteArg(a))
			return
		}
	}
}

// repeatPublisher publishes the repeated event: acknowledged, at most --window in flight,
// spaced by --interval.
type repeatPublisher struct {
	ackLedger // publish_ledger.go; its numbers are the events' (1, 2, …)
	opts      wamp.Dict
}

// closedTime is always ready: the run loop's case for an event due now.
var closedTime = func() chan time.Time { c := make(chan time.Time); close(c); return c }()

func (p *repeatPublisher) run(ctx context.Context) error {
	total := p.o.repeat // 0: no end
	sending := true
	var due time.Time // when the next event is due; zero: now (the first)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var interrupted error
	var grace <-chan time.Time
	planned := false // the deadline ended a --repeat 0 run, as planned
	for sending || len(p.inflight) > 0 {
		var oldest <-chan struct{}
		if len(p.inflight) > 0 {
			oldest = p.inflight[0].ack.Done()
		}
		var send <-chan time.Time
		if sending && len(p.inflight) < p.o.window {
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				send = timer.C
			} else {
				send = closedTime
			}
		}
		done := ctx.Done()
		if interrupted != nil || planned {
			done = nil
		}
		select {
		case <-oldest:
			p.settle()
		case <-send:
			n := p.sent + 1
			now := time.Now()
			ev := p.o.single
			if p.o.payloadTmpl != nil {
				e, err := p.o.payloadTmpl.payload(uint64(n), now)
				if err != nil {
					p.failAt(n, fmt.Errorf("event %d: %w", n, err))
					break
				}
				ev = &e
			}
			ack, err := p.c.sess.PublishAsync(p.o.topic, p.opts, ev.args, ev.kwargs)
			if err != nil {
				p.failAt(n, p.publishError(n, err))
				break
			}
			p.inflight = append(p.inflight, pending{n, ack})
			p.sent = n
			p.prog.addSent()
			if total > 0 && n >= total {
				sending = false
			}
			// The next is due an interval after this one was due, so that the rate holds;
			// after the first, or a send held back for longer than an interval (the window
			// was full), an interval after this one, so that no burst follows.
			if due.IsZero() || now.Sub(due) >= p.o.interval {
				due = now
			}
			due = due.Add(p.o.interval)
		case <-done:
			sending = false
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && total == 0 {
				// --repeat 0 --timeout D: the deadline is the planned end. What is in
				// flight is on its way back (the router answers before it answers the
				// GOODBYE that follows), so it is waited for, briefly.
				planned = true
				grace = time.After(stopGrace)
				break
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				if first := p.abandon(); first > 0 {
					p.failAt(first, withCode(exitTimeout, fmt.Errorf("event %d of %d to %q: no acknowledgement before the deadline", first, total, p.o.topic)))
				} else {
					p.failAt(p.sent+1, withCode(exitTimeout, fmt.Errorf("deadline reached after %d of %d events to %q", p.sent, total, p.o.topic)))
				}
				break
			}
			// A signal: collect the acknowledgements already on their way, briefly.
			interrupted = ctx.Err()
			grace = time.After(stopGrace)
		case <-grace:
			if first := p.abandon(); planned && first > 0 {
				p.failAt(first, withCode(exitTimeout, fmt.Errorf("event %d to %q: no acknowledgement before the deadline", first, p.o.topic)))
			}
		}
		if p.fail != nil {
			sending = false
		}
	}
	return p.outcome(interrupted, p.sent)
}
