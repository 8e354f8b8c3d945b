package e2e_test

import (
	"errors"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// A publisher's and a subscriber's codecs, each over its own keystore: the publisher
// holds its private key and the subscriber's public key for "com.example.", the
// subscriber the other two. A session takes a codec as its wamp.Config.Codec; here the
// codecs are used without one, as cbx seal and cbx open use them.
func Example() {
	pubPriv, _ := keygen.Generate(nil)
	subPriv, _ := keygen.Generate(nil)
	pubPub, subPub := pubPriv.Public(), subPriv.Public()
	publisherKS, subscriberKS := keystore.New(), keystore.New()
	if err := publisherKS.Put(&keystore.Entry{Prefix: "com.example.", OriginatorPrivate: &pubPriv, ResponderPublic: &subPub}); err != nil {
		panic(err)
	}
	if err := subscriberKS.Put(&keystore.Entry{Prefix: "com.example.", ResponderPrivate: &subPriv, OriginatorPublic: &pubPub}); err != nil {
		panic(err)
	}
	publisher := e2e.NewCodec(publisherKS, "publisher.ks", e2e.WireLegacy)
	subscriber := e2e.NewCodec(subscriberKS, "subscriber.ks", e2e.WireLegacy)

	// What a PUBLISH carries: the sealed bytes, Autobahn's options, and as enc_key the key
	// id, the fingerprint of the subscriber's public key.
	p, opts, sealed, err := publisher.Seal(true, "com.example.orders", wamp.List{"card"}, wamp.Dict{"id": int64(17)})
	fmt.Println(sealed, err, opts[wamp.OptEncAlgo], opts[wamp.OptEncSerializer], opts[wamp.OptEncKey] == keygen.Fingerprint(subPub))

	// What the subscriber's session does with the EVENT, and which key opened it: the
	// entry, its generation, and the publisher's key by the fingerprint keygen shows for
	// it.
	args, kwargs, opened, err := subscriber.Open(false, "com.example.orders", p, opts)
	fmt.Println(args, kwargs, err)
	fmt.Println(opened[e2e.OpenedEntry], opened[e2e.OpenedGeneration], opened[e2e.OpenedOriginator] == keygen.Fingerprint(pubPub))

	// Moved to another topic by the router: refused, with Autobahn's error URI.
	_, _, _, err = subscriber.Open(false, "com.example.bills", p, opts)
	var mm *e2e.URIMismatchError
	var ce wamp.CodecError
	fmt.Println(errors.As(err, &mm), errors.As(err, &ce) && ce.WAMPErrorURI() == wamp.ErrURITrustedMismatch)

	// A URI the keystore does not cover travels in plaintext.
	_, _, sealed, err = publisher.Seal(true, "org.public.news", wamp.List{"hello"}, nil)
	fmt.Println(sealed, err)
	// Output:
	// true <nil> cryptobox json true
	// [card] map[id:17] <nil>
	// com.example. 1 true
	// true true
	// false <nil>
}
