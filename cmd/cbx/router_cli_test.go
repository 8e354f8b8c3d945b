package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startRouterCmd runs `cbx router` as a user does (a subprocess, port 0) and returns the
// URL it prints.
func startRouterCmd(t *testing.T, args ...string) string {
	t.Helper()
	r := startCbx(t, append([]string{"router", "--listen", "127.0.0.1:0"}, args...)...)
	re := regexp.MustCompile(`router listening on (wss?://\S+) `)
	line := waitFor(t, r.stderr, r.exited, "the router's listening line", re.MatchString)
	return re.FindStringSubmatch(line)[1]
}

func writeSecret(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each authentication method of `cbx router`, with the client flags of the session
// commands: the right secret joins, a wrong one is refused with exit 6, and anonymous is
// refused once a method is configured.
func TestRouterCommandAuthentication(t *testing.T) {
	dir := t.TempDir()
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	otherSeed := make([]byte, ed25519.SeedSize)
	rand.Read(otherSeed)
	authorized := filepath.Join(dir, "authorized")
	if err := os.WriteFile(authorized, []byte("# authid key\ncarol "+hex.EncodeToString(pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := startRouterCmd(t,
		"--ticket", "alice="+writeSecret(t, dir, "alice.ticket", "alice-ticket"),
		"--wampcra", "bob="+writeSecret(t, dir, "bob.secret", "bob-secret"),
		"--cryptosign-authorized-keys", authorized)
	ks := emptyKeystore(t)
	base := []string{"--url", url, "--keystore", ks}
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"ticket", []string{"--authid", "alice", "--ticket", writeSecret(t, dir, "t1", "alice-ticket")}, exitOK},
		{"wrong ticket", []string{"--authid", "alice", "--ticket", writeSecret(t, dir, "t2", "nope")}, exitConnection},
		{"wampcra", []string{"--authid", "bob", "--wampcra-secret", writeSecret(t, dir, "c1", "bob-secret")}, exitOK},
		{"wrong wampcra", []string{"--authid", "bob", "--wampcra-secret", writeSecret(t, dir, "c2", "nope")}, exitConnection},
		{"cryptosign", []string{"--authid", "carol", "--cryptosign-key", writeSecret(t, dir, "k1", hex.EncodeToString(seed))}, exitOK},
		{"unauthorized cryptosign key", []string{"--authid", "carol", "--cryptosign-key", writeSecret(t, dir, "k2", hex.EncodeToString(otherSeed))}, exitConnection},
		{"anonymous refused", nil, exitConnection},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append([]string{"publish", "com.example.t", "x", "--ack"}, base...), c.args...)
			_, errOut := cbxExit(t, c.code, args...)
			if c.code == exitConnection && !regexp.MustCompile(`wamp\.error\.(authentication_failed|no_auth_method|not_authorized)|session aborted`).MatchString(errOut) {
				t.Fatalf("refusal does not say why:\n%s", errOut)
			}
		})
	}
	// A secret file others can read is refused before anything is sent.
	loose := writeSecret(t, dir, "loose", "alice-ticket")
	os.Chmod(loose, 0o644)
	_, errOut := cbxExit(t, exitKey, append(append([]string{"publish", "com.example.t", "x"}, base...), "--authid", "alice", "--ticket", loose)...)
	if !regexp.MustCompile(`has mode 0644`).MatchString(errOut) {
		t.Fatalf("loose ticket file: %s", errOut)
	}
}

// cbx router --tls-cert/--tls-key serves wss://; cbx trusts it with --ca, or with
// --insecure, and refuses it otherwise.
func TestRouterCommandTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSignedCert(t, dir)
	url := startRouterCmd(t, "--tls-cert", certFile, "--tls-key", keyFile)
	if url[:6] != "wss://" {
		t.Fatalf("router URL %q is not wss://", url)
	}
	ks := emptyKeystore(t)
	cbxExit(t, exitOK, "publish", "com.example.t", "x", "--ack", "--url", url, "--keystore", ks, "--ca", certFile)
	cbxExit(t, exitOK, "publish", "com.example.t", "x", "--ack", "--url", url, "--keystore", ks, "--insecure")
	_, errOut := cbxExit(t, exitConnection, "publish", "com.example.t", "x", "--url", url, "--keystore", ks)
	if !regexp.MustCompile(`certificate`).MatchString(errOut) {
		t.Fatalf("an untrusted certificate was not the reason: %s", errOut)
	}
}

func selfSignedCert(t *testing.T, dir string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cbx test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// A --listen port that another process holds is a connection problem (exit 6) with a
// hint towards a free port, not a usage error.
func TestRouterListenPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	_, errOut := cbxExit(t, exitConnection, "router", "--listen", addr)
	want := "cbx: error: listening on \"" + addr + "\": address already in use\n" +
		"cbx: hint: another program listens there; --listen 127.0.0.1:0 picks a free port\n"
	if !strings.HasSuffix(errOut, want) {
		t.Fatalf("stderr:\n%s\nwant it to end with:\n%s", errOut, want)
	}
}

// cbx router whose standard output cannot be written stops before it serves anything
// (exit 1): the URL it prints there is what a script reads to find it.
func TestRouterURLToFullStdoutStops(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	defer full.Close()
	cmd := exec.Command(cbxPath(t), "router", "--listen", "127.0.0.1:0", "--url-file", filepath.Join(t.TempDir(), "url"))
	cmd.Env = interopEnv()
	cmd.Stdout = full
	var stderr strings.Builder
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("the router still runs with its URL unwritten; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitError {
		t.Fatalf("router exited %d, want %d; stderr:\n%s", code, exitError, stderr.String())
	}
	if !strings.Contains(stderr.String(), "cbx: error: writing to standard output: no space left on device") {
		t.Fatalf("stderr does not say why:\n%s", stderr.String())
	}
}

// failAfter accepts the first n bytes written to it and fails every write after them, as
// a full disk does.
type failAfter struct {
	mu sync.Mutex
	n  int
}

func (w *failAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(p) > w.n {
		return 0, syscall.ENOSPC
	}
	w.n -= len(p)
	return len(p), nil
}

// cbx router --trace whose standard output fails after the URL line stops at the first
// trace line it cannot write (exit 1), rather than go on routing with the trace lost.
func TestRouterTraceToFullStdoutStops(t *testing.T) {
	stderr := newWatchedBuffer()
	exited := make(chan int, 1)
	streams := &ioStreams{In: strings.NewReader(""), Out: &failAfter{n: len("ws://127.0.0.1:65535/ws\n")}, ErrOut: stderr}
	go func() { exited <- run([]string{"router", "--listen", "127.0.0.1:0", "--trace"}, streams) }()
	re := regexp.MustCompile(`router listening on (wss?://\S+) `)
	line := waitFor(t, stderr, nil, "the router's listening line", re.MatchString)
	url := re.FindStringSubmatch(line)[1]
	// The session's first message is a trace line the router cannot write.
	cbxRun(t, "", "publish", "org.plain.t", "x", "--url", url, "--keystore", emptyKeystore(t), "--timeout", "5s")
	select {
	case code := <-exited:
		if code != exitError {
			t.Fatalf("router exited %d, want %d; stderr:\n%s", code, exitError, stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the router still runs with its trace lost; stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), "cbx: error: writing to standard output: no space left on device") {
		t.Fatalf("stderr does not say why:\n%s", stderr.String())
	}
}
