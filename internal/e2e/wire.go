package e2e

import (
	"fmt"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// WireForm is how a sealed payload travels.
type WireForm int

const (
	// WireLegacy is Autobahn|Python's and Crossbar.io's form (wire.md §1.1–1.2):
	// Options/Details {enc_algo:"cryptobox", enc_serializer:"json"} and the sealed bytes
	// as a bare binary in place of Arguments.
	WireLegacy WireForm = iota
	// WirePPT is the WAMP spec's Payload PassThru Mode (advanced/payload_passthru_mode.md)
	// for routers that carry only that (plain nexus): Options/Details {ppt_scheme:"wamp",
	// ppt_serializer:"cbor", ppt_cipher:"xsalsa20poly1305", ppt_keyid} and Arguments =
	// [sealed bytes]. The spec leaves the cipher layout undefined ("TBD"), so this is
	// cbx's convention (wire.md §2.4): the sealed bytes are nonce ‖ NaCl box exactly as in
	// the legacy form, and the plaintext is the CBOR map {"uri","args","kwargs"}; the "uri"
	// (not in the spec's {"args","kwargs"}) keeps the trusted-URI check in this form too.
	// ppt_keyid is the fingerprint of the recipient's public key, the key id of the
	// spec's footnote (package comment, "Key generations and key ids").
	WirePPT
)

// String names the form as cbx's --wire flag does: "legacy" or "ppt".
func (w WireForm) String() string {
	if w == WirePPT {
		return "ppt"
	}
	return "legacy"
}

// RouterFeatures is what [WireFor] needs of a joined session (*wamp.Session has it): the
// features the router announced in WELCOME, by role.
type RouterFeatures interface {
	RouterFeature(role, feature string) bool
}

// WireFor is the form to seal in for a router: the legacy form unless the router shows it
// cannot carry it, i.e. it announces payload_passthru_mode but not payload_transparency
// (plain nexus drops a bare binary, or turns it into a list of integers: wire.md §3.2).
// A router that announces neither gets the legacy form: that is what Autobahn sends to
// any router (wire.md §2.4).
func WireFor(r RouterFeatures) WireForm {
	has := func(feature string) bool {
		return r.RouterFeature(wamp.RoleBroker, feature) || r.RouterFeature(wamp.RoleDealer, feature)
	}
	if !has(wamp.FeaturePayloadTransparency) && has(wamp.FeaturePayloadPassthruMode) {
		return WirePPT
	}
	return WireLegacy
}

// options are the Options a sealed payload of form travels with, id being its key id:
// Autobahn's enc_algo and enc_serializer and the key id as enc_key for the legacy form
// (Autobahn's parser takes a string there and its KeyRing ignores it: wire.md §1.2), the
// spec's ppt_* for PPT (wire.md §2.2).
func options(form WireForm, id string) wamp.Dict {
	if form == WirePPT {
		return wamp.Dict{
			wamp.OptPPTScheme: wamp.PPTSchemeWAMP, wamp.OptPPTSerializer: wamp.SerializerCBOR,
			wamp.OptPPTCipher: wamp.PPTCipherXSalsa20Poly1305, wamp.OptPPTKeyID: id,
		}
	}
	return wamp.Dict{wamp.OptEncAlgo: wamp.EncAlgoCryptobox, wamp.OptEncSerializer: wamp.SerializerJSON, wamp.OptEncKey: id}
}

// payload is the sealed bytes placed as form carries them.
func payload(form WireForm, sealed []byte) wamp.Payload {
	if form == WirePPT {
		return wamp.Payload{Args: wamp.List{sealed}}
	}
	return wamp.Payload{Bare: sealed}
}

// isSealed detects both forms by their metadata (wire.md §2.4): a bare binary (only
// Autobahn's cryptobox form puts one in the Arguments position), or a non-empty
// ppt_scheme with a cipher and a one-element Arguments list holding binary. A PPT message
// without a cipher is not sealed and passes as it is.
func isSealed(p wamp.Payload, details wamp.Dict) bool {
	if p.IsBare() {
		return true
	}
	if s, _ := details[wamp.OptPPTScheme].(string); s != "" {
		if c, _ := details[wamp.OptPPTCipher].(string); c != "" && len(p.Args) == 1 {
			_, isBin := p.Args[0].([]byte)
			return isBin
		}
	}
	return false
}

// sealedBytes returns the form and the sealed bytes of a payload isSealed accepts, once
// its metadata names what this package opens; otherwise an *UnsupportedError. Autobahn's
// KeyRing.decode accepts only enc_serializer "json" (cryptobox.py).
func sealedBytes(uri string, p wamp.Payload, details wamp.Dict) (WireForm, []byte, error) {
	if p.IsBare() {
		if algo, _ := details[wamp.OptEncAlgo].(string); algo != wamp.EncAlgoCryptobox {
			return 0, nil, unsupported(uri, details, wamp.OptEncAlgo, fmt.Sprintf("cbx knows %q", wamp.EncAlgoCryptobox))
		}
		if ser, _ := details[wamp.OptEncSerializer].(string); ser != wamp.SerializerJSON {
			return 0, nil, unsupported(uri, details, wamp.OptEncSerializer, fmt.Sprintf("the cryptobox scheme uses %q", wamp.SerializerJSON))
		}
		return WireLegacy, p.Bare, nil
	}
	if cipher, _ := details[wamp.OptPPTCipher].(string); cipher != wamp.PPTCipherXSalsa20Poly1305 {
		return 0, nil, unsupported(uri, details, wamp.OptPPTCipher, fmt.Sprintf("cbx knows %q", wamp.PPTCipherXSalsa20Poly1305))
	}
	if ser, _ := details[wamp.OptPPTSerializer].(string); ser != wamp.SerializerCBOR {
		return 0, nil, unsupported(uri, details, wamp.OptPPTSerializer, fmt.Sprintf("cbx seals with %q", wamp.SerializerCBOR))
	}
	var sealed []byte
	if len(p.Args) == 1 {
		sealed, _ = p.Args[0].([]byte)
	}
	if sealed == nil {
		// Not what isSealed accepts: a caller that did not ask Sealed first.
		return 0, nil, &UnsupportedError{URI: uri, Option: wamp.OptPPTScheme,
			msg: fmt.Sprintf("payload on %q is not a sealed PPT payload: its Arguments are not one binary value", uri)}
	}
	return WirePPT, sealed, nil
}

// unsupported is the error for a payload whose option key holds what this package does
// not open; known says what it does.
func unsupported(uri string, details wamp.Dict, key, known string) *UnsupportedError {
	return &UnsupportedError{URI: uri, Option: key, msg: fmt.Sprintf("payload on %q %s; %s", uri, describeOption(details, key), known)}
}

// describeOption says what a payload's metadata holds under key, for a message: a peer
// (or router) may leave it out or send any value, so it is never formatted as a string
// blindly ("%!q(<nil>)").
func describeOption(details wamp.Dict, key string) string {
	v, present := details[key]
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("uses %s %q", key, x)
	case nil:
		if !present {
			return "has no " + key
		}
		return "has " + key + " null"
	}
	return fmt.Sprintf("has %s as %s", kindOf(v), key)
}

// kindOf names the kind of a WAMP value as people know it from JSON.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case int64, uint64, float64, int, float32:
		return "a number"
	case string:
		return "a string"
	case []byte:
		return "a binary value"
	case []any:
		return "a list"
	case map[string]any:
		return "a dict"
	}
	return fmt.Sprintf("a value of type %T", v)
}
