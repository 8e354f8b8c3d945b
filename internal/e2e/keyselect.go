package e2e

import (
	"strings"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// metaPrefix is the router's meta API namespace, which the keystore's Lookup covers only
// with a prefix under it, never with the default key (wire.md §1.6).
const metaPrefix = "wamp."

// sideName names the box a direction uses, for messages.
func sideName(originating bool) string {
	if originating {
		return "originator (publisher/caller)"
	}
	return "responder (subscriber/callee)"
}

// CheckCanReceive refuses, before a subscription or registration is made, a topic or
// procedure (or pattern, under match: wamp.MatchExact, MatchPrefix or MatchWildcard) that
// the keystore covers with an entry lacking the responder keys, with a
// *CannotReceiveError: every sealed event or call on it would fail to open, one at a time,
// while the subscriber or callee looked healthy (a publisher's keystore used for a
// subscriber, say). what is "events" or "calls", for the message.
//
// The entries checked are those that decide the key of some URI the pattern receives: for
// an exact match the URI's own Lookup; for a prefix match also every entry under the
// prefix; for a wildcard every entry whose prefix some matching URI can start with (WAMP
// wildcards: an empty component matches any one component). An entry whose URIs are all
// shadowed by longer entries may be refused too; narrowing the pattern avoids that.
func (c *Codec) CheckCanReceive(pattern, match, what string) error {
	var entries []*keystore.Entry
	if e, ok := c.ks.Lookup(pattern); ok && match != wamp.MatchWildcard {
		entries = append(entries, e)
	}
	meta := strings.HasPrefix(pattern, metaPrefix)
	for _, e := range c.ks.Entries() {
		if meta && !strings.HasPrefix(e.Prefix, metaPrefix) {
			continue // the wamp.* rule of keystore.Lookup
		}
		switch match {
		case wamp.MatchPrefix:
			if e.Prefix != "" && strings.HasPrefix(e.Prefix, pattern) {
				entries = append(entries, e)
			}
		case wamp.MatchWildcard:
			if wildcardMayStartWith(pattern, e.Prefix) {
				entries = append(entries, e)
			}
		}
	}
	for _, e := range entries {
		if e.Key(false) == nil {
			return &CannotReceiveError{Prefix: e.Prefix, Pattern: pattern, Match: match, What: what}
		}
	}
	return nil
}

// wildcardMayStartWith reports whether some URI matching the WAMP wildcard pattern starts
// with prefix (which may end inside a component).
func wildcardMayStartWith(pattern, prefix string) bool {
	pc, wc := strings.Split(prefix, "."), strings.Split(pattern, ".")
	if len(pc) > len(wc) {
		return false
	}
	for i, c := range pc {
		switch w := wc[i]; {
		case w == "":
			// an empty pattern component matches any component
		case i == len(pc)-1:
			if !strings.HasPrefix(w, c) {
				return false
			}
		case c != w:
			return false
		}
	}
	return true
}

// Opened names the key that opened a payload, for the receiver to show (cbx subscribe
// --details, cbx call): the keystore entry and the fingerprints (keygen.Fingerprint) of
// the two public keys of its box, which people compare with what keygen and keys ls
// print on the other side.
type Opened struct {
	Prefix     string // the entry's prefix
	Originator string // fingerprint of the originator's (publisher's, caller's) public key
	Responder  string // fingerprint of the responder's (subscriber's, callee's) public key
}

// Keys of [Opened.Dict]: "entry" is the prefix of the keystore entry.
const (
	OpenedEntry      = "entry"
	OpenedOriginator = "originator"
	OpenedResponder  = "responder"
)

// Dict is o as [Codec.Open] returns it to a session (wamp.EventInfo.Opened and the like).
func (o Opened) Dict() wamp.Dict {
	return wamp.Dict{OpenedEntry: o.Prefix, OpenedOriginator: o.Originator, OpenedResponder: o.Responder}
}

// openedBy describes the entry e as what opened a payload.
func openedBy(e *keystore.Entry) Opened {
	return Opened{Prefix: e.Prefix, Originator: fingerprint(e.OriginatorKey()), Responder: fingerprint(e.ResponderKey())}
}

// fingerprint is keygen.Fingerprint of a key that may be absent ("").
func fingerprint(k *box.PublicKey) string {
	if k == nil {
		return ""
	}
	return keygen.Fingerprint(*k)
}
