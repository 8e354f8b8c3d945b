package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
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

// A flag another command adds later gets its value completion by name: --format's
// values (json, text, raw) are registered wherever a --format flag exists.
func TestValueCompletionsByFlagName(t *testing.T) {
	streams := &ioStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	f := &factory{io: streams, ui: newUI(streams), getenv: func(string) string { return "" }}
	root := &cobra.Command{Use: "cbx"}
	withFormat := &cobra.Command{Use: "later", Run: func(*cobra.Command, []string) {}}
	withFormat.Flags().String("format", "", "")
	withOwn := &cobra.Command{Use: "own", Run: func(*cobra.Command, []string) {}}
	withOwn.Flags().String("format", "", "")
	own := cobra.FixedCompletions([]cobra.Completion{"mine"}, cobra.ShellCompDirectiveNoFileComp)
	if err := withOwn.RegisterFlagCompletionFunc("format", own); err != nil {
		t.Fatal(err)
	}
	root.AddCommand(withFormat, withOwn)
	registerCompletions(root, f)
	for cmd, want := range map[*cobra.Command][]string{withFormat: {"json", "text", "raw"}, withOwn: {"mine"}} {
		fn, ok := cmd.GetFlagCompletionFunc("format")
		if !ok {
			t.Fatalf("%s: no completion for --format", cmd.Name())
		}
		got, _ := fn(cmd, nil, "")
		var words []string
		for _, c := range got {
			word, _, _ := strings.Cut(c, "\t")
			words = append(words, word)
		}
		if !slices.Equal(words, want) {
			t.Errorf("%s --format completes %q, want %q", cmd.Name(), words, want)
		}
	}
}
