package main

import (
	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// chooseWire picks the sealed form --wire asks for; auto leaves it to the router's
// features (e2e.WireFor).
func chooseWire(flag string, s *wamp.Session) e2e.WireForm {
	switch flag {
	case "legacy":
		return e2e.WireLegacy
	case "ppt":
		return e2e.WirePPT
	}
	return e2e.WireFor(s)
}
