package keystore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DefaultPath is where the keystore lives when neither --keystore nor CBX_KEYSTORE names
// one: $XDG_CONFIG_HOME/cbx/keystore (~/.config/cbx/keystore on Linux).
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("keystore: no config directory to put the keystore in: %w", err)
	}
	return filepath.Join(dir, "cbx", "keystore"), nil
}

// PermissionError means a file holding secrets can be read or written by group or others.
// cbx refuses such files, as OpenSSH refuses loose private keys (authfile.c
// sshkey_perm_ok): whoever else could read it has the keys already.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%q has mode %04o: a file holding private keys must not be accessible by group or others", e.Path, uint32(e.Mode.Perm()))
}

// NotRegularError means a key or keystore path names something other than a regular file
// (a directory, a FIFO, a device).
type NotRegularError struct{ Path string }

func (e *NotRegularError) Error() string { return fmt.Sprintf("%q is not a regular file", e.Path) }

// NotFoundError means the keystore file does not exist yet.
type NotFoundError struct{ Path string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("keystore %q does not exist", e.Path) }

func (e *NotFoundError) Unwrap() error { return fs.ErrNotExist }

// ParseError is a keystore file that could not be parsed.
type ParseError struct {
	Path string
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("keystore %q: %v", e.Path, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// maxSecretFile bounds what is read from a key or keystore file.
const maxSecretFile = 4 << 20

// ReadSecretFile reads a file that holds private keys after checking, on the opened file,
// that neither group nor others have any access to it.
func ReadSecretFile(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO (or a device) must not hang cbx; it is refused below as
	// not a regular file. It has no effect on reading regular files.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path}
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, &PermissionError{Path: path, Mode: st.Mode()}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("%q is larger than %d bytes; not a key file", path, maxSecretFile)
	}
	return data, nil
}

// Load reads and parses the keystore at path. A missing file is a *[NotFoundError]; a
// file others can access a *[PermissionError]; a malformed one a *[ParseError].
func Load(path string) (*Keystore, error) {
	data, err := ReadSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{Path: path}
	}
	if err != nil {
		return nil, err
	}
	ks, err := Parse(data)
	if err != nil {
		return nil, &ParseError{Path: path, Err: err}
	}
	return ks, nil
}

// LoadOrEmpty is Load, with a missing file read as an empty keystore.
func LoadOrEmpty(path string) (*Keystore, error) {
	ks, err := Load(path)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return New(), nil
	}
	return ks, err
}

// Update changes the keystore at path under an exclusive lock: it reads the current file
// (an empty keystore if there is none), lets fn change it, and writes it back atomically.
// Concurrent Updates from several processes are serialized by the lock, so none loses
// another's change; the atomic write (a temporary file in the same directory, fsync,
// rename, fsync of the directory) means a crash leaves the old file or the new one, never
// a torn one. A new directory is made mode 0700 and the file is always mode 0600. If fn
// returns an error nothing is written.
func Update(path string, fn func(*Keystore) error) error {
	// A keystore reached through a symlink is updated where it lives: renaming over the
	// link would replace it with a file and leave the real keystore stale, and the lock
	// must be the same whichever name is used.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keystore: creating %q: %w", dir, err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return fmt.Errorf("keystore: locking %q: %w", path, err)
	}
	defer unlock()
	ks, err := LoadOrEmpty(path)
	if err != nil {
		return err
	}
	if err := fn(ks); err != nil {
		return err
	}
	return writeAtomic(path, ks.Marshal())
}

func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600 already; say so explicitly in case of an odd umask.
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("keystore: writing %q: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("keystore: syncing %q: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keystore: replacing %q: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; not all file systems support it
		d.Close()
	}
	return nil
}
