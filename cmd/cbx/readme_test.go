package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's shell examples are run as they are, so that they cannot drift from cbx:
// the CI recipe (section "CI"), and the Quickstart followed by the Sessions example. cbx
// is the test binary's copy that testscript.Main put on PATH (it runs cbx's own run).

// readmeWait bounds a README script: each command in it has a --timeout of its own or
// ends by itself, so this only catches a script that hangs.
const readmeWait = 2 * time.Minute

func readReadme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readmeBlock returns the first fenced code block of language lang after the line
// heading.
func readmeBlock(t *testing.T, readme, heading, lang string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no heading %q", heading)
	}
	rest := readme[i:]
	open := "\n```" + lang + "\n"
	j := strings.Index(rest, open)
	if j < 0 {
		t.Fatalf("README: no ```%s block after %q", lang, heading)
	}
	rest = rest[j+len(open):]
	k := strings.Index(rest, "\n```\n")
	if k < 0 {
		t.Fatalf("README: the ```%s block after %q does not end", lang, heading)
	}
	return rest[:k+1]
}

// shownOutput finds the output lines a README block shows: comment lines "# X" on their
// own where X is a JSON object, a ws:// URL or a number; "…" stands for any text.
func shownOutput(block string) []*regexp.Regexp {
	var out []*regexp.Regexp
	shown := regexp.MustCompile(`^# (\{.*|ws://\S+|[0-9]+)$`)
	for _, l := range strings.Split(block, "\n") {
		m := shown.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		parts := strings.Split(m[1], "…")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		out = append(out, regexp.MustCompile(`(?m)^`+strings.Join(parts, `.*`)+`$`))
	}
	return out
}

// runReadmeScript runs script with bash in dir, as its own process group, with cbx on
// PATH, a clean environment (no CBX_ variables) and TMPDIR and HOME inside dir; argv
// goes before bash (e.g. a namespace wrapper). It returns stdout and stderr, failing the
// test when the script fails, hangs, or leaves a process of its group running.
func runReadmeScript(t *testing.T, dir, script string, wrap ...string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "readme.sh")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string{}, wrap...), "bash", path)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = interopEnv("PATH="+filepath.Dir(cbxPath(t))+":"+os.Getenv("PATH"), "TMPDIR="+tmp, "HOME="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	defer syscall.Kill(-pgid, syscall.SIGKILL) // whatever is left, after the checks below
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the README script failed: %v\nstdout:\n%s\nstderr:\n%s\nscript:\n%s", err, stdout.String(), stderr.String(), script)
		}
	case <-time.After(readmeWait):
		t.Fatalf("the README script still runs after %v\nstdout:\n%s\nstderr:\n%s", readmeWait, stdout.String(), stderr.String())
	}
	// Nothing it started may outlive it (the router above all).
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the README script left processes running (kill -0 of its group: %v)", err)
	}
	return stdout.String(), stderr.String()
}

// The CI section's recipe: it passes, says so, and leaves no process and no file (its
// mktemp directory) behind.
func TestReadmeCIRecipe(t *testing.T) {
	block := readmeBlock(t, readReadme(t), "## CI: a smoke test without sleep", "bash")
	for _, must := range []string{"--listen 127.0.0.1:0", "--url-file", "cbx wait", "--ready-file", "trap "} {
		if !strings.Contains(block, must) {
			t.Errorf("the CI recipe no longer uses %q", must)
		}
	}
	if strings.Contains(block, "sleep") {
		t.Errorf("the CI recipe sleeps")
	}
	dir := t.TempDir()
	out, errOut := runReadmeScript(t, dir, block)
	if !strings.Contains(out, "smoke test passed\n") {
		t.Errorf("no success line; stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	left, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(left) != 0 {
		t.Errorf("the recipe left files in TMPDIR: %v %v", left, err)
	}
}

// The Quickstart and the Sessions example, one after the other in one directory as a
// reader would paste them (the Quickstart's `go build` line is replaced by the binary
// under test), under set -euo pipefail: every command succeeds, every output the README
// shows appears, and no process is left. The Sessions example uses cbx router's default
// port, 8080: it runs in a network namespace of its own when the system allows one
// (unshare -rn), else only when that port is free here.
func TestReadmeSessions(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("jq is required in CI (scripts/test.sh installs it): %v", err)
		}
		t.Skipf("jq not available (the README's register example uses it): %v", err)
	}
	readme := readReadme(t)
	quick := readmeBlock(t, readme, "## Quickstart", "sh")
	sessions := readmeBlock(t, readme, "## Sessions: publish, subscribe, call, register", "sh")
	var kept []string
	for _, l := range strings.Split(quick, "\n") {
		if strings.HasPrefix(l, "CGO_ENABLED=0 go build ") {
			continue
		}
		kept = append(kept, l)
	}
	if len(kept) == len(strings.Split(quick, "\n")) {
		t.Fatalf("the Quickstart no longer starts with `CGO_ENABLED=0 go build`; this test replaces that line")
	}
	if strings.Contains(sessions, "sleep") {
		t.Errorf("the Sessions example sleeps")
	}
	dir := t.TempDir()
	// ./cbx is the test binary itself, which runs as cbx when so named (testscript.Main).
	if err := os.Symlink(cbxPath(t), filepath.Join(dir, "cbx")); err != nil {
		t.Fatal(err)
	}
	script := "set -euo pipefail\n" + strings.Join(kept, "\n") + "\n" + sessions

	var wrap []string
	if exec.Command("unshare", "-rn", "ip", "link", "set", "lo", "up").Run() == nil {
		// Its own loopback, where nothing else listens on 8080; lo starts down there.
		script = "ip link set lo up\n" + script
		wrap = []string{"unshare", "-rn"}
	} else if !portFree("127.0.0.1:8080") {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run the Sessions example: no network namespace (unshare -rn) and 127.0.0.1:8080 is in use")
		}
		t.Skip("no network namespace (unshare -rn) and 127.0.0.1:8080 is in use")
	}
	out, errOut := runReadmeScript(t, dir, script, wrap...)
	shown := shownOutput(quick + sessions)
	if len(shown) < 5 {
		t.Fatalf("found only %d shown outputs in the README blocks", len(shown))
	}
	for _, re := range shown {
		if !re.MatchString(out) {
			t.Errorf("the README shows output %s, which the commands did not print", re)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
}

// portFree reports whether addr can be listened on now.
func portFree(addr string) bool {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// buildFlags are how cbx is built (README, "Building cbx"): the README's Quickstart, the
// demo and the benchmark scripts build it so, and the test script tests it so.
var buildFlags = []string{"CGO_ENABLED=0", "codec.notfastpath"}

func TestEveryBuildIsTheREADMEs(t *testing.T) {
	quick := readmeBlock(t, readReadme(t), "## Quickstart", "sh")
	for _, src := range []struct{ name, text string }{
		{"README's Quickstart", quick},
		{"scripts/demo.sh", readRepoFile(t, "scripts/demo.sh")},
		{"scripts/lib.sh", readRepoFile(t, "scripts/lib.sh")},
		{"scripts/test.sh", readRepoFile(t, "scripts/test.sh")},
	} {
		for _, f := range buildFlags {
			if !strings.Contains(src.text, f) {
				t.Errorf("%s does not build cbx with %s", src.name, f)
			}
		}
	}
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
