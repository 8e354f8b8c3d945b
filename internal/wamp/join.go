package wamp

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Config describes how to join a realm.
type Config struct {
	Realm    string
	AuthID   string
	AuthRole string

	// At most one of these is set; none means anonymous.
	Ticket        string
	WampcraSecret string
	CryptosignKey ed25519.PrivateKey

	Codec PayloadCodec // nil: payloads pass untouched
	// EventArgsJSON has sealed events' args given as JSON text (EventInfo.ArgsJSON) when
	// the codec is a JSONArgsCodec and the plaintext holds them in canonical form: for a
	// subscriber that writes them out as JSON anyway.
	EventArgsJSON bool
	Features      map[string]bool // extra features announced in HELLO for all four client roles
	// Trace, if set, sees every message: dir is "tx" or "rx". It may be called from
	// several goroutines at once.
	Trace func(dir string, m Message)
	// OnRefused, if set, is told of every INVOCATION the session answered with an error
	// itself, before any handler ran: a payload that could not be opened, or a procedure
	// the router named that the registration does not cover. uri is the error sent.
	OnRefused func(procedure, uri string, err error)
	// MaxMessageSize bounds every message the session sends, serialized, in bytes; 0
	// leaves only the connection's limit (DialOptions.MaxMessageSize). The router's own
	// limit is not announced in WAMP, and a router that receives a larger message closes
	// the connection (1009), ending the session; so a message over this limit is not
	// sent: Call and Publish return a *MessageTooLargeError, and a YIELD (or an ERROR
	// with a payload) is replaced by ERROR wamp.error.payload_size_exceeded, as Autobahn
	// does when its transport refuses a result (protocol.py, PayloadExceededError).
	MaxMessageSize int64
}

// defaultFeatures are announced in HELLO (advanced/*.md feature names): what this
// session implements. payload_transparency is what Autobahn announces in every client
// role for its bare binary payloads (wire.md §1.8).
var defaultFeatures = map[string][]string{
	RoleCaller:     {FeatureCallCanceling, FeatureProgressiveCallResults, FeaturePayloadTransparency},
	RoleCallee:     {FeatureCallCanceling, FeatureProgressiveCallResults, FeaturePatternBasedRegistration, FeaturePayloadTransparency},
	RolePublisher:  {FeaturePublisherExclusion, FeaturePayloadTransparency},
	RoleSubscriber: {FeaturePatternBasedSubscription, FeaturePayloadTransparency},
}

// helloRoles builds HELLO.Details.roles. Only features set to true are listed: nexus
// (wamp/session.go HasFeature) treats a feature as announced when its key is present,
// whatever its value, so a false entry would announce it.
func helloRoles(extra map[string]bool) Dict {
	roles := Dict{}
	for role, names := range defaultFeatures {
		f := Dict{}
		for _, n := range names {
			f[n] = true
		}
		for n, on := range extra {
			if on {
				f[n] = true
			}
		}
		roles[role] = Dict{OptFeatures: f}
	}
	return roles
}

// joinTimeout bounds the opening handshake when ctx has no deadline.
const joinTimeout = 30 * time.Second

// Join establishes a session on c: HELLO, then CHALLENGE/AUTHENTICATE for the configured
// method, until WELCOME (basic/session.md; advanced/authentication_*.md). An ABORT is
// returned as *AbortError. On any failure the connection is closed.
func Join(ctx context.Context, c *Conn, cfg Config) (*Session, error) {
	s, err := join(ctx, c, cfg)
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func join(ctx context.Context, c *Conn, cfg Config) (*Session, error) {
	if cfg.Realm == "" {
		return nil, errors.New("no realm to join")
	}
	method, err := cfg.authMethod()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, joinTimeout)
		defer cancel()
	}
	// Recv does not take a context; closing the connection is what unblocks it.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	details := Dict{OptRoles: helloRoles(cfg.Features)}
	if method != "" {
		details[OptAuthMethods] = List{method}
	}
	if cfg.AuthID != "" {
		details[OptAuthID] = cfg.AuthID
	}
	if cfg.AuthRole != "" {
		details[OptAuthRole] = cfg.AuthRole
	}
	if method == AuthCryptosign {
		pub := cfg.CryptosignKey.Public().(ed25519.PublicKey)
		details[OptAuthExtra] = Dict{OptPubKey: hex.EncodeToString(pub)}
	}
	trace := func(dir string, m Message) {
		if cfg.Trace != nil {
			cfg.Trace(dir, m)
		}
	}
	send := func(m Message) error {
		trace("tx", m)
		return c.Send(m)
	}
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := send(&Hello{Realm: cfg.Realm, Details: details}); err != nil {
		return nil, fail(err)
	}
	challenged := false
	for {
		m, err := c.Recv()
		if err != nil {
			if IsProtocolError(err) {
				send(&Abort{Details: Dict{OptMessage: err.Error()}, Reason: ErrURIProtocol})
			}
			return nil, fail(err)
		}
		trace("rx", m)
		switch m := m.(type) {
		case *Welcome:
			if m.Session == 0 {
				err := protoErrf("WELCOME with session ID 0")
				send(&Abort{Details: Dict{OptMessage: err.Error()}, Reason: ErrURIProtocol})
				return nil, err
			}
			return newSession(c, cfg, m), nil
		case *Abort:
			return nil, &AbortError{Reason: m.Reason, Details: m.Details}
		case *Challenge:
			if method == "" || challenged {
				err := fmt.Errorf("the router sent a CHALLENGE for %q, a method this session did not offer", m.AuthMethod)
				send(&Abort{Details: Dict{OptMessage: err.Error()}, Reason: ErrURIAuthenticationFailed})
				return nil, err
			}
			challenged = true
			auth, err := cfg.respondChallenge(method, m)
			if err != nil {
				send(&Abort{Details: Dict{OptMessage: err.Error()}, Reason: ErrURIAuthenticationFailed})
				return nil, err
			}
			if err := send(auth); err != nil {
				return nil, fail(err)
			}
		default:
			err := protoErrf("unexpected %v while joining", m.MessageType())
			send(&Abort{Details: Dict{OptMessage: err.Error()}, Reason: ErrURIProtocol})
			return nil, err
		}
	}
}
