package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Signal files: cbx router's --url-file and subscribe's and register's --ready-file tell
// a script that something is ready (the router listens, the subscription exists) by
// appearing. They hold no secret (a URL, session and subscription IDs), so they are
// created with mode 0644 less the umask, like any file a shell redirection makes.
//
// A reader must never see one half written: the content goes to a new file beside it,
// which is then renamed over the name (rename(2) is atomic within a directory). A file
// cbx wrote is removed when what it announces ends (the router stops, the subscription
// is lost or ends), but only while it is still the one cbx wrote: a file another
// program put there since is left alone. A process that is killed (SIGKILL) cannot
// remove it; `cbx wait --url-file` therefore also checks that the router answers.

// signalFile is a file cbx wrote atomically and removes when what it announces ends.
type signalFile struct {
	path string
	info fs.FileInfo // the file as written, to recognise it at removal
}

// writeSignalFile writes data to path atomically and returns the file, for remove.
func writeSignalFile(path string, data []byte) (*signalFile, error) {
	dir, base := filepath.Split(path)
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	tmp := filepath.Join(dir, "."+base+"."+hex.EncodeToString(rnd[:])+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return nil, werr
	}
	info, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	return &signalFile{path: path, info: info}, nil
}

// remove removes the file if it is still the one cbx wrote. It may be called on a nil
// *signalFile (nothing was written) and more than once.
func (s *signalFile) remove() error {
	if s == nil {
		return nil
	}
	now, err := os.Lstat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !os.SameFile(now, s.info) {
		return nil // somebody else's by now
	}
	return os.Remove(s.path)
}

// signalFileError words a signal file that could not be written: which flag, which
// file, the system's reason.
func signalFileError(flag, path string, err error) error {
	return fmt.Errorf("writing %s %q: %w", flag, path, unwrapPathError(err))
}
