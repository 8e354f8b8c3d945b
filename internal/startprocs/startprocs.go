// Package startprocs runs a cbx process on one P (GOMAXPROCS 1) from the first package
// initialisers on, until the command that runs says how many it wants (cmd/cbx,
// chooseProcs).
//
// Most cbx commands want one P (publish, subscribe, call, register) or half of them
// (router), and used to lower GOMAXPROCS only once the command was known, after every
// package had been initialised on two or more Ps. Lowering it then is a stop-the-world
// that destroys the other Ps, and the main goroutine, which may by then run on one of
// them, has its allocation caches (a span per size class) handed back to the heap: on
// the 2-core test machine about 120 page faults and 0.3 ms of a one-shot `cbx publish`,
// and the initialisers ran with another P to wake for every goroutine they started.
// Lowered here, early in the initialisation order (this package needs only os and
// runtime), the other P has done next to nothing yet. The commands that want Go's
// default get it back ([Restore]); so does a test binary (cmd/cbx's TestMain).
//
// An explicit GOMAXPROCS in the environment is always honoured: nothing is lowered.
package startprocs

import (
	"os"
	"runtime"
)

// Default is the GOMAXPROCS Go chose for this process (CPU affinity, CPU quota), before
// this package lowered it.
var Default int

// lowered is whether this package set GOMAXPROCS to 1 and nothing has restored it since.
var lowered bool

func init() {
	Default = runtime.GOMAXPROCS(0)
	if Default > 1 && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
		lowered = true
	}
}

// Restore gives the process Go's default GOMAXPROCS back (and Go's updates of it as the
// CPU quota changes), if this package lowered it.
func Restore() {
	if lowered {
		lowered = false
		runtime.SetDefaultGOMAXPROCS()
	}
}

// Lowered reports whether the process still runs on the one P this package gave it.
func Lowered() bool { return lowered }
