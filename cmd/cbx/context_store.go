package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cbx-wamp/cbx/internal/keystore"
)

// contextsPath is where the contexts file lives: $XDG_CONFIG_HOME/cbx/contexts, next to
// the default keystore.
func contextsPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", withCode(exitKey, fmt.Errorf("no config directory for the contexts file: %w", err))
	}
	return filepath.Join(dir, "cbx", "contexts"), nil
}

// loadContexts reads the contexts file. A missing file is no contexts (nil, no error);
// one that group or others can access, that cannot be read, or that is malformed is
// refused (exit 5), whether or not a context was asked for: it may choose one by itself
// (`cbx context use`), and cbx never guesses what it would have said.
func loadContexts() (*contextFile, string, error) {
	path, err := contextsPath()
	if err != nil {
		return nil, "", err
	}
	data, err := keystore.ReadSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, path, nil
	}
	if err != nil {
		return nil, path, contextsFileError(path, err)
	}
	cf, err := parseContexts(data)
	if err != nil {
		return nil, path, contextsFileError(path, err)
	}
	return cf, path, nil
}

// updateContexts changes the contexts file under its lock (keystore.UpdatePrivateFile):
// fn gets the current contexts (none when there is no file yet) and changes them; if it
// returns an error nothing is written.
func (f *factory) updateContexts(fn func(cf *contextFile) error) (string, error) {
	path, err := contextsPath()
	if err != nil {
		return "", err
	}
	err = keystore.UpdatePrivateFile(path, func(data []byte, exists bool) ([]byte, error) {
		cf := newContextFile()
		if exists {
			var err error
			if cf, err = parseContexts(data); err != nil {
				return nil, contextsFileError(path, err)
			}
		}
		if err := fn(cf); err != nil {
			return nil, err
		}
		return cf.marshal(), nil
	}, keystore.WithNotices(func(n keystore.Notice) {
		if n.Err != nil {
			f.ui.warnf("could not remove %q, left behind by an interrupted write of the contexts file: %v", n.Removed, n.Err)
			return
		}
		f.ui.warnf("removed %q, left behind by an interrupted write of the contexts file", n.Removed)
	}))
	// A file or syntax error from the keystore package is worded for the contexts file;
	// fn's own errors, and those already worded, pass as they are.
	var ce *contextsError
	if err != nil && !errors.As(err, &ce) && contextsFileMessage(path, err) != "" {
		err = contextsFileError(path, err)
	}
	return path, err
}

// contextsError is a problem with the contexts file itself: exit 5, like a keystore
// problem, since the file chooses the keystore and the secrets' sources.
type contextsError struct {
	msg string
	err error
}

func (e *contextsError) Error() string { return e.msg }
func (e *contextsError) Unwrap() error { return e.err }

// contextsFileError words an error about the contexts file for it (the keystore
// package's text speaks of keystores and private keys), keeping the error for the exit
// code (5) and the chmod hint.
func contextsFileError(path string, err error) error {
	msg := contextsFileMessage(path, err)
	if msg == "" {
		msg = fmt.Sprintf("contexts file %q: %v", path, err)
	}
	return withCode(exitKey, &contextsError{msg, err})
}

// contextsFileMessage words err for the contexts file when it is one of the keystore
// package's file errors or a syntax error; "" for any other error.
func contextsFileMessage(path string, err error) string {
	var pe *keystore.PermissionError
	var nr *keystore.NotRegularError
	var tl *keystore.TooLargeError
	var ioe *keystore.IOError
	var se *contextSyntaxError
	switch {
	case errors.As(err, &pe):
		return fmt.Sprintf("contexts file %q has mode %04o: it chooses the router, the keystore and the secrets' sources, so it must not be accessible by group or others", path, uint32(pe.Mode.Perm()))
	case errors.As(err, &nr):
		return fmt.Sprintf("contexts file %q is not a regular file", path)
	case errors.As(err, &tl) && tl.Writing:
		return fmt.Sprintf("contexts file %q would grow beyond %d bytes, more than cbx reads back: not changed", path, tl.Limit)
	case errors.As(err, &tl):
		return fmt.Sprintf("contexts file %q is larger than %d bytes: not a contexts file", path, tl.Limit)
	case errors.As(err, &ioe):
		return fmt.Sprintf("contexts file %q: %s: %v", path, ioe.Op, ioe.Err)
	case errors.As(err, &se):
		return fmt.Sprintf("contexts file %q: %v", path, se)
	}
	return ""
}
