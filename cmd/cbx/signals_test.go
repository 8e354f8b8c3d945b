package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"

	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGINT ends a subscriber politely: exit 130, no error message.
func TestSignalEndsSubscribe(t *testing.T) {
	url, _ := startInteropRouter(t)
	sub := startCbx(t, "subscribe", "com.example.t", "--url", url, "--keystore", emptyKeystore(t), "-v")
	sub.waitStderr(t, "subscribed to")
	sub.interrupt(t)
	if strings.Contains(sub.stderr.String(), "error") {
		t.Fatalf("an interrupt printed an error:\n%s", sub.stderr)
	}
}

// publish --stdin waiting on a silent standard input still ends on SIGTERM (exit 130).
func TestSignalEndsPublishStdinWhileReading(t *testing.T) {
	url, _ := startInteropRouter(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command(cbxPath(t), "publish", "com.example.t", "--stdin", "--url", url,
		"--keystore", emptyKeystore(t), "-v")
	cmd.Env = interopEnv()
	cmd.Stdin = r
	stderr := newWatchedBuffer()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // the code is read below
	waitFor(t, stderr, exited, "the joined line", func(s string) bool { return strings.Contains(s, "joined realm") })
	if _, err := w.Write([]byte("[1]\n")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("publish --stdin ignored SIGTERM while reading; stderr:\n%s", stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
}

// A keystore path that names a FIFO is refused at once (exit 5), not waited on.
func TestKeystoreFIFOIsRefused(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "keystore")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	var out, errOut string
	var code int
	go func() {
		out, errOut, code = cbxRun(t, "", "--keystore", fifo, "keys", "ls")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// Unblock the open so the goroutine can end, then fail.
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("cbx keys ls hangs on a FIFO keystore")
	}
	if code != exitKey || !strings.Contains(errOut, "is not a regular file") || out != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

// When the router goes away, a subscriber and a callee end with exit 6 (connection
// problem), not a generic failure.
func TestRouterGoneIsExit6(t *testing.T) {
	srv, err := router.New(router.Config{Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	ks := emptyKeystore(t)
	sub := startCbx(t, "subscribe", "com.example.t", "--url", url, "--keystore", ks, "-v")
	reg := startCbx(t, "register", "com.example.p", "--echo", "--url", url, "--keystore", ks, "-v")
	sub.waitStderr(t, "subscribed to")
	reg.waitStderr(t, "registered")
	srv.Close()
	hs.CloseClientConnections()
	sub.waitExit(t, exitConnection)
	reg.waitExit(t, exitConnection)
}

// SIGINT while the session is being joined (HELLO sent, no WELCOME yet) ends a one-shot
// publish as it ends a joined session: exit 130, no error message. The handlers are
// installed while cbx connects (catchSignals), and waited for before HELLO goes out.
func TestSignalDuringJoinExits130(t *testing.T) {
	hello := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wamp.Accept(w, r, wamp.AcceptOptions{})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			m, err := c.Recv()
			if err != nil {
				return
			}
			if _, ok := m.(*wamp.Hello); ok {
				select {
				case hello <- struct{}{}:
				default:
				}
			}
		}
	}))
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	p := startCbx(t, "publish", "com.example.t", "[1]", "--url", url, "--keystore", emptyKeystore(t))
	select {
	case <-hello:
	case <-p.exited:
		t.Fatalf("cbx ended before HELLO; stderr:\n%s", p.stderr)
	case <-time.After(interopWait):
		t.Fatal("no HELLO from cbx")
	}
	p.interrupt(t)
	if strings.Contains(p.stderr.String(), "error") {
		t.Fatalf("an interrupt printed an error:\n%s", p.stderr)
	}
}

// A one-shot publish (no --ack) whose session ends before the router confirms its
// GOODBYE (the router here ABORTs on the PUBLISH) is not reported as published: exit 6
// (exitConnection) with the hint that --ack confirms each event.
func TestPublishOneEndedBeforeGoodbyeExits6(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wamp.Accept(w, r, wamp.AcceptOptions{})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			m, err := c.Recv()
			if err != nil {
				return
			}
			switch m.(type) {
			case *wamp.Hello:
				c.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}}}})
			case *wamp.Publish:
				c.Send(&wamp.Abort{Details: wamp.Dict{}, Reason: "wamp.close.system_shutdown"})
				return
			}
		}
	}))
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	p := startCbx(t, "publish", "com.example.t", "[1]", "--url", url, "--keystore", emptyKeystore(t))
	p.waitExit(t, exitConnection)
	if !strings.Contains(p.stderr.String(), "cbx: hint: the router may not have handled the event(s)") {
		t.Fatalf("no hint that the event may be lost:\n%s", p.stderr)
	}
}

// goodbyeRouter is a fake router for a one-shot publish: it welcomes, takes the PUBLISH
// and the GOODBYE, and then ends the connection the way end says, without answering
// the GOODBYE.
func goodbyeRouter(t *testing.T, end func(c *wamp.Conn, raw net.Conn)) string {
	t.Helper()
	raws := make(chan net.Conn, 1)
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wamp.Accept(w, r, wamp.AcceptOptions{})
		if err != nil {
			return
		}
		raw := <-raws
		for {
			m, err := c.Recv()
			if err != nil {
				c.Close()
				return
			}
			switch m.(type) {
			case *wamp.Hello:
				c.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}}}})
			case *wamp.Goodbye:
				end(c, raw)
				return
			}
		}
	}))
	hs.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			raws <- c
		}
	}
	hs.Start()
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

// A router whose connection just ends after it read the PUBLISH and the GOODBYE (it
// crashed, or a proxy dropped the connection) has not said that it handled the event:
// the one-shot publish exits 6 with the hint, not 0.
func TestPublishOneConnectionEndsAfterGoodbyeExits6(t *testing.T) {
	url := goodbyeRouter(t, func(_ *wamp.Conn, raw net.Conn) { raw.Close() })
	p := startCbx(t, "publish", "com.example.t", "[1]", "--url", url, "--keystore", emptyKeystore(t))
	p.waitExit(t, exitConnection)
	if !strings.Contains(p.stderr.String(), "cbx: hint: the router may not have handled the event(s)") {
		t.Fatalf("no hint that the event may be lost:\n%s", p.stderr)
	}
}

// A router that answers the GOODBYE with only an ordinary close frame (nexus sometimes
// drops its GOODBYE reply so) has closed the session as asked: exit 0.
func TestPublishOneCloseFrameAfterGoodbyeExits0(t *testing.T) {
	url := goodbyeRouter(t, func(c *wamp.Conn, _ net.Conn) { c.Close() })
	p := startCbx(t, "publish", "com.example.t", "[1]", "--url", url, "--keystore", emptyKeystore(t))
	p.waitExit(t, 0)
	if p.stderr.String() != "" {
		t.Fatalf("stderr not empty:\n%s", p.stderr)
	}
}
