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
// # File format
//
// A keystore is a UTF-8 text file:
//
//	# comments and blank lines are ignored
//	cbx-keystore v1
//
//	prefix "com.example.secure."
//	originator-private dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=
//	responder-public 3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=
//
//	prefix ""
//	single AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
//
//	end
//
// The first line names the format and its version. Each entry starts with `prefix` and a
// double-quoted Go string (so any URI character, and the empty default prefix, can be
// written), followed by its keys: `originator-private`, `originator-public`,
// `responder-private`, `responder-public` or `single`, each with a key in base64 (as
// Autobahn takes it) or hex. The file must end with the line `end`: a file cut short is
// refused instead of being read as a smaller keystore and then saved over.
package keystore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cbx-wamp/cbx/internal/box"
	"github.com/cbx-wamp/cbx/internal/keygen"
)

// FormatVersion is the version this cbx reads and writes.
const FormatVersion = 1

const header = "cbx-keystore v"

// Field names of the file format.
const (
	FieldOriginatorPrivate = "originator-private"
	FieldOriginatorPublic  = "originator-public"
	FieldResponderPrivate  = "responder-private"
	FieldResponderPublic   = "responder-public"
	FieldSingle            = "single"
)

// Entry is the key material for one URI prefix.
type Entry struct {
	Prefix string

	OriginatorPrivate *box.PrivateKey
	OriginatorPublic  *box.PublicKey
	ResponderPrivate  *box.PrivateKey
	ResponderPublic   *box.PublicKey
	Single            *box.PrivateKey

	once                   sync.Once
	originatorBox, respBox *box.SharedKey
	originatorErr, respErr error
}

// ErrInvalidEntry is wrapped by every error of [Entry.Validate].
var ErrInvalidEntry = errors.New("invalid keystore entry")

// Validate checks that the entry makes sense: a single key excludes the others, each side
// has its private or its public key but not both (Autobahn's Key asserts the same), at
// least one direction can be used, and no public key is of low order (box.CheckPublicKey).
func (e *Entry) Validate() error {
	for _, p := range []struct {
		name string
		key  *box.PublicKey
	}{{FieldOriginatorPublic, e.OriginatorPublic}, {FieldResponderPublic, e.ResponderPublic}} {
		if p.key != nil {
			if err := box.CheckPublicKey(p.key); err != nil {
				return fmt.Errorf("%w %q: %s: %w", ErrInvalidEntry, e.Prefix, p.name, err)
			}
		}
	}
	if e.Single != nil {
		if e.OriginatorPrivate != nil || e.OriginatorPublic != nil || e.ResponderPrivate != nil || e.ResponderPublic != nil {
			return fmt.Errorf("%w %q: a single key is used for both roles and cannot be combined with originator or responder keys", ErrInvalidEntry, e.Prefix)
		}
		return nil
	}
	if e.OriginatorPrivate != nil && e.OriginatorPublic != nil {
		return fmt.Errorf("%w %q: give the originator's private key or its public key, not both", ErrInvalidEntry, e.Prefix)
	}
	if e.ResponderPrivate != nil && e.ResponderPublic != nil {
		return fmt.Errorf("%w %q: give the responder's private key or its public key, not both", ErrInvalidEntry, e.Prefix)
	}
	if !e.CanOriginate() && !e.CanRespond() {
		return fmt.Errorf("%w %q: allows no direction; an originator (publisher, caller) needs the originator's private key and the responder's key, a responder (subscriber, callee) needs the responder's private key and the originator's key", ErrInvalidEntry, e.Prefix)
	}
	return nil
}

// CanOriginate reports whether the entry makes the originator box: publish and call sealed,
// results and errors opened.
func (e *Entry) CanOriginate() bool {
	return e.Single != nil || e.OriginatorPrivate != nil && (e.ResponderPublic != nil || e.ResponderPrivate != nil)
}

// CanRespond reports whether the entry makes the responder box: events and invocations
// opened, results and errors sealed.
func (e *Entry) CanRespond() bool {
	return e.Single != nil || e.ResponderPrivate != nil && (e.OriginatorPublic != nil || e.OriginatorPrivate != nil)
}

// HasPrivate reports whether the entry holds any private key.
func (e *Entry) HasPrivate() bool {
	return e.Single != nil || e.OriginatorPrivate != nil || e.ResponderPrivate != nil
}

func (e *Entry) precompute() {
	e.once.Do(func() {
		if e.Single != nil {
			pub := e.Single.Public()
			k, err := box.Precompute(&pub, e.Single)
			e.originatorBox, e.respBox = k, k
			e.originatorErr, e.respErr = err, err
			return
		}
		if e.CanOriginate() {
			peer := publicOf(e.ResponderPublic, e.ResponderPrivate)
			e.originatorBox, e.originatorErr = box.Precompute(&peer, e.OriginatorPrivate)
		}
		if e.CanRespond() {
			peer := publicOf(e.OriginatorPublic, e.OriginatorPrivate)
			e.respBox, e.respErr = box.Precompute(&peer, e.ResponderPrivate)
		}
	})
}

// OriginatorKey is the originator's public key, derived from its private key when the
// entry holds that (or the single key); nil when the entry has neither.
func (e *Entry) OriginatorKey() *box.PublicKey {
	return publicKey(e.Single, e.OriginatorPublic, e.OriginatorPrivate)
}

// ResponderKey is the responder's public key, as [Entry.OriginatorKey] is the
// originator's.
func (e *Entry) ResponderKey() *box.PublicKey {
	return publicKey(e.Single, e.ResponderPublic, e.ResponderPrivate)
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
// first use and then reused for every message. nil and no error means the entry cannot
// serve that side; an error means its keys cannot make a box (box.ErrLowOrderKey, for an
// entry built without [Entry.Validate]).
func (e *Entry) Box(originating bool) (*box.SharedKey, error) {
	e.precompute()
	if originating {
		return e.originatorBox, e.originatorErr
	}
	return e.respBox, e.respErr
}

// Key is [Entry.Box] without the error: nil when the entry cannot serve that side, for
// whatever reason, so a caller that only checks for nil still fails closed.
func (e *Entry) Key(originating bool) *box.SharedKey {
	k, err := e.Box(originating)
	if err != nil {
		return nil
	}
	return k
}

// Keystore is the parsed content of a keystore file.
type Keystore struct {
	entries map[string]*Entry
}

// New returns an empty keystore.
func New() *Keystore { return &Keystore{entries: map[string]*Entry{}} }

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
	ks.entries[e.Prefix] = e
	return nil
}

// Remove deletes the entry with exactly this prefix and reports whether there was one.
func (ks *Keystore) Remove(prefix string) bool {
	_, ok := ks.entries[prefix]
	delete(ks.entries, prefix)
	return ok
}

// SyntaxError is a parse error with the line it happened on.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return "keystore: " + e.detail() }

// detail is the error without the "keystore:" prefix, for [ParseError], which names the
// keystore itself.
func (e *SyntaxError) detail() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Parse reads the file format described in the package comment. Errors are
// *[SyntaxError] or wrap [ErrInvalidEntry]; they never contain key material.
func Parse(data []byte) (*Keystore, error) {
	ks := New()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	lineNo := 0
	sawHeader, sawEnd := false, false
	var cur *Entry
	var curLine int
	finish := func() error {
		if cur == nil {
			return nil
		}
		if err := cur.Validate(); err != nil {
			return &SyntaxError{Line: curLine, Msg: err.Error()}
		}
		ks.entries[cur.Prefix] = cur
		cur = nil
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if sawEnd {
			return nil, &SyntaxError{lineNo, `content after the "end" line`}
		}
		if !sawHeader {
			v, ok := strings.CutPrefix(line, header)
			if !ok {
				return nil, &SyntaxError{lineNo, fmt.Sprintf("not a cbx keystore (the first line must be %q)", header+"1")}
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, &SyntaxError{lineNo, fmt.Sprintf("bad format version %q", v)}
			}
			if n != FormatVersion {
				return nil, &SyntaxError{lineNo, fmt.Sprintf("format version %d is not known to this cbx (it reads version %d)", n, FormatVersion)}
			}
			sawHeader = true
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
		if name == "prefix" {
			if err := finish(); err != nil {
				return nil, err
			}
			p, err := strconv.Unquote(value)
			if err != nil || !strings.HasPrefix(value, `"`) {
				return nil, &SyntaxError{lineNo, "prefix must be a double-quoted string, e.g. prefix \"com.example.\""}
			}
			if _, dup := ks.entries[p]; dup {
				return nil, &SyntaxError{lineNo, fmt.Sprintf("prefix %q appears twice", p)}
			}
			cur, curLine = &Entry{Prefix: p}, lineNo
			continue
		}
		if cur == nil {
			return nil, &SyntaxError{lineNo, fmt.Sprintf("%s before the first prefix line", showName(name))}
		}
		if err := setField(cur, name, value); err != nil {
			return nil, &SyntaxError{lineNo, err.Error()}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &SyntaxError{lineNo, err.Error()}
	}
	if !sawHeader {
		return nil, &SyntaxError{0, "empty file: not a cbx keystore"}
	}
	if !sawEnd {
		return nil, &SyntaxError{0, `the file has no "end" line: it was cut short or edited by hand; cbx will not read or overwrite it`}
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

// setField reads one key line of an entry. Public keys are checked as they are read
// (keygen.ParsePublicKey refuses low-order keys), so a keystore holding one, written by
// hand or by an older cbx, is refused on load, naming the entry and the field.
func setField(e *Entry, name, value string) error {
	switch name {
	case FieldOriginatorPrivate, FieldOriginatorPublic, FieldResponderPrivate, FieldResponderPublic, FieldSingle:
	default:
		return fmt.Errorf("unknown field %s (want %s, %s, %s, %s or %s)", showName(name),
			FieldOriginatorPrivate, FieldOriginatorPublic, FieldResponderPrivate, FieldResponderPublic, FieldSingle)
	}
	var dup bool
	var err error
	switch name {
	case FieldOriginatorPublic, FieldResponderPublic:
		var pub box.PublicKey
		if pub, err = keygen.ParsePublicKey(value); err == nil {
			if name == FieldOriginatorPublic {
				dup, e.OriginatorPublic = e.OriginatorPublic != nil, &pub
			} else {
				dup, e.ResponderPublic = e.ResponderPublic != nil, &pub
			}
		}
	default:
		var priv box.PrivateKey
		if priv, err = keygen.ParsePrivateKey(value); err == nil {
			switch name {
			case FieldOriginatorPrivate:
				dup, e.OriginatorPrivate = e.OriginatorPrivate != nil, &priv
			case FieldResponderPrivate:
				dup, e.ResponderPrivate = e.ResponderPrivate != nil, &priv
			case FieldSingle:
				dup, e.Single = e.Single != nil, &priv
			}
		}
	}
	if err != nil {
		return fmt.Errorf("prefix %q: %s: %w", e.Prefix, name, err)
	}
	if dup {
		return fmt.Errorf("%s given twice for prefix %q", name, e.Prefix)
	}
	return nil
}

// Marshal writes the keystore in the file format, entries sorted by prefix.
func (ks *Keystore) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# cbx keystore: URI prefix -> cryptobox keys. Managed by `cbx keys`; see `cbx help keystore`.\n")
	b.WriteString("# It holds private keys: keep it mode 0600.\n")
	fmt.Fprintf(&b, "%s%d\n", header, FormatVersion)
	for _, e := range ks.Entries() {
		fmt.Fprintf(&b, "\nprefix %s\n", strconv.Quote(e.Prefix))
		write := func(name string, k *[box.KeySize]byte) {
			if k != nil {
				fmt.Fprintf(&b, "%s %s\n", name, keygen.Base64(*k))
			}
		}
		write(FieldSingle, (*[box.KeySize]byte)(e.Single))
		write(FieldOriginatorPrivate, (*[box.KeySize]byte)(e.OriginatorPrivate))
		write(FieldOriginatorPublic, (*[box.KeySize]byte)(e.OriginatorPublic))
		write(FieldResponderPrivate, (*[box.KeySize]byte)(e.ResponderPrivate))
		write(FieldResponderPublic, (*[box.KeySize]byte)(e.ResponderPublic))
	}
	b.WriteString("\nend\n")
	return b.Bytes()
}
