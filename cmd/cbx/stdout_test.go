package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A failed write to standard output loses data the user asked for (a publication ID, an
// event, a key), so every command that writes there fails with exit 1 and says so once,
// instead of exiting 0 (help, publish --ack) or with the bare system error. These run cbx
// as a user does, with stdout on /dev/full.

// startCbxToDevFull starts cbx with standard output on /dev/full (every write fails with
// ENOSPC) and the given standard input.
func startCbxToDevFull(t *testing.T, stdin string, args ...string) *bgProc {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	t.Cleanup(func() { full.Close() })
	p := &bgProc{name: "cbx " + strings.Join(args, " "), cmd: exec.Command(cbxPath(t), args...),
		stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), exited: make(chan struct{})}
	p.cmd.Env = interopEnv()
	p.cmd.Stdin = strings.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = full, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait() //nolint:errcheck // the exit code is read from ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill() //nolint:errcheck // it may have just exited
			<-p.exited
		}
	})
	return p
}

// unrelatedKeystore makes a keystore whose only entry covers none of the URIs the tests
// use: they run in plaintext, with a keystore that exists.
func unrelatedKeystore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ks, key := filepath.Join(dir, "ks"), filepath.Join(dir, "k.key")
	cbxOK(t, "", "keygen", "-o", key)
	cbxOK(t, "", "--keystore", ks, "keys", "add", "org.unrelated.", "--single", key)
	return ks
}

const stdoutFailure = "cbx: error: writing to standard output: no space left on device\n"

func TestEveryCommandFailsOnAFailedStdoutWrite(t *testing.T) {
	url, _ := startInteropRouter(t)
	dir := t.TempDir()
	ks := filepath.Join(dir, "ks")
	key := filepath.Join(dir, "k.key")
	cbxOK(t, "", "keygen", "-o", key)
	cbxOK(t, "", "--keystore", ks, "keys", "add", "com.sealed.", "--single", key)
	payload := strings.TrimSpace(cbxOK(t, "", "--keystore", ks, "seal", "com.sealed.t", "1"))
	conn := []string{"--url", url, "--keystore", ks}
	reg := startCbx(t, append([]string{"register", "com.plain.echo", "--echo", "-v"}, conn...)...)
	reg.waitStderr(t, "registered")

	cases := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"version"}},
		{"", []string{"--version"}},
		{"", []string{"help"}},
		{"", []string{"--help"}},
		{"", []string{"help", "exit-codes"}},
		{"", []string{"keys"}},
		{"", []string{"publish", "--help"}},
		{"", []string{"completion", "bash"}},
		{"", []string{"keygen"}},
		{"", []string{"keygen", "-y", key}},
		{"", []string{"--keystore", ks, "seal", "com.sealed.t", "1"}},
		{"", []string{"--keystore", ks, "open", "com.sealed.t", payload}},
		{"", []string{"--keystore", ks, "keys", "ls"}},
		{"", []string{"--keystore", ks, "keys", "ls", "--json"}},
		{"", []string{"--keystore", ks, "keys", "show", "com.sealed."}},
		{"", []string{"--keystore", ks, "keys", "show", "com.sealed.", "--json"}},
		{"", []string{"--keystore", ks, "keys", "explain", "com.sealed.t"}},
		{"", append([]string{"publish", "com.plain.t", "1", "--ack"}, conn...)},
		{"", append([]string{"call", "com.plain.echo", "1"}, conn...)},
	}
	for _, c := range cases {
		var name []string
		for i := 0; i < len(c.args) && len(name) < 3; i++ {
			switch a := c.args[i]; {
			case a == "--keystore" || a == "--url":
				i++
			case !strings.Contains(a, "/") && len(a) < 20:
				name = append(name, a)
			}
		}
		t.Run(strings.Join(name, " "), func(t *testing.T) {
			p := startCbxToDevFull(t, c.stdin, c.args...)
			code := p.wait(t)
			errOut := p.stderr.String()
			if code != exitError || !strings.Contains(errOut, stdoutFailure) || strings.Count(errOut, "cbx: error:") != 1 || strings.Contains(errOut, "/dev/stdout") {
				t.Fatalf("cbx %s: exit %d, stderr:\n%s\nwant exit 1 and this error alone:\n%s", strings.Join(c.args, " "), code, errOut, stdoutFailure)
			}
		})
	}
}

// publish --stdin --ack stops at the first ID it cannot write: the event was published
// (the hint says which), and no further input is read or published. The events already
// in flight in the window (--window) are waited for, and counted.
func TestPublishStdinAckStopsWhenStdoutFails(t *testing.T) {
	url, trace := startInteropRouter(t)
	ks := unrelatedKeystore(t)
	p := startCbxToDevFull(t, "[1]\n[2]\n[3]\n", "publish", "com.plain.lines", "--stdin", "--ack", "--window", "1", "--url", url, "--keystore", ks)
	code := p.wait(t)
	errOut := p.stderr.String()
	hint := regexp.MustCompile(`(?m)^cbx: hint: the event on stdin line 1 was published \(publication \d+\) but its ID could not be written\ncbx: hint: published: 1 of the 1 events sent \(up to line 1\); nothing after line 1 was sent$`)
	if code != exitError || !strings.Contains(errOut, stdoutFailure) || !hint.MatchString(errOut) {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if n := len(traceLines(trace.String(), "rx", "", "PUBLISH")); n != 1 {
		t.Fatalf("the router received %d PUBLISH, want 1:\n%s", n, trace)
	}

	// With the default window (through cbx router, whose default queue it announces:
	// maxAutoWindow), at most that many were sent when the first ID failed.
	url, trace = startInteropRouter(t)
	in := strings.Repeat("[1]\n", 3*maxAutoWindow)
	p = startCbxToDevFull(t, in, "publish", "com.plain.lines", "--stdin", "--ack", "--url", url, "--keystore", ks)
	code = p.wait(t)
	errOut = p.stderr.String()
	sent := len(traceLines(trace.String(), "rx", "", "PUBLISH"))
	want := fmt.Sprintf("cbx: hint: published: %d of the %d events sent (up to line %d); nothing after line %d was sent\n", sent, sent, sent, sent)
	if code != exitError || !strings.Contains(errOut, stdoutFailure) || !strings.Contains(errOut, want) || sent > maxAutoWindow {
		t.Fatalf("exit %d, %d PUBLISH received, stderr:\n%s\nwant at most %d and the hint:\n%s", code, sent, errOut, maxAutoWindow, want)
	}
}

// subscribe ends at the first event it cannot print, exit 1, rather than consuming events
// nobody sees: plaintext events, and sealed ones, whose args its line copies as text
// (wamp.Config.EventArgsJSON).
func TestSubscribeStopsWhenStdoutFails(t *testing.T) {
	url, _ := startInteropRouter(t)
	ks := unrelatedKeystore(t)
	keys := newInteropKeys(t)
	for _, c := range []struct{ topic, pubKS, subKS string }{
		{"com.plain.events", ks, ks},
		{secureNS + ".stdout", keys.origKS, keys.respKS},
	} {
		sub := startCbxToDevFull(t, "", "subscribe", c.topic, "-v", "--url", url, "--keystore", c.subKS)
		sub.waitStderr(t, "subscribed")
		for i := 1; i <= 3; i++ {
			cbxOK(t, "", "publish", c.topic, strconv.Itoa(i), "--ack", "--url", url, "--keystore", c.pubKS)
		}
		if code := sub.wait(t); code != exitError || !strings.HasSuffix(sub.stderr.String(), stdoutFailure) {
			t.Fatalf("%s: exit %d, stderr:\n%s", c.topic, code, sub.stderr)
		}
	}
}
