package main

import (
	"github.com/spf13/cobra"
)

// --keystore and --context are flags of the commands that use them, not of cbx as a
// whole: `cbx router --help` and `cbx keygen --help` do not offer a keystore they never
// read. They are still accepted before the command's name (`cbx --keystore F keys ls`),
// as cobra parses the flags of the command the words name wherever they stand.

const (
	// annotationKeystore marks commands that read or write the keystore: they get
	// --keystore, and --context (a context may name the keystore).
	annotationKeystore = "cbx/keystore"
	// annotationNoContext marks commands with connection flags of their own that are not
	// a connection's (`cbx context add` stores them): they get no --context.
	annotationNoContext = "cbx/no-context"
)

// usesKeystore marks c and every command under it as using the keystore.
func usesKeystore(c *cobra.Command) *cobra.Command {
	for _, c := range allCommands(c) {
		annotate(c, annotationKeystore)
	}
	return c
}

func annotate(c *cobra.Command, key string) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[key] = "yes"
	return c
}

// addSharedFlags gives the commands under root that use the keystore --keystore, and
// those that use the keystore or connect to a router (they have --url) --context. The
// root has both too, hidden, so that in `cbx --keystore F pubish` the mistyped command
// is what is reported, not a flag that the command meant would have taken: those are
// added first, by addRootFlags, since cobra's Find reads them to tell which command the
// arguments name.
func addSharedFlags(root *cobra.Command, f *factory) {
	for _, c := range allCommands(root) {
		keystoreUser := c.Annotations[annotationKeystore] != ""
		if keystoreUser && c.Flags().Lookup("keystore") == nil {
			c.Flags().Var(&keystoreFlag{f}, "keystore", "keystore `file` (env CBX_KEYSTORE; default the context's, else $XDG_CONFIG_HOME/cbx/keystore)")
		}
		connects := c.Flags().Lookup("url") != nil && c.Annotations[annotationNoContext] == ""
		if (keystoreUser || connects) && c.Flags().Lookup("context") == nil {
			c.Flags().Var(contextFlag{&f.ctx}, "context", "use the connection settings of context `NAME` (env CBX_CONTEXT; default the one `cbx context use` chose)")
		}
	}
}

// addRootFlags gives the root its hidden --keystore and --context (addSharedFlags).
func addRootFlags(root *cobra.Command, f *factory) {
	root.Flags().Var(&keystoreFlag{f}, "keystore", "")
	root.Flags().Var(contextFlag{&f.ctx}, "context", "")
	root.Flags().MarkHidden("keystore")
	root.Flags().MarkHidden("context")
}

// keystoreFlag is --keystore: it remembers being given, so that --keystore "" is refused
// rather than read as the default location.
type keystoreFlag struct{ f *factory }

func (v *keystoreFlag) String() string { return v.f.keystorePath }
func (v *keystoreFlag) Set(s string) error {
	v.f.keystorePath, v.f.keystoreSet = s, true
	return nil
}
func (v *keystoreFlag) Type() string { return "string" }
