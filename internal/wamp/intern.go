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

// kept holds a few values of one kind that repeat from one message to the next, for
// every goroutine (each is never modified once stored, only replaced): the texts of
// keptValue, too long or too varied to intern (a sender's key id, the URI a sealed
// plaintext repeats, a PUBLISH's topic or a CALL's procedure), and the dicts that name
// a key id which msgpackDict encodes and fixDict reads (keyedDicts, keyedReads). A
// reader or writer looks at each slot for every value it handles, so there are few.
type kept[T any] struct {
	slots  [keptSlots]atomic.Pointer[T]
	next   atomic.Uint32 // values kept so far; the next replaces slots[next%keptSlots]
	misses atomic.Uint32 // values that could have been kept once the slots were full
}

// keptSlots is how many values a kept holds.
const keptSlots = 4

// replace says whether a value that could be kept but matches none kept is to be kept:
// always while a slot is empty, then at every keptReplaceEvery-th such value, which
// replaces the one kept longest. Where more senders' messages interleave than there are
// slots (a router with many publishers of different keys, or more topics than slots),
// replacing at each one would add a copy (and a write to memory every core reads) to
// every message and match none; so those kept stay, matching their senders' messages,
// and the cost of keeping is shared by many. A sender's new key id (a rotation) is kept
// after at most keptReplaceEvery messages.
func (k *kept[T]) replace() bool {
	return k.next.Load() < keptSlots || k.misses.Add(1)%keptReplaceEvery == 0
}

// keep stores v in the slot replace chose.
func (k *kept[T]) keep(v *T) {
	k.slots[(k.next.Add(1)-1)%keptSlots].Store(v)
}

// keptReplaceEvery: see kept.replace.
const keptReplaceEvery = 16

// keptValue returns b as a string boxed in an interface: the kept one when b spells it,
// else a new one, kept as replace says. Nothing is allocated for a kept text (the
// conversion in the comparison does not copy).
func keptValue[T string | []byte](k *kept[internedName], b T) any {
	for i := range k.slots {
		if n := k.slots[i].Load(); n != nil && n.s == string(b) {
			return n.v
		}
	}
	s := string(b)
	n := &internedName{s, s}
	if k.replace() {
		k.keep(n)
	}
	return n.v
}

// keyIDs, knownTexts and uris are the kept texts of keyIDValue, of
// UnmarshalJSONFields and of the topics and procedures msgpackDecodeDirect reads.
var keyIDs, knownTexts, uris kept[internedName]

// keyIDValue is textValue for the value of a sealed message's key id: one publisher's
// events all carry the same one (a 42-character fingerprint, too long to intern), so the
// last few read are kept and given out again while they repeat, instead of a new string
// and box per message (two allocations of every sealed EVENT a subscriber reads and of
// every sealed PUBLISH the router reads). A few, not one: cbx router reads a sealed
// call's CALL, which carries the caller's key id, and its YIELD, which carries the
// callee's, in turn (with only the last one kept, each replaced the other: four
// allocations per message, about a microsecond of the router's CPU per round trip), and
// a subscriber may follow a few publishers. A key id not among them is kept as
// kept.replace says.
func keyIDValue(b []byte) any { return keptValue(&keyIDs, b) }
