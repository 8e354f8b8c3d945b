package main

// Output rules, for every command:
//
//   - stdout carries data only (payloads, keys, JSON lines), so that it can be piped;
//   - everything addressed to a person goes to stderr: errors as "cbx: error: …", followed
//     by "cbx: hint: …" lines for the likely fix, warnings as "cbx: warning: …", and
//     progress or confirmation lines only when stderr is a terminal;
//   - messages start in lower case, have no final period, and quote user input with %q;
//   - colour only when the stream is a terminal and NO_COLOR is unset; all styling lives in
//     this file.

import (
	"fmt"
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles renders text for one stream: plain text unless that stream may have colour.
type styles struct {
	err, warn, hint, ok, dim, head lipgloss.Style
}

func newStyles(w io.Writer, tty, noColor bool) *styles {
	r := lipgloss.NewRenderer(w)
	if !tty || noColor {
		r.SetColorProfile(termenv.Ascii)
	}
	return &styles{
		err:  r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		warn: r.NewStyle().Foreground(lipgloss.Color("3")).Bold(true),
		hint: r.NewStyle().Foreground(lipgloss.Color("6")),
		ok:   r.NewStyle().Foreground(lipgloss.Color("2")),
		dim:  r.NewStyle().Faint(true),
		head: r.NewStyle().Bold(true),
	}
}

// stdoutStyles renders text for standard output (bench's table, subscribe's text
// format): colour only when standard output is a terminal.
func stdoutStyles(f *factory) *styles {
	var out io.Writer = f.io.Out
	if file, ok := f.io.outFile(); ok {
		out = file // for the renderer's terminal detection; writes still go through f.io.Out
	}
	return newStyles(out, f.io.stdoutTTY, f.io.noColor)
}

// ui writes the talk on stderr.
type ui struct {
	io *ioStreams
	st *styles
}

func newUI(s *ioStreams) *ui {
	return &ui{io: s, st: newStyles(s.ErrOut, s.stderrTTY, s.noColor)}
}

func (u *ui) errorf(format string, a ...any) {
	fmt.Fprintf(u.io.ErrOut, "cbx: %s %s\n", u.st.err.Render("error:"), fmt.Sprintf(format, a...))
}

func (u *ui) hintf(format string, a ...any) {
	fmt.Fprintf(u.io.ErrOut, "cbx: %s %s\n", u.st.hint.Render("hint:"), fmt.Sprintf(format, a...))
}

func (u *ui) warnf(format string, a ...any) {
	fmt.Fprintf(u.io.ErrOut, "cbx: %s %s\n", u.st.warn.Render("warning:"), fmt.Sprintf(format, a...))
}

// infof prints a confirmation or progress line, only for a person watching a terminal.
func (u *ui) infof(format string, a ...any) {
	if u.io.stderrTTY {
		fmt.Fprintf(u.io.ErrOut, "%s %s\n", u.st.ok.Render("✓"), fmt.Sprintf(format, a...))
	}
}

// noticef prints a progress line that the user asked for (-v/--verbose), terminal or not;
// scripts and tests wait for these lines, so their wording is stable.
func (u *ui) noticef(format string, a ...any) {
	fmt.Fprintf(u.io.ErrOut, "cbx: %s\n", fmt.Sprintf(format, a...))
}
