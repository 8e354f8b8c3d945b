package wamp

import (
	"fmt"
	"strings"
	"sync"
)

// Serializer turns messages into WebSocket frame payloads and back. Each one corresponds
// to a WebSocket subprotocol (wire.md §4 "Subprotocols"); all of them share the list form
// of [ToList]/[FromList] and the value model of the package comment, so a binary value is
// []byte whichever serializer carried it (wire.md §1.7).
type Serializer interface {
	Name() string        // "json", "msgpack", "cbor"
	Subprotocol() string // "wamp.2.json", "wamp.2.msgpack", "wamp.2.cbor"
	Binary() bool        // true → WebSocket binary frames, false → text frames
	Marshal(Message) ([]byte, error)
	Unmarshal([]byte) (Message, error)
}

// The three serializers Autobahn|Python and Crossbar.io speak over WebSocket.
var (
	JSON    Serializer = jsonSerializer{}
	MsgPack Serializer = msgpackSerializer{}
	CBOR    Serializer = cborSerializer{}
)

// Serializers lists the supported serializers in preference order. JSON comes first
// because it is what every WAMP router speaks and what a human can read in a trace.
var Serializers = []Serializer{JSON, MsgPack, CBOR}

// SerializerByName returns the serializer called name ("json", "msgpack", "cbor";
// case-insensitive), for command-line flags.
func SerializerByName(name string) (Serializer, error) {
	for _, s := range Serializers {
		if strings.EqualFold(s.Name(), name) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown serializer %q (want json, msgpack or cbor)", name)
}

// SerializerBySubprotocol returns the serializer for a WebSocket subprotocol name such as
// "wamp.2.cbor".
func SerializerBySubprotocol(p string) (Serializer, bool) {
	for _, s := range Serializers {
		if s.Subprotocol() == p {
			return s, true
		}
	}
	return nil, false
}

// unmarshalList finishes every serializer's Unmarshal: the top level must be a list, which
// [FromList] then checks.
func unmarshalList(name string, v any) (Message, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, protoErrf("%s: message must be a list, got %s", name, typeOf(v))
	}
	return FromList(l)
}

// bufPool holds the buffers serializers encode into before they copy the frame out, so
// that encoding a message allocates once, the frame itself.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf returns a buffer to the pool unless a large message made it large.
func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufPool.Put(b)
	}
}
