package testkit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatalf and Skipf instead of stopping the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recorder) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

// A missing peer skips the test on a developer's machine and fails it in CI, where the
// interop evidence must be produced; a present peer does neither.
func TestNeedPeer(t *testing.T) {
	missing := errors.New("no such file")
	for _, c := range []struct {
		ci                  string
		err                 error
		wantFatal, wantSkip bool
	}{
		{ci: "true", err: missing, wantFatal: true},
		{ci: "", err: missing, wantSkip: true},
		{ci: "false", err: missing, wantSkip: true},
		{ci: "true", err: nil},
		{ci: "", err: nil},
	} {
		t.Setenv("CI", c.ci)
		r := &recorder{TB: t}
		need(r, "the peer", c.err)
		if (r.fatal != "") != c.wantFatal || (r.skip != "") != c.wantSkip {
			t.Errorf("CI=%q err=%v: Fatalf %q, Skipf %q; want fatal %v, skip %v", c.ci, c.err, r.fatal, r.skip, c.wantFatal, c.wantSkip)
		}
		for _, msg := range []string{r.fatal, r.skip} {
			if msg != "" && (!strings.Contains(msg, "the peer") || !strings.Contains(msg, "no such file")) {
				t.Errorf("CI=%q: the message names neither the peer nor the reason: %q", c.ci, msg)
			}
		}
	}
}

// The peers this machine is meant to have (common setup: scripts/test.sh) are found, and
// what is returned can run them.
func TestNeedAutobahnPeers(t *testing.T) {
	py := NeedAutobahnPython(t)
	if py != AutobahnPython {
		t.Errorf("NeedAutobahnPython = %q, want %q", py, AutobahnPython)
	}
	node, dir := NeedAutobahnJS(t)
	if len(node) == 0 || !filepath.IsAbs(node[0]) {
		t.Fatalf("node command %q does not start with an absolute path", node)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "autobahn", "package.json")); err != nil {
		t.Errorf("AutobahnJS directory %q: %v", dir, err)
	}
}
