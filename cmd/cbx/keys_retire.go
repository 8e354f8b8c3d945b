package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

type keysRetireOptions struct {
	prefix     string
	generation int
	after      string    // --after, as given
	at         time.Time // when it retires
}

func newCmdKeysRetire(f *factory, runF func(*keysRetireOptions) error) *cobra.Command {
	o := &keysRetireOptions{}
	cmd := &cobra.Command{
		Use:   "retire PREFIX GEN [--after WHEN]",
		Short: "Retire an older generation of a prefix's keys: it opens nothing any more",
		Long: `retire ends generation GEN of the keys for PREFIX: from WHEN on (now by default) a
sealed payload that only GEN would open is refused, with a message naming the retired
generation, and cbx open, cbx call and (with --require-encrypted) cbx subscribe exit 3.
cbx subscribe skips such an event with a warning, cbx register answers such a call
wamp.error.encryption.decrypt_error.

Only an older generation retires: the newest seals (rotate first). WHEN is an RFC 3339
time (2026-08-01T12:00:00Z), a date (2026-08-01, at 00:00 UTC), a duration from now
(72h, 90m) or "now". A retirement still to come can be moved; one that has happened is
final.`,
		Example: `  $ cbx keys retire com.example.secure. 1
  $ cbx keys retire com.example.secure. 1 --after 2026-08-01
  $ cbx keys retire com.example.secure. 2 --after 168h`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.prefix = args[0]
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 1 {
				return &usageError{fmt.Errorf("GEN %q is not a generation number (1, 2, …; `cbx keys show PREFIX` lists them)", args[1])}
			}
			o.generation = n
			when := o.after
			if when == "" {
				when = "now"
			}
			if o.at, err = parseWhen(when, time.Now()); err != nil {
				return &usageError{fmt.Errorf("--after: %w", err)}
			}
			if runF != nil {
				return runF(o)
			}
			return keysRetireRun(f, o)
		},
	}
	cmd.Flags().StringVar(&o.after, "after", "", "retire at `WHEN` (RFC 3339 time, date, duration from now, or now; default now)")
	return cmd
}

func keysRetireRun(f *factory, o *keysRetireOptions) error {
	path, err := f.keystoreLocation()
	if err != nil {
		return err
	}
	now := time.Now()
	var before time.Time
	err = keystore.Update(path, func(ks *keystore.Keystore) error {
		e, ok := ks.Get(o.prefix)
		if !ok {
			return withCode(exitKey, fmt.Errorf("no entry for prefix %q in keystore %q", o.prefix, path),
				"`cbx keys ls` lists the prefixes")
		}
		if o.generation <= len(e.Older) {
			g := e.Older[o.generation-1]
			if g.RetiredAt(now) {
				return &usageError{fmt.Errorf("generation %d of %s retired at %s already; a retirement that has happened is final",
					g.Number, keystore.PrefixName(o.prefix), formatRetireTime(g.RetireAfter))}
			}
			before = g.RetireAfter
		}
		r, err := e.Retired(o.generation, o.at)
		var ge *keystore.GenerationError
		if errors.As(err, &ge) {
			return &usageError{err}
		}
		if err != nil {
			return err
		}
		return ks.Put(r)
	}, f.keystoreNotices())
	if err != nil {
		return err
	}
	switch {
	case !o.at.After(now):
		f.ui.infof("retired generation %d of %s in %s: it opens nothing any more", o.generation, keystore.PrefixName(o.prefix), path)
	case before.IsZero():
		f.ui.infof("generation %d of %s retires at %s", o.generation, keystore.PrefixName(o.prefix), formatRetireTime(o.at))
	default:
		f.ui.infof("generation %d of %s retires at %s (was %s)", o.generation, keystore.PrefixName(o.prefix), formatRetireTime(o.at), formatRetireTime(before))
	}
	return nil
}

// parseWhen reads the time of --retire-after and --after: "now", an RFC 3339 time, a
// date (YYYY-MM-DD, at 00:00 UTC) or a positive Go duration counted from now. The result
// is whole seconds, as the keystore keeps it.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now.Truncate(time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.Truncate(time.Second), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: a duration counts from now and must be positive", s)
		}
		return now.Add(d).Truncate(time.Second), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want an RFC 3339 time (2026-08-01T12:00:00Z), a date (2026-08-01), a duration from now (72h) or now", s)
}
