package main

import (
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/cbx-wamp/cbx/internal/startprocs"
)

// annotationOneProc marks the commands that run on one P (runtime.GOMAXPROCS(1)) unless
// the GOMAXPROCS environment variable says otherwise: cbx publish, subscribe, call and
// register (and cbx bench call as the one caller of another process's procedure, which
// calls oneProcessor itself).
//
// Their per-event work is a chain (read, seal or open, write) handed between two or three
// goroutines, never parallel work; a caller or a callee spends its time waiting for the
// router, and each message wakes the process only for the read loop and the handler or
// the waiting caller to hand it to one another. With a P per core, each hand-off wakes an idle P on
// another thread (futex wake, a spinning M looking for work, the thread parked again),
// which on a 2-core machine shared with the router costs more CPU per event than the work
// itself saves by running beside it: measured with scripts/bench-e2e.sh (the commit that
// added this says by how much). An explicit GOMAXPROCS is always honoured, so a user can
// give them more.
const annotationOneProc = "cbx/one-proc"

func oneProc(c *cobra.Command) *cobra.Command { return annotate(c, annotationOneProc) }

// ownsProcess is true when run is the whole process (main, and the test binary run as
// the cbx command), so that a command may set process-wide settings such as GOMAXPROCS;
// false for the Go tests that call run in-process.
var ownsProcess = false

// annotationHalfProcs marks the commands that run on half the Ps Go would give them (at
// least one) unless the GOMAXPROCS environment variable says otherwise: cbx router.
//
// A routed event is a chain of hand-offs too (the connection's reader, nexus's session
// and broker goroutines, the subscriber's and the publisher's writers), and with a P per
// core each hand-off may wake an idle P on another thread. On a 2-core machine, with the
// clients in other processes, one P cut the router's CPU per event by about a fifth at
// the same throughput, also with four publishers and four subscribers (the commit that
// added this has the figures). The router's parallel work is per connection (reading,
// decoding, encoding, writing), so on larger machines it keeps half the Ps rather than
// one: enough for many connections, fewer idle ones to wake.
const annotationHalfProcs = "cbx/half-procs"

func halfProcs(c *cobra.Command) *cobra.Command { return annotate(c, annotationHalfProcs) }

// chooseProcs applies annotationOneProc or annotationHalfProcs to the command c that is
// about to run (nil if the arguments name none). The process has run on one P since
// package startprocs was initialised: a one-P command keeps it (no stop-the-world now),
// the others get Go's default back, or half of it (annotationHalfProcs), as do callers
// that do not own the process.
func chooseProcs(c *cobra.Command) {
	if !ownsProcess || os.Getenv("GOMAXPROCS") != "" {
		startprocs.Restore()
		return
	}
	switch {
	case c != nil && c.Annotations[annotationOneProc] != "":
		oneProcessor()
	case c != nil && c.Annotations[annotationHalfProcs] != "":
		runtime.GOMAXPROCS(max(1, startprocs.Default/2))
	default:
		startprocs.Restore()
	}
}

// annotationGCFloor marks the commands that keep a floor under the garbage collector's
// heap goal unless GOGC or GOMEMLIMIT is set: cbx router.
//
// The router's live heap is small (sessions, subscriptions, the frame cache) while every
// routed event allocates a few kilobytes of short-lived values (decoded messages, nexus's
// copies, encodings). With the default GOGC=100 the collector's goal is twice that small
// live heap (at least 4 MiB), so it runs dozens of times a second under load, and each
// cycle's fixed work (stack scans, mark workers, sweeping) was a large share of the
// router's CPU per event. gcBallast, a never-touched allocation without pointers, counts
// as live heap: the goal becomes twice (ballast + live heap), so about gcBallastSize more
// garbage is let accumulate between collections. Its pages are never written, so they
// cost no resident memory; what the router gains in CPU it pays in up to that much more
// garbage in memory, a fixed amount that does not grow with load or time. With a large
// live heap (full queues) the goal is GOGC=100's plus gcBallastSize.
const annotationGCFloor = "cbx/gc-floor"

const gcBallastSize = 32 << 20

var gcBallast []byte

func gcFloor(c *cobra.Command) *cobra.Command { return annotate(c, annotationGCFloor) }

// annotationClientGC marks the commands that run the garbage collector at
// clientGCPercent rather than GOGC=100 unless GOGC or GOMEMLIMIT is set: cbx publish,
// subscribe, call and register, and cbx bench, whose sessions do what theirs do (and
// whose numbers should be what they get; with the embedded router, it runs at the same
// percentage: `cbx bench pubsub --serializer msgpack --rounds 3` went from 113k/95k to
// 116k/104k msgs/s plain/sealed).
//
// The router's case (annotationGCFloor) on a smaller scale: a client's live heap is
// under a megabyte, while each event allocates one to three kilobytes (a sealed
// publisher's plaintext, box and Options; a subscriber's decoded EVENT and values), so
// that at GOGC=100's 4 MiB goal a sealed `publish --stdin` collected every ~1,600 events
// (GODEBUG=gctrace=1: 186 collections in 300,000 events, 5 % of its CPU). At 400 the
// goal is five times the live heap, at least 16 MiB: a fifth as many collections or
// fewer (34 instead of 186), for about 13 MiB more resident memory with a small live
// heap (scripts/router-memory.sh --steady 10000000: a subscriber's 16 MiB became 29 MiB,
// flat) and five times a large one (a keystore of tens of thousands of entries) rather
// than twice. Not a ballast as for the router: allocating one cost a one-shot
// `cbx publish` 0.1–0.7 ms at start, where setting the percentage costs under a
// microsecond.
const annotationClientGC = "cbx/client-gc"

const clientGCPercent = 400

// clientGC marks c and every command under it with annotationClientGC.
func clientGC(c *cobra.Command) *cobra.Command {
	for _, c := range allCommands(c) {
		annotate(c, annotationClientGC)
	}
	return c
}

// chooseGC applies annotationGCFloor or annotationClientGC to the command c that is
// about to run. A user's GOGC or GOMEMLIMIT is honoured as it is.
func chooseGC(c *cobra.Command) {
	if !ownsProcess || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	switch {
	case c.Annotations[annotationGCFloor] != "":
		gcBallast = make([]byte, gcBallastSize)
	case c.Annotations[annotationClientGC] != "":
		debug.SetGCPercent(clientGCPercent)
	}
}

// oneProcessor runs the Go scheduler on one P, unless the GOMAXPROCS environment variable
// is set (always honoured) or run is not the whole process (see ownsProcess).
func oneProcessor() {
	if ownsProcess && os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
