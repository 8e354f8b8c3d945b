package main

import (
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// readCredentials reads the secret of the authentication method the connection flags
// chose (--ticket, --wampcra-secret or --cryptosign-key; resolve allows one) into cfg.
// Each flag names a secret source, never the secret (readSecret); a ticket or WAMP-CRA
// secret is its text less a final line break, a cryptosign key the Ed25519 seed keygen
// parses.
func (f *factory) readCredentials(o *connOptions, cfg *wamp.Config) error {
	if o.ticket != "" {
		b, _, err := f.readSecret(o.ticket, o.source("--ticket"))
		if err != nil {
			return err
		}
		cfg.Ticket = strings.TrimRight(string(b), "\r\n")
	}
	if o.wampcra != "" {
		b, _, err := f.readSecret(o.wampcra, o.source("--wampcra-secret"))
		if err != nil {
			return err
		}
		cfg.WampcraSecret = strings.TrimRight(string(b), "\r\n")
	}
	if o.cryptosign != "" {
		b, where, err := f.readSecret(o.cryptosign, o.source("--cryptosign-key"))
		if err != nil {
			return err
		}
		k, err := keygen.ParseEd25519PrivateKey(b)
		if err != nil {
			return withCode(exitKey, fmt.Errorf("%s from %s: %w", o.source("--cryptosign-key"), where, err))
		}
		cfg.CryptosignKey = k
	}
	return nil
}
