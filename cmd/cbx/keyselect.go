package main

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

// keyFor picks the precomputed key that seals (open=false) or opens (open=true) uri on
// one side, following the keystore's KeyRing lookup (keystore.Lookup for sealing,
// LookupOpen for opening). It fails when no entry covers uri (errNoKey), or the entry
// lacks the keys for that side; both exit 5.
func keyFor(ks *keystore.Keystore, path, uri string, originating, open bool) (*box.SharedKey, error) {
	lookup := ks.Lookup
	if open {
		lookup = ks.LookupOpen
	}
	e, ok := lookup(uri)
	if !ok {
		return nil, withCode(exitKey, fmt.Errorf("%w for URI %q in keystore %q", errNoKey, uri, path),
			"add one with `cbx keys add PREFIX …`; `cbx keys explain "+shellQuote(uri)+"` shows the lookup")
	}
	if k := e.Key(originating); k != nil {
		return k, nil
	}
	return nil, withCode(exitKey, fmt.Errorf("keystore entry %s covers %q but has no %s keys", displayPrefix(e.Prefix), uri, sideName(originating)),
		"the originator side needs originator-private and the responder's key; the responder side needs responder-private and the originator's key",
		"the other side of the exchange is chosen with --reply")
}

// checkCanReceive refuses, before a subscription or registration is made, a pattern that
// the keystore covers with an entry lacking the responder keys: every sealed event or
// call on it would fail to open, one warning at a time, while the command looked healthy
// (a publisher's keystore used for a subscriber, say). what is "events" or "calls".
//
// The entries checked are those that decide the key of some URI the pattern receives: for
// an exact match the URI's own Lookup; for a prefix match also every entry under the
// prefix; for a wildcard every entry whose prefix some matching URI can start with (WAMP
// wildcards: an empty component matches any one component). An entry whose URIs are all
// shadowed by longer entries may be refused too; narrowing the pattern avoids that.
func checkCanReceive(ks *keystore.Keystore, pattern, match, what string) error {
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
		if e.Key(false) != nil {
			continue
		}
		need := "a subscriber or callee needs --responder-priv and the originator's public key, or --single"
		prep := map[string]string{"events": "on", "calls": "to"}[what]
		if match == "exact" {
			return withCode(exitKey, fmt.Errorf("keystore entry %s covers %q but has no %s keys: sealed %s %s it could not be opened",
				displayPrefix(e.Prefix), pattern, sideName(false), what, prep),
				"`cbx keys explain "+shellQuote(pattern)+"` shows the lookup; "+need)
		}
		return withCode(exitKey, fmt.Errorf("keystore entry %s covers URIs that %q (match %s) receives, but has no %s keys: sealed %s %s them could not be opened",
			displayPrefix(e.Prefix), pattern, match, sideName(false), what, prep),
			"`cbx keys show "+shellQuote(e.Prefix)+"` shows the entry; "+need, "or narrow the pattern to URIs this keystore can open")
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
