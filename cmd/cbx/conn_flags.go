package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	wait                   time.Duration // --wait: how long the first connection is retried (conn_wait.go)

	from map[string]string // flag → the environment variable or context its value came from (resolve)
	ctx  *selectedContext  // the context resolve took settings from (context_resolve.go)

	// onRefused hears of calls the session refused before any handler ran (register).
	onRefused func(procedure, uri string, err error)
	// eventArgsJSON: sealed events' args may come as JSON text (wamp.Config.EventArgsJSON),
	// for subscribe's JSON line, which copies it.
	eventArgsJSON bool

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
	addWaitFlag(fl, o)
	fl.Var(&o.maxMessageSize, "max-message-size", "largest message to send, in `bytes`; larger ones are refused before sending (register answers wamp.error.payload_size_exceeded) (env CBX_MAX_MESSAGE_SIZE; default 1048576, cbx router's limit)")
}

// resolve fills unset flags from the environment, the selected context (--context,
// CBX_CONTEXT, `cbx context use`) and the defaults, in that order, and checks values. A
// bad value is reported under the name it came from, the flag, the variable or the
// context (natscli does the same), so the user edits the right thing. It may run more
// than once: the sources found the first time are kept.
func (o *connOptions) resolve(f *factory) (err error) {
	getenv := f.getenv
	if o.from == nil {
		o.from = map[string]string{}
	}
	if o.ctx, err = f.activeContext(); err != nil {
		return err
	}
	def := func(v *string, flag, env, fallback string) {
		if *v == "" {
			if *v = getenv(env); *v != "" {
				o.from[flag] = env
			}
		}
		if *v == "" && flag != "--ticket" && flag != "--wampcra-secret" && flag != "--cryptosign-key" {
			if cv, src := o.contextValue(flag); cv != "" {
				*v = cv
				o.from[flag] = src
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
	o.contextAuth()
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
	if err := o.resolveWait(getenv); err != nil {
		return err
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

// withTimeout applies --timeout to ctx.
func (o *connOptions) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.timeout > 0 {
		return context.WithTimeout(ctx, o.timeout)
	}
	return context.WithCancel(ctx)
}
