package testkit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The repository's one copy of the vectors loads, has the recorded checksum and is the
// file the tests are told about.
func TestCryptoboxVectors(t *testing.T) {
	b := CryptoboxVectors(t)
	var v struct {
		Generator string            `json:"generator"`
		Keys      map[string]any    `json:"keys"`
		Vectors   []json.RawMessage `json:"vectors"`
		Negative  []json.RawMessage `json:"negative"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.Generator, "Autobahn|Python 22.7.1") || len(v.Keys) == 0 || len(v.Vectors) == 0 || len(v.Negative) == 0 {
		t.Fatalf("not Autobahn's vector file: generator %q, %d keys, %d vectors, %d negative", v.Generator, len(v.Keys), len(v.Vectors), len(v.Negative))
	}
	onDisk, err := os.ReadFile(CryptoboxVectorsPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, b) {
		t.Fatal("CryptoboxVectorsPath and CryptoboxVectors name different files")
	}
	if !filepath.IsAbs(CryptoboxVectorsPath(t)) {
		t.Fatal("the path is handed to peer processes with another working directory: it must be absolute")
	}
}

// An edit of the vectors, however small, is refused with a message naming the file.
func TestCryptoboxVectorsChecksum(t *testing.T) {
	good := CryptoboxVectors(t)
	if err := checkVectors(good); err != nil {
		t.Fatalf("the recorded file is refused: %v", err)
	}
	for name, edit := range map[string]func([]byte) []byte{
		"one byte":         func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
		"trailing newline": func(b []byte) []byte { return append(b, '\n') },
		"truncated":        func(b []byte) []byte { return b[:len(b)-1] },
		"empty":            func([]byte) []byte { return nil },
	} {
		err := checkVectors(edit(bytes.Clone(good)))
		if err == nil {
			t.Errorf("%s: an edited vector file is accepted", name)
		} else if !strings.Contains(err.Error(), "testdata/vectors/cryptobox.json") || !strings.Contains(err.Error(), CryptoboxVectorsSHA256) {
			t.Errorf("%s: the error does not name the file and the recorded checksum: %v", name, err)
		}
	}
}
