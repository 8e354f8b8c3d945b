package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

type keysRotateOptions struct {
	keysAddOptions // the key flags; force is not used

	retireAfter string    // --retire-after, as given
	retireAt    time.Time // parsed; zero when not given
}

func newCmdKeysRotate(f *factory, runF func(*keysRotateOptions) error) *cobra.Command {
	o := &keysRotateOptions{}
	cmd := &cobra.Command{
		Use:   "rotate PREFIX {--single SRC | [--originator-priv SRC | --originator-pub KEY] [--responder-priv SRC | --responder-pub KEY]} [--retire-after WHEN]",
		Short: "Add a new generation of keys for a URI prefix; the old ones still open",
		Long: `rotate adds a new generation of keys to the keystore entry for PREFIX, with the key
flags of keys add. The new generation seals from now on; the older ones only open, so
what a peer that has not rotated yet sends still opens, and nothing is lost while the two
sides change keys one after the other. Generations are numbered 1, 2, 3, … (the keys
keys add stored are generation 1).

A side whose keys are not given keeps those of the newest generation: a subscriber
that makes a new key pair runs rotate with --responder-priv alone. With --single, or
when the newest generation is a single key, give every key of the new one.

--retire-after WHEN retires the older generations at WHEN (those not retiring earlier
already): from then on a payload only they open is refused (exit 3), naming the
generation. WHEN is an RFC 3339 time (2026-08-01T12:00:00Z), a date (2026-08-01, at
00:00 UTC), a duration from now (72h, 90m) or "now". keys retire retires one generation
later on.

A sealed payload names the key it was sealed for by its fingerprint (ppt_keyid, or
enc_key in the legacy form), so a receiver picks the matching generation; payloads
without one (Autobahn's) are tried with each open generation, newest first.

Rotating both sides without losing a message: each side makes its new key pair and gives
the other its public key; the receiving side (subscriber, callee) rotates first, with
its new private key and the other side's new public key; then the sending side rotates.
Once no old payload is expected, retire the old generation on the receiving side.`,
		Example: `  # the subscriber: a new key pair, and the publisher's new public key
  $ cbx keys rotate com.example.secure. --responder-priv subscriber-2.key --originator-pub "$(cat publisher-2.pub)"
  # then the publisher: its new private key, the subscriber's new public key
  $ cbx keys rotate com.example.secure. --originator-priv publisher-2.key --responder-pub "$(cat subscriber-2.pub)"
  # the subscriber, a day later: the old generation opens nothing any more
  $ cbx keys retire com.example.secure. 1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.prefix = args[0]
			if err := o.checkFlags(cmd); err != nil {
				return err
			}
			if o.retireAfter != "" {
				t, err := parseWhen(o.retireAfter, time.Now())
				if err != nil {
					return &usageError{fmt.Errorf("--retire-after: %w", err)}
				}
				o.retireAt = t
			}
			if runF != nil {
				return runF(o)
			}
			return keysRotateRun(f, o)
		},
	}
	addKeyFlags(cmd, &o.keysAddOptions)
	cmd.Flags().StringVar(&o.retireAfter, "retire-after", "", "retire the older generations at `WHEN` (RFC 3339 time, date, duration from now, or now)")
	return cmd
}

func keysRotateRun(f *factory, o *keysRotateOptions) error {
	next, err := o.readGeneration(f)
	if err != nil {
		return err
	}
	path, err := f.keystoreLocation()
	if err != nil {
		return err
	}
	var rotated *keystore.Entry
	err = keystore.Update(path, func(ks *keystore.Keystore) error {
		e, ok := ks.Get(o.prefix)
		if !ok {
			return withCode(exitKey, fmt.Errorf("no entry for prefix %q in keystore %q to rotate", o.prefix, path),
				"add its first generation with `cbx keys add "+shellQuote(o.prefix)+" …`")
		}
		if err := o.carryOver(next, e.Newest()); err != nil {
			return err
		}
		r, err := e.Rotated(next, o.retireAt)
		var ge *keystore.GenerationError
		switch {
		case errors.As(err, &ge):
			return &usageError{err}
		case err != nil:
			return withCode(exitKey, err)
		}
		rotated = r
		return ks.Put(r)
	}, f.keystoreNotices())
	if err != nil {
		return err
	}
	n := rotated.Newest()
	f.ui.infof("rotated %s in %s to generation %d (%s): %s", keystore.PrefixName(o.prefix), path, n.Number, sidesOfGen(n), generationKeys(n))
	for _, g := range rotated.Older {
		f.ui.infof("generation %d: %s", g.Number, generationState(g, rotated, time.Now()))
	}
	return nil
}

// carryOver gives next the keys of newest for each side the flags leave out. A single
// key (given, or the newest generation's) carries nothing over: it serves both sides.
func (o *keysRotateOptions) carryOver(next, newest *keystore.Generation) error {
	if o.single != "" {
		return nil
	}
	origGiven := o.originatorPriv != "" || o.originatorPub != ""
	respGiven := o.responderPriv != "" || o.responderPub != ""
	if newest.Single != nil {
		if !origGiven || !respGiven {
			return &usageError{fmt.Errorf("generation %d of %s is a single key, which serves both sides: give the new generation's originator and responder keys, or --single", newest.Number, keystore.PrefixName(o.prefix))}
		}
		return nil
	}
	if !origGiven {
		next.OriginatorPrivate, next.OriginatorPublic = newest.OriginatorPrivate, newest.OriginatorPublic
	}
	if !respGiven {
		next.ResponderPrivate, next.ResponderPublic = newest.ResponderPrivate, newest.ResponderPublic
	}
	return nil
}
