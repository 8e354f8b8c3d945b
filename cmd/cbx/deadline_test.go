package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// silentRouter is a WAMP router that welcomes every session and then never answers but to
// GOODBYE: PUBLISH gets no PUBLISHED and CALL no RESULT. Every message it receives is
// reported.
func silentRouter(t *testing.T) (string, <-chan wamp.Message) {
	t.Helper()
	return silentRouterWelcoming(t, wamp.Dict{})
}

// silentRouterWelcoming is silentRouter whose WELCOME also carries extra Details.
func silentRouterWelcoming(t *testing.T, extra wamp.Dict) (string, <-chan wamp.Message) {
	t.Helper()
	details := wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}, "dealer": wamp.Dict{}}}
	for k, v := range extra {
		details[k] = v
	}
	got := make(chan wamp.Message, 64)
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
			select {
			case got <- m:
			default:
			}
			switch m.(type) {
			case *wamp.Hello:
				c.Send(&wamp.Welcome{Session: 1, Details: details})
			case *wamp.Goodbye:
				c.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.goodbye_and_out"})
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws", got
}

// expectMessage waits for a message of type T from the silent router.
func expectMessage[T wamp.Message](t *testing.T, got <-chan wamp.Message) T {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-got:
			if v, ok := m.(T); ok {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("no %T from cbx", zero)
			return zero
		}
	}
}

// publish --ack with no PUBLISHED before --timeout: exit 8, naming the event.
func TestPublishAckDeadline(t *testing.T) {
	url, _ := silentRouter(t)
	_, errOut := cbxExit(t, exitTimeout, "publish", "com.example.t", "x", "--ack", "--timeout", "300ms",
		"--url", url, "--keystore", emptyKeystore(t))
	if !strings.Contains(errOut, `event 1 to "com.example.t": no acknowledgement before the deadline`) {
		t.Fatalf("stderr: %s", errOut)
	}
}

// call --timeout: exit 8, and the router receives CANCEL with mode killnowait for that call.
func TestCallDeadlineSendsCancel(t *testing.T) {
	url, got := silentRouter(t)
	_, errOut := cbxExit(t, exitTimeout, "call", "com.example.slow", "--timeout", "300ms",
		"--url", url, "--keystore", emptyKeystore(t))
	if !strings.Contains(errOut, `calling "com.example.slow": no result before the deadline; the call was cancelled`) {
		t.Fatalf("stderr: %s", errOut)
	}
	call := expectMessage[*wamp.Call](t, got)
	cancel := expectMessage[*wamp.Cancel](t, got)
	if cancel.Request != call.Request || cancel.Options["mode"] != "killnowait" {
		t.Fatalf("CANCEL %+v for CALL %d", cancel, call.Request)
	}
}

// When a call to `register --exec` is cancelled, the command and what it started are
// killed (its process group), not left running.
func TestRegisterCancelKillsCommand(t *testing.T) {
	url, _ := startInteropRouter(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	ks := emptyKeystore(t)
	reg := startCbx(t, "register", "org.plain.slow", "--exec", "sleep 30 & echo $! >"+pidFile+"; wait",
		"--url", url, "--keystore", ks, "-v")
	reg.waitStderr(t, "registered")
	cbxExit(t, exitTimeout, "call", "org.plain.slow", "--timeout", "500ms", "--url", url, "--keystore", ks)
	reg.waitStderr(t, `a call to "org.plain.slow" was cancelled`)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command's child %d is still running after the call was cancelled", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	reg.interrupt(t)
}
