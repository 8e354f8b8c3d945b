//go:build linux

package keystore

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
)

// crashHelperEnv makes the test binary a helper process that updates the keystore named
// by the variable in a loop until it is killed.
const crashHelperEnv = "CBX_KEYSTORE_CRASH_HELPER"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashHelperEnv); path != "" {
		crashHelper(path)
		return
	}
	os.Exit(m.Run())
}

// crashHelper replaces the one entry of the keystore again and again, each time with
// another key, so every write changes the whole file.
func crashHelper(path string) {
	if os.Getenv(crashHelperEnv+"_NO_TMPFILE") != "" {
		setNoTmpfile()
	}
	if os.Getenv(crashHelperEnv+"_ROTATE") != "" {
		rotateHelper(path)
	}
	for i := 0; ; i++ {
		k := box.PrivateKey{byte(i), byte(i >> 8), 1}
		err := Update(path, func(ks *Keystore) error {
			ks.Remove("a.")
			return ks.Put(&Entry{Prefix: "a.", Single: &k})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(3)
		}
	}
}

// rotateHelper adds a generation to the entry "a." again and again, each with another
// single key, so the first write upgrades a version 1 keystore and every write after it
// makes the file longer.
func rotateHelper(path string) {
	for i := 0; ; i++ {
		k := box.PrivateKey{byte(i), byte(i >> 8), 2}
		err := Update(path, func(ks *Keystore) error {
			e, _ := ks.Get("a.")
			r, err := e.Rotated(&Generation{Single: &k}, time.Time{})
			if err != nil {
				return err
			}
			return ks.Put(r)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(3)
		}
	}
}

// A version 1 keystore whose upgrade is killed at any instant is afterwards the old
// version 1 file, byte for byte, or a whole version 2 file with the old key as its
// generation 1: never torn, never half upgraded.
func TestKilledUpgradeLeavesOldOrNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keystore")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	v1 := "cbx-keystore v1\nprefix \"a.\"\nsingle AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\nend\n"
	const kills = 30
	upgraded := 0
	for i := range kills {
		if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashHelperEnv+"="+path, crashHelperEnv+"_ROTATE=1")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The first write, the upgrade, comes a few milliseconds after the start: kill
		// around then.
		time.Sleep(time.Duration(rand.IntN(15000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the helper ended on its own: %v", i, err)
		}
		ks, err := Load(path)
		if err != nil {
			t.Fatalf("kill %d: the keystore is torn: %v", i, err)
		}
		e, ok := ks.Get("a.")
		switch {
		case !ok || len(ks.Entries()) != 1:
			t.Fatalf("kill %d: %d entries", i, len(ks.Entries()))
		case ks.Version() == 1:
			if data, _ := os.ReadFile(path); string(data) != v1 {
				t.Fatalf("kill %d: a version 1 file that is not the old one:\n%s", i, data)
			}
		default:
			upgraded++
			gens := e.Generations()
			if len(gens) < 2 || gens[0].Single == nil || gens[0].Single[0] != 0 || gens[0].Single[31] != 31 {
				t.Fatalf("kill %d: upgraded, but generation 1 is not the old key (%d generations)", i, len(gens))
			}
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("kill %d: mode %v", i, st.Mode())
		}
	}
	// Not asserted (it depends on timing): how many kills came after the upgrade.
	t.Logf("%d of %d kills found the keystore upgraded", upgraded, kills)
}

// A write killed with SIGKILL at any instant leaves the old keystore or the new one,
// never a torn one, and no file holding a copy of the keys survives the next write.
func TestKilledWritesLeaveNoTempFile(t *testing.T) {
	modes := []string{"tmpfile", "named"}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "keystore")
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			// Start from a keystore with the helper's one entry, so that every whole
			// version of the file, old or new, has exactly one.
			if err := Update(path, func(ks *Keystore) error {
				return ks.Put(&Entry{Prefix: "a.", Single: &box.PrivateKey{1}})
			}); err != nil {
				t.Fatal(err)
			}
			const kills = 40
			leftovers := 0
			for i := range kills {
				cmd := exec.Command(self, "-test.run=^$")
				cmd.Env = append(os.Environ(), crashHelperEnv+"="+path)
				if mode == "named" {
					cmd.Env = append(cmd.Env, crashHelperEnv+"_NO_TMPFILE=1")
				}
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Let the helper start (a few ms) and then run for a random while.
				time.Sleep(time.Duration(5+rand.IntN(40)) * time.Millisecond)
				cmd.Process.Signal(syscall.SIGKILL)
				err := cmd.Wait()
				if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
					t.Fatalf("kill %d: the helper ended on its own: %v", i, err)
				}
				// Right after the kill the keystore is whole: the old content or the new.
				ks, err := Load(path)
				if err != nil {
					t.Fatalf("kill %d: the keystore is torn: %v", i, err)
				}
				if n := len(ks.Entries()); n != 1 {
					t.Fatalf("kill %d: %d entries, want 1", i, n)
				}
				// The next write leaves nothing but the keystore and its lock file, and
				// says what it removed.
				before := dirNames(t, dir)
				var removed []string
				err = Update(path, func(*Keystore) error { return nil }, WithNotices(func(n Notice) {
					if n.Err != nil {
						t.Errorf("kill %d: %v", i, n.Err)
					}
					removed = append(removed, filepath.Base(n.Removed))
				}))
				if err != nil {
					t.Fatalf("kill %d: the next update failed: %v", i, err)
				}
				names := dirNames(t, dir)
				if !slices.Equal(names, []string{"keystore", "keystore.lock"}) {
					t.Fatalf("kill %d: after the next write the directory holds %q", i, names)
				}
				for _, n := range before {
					if n != "keystore" && n != "keystore.lock" && !slices.Contains(removed, n) {
						t.Fatalf("kill %d: %q was removed without a notice (notices: %q)", i, n, removed)
					}
				}
				if len(removed) > 0 {
					leftovers++
				}
			}
			// Not asserted (it depends on timing): how often a kill hit the named window.
			t.Logf("%d of %d kills left a temporary file for the next write to remove", leftovers, kills)
		})
	}
}

func setNoTmpfile() { useTmpfile = false }
