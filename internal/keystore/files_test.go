//go:build unix

package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cbx-wamp/cbx/internal/box"
)

func writeSample(t *testing.T, path string) {
	t.Helper()
	if err := Update(path, func(ks *Keystore) error { return ks.Put(&Entry{Prefix: "a.", Single: priv(t, singlePriv)}) }); err != nil {
		t.Fatal(err)
	}
}

// What an interrupted write left behind is removed by the next Update, which says so; a
// file that merely looks similar is left alone.
func TestUpdateReclaimsLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keystore")
	writeSample(t, path)
	for _, name := range []string{".keystore.new", ".keystore.tmp-123456", ".keystore.tmp-notours", ".other.new"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(sample), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var notices []Notice
	err := Update(path, func(ks *Keystore) error { return nil }, WithNotices(func(n Notice) { notices = append(notices, n) }))
	if err != nil {
		t.Fatal(err)
	}
	var removed []string
	for _, n := range notices {
		if n.Err != nil {
			t.Errorf("notice with error: %v", n.Err)
		}
		removed = append(removed, filepath.Base(n.Removed))
	}
	slices.Sort(removed)
	if !slices.Equal(removed, []string{".keystore.new", ".keystore.tmp-123456"}) {
		t.Fatalf("removed %q", removed)
	}
	names := dirNames(t, dir)
	if !slices.Equal(names, []string{".keystore.tmp-notours", ".other.new", "keystore", "keystore.lock"}) {
		t.Fatalf("directory holds %q", names)
	}
}

// Load reclaims too, but only when asked to report it and only when no writer holds the
// lock: a writer may be between naming its new file and renaming it.
func TestLoadReclaimsOnlyWhenIdle(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keystore")
	writeSample(t, path)
	leftover := filepath.Join(dir, ".keystore.new")
	os.WriteFile(leftover, []byte(sample), 0o600)

	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); err != nil {
		t.Fatal("Load without WithNotices removed a file silently")
	}

	unlock, err := lockFile(path + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	var notices []Notice
	notify := WithNotices(func(n Notice) { notices = append(notices, n) })
	if _, err := Load(path, notify); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); err != nil || len(notices) != 0 {
		t.Fatalf("Load removed a writer's file while the lock was held (%v, %v)", err, notices)
	}
	unlock()

	if _, err := Load(path, notify); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) || len(notices) != 1 || notices[0].Removed != leftover {
		t.Fatalf("idle Load did not reclaim: %v, %+v", err, notices)
	}

	// A keystore without a lock file (never written by cbx, or read-only) is not touched,
	// and no lock file is created.
	ro := filepath.Join(t.TempDir(), "keystore")
	os.WriteFile(ro, []byte(sample), 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(ro), ".keystore.new"), []byte(sample), 0o600)
	if _, err := Load(ro, notify); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, filepath.Dir(ro)); !slices.Equal(names, []string{".keystore.new", "keystore"}) {
		t.Fatalf("directory holds %q", names)
	}
}

func TestWriteUnnamed(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("O_TMPFILE is Linux's")
	}
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".keystore.new")
	done, err := writeUnnamed(dir, tmp, []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Skip("no O_TMPFILE on this file system")
	}
	st, err := os.Stat(tmp)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("named file: %v, %v", st, err)
	}
	if got, _ := os.ReadFile(tmp); string(got) != sample {
		t.Fatalf("content %q", got)
	}
}

// Keystores that cannot be read or written are typed errors naming the path.
func TestIOErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("x"), 0o600)
	loop := filepath.Join(dir, "loop")
	os.Symlink(loop, loop)
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600)

	var ioe *IOError
	through := filepath.Join(plain, "keystore")
	if _, err := Load(through); !errors.As(err, &ioe) || !errors.Is(err, syscall.ENOTDIR) || ioe.Path != through {
		t.Errorf("Load through a file: %v", err)
	}
	if err := Update(through, func(*Keystore) error { return nil }); !errors.As(err, &ioe) || !errors.Is(err, syscall.ENOTDIR) ||
		err.Error() != `keystore "`+through+`": cannot create its directory "`+plain+`": not a directory` {
		t.Errorf("Update through a file: %v", err)
	}
	if _, err := Load(loop); !errors.As(err, &ioe) || !errors.Is(err, syscall.ELOOP) ||
		err.Error() != `keystore "`+loop+`": cannot read it: too many levels of symbolic links` {
		t.Errorf("Load of a symlink loop: %v", err)
	}
	if err := Update(loop, func(*Keystore) error { return nil }); !errors.As(err, &ioe) || !errors.Is(err, syscall.ELOOP) {
		t.Errorf("Update of a symlink loop: %v", err)
	}
	var tl *TooLargeError
	if _, err := Load(big); !errors.As(err, &tl) || tl.Path != big {
		t.Errorf("Load of a big file: %v", err)
	}
	if err := Update(big, func(*Keystore) error { return nil }); !errors.As(err, &tl) {
		t.Errorf("Update of a big file: %v", err)
	}
	if _, err := ReadSecretFile(big); !errors.As(err, &tl) {
		t.Errorf("ReadSecretFile of a big file: %v", err)
	}
}

// A directory nobody may write to, not even root: sysfs refuses new files (EACCES) and
// a read-only mount would say EROFS. Both are IOErrors.
func TestUnwritableDirectory(t *testing.T) {
	path := "/sys/cbx-test-keystore"
	if f, err := os.Create(path); err == nil || !(errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EPERM)) {
		if err == nil {
			f.Close()
			os.Remove(path)
		}
		t.Skipf("/sys accepts new files here (%v)", err)
	}
	err := Update(path, func(ks *Keystore) error { return ks.Put(&Entry{Prefix: "a.", Single: priv(t, singlePriv)}) })
	var ioe *IOError
	if !errors.As(err, &ioe) || ioe.Path != path || !strings.Contains(err.Error(), `cannot lock it ("/sys/cbx-test-keystore.lock")`) {
		t.Fatalf("Update in /sys: %v", err)
	}
}

// A low-order public key never makes it into an entry: Put refuses it, and an entry
// built by hand without Validate gives no box.
func TestLowOrderPublicKeyInEntry(t *testing.T) {
	var low box.PublicKey // 0, of order 4
	e := &Entry{Prefix: "a.", OriginatorPrivate: priv(t, origPriv), ResponderPublic: &low}
	err := New().Put(e)
	if !errors.Is(err, ErrInvalidEntry) || !errors.Is(err, box.ErrLowOrderKey) || !strings.Contains(err.Error(), `"a.": responder-public: low-order public key`) {
		t.Fatalf("Put: %v", err)
	}
	if k, err := e.Box(true); k != nil || !errors.Is(err, box.ErrLowOrderKey) {
		t.Fatalf("Box: %v, %v", k, err)
	}
	if e.Key(true) != nil {
		t.Fatal("Key returned a box for a low-order key")
	}
	e2 := &Entry{Prefix: "b.", ResponderPrivate: priv(t, respPriv), OriginatorPublic: &low}
	if err := e2.Validate(); !errors.Is(err, box.ErrLowOrderKey) || !strings.Contains(err.Error(), "originator-public") {
		t.Fatalf("Validate: %v", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
