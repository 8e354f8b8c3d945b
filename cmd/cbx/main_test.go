package main

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"fmt"
	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/startprocs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run cbx in-process as the "cbx" command (age's cmd/age tests
// do the same), so scripts exercise exactly what a user runs, exit codes included.
//
// The Go tests run cbx (in-process and as a child) with a configuration directory of
// their own and without the developer's CBX_* variables, so that a context or keystore of
// the person running the tests never leaks into them.
func TestMain(m *testing.M) {
	testscript.Main(isolatedM{m}, map[string]func(){
		"cbx": func() { ownsProcess = true; os.Exit(run(os.Args[1:], systemStreams())) },
		// cbx-exits CODE ARGS... runs cbx ARGS and succeeds only if cbx exited with CODE,
		// because testscript's "! exec" checks only for a non-zero status.
		"cbx-exits": func() {
			ownsProcess = true
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
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor":  cmdWaitFor,
			"waitgone": cmdWaitGone,
			"repeat":   cmdRepeat,
		},
		Setup: func(env *testscript.Env) error {
			// Every script gets its own router (cbx's, in-process) on a free loopback port.
			srv, err := router.New(router.Config{Logger: log.New(io.Discard, "", 0)})
			if err != nil {
				return err
			}
			hs := httptest.NewServer(srv.Handler())
			env.Defer(func() {
				srv.Close()
				hs.Close()
			})
			env.Setenv("CBX_URL", "ws"+strings.TrimPrefix(hs.URL, "http")+"/ws")
			env.Setenv("HOME", env.WorkDir+"/home")
			env.Setenv("XDG_CONFIG_HOME", env.WorkDir+"/home/.config")
			env.Setenv("CBX_KEYSTORE", env.WorkDir+"/keystore")
			env.Setenv("NO_COLOR", "")
			return nil
		},
	})
}

// cmdWaitFor is "waitfor FILE REGEXP": it waits (up to 20 s) until FILE matches REGEXP,
// so a script can start a background subscriber and publish only once it is subscribed
// (cbx -v prints "cbx: subscribed to …" on stderr).
func cmdWaitFor(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfor FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _ := os.ReadFile(ts.MkAbs(args[0]))
		if re.Match(data) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s does not match %q after 20s; it holds:\n%s", args[0], args[1], data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cmdWaitGone is "waitgone FILE": it waits (up to 20 s) until FILE does not exist, e.g.
// a --ready-file withdrawn when the session it announced ended.
func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitgone FILE")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := os.Stat(ts.MkAbs(args[0]))
		if os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s still exists after 20s (%v)", args[0], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isolatedM runs the tests with an empty XDG_CONFIG_HOME of their own and no CBX_*
// variables, and removes the directory afterwards.
type isolatedM struct{ m *testing.M }

func (i isolatedM) Run() int {
	// The tests run on Go's default Ps, not the one P the process starts on.
	startprocs.Restore()
	dir, err := os.MkdirTemp("", "cbx-test-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "CBX_") {
			os.Unsetenv(name)
		}
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	return i.m.Run()
}
