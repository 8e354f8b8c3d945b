package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

// keysJSON is one generation's keys as ls/show --json print them: public keys and their
// fingerprints only, never a private key.
type keysJSON struct {
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

// generationJSON is one generation: its number, its state (generationStates) and keys.
type generationJSON struct {
	Generation  int    `json:"generation"`
	State       string `json:"state"`
	RetireAfter string `json:"retire_after,omitempty"`
	keysJSON
}

// entryJSON is what ls/show --json print for an entry: its newest generation's keys at the
// top level (what seals), and every generation, oldest first.
type entryJSON struct {
	Prefix string `json:"prefix"`
	keysJSON
	Generation  int              `json:"generation"`
	Generations []generationJSON `json:"generations"`
}

// The states of a generation, as ls --json names them.
const (
	stateSeals   = "seals"   // the newest: seals and opens
	stateOpens   = "opens"   // older: opens only
	stateRetires = "retires" // older, opens only until its retire-after time
	stateRetired = "retired" // older, past its retire-after time: opens nothing
)

func generationStateName(g *keystore.Generation, e *keystore.Entry, now time.Time) string {
	switch {
	case g == e.Newest():
		return stateSeals
	case g.RetiredAt(now):
		return stateRetired
	case !g.RetireAfter.IsZero():
		return stateRetires
	}
	return stateOpens
}

// generationState says in words what a generation does at now.
func generationState(g *keystore.Generation, e *keystore.Entry, now time.Time) string {
	switch generationStateName(g, e, now) {
	case stateSeals:
		return "seals (newest)"
	case stateRetired:
		return "retired at " + formatRetireTime(g.RetireAfter) + ": opens nothing"
	case stateRetires:
		return "opens only, until " + formatRetireTime(g.RetireAfter)
	}
	return "opens only"
}

// formatRetireTime writes a retirement time as the keystore does: RFC 3339, UTC.
func formatRetireTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func describeKeys(g *keystore.Generation) keysJSON {
	j := keysJSON{CanOriginate: g.CanOriginate(), CanRespond: g.CanRespond()}
	pubOf := func(pub *keygen.PublicKey) (b64, fp string) {
		if pub == nil {
			return "", ""
		}
		return keygen.Base64(*pub), keygen.Fingerprint(*pub)
	}
	if g.Single != nil {
		j.Single, j.SingleFP = pubOf(g.OriginatorKey())
		j.OriginatorPr, j.ResponderPr = true, true
		return j
	}
	j.Originator, j.OriginatorFP = pubOf(g.OriginatorKey())
	j.Responder, j.ResponderFP = pubOf(g.ResponderKey())
	j.OriginatorPr, j.ResponderPr = g.OriginatorPrivate != nil, g.ResponderPrivate != nil
	return j
}

func describe(e *keystore.Entry, now time.Time) entryJSON {
	j := entryJSON{Prefix: e.Prefix, keysJSON: describeKeys(e.Newest()), Generation: e.Newest().Number}
	for _, g := range e.Generations() {
		gj := generationJSON{Generation: g.Number, State: generationStateName(g, e, now), keysJSON: describeKeys(g)}
		if !g.RetireAfter.IsZero() {
			gj.RetireAfter = formatRetireTime(g.RetireAfter)
		}
		j.Generations = append(j.Generations, gj)
	}
	return j
}

// generationKeys names a generation's keys by their fingerprints, for one line.
func generationKeys(g *keystore.Generation) string {
	j := describeKeys(g)
	if j.Single != "" {
		return "single key " + markHeld(j.SingleFP, true)
	}
	return "originator " + markHeld(j.OriginatorFP, j.OriginatorPr) + ", responder " + markHeld(j.ResponderFP, j.ResponderPr)
}

func newCmdKeysLs(f *factory) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls [--json]",
		Short: "List keystore entries and their key generations (fingerprints; --json: public keys too)",
		Long: `ls lists every entry of the keystore, one line per generation of its keys: the
generation's number, its state (seals: the newest; opens: an older one, which only opens,
possibly until a retire-after time; retired: opens nothing), the sides it serves, and the
fingerprints of its public keys (what cbx keygen prints for them), marked where this
keystore holds the private key. --json prints the public keys too. Private keys are
never printed.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ks, _, err := f.loadKeystore()
			if err != nil {
				return err
			}
			now := time.Now()
			list := []entryJSON{}
			for _, e := range ks.Entries() {
				list = append(list, describe(e, now))
			}
			if asJSON {
				return writeJSONLine(f.io.Out, list)
			}
			tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PREFIX\tGEN\tSTATE\tSIDES\tORIGINATOR KEY\tRESPONDER KEY")
			for _, j := range list {
				for _, g := range j.Generations {
					o, r := markHeld(g.OriginatorFP, g.OriginatorPr), markHeld(g.ResponderFP, g.ResponderPr)
					if g.Single != "" {
						o, r = markHeld(g.SingleFP, true), "(same key)"
					}
					state := g.State
					if g.RetireAfter != "" {
						state += " " + g.RetireAfter
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", strconv.Quote(j.Prefix), g.Generation, state, sidesShort(g.keysJSON), o, r)
				}
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

func sidesShort(j keysJSON) string {
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
		Short: "Show one keystore entry and its key generations (public keys only)",
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
			now := time.Now()
			j := describe(e, now)
			if asJSON {
				return writeJSONLine(f.io.Out, j)
			}
			tw := tabwriter.NewWriter(f.io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "prefix:\t%s\n", keystore.PrefixName(j.Prefix))
			for i, g := range e.Generations() {
				gj := j.Generations[i]
				fmt.Fprintf(tw, "generation %d:\t%s\n", g.Number, generationState(g, e, now))
				if gj.Single != "" {
					fmt.Fprintf(tw, "  single key:\t%s (private held; both roles)\n", gj.Single)
					fmt.Fprintf(tw, "  single fingerprint:\t%s\n", gj.SingleFP)
				} else {
					fmt.Fprintf(tw, "  originator key:\t%s\n", markHeld(gj.Originator, gj.OriginatorPr))
					fmt.Fprintf(tw, "  originator fingerprint:\t%s\n", orDash(gj.OriginatorFP))
					fmt.Fprintf(tw, "  responder key:\t%s\n", markHeld(gj.Responder, gj.ResponderPr))
					fmt.Fprintf(tw, "  responder fingerprint:\t%s\n", orDash(gj.ResponderFP))
				}
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
