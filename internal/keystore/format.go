// Package keystore maps URI prefixes to cryptobox keys, on disk and in memory, with exactly
// the lookup rules of Autobahn|Python's KeyRing.
//
// # Lookup (wire.md §1.5–1.6)
//
// The entry whose prefix is the longest character prefix of the URI wins; the empty prefix
// is the default key; no match and no default means the URI is not encrypted. Matching is
// by characters, not URI components, as in Autobahn's pytrie lookup: "com.app" also covers
// "com.application.x", which is why prefixes should end in ".". One rule is cbx's own: a
// URI under "wamp." (the router's meta API) is only covered by a prefix that itself starts
// with "wamp.", never by the default key or a shorter prefix, because routers answer those
// calls themselves and cannot open a sealed payload (wire.md §5.5).
//
// # Entries and directions
//
// An entry holds, like Autobahn's cryptobox.Key, the originator's private or public key and
// the responder's private or public key (originator = publisher or caller, responder =
// subscriber or callee), or one "single" private key used for both roles, which is
// Autobahn's KeyRing(priv). The originator box, Box(originator private, responder public),
// seals PUBLISH and CALL and opens RESULT and ERROR; the responder box,
// Box(responder private, originator public), opens EVENT and INVOCATION and seals YIELD and
// ERROR. An entry must make at least one of the two boxes.
//
// # Generations
//
// An entry holds one or more generations of its keys, numbered 1, 2, 3, … in the order
// they were added (the keys `cbx keys add` stores are generation 1; `cbx keys rotate`
// adds the next). The newest generation seals, and opens; the older ones only open, so a
// payload sealed by a peer that has not rotated yet still opens here. An older generation
// may have a retire-after time, from which on it opens nothing either: a payload only it
// would open is then refused, naming it. Generations are never removed, so their numbers
// stay the same for the life of the entry.
//
// # File format
//
// A keystore is a UTF-8 text file:
//
//	# comments and blank lines are ignored
//	cbx-keystore v2
//
//	prefix "com.example.secure."
//	generation 1
//	retire-after 2026-08-01T00:00:00Z
//	originator-private dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=
//	responder-public 3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=
//	generation 2
//	originator-private Ij66L+beeRhvXkeoeBv6SppVa34G88wwAvB2A2E7BiE=
//	responder-public 3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=
//
//	prefix ""
//	generation 1
//	single AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
//
//	end
//
// The first line names the format and its version. Each entry starts with `prefix` and a
// double-quoted Go string (so any URI character, and the empty default prefix, can be
// written), followed by its generations: a `generation N` line (N counting from 1
// without gaps), an optional `retire-after` line with an RFC 3339 time (not on the
// newest generation, which seals), and the generation's keys: `originator-private`,
// `originator-public`, `responder-private`, `responder-public` or `single`, each with a
// key in base64 (as Autobahn takes it) or hex. The file must end with the line `end`: a
// file cut short is refused instead of being read as a smaller keystore and then saved
// over.
//
// Version 1, written by cbx before generations, has no `generation` or `retire-after`
// lines: an entry's keys follow its prefix line and are its generation 1. cbx reads it,
// and writes version 2 the next time it changes the keystore ([Notice].UpgradedFrom).
// A file of a newer version than [FormatVersion] is refused ([*VersionError]), never
// read in part or overwritten.
package keystore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
)

// FormatVersion is the version this cbx writes. It reads every version up to it.
const FormatVersion = 2

const header = "cbx-keystore v"

// Field names of the file format.
const (
	FieldOriginatorPrivate = "originator-private"
	FieldOriginatorPublic  = "originator-public"
	FieldResponderPrivate  = "responder-private"
	FieldResponderPublic   = "responder-public"
	FieldSingle            = "single"
	FieldGeneration        = "generation"
	FieldRetireAfter       = "retire-after"
)

// Generation is one generation of an entry's keys (package comment, "Generations"). Like
// Autobahn's cryptobox.Key it holds the originator's private or public key and the
// responder's private or public key, or one single private key for both roles.
type Generation struct {
	// Number counts the entry's generations from 1, in the order they were added.
	Number int

	OriginatorPrivate *box.PrivateKey
	OriginatorPublic  *box.PublicKey
	ResponderPrivate  *box.PrivateKey
	ResponderPublic   *box.PublicKey
	Single            *box.PrivateKey

	// RetireAfter, when not zero, is the instant from which the generation opens nothing
	// ([Generation.RetiredAt]). Only an older generation has one: the newest seals.
	RetireAfter time.Time

	once                   sync.Once
	originatorBox, respBox *box.SharedKey
	originatorErr, respErr error

	// The public key of each side and its fingerprint, derived once (a scalar
	// multiplication for a private key, two hashes for a fingerprint): a receiver reads
	// them for every payload it opens. Each side on its own, when first asked for: a
	// one-shot publish needs only the responder's (its key id), which the keystore
	// gives, and not the originator's, which would cost a scalar multiplication.
	originatorSide, responderSide sidePublic
}

// sidePublic is one side's public key and fingerprint, derived once.
type sidePublic struct {
	once sync.Once
	pub  *box.PublicKey
	fp   string
}

// Entry is the key material for one URI prefix. Its key fields are the newest
// generation's, the one that seals (and opens); Older holds the generations before it,
// oldest first, which only open. An entry built with the key fields alone, as
// `cbx keys add` makes one, is generation 1. The fields must not change once the entry
// is in use: [Entry.Newest] and the precomputed boxes are made from them once.
type Entry struct {
	Prefix string

	OriginatorPrivate *box.PrivateKey
	OriginatorPublic  *box.PublicKey
	ResponderPrivate  *box.PrivateKey
	ResponderPublic   *box.PublicKey
	Single            *box.PrivateKey

	// Older are the generations before the newest, numbered 1 to len(Older).
	Older []*Generation

	once   sync.Once
	newest *Generation
	gens   []*Generation // Older, then newest
}

// ErrInvalidEntry is wrapped by every error of [Entry.Validate].
var ErrInvalidEntry = errors.New("invalid keystore entry")

// Newest is the generation of the entry's key fields: number len(Older)+1, the one that
// seals.
func (e *Entry) Newest() *Generation {
	e.fix()
	return e.newest
}

// fix makes the newest generation from the entry's key fields, once.
func (e *Entry) fix() {
	e.once.Do(func() {
		e.newest = &Generation{
			Number:            len(e.Older) + 1,
			OriginatorPrivate: e.OriginatorPrivate, OriginatorPublic: e.OriginatorPublic,
			ResponderPrivate: e.ResponderPrivate, ResponderPublic: e.ResponderPublic,
			Single: e.Single,
		}
		e.gens = append(append(make([]*Generation, 0, len(e.Older)+1), e.Older...), e.newest)
	})
}

// Generations returns every generation, oldest first: Older, then [Entry.Newest]. The
// slice is the entry's own, made once: read it, do not change it.
func (e *Entry) Generations() []*Generation {
	e.fix()
	return e.gens
}

// Validate checks every generation ([Generation.Validate]), that they are numbered 1, 2,
// … without gaps, and that none but an older one has a retire-after time.
func (e *Entry) Validate() error {
	for i, g := range e.Older {
		if g == nil || g.Number != i+1 {
			return fmt.Errorf("%w %q: generations must be numbered 1, 2, … in order (found %s at position %d)", ErrInvalidEntry, e.Prefix, describeNumber(g), i+1)
		}
		if err := g.Validate(e.Prefix); err != nil {
			return err
		}
	}
	return e.Newest().Validate(e.Prefix)
}

func describeNumber(g *Generation) string {
	if g == nil {
		return "no generation"
	}
	return fmt.Sprintf("generation %d", g.Number)
}

// Validate checks that the generation's keys make sense for the entry prefix: a single
// key excludes the others, each side has its private or its public key but not both
// (Autobahn's Key asserts the same), at least one direction can be used, and no public
// key is of low order (box.CheckPublicKey).
func (g *Generation) Validate(prefix string) error {
	what := strconv.Quote(prefix)
	if g.Number > 1 {
		what = fmt.Sprintf("%q, generation %d", prefix, g.Number)
	}
	for _, p := range []struct {
		name string
		key  *box.PublicKey
	}{{FieldOriginatorPublic, g.OriginatorPublic}, {FieldResponderPublic, g.ResponderPublic}} {
		if p.key != nil {
			if err := box.CheckPublicKey(p.key); err != nil {
				return fmt.Errorf("%w %s: %s: %w", ErrInvalidEntry, what, p.name, err)
			}
		}
	}
	if g.Single != nil {
		if g.OriginatorPrivate != nil || g.OriginatorPublic != nil || g.ResponderPrivate != nil || g.ResponderPublic != nil {
			return fmt.Errorf("%w %s: a single key is used for both roles and cannot be combined with originator or responder keys", ErrInvalidEntry, what)
		}
		return nil
	}
	if g.OriginatorPrivate != nil && g.OriginatorPublic != nil {
		return fmt.Errorf("%w %s: give the originator's private key or its public key, not both", ErrInvalidEntry, what)
	}
	if g.ResponderPrivate != nil && g.ResponderPublic != nil {
		return fmt.Errorf("%w %s: give the responder's private key or its public key, not both", ErrInvalidEntry, what)
	}
	if !g.CanOriginate() && !g.CanRespond() {
		return fmt.Errorf("%w %s: allows no direction; an originator (publisher, caller) needs the originator's private key and the responder's key, a responder (subscriber, callee) needs the responder's private key and the originator's key", ErrInvalidEntry, what)
	}
	return nil
}

// CanOriginate reports whether the entry's newest generation makes the originator box:
// publish and call sealed, results and errors opened.
func (e *Entry) CanOriginate() bool { return e.Newest().CanOriginate() }

// CanRespond reports whether the entry's newest generation makes the responder box:
// events and invocations opened, results and errors sealed.
func (e *Entry) CanRespond() bool { return e.Newest().CanRespond() }

// HasPrivate reports whether the entry's newest generation holds any private key.
func (e *Entry) HasPrivate() bool { return e.Newest().HasPrivate() }

// Box is [Generation.Box] of the newest generation, the one that seals.
func (e *Entry) Box(originating bool) (*box.SharedKey, error) { return e.Newest().Box(originating) }

// Key is [Generation.Key] of the newest generation.
func (e *Entry) Key(originating bool) *box.SharedKey { return e.Newest().Key(originating) }

// OriginatorKey is [Generation.OriginatorKey] of the newest generation.
func (e *Entry) OriginatorKey() *box.PublicKey { return e.Newest().OriginatorKey() }

// ResponderKey is [Generation.ResponderKey] of the newest generation.
func (e *Entry) ResponderKey() *box.PublicKey { return e.Newest().ResponderKey() }

// CanOriginate reports whether the generation makes the originator box.
func (g *Generation) CanOriginate() bool {
	return g.Single != nil || g.OriginatorPrivate != nil && (g.ResponderPublic != nil || g.ResponderPrivate != nil)
}

// CanRespond reports whether the generation makes the responder box.
func (g *Generation) CanRespond() bool {
	return g.Single != nil || g.ResponderPrivate != nil && (g.OriginatorPublic != nil || g.OriginatorPrivate != nil)
}

// HasPrivate reports whether the generation holds any private key.
func (g *Generation) HasPrivate() bool {
	return g.Single != nil || g.OriginatorPrivate != nil || g.ResponderPrivate != nil
}

// RetiredAt reports whether the generation opens nothing any more at instant now: it has
// a retire-after time, and now is not before it.
func (g *Generation) RetiredAt(now time.Time) bool {
	return !g.RetireAfter.IsZero() && !now.Before(g.RetireAfter)
}

func (g *Generation) precompute() {
	g.once.Do(func() {
		if g.Single != nil {
			pub := g.Single.Public()
			k, err := box.Precompute(&pub, g.Single)
			g.originatorBox, g.respBox = k, k
			g.originatorErr, g.respErr = err, err
			return
		}
		if g.CanOriginate() {
			peer := publicOf(g.ResponderPublic, g.ResponderPrivate)
			g.originatorBox, g.originatorErr = box.Precompute(&peer, g.OriginatorPrivate)
		}
		if g.CanRespond() {
			peer := publicOf(g.OriginatorPublic, g.OriginatorPrivate)
			g.respBox, g.respErr = box.Precompute(&peer, g.ResponderPrivate)
		}
	})
}

// OriginatorKey is the originator's public key, derived from its private key when the
// generation holds that (or the single key); nil when it has neither. It is derived once.
func (g *Generation) OriginatorKey() *box.PublicKey { return g.side(true).pub }

// ResponderKey is the responder's public key, as [Generation.OriginatorKey] is the
// originator's.
func (g *Generation) ResponderKey() *box.PublicKey { return g.side(false).pub }

// Fingerprint is keygen.Fingerprint of one side's public key ([Generation.SideKey]), ""
// when the generation has none for that side. It is computed once.
func (g *Generation) Fingerprint(originating bool) string { return g.side(originating).fp }

// side derives the public key and fingerprint of one side, once.
func (g *Generation) side(originating bool) *sidePublic {
	s, pub, priv := &g.responderSide, g.ResponderPublic, g.ResponderPrivate
	if originating {
		s, pub, priv = &g.originatorSide, g.OriginatorPublic, g.OriginatorPrivate
	}
	s.once.Do(func() {
		s.pub = publicKey(g.Single, pub, priv)
		if s.pub != nil {
			s.fp = keygen.Fingerprint(*s.pub)
		}
	})
	return s
}

// SideKey returns the public key of one side: the originator's (originating=true) or the
// responder's.
func (g *Generation) SideKey(originating bool) *box.PublicKey {
	if originating {
		return g.OriginatorKey()
	}
	return g.ResponderKey()
}

func publicKey(single *box.PrivateKey, pub *box.PublicKey, priv *box.PrivateKey) *box.PublicKey {
	switch {
	case single != nil:
		p := single.Public()
		return &p
	case pub != nil:
		return pub
	case priv != nil:
		p := priv.Public()
		return &p
	}
	return nil
}

func publicOf(pub *box.PublicKey, priv *box.PrivateKey) box.PublicKey {
	if pub != nil {
		return *pub
	}
	return priv.Public()
}

// Box returns the precomputed box for one side: originating=true for the publisher or
// caller (Autobahn's originator_box), false for the subscriber or callee. It is computed on
// first use and then reused for every message. nil and no error means the generation
// cannot serve that side; an error means its keys cannot make a box (box.ErrLowOrderKey,
// for a generation built without [Generation.Validate]).
func (g *Generation) Box(originating bool) (*box.SharedKey, error) {
	g.precompute()
	if originating {
		return g.originatorBox, g.originatorErr
	}
	return g.respBox, g.respErr
}

// Key is [Generation.Box] without the error: nil when the generation cannot serve that
// side, for whatever reason, so a caller that only checks for nil still fails closed.
func (g *Generation) Key(originating bool) *box.SharedKey {
	k, err := g.Box(originating)
	if err != nil {
		return nil
	}
	return k
}

// sameKeys reports whether two generations hold the same keys.
func sameKeys(a, b *Generation) bool {
	eqPriv := func(x, y *box.PrivateKey) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	eqPub := func(x, y *box.PublicKey) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return eqPriv(a.Single, b.Single) && eqPriv(a.OriginatorPrivate, b.OriginatorPrivate) && eqPriv(a.ResponderPrivate, b.ResponderPrivate) &&
		eqPub(a.OriginatorPublic, b.OriginatorPublic) && eqPub(a.ResponderPublic, b.ResponderPublic)
}

// clone copies a generation's keys, number and retire-after time (not its precomputed
// boxes).
func (g *Generation) clone() *Generation {
	return &Generation{Number: g.Number, OriginatorPrivate: g.OriginatorPrivate, OriginatorPublic: g.OriginatorPublic,
		ResponderPrivate: g.ResponderPrivate, ResponderPublic: g.ResponderPublic, Single: g.Single, RetireAfter: g.RetireAfter}
}

// entryOf makes the entry whose generations are gens (oldest first; the last is the
// newest).
func entryOf(prefix string, gens []*Generation) *Entry {
	n := gens[len(gens)-1]
	return &Entry{Prefix: prefix, OriginatorPrivate: n.OriginatorPrivate, OriginatorPublic: n.OriginatorPublic,
		ResponderPrivate: n.ResponderPrivate, ResponderPublic: n.ResponderPublic, Single: n.Single,
		Older: gens[:len(gens)-1]}
}

// GenerationError is a rotation or retirement the entry's generations do not allow.
type GenerationError struct {
	Prefix string
	Msg    string
}

func (e *GenerationError) Error() string {
	return fmt.Sprintf("entry %s: %s", PrefixName(e.Prefix), e.Msg)
}

// Rotated returns the entry with next as its new newest generation: the current newest
// becomes an older one, which only opens, and retires at retireAfter when that is not
// zero (as does every older generation not already retiring before it). next's Number
// and RetireAfter are ignored. A next that holds the keys of one of the entry's
// generations is refused.
func (e *Entry) Rotated(next *Generation, retireAfter time.Time) (*Entry, error) {
	gens := e.Generations()
	for _, g := range gens {
		if sameKeys(g, next) {
			return nil, &GenerationError{e.Prefix, fmt.Sprintf("the new keys are those of generation %d", g.Number)}
		}
	}
	out := make([]*Generation, 0, len(gens)+1)
	for _, g := range gens {
		c := g.clone()
		if !retireAfter.IsZero() && (c.RetireAfter.IsZero() || c.RetireAfter.After(retireAfter)) {
			c.RetireAfter = retireAfter
		}
		out = append(out, c)
	}
	n := next.clone()
	n.Number, n.RetireAfter = len(gens)+1, time.Time{}
	out = append(out, n)
	r := entryOf(e.Prefix, out)
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r, nil
}

// Retired returns the entry with generation number retiring at after. The newest
// generation cannot retire: it is the one that seals (rotate first).
func (e *Entry) Retired(number int, after time.Time) (*Entry, error) {
	gens := e.Generations()
	switch {
	case number < 1 || number > len(gens):
		return nil, &GenerationError{e.Prefix, fmt.Sprintf("has no generation %d (it has %s)", number, plural(len(gens), "generation"))}
	case number == len(gens):
		return nil, &GenerationError{e.Prefix, fmt.Sprintf("generation %d is the newest, which seals; rotate to a new one before retiring it", number)}
	case after.IsZero():
		return nil, &GenerationError{e.Prefix, "no retirement time given"}
	}
	out := make([]*Generation, len(gens))
	for i, g := range gens {
		out[i] = g.clone()
	}
	out[number-1].RetireAfter = after
	return entryOf(e.Prefix, out), nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Keystore is the parsed content of a keystore file.
type Keystore struct {
	entries map[string]*Entry
	// byLength holds the entries of entries but the default (""), longest prefix first,
	// the order in which [Keystore.Lookup] tries them: a receiver looks up the URI of
	// every payload, and a slice walk is cheaper than ranging over the map. Only set and
	// remove change entries, and they keep it in step.
	byLength []*Entry
	version  int // the format version it was read in; FormatVersion for a new one
}

// New returns an empty keystore.
func New() *Keystore { return &Keystore{entries: map[string]*Entry{}, version: FormatVersion} }

// Version is the format version the keystore was read in ([FormatVersion] for one made
// with [New]). [Keystore.Marshal] always writes FormatVersion.
func (ks *Keystore) Version() int { return ks.version }

// Len is the number of entries: what a receiver asks on every payload (an empty keystore
// opens nothing), without Entries' sorted copy.
func (ks *Keystore) Len() int { return len(ks.entries) }

// Entries returns the entries sorted by prefix.
func (ks *Keystore) Entries() []*Entry {
	out := make([]*Entry, 0, len(ks.entries))
	for _, e := range ks.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Prefix < out[j].Prefix })
	return out
}

// Get returns the entry with exactly this prefix.
func (ks *Keystore) Get(prefix string) (*Entry, bool) {
	e, ok := ks.entries[prefix]
	return e, ok
}

// Put adds or replaces an entry after validating it.
func (ks *Keystore) Put(e *Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	ks.set(e)
	return nil
}

// Remove deletes the entry with exactly this prefix and reports whether there was one.
func (ks *Keystore) Remove(prefix string) bool {
	_, ok := ks.entries[prefix]
	ks.remove(prefix)
	return ok
}

// set adds or replaces e under its prefix, in entries and byLength.
func (ks *Keystore) set(e *Entry) {
	ks.remove(e.Prefix)
	ks.entries[e.Prefix] = e
	if e.Prefix == "" {
		return
	}
	i := sort.Search(len(ks.byLength), func(i int) bool { return len(ks.byLength[i].Prefix) < len(e.Prefix) })
	ks.byLength = slices.Insert(ks.byLength, i, e)
}

// sortByLength puts byLength in [Keystore.Lookup]'s order, longest prefix first, after
// Parse appended the entries in file order.
func (ks *Keystore) sortByLength() {
	slices.SortStableFunc(ks.byLength, func(a, b *Entry) int { return len(b.Prefix) - len(a.Prefix) })
}

// remove deletes the entry with exactly this prefix, if any, from entries and byLength.
func (ks *Keystore) remove(prefix string) {
	if _, ok := ks.entries[prefix]; !ok {
		return
	}
	delete(ks.entries, prefix)
	ks.byLength = slices.DeleteFunc(ks.byLength, func(e *Entry) bool { return e.Prefix == prefix })
}

// SyntaxError is a parse error with the line it happened on.
type SyntaxError struct {
	Line int
	Msg  string
	Err  error // the typed cause, when there is one (*VersionError)
}

func (e *SyntaxError) Error() string { return "keystore: " + e.detail() }
func (e *SyntaxError) Unwrap() error { return e.Err }

// detail is the error without the "keystore:" prefix, for [ParseError], which names the
// keystore itself.
func (e *SyntaxError) detail() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// VersionError is a keystore of a format version this cbx does not read: written by a
// newer cbx. It is refused as a whole, never read in part or overwritten.
type VersionError struct {
	Version int
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("format version %d is newer than this cbx reads (versions 1 to %d): the keystore was written by a newer cbx", e.Version, FormatVersion)
}

// Parse reads the file format described in the package comment, any version up to
// [FormatVersion]. Errors are *[SyntaxError] (wrapping a *[VersionError] for a newer
// version) or wrap [ErrInvalidEntry]; they never contain key material.
func Parse(data []byte) (*Keystore, error) {
	ks := New()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo := 0
	version, sawEnd := 0, false
	var prefix string
	var gens []*Generation // the current entry's, nil before the first prefix line
	var entryLine int
	finish := func() error {
		if gens == nil {
			return nil
		}
		if len(gens) == 0 {
			return &SyntaxError{Line: entryLine, Msg: fmt.Sprintf("prefix %q has no generation", prefix)}
		}
		if g := gens[len(gens)-1]; !g.RetireAfter.IsZero() {
			return &SyntaxError{Line: entryLine, Msg: fmt.Sprintf("prefix %q: generation %d is the newest, which seals: it cannot have %s", prefix, g.Number, FieldRetireAfter)}
		}
		e := entryOf(prefix, gens)
		if err := e.Validate(); err != nil {
			return &SyntaxError{Line: entryLine, Msg: err.Error()}
		}
		// Parse refuses a prefix given twice, so e is new: it joins byLength in file
		// order, which is sorted once at the end (an ordered insert per entry would be
		// O(n²) for a keystore of tens of thousands of entries).
		ks.entries[e.Prefix] = e
		if e.Prefix != "" {
			ks.byLength = append(ks.byLength, e)
		}
		gens = nil
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if sawEnd {
			return nil, &SyntaxError{Line: lineNo, Msg: `content after the "end" line`}
		}
		if version == 0 {
			v, ok := strings.CutPrefix(line, header)
			if !ok {
				return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("not a cbx keystore (the first line must be %q)", header+strconv.Itoa(FormatVersion))}
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || strconv.Itoa(n) != v {
				return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("bad format version %q", v)}
			}
			if n > FormatVersion {
				return nil, &SyntaxError{Line: lineNo, Msg: (&VersionError{n}).Error(), Err: &VersionError{n}}
			}
			version, ks.version = n, n
			continue
		}
		if line == "end" {
			if err := finish(); err != nil {
				return nil, err
			}
			sawEnd = true
			continue
		}
		name, value, _ := strings.Cut(line, " ")
		value = strings.TrimSpace(value)
		switch {
		case name == "prefix":
			if err := finish(); err != nil {
				return nil, err
			}
			p, err := strconv.Unquote(value)
			if err != nil || !strings.HasPrefix(value, `"`) {
				return nil, &SyntaxError{Line: lineNo, Msg: "prefix must be a double-quoted string, e.g. prefix \"com.example.\""}
			}
			if _, dup := ks.entries[p]; dup {
				return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("prefix %q appears twice", p)}
			}
			prefix, gens, entryLine = p, []*Generation{}, lineNo
			if version == 1 {
				gens = append(gens, &Generation{Number: 1}) // version 1: the keys follow
			}
			continue
		case gens == nil:
			return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("%s before the first prefix line", showName(name))}
		case version >= 2 && name == FieldGeneration:
			n, err := strconv.Atoi(value)
			if err != nil || strconv.Itoa(n) != value || n != len(gens)+1 {
				return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("prefix %q: want \"generation %d\" (generations are numbered 1, 2, … in order)", prefix, len(gens)+1)}
			}
			gens = append(gens, &Generation{Number: n})
			continue
		case len(gens) == 0:
			return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("prefix %q: %s before the first generation line", prefix, showName(name))}
		case version >= 2 && name == FieldRetireAfter:
			g := gens[len(gens)-1]
			t, err := time.Parse(time.RFC3339, value)
			switch {
			case err != nil:
				return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("prefix %q, generation %d: %s must be an RFC 3339 time, e.g. 2026-08-01T00:00:00Z", prefix, g.Number, FieldRetireAfter)}
			case !g.RetireAfter.IsZero():
				return nil, &SyntaxError{Line: lineNo, Msg: fmt.Sprintf("%s given twice for prefix %q, generation %d", FieldRetireAfter, prefix, g.Number)}
			}
			g.RetireAfter = t
			continue
		}
		if err := setField(gens[len(gens)-1], prefix, name, value, version); err != nil {
			return nil, &SyntaxError{Line: lineNo, Msg: err.Error()}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &SyntaxError{Line: lineNo, Msg: err.Error()}
	}
	ks.sortByLength()
	if version == 0 {
		return nil, &SyntaxError{Line: 0, Msg: "empty file: not a cbx keystore"}
	}
	if !sawEnd {
		return nil, &SyntaxError{Line: 0, Msg: `the file has no "end" line: it was cut short or edited by hand; cbx will not read or overwrite it`}
	}
	return ks, nil
}

// showName names the first word of a malformed line for an error message, quoted, when it
// looks like a field name (lower-case letters, digits and dashes, as every field name is).
// Anything else may be a key that lost its field name, or "name=KEY": it is not repeated,
// because error messages must never show key material.
func showName(name string) string {
	plausible := len(name) <= 32
	for _, r := range name {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
			plausible = false
		}
	}
	if plausible {
		return strconv.Quote(name)
	}
	return fmt.Sprintf("a line starting with %d characters that are not a field name (not shown: it may hold a key)", len(name))
}

// setField reads one key line of a generation. Public keys are checked as they are read
// (keygen.ParsePublicKey refuses low-order keys), so a keystore holding one, written by
// hand or by an older cbx, is refused on load, naming the entry and the field.
func setField(g *Generation, prefix, name, value string, version int) error {
	where := fmt.Sprintf("prefix %q", prefix)
	if version >= 2 {
		where = fmt.Sprintf("prefix %q, generation %d", prefix, g.Number)
	}
	switch name {
	case FieldOriginatorPrivate, FieldOriginatorPublic, FieldResponderPrivate, FieldResponderPublic, FieldSingle:
	default:
		if version >= 2 {
			return fmt.Errorf("unknown field %s (want %s, %s, %s, %s, %s, %s or %s)", showName(name), FieldGeneration, FieldRetireAfter,
				FieldOriginatorPrivate, FieldOriginatorPublic, FieldResponderPrivate, FieldResponderPublic, FieldSingle)
		}
		return fmt.Errorf("unknown field %s in a version 1 keystore (want %s, %s, %s, %s or %s)", showName(name),
			FieldOriginatorPrivate, FieldOriginatorPublic, FieldResponderPrivate, FieldResponderPublic, FieldSingle)
	}
	var dup bool
	var err error
	switch name {
	case FieldOriginatorPublic, FieldResponderPublic:
		var pub box.PublicKey
		if pub, err = keygen.ParsePublicKey(value); err == nil {
			if name == FieldOriginatorPublic {
				dup, g.OriginatorPublic = g.OriginatorPublic != nil, &pub
			} else {
				dup, g.ResponderPublic = g.ResponderPublic != nil, &pub
			}
		}
	default:
		var priv box.PrivateKey
		if priv, err = keygen.ParsePrivateKey(value); err == nil {
			switch name {
			case FieldOriginatorPrivate:
				dup, g.OriginatorPrivate = g.OriginatorPrivate != nil, &priv
			case FieldResponderPrivate:
				dup, g.ResponderPrivate = g.ResponderPrivate != nil, &priv
			case FieldSingle:
				dup, g.Single = g.Single != nil, &priv
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", where, name, err)
	}
	if dup {
		return fmt.Errorf("%s given twice for %s", name, where)
	}
	return nil
}

// Marshal writes the keystore in the file format of [FormatVersion], entries sorted by
// prefix, each with its generations oldest first.
func (ks *Keystore) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# cbx keystore: URI prefix -> cryptobox keys. Managed by `cbx keys`; see `cbx help keystore`.\n")
	b.WriteString("# It holds private keys: keep it mode 0600.\n")
	fmt.Fprintf(&b, "%s%d\n", header, FormatVersion)
	for _, e := range ks.Entries() {
		fmt.Fprintf(&b, "\nprefix %s\n", strconv.Quote(e.Prefix))
		for _, g := range e.Generations() {
			fmt.Fprintf(&b, "%s %d\n", FieldGeneration, g.Number)
			if !g.RetireAfter.IsZero() {
				fmt.Fprintf(&b, "%s %s\n", FieldRetireAfter, g.RetireAfter.UTC().Format(time.RFC3339))
			}
			write := func(name string, k *[box.KeySize]byte) {
				if k != nil {
					fmt.Fprintf(&b, "%s %s\n", name, keygen.Base64(*k))
				}
			}
			write(FieldSingle, (*[box.KeySize]byte)(g.Single))
			write(FieldOriginatorPrivate, (*[box.KeySize]byte)(g.OriginatorPrivate))
			write(FieldOriginatorPublic, (*[box.KeySize]byte)(g.OriginatorPublic))
			write(FieldResponderPrivate, (*[box.KeySize]byte)(g.ResponderPrivate))
			write(FieldResponderPublic, (*[box.KeySize]byte)(g.ResponderPublic))
		}
	}
	b.WriteString("\nend\n")
	return b.Bytes()
}
