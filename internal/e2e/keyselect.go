package e2e

import (
	"errors"
	"strings"
	"time"

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
	ks := c.keys()
	if e, ok := ks.Lookup(pattern); ok && match != wamp.MatchWildcard {
		entries = append(entries, e)
	}
	meta := strings.HasPrefix(pattern, metaPrefix)
	for _, e := range ks.Entries() {
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
// --details, cbx call --details): the keystore entry, the generation of its keys, and
// the fingerprints (keygen.Fingerprint) of the two public keys of that generation's box,
// which people compare with what keygen and keys ls print on the other side.
type Opened struct {
	Prefix     string // the entry's prefix
	Generation int    // the generation that opened it (keystore.Generation.Number)
	Originator string // fingerprint of the originator's (publisher's, caller's) public key
	Responder  string // fingerprint of the responder's (subscriber's, callee's) public key
}

// Keys of [Opened.Dict]: "entry" is the prefix of the keystore entry.
const (
	OpenedEntry      = "entry"
	OpenedGeneration = "generation"
	OpenedOriginator = "originator"
	OpenedResponder  = "responder"
)

// Dict is o as [Codec.Open] returns it to a session (wamp.EventInfo.Opened and the like),
// and as [Codec.SealReply] reads it back.
func (o Opened) Dict() wamp.Dict {
	return wamp.Dict{OpenedEntry: o.Prefix, OpenedGeneration: int64(o.Generation), OpenedOriginator: o.Originator, OpenedResponder: o.Responder}
}

// openedBy describes generation g of entry e as what opened a payload.
func openedBy(e *keystore.Entry, g *keystore.Generation) Opened {
	return Opened{Prefix: e.Prefix, Generation: g.Number, Originator: g.Fingerprint(true), Responder: g.Fingerprint(false)}
}

// keyID is the key id of a payload sealed by side originating with generation g: the
// fingerprint of the recipient's public key (computed once per generation).
func keyID(g *keystore.Generation, originating bool) string {
	return g.Fingerprint(!originating)
}

// receivedKeyID reads a payload's key id from its metadata: ppt_keyid for PPT, enc_key
// for the legacy form; "" when there is none, or it is not a string. It is only compared
// with the fingerprints of this side's keys (keygen.SameFingerprint), so one of another
// form matches nothing: the receiver then tries every generation, as it does for
// Autobahn's payloads, which carry none.
func receivedKeyID(form WireForm, details wamp.Dict) string {
	key := wamp.OptEncKey
	if form == WirePPT {
		key = wamp.OptPPTKeyID
	}
	id, _ := details[key].(string)
	return id
}

// sealingGeneration is the generation of e that seals a payload on uri for side
// originating: the newest, or for a reply (replyTo, what opened the request: [Opened.Dict])
// the generation that opened the request when it belongs to e and serves this side.
func sealingGeneration(e *keystore.Entry, originating bool, replyTo wamp.Dict) *keystore.Generation {
	if replyTo != nil {
		if p, _ := replyTo[OpenedEntry].(string); p == e.Prefix {
			if n, ok := replyTo[OpenedGeneration].(int64); ok && n >= 1 && n <= int64(len(e.Older)) {
				if g := e.Older[n-1]; g.Key(originating) != nil {
					return g
				}
			}
		}
	}
	return e.Newest()
}

// appendCandidates appends to dst the generations of e that serve side originating, in
// the order they are tried: first those whose own public key has the key id id (none
// when id is empty), then the others, each group newest first. The key id only orders
// the candidates: a payload whose key id is wrong or of another form still opens with
// the generation that sealed it. Retired generations are included; the caller tries them
// last.
func appendCandidates(dst []*keystore.Generation, e *keystore.Entry, originating bool, id string) []*keystore.Generation {
	gens := e.Generations()
	for _, named := range []bool{true, false} {
		if named && id == "" {
			continue
		}
		for i := len(gens) - 1; i >= 0; i-- {
			g := gens[i]
			if g.Key(originating) != nil && (id != "" && keygen.SameFingerprint(g.Fingerprint(originating), id)) == named {
				dst = append(dst, g)
			}
		}
	}
	return dst
}

// openGenerations opens a payload that arrived on uri with the generations of e for side
// originating (appendCandidates), first the open ones, then, only to name it in the
// error, the retired ones. It returns the generation that opened it. A payload a
// generation decrypts ends the search, whatever becomes of it next (a URI mismatch, a
// plaintext cbx refuses). argsJSON is openWithKey's. now is the clock retirement is judged by; it is read once,
// and only when a candidate has a retirement time (reading the clock was a twentieth of
// opening an event, for generations that almost never have one).
func openGenerations(e *keystore.Entry, originating bool, form WireForm, uri, id string, sealed []byte, argsJSON bool, now func() time.Time) (Message, *keystore.Generation, error) {
	var buf [4]*keystore.Generation // no allocation for up to four generations
	cands := appendCandidates(buf[:0], e, originating, id)
	if len(cands) == 0 {
		return Message{}, nil, &SideKeysError{Prefix: e.Prefix, URI: uri, Originating: originating}
	}
	var t time.Time // now(), once a candidate has a retirement time
	for _, g := range cands {
		if !g.RetireAfter.IsZero() {
			t = now()
			break
		}
	}
	var firstErr error
	for _, retired := range [2]bool{false, true} {
		for _, g := range cands {
			if g.RetiredAt(t) != retired {
				continue
			}
			m, err := openWithKey(g.Key(originating), form, uri, sealed, argsJSON)
			switch {
			case err == nil && !retired:
				return m, g, nil
			case errors.Is(err, box.ErrDecrypt) || errors.Is(err, box.ErrTooShort):
				// Not this one; the error is the first open generation's.
				if !retired && firstErr == nil {
					firstErr = err
				}
			case retired:
				// It decrypted with a retired generation: refused, whatever it holds.
				return Message{}, nil, &RetiredKeyError{URI: uri, Prefix: e.Prefix, Generation: g.Number, RetiredAt: g.RetireAfter}
			default:
				return Message{}, nil, err
			}
		}
	}
	if firstErr == nil {
		// Every generation that serves this side is retired, and none opened it.
		firstErr = box.ErrDecrypt
	}
	return Message{}, nil, firstErr
}
