package keystore

import (
	"errors"
	"io/fs"
)

// UpdatePrivateFile gives another file of cbx's configuration the keystore's discipline:
// cbx's contexts file (`cbx context`) chooses the router, the keystore and where secrets
// come from, so whoever could change it could redirect them, and it is handled like the
// keystore. Under the same kind of lock file as [Update] it reads the file at path with
// [ReadSecretFile] (so a file group or others can access is refused with a
// *[PermissionError]), passes its content to fn (exists is false, and data nil, when
// there is no file yet), and writes what fn returns atomically, mode 0600, in a
// directory made 0700: the old file or the new one, never a torn one. If fn returns an
// error nothing is written. What an interrupted write left behind is removed first and
// reported through [WithNotices], as for the keystore.
//
// Errors are those of [Update] (*[IOError], *[TooLargeError], …); their text speaks of a
// keystore, so callers that update another file word them for it.
func UpdatePrivateFile(path string, fn func(data []byte, exists bool) ([]byte, error), opts ...Option) error {
	o := collect(opts)
	path, unlock, err := lockForUpdate(path, o)
	if err != nil {
		return err
	}
	defer unlock()
	data, err := ReadSecretFile(path)
	exists := true
	var pe *PermissionError
	var nr *NotRegularError
	var tl *TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		data, exists = nil, false
	case errors.As(err, &pe), errors.As(err, &nr), errors.As(err, &tl):
		return err
	case err != nil:
		return ioError(path, "cannot read it", err)
	}
	out, err := fn(data, exists)
	if err != nil {
		return err
	}
	if len(out) > MaxFileSize {
		return &TooLargeError{Path: path, Limit: MaxFileSize, Writing: true}
	}
	return writeAtomic(path, out)
}
