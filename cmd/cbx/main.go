// Command cbx sends and inspects end-to-end encrypted WAMP payloads: Crossbar.io's and
// Autobahn|Python's "cryptobox" scheme (NaCl box, keys chosen per URI), from the shell.
//
// main is thin on purpose: everything happens in run, which returns the exit code, so the
// tests (testscript) can run cbx in-process and defers always run.
package main

import "os"

func main() {
	ownProcess = true
	os.Exit(run(os.Args[1:], systemStreams()))
}
