package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

// entryJSON is what ls/show --json print: public keys and their fingerprints only.
type entryJSON struct {
	Prefix       string `json:"prefix"`
	Single       string `json:"single_public,omitempty"`
	SingleFP     string `json:"single_fingerprint,omitempty"`
	Originator   string `json:"originator_public,omitempty"`
	OriginatorFP string `json:"originator_fingerprint,omitempty"`
	Responder    string `json:"responder_public,omitempty"`
	ResponderFP  string `json:"responder_fingerprint,omitempty"`
	OriginatorPr bool   `json:"originator_private_held"`
	ResponderPr  bool   `json:"responder_private_held"`
	CanOriginate bool   `json:"can_originate"`
	CanRespond   bool   `json:"can_respond"`
}

func describe(e *keystore.Entry) entryJSON {
	j := entryJSON{Prefix: e.Prefix, CanOriginate: e.CanOriginate(), CanRespond: e.CanRespond()}
	pubOf := func(pub *keygen.PublicKey, priv *keygen.PrivateKey) (b64, fp string) {
		switch {
		case pub != nil:
			return keygen.Base64(*pub), keygen.Fingerprint(*pub)
		case priv != nil:
			p := priv.Public()
			return keygen.Base64(p), keygen.Fingerprint(p)
		}
		return "", ""
	}
	if e.Single != nil {
		j.Single, j.SingleFP = pubOf(nil, e.Single)
		j.OriginatorPr, j.ResponderPr = true, true
		return j
	}
	j.Originator, j.OriginatorFP = pubOf(e.OriginatorPublic, e.OriginatorPrivate)
	j.Responder, j.ResponderFP = pubOf(e.ResponderPublic, e.ResponderPrivate)
	j.OriginatorPr, j.ResponderPr = e.OriginatorPrivate != nil, e.ResponderPrivate != nil
	return j
}

func newCmdKeysLs(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [--json]",
		Short: "List keystore entries (fingerprints of public keys; --json: public keys too)",
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
			fmt.Fprintln(tw, "PREFIX\tSIDES\tORIGINATOR KEY\tRESPONDER KEY")
			for _, j := range list {
				o, r := markHeld(j.OriginatorFP, j.OriginatorPr), markHeld(j.ResponderFP, j.ResponderPr)
				if j.Single != "" {
					o, r = markHeld(j.SingleFP, true), "(same key)"
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
				fmt.Fprintf(tw, "single fingerprint:\t%s\n", j.SingleFP)
			} else {
				fmt.Fprintf(tw, "originator key:\t%s\n", markHeld(j.Originator, j.OriginatorPr))
				fmt.Fprintf(tw, "originator fingerprint:\t%s\n", orDash(j.OriginatorFP))
				fmt.Fprintf(tw, "responder key:\t%s\n", markHeld(j.Responder, j.ResponderPr))
				fmt.Fprintf(tw, "responder fingerprint:\t%s\n", orDash(j.ResponderFP))
			}
			fmt.Fprintf(tw, "originator side:\t%s\n", yesNo(j.CanOriginate, "seals PUBLISH and CALL, opens RESULT and ERROR"))
			fmt.Fprintf(tw, "responder side:\t%s\n", yesNo(j.CanRespond, "opens EVENT and INVOCATION, seals YIELD and ERROR"))
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(ok bool, what string) string {
	if ok {
		return what
	}
	return "no (keys missing)"
}
