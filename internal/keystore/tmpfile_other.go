//go:build !linux

package keystore

// writeUnnamed has no unnamed temporary files to offer outside Linux: the caller writes
// the named temporary file directly, reclaimed after a crash by the next Update.
func writeUnnamed(dir, tmp string, data []byte) (done bool, err error) { return false, nil }
