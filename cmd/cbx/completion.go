package main

import (
	"strings"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Shell completion (cobra's `cbx completion bash|zsh|fish`, whose scripts ask the
// binary itself through the hidden `cbx __complete` command): the values a flag takes,
// context names, and the keystore's prefixes. Value completions are registered by flag
// name on every command that has the flag, so a command or flag added later (--format,
// say) gets them without a line here; a command that registers its own keeps it.

// The values of flags that take one of a fixed few, with what each means.
var (
	serializerValues = []cobra.Completion{
		cobra.CompletionWithDesc(wamp.SerializerJSON, "WAMP JSON (the default)"),
		cobra.CompletionWithDesc(wamp.SerializerMsgPack, "MessagePack"),
		cobra.CompletionWithDesc(wamp.SerializerCBOR, "CBOR"),
	}
	matchValues = []cobra.Completion{
		cobra.CompletionWithDesc(wamp.MatchExact, "the URI itself (the default)"),
		cobra.CompletionWithDesc(wamp.MatchPrefix, "every URI that starts with it"),
		cobra.CompletionWithDesc(wamp.MatchWildcard, "empty components match any one component (com..orders)"),
	}
	wireValues = []cobra.Completion{
		cobra.CompletionWithDesc("auto", "legacy, or ppt when the router needs it (the default)"),
		cobra.CompletionWithDesc("legacy", "Autobahn's and Crossbar.io's enc_algo form"),
		cobra.CompletionWithDesc("ppt", "Payload PassThru Mode"),
	}
	formatValues = []cobra.Completion{
		// The word is the JSON serializer's (names.go's rule: one spelling of a name).
		cobra.CompletionWithDesc(wamp.SerializerJSON, "one JSON line per event"),
		cobra.CompletionWithDesc("text", "one line for a person"),
		cobra.CompletionWithDesc("raw", "an event's one argument alone, bytes as they are"),
	}
)

// registerCompletions walks the tree under root and registers the completions above.
func registerCompletions(root *cobra.Command, f *factory) {
	for _, c := range allCommands(root) {
		fl := c.Flags()
		for _, v := range []struct {
			flag   *pflag.Flag
			values []cobra.Completion
		}{
			{fl.Lookup("serializer"), serializerValues},
			{fl.Lookup("match"), matchValues},
			{fl.Lookup("wire"), wireValues},
			{fl.Lookup("format"), formatValues},
			{fl.Lookup("context"), nil},
		} {
			if v.flag == nil {
				continue
			}
			complete := cobra.FixedCompletions(v.values, cobra.ShellCompDirectiveNoFileComp)
			if v.values == nil {
				complete = completeContextNames
			}
			// An error means the command registered its own: it knows better.
			_ = c.RegisterFlagCompletionFunc(v.flag.Name, complete)
		}
		// The keys commands that take an existing PREFIX first (show, rm, …).
		if p := c.Parent(); p != nil && p.Name() == "keys" && p.Parent() == root && c.ValidArgsFunction == nil {
			if fields := strings.Fields(c.Use); len(fields) > 1 && fields[1] == "PREFIX" {
				c.ValidArgsFunction = keystorePrefixArg(f)
			}
		}
	}
}

// completeContextNames offers the names of the contexts; nothing when there are none or
// the contexts file cannot be read (completion never prints an error).
func completeContextNames(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	cf, _, err := loadContexts()
	if err != nil || cf == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []cobra.Completion
	for _, n := range cf.names() {
		if !strings.HasPrefix(n, toComplete) {
			continue
		}
		desc := cf.contexts[n].url
		if n == cf.current {
			desc = strings.TrimSpace(desc + " (in use)")
		}
		out = append(out, cobra.CompletionWithDesc(n, desc))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// contextNameArg completes a command's one NAME argument with the contexts' names.
func contextNameArg(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeContextNames(c, args, toComplete)
}

// keystorePrefixArg completes a command's one PREFIX argument with the prefixes of the
// keystore the command would use (--keystore, CBX_KEYSTORE, the context, the default:
// cobra has parsed the flags typed so far). The default key's prefix is offered as "".
func keystorePrefixArg(f *factory) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		path, err := f.keystoreLocation()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		// Load, not loadKeystore: completion reads and never removes or reports anything.
		ks, err := keystore.Load(path)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, e := range ks.Entries() {
			switch {
			case e.Prefix == "" && strings.HasPrefix(`""`, toComplete):
				out = append(out, cobra.CompletionWithDesc(`""`, "the default key"))
			case e.Prefix != "" && strings.HasPrefix(e.Prefix, toComplete):
				out = append(out, e.Prefix)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
