package keystore

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// useTmpfile is false only in tests of the fallback.
var useTmpfile = true

// writeUnnamed writes data to an unnamed O_TMPFILE file in dir (mode 0600), syncs it and
// only then links it as tmp, for the instant before the caller renames it over the
// keystore: a crash before the link leaves nothing behind, since the kernel frees an
// unnamed file with its last descriptor. done is false, with no error, where the file
// system or kernel has no O_TMPFILE (or no way to link one), and the caller falls back
// to writing tmp directly.
func writeUnnamed(dir, tmp string, data []byte) (done bool, err error) {
	if !useTmpfile {
		return false, nil
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
			return false, nil // no O_TMPFILE here (EISDIR: a kernel before 3.11)
		}
		return false, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer f.Close()
	// Say 0600 explicitly in case of an odd umask.
	if err := f.Chmod(0o600); err != nil {
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		return false, err
	}
	if err := f.Sync(); err != nil {
		return false, err
	}
	// linkat through /proc needs no privilege; AT_EMPTY_PATH (no /proc) needs
	// CAP_DAC_READ_SEARCH.
	err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, tmp, unix.AT_SYMLINK_FOLLOW)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		if unix.Linkat(fd, "", unix.AT_FDCWD, tmp, unix.AT_EMPTY_PATH) == nil {
			return true, nil
		}
		return false, nil
	}
	if err != nil {
		return false, &os.LinkError{Op: "linkat", Old: "O_TMPFILE", New: tmp, Err: err}
	}
	return true, nil
}
