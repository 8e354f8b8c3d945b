package router

import (
	"fmt"
	"math"

	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// This file converts messages between cbx's internal/wamp types and nexus's wamp types,
// one explicit case per message type. Owning this step (instead of letting nexus
// serialize) is what lets a binary value stay a []byte from any session serializer to any
// other (wire.md §1.7, §3 "nexus"): nexus's reflection-based deserializer would turn a bare
// binary into a list of integers or reject it, and nexus never looks inside Arguments, so
// a []byte handed to it comes back out unchanged.
//
// Conversion here is purely structural. The cryptobox/PPT rewriting lives in adapter.go.

// toNexus converts a message received from a client into nexus's form. Top-level dicts and
// lists are re-typed without copying (nexus only reads them); nested values stay in
// internal/wamp's value model, which nexus's As* helpers accept. A bare payload must have
// been rewritten by the adapter before this point: toNexus refuses it rather than lose it.
func toNexus(m wamp.Message) (nx.Message, error) {
	switch m := m.(type) {
	case *wamp.Hello:
		return &nx.Hello{Realm: nx.URI(m.Realm), Details: nxDict(m.Details)}, nil
	case *wamp.Welcome:
		return &nx.Welcome{ID: nx.ID(m.Session), Details: nxDict(m.Details)}, nil
	case *wamp.Abort:
		return &nx.Abort{Details: nxDict(m.Details), Reason: nx.URI(m.Reason)}, nil
	case *wamp.Challenge:
		return &nx.Challenge{AuthMethod: m.AuthMethod, Extra: nxDict(m.Extra)}, nil
	case *wamp.Authenticate:
		return &nx.Authenticate{Signature: m.Signature, Extra: nxDict(m.Extra)}, nil
	case *wamp.Goodbye:
		return &nx.Goodbye{Details: nxDict(m.Details), Reason: nx.URI(m.Reason)}, nil
	case *wamp.Error:
		if err := notBare(m.Payload, m); err != nil {
			return nil, err
		}
		return &nx.Error{Type: nx.MessageType(m.Type), Request: nx.ID(m.Request), Details: nxDict(m.Details),
			Error: nx.URI(m.Error), Arguments: nx.List(m.Args), ArgumentsKw: nx.Dict(m.Kwargs)}, nil
	case *wamp.Publish:
		if err := notBare(m.Payload, m); err != nil {
			return nil, err
		}
		return &nx.Publish{Request: nx.ID(m.Request), Options: nxDict(m.Options), Topic: nx.URI(m.Topic),
			Arguments: nx.List(m.Args), ArgumentsKw: nx.Dict(m.Kwargs)}, nil
	case *wamp.Published:
		return &nx.Published{Request: nx.ID(m.Request), Publication: nx.ID(m.Publication)}, nil
	case *wamp.Subscribe:
		return &nx.Subscribe{Request: nx.ID(m.Request), Options: nxDict(m.Options), Topic: nx.URI(m.Topic)}, nil
	case *wamp.Subscribed:
		return &nx.Subscribed{Request: nx.ID(m.Request), Subscription: nx.ID(m.Subscription)}, nil
	case *wamp.Unsubscribe:
		return &nx.Unsubscribe{Request: nx.ID(m.Request), Subscription: nx.ID(m.Subscription)}, nil
	case *wamp.Unsubscribed:
		return &nx.Unsubscribed{Request: nx.ID(m.Request)}, nil
	case *wamp.Event:
		if err := notBare(m.Payload, m); err != nil {
			return nil, err
		}
		return &nx.Event{Subscription: nx.ID(m.Subscription), Publication: nx.ID(m.Publication),
			Details: nxDict(m.Details), Arguments: nx.List(m.Args), ArgumentsKw: nx.Dict(m.Kwargs)}, nil
	case *wamp.Call:
		if err := notBare(m.Payload, m); err != nil {
			return nil, err
		}
		return &nx.Call{Request: nx.ID(m.Request), Options: nxDict(m.Options), Procedure: nx.URI(m.Procedure),
			Arguments: nx.List(m.Args), ArgumentsKw: nx.Dict(m.Kwargs)}, nil
	case *wamp.Cancel:
		return &nx.Cancel{Request: nx.ID(m.Request), Options: nxDict(m.Options)}, nil
	case *wamp.Result:
		if err := notBare(m.Payload, m); err != nil {
			return nil, err
		}
		return &nx.Result{Request: nx.ID(m.Request), Details: nxDict(m.Details),
			Arguments: nx.List(m.Args), ArgumentsKw: nx.Dict(m.Kwargs)}, nil
	case *wamp.Register:
		return &nx.Register{Request: nx.ID(m.Request), Options: nxDict(m.Options), Procedure: nx.URI(m.Procedure)}, nil
	case *wamp.Registered:
		return &nx.Registered{Request: nx.ID(m.Request), Registration: nx.ID(m.Registration)}, nil
	case *wamp.Unregister:
		return &nx.Unregister{Request: nx.ID(m.Request), Registration: nx.ID(m.Registration)}, nil
	case *wamp.Unregistered:
		return &nx.Unregistered{Request: nx.ID(m.Request)}, nil
	case *wamp.Invocation:
		if err := notBare(m.Payload, m); err != nil {
			return nil, err
		}
		return &nx.Invocation{Request: nx.ID(m.Request), Registration: nx.ID(m.Registration),
			Details: nxDict(m.Details), Arguments: nx.List(m.Args), ArgumentsKw: nx.Dict(m.Kwargs)}, nil
	case *wamp.Interrupt:
		return &nx.Interrupt{Request: nx.ID(m.Request), Options: nxDict(m.Options)}, nil
	case *wamp.Yield:
		if err := notBare(m.Payload, m); err != nil {
			return nil, err
		}
		return &nx.Yield{Request: nx.ID(m.Request), Options: nxDict(m.Options),
			Arguments: nx.List(m.Args), ArgumentsKw: nx.Dict(m.Kwargs)}, nil
	case nil:
		return nil, fmt.Errorf("router: nil message")
	}
	return nil, fmt.Errorf("router: cannot convert %T for nexus", m)
}

// notBare refuses a payload nexus cannot be handed as it is: a bare one (the adapter
// rewrites those first) and one refused on receipt (Payload.Err: its values were never
// read, so converting it would deliver an empty payload in its place).
func notBare(p wamp.Payload, m wamp.Message) error {
	if p.IsBare() {
		return fmt.Errorf("router: %v with a bare payload reached the nexus conversion", m.MessageType())
	}
	if p.Err != nil {
		return fmt.Errorf("router: %v with a refused payload reached the nexus conversion: %w", m.MessageType(), p.Err)
	}
	return nil
}

// nxDict re-types a dict for nexus, keeping nil as nil. Several nexus code paths write to
// a Details dict they received (e.g. WELCOME details), so an absent dict becomes an empty
// one rather than a nil map.
func nxDict(d wamp.Dict) nx.Dict {
	if d == nil {
		return nx.Dict{}
	}
	return nx.Dict(d)
}

// fromNexus converts a message nexus wants delivered to a client into cbx's form. Every
// value is brought back into internal/wamp's value model (nexus fills Details and
// meta-API results with its own named types: ID, URI, Dict, List, []ID, …); containers are
// copied only where something had to change, and never modified in place: they are
// nexus's, and the values inside an EVENT's Arguments and ArgumentsKw are shared by all
// its subscribers (nexus copies only the top level per subscriber, see peer.IsLocal).
func fromNexus(m nx.Message) (wamp.Message, error) {
	switch m := m.(type) {
	case *nx.Hello:
		return &wamp.Hello{Realm: string(m.Realm), Details: plainDict(m.Details)}, nil
	case *nx.Welcome:
		return &wamp.Welcome{Session: wamp.ID(m.ID), Details: plainDict(m.Details)}, nil
	case *nx.Abort:
		return &wamp.Abort{Details: plainDict(m.Details), Reason: string(m.Reason)}, nil
	case *nx.Challenge:
		return &wamp.Challenge{AuthMethod: m.AuthMethod, Extra: plainDict(m.Extra)}, nil
	case *nx.Authenticate:
		return &wamp.Authenticate{Signature: m.Signature, Extra: plainDict(m.Extra)}, nil
	case *nx.Goodbye:
		return &wamp.Goodbye{Details: plainDict(m.Details), Reason: string(m.Reason)}, nil
	case *nx.Error:
		return &wamp.Error{Type: wamp.MessageType(m.Type), Request: wamp.ID(m.Request), Details: plainDict(m.Details),
			Error: string(m.Error), Payload: plainPayload(m.Arguments, m.ArgumentsKw)}, nil
	case *nx.Publish:
		return &wamp.Publish{Request: wamp.ID(m.Request), Options: plainDict(m.Options), Topic: string(m.Topic),
			Payload: plainPayload(m.Arguments, m.ArgumentsKw)}, nil
	case *nx.Published:
		return &wamp.Published{Request: wamp.ID(m.Request), Publication: wamp.ID(m.Publication)}, nil
	case *nx.Subscribe:
		return &wamp.Subscribe{Request: wamp.ID(m.Request), Options: plainDict(m.Options), Topic: string(m.Topic)}, nil
	case *nx.Subscribed:
		return &wamp.Subscribed{Request: wamp.ID(m.Request), Subscription: wamp.ID(m.Subscription)}, nil
	case *nx.Unsubscribe:
		return &wamp.Unsubscribe{Request: wamp.ID(m.Request), Subscription: wamp.ID(m.Subscription)}, nil
	case *nx.Unsubscribed:
		return &wamp.Unsubscribed{Request: wamp.ID(m.Request)}, nil
	case *nx.Event:
		return &wamp.Event{Subscription: wamp.ID(m.Subscription), Publication: wamp.ID(m.Publication),
			Details: plainDict(m.Details), Payload: plainPayload(m.Arguments, m.ArgumentsKw)}, nil
	case *nx.Call:
		return &wamp.Call{Request: wamp.ID(m.Request), Options: plainDict(m.Options), Procedure: string(m.Procedure),
			Payload: plainPayload(m.Arguments, m.ArgumentsKw)}, nil
	case *nx.Cancel:
		return &wamp.Cancel{Request: wamp.ID(m.Request), Options: plainDict(m.Options)}, nil
	case *nx.Result:
		return &wamp.Result{Request: wamp.ID(m.Request), Details: plainDict(m.Details),
			Payload: plainPayload(m.Arguments, m.ArgumentsKw)}, nil
	case *nx.Register:
		return &wamp.Register{Request: wamp.ID(m.Request), Options: plainDict(m.Options), Procedure: string(m.Procedure)}, nil
	case *nx.Registered:
		return &wamp.Registered{Request: wamp.ID(m.Request), Registration: wamp.ID(m.Registration)}, nil
	case *nx.Unregister:
		return &wamp.Unregister{Request: wamp.ID(m.Request), Registration: wamp.ID(m.Registration)}, nil
	case *nx.Unregistered:
		return &wamp.Unregistered{Request: wamp.ID(m.Request)}, nil
	case *nx.Invocation:
		return &wamp.Invocation{Request: wamp.ID(m.Request), Registration: wamp.ID(m.Registration),
			Details: plainDict(m.Details), Payload: plainPayload(m.Arguments, m.ArgumentsKw)}, nil
	case *nx.Interrupt:
		return &wamp.Interrupt{Request: wamp.ID(m.Request), Options: plainDict(m.Options)}, nil
	case *nx.Yield:
		return &wamp.Yield{Request: wamp.ID(m.Request), Options: plainDict(m.Options),
			Payload: plainPayload(m.Arguments, m.ArgumentsKw)}, nil
	case nil:
		return nil, fmt.Errorf("router: nil message from nexus")
	}
	return nil, fmt.Errorf("router: cannot convert nexus %T", m)
}

func plainPayload(args nx.List, kw nx.Dict) wamp.Payload {
	var p wamp.Payload
	if args != nil {
		p.Args = plainList(args)
	}
	if kw != nil {
		p.Kwargs = plainDict(kw)
	}
	return p
}

// plainDict returns d as a wamp.Dict holding only value-model values. The result is
// never nil: WAMP requires the Details/Options slot to be a dict.
func plainDict(d nx.Dict) wamp.Dict {
	if d == nil {
		return wamp.Dict{}
	}
	out, _ := plainMap(map[string]any(d), 0)
	return out
}

func plainList(l nx.List) wamp.List {
	out, _ := plainSlice([]any(l), 0)
	return out
}

// maxPlainDepth bounds the recursion of plain on values nexus hands us. Everything nexus
// delivers came from a client through internal/wamp's decoders (which bound nesting) or
// from nexus itself, so this only guards against a self-referencing structure.
const maxPlainDepth = 600

// plain converts one value into the internal/wamp value model. changed reports whether
// the result differs from v, so that containers are copied only when needed.
func plain(v any, depth int) (out any, changed bool) {
	if depth > maxPlainDepth {
		return nil, true
	}
	switch x := v.(type) {
	case nil, bool, string, int64, float64, []byte:
		return v, false
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
		return x, false
	case nx.ID:
		return int64(x), true // IDs are ≤ 2^53 (basic/messages.md "IDs")
	case nx.URI:
		return string(x), true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case float32:
		return float64(x), true
	case map[string]any:
		return plainMap(x, depth)
	case nx.Dict:
		m, _ := plainMap(map[string]any(x), depth)
		return m, true
	case []any:
		return plainSlice(x, depth)
	case nx.List:
		l, _ := plainSlice([]any(x), depth)
		return l, true
	case []nx.ID:
		l := make([]any, len(x))
		for i, id := range x {
			l[i] = int64(id)
		}
		return l, true
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return l, true
	case *legacyPayload:
		// Only an EVENT, INVOCATION or RESULT carries one, and the adapter converts those
		// itself. Anywhere else it stays as it is, which no serializer writes: the message
		// is not delivered rather than delivered altered (see legacyPayload).
		return v, false
	}
	// Anything else nexus might produce (other named kinds, slices of them) goes through
	// internal/wamp's reflective normalizer; a value it cannot represent becomes its
	// printed form rather than failing the whole message.
	n, err := wamp.Normalize(v)
	if err != nil {
		return fmt.Sprint(v), true
	}
	return n, true
}

func plainMap(m map[string]any, depth int) (map[string]any, bool) {
	var out map[string]any
	for k, v := range m {
		nv, changed := plain(v, depth+1)
		if !changed {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(m))
			for k2, v2 := range m {
				out[k2] = v2
			}
		}
		out[k] = nv
	}
	if out == nil {
		return m, false
	}
	return out, true
}

func plainSlice(l []any, depth int) ([]any, bool) {
	var out []any
	for i, v := range l {
		nv, changed := plain(v, depth+1)
		if !changed {
			continue
		}
		if out == nil {
			out = make([]any, len(l))
			copy(out, l)
		}
		out[i] = nv
	}
	if out == nil {
		return l, false
	}
	return out, true
}
