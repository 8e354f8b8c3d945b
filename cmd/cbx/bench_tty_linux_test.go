package main

import (
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// cbx bench on a terminal, as a person runs it: the progress line on stderr (rewritten in
// place, erased at the end) and the table's header in bold on stdout. With stderr piped
// there is no progress line, and with stdout piped no colour; NO_COLOR keeps the table
// plain on a terminal too. The embedded router serves (the environment names none).
func TestBenchOnATerminal(t *testing.T) {
	cases := []struct {
		name                 string
		stdoutTTY, stderrTTY bool
		env                  []string
		wantProgress         bool
		wantBold             bool
	}{
		{name: "terminal", stdoutTTY: true, stderrTTY: true, wantProgress: true, wantBold: true},
		{name: "NO_COLOR", stdoutTTY: true, stderrTTY: true, env: []string{"NO_COLOR=1"}, wantProgress: true},
		{name: "stdout piped", stderrTTY: true, wantProgress: true},
		{name: "stderr piped", stdoutTTY: true, wantBold: true},
	}
	cbx := cbxPath(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(cbx, "bench", "pubsub", "--msgs", "2000", "--warmup", "0", "--mode", "plain")
			cmd.Env = append(colourFreeEnv(), c.env...)
			var stdout, stderr io.Reader
			var pipeOut, pipeErr bytes.Buffer
			if c.stderrTTY {
				stderr = attachPTY(t, &cmd.Stderr)
			} else {
				cmd.Stderr, stderr = &pipeErr, &pipeErr
			}
			if c.stdoutTTY {
				stdout = attachPTY(t, &cmd.Stdout)
			} else {
				cmd.Stdout, stdout = &pipeOut, &pipeOut
			}
			err := cmd.Run()
			closeTTYs(cmd)
			out, errOut := readAll(t, stdout), readAll(t, stderr)
			if err != nil {
				t.Fatalf("cbx bench pubsub: %v\nstdout:\n%s\nstderr:\n%q", err, out, errOut)
			}
			progress := regexp.MustCompile(`^\r\x1b\[Kcbx: plain: [0-9,]+ of 2,000 events received \(\d+ %\)`).MatchString(errOut)
			erased := strings.HasSuffix(errOut, "\r\x1b[K")
			if progress != c.wantProgress || c.wantProgress && !erased || !c.wantProgress && errOut != "" {
				t.Errorf("stderr %q: progress line %v (erased at the end: %v), want %v", errOut, progress, erased, c.wantProgress)
			}
			if bold := strings.Contains(out, "\x1b[1mpayload"); bold != c.wantBold || !c.wantBold && strings.Contains(out, "\x1b[") {
				t.Errorf("stdout %q: bold header %v, want %v", out, bold, c.wantBold)
			}
			if !strings.Contains(stripANSI(out), "cbx bench pubsub: 2,000 events of 100 bytes, 1 publisher → 1 subscriber, json, window 64, through an embedded cbx router") {
				t.Errorf("stdout has no headline:\n%s", out)
			}
		})
	}
}
