package main

// Helpers shared by cmd/cbx's Go tests: cbx run in-process (cbxRun, cbxOK, cbxExit) or as
// a subprocess (startCbx, bgProc), output watched without sleeps (watchedBuffer, waitFor),
// and cbx's router in-process with its trace (startInteropRouter, traceLines, waitTrace).

import (
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

const (
	// interopWait bounds every wait for a peer (a line, an exit). Generous: on a loaded
	// 2-core CI machine Python's start-up alone can take a second.
	interopWait = 30 * time.Second
)

// ---- cbx in-process ------------------------------------------------------------------------

// cbxRun runs cbx in-process and returns stdout, stderr and the exit code.
func cbxRun(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &ioStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errb})
	return out.String(), errb.String(), code
}

func cbxOK(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := cbxRun(t, stdin, args...)
	if code != 0 {
		t.Fatalf("cbx %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func decodeLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	v, err := wamp.UnmarshalJSON(bytes.TrimSpace(line), wamp.NestMessage)
	if err != nil {
		t.Fatalf("not a JSON line: %q: %v", line, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not a JSON object: %q", line)
	}
	return m
}

// ---- output watching ---------------------------------------------------------------

// watchedBuffer is an io.Writer that keeps everything written and wakes waiters on every
// write.
type watchedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{changed: make(chan struct{})} }

func (b *watchedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	close(b.changed)
	b.changed = make(chan struct{})
	return len(p), nil
}

func (b *watchedBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.changed
}

func (b *watchedBuffer) String() string {
	s, _ := b.snapshot()
	return s
}

// waitFor waits until pred holds for b's content and returns that content. It fails the
// test after interopWait, or when exited (if not nil) closes without pred holding.
func waitFor(t *testing.T, b *watchedBuffer, exited <-chan struct{}, what string, pred func(string) bool) string {
	t.Helper()
	deadline := time.NewTimer(interopWait)
	defer deadline.Stop()
	for {
		s, changed := b.snapshot()
		if pred(s) {
			return s
		}
		select {
		case <-changed:
		case <-exited:
			if s := b.String(); pred(s) {
				return s
			}
			t.Fatalf("exited before %s; output so far:\n%s", what, b.String())
		case <-deadline.C:
			t.Fatalf("no %s after %v; output so far:\n%s", what, interopWait, b.String())
		}
	}
}

// ---- background processes ------------------------------------------------------------

// bgProc is a subprocess (a cbx command or an Autobahn peer) whose output is watched.
type bgProc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *watchedBuffer
	exited         chan struct{}
}

// interopEnv is the environment for subprocesses: ours, without anything that would
// change cbx's or Autobahn's behaviour behind the test's back.
func interopEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CBX_") || strings.HasPrefix(kv, "AUTOBAHN_") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "NO_COLOR=1"), extra...)
}

func startBg(t *testing.T, name string, env []string, argv ...string) *bgProc {
	t.Helper()
	return startBgWith(t, name, env, nil, argv...)
}

// startBgWith is startBg with setup run on the command before it starts (to take a pipe
// to its stdin, say).
func startBgWith(t *testing.T, name string, env []string, setup func(*exec.Cmd), argv ...string) *bgProc {
	t.Helper()
	p := &bgProc{name: name, cmd: exec.Command(argv[0], argv[1:]...), stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if setup != nil {
		setup(p.cmd)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait() //nolint:errcheck // the exit code is read from ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill() //nolint:errcheck // it may have just exited
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr:\n%s", name, p.stdout, name, p.stderr)
		}
	})
	return p
}

// wait waits (bounded) for the process to end and returns its exit code.
func (p *bgProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(interopWait):
		t.Fatalf("%s still running after %v\nstdout:\n%s\nstderr:\n%s", p.name, interopWait, p.stdout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *bgProc) waitExit(t *testing.T, want int) {
	t.Helper()
	if code := p.wait(t); code != want {
		t.Fatalf("%s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", p.name, code, want, p.stdout, p.stderr)
	}
}

// interrupt stops a cbx command as a user's Ctrl-C does: SIGINT, exit 130.
func (p *bgProc) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatalf("interrupting %s: %v", p.name, err)
	}
	p.waitExit(t, exitInterrupted)
}

func (p *bgProc) waitStderr(t *testing.T, substr string) {
	t.Helper()
	waitFor(t, p.stderr, p.exited, p.name+" stderr "+strconv.Quote(substr), func(s string) bool { return strings.Contains(s, substr) })
}

// ---- cbx as a subprocess ---------------------------------------------------------------

// cbxPath is the "cbx" that testscript.Main installed on PATH: a copy of this test binary
// that runs cbx's run() when invoked under that name (main_test.go).
func cbxPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cbx")
	if err != nil {
		t.Fatalf("testscript.Main should have put cbx on PATH: %v", err)
	}
	if !strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(p))), "testscript-main") {
		t.Fatalf("cbx on PATH is %s, not the test binary's copy from testscript.Main", p)
	}
	return p
}

func startCbx(t *testing.T, args ...string) *bgProc {
	t.Helper()
	name := "cbx"
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && !strings.Contains(a, "/") {
			name += " " + a // the subcommand, for messages
			break
		}
	}
	return startBg(t, name, interopEnv(), append([]string{cbxPath(t)}, args...)...)
}

// cbxExit runs cbx in-process and checks its exit code; it returns stdout and stderr.
func cbxExit(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := cbxRun(t, "", args...)
	if code != want {
		t.Fatalf("cbx %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out, errOut
}

// stdoutLines returns the non-empty lines of s.
func stdoutLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// oneLine decodes the only line of a cbx command's stdout.
func oneLine(t *testing.T, stdout string) map[string]any {
	t.Helper()
	lines := stdoutLines(stdout)
	if len(lines) != 1 {
		t.Fatalf("want exactly one line on stdout, got %d:\n%s", len(lines), stdout)
	}
	return decodeLine(t, []byte(lines[0]))
}

// ---- the router --------------------------------------------------------------------------

// startInteropRouter starts cbx's router in-process on a loopback port; its trace goes to
// the returned buffer.
func startInteropRouter(t *testing.T) (string, *watchedBuffer) {
	t.Helper()
	return startTestRouter(t, router.Config{})
}

// startTestRouter starts a router with cfg, its Logger discarding and its Trace the
// returned buffer, and returns its URL.
func startTestRouter(t *testing.T, cfg router.Config) (string, *watchedBuffer) {
	t.Helper()
	trace := newWatchedBuffer()
	cfg.Logger, cfg.Trace = log.New(io.Discard, "", 0), trace
	srv, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", trace
}

// traceLines returns the trace lines of the given direction ("rx"/"tx"), serializer ("" =
// any) and message type.
func traceLines(trace, dir, ser, typ string) []string {
	re := regexp.MustCompile(`^` + dir + ` conn=\d+ session=\S+ (\S+) ` + typ + ` `)
	var out []string
	for _, l := range strings.Split(trace, "\n") {
		if m := re.FindStringSubmatch(l); m != nil && (ser == "" || m[1] == ser) {
			out = append(out, l)
		}
	}
	return out
}

// waitTrace waits until the trace holds at least n lines of dir/ser/typ and returns them.
func waitTrace(t *testing.T, trace *watchedBuffer, n int, dir, ser, typ string) []string {
	t.Helper()
	s := waitFor(t, trace, nil, dir+" "+ser+" "+typ+" in the router trace", func(s string) bool {
		return len(traceLines(s, dir, ser, typ)) >= n
	})
	return traceLines(s, dir, ser, typ)
}

// emptyKeystore makes an empty keystore, as `cbx keys init` does, for tests of plain
// sessions: a keystore named with --keystore must exist.
func emptyKeystore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "empty.keystore")
	if err := keystore.Update(path, func(*keystore.Keystore) error { return nil }); err != nil {
		t.Fatal(err)
	}
	return path
}
