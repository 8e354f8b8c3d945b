package main

import (
	"io/fs"
	"syscall"
)

// fileIdentity is what, besides size and modification time, tells versions of the
// keystore file apart: its inode, which a write (a rename) changes, and its status change
// time, which a chmod changes (a keystore made readable again is read again).
func fileIdentity(st fs.FileInfo) (ino uint64, ctime int64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ino, sys.Ctim.Nano()
	}
	return 0, 0
}
