package main

import (
	"fmt"

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
