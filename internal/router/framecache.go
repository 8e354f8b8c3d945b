package router

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	nx "github.com/gammazero/nexus/v3/wamp"
)

// This file lets the subscribers of one publication that use the same serializer share
// one encoding of its EVENT, instead of each one's writer converting and encoding it
// again: with many subscribers that work was most of the router's cost per event.
//
// Nexus gives every subscriber its own EVENT (peer.IsLocal): copies of the Details dict
// and of the top-level Arguments list and ArgumentsKw dict, holding the same values. So
// an EVENT for one subscriber is the same message as one already encoded for another if
// it has the same publication and subscription, equal Details, and the very same values in
// Arguments and ArgumentsKw (identical, not merely equal: a string or number compares by
// value, a binary, list or dict by the memory it lives in, which nothing modifies: nexus
// does not, and the router never writes to what nexus hands it). Only then is the frame
// reused; anything else, a value that cannot be compared so (a list in Details, a NaN),
// is encoded afresh. The conversion of an EVENT for a client (adapter.outbound) depends
// on nothing of that client, and every connection of a server has the same size limit,
// so the bytes are what that client's own encoding would have produced. An EVENT that
// carries a drop mark, or goes to a session that owes one, is never looked up nor kept.

const (
	// frameSlots is the number of encodings kept, the most recent ones by publication:
	// enough for the subscribers of a burst to find theirs while their writers are at
	// most a few hundred events apart.
	frameSlots = 256
	// maxSharedFrame bounds the encodings kept, so that the cache pins at most
	// frameSlots × maxSharedFrame bytes (16 MiB) however large the events.
	maxSharedFrame = 64 << 10
)

type frameCache struct {
	slots        [frameSlots]frameSlot
	hits, misses atomic.Uint64 // for tests and benchmarks
}

type frameSlot struct {
	mu       sync.Mutex
	ser      string
	pub, sub nx.ID
	details  nx.Dict
	args     nx.List
	kwargs   nx.Dict
	frame    []byte
}

func (c *frameCache) slot(ser string, ev *nx.Event) *frameSlot {
	h := uint64(ev.Publication)*0x9e3779b97f4a7c15 ^ uint64(ev.Subscription)*0xc2b2ae3d27d4eb4f
	if ser != "" {
		h ^= uint64(ser[0]) * 0x165667b19e3779f9
	}
	return &c.slots[(h>>32)%frameSlots]
}

// get returns the encoding of an EVENT that is the same message as ev for serializer ser,
// or nil.
func (c *frameCache) get(ser string, ev *nx.Event) []byte {
	s := c.slot(ser, ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frame == nil || s.ser != ser || s.pub != ev.Publication || s.sub != ev.Subscription ||
		!equalDetails(s.details, ev.Details) || !sameList(s.args, ev.Arguments) || !sameDict(s.kwargs, ev.ArgumentsKw) {
		c.misses.Add(1)
		return nil
	}
	c.hits.Add(1)
	return s.frame
}

// put keeps frame, the encoding of ev for serializer ser. frame is kept as it is, not
// copied: the caller hands it over (wamp.Conn.Encode returns a fresh slice, which
// QueueEncoded only copies from) and must not modify it afterwards.
func (c *frameCache) put(ser string, ev *nx.Event, frame []byte) {
	if len(frame) > maxSharedFrame {
		return
	}
	s := c.slot(ser, ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ser, s.pub, s.sub = ser, ev.Publication, ev.Subscription
	s.details, s.args, s.kwargs = ev.Details, ev.Arguments, ev.ArgumentsKw
	s.frame = frame
}

// equalDetails reports whether two Details dicts hold the same keys with equal scalar
// values; any other value makes them unequal.
func equalDetails(a, b nx.Dict) bool { return dictsMatch(a, b, equalScalar) }

func equalScalar(a, b any) bool {
	switch a.(type) {
	case nil, bool, string, int64, uint64, float64, int, nx.ID, nx.URI:
		return a == b // same dynamic type and value; a NaN is unequal to itself
	}
	return false
}

// sameList reports whether two lists hold identical values (see the file comment).
func sameList(a, b nx.List) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for i := range a {
		if !sameValue(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameDict reports whether two dicts hold the same keys with the same values ([sameValue]).
func sameDict(a, b nx.Dict) bool { return dictsMatch(a, b, sameValue) }

// dictsMatch reports whether two dicts hold the same keys, each pair of values matching
// by eq: equalDetails and sameDict differ only in eq.
func dictsMatch(a, b nx.Dict, eq func(a, b any) bool) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || !eq(va, vb) {
			return false
		}
	}
	return true
}

// sameValue reports whether a and b are the same value: equal scalars, a binary, list
// or dict at the same address with the same length, or the same legacy payload.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && len(x) == len(y) && (x == nil) == (y == nil) && unsafe.SliceData(x) == unsafe.SliceData(y)
	case *legacyPayload:
		y, ok := b.(*legacyPayload)
		return ok && x == y
	case []any, map[string]any, nx.List, nx.Dict:
		if reflect.TypeOf(a) != reflect.TypeOf(b) {
			return false
		}
		ra, rb := reflect.ValueOf(a), reflect.ValueOf(b)
		return ra.Len() == rb.Len() && ra.UnsafePointer() == rb.UnsafePointer()
	}
	return equalScalar(a, b)
}
