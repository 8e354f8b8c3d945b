package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

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
				now := time.Now()
				for _, g := range r.Entry.Generations() {
					fmt.Fprintf(tw, "generation %d:\t%s; %s\n", g.Number, generationState(g, r.Entry, now), generationKeys(g))
				}
				n := r.Entry.Newest().Number
				fmt.Fprintf(tw, "publish, call:\t%s\n", sealState(r.Entry.CanOriginate(), fmt.Sprintf("sealed with the originator box of generation %d", n), "refused (exit 5), never sent in plaintext: the entry has no originator-private key and responder key"))
				fmt.Fprintf(tw, "subscribe, register:\t%s\n", sealState(r.Entry.CanRespond(), openedWith(r.Entry, now), "cannot open sealed payloads: the entry has no responder-private key and originator key"))
			} else {
				fmt.Fprintf(tw, "publish, call:\tplaintext\n")
				fmt.Fprintf(tw, "subscribe, register:\t%s\n", receiveWithoutEntry(ks, args[0]))
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

// openedWith says which generations open what a subscriber or callee receives.
func openedWith(e *keystore.Entry, now time.Time) string {
	var open []string
	for _, g := range e.Generations() {
		if g.CanRespond() && !g.RetiredAt(now) {
			open = append([]string{strconv.Itoa(g.Number)}, open...) // newest first
		}
	}
	if len(open) == 1 {
		return "opened with the responder box of generation " + open[0]
	}
	return "opened with the responder box of the generation the payload names, else of generations " + strings.Join(open, ", ") + " in turn"
}

func sealState(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// receiveWithoutEntry says what a subscriber or callee does on uri when no entry covers it
// for sealing. Plaintext is accepted. A sealed payload is opened with Autobahn's KeyRing
// lookup, which knows no "wamp." rule (keystore.LookupOpen): under "wamp." the default key
// still opens what Autobahn seals with it (its wamp.error.* replies); elsewhere there is
// no key, and the payload is reported and skipped.
func receiveWithoutEntry(ks *keystore.Keystore, uri string) string {
	e, ok := ks.LookupOpen(uri)
	switch {
	case !ok:
		return "plaintext; a sealed payload cannot be opened (no key covers the URI)"
	case e.CanRespond():
		return fmt.Sprintf("plaintext; a sealed payload is opened with the responder box of entry %s, as Autobahn opens its wamp.error.* replies", keystore.PrefixName(e.Prefix))
	}
	return fmt.Sprintf("plaintext; a sealed payload cannot be opened: entry %s has no responder-private key and originator key", keystore.PrefixName(e.Prefix))
}
