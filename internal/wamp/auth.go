package wamp

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// Client side of the authentication methods cbx supports (WAMP spec
// advanced/authentication_*.md; wire.md §4 table). Anonymous needs no code: a HELLO
// without authmethods.

const (
	// Autobahn's defaults when a salted WAMP-CRA challenge omits them
	// (autobahn/wamp/auth.py derive_key).
	wampcraDefaultIterations = 1000
	wampcraDefaultKeyLen     = 32
	// Upper bounds on what a router may ask of us, so a hostile router cannot make the
	// client spin or allocate without limit while deriving a key.
	wampcraMaxIterations = 10_000_000
	wampcraMaxKeyLen     = 1024
)

// authMethod returns the single authentication method cfg selects ("" for anonymous).
func (cfg *Config) authMethod() (string, error) {
	var methods []string
	if cfg.Ticket != "" {
		methods = append(methods, AuthTicket)
	}
	if cfg.WampcraSecret != "" {
		methods = append(methods, AuthWampCRA)
	}
	if cfg.CryptosignKey != nil {
		if len(cfg.CryptosignKey) != ed25519.PrivateKeySize {
			return "", fmt.Errorf("cryptosign key has %d bytes, want %d", len(cfg.CryptosignKey), ed25519.PrivateKeySize)
		}
		methods = append(methods, AuthCryptosign)
	}
	if len(methods) > 1 {
		return "", fmt.Errorf("more than one authentication method configured (%v); set one", methods)
	}
	if len(methods) == 0 {
		return "", nil
	}
	return methods[0], nil
}

// respondChallenge computes the AUTHENTICATE message for a CHALLENGE of the configured
// method.
func (cfg *Config) respondChallenge(method string, ch *Challenge) (*Authenticate, error) {
	if ch.AuthMethod != method {
		return nil, fmt.Errorf("router challenged for %q, but this session authenticates with %q", ch.AuthMethod, method)
	}
	var sig string
	var err error
	switch method {
	case AuthTicket:
		// authentication_ticket.md: the ticket itself is the signature.
		sig = cfg.Ticket
	case AuthWampCRA:
		sig, err = wampcraSignature(cfg.WampcraSecret, ch.Extra)
	case AuthCryptosign:
		sig, err = cryptosignSignature(cfg.CryptosignKey, ch.Extra)
	default:
		err = fmt.Errorf("unsupported authentication method %q", method)
	}
	if err != nil {
		return nil, err
	}
	return &Authenticate{Signature: sig, Extra: Dict{}}, nil
}

// wampcraSignature answers a WAMP-CRA challenge (authentication_cra.md; Autobahn
// auth.py compute_wcs and derive_key): the key is the secret itself, or, when the
// challenge carries a salt, the ASCII base64 of PBKDF2-HMAC-SHA256(secret, salt,
// iterations, keylen). The signature is base64(HMAC-SHA256(key, challenge string)).
func wampcraSignature(secret string, extra Dict) (string, error) {
	challenge, ok := extra[OptChallenge].(string)
	if !ok {
		return "", errors.New("wampcra challenge without a challenge string")
	}
	key := []byte(secret)
	if salt, _ := extra[OptSalt].(string); salt != "" {
		iters, err := intOption(extra, OptIterations, wampcraDefaultIterations, wampcraMaxIterations)
		if err != nil {
			return "", err
		}
		keylen, err := intOption(extra, OptKeyLen, wampcraDefaultKeyLen, wampcraMaxKeyLen)
		if err != nil {
			return "", err
		}
		dk, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iters, keylen)
		if err != nil {
			return "", fmt.Errorf("wampcra key derivation: %w", err)
		}
		key = base64.StdEncoding.AppendEncode(nil, dk)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// intOption reads a positive integer from a challenge's extra dict, with a default for
// a missing (or zero) value and an upper bound.
func intOption(extra Dict, name string, def, max int) (int, error) {
	v, present := extra[name]
	if !present || v == nil {
		return def, nil
	}
	n, ok := toInt64(v)
	if !ok || n < 0 || n > int64(max) {
		return 0, fmt.Errorf("wampcra challenge has invalid %s %v", name, v)
	}
	if n == 0 {
		return def, nil
	}
	return int(n), nil
}

// cryptosignSignature answers a WAMP-Cryptosign challenge (authentication_cryptosign.md
// "Client Authentication"; Autobahn cryptosign.py): Ed25519-sign the 32 challenge bytes
// and send hex(signature ‖ challenge), 192 hex digits. Channel binding is not
// supported; a challenge that asks for it is refused rather than answered wrongly.
func cryptosignSignature(key ed25519.PrivateKey, extra Dict) (string, error) {
	if cb, present := extra[OptChannelBinding]; present && cb != nil {
		return "", fmt.Errorf("cryptosign channel binding %v is not supported", cb)
	}
	chHex, _ := extra[OptChallenge].(string)
	challenge, err := hex.DecodeString(chHex)
	if err != nil || len(challenge) != 32 {
		return "", fmt.Errorf("cryptosign challenge must be 32 bytes in hex, got %q", chHex)
	}
	return cryptosignSign(key, challenge, nil), nil
}

// cryptosignSign signs challenge, XORed with the TLS channel ID when one is given (the
// spec's channel binding rule), and returns hex(signature ‖ signed message).
func cryptosignSign(key ed25519.PrivateKey, challenge, channelID []byte) string {
	msg := append([]byte(nil), challenge...)
	for i := range channelID {
		if i < len(msg) {
			msg[i] ^= channelID[i]
		}
	}
	return hex.EncodeToString(append(ed25519.Sign(key, msg), msg...))
}
