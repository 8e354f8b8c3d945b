package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// execAllocated runs --exec CMD for one plaintext call through runExec and returns what it
// answered and how many bytes the process allocated meanwhile (runtime.MemStats
// TotalAlloc: every allocation counts, whether or not it was freed since).
func execAllocated(t *testing.T, command string) (*wamp.YieldResult, error, uint64, string) {
	t.Helper()
	var errOut bytes.Buffer
	streams := &ioStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &errOut}
	f := &factory{io: streams, ui: newUI(streams), getenv: os.Getenv}
	o := &registerOptions{execCmd: command, errorURI: defaultErrorURI}
	o.conn.maxMessageSize = byteCount{n: defaultMaxMessageSize, set: true}
	inv := &wamp.InvocationInfo{Procedure: "org.plain.flood"}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := f.runExec(context.Background(), nil, o, inv)
	runtime.ReadMemStats(&after)
	return res, err, after.TotalAlloc - before.TotalAlloc, errOut.String()
}

// A command that writes 100 MiB does not make cbx register allocate anything like it:
// stdout is read up to 4 × --max-message-size (then the command is stopped), stderr up to
// 64 KiB (the rest is read and discarded). The bound checked, 32 MiB, is far below the
// output and far above what the capped buffers need.
func TestExecOutputBounded(t *testing.T) {
	const flood = 100 << 20
	const bound = 32 << 20

	res, err, alloc, warn := execAllocated(t, fmt.Sprintf("head -c %d /dev/zero", flood))
	if alloc > bound {
		t.Errorf("100 MiB on stdout: %d bytes allocated, want at most %d", alloc, bound)
	}
	var rpc *wamp.RPCError
	if res != nil || !errors.As(err, &rpc) || rpc.URI != wamp.ErrURIPayloadSizeExceeded {
		t.Fatalf("100 MiB on stdout: result %v, error %v; want %s", res != nil, err, wamp.ErrURIPayloadSizeExceeded)
	}
	if !strings.Contains(warn, "the command was stopped") {
		t.Errorf("no warning on register's stderr: %q", warn)
	}

	res, err, alloc, _ = execAllocated(t, fmt.Sprintf("head -c %d /dev/zero | tr '\\0' e >&2; exit 3", flood))
	if alloc > bound {
		t.Errorf("100 MiB on stderr: %d bytes allocated, want at most %d", alloc, bound)
	}
	if res != nil || !errors.As(err, &rpc) || rpc.URI != defaultErrorURI || len(rpc.Args) != 1 {
		t.Fatalf("100 MiB on stderr: result %v, error %v; want %s", res != nil, err, defaultErrorURI)
	}
	text, _ := rpc.Args[0].(string)
	if len(text) > maxExecStderr+100 || !strings.HasPrefix(text, "eeee") ||
		!strings.HasSuffix(text, fmt.Sprintf(" [cbx: stderr cut after %d bytes, of %d]", maxExecStderr, flood)) {
		t.Errorf("100 MiB on stderr: the error's text is %d bytes ending %q", len(text), text[max(0, len(text)-80):])
	}
}

// cbx router's message limit applies to what it sends as well: a msgpack caller's ~960 KB
// binary argument fits its CALL, but a JSON callee's INVOCATION carries it in base64,
// ~1.28 MB. The router refuses the call with wamp.error.payload_size_exceeded, so
// `cbx call` exits 7 at once instead of waiting for ever, the router logs
// it, and the callee, which never saw the call, answers the next one.
func TestCallTooLargeForJSONCallee(t *testing.T) {
	logs := newWatchedBuffer()
	srv, err := router.New(router.Config{Logger: log.New(logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	ks := emptyKeystore(t)

	callee := startCbx(t, "register", "org.plain.echo", "--echo", "--count", "1", "--serializer", "json",
		"--url", url, "--keystore", ks, "--timeout", "60s", "-v")
	callee.waitStderr(t, "registered")

	arg := `"\u0000` + base64.StdEncoding.EncodeToString(make([]byte, 960<<10)) + `"`
	// (--timeout only keeps a broken router from hanging the test: exit 8, not 7.)
	errLine, errOut, code := cbxRun(t, "", "call", "org.plain.echo", arg, "--serializer", "msgpack", "--url", url, "--keystore", ks, "--timeout", "20s")
	if code != exitWAMPError {
		t.Fatalf("cbx call with a 960 KiB binary argument: exit %d, want %d\n%.2000s", code, exitWAMPError, errOut)
	}
	if !strings.HasPrefix(errLine, `{"error":"wamp.error.payload_size_exceeded","sealed":false,"args":["the call was not delivered: its INVOCATION for the callee is `) ||
		!strings.Contains(errLine, "bytes as json, more than the router's 1048576-byte message limit") {
		t.Errorf("cbx call's stdout:\n%s\nstderr:\n%s", errLine, errOut)
	}
	waitFor(t, logs, nil, "the router's warning", func(s string) bool {
		return strings.Contains(s, "INVOCATION of ") && strings.Contains(s, "(json) exceeds the 1048576-byte message limit: not delivered")
	})

	out := cbxOK(t, "", "call", "org.plain.echo", "small", "--serializer", "msgpack", "--url", url, "--keystore", ks)
	if !strings.Contains(out, `"args":["small"]`) {
		t.Errorf("second call: %s", out)
	}
	callee.waitExit(t, exitOK)
	if st := srv.Stats(); st.TooLarge != 1 {
		t.Errorf("router Stats.TooLarge = %d, want 1", st.TooLarge)
	}
}
