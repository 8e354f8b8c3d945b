package main

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// publishProgress is publish --progress: how many events of a --stdin or --repeat run
// were sent and acknowledged, and at what rate, on stderr. On a terminal one line is
// redrawn in place five times a second; elsewhere (--progress into a log) a plain line
// is written every second. Either way a last line gives the totals when the run ends.
// It is on by default when stderr is a terminal (for --stdin only when standard input is
// not one too, since a person typing events there would have the line redrawn over their
// typing), and off otherwise; --progress and --progress=false decide instead.
//
// The counters are atomic: the run loop adds to them while the drawing goroutine reads.
// A nil *publishProgress counts nothing and draws nothing.
type publishProgress struct {
	sent, acked atomic.Uint64

	w     io.Writer
	tty   bool
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

// progressTicks are how often the line is drawn: on a terminal, and into a file or pipe.
const (
	progressTTYTick   = 200 * time.Millisecond
	progressPlainTick = time.Second
)

// startProgress starts drawing on w (tty: w is a terminal); nil when on is false.
func startProgress(w io.Writer, tty, on bool) *publishProgress {
	if !on {
		return nil
	}
	p := &publishProgress{w: w, tty: tty, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go p.draw()
	return p
}

func (p *publishProgress) addSent() {
	if p != nil {
		p.sent.Add(1)
	}
}

func (p *publishProgress) addAcked() {
	if p != nil {
		p.acked.Add(1)
	}
}

// draw writes the progress line until end is called. The rate is that of the last
// second (acknowledged events), so that it says how fast the run goes now, a long input
// that pauses (tail -f) included.
func (p *publishProgress) draw() {
	defer close(p.done)
	tick := progressPlainTick
	if p.tty {
		tick = progressTTYTick
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	type sample struct {
		at    time.Time
		acked uint64
	}
	window := []sample{{p.start, 0}}
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			acked := p.acked.Load()
			window = append(window, sample{now, acked})
			for len(window) > 2 && now.Sub(window[1].at) >= time.Second {
				window = window[1:]
			}
			first := window[0]
			rate := float64(acked-first.acked) / now.Sub(first.at).Seconds()
			line := fmt.Sprintf("cbx: %s sent, %s acknowledged, %s/s", events(p.sent.Load()), groupDigits(acked), groupDigits(uint64(rate+0.5)))
			if p.tty {
				fmt.Fprint(p.w, "\r\x1b[K"+line)
			} else {
				fmt.Fprintln(p.w, line)
			}
		}
	}
}

// end stops drawing and writes the totals: how many events were sent and acknowledged,
// in how long, at what average rate.
func (p *publishProgress) end() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
	d := time.Since(p.start)
	acked := p.acked.Load()
	rate := float64(acked) / max(d.Seconds(), 1e-9)
	line := fmt.Sprintf("cbx: %s sent, %s acknowledged in %s (%s/s)", events(p.sent.Load()), groupDigits(acked), seconds(d), groupDigits(uint64(rate+0.5)))
	if p.tty {
		line = "\r\x1b[K" + line
	}
	fmt.Fprintln(p.w, line)
}

// events writes a count of events: "1 event", "12,345 events".
func events(n uint64) string { return countOf(n, "event", "events") }

// progressDefault is whether publish shows progress when neither --progress nor
// --progress=false was given: for a --stdin or --repeat run whose stderr is a terminal,
// and for --stdin only when standard input is not (see publishProgress).
func progressDefault(s *ioStreams, stdin bool) bool {
	return s.stderrTTY && !(stdin && s.stdinTTY)
}
