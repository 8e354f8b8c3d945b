package router

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
)

// Defaults for the zero values of [Config].
const (
	// DefaultRealm is the realm served when Config.Realms is empty; it is the realm
	// Crossbar.io's default configuration and the Autobahn examples use.
	DefaultRealm = "realm1"

	// DefaultMaxMessageSize (1 MiB) bounds one incoming WebSocket message. Larger frames
	// are refused and the connection closed with 1009 (RFC 6455 §7.4.1 "message too big").
	// Sealed payloads are only 40 bytes larger than their plaintext (wire.md §1.4), so
	// 1 MiB leaves ample room for shell use.
	DefaultMaxMessageSize int64 = 1 << 20

	// DefaultOutQueueSize (65,536 messages) and DefaultOutQueueBytes (64 MiB) bound one
	// client's outbound queue (outqueue.go). They are the per-consumer limits message
	// brokers use before they call a consumer slow, and sized so that a subscriber that
	// keeps up on average never loses an event to a burst: cbx publish --stdin sends
	// tens of thousands of events a second, faster than any one subscriber reads for
	// the first moments. nexus's own default, 64 messages, lost a quarter of a
	// 20,000-event burst. A client that stops reading pins at most these (plus a small
	// reserve for replies, see outQueue).
	DefaultOutQueueSize        = 65536
	DefaultOutQueueBytes int64 = 64 << 20
)

// Config configures a [Server]. The zero value is a usable anonymous router for realm1.
type Config struct {
	// Realms to serve. Default: ["realm1"]. A HELLO for any other realm is answered
	// with ABORT wamp.error.no_such_realm.
	Realms []string

	// Tickets maps authid → ticket and enables WAMP-Ticket authentication.
	Tickets map[string]string

	// CryptosignKeys maps authid → the Ed25519 public keys allowed to log in as it, and
	// enables WAMP-Cryptosign authentication.
	CryptosignKeys map[string][]ed25519.PublicKey

	// WampcraSecrets maps authid → secret and enables WAMP-CRA authentication (unsalted
	// secrets).
	WampcraSecrets map[string]string

	// Anonymous allows anonymous sessions. When no other method is configured (no
	// Tickets, CryptosignKeys or WampcraSecrets) anonymous is always allowed, whatever
	// this says, since otherwise no one could join; when one is, anonymous is allowed
	// only if this is true.
	Anonymous bool

	// MaxMessageSize is the largest WebSocket message accepted from a client, in bytes.
	// 0 means DefaultMaxMessageSize; negative is an error.
	MaxMessageSize int64

	// OutQueueSize is the number of outgoing messages that may queue for one client.
	// 0 means DefaultOutQueueSize; negative is an error. See "Bounded resources" in the
	// package documentation for what happens when the queue is full.
	OutQueueSize int

	// OutQueueBytes bounds the same queue by the estimated memory of the messages in it
	// (payloads and Details, see estimateSize). 0 means DefaultOutQueueBytes; negative
	// is an error. An empty queue always takes one message, however large.
	OutQueueBytes int64

	// Trace, when set, receives one line per message as the router sees it on each client
	// connection (format in trace.go). Sealed payloads appear only as opaque bytes.
	Trace io.Writer

	// Logger receives the router's log: warnings about dropped messages and aborted
	// sessions, and nexus's own log lines (prefixed "nexus: "). Default: standard error
	// with the prefix "cbx router: ".
	Logger *log.Logger
}

// anonymousAllowed applies the rule in Config.Anonymous.
func (c *Config) anonymousAllowed() bool {
	return c.Anonymous || (len(c.Tickets) == 0 && len(c.CryptosignKeys) == 0 && len(c.WampcraSecrets) == 0)
}

// withDefaults validates c and returns a copy with the defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if len(c.Realms) == 0 {
		c.Realms = []string{DefaultRealm}
	}
	seen := map[string]bool{}
	for _, r := range c.Realms {
		if r == "" || strings.ContainsAny(r, " \t\r\n#") {
			return c, fmt.Errorf("router: invalid realm %q", r)
		}
		if seen[r] {
			return c, fmt.Errorf("router: realm %q listed twice", r)
		}
		seen[r] = true
	}
	switch {
	case c.MaxMessageSize < 0:
		return c, errors.New("router: MaxMessageSize must not be negative")
	case c.MaxMessageSize == 0:
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	switch {
	case c.OutQueueSize < 0:
		return c, errors.New("router: OutQueueSize must not be negative")
	case c.OutQueueSize == 0:
		c.OutQueueSize = DefaultOutQueueSize
	}
	switch {
	case c.OutQueueBytes < 0:
		return c, errors.New("router: OutQueueBytes must not be negative")
	case c.OutQueueBytes == 0:
		c.OutQueueBytes = DefaultOutQueueBytes
	}
	for id, t := range c.Tickets {
		if id == "" || t == "" {
			return c, errors.New("router: tickets need a non-empty authid and ticket")
		}
	}
	for id, s := range c.WampcraSecrets {
		if id == "" || s == "" {
			return c, errors.New("router: wampcra secrets need a non-empty authid and secret")
		}
	}
	for id, keys := range c.CryptosignKeys {
		if id == "" || len(keys) == 0 {
			return c, fmt.Errorf("router: cryptosign authid %q needs at least one key", id)
		}
		for _, k := range keys {
			if len(k) != ed25519.PublicKeySize {
				return c, fmt.Errorf("router: cryptosign key for %q has %d bytes, want %d", id, len(k), ed25519.PublicKeySize)
			}
		}
	}
	if c.Logger == nil {
		c.Logger = log.New(os.Stderr, "cbx router: ", log.LstdFlags)
	}
	return c, nil
}
