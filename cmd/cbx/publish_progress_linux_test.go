package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/cbx-wamp/cbx/internal/router"
	"golang.org/x/sys/unix"
)

// publish's progress line with stderr on a terminal, as a person sees it: drawn by
// default for --repeat and for --stdin read from a file or pipe, redrawn in place
// (\r and erase-line) while the run lasts, and ended by the totals; not drawn with
// --progress=false, nor for --stdin typed on the terminal itself, where it would be
// drawn over the typing.
func TestPublishProgressOnATerminal(t *testing.T) {
	url, _ := serveRouterAt(t, "127.0.0.1:0", router.Config{})
	ks := emptyKeystore(t)
	input := strings.Repeat("[1]\n", 50)
	cases := []struct {
		name       string
		args       []string
		stdin      string // standard input from a pipe
		stdinTTY   bool   // standard input is the terminal, where input is typed
		wantTotals string // the last line; "": no progress at all
		wantRedraw bool   // the line was drawn while running (the run lasts > 200ms)
	}{
		{name: "repeat", args: []string{"x", "--repeat", "30", "--interval", "20ms"},
			wantTotals: "cbx: 30 events sent, 30 acknowledged in ", wantRedraw: true},
		{name: "repeat, --progress=false", args: []string{"x", "--repeat", "30", "--progress=false"}},
		{name: "stdin from a pipe", args: []string{"--stdin"}, stdin: input,
			wantTotals: "cbx: 50 events sent, 50 acknowledged in "},
		{name: "stdin typed on the terminal", args: []string{"--stdin"}, stdinTTY: true},
		{name: "stdin typed on the terminal, --progress", args: []string{"--stdin", "--progress"}, stdinTTY: true,
			wantTotals: "cbx: 3 events sent, 3 acknowledged in "},
	}
	cbx := cbxPath(t)
	totals := regexp.MustCompile(`\r\x1b\[K(cbx: [0-9,]+ events? sent, [0-9,]+ acknowledged in \d+(\.\d+)?s \([0-9,]+/s\))\r?\n\z`)
	redraw := regexp.MustCompile(`\A(\r\x1b\[Kcbx: [0-9,]+ events? sent, [0-9,]+ acknowledged, [0-9,]+/s)+\r\x1b\[Kcbx: 30 events sent`)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(cbx, append([]string{"publish", "org.p", "--url", url, "--keystore", ks}, c.args...)...)
			cmd.Env = colourFreeEnv()
			stderr := attachPTY(t, &cmd.Stderr)
			var out bytes.Buffer
			cmd.Stdout = &out
			if c.stdinTTY {
				ptmx, tty := openPTY(t)
				cmd.Stdin = tty
				// Three events typed, then end-of-input (^D at the start of a line).
				if _, err := io.WriteString(ptmx, "[1]\n[2]\n[3]\n\x04"); err != nil {
					t.Fatal(err)
				}
				go io.Copy(io.Discard, ptmx) //nolint:errcheck // the echo of the typing
			} else {
				cmd.Stdin = strings.NewReader(c.stdin)
			}
			err := cmd.Run()
			if f, ok := cmd.Stdin.(*os.File); ok {
				f.Close()
			}
			closeTTYs(cmd)
			got := readAll(t, stderr)
			if err != nil {
				t.Fatalf("cbx publish: %v\nstderr: %q", err, got)
			}
			if c.wantTotals == "" {
				if got != "" {
					t.Fatalf("stderr %q, want nothing", got)
				}
				return
			}
			m := totals.FindStringSubmatch(got)
			if m == nil || !strings.HasPrefix(m[1], c.wantTotals) {
				t.Fatalf("stderr %q: want it to end with the totals %q…", got, c.wantTotals)
			}
			if c.wantRedraw && !redraw.MatchString(got) {
				t.Fatalf("stderr %q: want the line redrawn in place while the run lasted", got)
			}
		})
	}
}

// openPTY opens a pseudo-terminal: its controller end, where the test types, and its
// terminal end, for the command's standard input.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}
