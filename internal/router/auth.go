package router

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gammazero/nexus/v3/router/auth"
	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Authentication (wire.md §4 "Authentication"). Sessions authenticated by ticket,
// wampcra or cryptosign get authrole "user"; anonymous ones get "anonymous". The router
// has no authorizer: every session may do everything in its realm.
//
// wampcra is nexus's own authenticator (router/auth/crauth.go, unsalted secrets, i.e.
// Autobahn's compute_wcs with the secret as key). Ticket and cryptosign are implemented
// here: nexus's ticket check compares in variable time, and nexus's cryptosign
// authenticator accepts one key per authid and does not check that the signed message is
// the challenge it sent (router/auth/cryptosign.go verifySignature), which would let a
// recorded AUTHENTICATE be replayed.

const (
	authRoleUser      = "user"
	authProvider      = "static"
	authChallengeWait = 30 * time.Second // how long a client may take to answer a CHALLENGE
)

// ticketAuth checks AUTHENTICATE.Signature against the configured ticket
// (authentication_ticket.md).
type ticketAuth struct {
	tickets map[string]string
}

func (a *ticketAuth) AuthMethod() string { return wamp.AuthTicket }

func (a *ticketAuth) Authenticate(_ nx.ID, details nx.Dict, client nx.Peer) (*nx.Welcome, error) {
	authid, _ := nx.AsString(details[wamp.OptAuthID])
	if authid == "" {
		return nil, errors.New("ticket: missing authid")
	}
	rsp, err := challenge(client, &nx.Challenge{AuthMethod: a.AuthMethod(), Extra: nx.Dict{}})
	if err != nil {
		return nil, err
	}
	want, known := a.tickets[authid]
	// Compare even for an unknown authid, so that timing does not tell which exist.
	ok := subtle.ConstantTimeCompare([]byte(rsp.Signature), []byte(want)) == 1
	if !known || !ok {
		return nil, errors.New("ticket: invalid ticket")
	}
	return welcome(authid, a.AuthMethod()), nil
}

// cryptosignAuth implements WAMP-Cryptosign (authentication_cryptosign.md; Autobahn
// cryptosign.py): the client names its Ed25519 public key in authextra.pubkey (64 hex
// characters), the router sends 32 random bytes as hex, and the client answers with
// hex(signature ‖ challenge), 96 bytes. Channel binding is not offered (no TLS here), so
// a client that asks for it is refused.
type cryptosignAuth struct {
	keys map[string][]ed25519.PublicKey
}

func (a *cryptosignAuth) AuthMethod() string { return wamp.AuthCryptosign }

func (a *cryptosignAuth) Authenticate(_ nx.ID, details nx.Dict, client nx.Peer) (*nx.Welcome, error) {
	authid, _ := nx.AsString(details[wamp.OptAuthID])
	extra, _ := nx.AsDict(details[wamp.OptAuthExtra])
	pubHex, _ := nx.AsString(extra[wamp.OptPubKey])
	pub, err := hex.DecodeString(pubHex)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("cryptosign: authextra.pubkey must be 64 hex characters")
	}
	if cb, present := extra[wamp.OptChannelBinding]; present && cb != nil {
		return nil, fmt.Errorf("cryptosign: channel binding %v is not supported", cb)
	}
	if authid == "" {
		// Autobahn lets the router find the principal by its key.
		for id, keys := range a.keys {
			if containsKey(keys, pub) {
				if authid != "" {
					return nil, errors.New("cryptosign: key belongs to several authids; send authid")
				}
				authid = id
			}
		}
	}
	authorized := authid != "" && containsKey(a.keys[authid], pub)

	ch := make([]byte, 32)
	if _, err := rand.Read(ch); err != nil {
		return nil, err
	}
	rsp, err := challenge(client, &nx.Challenge{AuthMethod: a.AuthMethod(), Extra: nx.Dict{
		wamp.OptChallenge: hex.EncodeToString(ch), wamp.OptChannelBinding: nil}})
	if err != nil {
		return nil, err
	}
	if !authorized {
		return nil, errors.New("cryptosign: key not authorized for this authid")
	}
	signed, err := hex.DecodeString(rsp.Signature)
	if err != nil || len(signed) != ed25519.SignatureSize+len(ch) {
		return nil, errors.New("cryptosign: signature must be 192 hex characters")
	}
	sig, msg := signed[:ed25519.SignatureSize], signed[ed25519.SignatureSize:]
	if subtle.ConstantTimeCompare(msg, ch) != 1 || !ed25519.Verify(ed25519.PublicKey(pub), ch, sig) {
		return nil, errors.New("cryptosign: invalid signature")
	}
	w := welcome(authid, a.AuthMethod())
	w.Details[wamp.OptAuthExtra] = nx.Dict{wamp.OptPubKey: strings.ToLower(pubHex)}
	return w, nil
}

func containsKey(keys []ed25519.PublicKey, pub []byte) bool {
	for _, k := range keys {
		if subtle.ConstantTimeCompare(k, pub) == 1 {
			return true
		}
	}
	return false
}

// challenge sends ch to the client and waits for its AUTHENTICATE.
func challenge(client nx.Peer, ch *nx.Challenge) (*nx.Authenticate, error) {
	select {
	case client.Send() <- ch:
	default:
		return nil, errors.New("cannot send CHALLENGE: client blocked")
	}
	msg, err := nx.RecvTimeout(client, authChallengeWait)
	if err != nil {
		return nil, err
	}
	rsp, ok := msg.(*nx.Authenticate)
	if !ok {
		return nil, fmt.Errorf("expected AUTHENTICATE, received %v", msg.MessageType())
	}
	return rsp, nil
}

func welcome(authid, method string) *nx.Welcome {
	return &nx.Welcome{Details: nx.Dict{
		wamp.OptAuthID:       authid,
		wamp.OptAuthRole:     authRoleUser,
		wamp.OptAuthMethod:   method,
		wamp.OptAuthProvider: authProvider,
	}}
}

// craKeyStore serves Config.WampcraSecrets to nexus's wampcra authenticator.
type craKeyStore struct {
	secrets map[string]string
}

var _ auth.KeyStore = (*craKeyStore)(nil)

func (k *craKeyStore) AuthKey(authid, authmethod string) ([]byte, error) {
	s, ok := k.secrets[authid]
	if !ok || authmethod != wamp.AuthWampCRA {
		return nil, errors.New("no such user")
	}
	return []byte(s), nil
}

func (k *craKeyStore) PasswordInfo(string) (string, int, int) { return "", 0, 0 }

func (k *craKeyStore) AuthRole(authid string) (string, error) {
	if _, ok := k.secrets[authid]; !ok {
		return "", errors.New("no such user")
	}
	return authRoleUser, nil
}

func (k *craKeyStore) Provider() string { return authProvider }

// authenticators builds the realm's authenticators from the configuration.
func authenticators(cfg *Config) []auth.Authenticator {
	var as []auth.Authenticator
	if len(cfg.Tickets) > 0 {
		as = append(as, &ticketAuth{tickets: cfg.Tickets})
	}
	if len(cfg.CryptosignKeys) > 0 {
		as = append(as, &cryptosignAuth{keys: cfg.CryptosignKeys})
	}
	if len(cfg.WampcraSecrets) > 0 {
		as = append(as, auth.NewCRAuthenticator(&craKeyStore{secrets: cfg.WampcraSecrets}, authChallengeWait))
	}
	return as
}
