package main

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/term"
)

// ioStreams are cbx's standard streams and what is known about them. Tests build one from
// buffers; nothing else in cmd/cbx touches os.Stdin/Stdout/Stderr directly.
type ioStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	// noColor is true when NO_COLOR is set (https://no-color.org), whatever the terminal.
	noColor bool
}

func systemStreams() *ioStreams {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	return &ioStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY: isTTY(os.Stdin), stdoutTTY: isTTY(os.Stdout), stderrTTY: isTTY(os.Stderr),
		noColor: os.Getenv("NO_COLOR") != "",
	}
}

// canPrompt reports whether a question can be asked and answered interactively.
func (s *ioStreams) canPrompt() bool { return s.stdinTTY && s.stderrTTY }

// outFile is standard output as a file, when it is one (keygen checks who can read it).
func (s *ioStreams) outFile() (*os.File, bool) {
	w := s.Out
	if sw, ok := w.(*stdoutWriter); ok {
		w = sw.w
	}
	f, ok := w.(*os.File)
	return f, ok
}

// stdoutWriter is standard output as cbx's commands see it. Data written there is what the
// user asked for (an event, a publication ID, a key), so a write that fails loses it: the
// writer remembers the first failure, refuses every later write with it (no partial
// output after a gap), and run turns it into exit 1 even for a command that did not look
// at the error, such as cobra printing help. Commands that write in a loop (subscribe,
// publish --stdin --ack, call --progress) stop at the first failed write.
type stdoutWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (s *stdoutWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	s.err = err
	return n, err
}

// failure is the first failed write, or nil.
func (s *stdoutWriter) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// stdoutError is a failed write to standard output (exit 1).
type stdoutError struct{ err error }

func (e *stdoutError) Error() string {
	// The system's reason is what tells: "write /dev/stdout:" only repeats what we say.
	err := e.err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return "writing to standard output: " + err.Error()
}

func (e *stdoutError) Unwrap() error { return e.err }
