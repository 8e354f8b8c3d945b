package e2e

import (
	"bytes"
	"errors"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Message is what a cryptobox payload seals: the URI it was sealed for and the application
// arguments, in internal/wamp's value model.
type Message struct {
	URI    string
	Args   []any          // nil encodes as null, as Autobahn's callee results do
	Kwargs map[string]any // nil encodes as null

	// argsJSON, when not nil, stands for Args (then nil): the list as its JSON text in
	// canonical form (wamp.CanonicalJSONList), which the legacy plaintext carries as it
	// is. Only SealJSON and OpenJSON set it.
	argsJSON []byte
}

// ErrPlaintext: the payload authenticated, so it was sealed with our key and not
// tampered with, but its plaintext is not a cryptobox message cbx can carry. Every
// [*PlaintextError] is one.
var ErrPlaintext = errors.New("the payload opened but its plaintext is not a cryptobox message")

// PlaintextError says why a decrypted plaintext was refused. Its text never quotes the
// plaintext: it may be sent back to a peer (wamp.error.encryption.decrypt_error) and seen
// by the router, which must learn nothing of what was sealed.
type PlaintextError struct {
	Reason string           // what is wrong with the plaintext's structure, when Value is nil
	Value  *wamp.ValueError // the value outside the dialect, when that is the reason
}

func (e *PlaintextError) Error() string {
	if e.Value != nil {
		return "the payload opened but holds a value that cannot be carried exactly: " + e.Value.Kind.Error()
	}
	return "the payload opened but is not a cryptobox plaintext: " + e.Reason
}

// Unwrap gives [ErrPlaintext] and, for a value outside the dialect, the *wamp.ValueError
// (so errors.Is(err, wamp.ErrIntegerRange) and the like work).
func (e *PlaintextError) Unwrap() []error {
	if e.Value != nil {
		return []error{ErrPlaintext, e.Value}
	}
	return []error{ErrPlaintext}
}

// decodeErr turns a reader's error into a *PlaintextError.
func decodeErr(err error, format string) *PlaintextError {
	var ve *wamp.ValueError
	if errors.As(err, &ve) {
		return &PlaintextError{Value: ve}
	}
	return &PlaintextError{Reason: "not " + format}
}

// EncodePlaintext encodes m exactly as autobahn/wamp/cryptobox.py does before sealing
// (wire.md §1.3): the object {"uri","args","kwargs"} in that order, in the JSON form of
// internal/wamp's dialect (Autobahn's _dumps: compact separators, raw UTF-8, binary as
// "\u0000"+base64, floats as Python's repr).
//
// One difference is deliberate and harmless: keys inside kwargs come out sorted (a Go map
// has no order), where Python keeps insertion order. Decoders on both sides read the same
// object.
func EncodePlaintext(m Message) ([]byte, error) {
	return appendPlaintext(nil, m)
}

// appendPlaintext appends EncodePlaintext(m) to b; on error the result is nil.
func appendPlaintext(b []byte, m Message) ([]byte, error) {
	b = append(b, `{"uri":`...)
	b, err := wamp.AppendJSONText(b, m.URI)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"args":`...)
	if m.argsJSON != nil {
		b = append(b, m.argsJSON...) // what AppendJSONList would write: it is canonical
	} else if m.Args == nil {
		b = append(b, "null"...)
	} else if b, err = wamp.AppendJSONList(b, m.Args, wamp.NestPayload); err != nil {
		return nil, err
	}
	b = append(b, `,"kwargs":`...)
	if m.Kwargs == nil {
		b = append(b, "null"...)
	} else if b, err = wamp.AppendJSONDict(b, m.Kwargs, wamp.NestPayload); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// DecodePlaintext reads Autobahn's plaintext object. Missing or null "args", "kwargs" and
// "uri" count as absent (Autobahn reads them with dict.get); anything that is not an object
// with a string "uri", a list "args" and an object "kwargs", or that holds a value outside
// the dialect anywhere, is a *[PlaintextError].
func DecodePlaintext(b []byte) (Message, error) {
	return decodePlaintextFor(b)
}

// decodePlaintextFor is DecodePlaintext for a plaintext whose "uri" (plaintextFields[0])
// is expected to be trusted[0], if given: read as a string kept from an earlier message
// when it is, with no copy made only to be compared (wamp.UnmarshalJSONFields). The
// result is DecodePlaintext's whatever trusted is (FuzzPlaintext).
func decodePlaintextFor(b []byte, trusted ...string) (Message, error) {
	// The three fields straight from the text, for a plaintext in the dialect (every one
	// a sealer in good faith sends); anything else is read as it always was, to be refused
	// in the same words.
	var fields [3]any
	if wamp.UnmarshalJSONFields(b, wamp.NestMessage, plaintextFields[:], fields[:], trusted) {
		return fromFields(fields[0], fields[1], fields[2])
	}
	return decodePlaintextObject(b)
}

// plaintextArgsJSON reads a legacy plaintext of the form appendPlaintext writes, and
// Autobahn too ({"uri":…,"args":[…],"kwargs":null or {}}, compact, in that order), whose
// "uri" is trusted and whose args are canonical JSON (wamp.CanonicalJSONList): it returns
// the Message decodePlaintextFor(b, trusted) would, but with the args as a copy of their
// text (argsJSON) rather than values. ok is false for any other plaintext, which then
// takes decodePlaintextFor (FuzzPlaintextArgsJSON holds the two to the same message).
//
// Such a text is one JSON object with exactly those three keys: "uri" holds trusted
// between quotes, a text JSON writes as it is (wamp.PlainJSONText), which reads back as
// trusted; the args text is a list that reads within the plaintext's nesting limit (a
// list inside the object has NestPayload's room); kwargs is null (nil) or {} (an empty
// dict).
func plaintextArgsJSON(b []byte, trusted string) (m Message, ok bool) {
	const uriKey, argsKey = `{"uri":"`, `","args":`
	n := len(uriKey) + len(trusted) + len(argsKey)
	if len(b) < n || string(b[:len(uriKey)]) != uriKey || string(b[len(uriKey):len(uriKey)+len(trusted)]) != trusted ||
		string(b[n-len(argsKey):n]) != argsKey || !wamp.PlainJSONText(trusted) {
		return Message{}, false
	}
	rest := b[n:]
	const noKwargs, emptyKwargs = `,"kwargs":null}`, `,"kwargs":{}}`
	var args []byte
	switch {
	case bytes.HasSuffix(rest, []byte(noKwargs)):
		args = rest[:len(rest)-len(noKwargs)]
	case bytes.HasSuffix(rest, []byte(emptyKwargs)):
		args = rest[:len(rest)-len(emptyKwargs)]
		m.Kwargs = map[string]any{}
	default:
		return Message{}, false
	}
	if !wamp.CanonicalJSONList(args, wamp.NestPayload) {
		return Message{}, false
	}
	m.URI = trusted
	m.argsJSON = bytes.Clone(args)
	return m, true
}

// decodePlaintextObject is DecodePlaintext through the whole object (UnmarshalJSON's
// map): how it always read a plaintext, and what it answers whenever the fields alone
// cannot be read (FuzzPlaintext holds the two to the same results).
func decodePlaintextObject(b []byte) (Message, error) {
	v, err := wamp.UnmarshalJSON(b, wamp.NestMessage)
	if err != nil {
		return Message{}, decodeErr(err, "JSON")
	}
	return fromObject(v, "JSON object")
}

// EncodePPTPlaintext encodes m as cbx's plaintext for Payload PassThru Mode
// (ppt_serializer "cbor"; the spec leaves the cipher layout to us, wire.md §2.4): the CBOR map {"uri","args","kwargs"} in that order, values in the CBOR form of
// internal/wamp's dialect, binary as byte strings.
func EncodePPTPlaintext(m Message) ([]byte, error) {
	return appendPPTPlaintext(nil, m)
}

// appendPPTPlaintext appends EncodePPTPlaintext(m) to b; on error the result is nil.
func appendPPTPlaintext(b []byte, m Message) ([]byte, error) {
	if m.argsJSON != nil {
		// Args given as JSON text are the legacy form's; written here they would be
		// lost ("args": null). sealPayload reads them into values first.
		return nil, errors.New("args given as JSON text cannot be written as a PPT plaintext")
	}
	b = append(b, 0xa3) // a map of three pairs
	b, err := wamp.AppendCBOR(b, "uri", wamp.NestValue)
	if err == nil {
		b, err = wamp.AppendCBOR(b, m.URI, wamp.NestValue)
	}
	if err != nil {
		return nil, err
	}
	b, _ = wamp.AppendCBOR(b, "args", wamp.NestValue)
	if m.Args == nil {
		b = append(b, 0xf6) // null
	} else if b, err = wamp.AppendCBOR(b, m.Args, wamp.NestPayload); err != nil {
		return nil, err
	}
	b, _ = wamp.AppendCBOR(b, "kwargs", wamp.NestValue)
	if m.Kwargs == nil {
		b = append(b, 0xf6)
	} else if b, err = wamp.AppendCBOR(b, m.Kwargs, wamp.NestPayload); err != nil {
		return nil, err
	}
	return b, nil
}

// DecodePPTPlaintext reads cbx's PPT plaintext with the same rules as [DecodePlaintext].
func DecodePPTPlaintext(b []byte) (Message, error) {
	v, err := wamp.UnmarshalCBOR(b, wamp.NestMessage)
	if err != nil {
		return Message{}, decodeErr(err, "CBOR")
	}
	return fromObject(v, "CBOR map")
}

// fromObject checks the shape {"uri": str, "args": list, "kwargs": dict}; other keys are
// ignored, as Autobahn ignores them.
func fromObject(v any, what string) (Message, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Message{}, &PlaintextError{Reason: "not a " + what}
	}
	return fromFields(obj["uri"], obj["args"], obj["kwargs"])
}

// plaintextFields are the keys of a plaintext object that fromFields reads, in its order.
var plaintextFields = [3]string{"uri", "args", "kwargs"}

// fromFields is fromObject's check of the three values, nil where a key is absent.
func fromFields(u, a, k any) (Message, error) {
	var m Message
	var ok bool
	if u != nil {
		if m.URI, ok = u.(string); !ok {
			return Message{}, &PlaintextError{Reason: `"uri" is not a string`}
		}
	}
	if a != nil {
		if m.Args, ok = a.([]any); !ok {
			return Message{}, &PlaintextError{Reason: `"args" is not a list`}
		}
	}
	if k != nil {
		if m.Kwargs, ok = k.(map[string]any); !ok {
			return Message{}, &PlaintextError{Reason: `"kwargs" is not a dict`}
		}
	}
	return m, nil
}
