package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// The command tree refuses words it does not know. Cobra checks a mistyped subcommand only
// at the root, and a command without a Run of its own (a group such as `cbx keys`, cobra's
// `completion`, a help topic such as `cbx exit-codes`) just prints its help and succeeds,
// whatever follows it: `cbx keys lss` would exit 0 having done nothing. Here every such
// word is a usage error (exit 2) that names the word and where it was looked up, with a
// "did you mean" hint, as git and the GitHub CLI do. A group alone, or asked for --help,
// still prints its help and exits 0: that is what the user asked for; a mistyped word
// followed by --help is still refused.

// unknownCommandError is a word that names no command under parent.
type unknownCommandError struct {
	name   string
	parent *cobra.Command
}

func (e *unknownCommandError) Error() string {
	return fmt.Sprintf("unknown command %q for %q", e.name, e.parent.CommandPath())
}

// unknownCommand is the usage error for name under parent, with the commands it is close to.
func unknownCommand(parent *cobra.Command, name string) error {
	var hints []string
	if s := suggestCommands(parent, name); len(s) > 0 {
		quoted := make([]string, len(s))
		for i, n := range s {
			quoted[i] = strconv.Quote(n)
		}
		hints = append(hints, "did you mean "+strings.Join(quoted, " or ")+"?")
	}
	return withCode(exitUsage, &unknownCommandError{name: name, parent: parent}, hints...)
}

// suggestCommands lists the visible subcommands of parent (help topics included) that
// start with typed, and those fewest edits away from it, at most two: cobra's rule
// (SuggestionsFor) less its help-topic blind spot, and without the far matches it adds
// for short words ("ad" → add, not ls or rm).
func suggestCommands(parent *cobra.Command, typed string) []string {
	var prefixed, near []string
	best := 3
	for _, c := range parent.Commands() {
		if c.Hidden || c.Deprecated != "" {
			continue
		}
		name := strings.ToLower(c.Name())
		if strings.HasPrefix(name, strings.ToLower(typed)) {
			prefixed = append(prefixed, c.Name())
			continue
		}
		switch d := editDistance(strings.ToLower(typed), name); {
		case d < best:
			best, near = d, []string{c.Name()}
		case d == best:
			near = append(near, c.Name())
		}
	}
	if len(prefixed) > 0 && best > 1 {
		return prefixed
	}
	return append(prefixed, near...)
}

// editDistance is the Levenshtein distance of a and b, in bytes (command names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// refuseUnknownCommands makes the tree refuse unknown words (see the top of this file).
// Cobra prints help instead of running a command that has no Run, so the check sits in the
// help function: a command shown help for unasked, with words left over, reports the first
// of them in *refused instead, and run turns that into the exit code.
func refuseUnknownCommands(root *cobra.Command, refused *error) {
	// Without Args, cobra's Find would answer an unknown word at the root itself, in its
	// own format ("Did you mean this?"); with it, the root takes the same path as the rest.
	root.Args = cobra.ArbitraryArgs
	showHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		// A group has no arguments of its own: a word left over is a mistyped
		// subcommand, with --help too (`cbx keys lss --help` must not show the keys help
		// and succeed as if lss existed).
		if !c.Runnable() {
			if extra := c.Flags().Args(); len(extra) > 0 {
				*refused = unknownCommand(c, extra[0])
				return
			}
		}
		// Cobra prints a failed write of the help text on stderr by itself; the stdout
		// writer remembers the failure and run reports it once, in cbx's format.
		errOut := c.ErrOrStderr()
		c.SetErr(io.Discard)
		showHelp(c, args)
		c.SetErr(errOut)
	})
	root.SetHelpCommand(newCmdHelp(root))
}

// newCmdHelp replaces cobra's help command, which prints "Unknown help topic" and the
// root's usage and then succeeds: here an unknown topic is a usage error like any other
// unknown command.
func newCmdHelp(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long: `help prints the help of any command or help topic.
Simply type ` + root.Name() + ` help [path to command] for full details.`,
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, c := range target.Commands() {
				if !c.Hidden && strings.HasPrefix(c.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			target, rest, err := root.Find(args)
			if err != nil {
				return &usageError{err}
			}
			if len(rest) > 0 {
				return unknownCommand(target, rest[0])
			}
			target.InitDefaultHelpFlag()
			target.InitDefaultVersionFlag()
			return target.Help()
		},
	}
}
