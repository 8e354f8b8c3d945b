package keystore

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// metaPrefix is the router's meta API namespace, never covered by the default key.
const metaPrefix = "wamp."

// Lookup returns the entry that covers uri for sealing: the longest prefix, else the
// default (empty prefix) entry, else nothing, with the "wamp." rule of the package
// comment. It is also what decides whether a URI counts as keyed.
func (ks *Keystore) Lookup(uri string) (*Entry, bool) {
	meta := strings.HasPrefix(uri, metaPrefix)
	if e := ks.longest(uri, func(p string) bool { return !meta || strings.HasPrefix(p, metaPrefix) }); e != nil {
		return e, true
	}
	if meta {
		return nil, false
	}
	e, ok := ks.entries[""]
	return e, ok
}

// LookupOpen returns the entry that opens a sealed payload that arrived on uri: exactly
// Autobahn's KeyRing lookup, without the "wamp." rule, because Autobahn seals its own
// wamp.error.* replies (an uncaught exception becomes wamp.error.runtime_error) under
// the default key, and those must still open.
func (ks *Keystore) LookupOpen(uri string) (*Entry, bool) {
	if e := ks.longest(uri, func(string) bool { return true }); e != nil {
		return e, true
	}
	e, ok := ks.entries[""]
	return e, ok
}

// PrefixName names an entry's prefix for people, in messages: quoted, and the empty
// prefix as the default key.
func PrefixName(prefix string) string {
	if prefix == "" {
		return `"" (default key)`
	}
	return strconv.Quote(prefix)
}

// longest is the entry with the longest non-empty prefix of uri that allow accepts: the
// first in byLength, longest first (two prefixes of uri of one length are the same one).
func (ks *Keystore) longest(uri string, allow func(string) bool) *Entry {
	for _, e := range ks.byLength {
		if strings.HasPrefix(uri, e.Prefix) && allow(e.Prefix) {
			return e
		}
	}
	return nil
}

// Resolution says which entry covers a URI and why; `cbx keys explain` prints it.
type Resolution struct {
	URI   string
	Entry *Entry // nil: the URI is sent and accepted in plaintext
	// Reason is one sentence on how Entry was chosen.
	Reason string
	// Shadowed lists other prefixes that also match the URI but lost to a longer one.
	Shadowed []string
	// Warnings are things a user probably did not intend, such as a prefix that does not
	// end in "." and so matches more URIs than it seems to.
	Warnings []string
}

// Explain resolves uri as Lookup does and records the reasoning.
func (ks *Keystore) Explain(uri string) Resolution {
	r := Resolution{URI: uri}
	meta := strings.HasPrefix(uri, metaPrefix)
	var matches []string
	for p := range ks.entries {
		if p == "" || !strings.HasPrefix(uri, p) {
			continue
		}
		if meta && !strings.HasPrefix(p, metaPrefix) {
			r.Warnings = append(r.Warnings, fmt.Sprintf("prefix %q is ignored for %q: the router's wamp.* meta API is only encrypted under a prefix that starts with %q", p, uri, metaPrefix))
			continue
		}
		matches = append(matches, p)
	}
	sort.Slice(matches, func(i, j int) bool { return len(matches[i]) > len(matches[j]) })
	switch {
	case len(matches) > 0:
		p := matches[0]
		r.Entry = ks.entries[p]
		r.Shadowed = matches[1:]
		if p == uri {
			r.Reason = fmt.Sprintf("prefix %q is the URI itself", p)
		} else {
			r.Reason = fmt.Sprintf("prefix %q is the longest prefix of the URI in the keystore", p)
		}
		if !strings.HasSuffix(p, ".") && p != uri {
			r.Warnings = append(r.Warnings, fmt.Sprintf("prefix %q does not end in \".\": it matches by characters, so it also covers e.g. %q", p, p+"x.y"))
		}
	case meta:
		if _, ok := ks.entries[""]; ok {
			r.Reason = fmt.Sprintf("no prefix starting with %q matches, and the default key never covers the router's meta API: plaintext", metaPrefix)
		} else {
			r.Reason = "no prefix matches and there is no default key: plaintext"
		}
	default:
		if e, ok := ks.entries[""]; ok {
			r.Entry = e
			r.Reason = "no prefix matches; the default key (prefix \"\") applies"
		} else {
			r.Reason = "no prefix matches and there is no default key (prefix \"\"): plaintext, as Autobahn's KeyRing does"
		}
	}
	return r
}
