package router

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestImportRules enforces the dependency rule of style.md §4: the router and the WAMP
// layer carry sealed payloads without being able to open them, so neither may depend,
// directly or through anything else, on the packages that hold keys or do crypto.
func TestImportRules(t *testing.T) {
	const module = "github.com/cbx-wamp/cbx/"
	forbidden := []string{module + "internal/box", module + "internal/keygen", module + "internal/keystore"}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, pkg := range []string{"./internal/router", "./internal/wamp"} {
		// Production dependencies, transitively, plus what the package's tests import.
		out, err := exec.Command(goTool, "list", "-C", "../..", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		testOut, err := exec.Command(goTool, "list", "-C", "../..", "-f",
			`{{join .TestImports "\n"}}{{"\n"}}{{join .XTestImports "\n"}}`, pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, testOut)
		}
		deps := strings.Fields(string(out) + "\n" + string(testOut))
		if len(deps) < 5 {
			t.Fatalf("go list %s returned too little to be trusted: %q", pkg, deps)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
