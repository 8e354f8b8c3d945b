package testkit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// VectorsFile is the repository's one copy of the Autobahn-made WAMP-cryptobox vectors,
// relative to the module root. testdata/vectors/gen_vectors.py made it with
// Autobahn|Python 22.7.1's own KeyRing, serializers and PyNaCl (docs/wire.md §6.4); it
// tests internal/box (the sealed bytes), internal/e2e (the plaintext), internal/wamp (the
// serialized messages) and internal/router (what the adapter forwards).
const VectorsFile = "testdata/vectors/cryptobox.json"

// CryptoboxVectorsSHA256 is the SHA-256 of [VectorsFile] as Autobahn produced it. The
// vectors are evidence made by another implementation, not a file to adjust until a test
// passes: a changed byte fails every test that loads them. Regenerate them with
// gen_vectors.py (and update this constant in the same commit) only when the vector set
// itself is meant to change.
const CryptoboxVectorsSHA256 = "c6a708d70dfde1f99e16bf071b5e8268f5f54aa3e1df5560710d68eb011d6963"

// CryptoboxVectors returns the contents of [VectorsFile] after checking its checksum.
func CryptoboxVectors(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(CryptoboxVectorsPath(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CryptoboxVectorsPath returns the absolute path of [VectorsFile] after checking its
// checksum, for peers in other processes (abpeer.py --keys) that read it themselves.
func CryptoboxVectorsPath(t testing.TB) string {
	t.Helper()
	path := filepath.Join(ModuleRoot(t), filepath.FromSlash(VectorsFile))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkVectors(b); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkVectors(b []byte) error {
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != CryptoboxVectorsSHA256 {
		return fmt.Errorf("%s has SHA-256 %s, want %s: the Autobahn-made vectors were edited (regenerate them with gen_vectors.py instead, and record the new checksum in testkit.CryptoboxVectorsSHA256)",
			VectorsFile, got, CryptoboxVectorsSHA256)
	}
	return nil
}

// ModuleRoot returns the directory holding go.mod, found upwards from the working
// directory (go test runs each package's tests in that package's directory).
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
