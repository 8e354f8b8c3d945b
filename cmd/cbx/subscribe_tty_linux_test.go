package main

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/router"
)

// cbx subscribe with its standard output on a terminal, as a person runs it: the text
// format by default, in colour (the time faint, the topic bold, "plain" in the warning
// colour), and plain text under NO_COLOR; with standard output piped, the JSON line, with
// no colour whatever stderr is; --format json on a terminal is the JSON line, uncoloured.
// Under testscript standard output is never a terminal, so only this test can show it.
func TestSubscribeTextOnATerminal(t *testing.T) {
	cases := []struct {
		name       string
		stdoutTTY  bool
		env        []string
		args       []string
		wantText   bool
		wantColour bool
	}{
		{name: "terminal", stdoutTTY: true, wantText: true, wantColour: true},
		{name: "NO_COLOR", stdoutTTY: true, env: []string{"NO_COLOR=1"}, wantText: true},
		{name: "stdout piped", wantText: false},
		{name: "stdout piped, --format text", args: []string{"--format", "text"}, wantText: true},
		{name: "terminal, --format json", stdoutTTY: true, args: []string{"--format", "json"}, wantText: false},
	}
	url, _ := serveRouterAt(t, "127.0.0.1:0", router.Config{})
	ks := emptyKeystore(t)
	cbx := cbxPath(t)
	text := regexp.MustCompile(`\A\d\d:\d\d:\d\d\.\d{3} org\.t plain "hello" 42 k="v"\r?\n\z`)
	jsonLine := regexp.MustCompile(`\A\{"topic":"org\.t","publication":\d+,"sealed":false,"args":\["hello",42\],"kwargs":\{"k":"v"\}\}\r?\n\z`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ready := filepath.Join(t.TempDir(), "sub.ready")
			cmd := exec.Command(cbx, append([]string{"subscribe", "org.t", "--count", "1", "--timeout", "30s",
				"--url", url, "--keystore", ks, "--ready-file", ready}, c.args...)...)
			cmd.Env = append(colourFreeEnv(), c.env...)
			var stdout io.Reader
			var pipeOut, pipeErr bytes.Buffer
			cmd.Stderr = &pipeErr
			if c.stdoutTTY {
				stdout = attachPTY(t, &cmd.Stdout)
			} else {
				cmd.Stdout, stdout = &pipeOut, &pipeOut
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			cbxExit(t, exitOK, "wait", "--file", ready, "--timeout", "20s")
			cbxExit(t, exitOK, "publish", "org.t", "hello", "42", "-k", "k=v", "--ack", "--url", url, "--keystore", ks)
			err := <-done
			closeTTYs(cmd)
			out := readAll(t, stdout)
			if err != nil {
				t.Fatalf("cbx subscribe: %v\nstdout: %q\nstderr: %s", err, out, pipeErr.String())
			}
			if hasColour := strings.Contains(out, "\x1b["); hasColour != c.wantColour {
				t.Errorf("stdout %q: colour %v, want %v", out, hasColour, c.wantColour)
			}
			plain := stripANSI(out)
			if c.wantText && !text.MatchString(plain) || !c.wantText && !jsonLine.MatchString(plain) {
				t.Errorf("stdout %q (without colour %q): want the %s line", out, plain, map[bool]string{true: "text", false: "JSON"}[c.wantText])
			}
			if c.wantColour {
				// The words are styled, not just the line: "plain" stands out, the topic too.
				for _, word := range []string{"plain", "org.t"} {
					if !regexp.MustCompile(`\x1b\[[0-9;]+m` + regexp.QuoteMeta(word) + `\x1b\[0m`).MatchString(out) {
						t.Errorf("stdout %q: %q is not styled", out, word)
					}
				}
			}
		})
	}
}
