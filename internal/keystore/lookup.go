package keystore

import (
	"fmt"
	"sort"
	"strings"
)

// metaPrefix is the router's meta API namespace, never covered by the default key.
const metaPrefix = "wamp."

// Lookup returns the entry that covers uri: the longest prefix, else the default (empty
// prefix) entry, else nothing. See the package comment for the "wamp." rule.
func (ks *Keystore) Lookup(uri string) (*Entry, bool) {
	r := ks.Explain(uri)
	return r.Entry, r.Entry != nil
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

// Explain resolves uri and records the reasoning.
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
