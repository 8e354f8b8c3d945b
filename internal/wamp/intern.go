package wamp

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
