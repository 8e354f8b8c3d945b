package main

import (
	"encoding/base64"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/router"
)

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
	ks := filepath.Join(t.TempDir(), "none")

	callee := startCbx(t, "register", "org.plain.echo", "--echo", "--count", "1", "--serializer", "json",
		"--url", url, "--keystore", ks, "--timeout", "60s", "-v")
	callee.waitStderr(t, "registered")

	arg := `"\u0000` + base64.StdEncoding.EncodeToString(make([]byte, 960<<10)) + `"`
	// (--timeout only keeps a broken router from hanging the test: exit 8, not 7.)
	_, errOut, code := cbxRun(t, "", "call", "org.plain.echo", arg, "--serializer", "msgpack", "--url", url, "--keystore", ks, "--timeout", "20s")
	if code != exitWAMPError {
		t.Fatalf("cbx call with a 960 KiB binary argument: exit %d, want %d\n%.2000s", code, exitWAMPError, errOut)
	}
	if !strings.Contains(errOut, `{"error":"wamp.error.payload_size_exceeded","sealed":false,"args":["the call was not delivered: its INVOCATION for the callee is `) ||
		!strings.Contains(errOut, "bytes as json, more than the router's 1048576-byte message limit") {
		t.Errorf("cbx call's stderr:\n%s", errOut)
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
