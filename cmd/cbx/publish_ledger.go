package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// ackLedger keeps the books of a windowed publisher (publish --stdin, publish --repeat):
// the publications in flight, in order, and what became of each one settled, so that
// the first failure is reported and the summary accounts for every event sent (nothing
// lost silently). Its numbers are stdin lines (stdin) or the events' own (1, 2, …).
type ackLedger struct {
	f     *factory
	c     *conn
	o     *publishOptions
	prog  *publishProgress // --progress (publish_progress.go); nil: none
	stdin bool             // numbers are stdin lines, else event numbers

	inflight []pending // in order; the window counts them until the oldest settles
	sent     int       // events sent
	acked    int       // events acknowledged (published)
	refused  []int     // numbers of the events the router refused
	lost     int       // events whose acknowledgement never came (the session ended)
	printOff bool      // stdout failed: no more IDs

	fail  error // the first failure, by number
	failN int
}

type pending struct {
	line int // the stdin line, or the event's number
	ack  *wamp.PublishAck
}

// name words event n for messages: "stdin line 17" or "event 17".
func (l *ackLedger) name(n int) string {
	if l.stdin {
		return fmt.Sprintf("stdin line %d", n)
	}
	return fmt.Sprintf("event %d", n)
}

// settle takes the oldest publication in flight, now acknowledged or refused.
func (l *ackLedger) settle() {
	head := l.inflight[0]
	l.inflight = l.inflight[1:]
	id, err := head.ack.Result()
	var rpc *wamp.RPCError
	switch {
	case err == nil:
		l.acked++
		l.prog.addAcked()
		if l.o.ack && !l.printOff {
			if _, werr := fmt.Fprintf(l.f.io.Out, "%d\n", id); werr != nil {
				// Stop: publishing on with nobody learning the IDs would lose them all.
				l.printOff = true
				what := l.name(head.line)
				if l.stdin {
					what = "the event on " + l.name(head.line)
				}
				l.failAt(head.line, withCode(exitError, &stdoutError{werr},
					fmt.Sprintf("%s was published (publication %d) but its ID could not be written", what, id)))
			}
		}
	case errors.As(err, &rpc):
		l.refused = append(l.refused, head.line)
		l.failAt(head.line, l.publishError(head.line, err))
	default:
		l.lost++
		l.failAt(head.line, l.publishError(head.line, err))
	}
}

// abandon gives up on the publications in flight: their acknowledgements will not be
// waited for, so they count as unconfirmed. It returns the number of the oldest (0: none).
func (l *ackLedger) abandon() (first int) {
	if len(l.inflight) > 0 {
		first = l.inflight[0].line
	}
	l.lost += len(l.inflight)
	l.inflight = nil
	return first
}

// outcome is what the run ends with: the signal that interrupted it (exit 130), else the
// first failure, with the summary of what was sent when anything was; last is the number
// of the last event sent.
func (l *ackLedger) outcome(interrupted error, last int) error {
	switch {
	case interrupted != nil:
		return interrupted
	case l.fail == nil:
		return nil
	case l.sent == 0:
		return l.fail
	}
	return withHints(l.fail, l.summary(last))
}

// publishError words the failure of event n.
func (l *ackLedger) publishError(n int, err error) error {
	return fmt.Errorf("%s: publishing to %q: %w", l.name(n), l.o.topic, l.c.failure(routerRefused(err)))
}

// failAt records a failure of event n; the earliest event's is the one reported.
func (l *ackLedger) failAt(n int, err error) {
	if l.fail == nil || n < l.failN {
		l.fail, l.failN = err, n
	}
}

// summary says what became of the events sent, so that nothing is lost silently; last
// is the number of the last event sent.
func (l *ackLedger) summary(last int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "published: %d of the %d events sent", l.acked, l.sent)
	unit := "event"
	if l.stdin {
		unit = "line"
		fmt.Fprintf(&b, " (up to line %d)", last)
	}
	if len(l.refused) > 0 {
		b.WriteString("; refused: ")
		b.WriteString(strings.Replace(lineList(l.refused), "line", unit, 1))
	}
	if l.lost > 0 {
		fmt.Fprintf(&b, "; %d unconfirmed (the router may or may not have published them)", l.lost)
	}
	fmt.Fprintf(&b, "; nothing after %s %d was sent", unit, last)
	return b.String()
}
