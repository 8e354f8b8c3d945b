package wamp

// interned holds the names that arrive in nearly every routing message (Options and
// Details keys, and the values of the sealed forms' metadata), so that the readers give
// them out as these shared strings instead of allocating a copy per message: a sealed
// EVENT's Details alone would otherwise cost four strings. Any other text is copied as
// usual; the values are the same either way.
var interned, maxInterned = func() (map[string]string, int) {
	m, longest := map[string]string{}, 0
	for _, s := range []string{
		OptAcknowledge, OptExcludeMe, OptDiscloseMe, OptMatch, OptTopic, OptProcedure,
		OptReceiveProgress, OptProgress, OptMode, OptTimeout, OptMessage,
		OptEncAlgo, OptEncSerializer, OptEncKey,
		OptPPTScheme, OptPPTSerializer, OptPPTCipher, OptPPTKeyID, OptCBXDropped,
		MatchExact, MatchPrefix, MatchWildcard,
		EncAlgoCryptobox, PPTSchemeWAMP, PPTCipherXSalsa20Poly1305,
		SerializerJSON, SerializerMsgPack, SerializerCBOR,
	} {
		m[s] = s
		longest = max(longest, len(s))
	}
	return m, longest // longer text is not looked up
}()

// text returns b as a string: an interned name when b spells one, else a copy.
func text(b []byte) string {
	if len(b) <= maxInterned {
		if s, ok := interned[string(b)]; ok { // the conversion does not allocate
			return s
		}
	}
	return string(b)
}
