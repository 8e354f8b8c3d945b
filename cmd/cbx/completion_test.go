package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCompletionsAreFresh regenerates the completion scripts the way
// scripts/gen-completions.sh does and compares them with the committed ones, so a new
// command or flag cannot ship with stale completions.
func TestCompletionsAreFresh(t *testing.T) {
	for shell, file := range map[string]string{"bash": "cbx.bash", "zsh": "_cbx", "fish": "cbx.fish"} {
		out, errOut, code := cbxRun(t, "", "completion", shell)
		if code != 0 {
			t.Fatalf("cbx completion %s: exit %d: %s", shell, code, errOut)
		}
		committed, err := os.ReadFile(filepath.Join("..", "..", "completions", file))
		if err != nil {
			t.Fatal(err)
		}
		if out != string(committed) {
			t.Errorf("completions/%s is stale: run scripts/gen-completions.sh", file)
		}
	}
}
