package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/router"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

// connOptions are the flags every command that talks to a router shares. Each has an
// environment fallback, natscli style, so scripts can set them once.
type connOptions struct {
	url, realm, serializer string
	authID, authRole       string
	ticket, wampcra        string // secret sources (file, "-", env:NAME)
	cryptosign             string // Ed25519 private key source
	ca                     string
	insecure               bool
	timeout                time.Duration
	wire                   string // auto, legacy, ppt
	requireEncrypted       bool
	verbose                bool

	from map[string]string // flag → the environment variable its value came from (resolve)

	// onRefused hears of calls the session refused before any handler ran (register).
	onRefused func(procedure, uri string, err error)

	maxMessageSize byteCount // largest message sent; resolve fills in the default
}

const (
	defaultURL   = "ws://127.0.0.1:8080/ws"
	defaultRealm = "realm1"
)

func addConnFlags(cmd *cobra.Command, o *connOptions) {
	fl := cmd.Flags()
	fl.StringVar(&o.url, "url", "", "router `URL`, ws:// or wss:// (env CBX_URL; default "+defaultURL+")")
	fl.StringVar(&o.realm, "realm", "", "`realm` to join (env CBX_REALM; default "+defaultRealm+")")
	fl.StringVar(&o.serializer, "serializer", "", "WAMP serializer: json, msgpack or cbor (env CBX_SERIALIZER; default json)")
	fl.StringVar(&o.authID, "authid", "", "authentication ID (env CBX_AUTHID)")
	fl.StringVar(&o.authRole, "authrole", "", "requested authentication role (env CBX_AUTHROLE)")
	fl.StringVar(&o.ticket, "ticket", "", "ticket authentication: the ticket's `SRC` (file, - or env:NAME; env CBX_TICKET names the SRC)")
	fl.StringVar(&o.wampcra, "wampcra-secret", "", "WAMP-CRA authentication: the secret's `SRC` (env CBX_WAMPCRA_SECRET names the SRC)")
	fl.StringVar(&o.cryptosign, "cryptosign-key", "", "WAMP-cryptosign authentication: Ed25519 private key `SRC` (env CBX_CRYPTOSIGN_KEY names the SRC)")
	fl.StringVar(&o.ca, "ca", "", "PEM `file` of CA certificates to trust for wss:// (env CBX_CA)")
	fl.BoolVar(&o.insecure, "insecure", false, "do not verify the router's TLS certificate (env CBX_INSECURE)")
	fl.DurationVar(&o.timeout, "timeout", 0, "give up after this `duration` (e.g. 10s); 0 means no limit (env CBX_TIMEOUT)")
	fl.StringVar(&o.wire, "wire", "", "sealed payload form: auto, legacy (Autobahn/Crossbar enc_algo) or ppt (Payload PassThru Mode) (env CBX_WIRE; default auto)")
	fl.BoolVar(&o.requireEncrypted, "require-encrypted", false, "refuse plaintext payloads on URIs the keystore covers (env CBX_REQUIRE_ENCRYPTED)")
	fl.BoolVarP(&o.verbose, "verbose", "v", false, "report connection and subscription progress on stderr")
	fl.Var(&o.maxMessageSize, "max-message-size", "largest message to send, in `bytes`; larger ones are refused before sending (register answers wamp.error.payload_size_exceeded) (env CBX_MAX_MESSAGE_SIZE; default 1048576, cbx router's limit)")
}

// resolve fills unset flags from the environment and the defaults, and checks values. A
// bad value is reported under the name it came from, the flag or the variable (natscli
// does the same), so the user edits the right thing. It may run more than once: the
// sources found the first time are kept.
func (o *connOptions) resolve(getenv func(string) string) (err error) {
	if o.from == nil {
		o.from = map[string]string{}
	}
	def := func(v *string, flag, env, fallback string) {
		if *v == "" {
			if *v = getenv(env); *v != "" {
				o.from[flag] = env
			}
		}
		if *v == "" {
			*v = fallback
		}
	}
	def(&o.url, "--url", "CBX_URL", defaultURL)
	def(&o.realm, "--realm", "CBX_REALM", defaultRealm)
	def(&o.serializer, "--serializer", "CBX_SERIALIZER", wamp.SerializerJSON)
	def(&o.authID, "--authid", "CBX_AUTHID", "")
	def(&o.authRole, "--authrole", "CBX_AUTHROLE", "")
	def(&o.ticket, "--ticket", "CBX_TICKET", "")
	def(&o.wampcra, "--wampcra-secret", "CBX_WAMPCRA_SECRET", "")
	def(&o.cryptosign, "--cryptosign-key", "CBX_CRYPTOSIGN_KEY", "")
	def(&o.ca, "--ca", "CBX_CA", "")
	def(&o.wire, "--wire", "CBX_WIRE", "auto")
	if !o.insecure {
		if o.insecure, err = envBool(getenv, "CBX_INSECURE"); err != nil {
			return err
		}
	}
	if !o.requireEncrypted {
		if o.requireEncrypted, err = envBool(getenv, "CBX_REQUIRE_ENCRYPTED"); err != nil {
			return err
		}
	}
	if v := getenv("CBX_TIMEOUT"); o.timeout == 0 && v != "" {
		if o.timeout, err = time.ParseDuration(v); err != nil {
			return &usageError{fmt.Errorf("CBX_TIMEOUT %q: not a duration (e.g. 10s)", v)}
		}
		o.from["--timeout"] = "CBX_TIMEOUT"
	}
	if _, err := wamp.SerializerByName(o.serializer); err != nil {
		return &usageError{fmt.Errorf("%s %q: want json, msgpack or cbor", o.source("--serializer"), o.serializer)}
	}
	switch o.wire {
	case "auto", "legacy", "ppt":
	default:
		return &usageError{fmt.Errorf("%s %q: want auto, legacy or ppt", o.source("--wire"), o.wire)}
	}
	if err := wamp.CheckURI(o.realm, ""); err != nil {
		return &usageError{fmt.Errorf("%s %q: %w", o.source("--realm"), o.realm, err)}
	}
	var methods []string
	for _, m := range []struct{ flag, value string }{{"--ticket", o.ticket}, {"--wampcra-secret", o.wampcra}, {"--cryptosign-key", o.cryptosign}} {
		if m.value != "" {
			methods = append(methods, o.source(m.flag))
		}
	}
	if len(methods) > 1 {
		return &usageError{fmt.Errorf("%s can't be combined: choose one authentication method", strings.Join(methods, " and "))}
	}
	if len(methods) == 1 && (o.ticket != "" || o.wampcra != "") && o.authID == "" {
		return &usageError{fmt.Errorf("%s needs --authid or CBX_AUTHID", methods[0])}
	}
	if u, err := url.Parse(o.url); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return &usageError{fmt.Errorf("%s %q: want a ws:// or wss:// URL", o.source("--url"), o.url)}
	}
	if o.timeout < 0 {
		if src := o.source("--timeout"); src != "--timeout" {
			return &usageError{fmt.Errorf("%s %q: must not be negative", src, getenv(src))}
		}
		return &usageError{fmt.Errorf("--timeout %v: must not be negative", o.timeout)}
	}
	return o.resolveMaxMessageSize(getenv)
}

// defaultMaxMessageSize is cbx router's default limit: a router does not announce its
// limit in WAMP, and closes the connection (1009) on a message over it.
const defaultMaxMessageSize = router.DefaultMaxMessageSize

// resolveMaxMessageSize applies CBX_MAX_MESSAGE_SIZE and the default to an unset
// --max-message-size.
func (o *connOptions) resolveMaxMessageSize(getenv func(string) string) error {
	if o.maxMessageSize.set {
		if o.maxMessageSize.n <= 0 {
			return &usageError{fmt.Errorf("--max-message-size %d: must be positive", o.maxMessageSize.n)}
		}
		return nil
	}
	o.maxMessageSize.n = defaultMaxMessageSize
	if v := getenv("CBX_MAX_MESSAGE_SIZE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return &usageError{fmt.Errorf("CBX_MAX_MESSAGE_SIZE %q: want a positive number of bytes", v)}
		}
		o.maxMessageSize.n = n
	}
	return nil
}

// byteCount is a flag holding a number of bytes that remembers whether it was given.
type byteCount struct {
	n   int64
	set bool
}

func (b *byteCount) String() string {
	if !b.set {
		return ""
	}
	return strconv.FormatInt(b.n, 10)
}

func (b *byteCount) Set(s string) error {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("want a number of bytes")
	}
	b.n, b.set = n, true
	return nil
}

func (b *byteCount) Type() string { return "bytes" }

// source names where a connection setting came from: its flag, or the environment
// variable resolve took it from.
func (o *connOptions) source(flag string) string {
	if env := o.from[flag]; env != "" {
		return env
	}
	return flag
}

// envBool reads a boolean environment variable: unset or empty is false.
func envBool(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &usageError{fmt.Errorf("%s %q: want true or false", name, v)}
	}
	return b, nil
}

// conn is a joined session with cbx's codec.
type conn struct {
	closeOnce sync.Once
	closeErr  error

	sess  *wamp.Session
	codec *e2e.Codec
	opts  *connOptions

	// dialer made this connection and makes the next one when a command reconnects.
	dialer *dialer
}

// dialer holds what a connection needs that is read once per run: the keystore, the
// secrets and the TLS settings. A reconnect (subscribe, register --reconnect) dials with
// the same ones: a secret read from standard input cannot be read twice, and a keystore
// edited while cbx runs must not change what a running command seals and opens, nor make
// a reconnect fail halfway through a run.
type dialer struct {
	f    *factory
	o    *connOptions
	ks   *keystore.Keystore
	path string
	cfg  wamp.Config // without Codec: each connection has its own (its wire form)
	tls  *tls.Config
}

// connect loads the keystore (a missing one at the default location means no keys:
// everything plaintext; a missing one that was named is an error), dials,
// joins and chooses the wire form. Errors are exit code 6 unless they are key problems.
func (f *factory) connect(ctx context.Context, o *connOptions) (*conn, error) {
	d, err := f.newDialer(o)
	if err != nil {
		return nil, err
	}
	return d.dial(ctx)
}

// newDialer reads the keystore, the secrets and the CA file for connections with o.
func (f *factory) newDialer(o *connOptions) (*dialer, error) {
	if err := o.resolve(f.getenv); err != nil {
		return nil, err
	}
	path, err := f.keystoreLocation()
	if err != nil {
		return nil, err
	}
	ks, err := keystore.Load(path, f.keystoreNotices())
	var nf *keystore.NotFoundError
	switch {
	case errors.As(err, &nf) && f.keystoreNamedBy() != "":
		return nil, f.missingKeystore(nf)
	case errors.As(err, &nf):
		ks = keystore.New()
		if o.verbose {
			f.ui.warnf("keystore %q does not exist: nothing will be sealed or opened", path)
		}
	case err != nil:
		return nil, err
	}

	cfg := wamp.Config{
		Realm: o.realm, AuthID: o.authID, AuthRole: o.authRole,
		// Announce PPT as well: a PPT router (plain nexus) refuses ppt_* from a session
		// that did not, and Autobahn/Crossbar ignore unknown features (wire.md §1.8).
		Features:  map[string]bool{wamp.FeaturePayloadPassthruMode: true, wamp.FeaturePayloadEncryptionCryptobox: true},
		OnRefused: o.onRefused,
		// Checked on every message as serialized, after sealing (internal/wamp).
		MaxMessageSize: o.maxMessageSize.n,
	}
	if o.ticket != "" {
		b, _, err := f.readSecret(o.ticket, o.source("--ticket"))
		if err != nil {
			return nil, err
		}
		cfg.Ticket = strings.TrimRight(string(b), "\r\n")
	}
	if o.wampcra != "" {
		b, _, err := f.readSecret(o.wampcra, o.source("--wampcra-secret"))
		if err != nil {
			return nil, err
		}
		cfg.WampcraSecret = strings.TrimRight(string(b), "\r\n")
	}
	if o.cryptosign != "" {
		b, where, err := f.readSecret(o.cryptosign, o.source("--cryptosign-key"))
		if err != nil {
			return nil, err
		}
		k, err := keygen.ParseEd25519PrivateKey(b)
		if err != nil {
			return nil, withCode(exitKey, fmt.Errorf("%s from %s: %w", o.source("--cryptosign-key"), where, err))
		}
		cfg.CryptosignKey = k
	}
	tlsCfg, err := wamp.ParseTLSConfig(o.ca, o.insecure)
	if err != nil {
		// The CA file is the user's argument: a missing or empty one is a usage error.
		return nil, &usageError{fmt.Errorf("%s %q: %w", o.source("--ca"), o.ca, err)}
	}
	return &dialer{f: f, o: o, ks: ks, path: path, cfg: cfg, tls: tlsCfg}, nil
}

// dial opens one connection: dials, joins and chooses the wire form.
func (d *dialer) dial(ctx context.Context) (*conn, error) {
	f, o := d.f, d.o
	codec := e2e.NewCodec(d.ks, d.path, e2e.WireLegacy)
	cfg := d.cfg
	cfg.Codec = codec
	ser, _ := wamp.SerializerByName(o.serializer)
	c, err := wamp.Dial(ctx, o.url, wamp.DialOptions{Serializers: []wamp.Serializer{ser}, TLS: d.tls,
		// The connection's own limit (reading too) must not be the lower one.
		MaxMessageSize: max(wamp.DefaultMaxMessageSize, o.maxMessageSize.n)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, withCode(exitConnection, fmt.Errorf("connecting to %q: %w", o.url, err), "is a router listening there? `cbx router` starts one on "+defaultURL)
	}
	sess, err := wamp.Join(ctx, c, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, withCode(exitConnection, joinError(o.realm, err))
	}
	codec.SetWire(chooseWire(o.wire, sess))
	if codec.Wire() == e2e.WireLegacy && e2e.WireFor(sess) == e2e.WirePPT {
		// Plain nexus drops (json) or turns into a list of integers (msgpack, cbor) a bare
		// binary in the Arguments slot (wire.md §3 "nexus"): refuse rather than fail silently.
		(&conn{sess: sess}).close()
		return nil, withCode(exitConnection, errors.New("--wire legacy: the router announces payload_passthru_mode but not payload_transparency, so it cannot carry the legacy sealed form"),
			"use --wire auto or --wire ppt with this router")
	}
	if o.verbose {
		f.ui.noticef("joined realm %q at %s as session %d (%s, sealed payloads as %s)", o.realm, o.url, sess.ID(), o.serializer, codec.Wire())
	}
	return &conn{sess: sess, codec: codec, opts: o, dialer: d}, nil
}

// chooseWire picks the sealed form --wire asks for; auto leaves it to the router's
// features (e2e.WireFor).
func chooseWire(flag string, s *wamp.Session) e2e.WireForm {
	switch flag {
	case "legacy":
		return e2e.WireLegacy
	case "ppt":
		return e2e.WirePPT
	}
	return e2e.WireFor(s)
}

// close says GOODBYE, bounded so that a dead router cannot hang cbx on exit.
//
// It reports an error when the session ended before the GOODBYE exchange completed (the
// router closed it, the connection broke): only then is it unknown whether the router
// handled what was sent without a reply, such as unacknowledged PUBLISHes. It closes once;
// later calls return the first result.
func (c *conn) close() error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		c.closeErr = c.sess.Close(ctx)
	})
	return c.closeErr
}

// withTimeout applies --timeout to ctx.
func (o *connOptions) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout > 0 {
		return context.WithTimeout(ctx, o.timeout)
	}
	return context.WithCancel(ctx)
}

// failure maps an error from a session call: once the session has ended (the router went
// away, the connection broke) it is a connection problem, exit 6.
func (c *conn) failure(err error) error {
	select {
	case <-c.sess.Done():
		return withCode(exitConnection, err)
	default:
	}
	if wamp.IsConnectionError(err) {
		// A write that failed because the router is closing the connection, before the
		// session has noticed that it ended.
		return withCode(exitConnection, err)
	}
	return sessionError(err)
}

// sessionError maps a session failure to an exit code.
func sessionError(err error) error {
	var ab *wamp.AbortError
	var gb *wamp.GoodbyeError
	if errors.As(err, &ab) || errors.As(err, &gb) || wamp.IsProtocolError(err) {
		return withCode(exitConnection, err)
	}
	return err
}
