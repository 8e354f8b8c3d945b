package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFormatVersion(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "5a9da7f3c1e6e1a4f2c8d0e19b2ad1b5c0f4e7a9"
	for _, c := range []struct {
		name, linked string
		bi           *debug.BuildInfo
		want         string
	}{
		{"no build information", "", nil,
			"cbx (devel)\nrevision: unknown (the build has no VCS information: built outside a git checkout, or with -buildvcs=false)\ngo:       go1.26.8 linux/amd64"},
		{"a test binary", "", &debug.BuildInfo{Main: debug.Module{Path: "github.com/cbx-wamp/cbx", Version: "(devel)"}},
			"cbx (devel)\nrevision: unknown (the build has no VCS information: built outside a git checkout, or with -buildvcs=false)\ngo:       go1.26.8 linux/amd64"},
		{"a clean checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202120000-5a9da7f3c1e6"},
			Settings: vcs("-trimpath", "true", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-02T12:00:00Z", "vcs.modified", "false")},
			"cbx v0.0.0-20261202120000-5a9da7f3c1e6\nrevision: " + rev + "\ndate:     2026-12-02T12:00:00Z\ngo:       go1.26.8 linux/amd64"},
		{"uncommitted changes", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202120000-5a9da7f3c1e6+dirty"},
			Settings: vcs("vcs.revision", rev, "vcs.time", "2026-12-02T12:00:00Z", "vcs.modified", "true")},
			"cbx v0.0.0-20261202120000-5a9da7f3c1e6+dirty\nrevision: " + rev + " (with uncommitted changes)\ndate:     2026-12-02T12:00:00Z\ngo:       go1.26.8 linux/amd64"},
		{"a release (-ldflags -X main.version)", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", rev, "vcs.time", "2026-12-02T12:00:00Z", "vcs.modified", "false")},
			"cbx v1.2.3\nrevision: " + rev + "\ndate:     2026-12-02T12:00:00Z\ngo:       go1.26.8 linux/amd64"},
	} {
		if got := formatVersion(c.linked, c.bi, "go1.26.8", "linux/amd64"); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestVersionOfABuiltBinary builds cbx as a user does in a git checkout (go build adds
// the VCS stamp there) and checks that `cbx version` names the revision and commit date
// git reports. A test binary carries no VCS stamp, hence the build. It builds in a clone
// of this checkout's HEAD: the go command recognizes a checkout only by a .git
// directory, so it stamps nothing in a `git worktree` (whose .git is a file), and a clone
// is also clean whatever the work tree holds.
func TestVersionOfABuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cbx")
	}
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("not a git checkout, or no git (git %s: %v): nothing to stamp", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	top := git(".", "rev-parse", "--show-toplevel")
	head := git(".", "rev-parse", "HEAD")
	clone := filepath.Join(t.TempDir(), "src")
	if out, err := exec.Command("git", "clone", "-q", "--shared", "--no-checkout", top, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	if out, err := exec.Command("git", "-C", clone, "checkout", "-q", "--detach", head).CombinedOutput(); err != nil {
		t.Fatalf("git checkout: %v\n%s", err, out)
	}
	ct, err := strconv.ParseInt(git(clone, "log", "-1", "--format=%ct"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cbx")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/cbx")
	build.Dir = clone
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("cbx version: %v", err)
	}
	// The module version the go command derives from git: a pseudo-version naming the
	// commit (its form depends on the tags before it), or the tag at HEAD.
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	wantFirst := got[0]
	if !strings.HasPrefix(wantFirst, "cbx v") || !strings.HasSuffix(wantFirst, "-"+head[:12]) {
		wantFirst = "cbx v…-" + head[:12]
		if tag, err := exec.Command("git", "-C", clone, "describe", "--exact-match", "--tags").Output(); err == nil {
			wantFirst = "cbx " + strings.TrimSpace(string(tag))
		}
	}
	want := []string{
		wantFirst,
		"revision: " + head,
		"date:     " + time.Unix(ct, 0).UTC().Format(time.RFC3339),
		"go:       " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
	}
	if !slices.Equal(got, want) {
		t.Errorf("cbx version printed\n%s\nwant\n%s", out, strings.Join(want, "\n"))
	}
	again, err := exec.Command(bin, "--version").Output()
	if err != nil || string(again) != string(out) {
		t.Errorf("cbx --version printed %q (%v), want what cbx version printed", again, err)
	}
}
