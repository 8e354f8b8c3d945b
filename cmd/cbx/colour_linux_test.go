package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestColourOnATerminal runs cbx with its standard streams on a pseudo-terminal, the way
// a person sees it, so the whole chain is tested: systemStreams' terminal detection and
// NO_COLOR reading, and ui's gate. Under testscript stderr is never a terminal, so the
// scripts can only show the absence of colour (cli.txtar); this test shows it appears
// where it should. Colour is decided by stderr alone (that is where the talk goes) and
// NO_COLOR, set to anything but the empty string (https://no-color.org).
//
// termenv, under lipgloss, also honours NO_COLOR and finds no colour in a pipe by itself,
// so those cases hold cbx to the behaviour whichever layer provides it; CLICOLOR_FORCE,
// which makes termenv colour anything, shows that cbx's own gate keeps a pipe plain.
// TestColourOnlyOnATerminalWithoutNoColor tests the gate alone.
func TestColourOnATerminal(t *testing.T) {
	cases := []struct {
		name                 string
		stdoutTTY, stderrTTY bool
		env                  []string
		wantColour           bool
	}{
		{name: "terminal", stdoutTTY: true, stderrTTY: true, wantColour: true},
		{name: "stderr terminal", stderrTTY: true, wantColour: true},
		{name: "NO_COLOR", stdoutTTY: true, stderrTTY: true, env: []string{"NO_COLOR=1"}},
		{name: "empty NO_COLOR", stdoutTTY: true, stderrTTY: true, env: []string{"NO_COLOR="}, wantColour: true},
		{name: "stderr piped", stdoutTTY: true},
		{name: "stderr piped, CLICOLOR_FORCE", stdoutTTY: true, env: []string{"CLICOLOR_FORCE=1"}},
	}
	cbx := cbxPath(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(cbx, "frobnicate")
			cmd.Env = append(colourFreeEnv(), c.env...)
			var stderr, stdout io.Reader
			var pipeErr, pipeOut bytes.Buffer
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
			if code := cmd.ProcessState.ExitCode(); code != exitUsage {
				t.Fatalf("cbx frobnicate: exit %d (%v), want %d", code, err, exitUsage)
			}
			closeTTYs(cmd)
			got := readAll(t, stderr)
			if out := readAll(t, stdout); out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if hasColour := strings.Contains(got, "\x1b["); hasColour != c.wantColour {
				t.Errorf("stderr %q: colour %v, want %v", got, hasColour, c.wantColour)
			}
			if plain := stripANSI(strings.ReplaceAll(got, "\r\n", "\n")); !strings.HasPrefix(plain, "cbx: error: unknown command \"frobnicate\" for \"cbx\"\n") {
				t.Errorf("stderr is %q", plain)
			}
		})
	}
}

// colourFreeEnv is the test's environment without anything that decides colour, and a
// terminal type that has colours. CI is removed too: termenv treats every stream as a
// non-terminal when it is set.
func colourFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "CBX_"), name == "NO_COLOR", name == "CLICOLOR", name == "CLICOLOR_FORCE",
			name == "CI", name == "TERM", name == "COLORTERM":
		default:
			env = append(env, kv)
		}
	}
	return append(env, "TERM=xterm-256color")
}

// attachPTY opens a pseudo-terminal, sets its terminal end as *stream and returns its
// controller end, from which everything written to the stream can be read.
func attachPTY(t *testing.T, stream *io.Writer) io.Reader {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the pseudo-terminal: %v", err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	*stream = tty
	// Read while cbx writes, so that a full terminal buffer can never block it.
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&out, ptmx) //nolint:errcheck // ends with EIO once the terminal end is closed
	}()
	return &ptyOutput{out: &out, done: done}
}

// ptyOutput is what was written to a pseudo-terminal, readable once its terminal end is
// closed everywhere.
type ptyOutput struct {
	out  *bytes.Buffer
	done chan struct{}
}

func (p *ptyOutput) Read(b []byte) (int, error) {
	<-p.done
	return p.out.Read(b)
}

// closeTTYs closes the test's copies of the terminal ends given to cmd, so that reading
// the controller ends stops once cbx has exited.
func closeTTYs(cmd *exec.Cmd) {
	for _, w := range []io.Writer{cmd.Stdout, cmd.Stderr} {
		if f, ok := w.(*os.File); ok {
			f.Close()
		}
	}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
