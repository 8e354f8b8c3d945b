package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run cbx in-process as the "cbx" command (age's cmd/age tests
// do the same), so scripts exercise exactly what a user runs, exit codes included.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cbx": func() { os.Exit(run(os.Args[1:], systemStreams())) },
		// cbx-exits CODE ARGS... runs cbx ARGS and succeeds only if cbx exited with CODE,
		// because testscript's "! exec" checks only for a non-zero status.
		"cbx-exits": func() {
			want, err := strconv.Atoi(os.Args[1])
			if err != nil {
				fmt.Fprintln(os.Stderr, "cbx-exits: first argument must be the expected exit code")
				os.Exit(99)
			}
			if got := run(os.Args[2:], systemStreams()); got != want {
				fmt.Fprintf(os.Stderr, "cbx-exits: cbx exited %d, want %d\n", got, want)
				os.Exit(99)
			}
			os.Exit(0)
		},
	})
}

// TestScripts runs the CLI behaviour scripts in testdata/script. Each gets its own
// keystore, HOME and config directory, so nothing leaks between scripts or to the user's.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir+"/home")
			env.Setenv("XDG_CONFIG_HOME", env.WorkDir+"/home/.config")
			env.Setenv("CBX_KEYSTORE", env.WorkDir+"/keystore")
			env.Setenv("NO_COLOR", "")
			return nil
		},
	})
}
