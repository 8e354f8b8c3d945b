package main

import (
	"errors"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

// receiveOptions are the flags of the commands that receive (subscribe, register): which
// URIs they receive (--match, WAMP's match policy) and how many messages before they end
// (--count).
type receiveOptions struct {
	match     string
	count     int
	readyFile string // --ready-file (ready_file.go)
}

// addReceiveFlags adds --match, --count and --ready-file, with the command's words for
// them.
func addReceiveFlags(cmd *cobra.Command, o *receiveOptions, matchUsage, countUsage, readyUsage string) {
	cmd.Flags().StringVar(&o.match, "match", wamp.MatchExact, matchUsage)
	cmd.Flags().IntVarP(&o.count, "count", "n", 0, countUsage)
	cmd.Flags().Var((*fileName)(&o.readyFile), "ready-file", readyUsage)
}

// fileName is a flag naming a file: an empty name is refused (exit 2) rather than taken
// for no file, since `--ready-file "$UNSET"` would then make a script wait in vain.
type fileName string

func (n *fileName) String() string { return string(*n) }
func (n *fileName) Type() string   { return "file" }
func (n *fileName) Set(s string) error {
	if s == "" {
		return errors.New("give a file name")
	}
	*n = fileName(s)
	return nil
}

// check refuses a --match that is not a WAMP match policy and a negative --count, then
// the URI argument (name as the usage line has it: TOPIC, PROC) under the match policy,
// which decides whether it may have empty components, and a URI written in another
// system's wildcard syntax (topics.go).
func (o *receiveOptions) check(name, uri string) error {
	if err := o.checkFlags(); err != nil {
		return err
	}
	return checkPatternArg(name, uri, uri, o.match)
}

// checkFlags refuses a --match that is not a WAMP match policy and a negative --count.
func (o *receiveOptions) checkFlags() error {
	switch o.match {
	case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
	default:
		return &usageError{fmt.Errorf("--match %q: want exact, prefix or wildcard", o.match)}
	}
	if o.count < 0 {
		return &usageError{errors.New("--count must not be negative")}
	}
	return nil
}

// options are the Options of the SUBSCRIBE or REGISTER: the match policy, left out when
// it is exact, the default (advanced/pattern_based_subscription.md).
func (o *receiveOptions) options() wamp.Dict { return matchOptions(o.match) }

// matchOptions are the Options of a SUBSCRIBE or REGISTER under match.
func matchOptions(match string) wamp.Dict {
	opts := wamp.Dict{}
	if match != wamp.MatchExact {
		opts[wamp.OptMatch] = match
	}
	return opts
}
