package startprocs

import (
	"os"
	"runtime"
	"testing"
)

// The package's init has run in this test binary as in cbx: one P until Restore, then
// Go's default again; an explicit GOMAXPROCS leaves everything as Go set it.
func TestLowerAndRestore(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		if Lowered() || runtime.GOMAXPROCS(0) != Default {
			t.Fatalf("GOMAXPROCS=%s in the environment, yet lowered=%v, GOMAXPROCS %d (Go's %d)",
				os.Getenv("GOMAXPROCS"), Lowered(), runtime.GOMAXPROCS(0), Default)
		}
		return
	}
	if Default < 2 {
		t.Skipf("Go chose %d P: nothing to lower", Default)
	}
	if !Lowered() || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("after init: lowered=%v, GOMAXPROCS %d, want true, 1", Lowered(), runtime.GOMAXPROCS(0))
	}
	Restore()
	if Lowered() || runtime.GOMAXPROCS(0) != Default {
		t.Fatalf("after Restore: lowered=%v, GOMAXPROCS %d, want false, %d", Lowered(), runtime.GOMAXPROCS(0), Default)
	}
	Restore() // a second call changes nothing
	if runtime.GOMAXPROCS(0) != Default {
		t.Fatalf("after a second Restore: GOMAXPROCS %d, want %d", runtime.GOMAXPROCS(0), Default)
	}
}
