package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Colour is decided by the stream and NO_COLOR alone. CLICOLOR_FORCE makes termenv emit
// colour even into a buffer, so the test sees exactly what the gate lets through.
func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	t.Setenv("CLICOLOR_FORCE", "1")
	cases := []struct {
		tty, noColor, wantESC bool
	}{
		{tty: true, noColor: false, wantESC: true},
		{tty: true, noColor: true, wantESC: false},
		{tty: false, noColor: false, wantESC: false},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		u := newUI(&ioStreams{ErrOut: &buf, stderrTTY: c.tty, noColor: c.noColor})
		u.errorf("boom %q", "x")
		got := buf.String()
		if strings.Contains(got, "\x1b[") != c.wantESC {
			t.Errorf("tty=%v NO_COLOR=%v: %q (want escape codes: %v)", c.tty, c.noColor, got, c.wantESC)
		}
		if plain := stripANSI(got); plain != "cbx: error: boom \"x\"\n" {
			t.Errorf("text is %q", plain)
		}
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestExitCodeMapping(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("x"), exitError},
		{&usageError{errors.New("x")}, exitUsage},
		{fmt.Errorf("open: %w", box.ErrDecrypt), exitDecrypt},
		{box.ErrTooShort, exitDecrypt},
		{fmt.Errorf("x: %w", &e2e.URIMismatchError{Envelope: "a", Inner: "b"}), exitURIMismatch},
		// Decrypted, so authentic: not exit 3, whatever is wrong inside.
		{&e2e.PlaintextError{Reason: "not JSON"}, exitError},
		{fmt.Errorf("cannot open: %w", &e2e.PlaintextError{Value: &wamp.ValueError{Kind: wamp.ErrIntegerRange, Msg: "x"}}), exitError},
		{&usageError{fmt.Errorf("argument: %w", &wamp.ValueError{Kind: wamp.ErrInvalidUTF8, Msg: "x"})}, exitUsage},
		{&keystore.PermissionError{Path: "k", Mode: 0o644}, exitKey},
		{&keystore.ParseError{Path: "k", Err: errors.New("x")}, exitKey},
		{fmt.Errorf("k: %w", keygen.ErrMalformed), exitKey},
		{fmt.Errorf("k: %w", keygen.ErrLowOrder), exitKey},
		{fmt.Errorf("k: %w", keystore.ErrInvalidEntry), exitKey},
		// The codec's errors (internal/e2e), mapped here and nowhere else.
		{&e2e.NoKeyError{URI: "u", Keystore: "k"}, exitKey},
		{fmt.Errorf("cannot open: %w", &e2e.SideKeysError{URI: "u"}), exitKey},
		{&e2e.SealRefusedError{URI: "u", Err: &e2e.SideKeysError{URI: "u", Originating: true}}, exitKey},
		{&e2e.EmptyKeystoreError{URI: "u", Keystore: "k"}, exitKey},
		{&e2e.CannotReceiveError{Prefix: "p", Pattern: "u", Match: "exact", What: "events"}, exitKey},
		{fmt.Errorf("x: %w", &e2e.DowngradeError{URI: "u"}), exitDecrypt},
		{fmt.Errorf("x: %w", e2e.ErrDecrypt), exitDecrypt},
		// Decrypted, but with a retired generation: refused as if sealed with another key.
		{fmt.Errorf("x: %w", &e2e.RetiredKeyError{URI: "u", Prefix: "p.", Generation: 1}), exitDecrypt},
		{&keystore.ParseError{Path: "k", Err: &keystore.SyntaxError{Line: 1, Err: &keystore.VersionError{Version: 3}}}, exitKey},
		{&e2e.UnsupportedError{URI: "u", Option: "enc_algo"}, exitError},
		{keygen.ErrPrivateKeyFile, exitKey},
		{fmt.Errorf("k: %w", &keystore.IOError{Path: "k", Op: "cannot write it", Err: syscall.EROFS}), exitKey},
		{&keystore.IOError{Path: "k", Op: "cannot lock it", Err: syscall.EACCES}, exitKey},
		{&keystore.TooLargeError{Path: "k", Limit: 1}, exitKey},
		{withCode(exitWAMPError, errors.New("x")), exitWAMPError},
		{withCode(exitConnection, errors.New("x")), exitConnection},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), exitTimeout},
		{withCode(exitLost, fmt.Errorf("x: %w", withCode(exitTimeout, errors.New("deadline")))), exitLost},
		{fmt.Errorf("wait: %w", context.Canceled), exitInterrupted},
	}
	for _, c := range cases {
		if got := exitCodeFor(c.err); got != c.want {
			t.Errorf("exitCodeFor(%v) = %d, want %d", c.err, got, c.want)
		}
		// Every code a user can get is explained by `cbx help exit-codes`.
		if !strings.Contains("\n"+exitCodeTable, "\n  "+strconv.Itoa(c.want)+" ") {
			t.Errorf("exit code %d is not in `cbx help exit-codes`", c.want)
		}
	}
}
