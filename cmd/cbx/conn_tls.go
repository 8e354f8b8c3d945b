package main

import (
	"crypto/tls"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// tlsConfig is the TLS configuration for wss:// URLs (wamp.ParseTLSConfig): --ca's
// certificates in place of the system's roots, no verification with --insecure, Go's
// defaults with neither. The CA file is the user's argument, so a missing or empty one
// is a usage error.
func (o *connOptions) tlsConfig() (*tls.Config, error) {
	cfg, err := wamp.ParseTLSConfig(o.ca, o.insecure)
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s %q: %w", o.source("--ca"), o.ca, err)}
	}
	return cfg, nil
}
