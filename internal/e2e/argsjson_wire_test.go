package e2e

import (
	"reflect"
	"testing"
)

// SealJSON decides between the text and the values by the wire form, and sealPayload
// then writes the plaintext of the wire form it reads itself: a SetWire between the two
// (the form is an atomic that a connection may set at any time) must not seal a legacy
// Message, whose args are only text, as a PPT plaintext, which writes absent args as
// null, an event with its arguments dropped. Whatever form sealPayload writes, the
// payload opens to the text's values.
func TestSealPayloadArgsJSONAnyForm(t *testing.T) {
	pub, sub := benchCodecs(t)
	e, _ := pub.keys().Lookup(benchURI)
	for _, text := range canonicalArgs {
		for _, form := range []WireForm{WireLegacy, WirePPT} {
			pub.SetWire(form) // as if set after SealJSON read the form
			p, opts, ok, err := pub.sealPayload(e, true, Message{URI: benchURI, argsJSON: []byte(text)}, nil)
			if err != nil || !ok {
				t.Fatalf("%v: %s: ok=%v %v", form, text, ok, err)
			}
			args, kwargs, _, err := sub.Open(false, benchURI, p, opts)
			if want := valuesOf(t, []byte(text)); err != nil || kwargs != nil || !reflect.DeepEqual(args, want) {
				t.Errorf("%v: %s sealed, opened as %#v %#v (%v)", form, text, args, kwargs, err)
			}
		}
	}
}
