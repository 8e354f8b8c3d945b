package main

import (
	"errors"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// chooseWire picks the sealed form --wire asks for, once the session has joined: auto
// leaves it to the router's features (e2e.WireFor). --wire legacy is refused (exit 6)
// against a router that would not carry the legacy form: plain nexus drops (json) or
// turns into a list of integers (msgpack, cbor) a bare binary in the Arguments slot
// (wire.md §3 "nexus"), so cbx refuses rather than fail silently.
func chooseWire(flag string, s *wamp.Session) (e2e.WireForm, error) {
	auto := e2e.WireFor(s)
	switch flag {
	case "legacy":
		if auto == e2e.WirePPT {
			return 0, withCode(exitConnection, errors.New("--wire legacy: the router announces payload_passthru_mode but not payload_transparency, so it cannot carry the legacy sealed form"),
				"use --wire auto or --wire ppt with this router")
		}
		return e2e.WireLegacy, nil
	case "ppt":
		return e2e.WirePPT, nil
	}
	return auto, nil
}
