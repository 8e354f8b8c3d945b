//go:build unix

package keystore

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// UpdatePrivateFile keeps another private file as the keystore is kept: made 0600 in a
// 0700 directory, refused when group or others can access it, unchanged when fn fails,
// and its interrupted writes' leftovers removed and reported.
func TestUpdatePrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cbx")
	path := filepath.Join(dir, "contexts")
	var sawExists []bool
	write := func(content string) error {
		return UpdatePrivateFile(path, func(old []byte, exists bool) ([]byte, error) {
			sawExists = append(sawExists, exists)
			return append(old, content...), nil
		})
	}
	if err := write("one\n"); err != nil {
		t.Fatal(err)
	}
	if err := write("two\n"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one\ntwo\n" {
		t.Fatalf("content %q", got)
	}
	if len(sawExists) != 2 || sawExists[0] || !sawExists[1] {
		t.Fatalf("exists %v, want [false true]", sawExists)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v, mode %v, want %04o", p, err, st.Mode().Perm(), mode)
		}
	}

	// fn's error is returned and nothing is written.
	boom := errors.New("boom")
	err := UpdatePrivateFile(path, func([]byte, bool) ([]byte, error) { return []byte("lost"), boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want fn's error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one\ntwo\n" {
		t.Fatalf("content %q after a failed update", got)
	}

	// A leftover of an interrupted write is removed and reported.
	if err := os.WriteFile(filepath.Join(dir, ".contexts.new"), []byte("old copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	var removed []string
	err = UpdatePrivateFile(path, func(old []byte, _ bool) ([]byte, error) { return old, nil },
		WithNotices(func(n Notice) { removed = append(removed, filepath.Base(n.Removed)) }))
	if err != nil || len(removed) != 1 || removed[0] != ".contexts.new" {
		t.Fatalf("err %v, removed %q", err, removed)
	}

	// Group or others may not read it: refused before fn runs.
	if err := os.Chmod(path, 0o604); err != nil {
		t.Fatal(err)
	}
	err = UpdatePrivateFile(path, func([]byte, bool) ([]byte, error) { t.Fatal("fn ran"); return nil, nil })
	var pe *PermissionError
	if !errors.As(err, &pe) || pe.Mode.Perm() != 0o604 {
		t.Fatalf("got %v, want a *PermissionError for mode 0604", err)
	}

	// Too much to read back is not written.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	err = UpdatePrivateFile(path, func([]byte, bool) ([]byte, error) { return make([]byte, MaxFileSize+1), nil })
	var tl *TooLargeError
	if !errors.As(err, &tl) || !tl.Writing {
		t.Fatalf("got %v, want a *TooLargeError for writing", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "one\ntwo\n" {
		t.Fatalf("content %q after a refused update", got)
	}
}
