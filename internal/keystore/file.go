package keystore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

func (e *ParseError) Error() string {
	var se *SyntaxError
	if errors.As(e.Err, &se) {
		return fmt.Sprintf("keystore %q: %s", e.Path, se.detail())
	}
	return fmt.Sprintf("keystore %q: %v", e.Path, e.Err)
}
func (e *ParseError) Unwrap() error { return e.Err }

// IOError means the keystore, its directory or its lock file could not be read or
// written: a symlink loop, a path through a regular file, no permission, a read-only file
// system, a full disk. It is a keystore problem like the others (cbx exits 5), not a
// failure of cbx.
type IOError struct {
	Path string // the keystore
	Op   string // what could not be done, e.g. "cannot read it"
	Err  error  // the system's reason
}

func (e *IOError) Error() string { return fmt.Sprintf("keystore %q: %s: %v", e.Path, e.Op, e.Err) }
func (e *IOError) Unwrap() error { return e.Err }

// ioError wraps a system error, dropping the path it repeats.
func ioError(path, op string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &IOError{Path: path, Op: op, Err: err}
}

// TooLargeError means a key file or keystore is larger than cbx reads ([MaxFileSize]).
type TooLargeError struct {
	Path  string
	Limit int64
	// Writing: the keystore an Update would write is too large (nothing was written).
	Writing bool
}

func (e *TooLargeError) Error() string {
	if e.Writing {
		return fmt.Sprintf("keystore %q would grow beyond %d bytes, more than cbx reads back: not changed", e.Path, e.Limit)
	}
	return fmt.Sprintf("%q is larger than %d bytes: not a key file or keystore", e.Path, e.Limit)
}

// MaxFileSize bounds what is read from a key or keystore file.
const MaxFileSize = 4 << 20

// ReadSecretFile reads a file that holds private keys after checking, on the opened file,
// that neither group nor others have any access to it. It returns the error of os.Open
// as it is; a file that is not regular is a *[NotRegularError], one others can access a
// *[PermissionError], one larger than [MaxFileSize] a *[TooLargeError].
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
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, &TooLargeError{Path: path, Limit: MaxFileSize}
	}
	return data, nil
}

// Notice is something this package did on the caller's behalf that the user should hear
// of. The package never prints; callers that pass [WithNotices] say it. One of Removed
// and UpgradedFrom is set.
type Notice struct {
	// Removed is a temporary file left behind by an interrupted write: it held a whole
	// copy of the keystore, private keys included.
	Removed string
	// Err is set when it could not be removed; it is still there.
	Err error

	// UpgradedFrom is the older format version the keystore at Path was in before
	// [Update] wrote it in [FormatVersion], which cbx versions that only read the older
	// one refuse.
	UpgradedFrom int
	Path         string
}

// Option adjusts [Load] and [Update].
type Option func(*options)

type options struct{ notify func(Notice) }

// WithNotices passes every [Notice] to fn.
func WithNotices(fn func(Notice)) Option { return func(o *options) { o.notify = fn } }

func collect(opts []Option) options {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

func (o options) tell(n Notice) {
	if o.notify != nil {
		o.notify(n)
	}
}

// Load reads and parses the keystore at path. A missing file is a *[NotFoundError]; a
// file others can access a *[PermissionError]; one too large a *[TooLargeError]; one that
// cannot be read an *[IOError]; a malformed one a *[ParseError].
//
// With [WithNotices], Load first removes what an interrupted write left behind (see
// [Update]), but only when it can take the keystore's lock at once: a writer holding it
// may be about to rename its temporary file, and Load never waits and never creates the
// lock file (the keystore may be read-only).
func Load(path string, opts ...Option) (*Keystore, error) {
	if o := collect(opts); o.notify != nil {
		reclaimIfIdle(RealPath(path), o.tell)
	}
	return load(path)
}

// reclaimIfIdle is reclaim for Load: only if the lock file exists and can be taken at
// once.
func reclaimIfIdle(path string, notify func(Notice)) {
	unlock, ok := tryLockExisting(path + ".lock")
	if !ok {
		return
	}
	defer unlock()
	reclaim(path, notify)
}

func load(path string) (*Keystore, error) {
	data, err := ReadSecretFile(path)
	var pe *PermissionError
	var nr *NotRegularError
	var tl *TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &NotFoundError{Path: path}
	case errors.As(err, &pe), errors.As(err, &nr), errors.As(err, &tl):
		return nil, err
	case err != nil:
		return nil, ioError(path, "cannot read it", err)
	}
	ks, err := Parse(data)
	if err != nil {
		return nil, &ParseError{Path: path, Err: err}
	}
	return ks, nil
}

// LoadOrEmpty is Load, with a missing file read as an empty keystore.
func LoadOrEmpty(path string, opts ...Option) (*Keystore, error) {
	ks, err := Load(path, opts...)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return New(), nil
	}
	return ks, err
}

// RealPath resolves symlinks, so that a keystore reached through one is locked and
// replaced where it lives: renaming over the link would replace it with a file and leave
// the real keystore stale, and the lock must be the same whichever name is used. It is
// the file [Update] replaces, so a caller that watches the keystore for changes watches
// this one.
func RealPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// Update changes the keystore at path under an exclusive lock: it reads the current file
// (an empty keystore if there is none), lets fn change it, and writes it back atomically.
// Concurrent Updates from several processes are serialized by the lock, so none loses
// another's change. A new directory is made mode 0700 and the file is always mode 0600.
// If fn returns an error nothing is written.
//
// The write leaves the old file or the new one, never a torn one, and no copy of the
// keys, even when the process is killed at any instant: the new content is written to
// an unnamed file in the keystore's directory (Linux O_TMPFILE, so a crash cannot orphan
// it) and synced, named ".NAME.new" only for the instant before rename(2) replaces the
// keystore, and the directory is synced. Where O_TMPFILE is not available the content is
// written to ".NAME.new" directly. Either way a ".NAME.new" (or a ".NAME.tmp-*" of older
// cbx versions) left by an interrupted write is removed, under the lock, at the start of
// the next Update, and reported through [WithNotices].
//
// A keystore of an older format version is read as such and written in [FormatVersion]
// (the same atomic write), which [WithNotices] reports; one of a newer version is
// refused (a *[ParseError] wrapping a *[VersionError]) and left as it is.
func Update(path string, fn func(*Keystore) error, opts ...Option) error {
	o := collect(opts)
	path, unlock, err := lockForUpdate(path, o)
	if err != nil {
		return err
	}
	defer unlock()
	ks, err := load(path)
	var nf *NotFoundError
	switch {
	case errors.As(err, &nf):
		ks = New()
	case err != nil:
		return err
	}
	from := ks.Version()
	if err := fn(ks); err != nil {
		return err
	}
	data := ks.Marshal()
	if len(data) > MaxFileSize {
		// Writing it would lock the user out: cbx refuses to read it back.
		return &TooLargeError{Path: path, Limit: MaxFileSize, Writing: true}
	}
	if err := writeAtomic(path, data); err != nil {
		return err
	}
	if from < FormatVersion {
		o.tell(Notice{UpgradedFrom: from, Path: path})
	}
	return nil
}

// newName is the one name a new keystore has before it replaces the old one.
func newName(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".new")
}

// isLeftover reports whether name, in the keystore's directory, is a temporary file of an
// interrupted write: ".NAME.new", or ".NAME.tmp-<digits>" as cbx before this scheme
// named them (os.CreateTemp).
func isLeftover(keystoreBase, name string) bool {
	if name == "."+keystoreBase+".new" {
		return true
	}
	rest, ok := strings.CutPrefix(name, "."+keystoreBase+".tmp-")
	if !ok || rest == "" {
		return false
	}
	return strings.Trim(rest, "0123456789") == ""
}

// reclaim removes the temporary files an interrupted write left next to the keystore.
// The caller holds the lock, so no write is under way.
func reclaim(path string, notify func(Notice)) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() || !isLeftover(base, e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		err := os.Remove(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		notify(Notice{Removed: p, Err: err})
	}
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp := newName(path)
	done, err := writeUnnamed(dir, tmp, data)
	if err != nil {
		return ioError(path, "cannot write it", err)
	}
	if !done {
		if err := writeNamed(tmp, data); err != nil {
			return ioError(path, "cannot write it", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return ioError(path, "cannot replace it", err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; not all file systems support it
		d.Close()
	}
	return nil
}

// writeNamed writes data to a new file at tmp, mode 0600, and syncs it. A crash leaves
// the file behind, to be reclaimed by the next Update.
func writeNamed(tmp string, data []byte) (err error) {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// Say 0600 explicitly in case of an odd umask.
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// lockForUpdate begins an update of the private file at path (the keystore, or another
// file with its discipline: UpdatePrivateFile): it resolves path, makes its directory
// 0700, takes the lock file that serializes writers, and removes a copy left by a write
// killed before its rename (reclaim). The caller holds the lock until it calls unlock.
func lockForUpdate(path string, o options) (real string, unlock func(), err error) {
	path = RealPath(path)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, ioError(path, fmt.Sprintf("cannot create its directory %q", dir), err)
	}
	lock := path + ".lock"
	unlock, err = lockFile(lock)
	if err != nil {
		return "", nil, ioError(path, fmt.Sprintf("cannot lock it (%q)", lock), err)
	}
	reclaim(path, o.tell)
	return path, unlock, nil
}
