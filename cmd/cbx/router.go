package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/spf13/cobra"
)

type routerOptions struct {
	listen         string
	realms         []string
	tickets        []string
	wampcra        []string
	authorizedKeys string
	anonymous      bool
	tlsCert        string
	tlsKey         string
	trace          bool
	urlFile        string
	maxMessageSize int64
	queueSize      int
	queueBytes     int64
}

func newCmdRouter(f *factory, runF func(*routerOptions) error) *cobra.Command {
	o := &routerOptions{}
	cmd := &cobra.Command{
		Use:   "router [--listen ADDR] [--realm REALM...] [--trace] [auth flags]",
		Short: "Run a local WAMP router that carries sealed payloads as Crossbar.io does",
		Long: `router runs a WAMP router for local work, demos and CI: the gammazero/nexus engine with
cbx's adapter, which carries Autobahn's cryptobox payloads (enc_algo and a bare binary
payload) through unchanged and delivers them to each client in its own serializer, as
Crossbar.io does. It never holds a key: it cannot read sealed payloads, and --trace
shows exactly what it sees.

WAMP is served over WebSocket at any path (ws://ADDR/ws by convention), with the json,
msgpack and cbor serializers. Anonymous by default; --ticket, --wampcra and
--cryptosign-authorized-keys enable those methods (and then anonymous only with
--anonymous). Secrets are read from files (or - / env:NAME), never argv.

--cryptosign-authorized-keys FILE has one "AUTHID PUBKEY" a line (PUBKEY: Ed25519, 64 hex
digits or base64); "#" starts a comment.

Once it listens, the router prints its URL alone as the first line of stdout, before any
trace line, with the actual port when --listen's port is 0 (a free one, the way to run
several routers or to avoid a busy port in CI): "ws://127.0.0.1:41234/ws".
--url-file FILE writes the same line to FILE at the same moment, atomically (a reader
never sees it half written; mode 0644 less the umask), and removes FILE when the
router stops, if it is still the file the router wrote. A script waits for it with
"cbx wait --url-file FILE", which prints the URL once the router answers:

  cbx router --listen 127.0.0.1:0 --url-file router.url >/dev/null &
  export CBX_URL=$(cbx wait --url-file router.url --timeout 10s)

It runs until SIGINT or SIGTERM, then closes every session (GOODBYE) and exits 0: that is
its normal way to stop.

Limits: one incoming message may be at most --max-message-size bytes (larger: the
connection is closed with 1009). Messages wait for a client that reads slower than they
come in a queue of at most --queue-size messages and --queue-bytes bytes (payloads and
details, estimated; defaults 65536 and 64 MiB, so a burst is absorbed and a client that
stops reading costs at most that much). At the limit:
  - an event for that client is dropped, counted and logged (a warning on stderr and,
    with --trace, a drop line), never silently; the next event the router does deliver
    on that subscription carries details._cbx_dropped = the number dropped before it,
    which cbx subscribe reports;
  - a call to that client as callee fails at once: the caller gets ERROR
    wamp.error.network_failure;
  - a result or error for that client as caller is replaced by ERROR
    wamp.error.network_failure (after a progressive result the call is cancelled);
  - replies to its own requests (PUBLISHED, SUBSCRIBED, ...) are kept, up to a reserve
    above the limits; a client that exhausts even that is disconnected (close 1008).
The same size limit holds for what the router sends, and a message may grow past it
once encoded for its receiver (JSON's base64 of binary): a call that cannot be
delivered, or whose result cannot, ends for the caller with ERROR
wamp.error.payload_size_exceeded, and such an event is dropped for that subscriber like
the drops above.

Memory: besides the queues, the router lets about 32 MiB of garbage accumulate between
garbage collections, so that the collector does not run dozens of times a second under
load; with GOGC or GOMEMLIMIT set in the environment, Go's own settings apply instead.
CPU: the router runs on half the CPUs Go would use (at least one), which costs less per
event than waking idle ones; GOMAXPROCS in the environment overrides that.`,
		Example: `  $ cbx router --trace
  $ cbx router --listen 127.0.0.1:0 --url-file router.url
  $ cbx router --listen 127.0.0.1:9000 --realm realm1 --realm other --ticket alice=alice.ticket`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return routerRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.listen, "listen", "127.0.0.1:8080", "`address` to listen on")
	fl.StringArrayVar(&o.realms, "realm", nil, "`realm` to serve (repeatable; default realm1)")
	fl.StringArrayVar(&o.tickets, "ticket", nil, "allow ticket authentication for `AUTHID=SRC` (the ticket is read from SRC; repeatable)")
	fl.StringArrayVar(&o.wampcra, "wampcra", nil, "allow WAMP-CRA authentication for `AUTHID=SRC` (the secret is read from SRC; repeatable)")
	fl.StringVar(&o.authorizedKeys, "cryptosign-authorized-keys", "", "allow WAMP-cryptosign for the keys in `FILE`")
	fl.BoolVar(&o.anonymous, "anonymous", false, "also allow anonymous sessions when another method is configured")
	fl.StringVar(&o.tlsCert, "tls-cert", "", "serve wss:// with this PEM certificate `file`")
	fl.StringVar(&o.tlsKey, "tls-key", "", "the PEM private key `file` for --tls-cert")
	fl.BoolVar(&o.trace, "trace", false, "print every message as the router sees it on stdout, one line each")
	fl.StringVar(&o.urlFile, "url-file", "", "once listening, write the router's URL to `FILE` (atomically; removed when the router stops)")
	fl.Int64Var(&o.maxMessageSize, "max-message-size", router.DefaultMaxMessageSize, "largest message in `bytes`, received or sent")
	fl.IntVar(&o.queueSize, "queue-size", router.DefaultOutQueueSize, "outgoing messages that may wait for one client; beyond, its events are dropped")
	fl.Int64Var(&o.queueBytes, "queue-bytes", router.DefaultOutQueueBytes, "outgoing `bytes` that may wait for one client (estimated); beyond, its events are dropped")
	return cmd
}

// check refuses a bad command line before anything is read or listened on.
func (o *routerOptions) check() error {
	if err := checkListen(o.listen); err != nil {
		return err
	}
	if o.maxMessageSize <= 0 || o.queueSize <= 0 || o.queueBytes <= 0 {
		return &usageError{errors.New("--max-message-size, --queue-size and --queue-bytes must be positive")}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return &usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	return nil
}

func routerRun(ctx context.Context, f *factory, o *routerOptions) error {
	cfg := router.Config{
		Realms: o.realms, Anonymous: o.anonymous, MaxMessageSize: o.maxMessageSize, OutQueueSize: o.queueSize,
		OutQueueBytes: o.queueBytes, Logger: log.New(f.io.ErrOut, "cbx router: ", 0),
	}
	var err error
	if cfg.Tickets, err = f.readAuthSecrets(o.tickets, "--ticket"); err != nil {
		return err
	}
	if cfg.WampcraSecrets, err = f.readAuthSecrets(o.wampcra, "--wampcra"); err != nil {
		return err
	}
	if o.authorizedKeys != "" {
		if cfg.CryptosignKeys, err = readAuthorizedKeys(o.authorizedKeys); err != nil {
			return withCode(exitKey, err)
		}
	}
	traceFailed := make(chan error, 1)
	if o.trace {
		cfg.Trace = &watchedWriter{w: f.io.Out, failed: traceFailed}
	}
	srv, err := router.New(cfg)
	if err != nil {
		return err
	}
	f.signalsCaught() // before any session can start (catchSignals)
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return listenError(o.listen, err)
	}
	scheme := "ws"
	if o.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			l.Close()
			return withCode(exitKey, fmt.Errorf("loading --tls-cert/--tls-key: %w", err))
		}
		l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "wss"
	}
	realms := o.realms
	if len(realms) == 0 {
		realms = []string{router.DefaultRealm}
	}
	url := fmt.Sprintf("%s://%s/ws", scheme, l.Addr())
	f.ui.noticef("router listening on %s (realms: %s)", url, strings.Join(realms, ", "))
	// The URL is data (it holds the port chosen for --listen HOST:0): alone on the first
	// line of stdout, before any trace line, since nothing is served before it; and in
	// --url-file first, so that a router that cannot write it prints no URL either.
	if o.urlFile != "" {
		sf, err := writeSignalFile(o.urlFile, []byte(url+"\n"))
		if err != nil {
			l.Close()
			return signalFileError("--url-file", o.urlFile, err)
		}
		defer func() {
			if err := sf.remove(); err != nil {
				f.ui.warnf("could not remove --url-file %q: %v", o.urlFile, err)
			}
		}()
	}
	if _, err := fmt.Fprintln(f.io.Out, url); err != nil {
		l.Close()
		return &stdoutError{err}
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-traceFailed:
		// The trace is what the user ran the router for: it stops rather than go on
		// routing with the trace lost.
		srv.Close()
		return &stdoutError{err}
	case err := <-served:
		srv.Close()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return withCode(exitConnection, err)
	case <-ctx.Done():
		// SIGINT/SIGTERM: a router's normal way to stop; sessions get GOODBYE.
		srv.Close()
		st := srv.Stats()
		f.ui.noticef("router stopped: %d connections, %d messages in, %d out, %d sealed, %d dropped",
			st.Connections, st.Received, st.Sent, st.Sealed+st.PPT, st.Dropped)
		return nil
	}
}

// watchedWriter passes writes to w and reports the first failure on failed.
type watchedWriter struct {
	w      io.Writer
	failed chan<- error
	once   sync.Once
}

func (ww *watchedWriter) Write(p []byte) (int, error) {
	n, err := ww.w.Write(p)
	if err != nil {
		ww.once.Do(func() { ww.failed <- err })
	}
	return n, err
}

// checkListen refuses a --listen that is not HOST:PORT with a numeric port, before the
// router starts: net.Listen would fail with it too, but as if the network were at fault.
// HOST may be empty (every interface) or a name; whether it is an address of this
// machine is for net.Listen to say.
func checkListen(addr string) error {
	const form = "want HOST:PORT (e.g. 127.0.0.1:8080"
	_, port, err := net.SplitHostPort(addr)
	var ae *net.AddrError
	switch {
	case errors.As(err, &ae) && ae.Err == "missing port in address":
		return &usageError{fmt.Errorf("--listen %q: missing port; %s)", addr, form)}
	case err != nil:
		return &usageError{fmt.Errorf("--listen %q: %s; an IPv6 host in brackets: [::1]:8080)", addr, form)}
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return withCode(exitUsage, fmt.Errorf("--listen %q: port %q is not a number from 0 to 65535", addr, port),
			"port 0 picks a free port: --listen 127.0.0.1:0")
	}
	return nil
}

// listenError words a failed net.Listen for a well-formed --listen: the system's reason
// without Go's "listen tcp ADDR:" (the address is named once), exit 6.
func listenError(addr string, err error) error {
	var hints []string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		hints = append(hints, "another program listens there; --listen 127.0.0.1:0 picks a free port")
	case errors.Is(err, syscall.EACCES):
		hints = append(hints, "ports below 1024 need privileges; choose a higher one, or 0 for a free one")
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
	}
	return withCode(exitConnection, fmt.Errorf("listening on %q: %w", addr, err), hints...)
}

// readAuthSecrets reads AUTHID=SRC flags into authid → secret. A malformed flag is not
// repeated in the error: it may be the secret itself, given where AUTHID=SRC belongs.
func (f *factory) readAuthSecrets(flags []string, what string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, fl := range flags {
		id, src, ok := strings.Cut(fl, "=")
		if !ok || id == "" || src == "" {
			return nil, &usageError{fmt.Errorf("%s: want AUTHID=SRC, SRC a file path, \"-\" or env:NAME %s", what, notShown)}
		}
		b, _, err := f.readSecret(src, what+" "+id)
		if err != nil {
			return nil, err
		}
		out[id] = strings.TrimRight(string(b), "\r\n")
	}
	return out, nil
}

// readAuthorizedKeys reads the --cryptosign-authorized-keys file, whose grammar
// keygen.ParseAuthorizedKeys owns. Public keys are not secret, so the file's permissions
// are not checked.
func readAuthorizedKeys(path string) (map[string][]ed25519.PublicKey, error) {
	data, err := readFileLimited(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("--cryptosign-authorized-keys: %w", err)
	}
	keys, err := keygen.ParseAuthorizedKeys(data)
	var le *keygen.LineError
	switch {
	case errors.As(err, &le):
		return nil, fmt.Errorf("--cryptosign-authorized-keys: %s:%d: %w", path, le.Line, le.Err)
	case err != nil:
		return nil, fmt.Errorf("--cryptosign-authorized-keys: %s: %w", path, err)
	}
	return keys, nil
}
