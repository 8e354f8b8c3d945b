package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

const contextHelp = `A context names connection settings once, so they need not be typed on every command:

  $ cbx context add prod --url wss://router.example.com/ws --realm realm1 \
      --keystore ~/.config/cbx/prod.ks --authid alice --ticket env:PROD_TICKET
  $ cbx context use prod
  $ cbx publish com.example.secure.orders '{"id":17}'

A command uses the context --context NAME names, else the one CBX_CONTEXT names, else the
one ` + "`cbx context use`" + ` chose, else none. For each setting a flag wins over its environment
variable, which wins over the context, which wins over the default; ` + "`cbx context show`" + `
says where each setting came from. The context's authentication (ticket, WAMP-CRA
secret or cryptosign key) is one setting: it applies only when neither a flag nor the
environment chooses a method. A context that is named but does not exist is an error
(exit 2), never a silent fall back to the defaults.

A context holds --url, --realm, --serializer, --keystore, --authid, --authrole, --ca and
at most one of --ticket, --wampcra-secret and --cryptosign-key. It never holds a secret,
only where the secret comes from: a file (stored as its absolute path; it must exist) or
env:NAME. Standard input ("-") is refused: a context outlives the one command that could
read it. A keystore named by a context must exist when a command uses it (exit 5
otherwise), as one named with --keystore must.

Contexts live in $XDG_CONFIG_HOME/cbx/contexts, written atomically with mode 0600 in a
directory made 0700. cbx refuses the file (exit 5) when group or others can access it,
as it refuses such a key file: whoever could change it could redirect your router,
keystore and secrets.`

func newCmdContext(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "context",
		Short: "Name connection settings once: add, ls, show, use, rm",
		Long:  contextHelp,
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCmdContextAdd(f), newCmdContextLs(f), newCmdContextShow(f), newCmdContextUse(f), newCmdContextRm(f))
	return cmd
}

type contextAddOptions struct {
	c     cbxContext
	force bool
	use   bool
}

func newCmdContextAdd(f *factory) *cobra.Command {
	o := &contextAddOptions{}
	cmd := &cobra.Command{
		Use:   "add NAME [--url URL] [--realm REALM] [--serializer S] [--keystore FILE] [--authid ID] [--authrole ROLE] [--ticket SRC | --wampcra-secret SRC | --cryptosign-key SRC] [--ca FILE] [--force] [--use]",
		Short: "Add a context",
		Long: `add stores a context: the settings given, and nothing for the others (they keep
their defaults, or come from flags and the environment). SRC is a secret's source: a file
(stored as its absolute path) or env:NAME; never standard input, never the secret itself.
Relative paths are stored as absolute paths. NAME is 1 to 64 letters, digits, '.', '_' or
'-'. An existing context is replaced only with --force.`,
		Example: `  $ cbx context add local --url ws://127.0.0.1:8080/ws --keystore publisher.ks
  $ cbx context add prod --url wss://router.example.com/ws --authid alice --ticket env:PROD_TICKET --use`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.c.name = args[0]
			if err := checkContextName(o.c.name); err != nil {
				return &usageError{fmt.Errorf("NAME %q: %w", o.c.name, err)}
			}
			// An empty flag (an unset shell variable, typically) is a mistake, not the
			// setting left out.
			for _, fl := range contextFields {
				if f := cmd.Flags().Lookup(fl.name); f != nil && f.Changed && f.Value.String() == "" {
					return &usageError{fmt.Errorf("--%s is empty", fl.name)}
				}
			}
			return contextAddRun(f, o)
		},
	}
	annotate(cmd, annotationNoContext)
	fl := cmd.Flags()
	fl.StringVar(&o.c.url, "url", "", "router `URL`, ws:// or wss://")
	fl.StringVar(&o.c.realm, "realm", "", "`realm` to join")
	fl.StringVar(&o.c.serializer, "serializer", "", "WAMP serializer: json, msgpack or cbor")
	fl.StringVar(&o.c.keystore, "keystore", "", "keystore `file` (it must exist when the context is used)")
	fl.StringVar(&o.c.authID, "authid", "", "authentication `ID`")
	fl.StringVar(&o.c.authRole, "authrole", "", "requested authentication `role`")
	fl.StringVar(&o.c.ticket, "ticket", "", "ticket authentication: the ticket's `SRC` (file or env:NAME)")
	fl.StringVar(&o.c.wampcra, "wampcra-secret", "", "WAMP-CRA authentication: the secret's `SRC` (file or env:NAME)")
	fl.StringVar(&o.c.cryptosign, "cryptosign-key", "", "WAMP-cryptosign authentication: Ed25519 private key `SRC` (file or env:NAME)")
	fl.StringVar(&o.c.ca, "ca", "", "PEM `file` of CA certificates to trust for wss://")
	fl.BoolVar(&o.force, "force", false, "replace an existing context of that name")
	fl.BoolVar(&o.use, "use", false, "also make it the context commands use (as `cbx context use NAME`)")
	return cmd
}

func contextAddRun(f *factory, o *contextAddOptions) error {
	c := &o.c
	// Files are stored as absolute paths: a context is used from any directory.
	for _, p := range []*string{&c.keystore, &c.ca} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return err
			}
			*p = abs
		}
	}
	for _, s := range []struct {
		flag string
		v    *string
	}{{"--ticket", &c.ticket}, {"--wampcra-secret", &c.wampcra}, {"--cryptosign-key", &c.cryptosign}} {
		if err := f.checkContextSecret(s.flag, s.v); err != nil {
			return err
		}
	}
	if err := c.validate(); err != nil {
		return &usageError{err}
	}
	if c.ca != "" {
		if _, err := wamp.ParseTLSConfig(c.ca, false); err != nil {
			return &usageError{fmt.Errorf("--ca %q: %w", c.ca, err)}
		}
	}
	if c.keystore != "" {
		if _, err := os.Stat(c.keystore); errors.Is(err, fs.ErrNotExist) {
			f.ui.warnf("keystore %q does not exist yet: commands using context %q fail until it does (`cbx keys init` or `cbx keys add` with --context %s)", c.keystore, c.name, c.name)
		}
	}
	_, err := f.updateContexts(func(cf *contextFile) error {
		if cf.contexts[c.name] != nil && !o.force {
			return withCode(exitError, fmt.Errorf("context %q already exists", c.name), "use --force to replace it; `cbx context show "+c.name+"` shows it")
		}
		cf.contexts[c.name] = c
		if o.use {
			cf.current = c.name
		}
		return nil
	})
	if err == nil {
		f.ui.infof("added context %q", c.name)
	}
	return err
}

// checkContextSecret checks a secret source given to `context add` and makes a file's
// path absolute. The file must exist and be private to its user (readSecret's rules),
// since a source that names no file may well be the secret itself, typed where its source
// belongs: it is refused and not repeated.
func (f *factory) checkContextSecret(flag string, src *string) error {
	switch {
	case *src == "":
		return nil
	case *src == "-":
		return &usageError{fmt.Errorf(`%s -: standard input can't be stored in a context (it can be read once); give a file or env:NAME`, flag)}
	}
	if strings.HasPrefix(*src, "env:") {
		if err := checkSecretSource(*src); err != nil {
			return &usageError{fmt.Errorf("%s: %w", flag, err)}
		}
		return nil
	}
	abs, err := filepath.Abs(*src)
	if err != nil {
		return &usageError{fmt.Errorf("%s: %v %s", flag, err, notShown)}
	}
	if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
		return withCode(exitKey, fmt.Errorf("%s: no file by that name %s", flag, notShown),
			"a context stores where a secret comes from, a file or env:NAME, never the secret itself")
	}
	if _, _, err := f.readSecret(abs, flag); err != nil {
		return err
	}
	*src = abs
	return nil
}

func newCmdContextLs(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the contexts; * marks the one `cbx context use` chose",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cf, _, err := loadContexts()
			if err != nil || cf == nil {
				return err
			}
			tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
			for _, n := range cf.names() {
				c := cf.contexts[n]
				mark := " "
				if n == cf.current {
					mark = "*"
				}
				fmt.Fprintf(tw, "%s %s\t%s\t%s\n", mark, n, orDash(c.url), orDash(c.realm))
			}
			return tw.Flush()
		},
	}
}

func newCmdContextShow(f *factory) *cobra.Command {
	o := &connOptions{}
	cmd := &cobra.Command{
		Use:               "show [NAME]",
		ValidArgsFunction: contextNameArg,
		Short:             "Show the settings a command would use, and where each came from",
		Long: `show prints the connection settings a session command would use with the same
flags, environment and context, one per line: the setting, its value, and where it came
from (a flag, an environment variable, the context, or the default). NAME shows that
context, as --context NAME would. Secrets are shown as their source, never read.`,
		Example: `  $ cbx context show
  $ cbx context show prod --realm realm2`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if f.ctx.flagSet {
					return &usageError{errors.New("give NAME or --context, not both")}
				}
				f.ctx.flag, f.ctx.flagSet = args[0], true
			}
			return contextShowRun(f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.url, "url", "", "router `URL` (env CBX_URL)")
	fl.StringVar(&o.realm, "realm", "", "`realm` (env CBX_REALM)")
	fl.StringVar(&o.serializer, "serializer", "", "json, msgpack or cbor (env CBX_SERIALIZER)")
	fl.StringVar(&o.authID, "authid", "", "authentication `ID` (env CBX_AUTHID)")
	fl.StringVar(&o.authRole, "authrole", "", "authentication `role` (env CBX_AUTHROLE)")
	fl.StringVar(&o.ticket, "ticket", "", "ticket `SRC` (env CBX_TICKET)")
	fl.StringVar(&o.wampcra, "wampcra-secret", "", "WAMP-CRA secret `SRC` (env CBX_WAMPCRA_SECRET)")
	fl.StringVar(&o.cryptosign, "cryptosign-key", "", "Ed25519 private key `SRC` (env CBX_CRYPTOSIGN_KEY)")
	fl.StringVar(&o.ca, "ca", "", "PEM `file` of CA certificates (env CBX_CA)")
	return usesKeystore(cmd)
}

func contextShowRun(f *factory, o *connOptions) error {
	type row struct{ name, flag, env string }
	rows := []row{
		{"url", "--url", "CBX_URL"}, {"realm", "--realm", "CBX_REALM"}, {"serializer", "--serializer", "CBX_SERIALIZER"},
		{"authid", "--authid", "CBX_AUTHID"}, {"authrole", "--authrole", "CBX_AUTHROLE"}, {"ca", "--ca", "CBX_CA"},
	}
	given := map[string]bool{}
	for _, r := range rows {
		given[r.flag] = o.get(r.flag) != ""
	}
	for _, fl := range []string{"--ticket", "--wampcra-secret", "--cryptosign-key"} {
		given[fl] = o.get(fl) != ""
	}
	if err := o.resolve(f); err != nil {
		return err
	}
	from := func(flag string) string {
		switch src := o.from[flag]; {
		case strings.HasPrefix(src, "context "):
			return "context " + o.ctx.c.name
		case src != "":
			return "environment " + src
		case given[flag]:
			return "flag " + flag
		}
		return "default"
	}
	tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
	if o.ctx == nil {
		fmt.Fprintf(tw, "context\t-\t(none)\n")
	} else {
		by := o.ctx.by
		switch by {
		case "--context":
			by = "flag --context"
		case "CBX_CONTEXT":
			by = "environment CBX_CONTEXT"
		}
		fmt.Fprintf(tw, "context\t%s\t%s\n", o.ctx.c.name, by)
	}
	for _, r := range rows[:5] {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, orDash(o.get(r.flag)), from(r.flag))
	}
	auth, authFrom := "anonymous", "default"
	for _, fl := range []string{"--ticket", "--wampcra-secret", "--cryptosign-key"} {
		if v := o.get(fl); v != "" {
			auth, authFrom = fl[2:]+" "+v, from(fl)
		}
	}
	fmt.Fprintf(tw, "authentication\t%s\t%s\n", auth, authFrom)
	fmt.Fprintf(tw, "ca\t%s\t%s\n", orDash(o.ca), from("--ca"))
	ks, err := f.keystoreLocation()
	if err != nil {
		return err
	}
	ksFrom := "default"
	switch by := f.keystoreNamedBy(); {
	case by == "--keystore":
		ksFrom = "flag --keystore"
	case by == "CBX_KEYSTORE":
		ksFrom = "environment CBX_KEYSTORE"
	case by != "":
		ksFrom = "context " + o.ctx.c.name
	}
	fmt.Fprintf(tw, "keystore\t%s\t%s\n", ks, ksFrom)
	return tw.Flush()
}

// get returns the value of a connection setting by its flag's name.
func (o *connOptions) get(flag string) string {
	switch flag {
	case "--url":
		return o.url
	case "--realm":
		return o.realm
	case "--serializer":
		return o.serializer
	case "--authid":
		return o.authID
	case "--authrole":
		return o.authRole
	case "--ticket":
		return o.ticket
	case "--wampcra-secret":
		return o.wampcra
	case "--cryptosign-key":
		return o.cryptosign
	case "--ca":
		return o.ca
	}
	return ""
}

func newCmdContextUse(f *factory) *cobra.Command {
	var none bool
	cmd := &cobra.Command{
		Use:               "use {NAME | --none}",
		ValidArgsFunction: contextNameArg,
		Short:             "Choose the context commands use when neither --context nor CBX_CONTEXT names one",
		Args:              cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if none == (len(args) == 1) {
				return &usageError{errors.New("give a context NAME, or --none to use no context")}
			}
			_, err := f.updateContexts(func(cf *contextFile) error {
				if none {
					cf.current = ""
					return nil
				}
				if cf.contexts[args[0]] == nil {
					return withCode(exitUsage, fmt.Errorf("context %q does not exist", args[0]), "`cbx context ls` lists the contexts")
				}
				cf.current = args[0]
				return nil
			})
			if err == nil && !none {
				f.ui.infof("using context %q", args[0])
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&none, "none", false, "use no context")
	return cmd
}

func newCmdContextRm(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:               "rm NAME",
		ValidArgsFunction: contextNameArg,
		Short:             "Remove a context",
		Long: `rm removes a context. Nothing else is removed: not its keystore, not the files its
secrets come from. When it was the context ` + "`cbx context use`" + ` chose, no context is
chosen any more.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := args[0]
			wasCurrent := false
			_, err := f.updateContexts(func(cf *contextFile) error {
				if cf.contexts[name] == nil {
					return withCode(exitUsage, fmt.Errorf("context %q does not exist", name), "`cbx context ls` lists the contexts")
				}
				delete(cf.contexts, name)
				if cf.current == name {
					cf.current, wasCurrent = "", true
				}
				return nil
			})
			if err != nil {
				return err
			}
			if wasCurrent {
				f.ui.warnf("context %q was the one `cbx context use` chose; now none is", name)
			}
			f.ui.infof("removed context %q", name)
			return nil
		},
	}
}
