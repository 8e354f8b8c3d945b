package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
)

var errNoKey = errors.New("no key")

func defaultKeystorePath() (string, error) { return keystore.DefaultPath() }

// readPrivateKey reads a private key from a source that is never the key itself, so that
// secrets stay off argv (and out of shell history and ps): a file path, "-" for standard
// input, or "env:NAME". Files that group or others can access are refused.
func (f *factory) readPrivateKey(src, what string) (box.PrivateKey, error) {
	var data []byte
	var err error
	var where string
	switch {
	case src == "-":
		where = "standard input"
		data, err = io.ReadAll(io.LimitReader(f.io.In, 1<<20))
	case strings.HasPrefix(src, "env:"):
		name := strings.TrimPrefix(src, "env:")
		where = "environment variable " + name
		v := f.getenv(name)
		if v == "" {
			return box.PrivateKey{}, withCode(exitKey, fmt.Errorf("%s: environment variable %s is empty or unset", what, name))
		}
		data = []byte(v)
	default:
		where = fmt.Sprintf("file %q", src)
		data, err = keystore.ReadSecretFile(src)
		if errors.Is(err, fs.ErrNotExist) {
			return box.PrivateKey{}, withCode(exitKey, fmt.Errorf("%s: no such file %q", what, src),
				"private keys are read from a file, \"-\" (standard input) or env:NAME, never from the command line")
		}
	}
	var pe *keystore.PermissionError
	if errors.As(err, &pe) {
		return box.PrivateKey{}, fmt.Errorf("%s: %w", what, err)
	}
	if err != nil {
		return box.PrivateKey{}, fmt.Errorf("%s: reading %s: %w", what, where, err)
	}
	k, err := keygen.ParsePrivateKeyFile(data)
	if err != nil {
		return k, fmt.Errorf("%s from %s: %w", what, where, err)
	}
	return k, nil
}

// parsePublicKeyArg reads a public key given on the command line, or the path of a file
// holding one (such as the output of `cbx keygen -y`). Public keys may travel on argv.
func parsePublicKeyArg(s, what string) (box.PublicKey, error) {
	k, err := keygen.ParsePublicKey(s)
	if err == nil {
		return k, nil
	}
	if st, serr := os.Stat(s); serr == nil && st.Mode().IsRegular() {
		data, rerr := os.ReadFile(s)
		if rerr != nil {
			return k, fmt.Errorf("%s: %w", what, rerr)
		}
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 {
			return k, fmt.Errorf("%s: file %q: %w: want exactly one key line, found %d", what, s, keygen.ErrMalformed, len(lines))
		}
		if k, err = keygen.ParsePublicKey(lines[0]); err != nil {
			return k, fmt.Errorf("%s: file %q: %w", what, s, err)
		}
		return k, nil
	}
	return k, fmt.Errorf("%s: %w", what, err)
}
