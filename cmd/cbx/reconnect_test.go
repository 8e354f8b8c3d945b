package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// ---- helpers -------------------------------------------------------------------------

// init applies CBXTEST_RECONNECT_BACKOFF (a duration: the first wait and the longest) to
// cbx as run by these tests, in-process or as the test binary's "cbx" subprocess, so a
// test can make the waits long (to signal cbx during one) or regular. The real cbx has
// no such variable.
func init() {
	if v := os.Getenv("CBXTEST_RECONNECT_BACKOFF"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			panic("CBXTEST_RECONNECT_BACKOFF: " + err.Error())
		}
		reconnectBackoff = backoff{first: d, max: d}
	}
}

// startRouterProc runs `cbx router` as a subprocess listening on addr (127.0.0.1:0 for a
// free port) and returns it with the URL it prints.
func startRouterProc(t *testing.T, addr string, args ...string) (*bgProc, string) {
	t.Helper()
	r := startCbx(t, append([]string{"router", "--listen", addr}, args...)...)
	re := regexp.MustCompile(`router listening on (wss?://\S+) `)
	line := waitFor(t, r.stderr, r.exited, "the router's listening line", re.MatchString)
	return r, re.FindStringSubmatch(line)[1]
}

// hostPort is the address of a ws:// URL.
func hostPort(url string) string {
	return strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
}

// serveRouterAt serves cbx's router in-process on addr (127.0.0.1:0 for a free port); stop
// ends it as `cbx router` ends on SIGINT (GOODBYE wamp.close.system_shutdown to every
// session) and frees the address for the next one.
func serveRouterAt(t *testing.T, addr string, cfg router.Config) (url string, stop func()) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = log.New(io.Discard, "", 0)
	}
	srv, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // always http.ErrServerClosed after Close
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close() }) }
	t.Cleanup(stop)
	return "ws://" + ln.Addr().String() + "/ws", stop
}

// cutProxy forwards TCP connections to a router; cut breaks every connection it carries,
// as a network failure does, while the router stays up.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startCutProxy(t *testing.T, target string) (*cutProxy, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }() //nolint:errcheck // ends with the connection
			go func() { io.Copy(in, out); in.Close() }()  //nolint:errcheck // ends with the connection
		}
	}()
	return p, "ws://" + ln.Addr().String() + "/ws"
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// waitStderrN waits until substr occurs n times on the process's stderr.
func (p *bgProc) waitStderrN(t *testing.T, substr string, n int) {
	t.Helper()
	waitFor(t, p.stderr, p.exited, p.name+" stderr: "+substr+" ×"+string(rune('0'+n)), func(s string) bool {
		return strings.Count(s, substr) >= n
	})
}

// startCbxEnv is startCbx with extra environment variables.
func startCbxEnv(t *testing.T, env []string, args ...string) *bgProc {
	t.Helper()
	return startBg(t, "cbx "+args[0], interopEnv(env...), append([]string{cbxPath(t)}, args...)...)
}

// ---- surviving a router restart ----------------------------------------------------

// subscribe --reconnect and register --reconnect survive `cbx router` being stopped and a
// new one started on the same address: they say so, re-join, re-subscribe and re-register,
// and serve again; --count counts across the restart.
func TestReconnectSurvivesRouterRestart(t *testing.T) {
	r1, url := startRouterProc(t, "127.0.0.1:0")
	ks := emptyKeystore(t)
	conn := []string{"--url", url, "--keystore", ks}
	sub := startCbx(t, append([]string{"subscribe", "com.example.t", "--reconnect", "--count", "3", "-v"}, conn...)...)
	reg := startCbx(t, append([]string{"register", "com.example.p", "--echo", "--reconnect", "--count", "2", "-v"}, conn...)...)
	sub.waitStderr(t, "subscribed to")
	reg.waitStderr(t, "registered")

	cbxExit(t, exitOK, append([]string{"publish", "com.example.t", "1", "--ack"}, conn...)...)
	out, _ := cbxExit(t, exitOK, append([]string{"call", "com.example.p", "before"}, conn...)...)
	if got := oneLine(t, out)["args"]; !sameValue(got, []any{"before"}) {
		t.Fatalf("call before the restart: %v", got)
	}
	waitFor(t, sub.stdout, sub.exited, "the first event", func(s string) bool { return len(stdoutLines(s)) == 1 })

	// Stop the router as a user does (SIGINT: GOODBYE wamp.close.system_shutdown).
	if err := r1.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r1.waitExit(t, exitOK)
	lost := regexp.MustCompile(`(?m)^cbx: warning: lost the router at ` + regexp.QuoteMeta(url) +
		`: the router closed the session: wamp\.close\.system_shutdown; reconnecting in \d+(\.\d+)?s$`)
	for _, p := range []*bgProc{sub, reg} {
		waitFor(t, p.stderr, p.exited, p.name+"'s lost-the-router warning", lost.MatchString)
	}

	startRouterProc(t, hostPort(url))
	sub.waitStderrN(t, "subscribed to", 2)
	reg.waitStderrN(t, "registered", 2)
	for _, p := range []*bgProc{sub, reg} {
		p.waitStderr(t, "cbx: reconnected to "+url)
	}

	cbxExit(t, exitOK, append([]string{"publish", "com.example.t", "2", "--ack"}, conn...)...)
	cbxExit(t, exitOK, append([]string{"publish", "com.example.t", "3", "--ack"}, conn...)...)
	out, _ = cbxExit(t, exitOK, append([]string{"call", "com.example.p", "after"}, conn...)...)
	if got := oneLine(t, out)["args"]; !sameValue(got, []any{"after"}) {
		t.Fatalf("call after the restart: %v", got)
	}
	sub.waitExit(t, exitOK)
	reg.waitExit(t, exitOK)
	var got []any
	for _, l := range stdoutLines(sub.stdout.String()) {
		got = append(got, decodeLine(t, []byte(l))["args"].([]any)[0])
	}
	if !sameValue(got, []any{int64(1), int64(2), int64(3)}) {
		t.Fatalf("events across the restart: %v", got)
	}
}

// A callee whose connection breaks (the router stays up) re-registers: the router dropped
// the lost session's registration, so the procedure is free again. A call whose command
// was running when the connection broke cannot be answered: the command is stopped, the
// caller gets wamp.error.canceled from the router, and the call does not count.
func TestReconnectAfterConnectionCutWithCallInFlight(t *testing.T) {
	url, _ := serveRouterAt(t, "127.0.0.1:0", router.Config{})
	proxy, viaProxy := startCutProxy(t, hostPort(url))
	ks := emptyKeystore(t)
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	reg := startCbx(t, "register", "com.example.p", "--reconnect", "--count", "1", "-v", "--url", viaProxy, "--keystore", ks,
		"--exec", `case "$CBX_ARGS" in *slow*) touch `+started+`; sleep 60;; esac; echo done`)
	reg.waitStderr(t, "registered")

	type result struct {
		out, errOut string
		code        int
	}
	slow := make(chan result, 1)
	go func() {
		out, errOut, code := cbxRun(t, "", "call", "com.example.p", "slow", "--url", url, "--keystore", ks)
		slow <- result{out, errOut, code}
	}()
	deadline := time.Now().Add(interopWait)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slow call's command never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	proxy.cut()

	select {
	case r := <-slow:
		if r.code != exitWAMPError || !strings.Contains(r.errOut, "wamp.error.canceled") {
			t.Fatalf("the call in flight: exit %d, stderr:\n%s", r.code, r.errOut)
		}
	case <-time.After(interopWait):
		t.Fatal("the call in flight was never answered")
	}
	reg.waitStderr(t, "cbx: warning: lost the router at "+viaProxy+": ")
	reg.waitStderrN(t, "registered", 2)
	// The router dropped the registration as the connection ended, well before the
	// first attempt (0.05s at the earliest): that attempt registers.
	reg.waitStderr(t, "(attempt 1)")
	if strings.Contains(reg.stderr.String(), "procedure_already_exists") {
		t.Fatalf("the router still held the lost session's registration:\n%s", reg.stderr)
	}
	out, _ := cbxExit(t, exitOK, "call", "com.example.p", "fast", "--url", url, "--keystore", ks)
	if got := oneLine(t, out)["args"]; !sameValue(got, []any{"done"}) {
		t.Fatalf("call after the reconnect: %v", got)
	}
	reg.waitExit(t, exitOK)
}

// A procedure another callee holds when register comes back is a wait, not an end: the
// router may still hold the lost session's registration. register warns and tries again.
func TestReconnectProcedureTakenMeanwhile(t *testing.T) {
	url, stop := serveRouterAt(t, "127.0.0.1:0", router.Config{})
	ks := emptyKeystore(t)
	reg := startCbxEnv(t, []string{"CBXTEST_RECONNECT_BACKOFF=1s"}, "register", "com.example.p", "--echo", "--reconnect", "-v", "--url", url, "--keystore", ks)
	reg.waitStderr(t, "registered")
	stop()
	reg.waitStderr(t, "lost the router")
	serveRouterAt(t, hostPort(url), router.Config{})

	ctx := context.Background()
	wc, err := wamp.Dial(ctx, url, wamp.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := wamp.Join(ctx, wc, wamp.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Register(ctx, "com.example.p", nil, func(context.Context, *wamp.InvocationInfo) (*wamp.YieldResult, error) {
		return &wamp.YieldResult{Args: wamp.List{"the other callee"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, reg.stderr, reg.exited, "the retry warning", regexp.MustCompile(`(?m)^cbx: warning: could not reconnect to `+
		regexp.QuoteMeta(url)+` \(attempt 1\): registering "com\.example\.p": the router refused: wamp\.error\.procedure_already_exists.*; retrying in \d`).MatchString)
	other.Close(ctx)

	reg.waitStderrN(t, "registered", 2)
	out, _ := cbxExit(t, exitOK, "call", "com.example.p", "mine", "--url", url, "--keystore", ks)
	if got := oneLine(t, out)["args"]; !sameValue(got, []any{"mine"}) {
		t.Fatalf("call after the reconnect: %v", got)
	}
	reg.interrupt(t)
}

// ---- ending --------------------------------------------------------------------------

// The limits end the attempts with exit 6, saying how many were made.
func TestReconnectGivesUp(t *testing.T) {
	t.Run("attempts", func(t *testing.T) {
		url, stop := serveRouterAt(t, "127.0.0.1:0", router.Config{})
		sub := startCbx(t, "subscribe", "com.example.t", "--reconnect", "--reconnect-max", "3", "-v", "--url", url, "--keystore", emptyKeystore(t))
		sub.waitStderr(t, "subscribed to")
		stop()
		sub.waitExit(t, exitConnection)
		errOut := sub.stderr.String()
		if !regexp.MustCompile(`(?m)^cbx: error: gave up reconnecting to ` + regexp.QuoteMeta(url) +
			` after 3 attempts: connecting to "` + regexp.QuoteMeta(url) + `": connection refused$`).MatchString(errOut) {
			t.Fatalf("no give-up message:\n%s", errOut)
		}
		if n := strings.Count(errOut, "could not reconnect"); n != 2 {
			t.Fatalf("%d retry warnings for 3 attempts, want 2:\n%s", n, errOut)
		}
	})
	t.Run("time", func(t *testing.T) {
		url, stop := serveRouterAt(t, "127.0.0.1:0", router.Config{})
		reg := startCbx(t, "register", "com.example.p", "--echo", "--reconnect", "--reconnect-within", "1s", "-v", "--url", url, "--keystore", emptyKeystore(t))
		reg.waitStderr(t, "registered")
		stop()
		reg.waitExit(t, exitConnection)
		if !regexp.MustCompile(`(?m)^cbx: error: gave up reconnecting to ` + regexp.QuoteMeta(url) +
			` after 1s \(\d+ attempts\): connecting to .*connection refused$`).MatchString(reg.stderr.String()) {
			t.Fatalf("no give-up message:\n%s", reg.stderr)
		}
	})
}

// A router that refuses the session when it comes back (authentication, an unknown realm)
// ends cbx at once with exit 6: retrying cannot help.
func TestReconnectRefusedIsFinal(t *testing.T) {
	dir := t.TempDir()
	ticket := writeSecret(t, dir, "ticket", "first-ticket")
	for _, c := range []struct {
		name  string
		after router.Config
		why   string
	}{
		{"authentication", router.Config{Tickets: map[string]string{"alice": "second-ticket"}}, "wamp.error.authentication_failed"},
		{"realm", router.Config{Realms: []string{"other"}, Tickets: map[string]string{"alice": "first-ticket"}}, "wamp.error.no_such_realm"},
	} {
		t.Run(c.name, func(t *testing.T) {
			url, stop := serveRouterAt(t, "127.0.0.1:0", router.Config{Tickets: map[string]string{"alice": "first-ticket"}})
			sub := startCbx(t, "subscribe", "com.example.t", "--reconnect", "-v", "--url", url, "--keystore", emptyKeystore(t),
				"--authid", "alice", "--ticket", ticket)
			sub.waitStderr(t, "subscribed to")
			stop()
			serveRouterAt(t, hostPort(url), c.after)
			sub.waitExit(t, exitConnection)
			errOut := sub.stderr.String()
			if !regexp.MustCompile(`(?m)^cbx: error: .*` + regexp.QuoteMeta(c.why)).MatchString(errOut) {
				t.Fatalf("the refusal is not the error:\n%s", errOut)
			}
			if strings.Contains(errOut, "could not reconnect") {
				t.Fatalf("a refusal was retried:\n%s", errOut)
			}
		})
	}
}

// SIGINT while waiting to reconnect ends cbx at once, as a signal does otherwise: exit
// 130 and no error message, long before the wait would be over.
func TestReconnectInterruptDuringBackoff(t *testing.T) {
	url, stop := serveRouterAt(t, "127.0.0.1:0", router.Config{})
	for _, cmd := range [][]string{
		{"subscribe", "com.example.t"},
		{"register", "com.example.p", "--echo"},
	} {
		p := startCbxEnv(t, []string{"CBXTEST_RECONNECT_BACKOFF=10m"},
			append(cmd, "--reconnect", "-v", "--url", url, "--keystore", emptyKeystore(t))...)
		defer func() {
			p.waitStderr(t, "reconnecting in ")
			if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			p.waitExit(t, exitInterrupted) // within interopWait, far less than the 10 minutes
			if strings.Contains(p.stderr.String(), "error") {
				t.Fatalf("an interrupt printed an error:\n%s", p.stderr)
			}
		}()
		if cmd[0] == "subscribe" {
			p.waitStderr(t, "subscribed to")
		} else {
			p.waitStderr(t, "registered")
		}
	}
	stop()
}

// --timeout is one deadline for the whole run, waits to reconnect included: exit 8 with
// fewer than --count events, exit 0 without --count.
func TestReconnectDeadlineDuringBackoff(t *testing.T) {
	url, stop := serveRouterAt(t, "127.0.0.1:0", router.Config{})
	ks := emptyKeystore(t)
	env := []string{"CBXTEST_RECONNECT_BACKOFF=10m"}
	counted := startCbxEnv(t, env, "subscribe", "com.example.t", "--reconnect", "--count", "5", "--timeout", "3s", "-v", "--url", url, "--keystore", ks)
	open := startCbxEnv(t, env, "subscribe", "com.example.t", "--reconnect", "--timeout", "3s", "-v", "--url", url, "--keystore", ks)
	counted.waitStderr(t, "subscribed to")
	open.waitStderr(t, "subscribed to")
	stop()
	counted.waitExit(t, exitTimeout)
	if !strings.Contains(counted.stderr.String(), "cbx: error: deadline reached after 0 of 5 events") {
		t.Fatalf("no deadline message:\n%s", counted.stderr)
	}
	open.waitExit(t, exitOK)
}

// ---- the parts ---------------------------------------------------------------------------

// The waits double from the first to the cap and stay there; jitter takes at most half
// of a wait off.
func TestReconnectBackoffSchedule(t *testing.T) {
	b := backoff{first: 100 * time.Millisecond, max: 5 * time.Second}
	full := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, want := range full {
		want *= time.Millisecond
		n := i + 1
		if got := b.delay(n, func() float64 { return 0 }); got != want {
			t.Errorf("delay(%d) without jitter = %v, want %v", n, got, want)
		}
		if got := b.delay(n, func() float64 { return 0.999999 }); got < want/2 || got > want/2+time.Millisecond {
			t.Errorf("delay(%d) with the most jitter = %v, want about %v", n, got, want/2)
		}
	}
	if got := b.delay(1000, func() float64 { return 0 }); got != b.max {
		t.Errorf("delay(1000) = %v, want the cap %v", got, b.max)
	}
	for d, want := range map[time.Duration]string{
		50 * time.Millisecond: "0.05s", 400 * time.Millisecond: "0.4s", 2345 * time.Millisecond: "2.35s", 5 * time.Second: "5s",
	} {
		if got := seconds(d); got != want {
			t.Errorf("seconds(%v) = %q, want %q", d, got, want)
		}
	}
}

// Which endings and failures are retried: the router going away is, a refusal is not.
func TestReconnectRetryable(t *testing.T) {
	_, dialErr := wamp.Dial(context.Background(), "ws://127.0.0.1:1/ws", wamp.DialOptions{})
	if dialErr == nil || !wamp.IsConnectionError(dialErr) {
		t.Skipf("dialling port 1 did not fail as a refused connection: %v", dialErr)
	}
	protocol := &wamp.ProtocolError{Msg: "bad frame"}

	// Why a running session ended (Session.Err).
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection lost", fmt.Errorf("connection lost: %w", dialErr), true},
		{"keepalive timeout", fmt.Errorf("recv: peer silent for 1m30s (no pong to keepalive ping): %w", os.ErrDeadlineExceeded), true},
		{"router shutdown", &wamp.GoodbyeError{Reason: "wamp.close.system_shutdown"}, true},
		{"router abort", &wamp.AbortError{Reason: "wamp.close.system_shutdown"}, true},
		{"another reason", &wamp.GoodbyeError{Reason: "com.example.maintenance"}, true},
		{"killed", &wamp.GoodbyeError{Reason: "wamp.close.killed"}, false},
		{"not authorized", &wamp.AbortError{Reason: "wamp.error.not_authorized"}, false},
		{"protocol violation", protocol, false},
		{"router saw a violation", &wamp.AbortError{Reason: wamp.ErrURIProtocol}, false},
		{"our own close", wamp.ErrSessionClosed, false},
	} {
		if got := retryableEnd(c.err); got != c.want {
			t.Errorf("session ended (%s): retryableEnd = %v, want %v", c.name, got, c.want)
		}
	}

	// Why an attempt failed (dial, join, subscribe, register), as the commands word it.
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", withCode(exitConnection, fmt.Errorf("connecting to %q: %w", "ws://x", dialErr)), true},
		{"no answer in time", withCode(exitConnection, joinError("realm1", context.DeadlineExceeded)), true},
		{"shutting down", withCode(exitConnection, joinError("realm1", &wamp.AbortError{Reason: "wamp.close.system_shutdown"})), true},
		{"realm closing", withCode(exitConnection, joinError("realm1", &wamp.AbortError{Reason: "wamp.close.close_realm"})), true},
		{"authentication refused", withCode(exitConnection, joinError("realm1", &wamp.AbortError{Reason: "wamp.error.authentication_failed"})), false},
		{"no such realm", withCode(exitConnection, joinError("realm1", &wamp.AbortError{Reason: "wamp.error.no_such_realm"})), false},
		{"another refusal", withCode(exitConnection, joinError("realm1", &wamp.AbortError{Reason: "com.example.go_away"})), false},
		{"protocol violation", withCode(exitConnection, joinError("realm1", protocol)), false},
		{"procedure registered", fmt.Errorf("registering %q: %w", "p", routerRefused(&wamp.RPCError{URI: "wamp.error.procedure_already_exists"})), true},
		{"subscription refused", fmt.Errorf("subscribing to %q: %w", "t", routerRefused(&wamp.RPCError{URI: "wamp.error.not_authorized"})), false},
		{"certificate", withCode(exitConnection, fmt.Errorf("connecting: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})), false},
		{"not a WAMP router", withCode(exitConnection, errors.New("the server chose no WebSocket subprotocol (offered wamp.2.json); is it a WAMP router?")), false},
	} {
		if got := retryable(c.err); got != c.want {
			t.Errorf("attempt failed (%s): retryable = %v, want %v", c.name, got, c.want)
		}
	}
}
