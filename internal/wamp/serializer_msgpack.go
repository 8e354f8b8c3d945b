package wamp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// msgpackSerializer implements wamp.2.msgpack (binary frames).
//
// Binary values are msgpack bin and text is msgpack str, as Autobahn packs them
// (use_bin_type=True) and expects them (raw=False): a str where bytes are required is
// rejected by Autobahn (wire.md §1.7, §5.1). Integers use the smallest encoding, with
// positive values as uint like Python's msgpack; floats are always float64; dict keys are
// sorted. Reading walks the stream item by item with the library's primitives, so it
// yields exactly the value model, refuses extension types and non-string dict keys, and
// checks every declared length against the bytes left before allocating. Both directions
// apply the package's value dialect: no NaN or infinities, UTF-8 text not starting with
// U+0000, at most [MaxDepth] levels per value.
type msgpackSerializer struct{}

func (msgpackSerializer) Name() string        { return SerializerMsgPack }
func (msgpackSerializer) Subprotocol() string { return SubprotocolMsgPack }
func (msgpackSerializer) Binary() bool        { return true }

func (msgpackSerializer) Marshal(m Message) ([]byte, error) {
	if m != nil {
		buf := getBuf()
		e := encoder{direct: true, mp: (*buf)[:0]}
		err := e.message(m)
		*buf = e.mp
		if err == nil && e.err == nil {
			b := bytes.Clone(e.mp)
			putBuf(buf)
			return b, nil
		}
		putBuf(buf)
	}
	return msgpackMarshalList(m)
}

// msgpackMarshalList is Marshal through the message's list form (ToList): how every
// message was encoded before the direct form (encoder), and what says why a message
// cannot be.
func msgpackMarshalList(m Message) ([]byte, error) {
	l, err := ToList(m)
	if err != nil {
		return nil, err
	}
	buf := getBuf()
	defer putBuf(buf)
	if *buf, err = msgpackAppend((*buf)[:0], l, 0, NestMessage.limit()); err != nil {
		return nil, fmt.Errorf("encoding %v in MessagePack: %w", m.MessageType(), err)
	}
	return bytes.Clone(*buf), nil
}

// msgpackAppend appends v to b in MessagePack, byte for byte as vmihailenco/msgpack's
// Encoder writes it with its default options (the smallest integer form, positive
// integers as uint, floats as float64, str for text, bin for binary, the smallest
// length headers, bin8 for short binary), which is how cbx encoded frames before it
// wrote them itself; a differential fuzz test holds it to that. Appending to one buffer
// rather than going through an Encoder and a bytes.Buffer per message makes encoding
// allocation-free.
func msgpackAppend(b []byte, v any, depth, limit int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, msgpcode.Nil), nil
	case bool:
		if x {
			return append(b, msgpcode.True), nil
		}
		return append(b, msgpcode.False), nil
	case int64:
		return msgpackInt(b, x), nil
	case uint64:
		return msgpackUint(b, x), nil
	case float64:
		if err := checkFloat(x); err != nil {
			return b, err
		}
		return binary.BigEndian.AppendUint64(append(b, msgpcode.Double), math.Float64bits(x)), nil
	case string:
		return msgpackText(b, x)
	case []byte:
		// Never nil (msgpack's nil): an empty binary is an empty bin.
		return msgpackBin(b, x), nil
	case []any:
		return msgpackList(b, x, depth, limit)
	case map[string]any:
		return msgpackDict(b, x, depth, limit)
	}
	n, err := normalize(v, depth, limit)
	if err != nil {
		return b, err
	}
	return msgpackAppend(b, n, depth, limit)
}

// msgpackList is msgpackAppend for a list, and msgpackDict for a dict: typed, so that a
// caller holding one (the direct encoder) need not box it to call msgpackAppend, whose
// value may reach the reflection-based normalize and so always goes to the heap.
func msgpackList(b []byte, x []any, depth, limit int) ([]byte, error) {
	if depth >= limit {
		return b, valueErr(ErrTooDeep)
	}
	b = msgpackContainer(b, len(x), msgpcode.FixedArrayLow, msgpcode.Array16, msgpcode.Array32)
	var err error
	for _, el := range x {
		if b, err = msgpackAppend(b, el, depth+1, limit); err != nil {
			return b, err
		}
	}
	return b, nil
}

func msgpackDict(b []byte, x map[string]any, depth, limit int) ([]byte, error) {
	if depth >= limit {
		return b, valueErr(ErrTooDeep)
	}
	for i := range keyedDicts.slots {
		if m := keyedDicts.slots[i].Load(); m != nil && m.matches(x) {
			return append(b, m.enc...), nil
		}
	}
	start := len(b)
	b = msgpackContainer(b, len(x), msgpcode.FixedMapLow, msgpcode.Map16, msgpcode.Map32)
	var small [8]dictEntry
	var err error
	es := appendSortedEntries(small[:0], x)
	memo, keyed := len(es) <= maxKeyedDict, false
	for _, kv := range es {
		if err := checkKey(kv.k); err != nil {
			return b, err
		}
		b = append(msgpackStrLen(b, len(kv.k)), kv.k...)
		if b, err = msgpackAppend(b, kv.v, depth+1, limit); err != nil {
			return b, err
		}
		switch kv.v.(type) {
		case string, bool, int64:
		default:
			memo = false
		}
		keyed = keyed || kv.k == OptEncKey || kv.k == OptPPTKeyID
	}
	if memo && keyed && keyedDicts.replace() {
		keyedDicts.keep(&keyedDict{es: slices.Clone(es), enc: bytes.Clone(b[start:])})
	}
	return b, nil
}

// keyedDict is a dict msgpackDict encoded that names a key id (enc_key or ppt_keyid):
// the Options of a sealed PUBLISH, CALL or YIELD, or the Details of a sealed EVENT,
// INVOCATION or RESULT as cbx router sends them. A sender's sealed messages carry the
// same one every time (the same enc_* values and key id, acknowledge), so msgpackDict
// keeps a few with their encoding (keyedDicts), and for a dict with the same entries
// appends those bytes again instead of iterating, sorting, checking and encoding the map
// (about 250 ns for a sealed PUBLISH's four options, BenchmarkMsgpackOptionsDict; a
// twentieth of a sealed publisher's CPU).
//
// Only dicts whose values are strings, booleans and int64s are kept: comparing them is
// comparing what is encoded (no NaN, no -0, nothing mutable inside), and comparing an
// interface holding one with any other value cannot panic. A dict matches when it has as
// many entries and each kept key with an equal value of the same type, so that the bytes
// are what encoding it would produce; the map itself may be any map.
type keyedDict struct {
	es  []dictEntry // sorted by key
	enc []byte      // msgpackDict's output for them
}

// keyedDicts and keyedReads are the key-id dicts msgpackDict encoded (keyedDict) and
// fixDict read (keyedRead), for every goroutine (each is never modified once stored,
// only replaced; see kept). A few, not one: cbx router reads and writes a sealed call's
// CALL and INVOCATION with the caller's key id and its YIELD and RESULT with the
// callee's, in turn, and a subscriber may follow a few publishers; with one kept, each
// message of the other side missed.
var (
	keyedDicts kept[keyedDict]
	keyedReads kept[keyedRead]
)

// maxKeyedDict is the largest dict kept as a keyedDict.
const maxKeyedDict = 8

// matches reports whether x has exactly d's entries.
func (d *keyedDict) matches(x map[string]any) bool {
	if len(x) != len(d.es) {
		return false
	}
	for _, kv := range d.es {
		if v, ok := x[kv.k]; !ok || v != kv.v {
			return false
		}
	}
	return true
}

// dictEntry is one key and value of a Dict.
type dictEntry struct {
	k string
	v any
}

// appendSortedEntries appends m's entries to es, sorted by key (what es held before stays
// in front): the order appendSortedKeys gives, with each value taken in the same pass over
// the map rather than looked up again by key afterwards (which was a tenth of encoding a
// sealed PUBLISH's options in msgpack).
//
// A message's dicts are small (a sealed PUBLISH's Options have four keys, an EVENT's
// Details up to four), so up to maxInsertionSort entries are placed by an insertion sort
// as they come from the map, comparing keys with < (the byte order of strings.Compare):
// slices.SortFunc, calling its comparison through a function value at every step, was a
// sixth of encoding those Options (BenchmarkMsgpackOptionsDict) and two fifths in a
// sealed publisher's CPU profile.
func appendSortedEntries(es []dictEntry, m map[string]any) []dictEntry {
	start := len(es)
	if len(m) > maxInsertionSort {
		for k, v := range m {
			es = append(es, dictEntry{k, v})
		}
		slices.SortFunc(es[start:], func(a, b dictEntry) int { return strings.Compare(a.k, b.k) })
		return es
	}
	for k, v := range m {
		es = append(es, dictEntry{})
		i := len(es) - 1
		for ; i > start && es[i-1].k > k; i-- {
			es[i] = es[i-1]
		}
		es[i] = dictEntry{k, v}
	}
	return es
}

// maxInsertionSort is the largest dict appendSortedEntries sorts by insertion.
const maxInsertionSort = 12

// msgpackText is msgpackAppend for a string, msgpackBin for a binary value.
func msgpackText(b []byte, x string) ([]byte, error) {
	if err := checkText(x); err != nil {
		return b, err
	}
	return append(msgpackStrLen(b, len(x)), x...), nil
}

func msgpackBin(b []byte, x []byte) []byte {
	return append(msgpackHeader(b, len(x), msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32), x...)
}

// msgpackInt writes n as the library's EncodeInt: non-negative as msgpackUint, else the
// negative fixnum or the smallest intN.
func msgpackInt(b []byte, n int64) []byte {
	switch {
	case n >= 0:
		return msgpackUint(b, uint64(n))
	case n >= -32:
		return append(b, byte(n))
	case n >= math.MinInt8:
		return append(b, msgpcode.Int8, byte(n))
	case n >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Int16), uint16(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Int32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Int64), uint64(n))
}

// msgpackUint writes u as the library's EncodeUint: the positive fixnum or the smallest
// uintN.
func msgpackUint(b []byte, u uint64) []byte {
	switch {
	case u <= math.MaxInt8:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, msgpcode.Uint8, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, msgpcode.Uint16), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, msgpcode.Uint32), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, msgpcode.Uint64), u)
}

// msgpackStrLen writes a str header: fixstr below 32 bytes, else str8/16/32.
func msgpackStrLen(b []byte, n int) []byte {
	if n < 32 {
		return append(b, msgpcode.FixedStrLow|byte(n))
	}
	return msgpackHeader(b, n, msgpcode.Str8, msgpcode.Str16, msgpcode.Str32)
}

// msgpackHeader writes a header with a 1-, 2- or 4-byte length, the smallest that holds n
// (c8 = 0: no 1-byte form, as for arrays and maps).
// msgpackContainer writes the header of a list or dict of n items: the fixed form
// (fixLow|n) below 16, else msgpackHeader's 16- or 32-bit form.
func msgpackContainer(b []byte, n int, fixLow, c16, c32 byte) []byte {
	if n < 16 {
		return append(b, fixLow|byte(n))
	}
	return msgpackHeader(b, n, 0, c16, c32)
}

func msgpackHeader(b []byte, n int, c8, c16, c32 byte) []byte {
	switch {
	case c8 != 0 && n <= math.MaxUint8:
		return append(b, c8, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

func (msgpackSerializer) Unmarshal(b []byte) (Message, error) {
	if m, ok := msgpackDecodeDirect(b); ok {
		return m, nil
	}
	return msgpackUnmarshalList(b)
}

// msgpackUnmarshalList is Unmarshal through the list form: every message but those
// msgpackDecodeDirect reads (PUBLISH, PUBLISHED, EVENT, CALL, INVOCATION, YIELD and
// RESULT), and every frame it gives up on.
func msgpackUnmarshalList(b []byte) (Message, error) {
	if v, ok := msgpackDecode(b, NestMessage.limit()); ok {
		return unmarshalList(SerializerMsgPack, v)
	}
	// Not a frame the fast reader takes: the library-based reader says why, in the same
	// words as ever, and sends a payload outside the dialect to the lenient path.
	return msgpackUnmarshalStrict(b)
}

// msgpackDecode is the fast reader: one pass over the frame's bytes, building exactly the
// values msgpackReader builds (a differential fuzz test holds it to that). It gives up
// (ok=false) at anything msgpackReader would refuse, and at trailing bytes, and leaves
// the explaining to it.
func msgpackDecode(b []byte, limit int) (v any, ok bool) {
	d := msgpackFast{b: b, limit: limit}
	v, ok = d.value(0)
	return v, ok && d.i == len(b)
}

type msgpackFast struct {
	b     []byte
	i     int
	limit int
	keyID bool // a dict named a key id (see fixDict)
}

// n reads a k-byte big-endian unsigned integer.
func (d *msgpackFast) n(k int) (uint64, bool) {
	if len(d.b)-d.i < k {
		return 0, false
	}
	var u uint64
	for _, c := range d.b[d.i : d.i+k] {
		u = u<<8 | uint64(c)
	}
	d.i += k
	return u, true
}

// raw takes the n bytes of a str or bin body.
func (d *msgpackFast) raw(n uint64, ok bool) ([]byte, bool) {
	if !ok || n > uint64(len(d.b)-d.i) {
		return nil, false
	}
	r := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	return r, true
}

func (d *msgpackFast) value(depth int) (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	c := d.b[d.i]
	d.i++
	switch {
	case c <= msgpcode.PosFixedNumHigh:
		return int64(c), true
	case c >= msgpcode.NegFixedNumLow:
		return int64(int8(c)), true
	case c >= msgpcode.FixedStrLow && c <= msgpcode.FixedStrHigh:
		return d.text(c)
	case c >= msgpcode.FixedArrayLow && c <= msgpcode.FixedArrayHigh:
		return d.list(depth, uint64(c&0x0f), true)
	case c >= msgpcode.FixedMapLow && c <= msgpcode.FixedMapHigh:
		return d.fixDict(depth, c)
	}
	switch c {
	case msgpcode.Nil:
		return nil, true
	case msgpcode.False:
		return false, true
	case msgpcode.True:
		return true, true
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32:
		u, ok := d.n(1 << (c - msgpcode.Uint8))
		return int64(u), ok
	case msgpcode.Uint64:
		u, ok := d.n(8)
		return fromUint64(u), ok
	case msgpcode.Int8:
		u, ok := d.n(1)
		return int64(int8(u)), ok
	case msgpcode.Int16:
		u, ok := d.n(2)
		return int64(int16(u)), ok
	case msgpcode.Int32:
		u, ok := d.n(4)
		return int64(int32(u)), ok
	case msgpcode.Int64:
		u, ok := d.n(8)
		return int64(u), ok
	case msgpcode.Float:
		u, ok := d.n(4)
		f := float64(math.Float32frombits(uint32(u)))
		return f, ok && checkFloat(f) == nil
	case msgpcode.Double:
		u, ok := d.n(8)
		f := math.Float64frombits(u)
		return f, ok && checkFloat(f) == nil
	case msgpcode.Str8, msgpcode.Str16, msgpcode.Str32:
		return d.text(c)
	case msgpcode.Bin8, msgpcode.Bin16, msgpcode.Bin32:
		return d.bin(c)
	case msgpcode.Array16, msgpcode.Array32:
		n, ok := d.n(2 << (c - msgpcode.Array16))
		return d.list(depth, n, ok)
	case msgpcode.Map16, msgpcode.Map32:
		n, ok := d.n(2 << (c - msgpcode.Map16))
		return d.dict(depth, n, ok)
	}
	return nil, false // extension types and the unused code
}

// msgpackDecodeDirect reads the messages of the per-event and per-call paths (PUBLISH,
// PUBLISHED, EVENT, CALL, INVOCATION, YIELD and RESULT: what a publisher, a subscriber, a
// caller, a callee and cbx router read for every event or call) straight into the message,
// without the list form (msgpackDecode, then FromList): IDs are read as integers, not
// boxed into the list and unboxed again, a bare payload is not boxed either, and the
// list itself is never built. It takes only what the general path would accept
// (FromList's checks: the arity, IDs in [0, 2^53], Options or Details a dict, a
// topic or procedure a non-empty string, the payload a bare binary alone or Arguments and an
// optional ArgumentsKw, every value in the dialect), and gives up (ok=false) at
// anything else, which the general path then reads or refuses in its words; the
// msgpack fuzz target holds the two to the same messages.
func msgpackDecodeDirect(b []byte) (Message, bool) {
	if len(b) < 2 || b[0] < msgpcode.FixedArrayLow|3 || b[0] > msgpcode.FixedArrayLow|6 {
		return nil, false
	}
	n := int(b[0] & 0x0f)
	d := msgpackFast{b: b, i: 1, limit: NestMessage.limit()}
	t, ok := d.id()
	if !ok {
		return nil, false
	}
	if t == ID(PUBLISHED) && n == 3 {
		req, ok1 := d.id()
		pub, ok2 := d.id()
		if !ok1 || !ok2 || d.i != len(b) {
			return nil, false
		}
		return &Published{Request: req, Publication: pub}, true
	}
	// The other six by the layout of their fixed fields: two IDs and a dict, an ID, a
	// dict and a URI, or an ID and a dict; then the payload.
	var (
		id1, id2      ID
		dict          map[string]any
		uri           string
		fixed         int
		ok1, ok2, ok3 bool
	)
	switch {
	case (t == ID(EVENT) || t == ID(INVOCATION)) && n >= 4:
		fixed = 4
		id1, ok1 = d.id()
		id2, ok2 = d.id()
		dict, ok3 = d.dictField()
	case (t == ID(PUBLISH) || t == ID(CALL)) && n >= 4:
		fixed = 4
		id1, ok1 = d.id()
		dict, ok2 = d.dictField()
		uri, ok3 = d.uriField()
	case (t == ID(YIELD) || t == ID(RESULT)) && n >= 3:
		fixed = 3
		id1, ok1 = d.id()
		dict, ok2 = d.dictField()
		ok3 = true
	default:
		return nil, false
	}
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	var m Message
	var p *Payload
	switch MessageType(t) {
	case EVENT:
		e := &Event{Subscription: id1, Publication: id2, Details: dict}
		m, p = e, &e.Payload
	case INVOCATION:
		e := &Invocation{Request: id1, Registration: id2, Details: dict}
		m, p = e, &e.Payload
	case PUBLISH:
		e := &Publish{Request: id1, Options: dict, Topic: uri}
		m, p = e, &e.Payload
	case CALL:
		e := &Call{Request: id1, Options: dict, Procedure: uri}
		m, p = e, &e.Payload
	case YIELD:
		e := &Yield{Request: id1, Options: dict}
		m, p = e, &e.Payload
	default: // RESULT
		e := &Result{Request: id1, Details: dict}
		m, p = e, &e.Payload
	}
	return m, d.payloadTail(p, n-fixed)
}

// dictField reads a message's Options or Details: a map, or ok=false for anything else.
func (d *msgpackFast) dictField() (map[string]any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	if c := d.b[d.i]; (c < msgpcode.FixedMapLow || c > msgpcode.FixedMapHigh) && c != msgpcode.Map16 && c != msgpcode.Map32 {
		return nil, false
	}
	v, ok := d.value(1)
	if !ok {
		return nil, false
	}
	return v.(map[string]any), true
}

// uriField reads a PUBLISH's topic or a CALL's procedure: a str in the dialect (as text
// reads one), not empty. It is given out through uris (keptValue), since cbx router
// reads the same few topics and procedures message after message: no new string for
// each. One not among those kept costs its string and box, as before, and is kept only
// as kept.replace says, so that more topics in turn than slots do not copy at every
// message.
func (d *msgpackFast) uriField() (string, bool) {
	if d.i >= len(d.b) {
		return "", false
	}
	c := d.b[d.i]
	d.i++
	r, ok := d.str(c)
	if !ok || len(r) == 0 || !isText(r) {
		return "", false
	}
	return keptValue(&uris, r).(string), true
}

// payloadTail reads into p what ends a message after its fixed fields, rest elements:
// Arguments and an optional ArgumentsKw, or a bare binary alone (at most two, as
// FromList's payloadArity allows; more give ok=false), as FromList's payload does, and
// reports whether they were the whole rest of the frame. A bare payload (a sealed
// message's) is read as value reads a bin, but not boxed into an any to be unboxed here:
// one allocation fewer per message.
func (d *msgpackFast) payloadTail(p *Payload, rest int) bool {
	switch {
	case rest > 2:
		return false // a RESULT or YIELD of six elements (FromList's payloadArity)
	case rest == 0:
		return d.i == len(d.b)
	}
	if rest == 1 && d.i < len(d.b) && d.b[d.i] >= msgpcode.Bin8 && d.b[d.i] <= msgpcode.Bin32 {
		c := d.b[d.i]
		d.i++
		bare, ok := d.bin(c)
		if !ok {
			return false
		}
		p.Bare = bare
		return d.i == len(d.b)
	}
	args, ok := d.value(1)
	if !ok {
		return false
	}
	switch a := args.(type) {
	case []any:
		p.Args = a
	default:
		return false // a bin with something after it, or not a list
	}
	if rest == 2 {
		kwargs, ok := d.value(1)
		if !ok {
			return false
		}
		if p.Kwargs, ok = kwargs.(map[string]any); !ok {
			return false
		}
	}
	return d.i == len(d.b)
}

// id reads an integer in [0, 2^53] (an ID, or a message type), in any of MessagePack's
// integer forms, without boxing it.
func (d *msgpackFast) id() (ID, bool) {
	if d.i >= len(d.b) {
		return 0, false
	}
	c := d.b[d.i]
	d.i++
	var n int64
	switch {
	case c <= msgpcode.PosFixedNumHigh:
		n = int64(c)
	case c == msgpcode.Uint8 || c == msgpcode.Uint16 || c == msgpcode.Uint32 || c == msgpcode.Uint64:
		u, ok := d.n(1 << (c - msgpcode.Uint8))
		if !ok || u > uint64(MaxID) {
			return 0, false
		}
		n = int64(u)
	case c == msgpcode.Int8 || c == msgpcode.Int16 || c == msgpcode.Int32 || c == msgpcode.Int64:
		k := 1 << (c - msgpcode.Int8)
		u, ok := d.n(k)
		if !ok {
			return 0, false
		}
		n = int64(u<<(64-8*k)) >> (64 - 8*k) // sign-extended
	default:
		return 0, false
	}
	if n < 0 || n > int64(MaxID) {
		return 0, false
	}
	return ID(n), true
}

// text reads a str body of n bytes: UTF-8, not starting with U+0000.
func (d *msgpackFast) text(c byte) (any, bool) {
	r, ok := d.str(c)
	if !ok || !isText(r) {
		return nil, false
	}
	return textValue(r), true
}

// str reads the body of the str (fixstr, str 8, 16 or 32) whose header byte c it has just
// read; ok is false for any other header and for a body cut short. Every reader of a str
// goes through it: values (text), keys (dict), key ids (keyIDValue), topics and
// procedures (uriField).
func (d *msgpackFast) str(c byte) ([]byte, bool) {
	switch {
	case c >= msgpcode.FixedStrLow && c <= msgpcode.FixedStrHigh:
		return d.raw(uint64(c&0x1f), true)
	case c == msgpcode.Str8 || c == msgpcode.Str16 || c == msgpcode.Str32:
		return d.raw(d.n(1 << (c - msgpcode.Str8)))
	}
	return nil, false
}

// isText reports whether a str's body is a text value of the dialect: UTF-8, not starting
// with U+0000 (a dict's key may, and is checked for UTF-8 alone).
func isText(r []byte) bool { return (len(r) == 0 || r[0] != 0) && utf8.Valid(r) }

// bin reads the bytes of a bin 8, 16 or 32 whose header byte c it has just read, as a
// copy of their own (the message's buffer is reused).
func (d *msgpackFast) bin(c byte) ([]byte, bool) {
	r, ok := d.raw(d.n(1 << (c - msgpcode.Bin8)))
	if !ok {
		return nil, false
	}
	return append(make([]byte, 0, len(r)), r...), true
}

func (d *msgpackFast) list(depth int, n uint64, ok bool) (any, bool) {
	if !ok || depth >= d.limit || n > uint64(len(d.b)-d.i) {
		return nil, false
	}
	l := make([]any, n)
	for i := range l {
		if l[i], ok = d.value(depth + 1); !ok {
			return nil, false
		}
	}
	return l, true
}

// fixDict reads a fixmap whose header byte c it has just read. A dict that names a key
// id (enc_key or ppt_keyid) and holds only strings, booleans and int64s (the Options of
// a sealed PUBLISH, CALL or YIELD, the Details of a sealed EVENT, INVOCATION or RESULT)
// is kept with its bytes (keyedReads), and the same bytes read again give a clone of it
// rather than a map built entry by entry: a sender's sealed messages carry the same one
// every time. Bytes equal to a kept dict's encoding are that dict (MessagePack is
// self-delimiting), read with the same checks; the clone is the caller's to keep or
// change.
func (d *msgpackFast) fixDict(depth int, c byte) (any, bool) {
	start := d.i - 1
	if depth < d.limit {
		for i := range keyedReads.slots {
			if r := keyedReads.slots[i].Load(); r != nil && bytes.HasPrefix(d.b[start:], r.raw) {
				d.i = start + len(r.raw)
				return maps.Clone(r.d), true
			}
		}
	}
	d.keyID = false
	v, ok := d.dict(depth, uint64(c&0x0f), true)
	if ok && d.keyID {
		m := v.(map[string]any)
		for _, x := range m {
			switch x.(type) {
			case string, bool, int64:
			default:
				return v, true
			}
		}
		if keyedReads.replace() {
			keyedReads.keep(&keyedRead{raw: bytes.Clone(d.b[start:d.i]), d: maps.Clone(m)})
		}
	}
	return v, ok
}

// keyedRead is a dict fixDict read, kept with its bytes; d is never handed out.
type keyedRead struct {
	raw []byte
	d   map[string]any
}

func (d *msgpackFast) dict(depth int, n uint64, ok bool) (any, bool) {
	if !ok || depth >= d.limit || n > uint64(len(d.b)-d.i)/2 {
		return nil, false
	}
	m := make(map[string]any, n)
	for range n {
		// A key is a str (fixstr, str8/16/32) and may start with U+0000.
		if d.i >= len(d.b) {
			return nil, false
		}
		c := d.b[d.i]
		d.i++
		r, ok := d.str(c)
		if !ok || !utf8.Valid(r) {
			return nil, false
		}
		k := text(r)
		if k == OptEncKey || k == OptPPTKeyID {
			d.keyID = true // for fixDict; a nested dict's sets it too, but its parent holds a map
			m[k], ok = d.keyIDValue(depth + 1)
		} else {
			m[k], ok = d.value(depth + 1)
		}
		if !ok {
			return nil, false
		}
	}
	return m, true
}

// keyIDValue is value for the value of enc_key or ppt_keyid: a str is read as text reads
// it, and given out through keyIDValue; anything else as value reads it.
func (d *msgpackFast) keyIDValue(depth int) (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	start := d.i
	d.i++
	r, ok := d.str(d.b[start])
	if !ok {
		// Not a str (or one cut short, which value refuses as well).
		d.i = start
		return d.value(depth)
	}
	if !isText(r) {
		return nil, false
	}
	return keyIDValue(r), true
}

// msgpackUnmarshalStrict is the library-based reader, which words every refusal.
func msgpackUnmarshalStrict(b []byte) (Message, error) {
	r := bytes.NewReader(b)
	d := msgpackReader{r: r, dec: msgpack.NewDecoder(r), limit: NestMessage.limit()}
	v, err := d.value(0)
	if err != nil {
		if isValueError(err) {
			if m, ok, lerr := unmarshalMsgpackLenient(b); ok {
				return m, lerr
			}
		}
		return nil, err
	}
	if r.Len() != 0 {
		return nil, protoErrf("msgpack: %d bytes after the message", r.Len())
	}
	return unmarshalList(SerializerMsgPack, v)
}

// unmarshalMsgpackLenient decodes a frame whose strict decoding met a value outside the
// dialect, element by element (refused.go). ok is false when the frame is not an array.
func unmarshalMsgpackLenient(b []byte) (m Message, ok bool, err error) {
	elems, ok, err := msgpackElements(b)
	if !ok || err != nil {
		return nil, ok, err
	}
	m, err = lenientMessage(SerializerMsgPack, b, elems, func(s span) (any, error) {
		r := bytes.NewReader(b[s.start:s.end])
		d := msgpackReader{r: r, dec: msgpack.NewDecoder(r), limit: NestPayload.limit()}
		return d.value(0)
	}, msgpackKind)
	return m, true, err
}

// msgpackReader reads from a bytes.Reader, which the msgpack decoder uses directly
// (it implements io.ByteScanner), so r.Len() is always the number of unread bytes.
type msgpackReader struct {
	r     *bytes.Reader
	dec   *msgpack.Decoder
	limit int // deepest container level allowed
}

func (d *msgpackReader) fail(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return protoErrf("msgpack: truncated message")
	}
	return protoErrf("msgpack: %v", err)
}

// value reads one item that sits inside depth containers.
func (d *msgpackReader) value(depth int) (any, error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return nil, d.fail(err)
	}
	switch {
	case c == msgpcode.Nil:
		return nil, d.wrap(d.dec.DecodeNil())
	case c == msgpcode.True || c == msgpcode.False:
		v, err := d.dec.DecodeBool()
		return v, d.wrap(err)
	case c == msgpcode.Uint64:
		u, err := d.dec.DecodeUint64()
		if err != nil {
			return nil, d.fail(err)
		}
		return fromUint64(u), nil
	case msgpcode.IsFixedNum(c), c == msgpcode.Int8, c == msgpcode.Int16, c == msgpcode.Int32,
		c == msgpcode.Int64, c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32:
		n, err := d.dec.DecodeInt64()
		return n, d.wrap(err)
	case c == msgpcode.Float, c == msgpcode.Double:
		var f float64
		if c == msgpcode.Float {
			f32, err := d.dec.DecodeFloat32()
			if err != nil {
				return nil, d.fail(err)
			}
			f = float64(f32)
		} else if f, err = d.dec.DecodeFloat64(); err != nil {
			return nil, d.fail(err)
		}
		if err := checkFloat(f); err != nil {
			return nil, protoWrap(err, SerializerMsgPack)
		}
		return f, nil
	case msgpcode.IsString(c):
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		if len(s) > 0 && s[0] == 0 {
			return nil, protoWrap(valueErr(ErrBinaryText), "msgpack: str")
		}
		return s, nil
	case msgpcode.IsBin(c):
		return d.raw()
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		if depth >= d.limit {
			return nil, protoWrap(valueErr(ErrTooDeep), SerializerMsgPack)
		}
		n, err := d.dec.DecodeArrayLen()
		if err != nil {
			return nil, d.fail(err)
		}
		if n < 0 || n > d.r.Len() { // every element takes at least one byte
			return nil, protoErrf("msgpack: array length %d exceeds the message", n)
		}
		l := make([]any, n)
		for i := range l {
			if l[i], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return l, nil
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		if depth >= d.limit {
			return nil, protoWrap(valueErr(ErrTooDeep), SerializerMsgPack)
		}
		n, err := d.dec.DecodeMapLen()
		if err != nil {
			return nil, d.fail(err)
		}
		if n < 0 || n > d.r.Len()/2 {
			return nil, protoErrf("msgpack: map length %d exceeds the message", n)
		}
		m := make(map[string]any, n)
		for range n {
			kc, err := d.dec.PeekCode()
			if err != nil {
				return nil, d.fail(err)
			}
			if !msgpcode.IsString(kc) {
				return nil, protoWrap(valueErrf(ErrUnsupported, "dict key must be a str, got code 0x%02x", kc), SerializerMsgPack)
			}
			k, err := d.str() // a key may start with U+0000: keys are never binary
			if err != nil {
				return nil, err
			}
			if m[k], err = d.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	if msgpcode.IsExt(c) {
		return nil, protoWrap(valueErrf(ErrUnsupported, "extension type (code 0x%02x) is not a WAMP value", c), SerializerMsgPack)
	}
	return nil, protoErrf("msgpack: unsupported type code 0x%02x", c)
}

// str reads a str, which must be UTF-8.
func (d *msgpackReader) str() (string, error) {
	b, err := d.raw()
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", protoWrap(valueErr(ErrInvalidUTF8), "msgpack: str")
	}
	return string(b), nil
}

// raw reads a str or bin body after checking its declared length against what is left.
func (d *msgpackReader) raw() ([]byte, error) {
	n, err := d.dec.DecodeBytesLen()
	if err != nil {
		return nil, d.fail(err)
	}
	if n < 0 || n > d.r.Len() {
		return nil, protoErrf("msgpack: length %d exceeds the message", n)
	}
	b := make([]byte, n)
	if err := d.dec.ReadFull(b); err != nil {
		return nil, d.fail(err)
	}
	return b, nil
}

func (d *msgpackReader) wrap(err error) error {
	if err != nil {
		return d.fail(err)
	}
	return nil
}
