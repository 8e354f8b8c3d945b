package e2e

import (
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keystore"
)

// sideName names the box a direction uses, for messages.
func sideName(originating bool) string {
	if originating {
		return "originator (publisher/caller)"
	}
	return "responder (subscriber/callee)"
}

// KeyFor picks the precomputed key that seals (open=false) or opens (open=true) uri on
// one side, following the keystore's KeyRing lookup (keystore.Lookup for sealing,
// LookupOpen for opening). It fails when no entry covers uri (*NoKeyError), or the entry
// lacks the keys for that side (*SideKeysError).
func KeyFor(ks *keystore.Keystore, path, uri string, originating, open bool) (*box.SharedKey, error) {
	lookup := ks.Lookup
	if open {
		lookup = ks.LookupOpen
	}
	e, ok := lookup(uri)
	if !ok {
		return nil, &NoKeyError{URI: uri, Keystore: path}
	}
	if k := e.Key(originating); k != nil {
		return k, nil
	}
	return nil, &SideKeysError{Prefix: e.Prefix, URI: uri, Originating: originating}
}

// CannotReceiveError: an entry that decides the key of some URI a subscription or
// registration receives lacks the responder keys, so what arrives sealed there could not
// be opened.
type CannotReceiveError struct {
	Prefix  string // the entry's prefix
	Pattern string // the topic or procedure, or its pattern
	Match   string // its match policy: exact, prefix or wildcard
	What    string // what it receives: "events" or "calls"
}

func (e *CannotReceiveError) Error() string {
	prep := map[string]string{"events": "on", "calls": "to"}[e.What]
	if e.Match == "exact" {
		return fmt.Sprintf("keystore entry %s covers %q but has no %s keys: sealed %s %s it could not be opened",
			keystore.PrefixName(e.Prefix), e.Pattern, sideName(false), e.What, prep)
	}
	return fmt.Sprintf("keystore entry %s covers URIs that %q (match %s) receives, but has no %s keys: sealed %s %s them could not be opened",
		keystore.PrefixName(e.Prefix), e.Pattern, e.Match, sideName(false), e.What, prep)
}

// CheckCanReceive refuses, before a subscription or registration is made, a pattern that
// the keystore covers with an entry lacking the responder keys: every sealed event or
// call on it would fail to open, one warning at a time, while the command looked healthy
// (a publisher's keystore used for a subscriber, say). what is "events" or "calls".
//
// The entries checked are those that decide the key of some URI the pattern receives: for
// an exact match the URI's own Lookup; for a prefix match also every entry under the
// prefix; for a wildcard every entry whose prefix some matching URI can start with (WAMP
// wildcards: an empty component matches any one component). An entry whose URIs are all
// shadowed by longer entries may be refused too; narrowing the pattern avoids that.
func CheckCanReceive(ks *keystore.Keystore, pattern, match, what string) error {
	var entries []*keystore.Entry
	if e, ok := ks.Lookup(pattern); ok && match != "wildcard" {
		entries = append(entries, e)
	}
	meta := strings.HasPrefix(pattern, "wamp.")
	for _, e := range ks.Entries() {
		if meta && !strings.HasPrefix(e.Prefix, "wamp.") {
			continue // the wamp.* rule of keystore.Lookup
		}
		switch match {
		case "prefix":
			if e.Prefix != "" && strings.HasPrefix(e.Prefix, pattern) {
				entries = append(entries, e)
			}
		case "wildcard":
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
