package box

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// vectorFile is the module's testdata/vectors/cryptobox.json ([testkit.VectorsFile]), made by
// gen_vectors.py with Autobahn|Python 22.7.1's own KeyRing and PyNaCl.
type vectorFile struct {
	Keys struct {
		OriginatorPrivHex string `json:"originator_priv_hex"`
		OriginatorPubHex  string `json:"originator_pub_hex"`
		ResponderPrivHex  string `json:"responder_priv_hex"`
		ResponderPubHex   string `json:"responder_pub_hex"`
		SinglePrivHex     string `json:"single_priv_hex"`
		SinglePubHex      string `json:"single_pub_hex"`
		BoxKeyHex         string `json:"box_key_originator_responder_hex"`
		BoxKeySingleHex   string `json:"box_key_single_hex"`
	} `json:"keys"`
	Vectors []struct {
		Name         string `json:"name"`
		URI          string `json:"uri"`
		Direction    string `json:"direction"`
		PlaintextHex string `json:"plaintext_hex"`
		NonceHex     string `json:"nonce_hex"`
		BoxKeyHex    string `json:"box_key_hex"`
		PayloadHex   string `json:"payload_hex"`
	} `json:"vectors"`
	Negative []struct {
		Name         string `json:"name"`
		URI          string `json:"uri"`
		EnvelopeURI  string `json:"envelope_uri"`
		EncryptedURI string `json:"encrypted_uri"`
		PayloadHex   string `json:"payload_hex"`
	} `json:"negative"`
}

func loadVectors(t testing.TB) *vectorFile {
	t.Helper()
	b := testkit.CryptoboxVectors(t)
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 || len(v.Negative) == 0 {
		t.Fatal("vector file has no vectors")
	}
	return &v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func key32(t testing.TB, s string) [KeySize]byte {
	var k [KeySize]byte
	if n := copy(k[:], unhex(t, s)); n != KeySize {
		t.Fatalf("key %q has %d bytes", s, n)
	}
	return k
}

type keyPair struct {
	senderPriv, receiverPriv PrivateKey
	senderPub, receiverPub   PublicKey
}

// pairFor returns the keys of the two ends of a vector: single-key vectors use one key pair
// on both ends (Autobahn's KeyRing(priv)); the others are originator/responder.
func pairFor(t testing.TB, v *vectorFile, name, direction string) keyPair {
	o, r := PrivateKey(key32(t, v.Keys.OriginatorPrivHex)), PrivateKey(key32(t, v.Keys.ResponderPrivHex))
	if name == "single-key-default-publish-noargs" {
		s := PrivateKey(key32(t, v.Keys.SinglePrivHex))
		o, r = s, s
	}
	if direction == "responder->originator" {
		o, r = r, o
	}
	return keyPair{senderPriv: o, receiverPriv: r, senderPub: o.Public(), receiverPub: r.Public()}
}

func TestPublicKeysMatchVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range []struct{ priv, pub string }{
		{v.Keys.OriginatorPrivHex, v.Keys.OriginatorPubHex},
		{v.Keys.ResponderPrivHex, v.Keys.ResponderPubHex},
		{v.Keys.SinglePrivHex, v.Keys.SinglePubHex},
	} {
		priv := PrivateKey(key32(t, c.priv))
		if got := priv.Public(); hex.EncodeToString(got[:]) != c.pub {
			t.Errorf("public key of %s = %x, want %s", c.priv, got, c.pub)
		}
	}
}

func TestVectors(t *testing.T) {
	v := loadVectors(t)
	for _, vec := range v.Vectors {
		t.Run(vec.Name, func(t *testing.T) {
			t.Parallel()
			kp := pairFor(t, v, vec.Name, vec.Direction)
			sender := mustPrecompute(t, &kp.receiverPub, &kp.senderPriv)
			receiver := mustPrecompute(t, &kp.senderPub, &kp.receiverPriv)
			if got := hex.EncodeToString(sender.Bytes()); got != vec.BoxKeyHex {
				t.Fatalf("sender box key = %s, want %s", got, vec.BoxKeyHex)
			}
			if !bytes.Equal(sender.Bytes(), receiver.Bytes()) {
				t.Fatal("the two ends derive different box keys")
			}

			plaintext := unhex(t, vec.PlaintextHex)
			payload, err := sender.SealWithRand(plaintext, bytes.NewReader(unhex(t, vec.NonceHex)))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(payload); got != vec.PayloadHex {
				t.Fatalf("sealed payload differs from Autobahn's:\n got %s\nwant %s", got, vec.PayloadHex)
			}

			opened, err := receiver.Open(unhex(t, vec.PayloadHex))
			if err != nil {
				t.Fatalf("opening Autobahn's payload: %v", err)
			}
			if !bytes.Equal(opened, plaintext) {
				t.Fatalf("opened %q, want Autobahn's plaintext %q", opened, plaintext)
			}
		})
	}
}

// TestNegativeVectors: a tampered tag does not open. The uri-mismatch vector is a genuine
// payload under the right key (internal/e2e's tests check the URI inside it), so it opens.
func TestNegativeVectors(t *testing.T) {
	v := loadVectors(t)
	kp := pairFor(t, v, "", "originator->responder")
	receiver := mustPrecompute(t, &kp.senderPub, &kp.receiverPriv)
	seen := 0
	for _, n := range v.Negative {
		payload := unhex(t, n.PayloadHex)
		switch n.Name {
		case "tampered-tag":
			seen++
			if _, err := receiver.Open(payload); !errors.Is(err, ErrDecrypt) {
				t.Errorf("tampered payload: err = %v, want ErrDecrypt", err)
			}
		case "uri-mismatch":
			seen++
			if _, err := receiver.Open(payload); err != nil {
				t.Errorf("uri-mismatch payload: %v; it is authentic and must open", err)
			}
		default:
			t.Errorf("unknown negative vector %q", n.Name)
		}
	}
	if seen != 2 {
		t.Fatalf("checked %d negative vectors, want 2", seen)
	}
}

func TestWrongKeyAndShortPayload(t *testing.T) {
	v := loadVectors(t)
	kp := pairFor(t, v, "", "originator->responder")
	sender := mustPrecompute(t, &kp.receiverPub, &kp.senderPriv)
	payload, err := sender.Seal([]byte(`{"uri":"a.b","args":["x"],"kwargs":null}`))
	if err != nil {
		t.Fatal(err)
	}
	other := PrivateKey(key32(t, v.Keys.SinglePrivHex))
	wrong := mustPrecompute(t, &kp.senderPub, &other)
	if _, err := wrong.Open(payload); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong key: err = %v, want ErrDecrypt", err)
	}
	for _, n := range []int{0, 1, Overhead - 1} {
		if _, err := sender.Open(payload[:n]); !errors.Is(err, ErrTooShort) {
			t.Errorf("%d-byte payload: err = %v, want ErrTooShort", n, err)
		}
	}
}

func TestFreshNonces(t *testing.T) {
	var priv PrivateKey
	priv[0] = 9
	pub := priv.Public()
	k := mustPrecompute(t, &pub, &priv)
	a, _ := k.Seal([]byte("same"))
	b, _ := k.Seal([]byte("same"))
	if bytes.Equal(a[:NonceSize], b[:NonceSize]) {
		t.Fatal("two seals used the same nonce")
	}
}

// Seal's nonces come from a buffer of crypto/rand's bytes (readNonce): across several
// refills every nonce is new, every payload opens, and the buffer keeps no byte of a
// nonce once it is given out.
func TestBufferedNonces(t *testing.T) {
	var priv PrivateKey
	priv[0] = 9
	pub := priv.Public()
	k := mustPrecompute(t, &pub, &priv)
	seen := map[[NonceSize]byte]bool{}
	for i := range 3*nonceBatch + 5 {
		p, err := k.Seal([]byte("same"))
		if err != nil {
			t.Fatal(err)
		}
		n := [NonceSize]byte(p[:NonceSize])
		if seen[n] {
			t.Fatalf("seal %d reused a nonce", i)
		}
		seen[n] = true
		if pt, err := k.Open(p); err != nil || string(pt) != "same" {
			t.Fatalf("seal %d: Open = %q, %v", i, pt, err)
		}
		nonces.mu.Lock()
		used := nonces.buf[:nonces.off]
		left := nonces.buf[nonces.off:]
		nonces.mu.Unlock()
		if !bytes.Equal(used, make([]byte, len(used))) {
			t.Fatalf("seal %d: the nonces given out are still in the buffer", i)
		}
		if bytes.Contains(left, n[:]) {
			t.Fatalf("seal %d: its nonce is still among those to come", i)
		}
	}
}
