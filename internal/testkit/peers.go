package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// AutobahnPython is Debian's python3, the interpreter python3-autobahn 22.7.1 is installed
// for (scripts/test.sh installs it with its cryptobox and serializer dependencies).
const AutobahnPython = "/usr/bin/python3"

// NeedAutobahnPython returns [AutobahnPython] when it can import Autobahn|Python 22.7.1
// with everything the interop tests use: the cryptobox KeyRing (PyNaCl, pytrie), the
// MessagePack and CBOR serializers and WAMP-CRA. Without it the test is skipped, or fails
// when CI=true: there the interop evidence must be produced, not skipped.
func NeedAutobahnPython(t testing.TB) string {
	t.Helper()
	need(t, "Debian's python3-autobahn 22.7.1 at "+AutobahnPython, pythonCheck())
	return AutobahnPython
}

var pythonCheck = sync.OnceValue(func() error {
	cmd := exec.Command(AutobahnPython, "-c",
		"import txaio; txaio.use_asyncio(); import autobahn, nacl, pytrie, msgpack, cbor2; "+
			"from autobahn.wamp.cryptobox import KeyRing; import autobahn.wamp.auth; "+
			"assert autobahn.__version__ == '22.7.1', autobahn.__version__")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
})

// NeedAutobahnJS returns the command that starts Node.js with a global WebSocket, which
// AutobahnJS needs (with --experimental-websocket on Node 20, where it is still behind a
// flag), and the directory whose node_modules hold AutobahnJS (the module's testdata/js,
// filled by `npm ci` in scripts/test.sh). Without them the test is skipped, or fails when
// CI=true.
func NeedAutobahnJS(t testing.TB) (node []string, dir string) {
	t.Helper()
	js, err := nodeCheck()
	need(t, "node with AutobahnJS in testdata/js/node_modules", err)
	return append([]string(nil), js.node...), js.dir
}

type nodeJS struct {
	node []string // node and its flags
	dir  string   // holds node_modules/autobahn
}

var nodeCheck = sync.OnceValues(func() (nodeJS, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nodeJS{}, err
	}
	if node, err = filepath.Abs(node); err != nil {
		return nodeJS{}, err
	}
	root, err := moduleRoot()
	if err != nil {
		return nodeJS{}, err
	}
	dir := filepath.Join(root, "testdata", "js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "autobahn", "package.json")); err != nil {
		return nodeJS{}, fmt.Errorf("AutobahnJS not installed (cd testdata/js && npm ci): %w", err)
	}
	hasWebSocket := func(argv ...string) bool {
		out, _ := exec.Command(node, append(argv, "-e", "process.stdout.write(typeof WebSocket)")...).Output()
		return string(out) == "function"
	}
	switch {
	case hasWebSocket():
		return nodeJS{[]string{node}, dir}, nil
	case hasWebSocket("--experimental-websocket"):
		return nodeJS{[]string{node, "--experimental-websocket"}, dir}, nil
	}
	return nodeJS{}, fmt.Errorf("node has no global WebSocket (Node ≥ 20 needed)")
})

// need skips the test when err says a peer is missing, or fails it when CI=true.
func need(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI (scripts/test.sh installs it): %v", what, err)
		return
	}
	t.Skipf("%s not available: %v", what, err)
}
