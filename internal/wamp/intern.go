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

// keyIDs are the key ids (enc_key, ppt_keyid) keyIDValue gave out last, each with its
// box; keyIDNext counts the ones it added, the next one replacing the oldest.
var (
	keyIDs    [keyIDSlots]atomic.Pointer[internedName]
	keyIDNext atomic.Uint32
)

// keyIDSlots is how many key ids keyIDValue keeps: a few, since it looks at each of them
// for every key id it reads.
const keyIDSlots = 4

// keyIDValue is textValue for the value of a sealed message's key id: one publisher's
// events all carry the same one (a 42-character fingerprint, too long to intern), so the
// last few read are kept and given out again while they repeat, instead of a new string
// and box per message (two allocations of every sealed EVENT a subscriber reads and of
// every sealed PUBLISH the router reads). A few, not one: cbx router reads a sealed
// call's CALL, which carries the caller's key id, and its YIELD, which carries the
// callee's, in turn (with only the last one kept, each replaced the other: four
// allocations per message, about a microsecond of the router's CPU per round trip), and
// a subscriber may follow a few publishers. A key id not among them replaces the oldest.
func keyIDValue(b []byte) any {
	for i := range keyIDs {
		if n := keyIDs[i].Load(); n != nil && n.s == string(b) {
			return n.v
		}
	}
	s := string(b)
	keyIDs[(keyIDNext.Add(1)-1)%keyIDSlots].Store(&internedName{s, s})
	return s
}
