package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Error messages follow one convention (exitcodes.go): the library says what went wrong,
// cbx says once, in the user's words, what it was doing; no package prefix ("wamp:",
// "box:") reaches the user and the URI the user gave is named once.

// wantError checks that stderr holds exactly this error line, and nothing that breaks the
// convention.
func wantError(t *testing.T, errOut, line string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `$`).MatchString(errOut) {
		t.Errorf("stderr:\n%s\nwant the line:\n%s", errOut, line)
	}
	cleanMessages(t, errOut)
}

// cleanMessages fails on layer prefixes and formatting slips in cbx's stderr lines.
func cleanMessages(t *testing.T, errOut string) {
	t.Helper()
	for _, l := range strings.Split(errOut, "\n") {
		if !strings.HasPrefix(l, "cbx: ") {
			continue
		}
		for _, bad := range []string{"wamp: ", "box: ", "keystore: ", "websocket: ", "%!", "<nil>"} {
			if strings.Contains(l, bad) {
				t.Errorf("%q in %q", bad, l)
			}
		}
	}
}

// refusingRouter welcomes every session and answers every SUBSCRIBE, REGISTER, CALL and
// acknowledged PUBLISH with ERROR wamp.error.not_authorized ["not for you"].
func refusingRouter(t *testing.T) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wamp.Accept(w, r, wamp.AcceptOptions{})
		if err != nil {
			return
		}
		defer c.Close()
		refuse := func(typ wamp.MessageType, req wamp.ID) {
			c.Send(&wamp.Error{Type: typ, Request: req, Details: wamp.Dict{}, Error: "wamp.error.not_authorized",
				Payload: wamp.Payload{Args: wamp.List{"not for you"}}})
		}
		for {
			m, err := c.Recv()
			if err != nil {
				return
			}
			switch m := m.(type) {
			case *wamp.Hello:
				c.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}, "dealer": wamp.Dict{}}}})
			case *wamp.Subscribe:
				refuse(wamp.SUBSCRIBE, m.Request)
			case *wamp.Register:
				refuse(wamp.REGISTER, m.Request)
			case *wamp.Call:
				refuse(wamp.CALL, m.Request)
			case *wamp.Publish:
				refuse(wamp.PUBLISH, m.Request)
			case *wamp.Goodbye:
				c.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.goodbye_and_out"})
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

// byeRouter welcomes every session, confirms its first SUBSCRIBE, then ends the session
// with GOODBYE wamp.close.system_shutdown {"message":"maintenance"}, or (drop) closes the
// WebSocket without a GOODBYE.
func byeRouter(t *testing.T, drop bool) string {
	t.Helper()
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
			switch m := m.(type) {
			case *wamp.Hello:
				c.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}, "dealer": wamp.Dict{}}}})
			case *wamp.Subscribe:
				c.Send(&wamp.Subscribed{Request: m.Request, Subscription: 7})
				if drop {
					return // closes the WebSocket (1000), no GOODBYE
				}
				c.Send(&wamp.Goodbye{Details: wamp.Dict{"message": "maintenance"}, Reason: "wamp.close.system_shutdown"})
			case *wamp.Goodbye:
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

func TestErrorMessagesRealRouter(t *testing.T) {
	url, _ := startInteropRouter(t)
	ks := unrelatedKeystore(t)
	conn := func(args ...string) []string { return append(args, "--url", url, "--keystore", ks) }

	reg := startCbx(t, conn("register", "com.dup", "--echo", "-v")...)
	reg.waitStderr(t, "registered")
	_, errOut := cbxExit(t, exitError, conn("register", "com.dup", "--echo")...)
	wantError(t, errOut, `cbx: error: registering "com.dup": the router refused: wamp.error.procedure_already_exists`)

	// The router's own explanation follows its error URI.
	_, errOut = cbxExit(t, exitError, conn("register", "wamp.mine", "--echo")...)
	wantError(t, errOut, `cbx: error: registering "wamp.mine": the router refused: wamp.error.invalid_uri: register for restricted procedure URI wamp.mine`)

	_, errOut = cbxExit(t, exitWAMPError, conn("call", "com.nothing")...)
	wantError(t, errOut, `cbx: error: calling "com.nothing": wamp.error.no_such_procedure`)

	_, errOut = cbxExit(t, exitConnection, conn("call", "com.x", "--realm", "nosuchrealm")...)
	wantError(t, errOut, `cbx: error: joining realm "nosuchrealm": the router refused: wamp.error.no_such_realm`)

	_, errOut = cbxExit(t, exitConnection, "call", "com.x", "--url", "ws://127.0.0.1:1/ws", "--keystore", ks)
	wantError(t, errOut, `cbx: error: connecting to "ws://127.0.0.1:1/ws": connection refused`)
	if !strings.Contains(errOut, "cbx: hint: is a router listening there?") {
		t.Errorf("no hint:\n%s", errOut)
	}
}

func TestErrorMessagesRouterRefusals(t *testing.T) {
	url := refusingRouter(t)
	ks := unrelatedKeystore(t)
	conn := func(args ...string) []string { return append(args, "--url", url, "--keystore", ks) }

	_, errOut := cbxExit(t, exitError, conn("subscribe", "com.x")...)
	wantError(t, errOut, `cbx: error: subscribing to "com.x": the router refused: wamp.error.not_authorized: not for you`)
	_, errOut = cbxExit(t, exitError, conn("register", "com.x", "--echo")...)
	wantError(t, errOut, `cbx: error: registering "com.x": the router refused: wamp.error.not_authorized: not for you`)
	_, errOut = cbxExit(t, exitError, conn("publish", "com.x", "1", "--ack")...)
	wantError(t, errOut, `cbx: error: publishing to "com.x": the router refused: wamp.error.not_authorized: not for you`)
	out, errOut, code := cbxRun(t, "[1]\n", conn("publish", "com.x", "--stdin", "--ack")...)
	if code != exitError || out != "" {
		t.Errorf("publish --stdin: exit %d, stdout %q", code, out)
	}
	wantError(t, errOut, `cbx: error: stdin line 1: publishing to "com.x": the router refused: wamp.error.not_authorized: not for you`)
	// A CALL's error is the callee's (or the dealer's) answer, exit 7.
	_, errOut = cbxExit(t, exitWAMPError, conn("call", "com.x")...)
	wantError(t, errOut, `cbx: error: calling "com.x": wamp.error.not_authorized`)
}

func TestErrorMessagesSessionEnded(t *testing.T) {
	ks := unrelatedKeystore(t)
	_, errOut := cbxExit(t, exitConnection, "subscribe", "com.x", "--url", byeRouter(t, false), "--keystore", ks)
	wantError(t, errOut, `cbx: error: the router closed the session: wamp.close.system_shutdown: maintenance`)
	_, errOut = cbxExit(t, exitConnection, "subscribe", "com.x", "--url", byeRouter(t, true), "--keystore", ks)
	wantError(t, errOut, "cbx: error: the session ended: connection lost: close 1000 (normal)")
}

// Offline commands: a payload that does not open says so without a package prefix.
func TestErrorMessagesOffline(t *testing.T) {
	dir := t.TempDir()
	ks1, ks2 := filepath.Join(dir, "ks1"), filepath.Join(dir, "ks2")
	k1, k2 := filepath.Join(dir, "k1"), filepath.Join(dir, "k2")
	cbxOK(t, "", "keygen", "-o", k1)
	cbxOK(t, "", "keygen", "-o", k2)
	cbxOK(t, "", "--keystore", ks1, "keys", "add", "com.", "--single", k1)
	cbxOK(t, "", "--keystore", ks2, "keys", "add", "com.", "--single", k2)
	payload := strings.TrimSpace(cbxOK(t, "", "--keystore", ks1, "seal", "com.t", "1"))
	_, errOut := cbxExit(t, exitDecrypt, "--keystore", ks2, "open", "com.t", payload)
	wantError(t, errOut, "cbx: error: payload could not be decrypted (tampered, or sealed with another key)")
	_, errOut = cbxExit(t, exitURIMismatch, "--keystore", ks1, "open", "com.other", payload)
	wantError(t, errOut, `cbx: error: payload was sealed for "com.t" but arrived on "com.other" (trusted URI mismatch)`)
}
