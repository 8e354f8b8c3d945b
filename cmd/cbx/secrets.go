package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
)

// notShown ends every message about a secret source that could not be used: the value
// given may have been the secret itself, typed where its source belongs.
const notShown = "(the value is not shown: it may be a secret)"

// readSecret reads a secret from a source that is never the secret itself, so that
// secrets stay off argv (and out of shell history and ps): a file path, "-" for standard
// input, or "env:NAME". Files that group or others can access are refused. A source that
// cannot be opened is never repeated in the error: if it was a secret given by mistake,
// it stays out of the terminal and the logs too.
func (f *factory) readSecret(src, what string) ([]byte, string, error) {
	switch {
	case src == "-":
		data, err := io.ReadAll(io.LimitReader(f.io.In, 1<<20))
		if err != nil {
			return nil, "", fmt.Errorf("%s: reading standard input: %w", what, err)
		}
		return data, "standard input", nil
	case strings.HasPrefix(src, "env:"):
		name := strings.TrimPrefix(src, "env:")
		f.secretEnv = append(f.secretEnv, name)
		v := f.getenv(name)
		if v == "" {
			return nil, "", withCode(exitKey, fmt.Errorf("%s: environment variable %s is empty or unset", what, name))
		}
		return []byte(v), "environment variable " + name, nil
	}
	data, err := keystore.ReadSecretFile(src)
	var pe *keystore.PermissionError
	var nr *keystore.NotRegularError
	var tl *keystore.TooLargeError
	var pathErr *fs.PathError
	const hint = "secrets are read from a file path, \"-\" (standard input) or env:NAME, never from the command line"
	switch {
	case errors.As(err, &pe), errors.As(err, &nr), errors.As(err, &tl):
		// The file exists, so src is a path, not a secret.
		return nil, "", withCode(exitKey, fmt.Errorf("%s: %w", what, err))
	case errors.Is(err, fs.ErrNotExist):
		return nil, "", withCode(exitKey, fmt.Errorf("%s: no file by that name %s", what, notShown), hint)
	case errors.As(err, &pathErr):
		return nil, "", withCode(exitKey, fmt.Errorf("%s: cannot open the file: %v %s", what, pathErr.Err, notShown), hint)
	case err != nil:
		return nil, "", withCode(exitKey, fmt.Errorf("%s: cannot read the file: %v", what, err))
	}
	return data, fmt.Sprintf("file %q", src), nil
}

// readPrivateKey reads a Curve25519 private key file from a secret source (see
// readSecret); keygen.ParsePrivateKeyFile knows the format.
func (f *factory) readPrivateKey(src, what string) (keygen.PrivateKey, error) {
	data, where, err := f.readSecret(src, what)
	if err != nil {
		return keygen.PrivateKey{}, err
	}
	k, err := keygen.ParsePrivateKeyFile(data)
	if err != nil {
		return k, fmt.Errorf("%s from %s: %w", what, where, err)
	}
	return k, nil
}

// parsePublicKeyArg reads a public key given on the command line, or the path of a file
// holding one (such as the output of `cbx keygen -y`). Public keys may travel on argv.
// keygen parses both forms; this only decides which one s is.
func parsePublicKeyArg(s, what string) (keygen.PublicKey, error) {
	k, err := keygen.ParsePublicKey(s)
	if err == nil || errors.Is(err, keygen.ErrLowOrder) {
		// A key, good or refused; not a file name.
		return k, wrapWhat(what, err)
	}
	st, serr := os.Stat(s)
	if serr != nil || !st.Mode().IsRegular() {
		return k, wrapWhat(what, err)
	}
	data, rerr := readFileLimited(s, 1<<20)
	if rerr != nil {
		return k, withCode(exitKey, fmt.Errorf("%s: %w", what, rerr))
	}
	k, err = keygen.ParsePublicKeyFile(data)
	switch {
	case errors.Is(err, keygen.ErrPrivateKeyFile):
		return k, withCode(exitKey, fmt.Errorf("%s: %q is a private key file; give its public key (cbx keygen -y %s)", what, s, shellQuote(s)))
	case err != nil:
		return k, fmt.Errorf("%s: file %q: %w", what, s, err)
	}
	return k, nil
}

func wrapWhat(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// readFileLimited reads a file that is not secret, refusing anything larger than max.
func readFileLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%q is larger than %d bytes", path, max)
	}
	return data, nil
}

// childEnv is the environment for commands cbx runs (register --exec): cbx's own, less
// every variable a secret was read from (env:NAME), which the command has no business
// seeing and could echo back to a caller.
func (f *factory) childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(f.secretEnv, name) {
			env = append(env, kv)
		}
	}
	return env
}
