package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

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

// dialer holds what a connection needs that is read once per run: the secrets and the
// TLS settings, and the keystore. A reconnect (subscribe, register --reconnect) dials with
// the same ones: a secret read from standard input cannot be read twice. The keystore is
// the exception: a running command follows changes to its file (keystore_reload.go), so
// that a key rotation takes effect without a restart; only a keystore that reads, and
// can open what the command receives, replaces the one in use, so an edit can never make
// a reconnect fail halfway through a run.
type dialer struct {
	f    *factory
	o    *connOptions
	path string
	cfg  wamp.Config // without Codec: each connection has its own (its wire form)
	tls  *tls.Config
	// follow: the keystore was read from path, and a running command follows that file
	// (not for keys made in memory, as cbx bench makes them); stamp is the file as it
	// was when first read.
	follow bool
	stamp  fileStamp

	mu          sync.Mutex
	ks          *keystore.Keystore     // the keystore in use
	codec       *e2e.Codec             // the codec of the connection in use
	reloadCheck func(*e2e.Codec) error // what a reloaded keystore must pass
}

// connect loads the keystore (a missing one at the default location means no keys:
// everything plaintext; a missing one that was named is an error), dials, joins and
// chooses the wire form. A router that cannot be reached or refuses the session is exit
// 6; a bad setting is a usage error, a keystore or key problem exit 5.
func (f *factory) connect(ctx context.Context, o *connOptions) (*conn, error) {
	d, err := f.newDialer(o)
	if err != nil {
		return nil, err
	}
	return d.dialWaiting(ctx) // --wait (conn_wait.go)
}

// newDialer resolves o (flags, then environment, then defaults) and reads the keystore,
// the secrets and the CA file for connections with it.
func (f *factory) newDialer(o *connOptions) (*dialer, error) {
	if err := o.resolve(f); err != nil {
		return nil, err
	}
	path, err := f.keystoreLocation()
	if err != nil {
		return nil, err
	}
	// The file's version before it is read: a change made while it is read is seen by
	// the first check of the watcher, never missed.
	stamp := stampOf(keystore.RealPath(path))
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
	d, err := f.dialerWith(o, ks, path)
	if err != nil {
		return nil, err
	}
	d.follow, d.stamp = true, stamp
	return d, nil
}

// dialerWith is newDialer for a resolved o and a keystore already at hand (cbx bench
// makes its keys in memory); path only names the keystore in messages.
func (f *factory) dialerWith(o *connOptions, ks *keystore.Keystore, path string) (*dialer, error) {
	cfg := wamp.Config{
		Realm: o.realm, AuthID: o.authID, AuthRole: o.authRole,
		// Announce PPT as well: a PPT router (plain nexus) refuses ppt_* from a session
		// that did not, and Autobahn/Crossbar ignore unknown features (wire.md §1.8).
		Features:      map[string]bool{wamp.FeaturePayloadPassthruMode: true, wamp.FeaturePayloadEncryptionCryptobox: true},
		OnRefused:     o.onRefused,
		EventArgsJSON: o.eventArgsJSON,
		// Checked on every message as serialized, after sealing (internal/wamp).
		MaxMessageSize: o.maxMessageSize.n,
	}
	if err := f.readCredentials(o, &cfg); err != nil {
		return nil, err
	}
	tlsCfg, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &dialer{f: f, o: o, path: path, ks: ks, cfg: cfg, tls: tlsCfg}, nil
}

// withKeystore is a dialer like d (its credentials, already read, and its TLS settings)
// with other keys, which it does not follow in a file.
func (d *dialer) withKeystore(ks *keystore.Keystore) *dialer {
	return &dialer{f: d.f, o: d.o, path: d.path, cfg: d.cfg, tls: d.tls, ks: ks}
}

// testOnlyPingInterval is the keepalive period of cbx's connections when not 0 (else
// wamp.DefaultPingInterval, 30 s, with the router declared gone after about a minute
// of silence): a seam for the test that drives a silent router to exit 6 in well under
// a second (the seam style of age's testOnly variables, as internal/wamp's
// testOnlyReadTimeoutFactor).
var testOnlyPingInterval time.Duration

// dial opens one connection: dials, joins and chooses the wire form.
func (d *dialer) dial(ctx context.Context) (*conn, error) {
	f, o := d.f, d.o
	codec := e2e.NewCodec(d.keystoreNow(), d.path, e2e.WireLegacy)
	d.useCodec(codec)
	cfg := d.cfg
	cfg.Codec = codec
	ser, _ := wamp.SerializerByName(o.serializer)
	c, err := wamp.Dial(ctx, o.url, wamp.DialOptions{Serializers: []wamp.Serializer{ser}, TLS: d.tls,
		// The connection's own limit (reading too) must not be the lower one.
		MaxMessageSize: max(wamp.DefaultMaxMessageSize, o.maxMessageSize.n),
		PingInterval:   testOnlyPingInterval})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, withCode(exitConnection, fmt.Errorf("connecting to %q: %w", o.url, err), "is a router listening there? `cbx router` starts one on "+defaultURL)
	}
	// The session starts with HELLO: from then on a signal must end it politely.
	f.signalsCaught()
	sess, err := wamp.Join(ctx, c, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, withCode(exitConnection, joinError(o.realm, err))
	}
	wire, err := chooseWire(o.wire, sess)
	if err != nil {
		(&conn{sess: sess}).close()
		return nil, err
	}
	codec.SetWire(wire)
	if o.verbose {
		f.ui.noticef("joined realm %q at %s as session %d (%s, sealed payloads as %s)", o.realm, o.url, sess.ID(), o.serializer, codec.Wire())
	}
	return &conn{sess: sess, codec: codec, opts: o, dialer: d}, nil
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
