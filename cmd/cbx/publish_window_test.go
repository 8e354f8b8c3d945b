package main

// publish --stdin keeps at most --window publications unacknowledged (issue 8, "Publishers
// that never outrun the router"). A scripted router plays the broker so that the test
// decides when each PUBLISHED goes back and can count what is in flight.

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// pump reads the session's messages on its own goroutine, so that the script can wait
// for one with a timeout (a WebSocket read deadline would break the connection).
func (r *scriptRouter) pump() <-chan wamp.Message {
	ch := make(chan wamp.Message, 1024)
	go func() {
		defer close(ch)
		for {
			m, err := r.recv()
			if err != nil {
				return
			}
			ch <- m
		}
	}()
	return ch
}

// next waits for the next message from the pump.
func next(msgs <-chan wamp.Message) (wamp.Message, error) {
	select {
	case m, ok := <-msgs:
		if !ok {
			return nil, fmt.Errorf("the session closed the connection")
		}
		return m, nil
	case <-time.After(interopWait):
		return nil, fmt.Errorf("no message from the session within %v", interopWait)
	}
}

// goodbyeFrom answers cbx's closing GOODBYE, read from the pump.
func (r *scriptRouter) goodbyeFrom(msgs <-chan wamp.Message) error {
	m, err := next(msgs)
	if err != nil {
		return err
	}
	if _, ok := m.(*wamp.Goodbye); !ok {
		return fmt.Errorf("got %#v, want GOODBYE", m)
	}
	return r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.goodbye_and_out"})
}

// stdinEvents builds --stdin input of n events, [0] to [n-1], with blank lines among
// them (skipped, but counted as lines), and returns the line number of each event.
func stdinEvents(n int, at map[int]string) (string, []int) {
	var b strings.Builder
	lines := make([]int, n)
	line := 0
	for i := 0; i < n; i++ {
		if i%3 == 1 {
			b.WriteString("\n")
			line++
		}
		if v, ok := at[i]; ok {
			b.WriteString(v + "\n")
		} else {
			fmt.Fprintf(&b, "[%d]\n", i)
		}
		line++
		lines[i] = line
	}
	return b.String(), lines
}

func argIndex(p *wamp.Publish) (int, error) {
	if len(p.Args) != 1 {
		return 0, fmt.Errorf("PUBLISH args %v", p.Args)
	}
	switch v := p.Args[0].(type) {
	case int64:
		return int(v), nil
	case uint64:
		return int(v), nil
	}
	return -1, nil
}

// With --window N the router never has more than N publications unacknowledged, and
// does have N (they are pipelined, not sent one by one). The router answers nothing
// until N are in flight, then one at a time, each after checking for a while that no
// further PUBLISH comes, and out of order (every fourth answer is for the newest); the IDs still come out in
// input order.
func TestPublishWindowBound(t *testing.T) {
	for _, window := range []int{1, 4, 16} {
		t.Run(strconv.Itoa(window), func(t *testing.T) {
			events := 2*window + 5
			input, _ := stdinEvents(events, nil)
			maxOut := 0
			url, wait := startScriptRouter(t, wamp.JSON, func(r *scriptRouter) error {
				msgs := r.pump()
				var out []*wamp.Publish
				received, answers := 0, 0
				for received < events || len(out) > 0 {
					var idle <-chan time.Time
					switch {
					case len(out) == window || received == events && len(out) > 0:
						idle = time.After(25 * time.Millisecond)
					case len(out) > 0 && maxOut == window:
						// cbx waits for its oldest, which a newest-first answer left
						// unacknowledged: answer on after a while.
						idle = time.After(100 * time.Millisecond)
					}
					select {
					case m, ok := <-msgs:
						if !ok {
							return fmt.Errorf("the session closed the connection after %d PUBLISH", received)
						}
						p, isPub := m.(*wamp.Publish)
						if !isPub {
							return fmt.Errorf("got %#v, want PUBLISH", m)
						}
						if p.Options["acknowledge"] != true {
							return fmt.Errorf("PUBLISH %d without acknowledge: %v", received, p.Options)
						}
						if len(out) >= window {
							return fmt.Errorf("PUBLISH %d arrived with %d unacknowledged: the window is %d", received, len(out), window)
						}
						if i, err := argIndex(p); err != nil || i != received {
							return fmt.Errorf("PUBLISH %d holds %v: out of order", received, p.Args)
						}
						out = append(out, p)
						received++
						maxOut = max(maxOut, len(out))
					case <-idle:
						i := 0
						if answers++; answers%4 == 0 {
							i = len(out) - 1
						}
						p := out[i]
						out = append(out[:i:i], out[i+1:]...)
						n, _ := argIndex(p)
						if err := r.send(&wamp.Published{Request: p.Request, Publication: wamp.ID(700000 + n)}); err != nil {
							return err
						}
					case <-time.After(interopWait):
						return fmt.Errorf("stuck after %d PUBLISH, %d unacknowledged", received, len(out))
					}
				}
				return r.goodbyeFrom(msgs)
			})
			out, errOut, code := cbxRun(t, input, "publish", "com.t", "--stdin", "--ack", "--window", strconv.Itoa(window), "--url", url, "--keystore", unrelatedKeystore(t))
			if err := wait(); err != nil {
				t.Fatalf("router: %v\ncbx exit %d, stderr:\n%s", err, code, errOut)
			}
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			var want []string
			for i := 0; i < events; i++ {
				want = append(want, strconv.Itoa(700000+i))
			}
			if got := stdoutLines(out); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("stdout %v, want the IDs in input order %v", got, want)
			}
			if maxOut != window {
				t.Fatalf("at most %d were in flight, want the window, %d", maxOut, window)
			}
		})
	}
}

// refusingBroker acknowledges every PUBLISH at once, except one holding "bad", which it
// refuses with ERROR wamp.error.not_authorized; it records the events it received and
// the publication IDs it gave, in order, until cbx says GOODBYE.
func refusingBroker(t *testing.T) (url string, wait func() error, received *[]int, ids *[]string) {
	received, ids = new([]int), new([]string)
	url, wait = startScriptRouter(t, wamp.JSON, func(r *scriptRouter) error {
		for {
			m, err := r.recv()
			if err != nil {
				return err
			}
			switch m := m.(type) {
			case *wamp.Publish:
				i, err := argIndex(m)
				if err != nil {
					return err
				}
				*received = append(*received, i)
				if m.Options["acknowledge"] != true {
					return fmt.Errorf("PUBLISH without acknowledge: %v", m.Options)
				}
				if i < 0 {
					err = r.send(&wamp.Error{Type: wamp.PUBLISH, Request: m.Request, Details: wamp.Dict{},
						Error: "wamp.error.not_authorized", Payload: wamp.Payload{Args: wamp.List{"no publishing here"}}})
				} else {
					*ids = append(*ids, strconv.Itoa(800000+i))
					err = r.send(&wamp.Published{Request: m.Request, Publication: wamp.ID(800000 + i)})
				}
				if err != nil {
					return err
				}
			case *wamp.Goodbye:
				return r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.goodbye_and_out"})
			default:
				return fmt.Errorf("unexpected %#v", m)
			}
		}
	})
	return url, wait, received, ids
}

// A publication the router refuses is reported with its stdin line (blank lines count),
// exit 1 as for a single refused publish; cbx reads no further input, waits for those in
// flight, prints the IDs of all that were published, in input order, and says how many.
func TestPublishRefusedLine(t *testing.T) {
	const events, bad, window = 40, 9, 4
	input, lines := stdinEvents(events, map[int]string{bad: `["bad"]`})
	for _, ack := range []bool{true, false} {
		t.Run(fmt.Sprintf("ack=%v", ack), func(t *testing.T) {
			url, wait, received, ids := refusingBroker(t)
			args := []string{"publish", "com.t", "--stdin", "--window", strconv.Itoa(window), "--url", url, "--keystore", unrelatedKeystore(t)}
			if ack {
				args = append(args, "--ack")
			}
			out, errOut, code := cbxRun(t, input, args...)
			if err := wait(); err != nil {
				t.Fatalf("router: %v\nstderr:\n%s", err, errOut)
			}
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, errOut)
			}
			wantError(t, errOut, fmt.Sprintf(`cbx: error: stdin line %d: publishing to "com.t": the router refused: wamp.error.not_authorized: no publishing here`, lines[bad]))
			n := len(*received)
			if n < bad+1 || n > bad+window {
				t.Fatalf("the router received %d PUBLISH; want the refused one (event %d) and at most %d after it", n, bad, window-1)
			}
			last := lines[n-1]
			hint := fmt.Sprintf("cbx: hint: published: %d of the %d events sent (up to line %d); refused: line %d; nothing after line %d was sent", n-1, n, last, lines[bad], last)
			if !strings.Contains(errOut, hint+"\n") {
				t.Fatalf("stderr:\n%s\nwant the hint:\n%s", errOut, hint)
			}
			want := ""
			if ack {
				want = strings.Join(*ids, "\n") + "\n"
			}
			if out != want {
				t.Fatalf("stdout:\n%s\nwant the published IDs in input order:\n%s", out, want)
			}
		})
	}
}

// A burst of 20,000 events through cbx router: every one is acknowledged (the router's
// trace shows 20,000 PUBLISHED), none is lost on the way to the router, exit 0.
func TestPublishStdinBurstAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 events")
	}
	const events = 20000
	trace := newWatchedBuffer()
	srv, err := router.New(router.Config{Logger: log.New(io.Discard, "", 0), Trace: trace})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	var in strings.Builder
	for i := 0; i < events; i++ {
		fmt.Fprintf(&in, `[%d,"%s"]`+"\n", i, strings.Repeat("x", 80))
	}
	out, errOut, code := cbxRun(t, in.String(), "publish", "com.burst", "--stdin", "-v", "--url", url, "--keystore", unrelatedKeystore(t))
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`(?m)^cbx: published 20000 event\(s\) to "com.burst"$`).MatchString(errOut) {
		t.Errorf("stderr:\n%s", errOut)
	}
	tr := trace.String()
	if got := len(traceLines(tr, "tx", "", "PUBLISHED")); got != events {
		t.Fatalf("the router acknowledged %d publications, want %d", got, events)
	}
	if got := len(traceLines(tr, "rx", "", "PUBLISH")); got != events {
		t.Fatalf("the router received %d PUBLISH, want %d", got, events)
	}
}

// --timeout while publications are in flight: exit 8, naming the oldest one's line; the
// hint counts them as unconfirmed.
func TestPublishStdinDeadline(t *testing.T) {
	url, _ := silentRouter(t)
	_, errOut, code := cbxRun(t, "\n[1]\n[2]\n", "publish", "com.example.t", "--stdin", "--timeout", "300ms",
		"--url", url, "--keystore", emptyKeystore(t))
	if code != exitTimeout {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitTimeout, errOut)
	}
	wantError(t, errOut, `cbx: error: stdin line 2: publishing to "com.example.t": no acknowledgement before the deadline`)
	hint := "cbx: hint: published: 0 of the 2 events sent (up to line 3); 2 unconfirmed (the router may or may not have published them); nothing after line 3 was sent\n"
	if !strings.Contains(errOut, hint) {
		t.Fatalf("stderr:\n%s\nwant the hint:\n%s", errOut, hint)
	}
}

// `tail -f log | cbx publish --stdin --ack`: each event is published as its line arrives
// and its ID printed as soon as it is acknowledged, without waiting for the window to
// fill or the input to end; a signal then ends cbx (exit 130).
func TestPublishStdinAckAsLinesArrive(t *testing.T) {
	url, _ := startInteropRouter(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := &bgProc{name: "cbx publish", cmd: exec.Command(cbxPath(t), "publish", "com.example.t", "--stdin", "--ack",
		"--url", url, "--keystore", emptyKeystore(t)), stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), exited: make(chan struct{})}
	p.cmd.Env, p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = interopEnv(), r, p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	go func() {
		p.cmd.Wait() //nolint:errcheck // the exit code is read from ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill() //nolint:errcheck // it may have exited
		<-p.exited
	})
	for i := 1; i <= 3; i++ {
		if _, err := fmt.Fprintf(w, "[%d]\n", i); err != nil {
			t.Fatal(err)
		}
		waitFor(t, p.stdout, p.exited, fmt.Sprintf("publication ID %d", i), func(s string) bool { return len(stdoutLines(s)) == i })
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, exitInterrupted)
}

// A signal while publications are in flight and the router does not answer: cbx waits
// for their acknowledgements only briefly, then ends (exit 130).
func TestPublishStdinSignalWithEventsInFlight(t *testing.T) {
	url, got := silentRouter(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := &bgProc{name: "cbx publish", cmd: exec.Command(cbxPath(t), "publish", "com.example.t", "--stdin", "--ack",
		"--url", url, "--keystore", emptyKeystore(t)), stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), exited: make(chan struct{})}
	p.cmd.Env, p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = interopEnv(), r, p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	go func() {
		p.cmd.Wait() //nolint:errcheck // the exit code is read from ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill() //nolint:errcheck // it may have exited
		<-p.exited
	})
	if _, err := w.Write([]byte("[1]\n[2]\n[3]\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		expectMessage[*wamp.Publish](t, got)
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t, exitInterrupted)
	if d := time.Since(start); d > stopGrace+5*time.Second {
		t.Fatalf("cbx took %v to end after the signal", d)
	}
	if p.stdout.String() != "" {
		t.Fatalf("stdout %q: nothing was acknowledged", p.stdout)
	}
}

// Without --window, publish --stdin keeps defaultWindow events in flight, or more when
// the router announces a long queue (cbx router's _cbx_queue_size): a 64th of it, at
// most maxAutoWindow.
func TestWindowFor(t *testing.T) {
	for _, tc := range []struct {
		welcome wamp.Dict
		want    int
	}{
		{wamp.Dict{}, 64}, // plain nexus, Crossbar.io, …
		{wamp.Dict{wamp.OptCBXQueueSize: "65536"}, 64},        // not an integer: ignored
		{wamp.Dict{wamp.OptCBXQueueSize: int64(0)}, 64},       // nothing announced
		{wamp.Dict{wamp.OptCBXQueueSize: int64(-5)}, 64},      // nonsense: ignored
		{wamp.Dict{wamp.OptCBXQueueSize: int64(1000)}, 64},    // a short queue: the default
		{wamp.Dict{wamp.OptCBXQueueSize: int64(16384)}, 256},  // a 64th
		{wamp.Dict{wamp.OptCBXQueueSize: int64(65536)}, 1024}, // cbx router's default
		{wamp.Dict{wamp.OptCBXQueueSize: int64(1 << 40)}, 1024},
	} {
		if got := windowFor(tc.welcome); got != tc.want {
			t.Errorf("windowFor(%v) = %d, want %d", tc.welcome, got, tc.want)
		}
	}
}

// The window chosen is the one announced by -v: 1024 through cbx router with its default
// queue, 64 through plain nexus (which announces nothing and queues 64 messages), and
// --window as given.
func TestPublishWindowChosen(t *testing.T) {
	ks := emptyKeystore(t)
	in := "[1]\n[2]\n"
	cbxURL, _ := startInteropRouter(t)
	nexusURL := startPlainNexus(t)
	for _, tc := range []struct {
		url  string
		args []string
		want string
	}{
		{cbxURL, nil, "at most 1024 events unacknowledged"},
		{nexusURL, nil, "at most 64 events unacknowledged"},
	} {
		args := append([]string{"publish", "com.plain.window", "--stdin", "-v", "--url", tc.url, "--keystore", ks}, tc.args...)
		_, stderr, code := cbxRun(t, in, args...)
		if code != 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("cbx %v: exit %d, stderr %q, want %q", args, code, stderr, tc.want)
		}
	}
	_, stderr, code := cbxRun(t, in, "publish", "com.plain.window", "--stdin", "-v", "--window", "8", "--url", cbxURL, "--keystore", ks)
	if code != 0 || strings.Contains(stderr, "unacknowledged at a time") {
		t.Errorf("--window 8: exit %d, stderr %q: no choice to announce", code, stderr)
	}
}

// A router that announces a long queue but never acknowledges (a liar, or one that
// drops the acknowledgements) costs no event silently: the window still bounds what is
// sent, the deadline ends the run (exit 8), and the hint counts every event sent as
// unconfirmed.
func TestPublishWindowAnnouncedButUnacknowledged(t *testing.T) {
	url, _ := silentRouterWelcoming(t, wamp.Dict{wamp.OptCBXQueueSize: int64(65536)})
	in := strings.Repeat("[1]\n", 3*maxAutoWindow)
	_, errOut, code := cbxRun(t, in, "publish", "com.example.t", "--stdin", "--timeout", "1s",
		"--url", url, "--keystore", emptyKeystore(t))
	if code != exitTimeout {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitTimeout, errOut)
	}
	hint := fmt.Sprintf("cbx: hint: published: 0 of the %d events sent (up to line %d); %d unconfirmed (the router may or may not have published them); nothing after line %d was sent\n",
		maxAutoWindow, maxAutoWindow, maxAutoWindow, maxAutoWindow)
	if !strings.Contains(errOut, hint) {
		t.Fatalf("stderr:\n%s\nwant the hint:\n%s", errOut, hint)
	}
}
