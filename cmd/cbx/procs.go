package main

import (
	"os"
	"runtime"

	"github.com/spf13/cobra"
)

// annotationOneProc marks the commands that run on one P (runtime.GOMAXPROCS(1)) unless
// the GOMAXPROCS environment variable says otherwise: cbx publish and cbx subscribe.
//
// Their per-event work is a chain (read, seal or open, write) handed between two or three
// goroutines, never parallel work. With a P per core, each hand-off wakes an idle P on
// another thread (futex wake, a spinning M looking for work, the thread parked again),
// which on a 2-core machine shared with the router costs more CPU per event than the work
// itself saves by running beside it: measured with scripts/bench-e2e.sh (the commit that
// added this says by how much). An explicit GOMAXPROCS is always honoured, so a user can
// give them more.
const annotationOneProc = "cbx/one-proc"

func oneProc(c *cobra.Command) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[annotationOneProc] = "yes"
	return c
}

// ownsProcess is true when run is the whole process (main, and the test binary run as
// the cbx command), so that a command may set process-wide settings such as GOMAXPROCS;
// false for the Go tests that call run in-process.
var ownsProcess = false

// chooseProcs applies annotationOneProc to the command c that is about to run.
func chooseProcs(c *cobra.Command) {
	if ownsProcess && c.Annotations[annotationOneProc] != "" && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
