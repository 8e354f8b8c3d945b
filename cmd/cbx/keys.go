package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

func newCmdKeys(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keystore: which key seals which URI prefix",
		Long: `keys manages the keystore, which maps URI prefixes to cryptobox keys with the lookup
rules of Autobahn's KeyRing (see ` + "`cbx help keystore`" + `). Listing commands never print
private keys.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCmdKeysInit(f), newCmdKeysAdd(f), newCmdKeysLs(f), newCmdKeysShow(f), newCmdKeysRm(f), newCmdKeysExplain(f))
	return cmd
}

type keysAddOptions struct {
	prefix                        string
	originatorPriv, originatorPub string
	responderPriv, responderPub   string
	single                        string
	force                         bool
}

func newCmdKeysAdd(f *factory) *cobra.Command {
	o := &keysAddOptions{}
	cmd := &cobra.Command{
		Use:   "add PREFIX {--single SRC | [--originator-priv SRC | --originator-pub KEY] [--responder-priv SRC | --responder-pub KEY]}",
		Short: "Add keys for a URI prefix",
		Long: `add stores keys for a URI prefix. PREFIX "" is the default key.

A publisher or caller needs --originator-priv and --responder-pub; a subscriber or callee
needs --responder-priv and --originator-pub; --single uses one key pair for both roles
(Autobahn's KeyRing(priv)). SRC is a private key file, "-" for standard input, or
env:NAME; private keys are never taken from the command line. KEY is a public key in
base64 or hex, or a file holding one.`,
		Example: `  $ cbx keys add com.example.secure. --originator-priv publisher.key --responder-pub "$(cat subscriber.pub)"
  $ cbx keys add com.example.secure. --responder-priv subscriber.key --originator-pub publisher.pub
  $ CBX_SECRET="$(cat shared.key)" cbx keys add "" --single env:CBX_SECRET`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.prefix = args[0]
			// An empty key flag (an unset shell variable, typically) is a mistake, not
			// the flag left out.
			for _, name := range []string{"originator-priv", "originator-pub", "responder-priv", "responder-pub", "single"} {
				if fl := cmd.Flags().Lookup(name); fl.Changed && fl.Value.String() == "" {
					return &usageError{fmt.Errorf("--%s is empty", name)}
				}
			}
			return keysAddRun(f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.originatorPriv, "originator-priv", "", "originator (publisher/caller) private key `SRC`")
	fl.StringVar(&o.originatorPub, "originator-pub", "", "originator (publisher/caller) public `KEY`")
	fl.StringVar(&o.responderPriv, "responder-priv", "", "responder (subscriber/callee) private key `SRC`")
	fl.StringVar(&o.responderPub, "responder-pub", "", "responder (subscriber/callee) public `KEY`")
	fl.StringVar(&o.single, "single", "", "one private key `SRC` for both roles (Autobahn's KeyRing(priv))")
	fl.BoolVar(&o.force, "force", false, "replace an existing entry for PREFIX")
	return cmd
}

func keysAddRun(f *factory, o *keysAddOptions) error {
	if o.single == "" && o.originatorPriv == "" && o.originatorPub == "" && o.responderPriv == "" && o.responderPub == "" {
		return &usageError{errors.New("no keys given: use --single, or originator and responder keys")}
	}
	switch {
	case o.single != "" && (o.originatorPriv != "" || o.originatorPub != "" || o.responderPriv != "" || o.responderPub != ""):
		return &usageError{errors.New("--single can't be used with originator or responder keys: a single key serves both roles")}
	case o.originatorPriv != "" && o.originatorPub != "":
		return &usageError{errors.New("--originator-priv and --originator-pub can't be used together: the public key is derived from the private one")}
	case o.responderPriv != "" && o.responderPub != "":
		return &usageError{errors.New("--responder-priv and --responder-pub can't be used together: the public key is derived from the private one")}
	}
	if countStdin(o.single, o.originatorPriv, o.responderPriv) > 1 {
		return &usageError{errors.New("only one private key can come from standard input (\"-\")")}
	}
	e := &keystore.Entry{Prefix: o.prefix}
	privs := []struct {
		src, what string
		dst       **keygen.PrivateKey
	}{
		{o.single, "--single", &e.Single},
		{o.originatorPriv, "--originator-priv", &e.OriginatorPrivate},
		{o.responderPriv, "--responder-priv", &e.ResponderPrivate},
	}
	for _, p := range privs {
		if p.src == "" {
			continue
		}
		k, err := f.readPrivateKey(p.src, p.what)
		if err != nil {
			return err
		}
		*p.dst = &k
	}
	pubs := []struct {
		arg, what string
		dst       **keygen.PublicKey
	}{
		{o.originatorPub, "--originator-pub", &e.OriginatorPublic},
		{o.responderPub, "--responder-pub", &e.ResponderPublic},
	}
	for _, p := range pubs {
		if p.arg == "" {
			continue
		}
		k, err := parsePublicKeyArg(p.arg, p.what)
		if err != nil {
			return withCode(exitKey, err)
		}
		*p.dst = &k
	}
	if err := e.Validate(); err != nil {
		return withCode(exitKey, err)
	}
	path, err := f.keystoreLocation()
	if err != nil {
		return err
	}
	err = keystore.Update(path, func(ks *keystore.Keystore) error {
		if _, exists := ks.Get(o.prefix); exists && !o.force {
			return withCode(exitKey, fmt.Errorf("prefix %q is already in keystore %q", o.prefix, path),
				"use --force to replace it, or `cbx keys rm "+shellQuote(o.prefix)+"` first")
		}
		return ks.Put(e)
	}, f.keystoreNotices())
	if err != nil {
		return err
	}
	if o.prefix != "" && !strings.HasSuffix(o.prefix, ".") {
		f.ui.warnf("prefix %q does not end in \".\": prefixes match by characters, so it also covers %q", o.prefix, o.prefix+"x.y")
	}
	f.ui.infof("added %s to %s (%s)", keystore.PrefixName(o.prefix), path, sidesOf(e))
	return nil
}

func newCmdKeysInit(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create an empty keystore (if there is none)",
		Long: `init creates the keystore file, empty, mode 0600 in a 0700 directory, unless it exists
already (then it is only checked). A keystore named with --keystore or CBX_KEYSTORE must
exist for the session commands to run; an empty one means nothing is sealed or opened,
on purpose.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := f.keystoreLocation()
			if err != nil {
				return err
			}
			_, err = keystore.Load(path, f.keystoreNotices())
			var nf *keystore.NotFoundError
			switch {
			case err == nil:
				f.ui.infof("keystore %s exists already", path)
				return nil
			case !errors.As(err, &nf):
				return err
			}
			if err := keystore.Update(path, func(*keystore.Keystore) error { return nil }); err != nil {
				return err
			}
			f.ui.infof("created an empty keystore at %s", path)
			return nil
		},
	}
}

func countStdin(srcs ...string) int {
	n := 0
	for _, s := range srcs {
		if s == "-" {
			n++
		}
	}
	return n
}

func sidesOf(e *keystore.Entry) string {
	switch {
	case e.Single != nil:
		return "single key: both sides"
	case e.CanOriginate() && e.CanRespond():
		return "originator and responder sides"
	case e.CanOriginate():
		return "originator side: publish, call"
	default:
		return "responder side: subscribe, register"
	}
}

// entryJSON is what ls/show --json print: public keys only.
type entryJSON struct {
	Prefix       string `json:"prefix"`
	Single       string `json:"single_public,omitempty"`
	Originator   string `json:"originator_public,omitempty"`
	Responder    string `json:"responder_public,omitempty"`
	OriginatorPr bool   `json:"originator_private_held"`
	ResponderPr  bool   `json:"responder_private_held"`
	CanOriginate bool   `json:"can_originate"`
	CanRespond   bool   `json:"can_respond"`
}

func describe(e *keystore.Entry) entryJSON {
	j := entryJSON{Prefix: e.Prefix, CanOriginate: e.CanOriginate(), CanRespond: e.CanRespond()}
	pubOf := func(pub *keygen.PublicKey, priv *keygen.PrivateKey) string {
		switch {
		case pub != nil:
			return keygen.Base64(*pub)
		case priv != nil:
			p := priv.Public()
			return keygen.Base64(p)
		}
		return ""
	}
	if e.Single != nil {
		j.Single = pubOf(nil, e.Single)
		j.OriginatorPr, j.ResponderPr = true, true
		return j
	}
	j.Originator = pubOf(e.OriginatorPublic, e.OriginatorPrivate)
	j.Responder = pubOf(e.ResponderPublic, e.ResponderPrivate)
	j.OriginatorPr, j.ResponderPr = e.OriginatorPrivate != nil, e.ResponderPrivate != nil
	return j
}

func (f *factory) loadKeystore() (*keystore.Keystore, string, error) {
	path, err := f.keystoreLocation()
	if err != nil {
		return nil, "", err
	}
	ks, err := keystore.Load(path, f.keystoreNotices())
	if err != nil {
		var nf *keystore.NotFoundError
		if errors.As(err, &nf) {
			return nil, path, f.missingKeystore(nf)
		}
		return nil, path, err
	}
	return ks, path, nil
}

// keystoreNotices prints what the keystore package did on cbx's behalf: removing a
// temporary file an interrupted write left behind, which held a copy of the keys.
func (f *factory) keystoreNotices() keystore.Option {
	return keystore.WithNotices(func(n keystore.Notice) {
		if n.Err != nil {
			f.ui.warnf("could not remove %q, left behind by an interrupted keystore write (it holds a copy of the keystore): %v", n.Removed, n.Err)
			return
		}
		f.ui.warnf("removed %q, left behind by an interrupted keystore write", n.Removed)
	})
}

func newCmdKeysLs(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [--json]",
		Short: "List keystore entries (public keys only)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ks, _, err := f.loadKeystore()
			if err != nil {
				return err
			}
			list := []entryJSON{}
			for _, e := range ks.Entries() {
				list = append(list, describe(e))
			}
			if asJSON {
				return writeJSONLine(f.io.Out, list)
			}
			tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PREFIX\tSIDES\tORIGINATOR PUBLIC\tRESPONDER PUBLIC")
			for _, j := range list {
				o, r := markHeld(j.Originator, j.OriginatorPr), markHeld(j.Responder, j.ResponderPr)
				if j.Single != "" {
					o, r = markHeld(j.Single, true), "(same key)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", strconv.Quote(j.Prefix), sidesShort(j), o, r)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func markHeld(pub string, held bool) string {
	switch {
	case pub == "":
		return "-"
	case held:
		return pub + " (private held)"
	}
	return pub
}

func sidesShort(j entryJSON) string {
	switch {
	case j.Single != "":
		return "single"
	case j.CanOriginate && j.CanRespond:
		return "both"
	case j.CanOriginate:
		return "originator"
	}
	return "responder"
}

func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newCmdKeysShow(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show PREFIX [--json]",
		Short: "Show one keystore entry (public keys only)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			ks, path, err := f.loadKeystore()
			if err != nil {
				return err
			}
			e, ok := ks.Get(args[0])
			if !ok {
				return withCode(exitKey, fmt.Errorf("no entry for prefix %q in keystore %q", args[0], path),
					"`cbx keys ls` lists the prefixes; `cbx keys explain URI` shows which one a URI uses")
			}
			j := describe(e)
			if asJSON {
				return writeJSONLine(f.io.Out, j)
			}
			tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "prefix:\t%s\n", keystore.PrefixName(j.Prefix))
			if j.Single != "" {
				fmt.Fprintf(tw, "single key:\t%s (private held; both roles)\n", j.Single)
			} else {
				fmt.Fprintf(tw, "originator key:\t%s\n", markHeld(j.Originator, j.OriginatorPr))
				fmt.Fprintf(tw, "responder key:\t%s\n", markHeld(j.Responder, j.ResponderPr))
			}
			fmt.Fprintf(tw, "originator side:\t%s\n", yesNo(j.CanOriginate, "seals PUBLISH and CALL, opens RESULT and ERROR"))
			fmt.Fprintf(tw, "responder side:\t%s\n", yesNo(j.CanRespond, "opens EVENT and INVOCATION, seals YIELD and ERROR"))
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func yesNo(ok bool, what string) string {
	if ok {
		return what
	}
	return "no (keys missing)"
}

func newCmdKeysRm(f *factory) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "rm PREFIX [--yes]",
		Short: "Remove a keystore entry",
		Long: `rm removes the entry for PREFIX. Its private keys are gone with it unless you have
another copy. It asks first on a terminal; elsewhere it needs --yes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			prefix := args[0]
			if !yes {
				if !f.io.canPrompt() {
					return &usageError{errors.New("--yes required when not running interactively")}
				}
				fmt.Fprintf(f.io.ErrOut, "Remove the entry for %s from the keystore? [y/N] ", keystore.PrefixName(prefix))
				answer, _ := bufio.NewReader(f.io.In).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return withCode(exitError, errors.New("not removed"))
				}
			}
			path, err := f.keystoreLocation()
			if err != nil {
				return err
			}
			err = keystore.Update(path, func(ks *keystore.Keystore) error {
				if !ks.Remove(prefix) {
					return withCode(exitKey, fmt.Errorf("no entry for prefix %q in keystore %q", prefix, path))
				}
				return nil
			}, f.keystoreNotices())
			if err == nil {
				f.ui.infof("removed %s", keystore.PrefixName(prefix))
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return cmd
}

func newCmdKeysExplain(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "explain URI",
		Short: "Show which keystore entry a URI resolves to, and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			// A pattern (com.example., com..orders) may be explained too, so the most
			// permissive rule applies: empty components, but no whitespace or "#".
			if err := checkURIArg("URI", args[0], wamp.MatchWildcard, false); err != nil {
				return err
			}
			ks, _, err := f.loadKeystore()
			if err != nil {
				return err
			}
			r := ks.Explain(args[0])
			tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "uri:\t%s\n", r.URI)
			if r.Entry == nil {
				fmt.Fprintf(tw, "entry:\tnone\n")
			} else {
				fmt.Fprintf(tw, "entry:\t%s\n", keystore.PrefixName(r.Entry.Prefix))
			}
			fmt.Fprintf(tw, "reason:\t%s\n", r.Reason)
			for _, s := range r.Shadowed {
				fmt.Fprintf(tw, "also matches:\t%q (shorter, so it loses)\n", s)
			}
			if r.Entry != nil {
				fmt.Fprintf(tw, "publish, call:\t%s\n", sealState(r.Entry.CanOriginate(), "sealed with the originator box", "refused (exit 5), never sent in plaintext: the entry has no originator-private key and responder key"))
				fmt.Fprintf(tw, "subscribe, register:\t%s\n", sealState(r.Entry.CanRespond(), "opened with the responder box", "cannot open sealed payloads: the entry has no responder-private key and originator key"))
			} else {
				fmt.Fprintf(tw, "publish, call:\tplaintext\n")
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, w := range r.Warnings {
				f.ui.warnf("%s", w)
			}
			return nil
		},
	}
}

func sealState(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}
