package main

import (
	"io"
	"os"

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
