package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

type keysAddOptions struct {
	prefix                        string
	originatorPriv, originatorPub string
	responderPriv, responderPub   string
	single                        string
	force                         bool
}

func newCmdKeysAdd(f *factory, runF func(*keysAddOptions) error) *cobra.Command {
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
		Example: `  $ pub=$(cbx keygen -o publisher.key)     # the publisher's key pair; its public key in $pub
  $ sub=$(cbx keygen -o subscriber.key)    # the subscriber's, normally made on its own machine
  $ cbx keys add com.example.secure. --keystore publisher.ks --originator-priv publisher.key --responder-pub "$sub"
  $ cbx keys add com.example.secure. --keystore subscriber.ks --responder-priv subscriber.key --originator-pub "$pub"
  $ cbx keygen -o shared.key
  $ SHARED_KEY="$(cat shared.key)" cbx keys add "" --keystore shared.ks --single env:SHARED_KEY`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.prefix = args[0]
			if err := o.checkFlags(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return keysAddRun(f, o)
		},
	}
	addKeyFlags(cmd, o)
	cmd.Flags().BoolVar(&o.force, "force", false, "replace an existing entry for PREFIX")
	return cmd
}

// addKeyFlags adds the key flags of keys add and keys rotate.
func addKeyFlags(cmd *cobra.Command, o *keysAddOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.originatorPriv, "originator-priv", "", "originator (publisher/caller) private key `SRC`")
	fl.StringVar(&o.originatorPub, "originator-pub", "", "originator (publisher/caller) public `KEY`")
	fl.StringVar(&o.responderPriv, "responder-priv", "", "responder (subscriber/callee) private key `SRC`")
	fl.StringVar(&o.responderPub, "responder-pub", "", "responder (subscriber/callee) public `KEY`")
	fl.StringVar(&o.single, "single", "", "one private key `SRC` for both roles (Autobahn's KeyRing(priv))")
}

// checkFlags refuses an empty key flag (an unset shell variable, typically, is a mistake,
// not the flag left out), then what check refuses.
func (o *keysAddOptions) checkFlags(cmd *cobra.Command) error {
	for _, name := range []string{"originator-priv", "originator-pub", "responder-priv", "responder-pub", "single"} {
		if fl := cmd.Flags().Lookup(name); fl.Changed && fl.Value.String() == "" {
			return &usageError{fmt.Errorf("--%s is empty", name)}
		}
	}
	return o.check()
}

// check refuses combinations of key flags that make no entry, before any key is read.
func (o *keysAddOptions) check() error {
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
	return nil
}

// readGeneration reads the keys the flags name: private keys from their sources, public
// keys from their arguments. The generation is not validated.
func (o *keysAddOptions) readGeneration(f *factory) (*keystore.Generation, error) {
	g := &keystore.Generation{}
	privs := []struct {
		src, what string
		dst       **keygen.PrivateKey
	}{
		{o.single, "--single", &g.Single},
		{o.originatorPriv, "--originator-priv", &g.OriginatorPrivate},
		{o.responderPriv, "--responder-priv", &g.ResponderPrivate},
	}
	for _, p := range privs {
		if p.src == "" {
			continue
		}
		k, err := f.readPrivateKey(p.src, p.what)
		if err != nil {
			return nil, err
		}
		*p.dst = &k
	}
	pubs := []struct {
		arg, what string
		dst       **keygen.PublicKey
	}{
		{o.originatorPub, "--originator-pub", &g.OriginatorPublic},
		{o.responderPub, "--responder-pub", &g.ResponderPublic},
	}
	for _, p := range pubs {
		if p.arg == "" {
			continue
		}
		k, err := parsePublicKeyArg(p.arg, p.what)
		if err != nil {
			return nil, withCode(exitKey, err)
		}
		*p.dst = &k
	}
	return g, nil
}

func keysAddRun(f *factory, o *keysAddOptions) error {
	g, err := o.readGeneration(f)
	if err != nil {
		return err
	}
	e := &keystore.Entry{Prefix: o.prefix, OriginatorPrivate: g.OriginatorPrivate, OriginatorPublic: g.OriginatorPublic,
		ResponderPrivate: g.ResponderPrivate, ResponderPublic: g.ResponderPublic, Single: g.Single}
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
				"`cbx keys rotate "+shellQuote(o.prefix)+" …` adds a new generation of its keys, the old ones still opening",
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

func countStdin(srcs ...string) int {
	n := 0
	for _, s := range srcs {
		if s == "-" {
			n++
		}
	}
	return n
}

func sidesOf(e *keystore.Entry) string { return sidesOfGen(e.Newest()) }

func sidesOfGen(e *keystore.Generation) string {
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
