package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/keystore"
)

// factory holds what commands share: the streams and the global flag values. Commands take
// what they need from it lazily, so `cbx keygen` never touches a keystore.
type factory struct {
	io           *ioStreams
	ui           *ui
	keystorePath string // --keystore, else CBX_KEYSTORE, else the context's, else the default path
	keystoreSet  bool   // --keystore was given
	ctx          contextState
	getenv       func(string) string
	secretEnv    []string // variables secrets were read from (env:NAME), kept from children

	// refused is a usage error found while cobra printed help instead (command_tree.go).
	refused error
	// caught is closed once the signal handlers of catchSignals are installed (nil when
	// it was not called).
	caught chan struct{}
}

// keystoreLocation resolves the keystore location: --keystore, else CBX_KEYSTORE, else
// the selected context's, else the user's config directory.
func (f *factory) keystoreLocation() (string, error) {
	if f.keystoreSet && f.keystorePath == "" {
		// Not the default location in disguise: the user meant to name a keystore.
		return "", &usageError{errors.New(`--keystore "": give a keystore file, or leave the flag out for the default`)}
	}
	if f.keystorePath != "" {
		return f.keystorePath, nil
	}
	if p := f.getenv("CBX_KEYSTORE"); p != "" {
		return p, nil
	}
	sel, err := f.activeContext()
	if err != nil {
		return "", err
	}
	if sel != nil && sel.c.keystore != "" {
		return sel.c.keystore, nil
	}
	return keystore.DefaultPath()
}

// keystoreNamedBy says who chose the keystore: "--keystore", "CBX_KEYSTORE", `context
// "NAME"`, or "" for the default location. A keystore somebody named must exist; only the
// default may be absent (then cbx is a plain WAMP client), so that a typo in a name never
// sends plaintext. Call it after keystoreLocation, which reports a bad context.
func (f *factory) keystoreNamedBy() string {
	switch {
	case f.keystorePath != "":
		return "--keystore"
	case f.getenv("CBX_KEYSTORE") != "":
		return "CBX_KEYSTORE"
	}
	if sel, _ := f.activeContext(); sel != nil && sel.c.keystore != "" {
		return sel.label()
	}
	return ""
}

// missingKeystore is the error for a keystore file that does not exist.
func (f *factory) missingKeystore(nf *keystore.NotFoundError) error {
	hints := []string{"add keys with `cbx keys add PREFIX …`, or make an empty keystore with `cbx keys init`"}
	if by := f.keystoreNamedBy(); by != "" {
		if strings.HasPrefix(by, "context ") {
			hints = append(hints, "check the context's keystore (`cbx context show`); to run without any keys, use a context without one")
		} else {
			hints = append(hints, "check the name; to run without any keys, leave out --keystore and CBX_KEYSTORE")
		}
		return withCode(exitKey, fmt.Errorf("keystore %q (named by %s) does not exist", nf.Path, by), hints...)
	}
	hints = append(hints, "or name another keystore with --keystore or CBX_KEYSTORE")
	return withCode(exitKey, nf, hints...)
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
// temporary file an interrupted write left behind, which held a copy of the keys, or
// writing a keystore of an older format in the current one.
func (f *factory) keystoreNotices() keystore.Option {
	return keystore.WithNotices(func(n keystore.Notice) {
		if n.UpgradedFrom != 0 {
			f.ui.warnf("keystore %q upgraded from format v%d to v%d (key generations); a cbx that reads only v%d refuses it now", n.Path, n.UpgradedFrom, keystore.FormatVersion, n.UpgradedFrom)
			return
		}
		if n.Err != nil {
			f.ui.warnf("could not remove %q, left behind by an interrupted keystore write (it holds a copy of the keystore): %v", n.Removed, n.Err)
			return
		}
		f.ui.warnf("removed %q, left behind by an interrupted keystore write", n.Removed)
	})
}
