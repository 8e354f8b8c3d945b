package main

import (
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func treeFactory() *factory {
	streams := &ioStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	return &factory{io: streams, ui: newUI(streams), getenv: func(string) string { return "" }}
}

// flagsOf describes a flag set: every flag's name, shorthand, type, default, usage and
// whether it is hidden, one line each, sorted.
func flagsOf(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(fl *pflag.Flag) {
		out = append(out, strings.Join([]string{fl.Name, fl.Shorthand, fl.Value.Type(), fl.DefValue, fl.NoOptDefVal, fl.Usage,
			map[bool]string{true: "hidden"}[fl.Hidden], strings.Join(fl.Annotations[cobra.BashCompOneRequiredFlag], ",")}, "|"))
	})
	sort.Strings(out)
	return out
}

// describeCmd is everything of c that a run of it can show or act on: its path, texts,
// annotations, whether it checks its arguments, its own and inherited flags, its flags'
// completions, and the whole help text.
func describeCmd(c *cobra.Command) map[string]any {
	var completed []string
	c.Flags().VisitAll(func(fl *pflag.Flag) {
		if _, ok := c.GetFlagCompletionFunc(fl.Name); ok {
			completed = append(completed, fl.Name)
		}
	})
	return map[string]any{
		"path": c.CommandPath(), "use": c.Use, "short": c.Short, "long": c.Long, "example": c.Example,
		"annotations": c.Annotations, "args": c.Args != nil, "runnable": c.Runnable(), "hidden": c.Hidden,
		"validArgs": c.ValidArgsFunction != nil, "flags": flagsOf(c.LocalFlags()), "inherited": flagsOf(c.InheritedFlags()),
		"completed": completed, "usage": c.UsageString(),
	}
}

// A run that names a command builds only that one (newRootCmdFor): it must be the same
// command, with the same flags, texts and help, as in the whole tree, and so must every
// command under it. The table of commands covers the whole tree's.
func TestTreeForOneCommandIsTheWholeTreesCommand(t *testing.T) {
	full := newRootCmd(treeFactory())
	var names []string
	for _, c := range full.Commands() {
		names = append(names, c.Name())
	}
	var table []string
	for _, tc := range topCommands {
		table = append(table, tc.name)
	}
	table = append(table, "completion") // cobra's, added to the whole tree
	sort.Strings(names)
	sort.Strings(table)
	if !reflect.DeepEqual(names, table) {
		t.Fatalf("commands under the root: %v; topCommands (and completion): %v", names, table)
	}
	for _, tc := range topCommands {
		for _, argv := range [][]string{{tc.name}, {"--keystore", "ks", tc.name, "x"}, {tc.name, "--help"}} {
			one := newRootCmdFor(treeFactory(), argv)
			if n := len(one.Commands()); n != 1 {
				t.Fatalf("%q: the tree holds %d commands, want only %q", argv, n, tc.name)
			}
			got, _, err := one.Find(argv)
			if err != nil || got.Name() != tc.name {
				t.Fatalf("%q: Find = %v, %v", argv, got, err)
			}
			want, _, _ := full.Find(argv)
			gotAll, wantAll := allCommands(got), allCommands(want)
			if len(gotAll) != len(wantAll) {
				t.Fatalf("%q: %d commands under %s, want %d", argv, len(gotAll), tc.name, len(wantAll))
			}
			for i := range wantAll {
				if g, w := describeCmd(gotAll[i]), describeCmd(wantAll[i]); !reflect.DeepEqual(g, w) {
					for k := range w {
						if !reflect.DeepEqual(g[k], w[k]) {
							t.Errorf("%q: %s: %s differs:\n got %v\nwant %v", argv, wantAll[i].CommandPath(), k, g[k], w[k])
						}
					}
				}
			}
		}
	}
}

// Whatever names no command under the root, or cobra's own, gets the whole tree.
func TestTreeWhole(t *testing.T) {
	for _, argv := range [][]string{nil, {}, {"--help"}, {"--version"}, {"help", "publish"}, {"pubish"},
		{"completion", "bash"}, {"__complete", "pub"}, {"--keystore"}, {"--bogus", "publish"}} {
		root := newRootCmdFor(treeFactory(), argv)
		if n := len(root.Commands()); n != len(topCommands)+1 {
			t.Errorf("%q: %d commands under the root, want the whole tree's %d", argv, n, len(topCommands)+1)
		}
		if root.Version == "" {
			t.Errorf("%q: no version in the whole tree", argv)
		}
	}
}
