package main

import (
	"os"
	"runtime"
)

// ownProcess is set by main: only cbx running as its own process chooses its GOMAXPROCS.
// The tests run the commands inside the test binary, whose scheduler is the tests'.
var ownProcess bool

// oneProcessor makes the Go scheduler run goroutines on one processor (GOMAXPROCS 1),
// unless the GOMAXPROCS environment variable is set, which is always honoured.
//
// Why: cbx call and cbx register (and cbx bench call as one caller of somebody else's
// procedure) hold one session that spends its time waiting for the router. Each message
// wakes the process, and the goroutines that take it in turn (the read loop, the handler
// or the waiting caller) hand it to one another. With a processor per core the Go
// runtime answers each such hand-off by waking a second thread to look for work, which
// finds none and sleeps again: on the 2-core machines this project is measured on that
// made about half of the context switches of a caller and of a callee, and the CPU it
// burns is taken from the router and the other end, which share the cores. With one
// processor the hand-offs stay on the thread that woke up. Measured with sealed calls
// through cbx router, caller and callee each in its own process (the commit that added
// this has the figures): fewer context switches and less CPU per call, a higher call
// rate, and no worse a tail. A command that would use more than one core (cbx publish
// and cbx subscribe pipelines, benches that run several sessions or the router in one
// process) keeps Go's default, one processor per core, and so does cbx router, which
// serves many clients at once; one processor spares it thread wake-ups but did not
// shorten the round trip of calls one at a time (docs/bench.md has the figures): that is
// the operator's choice, with GOMAXPROCS.
func oneProcessor() {
	if !ownProcess || os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(1)
}
