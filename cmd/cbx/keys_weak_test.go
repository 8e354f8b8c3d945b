package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `cbx router --cryptosign-authorized-keys` refuses a small-order Ed25519 public key
// (exit 5, before listening): a signature "verifies" against such a key without proving
// anything about who made it. The encodings are the 8 small-order points, some in a
// non-canonical form (y ≥ p, or x = 0 with the sign bit set), in hex and in base64.
func TestRouterRefusesSmallOrderEd25519Keys(t *testing.T) {
	dir := t.TempDir()
	for _, key := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity
		"0100000000000000000000000000000000000000000000000000000000000080", // identity, x = -0
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
		"0000000000000000000000000000000000000000000000000000000000000080", // order 4
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 4, y = p
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"xxdqcD1N2E+6PAt2DRBnDyogU/osOczGTsf9d5KsA/o=",                     // order 8, base64
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", // identity, y = p+1
	} {
		t.Run(key[:8], func(t *testing.T) {
			file := filepath.Join(dir, key[:8]+".keys")
			content := "# authorized keys\ncarol 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\nmallory " + key + "\n"
			if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			r := startCbx(t, "router", "--listen", "127.0.0.1:0", "--cryptosign-authorized-keys", file)
			deadline := time.After(interopWait)
			for {
				select {
				case <-r.exited:
				case <-deadline:
					t.Fatalf("router neither exited nor listened after %v", interopWait)
				case <-time.After(20 * time.Millisecond):
					if strings.Contains(r.stderr.String(), "router listening") {
						t.Fatalf("the router started with a small-order key authorized:\n%s", r.stderr)
					}
					continue
				}
				break
			}
			if code := r.cmd.ProcessState.ExitCode(); code != exitKey {
				t.Fatalf("exit %d, want %d\n%s", code, exitKey, r.stderr)
			}
			want := "cbx: error: --cryptosign-authorized-keys: " + file + ":3: low-order public key"
			if !strings.Contains(r.stderr.String(), want) {
				t.Fatalf("stderr does not say %q:\n%s", want, r.stderr)
			}
		})
	}
}
