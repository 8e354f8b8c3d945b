package wamp

import "sync/atomic"

// interned holds the names that arrive in nearly every routing message (Options and
// Details keys, and the values of the sealed forms' metadata), so that the readers give
// them out as these shared strings instead of allocating a copy per message: a sealed
// EVENT's Details alone would otherwise cost four strings. Any other text is copied as
// usual; the values are the same either way.
//
// Each name is also kept boxed as an any, for the readers that return a value as one
// (textValue): converting a string to an interface otherwise allocates its header on
// every conversion, even for a shared string.
var interned, maxInterned = func() (map[string]internedName, int) {
	m, longest := map[string]internedName{}, 0
	for _, s := range []string{
		OptAcknowledge, OptExcludeMe, OptDiscloseMe, OptMatch, OptTopic, OptProcedure,
		OptReceiveProgress, OptProgress, OptMode, OptTimeout, OptMessage,
		OptEncAlgo, OptEncSerializer, OptEncKey,
		OptPPTScheme, OptPPTSerializer, OptPPTCipher, OptPPTKeyID, OptCBXDropped,
		MatchExact, MatchPrefix, MatchWildcard,
		EncAlgoCryptobox, PPTSchemeWAMP, PPTCipherXSalsa20Poly1305,
		SerializerJSON, SerializerMsgPack, SerializerCBOR,
	} {
		m[s] = internedName{s, s}
		longest = max(longest, len(s))
	}
	return m, longest // longer text is not looked up
}()

// text returns b as a string: an interned name when b spells one, else a copy.
func text(b []byte) string {
	if len(b) <= maxInterned {
		if n, ok := interned[string(b)]; ok { // the conversion does not allocate
			return n.s
		}
	}
	return string(b)
}

// internedName is an interned name, as a string and boxed.
type internedName struct {
	s string
	v any
}

// textValue is text(b) as an any: for an interned name, its shared box.
func textValue(b []byte) any {
	if len(b) <= maxInterned {
		if n, ok := interned[string(b)]; ok {
			return n.v
		}
	}
	return string(b)
}

// lastKeyID is the key id (enc_key, ppt_keyid) keyIDValue gave out last, with its box.
var lastKeyID atomic.Pointer[internedName]

// keyIDValue is textValue for the value of a sealed message's key id: one publisher's
// events all carry the same one (a 42-character fingerprint, too long to intern), so the
// last one read is kept and given out again while it repeats, instead of a new string and
// box per message (two allocations of every sealed EVENT a subscriber reads and of every
// sealed PUBLISH the router reads). Another key id replaces it.
func keyIDValue(b []byte) any {
	if n := lastKeyID.Load(); n != nil && n.s == string(b) {
		return n.v
	}
	s := string(b)
	lastKeyID.Store(&internedName{s, s})
	return s
}
