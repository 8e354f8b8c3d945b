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

// keyFor picks the precomputed key that seals or opens uri on one side, following the
// keystore's KeyRing lookup. It fails when no entry covers uri, or the entry lacks the
// keys for that side.
func keyFor(ks *keystore.Keystore, path, uri string, originating bool) (*box.SharedKey, error) {
	e, ok := ks.Lookup(uri)
	if !ok {
		return nil, withCode(exitKey, fmt.Errorf("%w for URI %q in keystore %q", errNoKey, uri, path),
			"add one with `cbx keys add PREFIX …`; `cbx keys explain "+shellQuote(uri)+"` shows the lookup")
	}
	k := e.Key(originating)
	if k == nil {
		return nil, withCode(exitKey, fmt.Errorf("keystore entry %s covers %q but has no %s keys", displayPrefix(e.Prefix), uri, sideName(originating)),
			"the originator side needs originator-private and the responder's key; the responder side needs responder-private and the originator's key",
			"the other side of the exchange is chosen with --reply")
	}
	return k, nil
}
