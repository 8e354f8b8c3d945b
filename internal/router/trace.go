package router

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Trace output (Config.Trace) is one line per message as the router sees it on a client
// connection, so that a user of `cbx router --trace` can check that a sealed payload is
// nothing but opaque bytes to the router:
//
//	rx conn=3 session=- json HELLO realm="realm1" roles=[callee caller publisher subscriber]
//	tx conn=3 session=8213412 json WELCOME session=8213412 roles=[broker dealer] authid="4b1f" authrole="anonymous" authmethod="anonymous"
//	rx conn=3 session=8213412 json PUBLISH req=2 topic="com.example.secure.t" options={acknowledge:true enc_algo:"cryptobox" enc_serializer:"json"} payload=<sealed 115 bytes base64:aWlu6VW2K3PNxA1Vq0yU0sVbX…>
//	drop conn=4 session=77 EVENT outbound queue full (65536 messages) dropped_total=11
//	drop conn=4 session=77 EVENT outbound queue full (67108864 bytes) dropped_total=12
//	drop conn=4 session=77 EVENT too large: 1398163 bytes as json exceed the 1048576-byte message limit dropped_total=13
//	toolarge conn=5 session=91 INVOCATION of 1311021 bytes (json) exceeds the 1048576-byte message limit: not delivered; the caller gets ERROR wamp.error.payload_size_exceeded
//	overflow conn=6 session=12 outbound queue over its limits and reserve; connection closed with 1008
//
// "rx" lines show what a client sent, before the adapter rewrites it; "tx" lines what a
// client is sent, after the adapter. Payloads are shown as follows: a bare (Autobahn
// cryptobox) payload as <sealed N bytes base64:…> with only its first bytes; a PPT payload
// as <ppt scheme=… N bytes base64:…>, never with its arguments; plain Arguments and
// ArgumentsKw of unsealed messages as a compact, truncated rendering in which binary
// values appear as <binary N bytes>. AUTHENTICATE signatures (tickets, secrets) are never
// shown. "drop" lines are messages the router could not queue for a client (the limit
// they did not fit under in parentheses), or EVENTs too large for it (see "Bounded
// resources" in doc.go); dropped_total is the number dropped for that session so far,
// and the number an EVENT's drop mark (_cbx_dropped) adds up to. "overflow" lines are
// clients disconnected because they read none of the replies to their requests. "toolarge" lines are calls' messages too large for their
// receiver, and what the router did instead; the message's own "tx" line comes first.
// "refuse" lines are messages a client sent that were not routed: a payload holding a
// value the router cannot carry exactly (its "rx" line shows payload=<refused: reason>),
// or a PPT message for a receiver that did not announce PPT.

const (
	traceB64Bytes  = 24  // payload bytes shown in base64 (the nonce, for Autobahn's layout)
	traceMaxValue  = 400 // characters of a rendered args/kwargs/details value
	traceMaxString = 120 // characters of one string inside a value
)

type tracer struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *tracer) line(s string) {
	if t == nil || t.w == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	io.WriteString(t.w, s+"\n") //nolint:errcheck // tracing is best effort
}

func traceSession(id uint64) string {
	if id == 0 {
		return "-"
	}
	return strconv.FormatUint(id, 10)
}

// traceLine renders one message for the trace.
func traceLine(dir string, conn, session uint64, ser string, m wamp.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s conn=%d session=%s %s ", dir, conn, traceSession(session), ser)
	b.WriteString(summarize(m))
	return b.String()
}

// summarize renders a message on one line the way the trace shows it (see the trace
// description in this file): its type, its fixed fields, its Options/Details and its
// payload, sealed payloads only as opaque bytes.
func summarize(m wamp.Message) string {
	if m == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(m.MessageType().String())
	f := func(format string, args ...any) { fmt.Fprintf(&b, " "+format, args...) }
	switch m := m.(type) {
	case *wamp.Hello:
		// Roles by name only: the feature lists would fill the line.
		f("realm=%s roles=%s%s", quote(m.Realm), roleNames(m.Details), renderSome(m.Details, wamp.OptAuthID, wamp.OptAuthMethods, wamp.OptAuthExtra))
	case *wamp.Welcome:
		f("session=%d roles=%s%s", m.Session, roleNames(m.Details), renderSome(m.Details, wamp.OptAuthID, wamp.OptAuthRole, wamp.OptAuthMethod))
	case *wamp.Abort:
		f("reason=%s details=%s", quote(m.Reason), renderValue(m.Details))
	case *wamp.Challenge:
		f("authmethod=%s extra=%s", quote(m.AuthMethod), renderValue(m.Extra))
	case *wamp.Authenticate:
		b.WriteString(" signature=<not shown>")
	case *wamp.Goodbye:
		f("reason=%s details=%s", quote(m.Reason), renderValue(m.Details))
	case *wamp.Error:
		f("type=%v req=%d error=%s details=%s%s", m.Type, m.Request, quote(m.Error), renderValue(m.Details), renderPayload(m.Details, m.Payload))
	case *wamp.Publish:
		f("req=%d topic=%s options=%s%s", m.Request, quote(m.Topic), renderValue(m.Options), renderPayload(m.Options, m.Payload))
	case *wamp.Published:
		f("req=%d publication=%d", m.Request, m.Publication)
	case *wamp.Subscribe:
		f("req=%d topic=%s options=%s", m.Request, quote(m.Topic), renderValue(m.Options))
	case *wamp.Subscribed:
		f("req=%d subscription=%d", m.Request, m.Subscription)
	case *wamp.Unsubscribe:
		f("req=%d subscription=%d", m.Request, m.Subscription)
	case *wamp.Unsubscribed:
		f("req=%d", m.Request)
	case *wamp.Event:
		f("subscription=%d publication=%d details=%s%s", m.Subscription, m.Publication, renderValue(m.Details), renderPayload(m.Details, m.Payload))
	case *wamp.Call:
		f("req=%d procedure=%s options=%s%s", m.Request, quote(m.Procedure), renderValue(m.Options), renderPayload(m.Options, m.Payload))
	case *wamp.Cancel:
		f("req=%d options=%s", m.Request, renderValue(m.Options))
	case *wamp.Result:
		f("req=%d details=%s%s", m.Request, renderValue(m.Details), renderPayload(m.Details, m.Payload))
	case *wamp.Register:
		f("req=%d procedure=%s options=%s", m.Request, quote(m.Procedure), renderValue(m.Options))
	case *wamp.Registered:
		f("req=%d registration=%d", m.Request, m.Registration)
	case *wamp.Unregister:
		f("req=%d registration=%d", m.Request, m.Registration)
	case *wamp.Unregistered:
		f("req=%d", m.Request)
	case *wamp.Invocation:
		f("req=%d registration=%d details=%s%s", m.Request, m.Registration, renderValue(m.Details), renderPayload(m.Details, m.Payload))
	case *wamp.Interrupt:
		f("req=%d options=%s", m.Request, renderValue(m.Options))
	case *wamp.Yield:
		f("req=%d options=%s%s", m.Request, renderValue(m.Options), renderPayload(m.Options, m.Payload))
	}
	return b.String()
}

// roleNames lists the roles of a HELLO or WELCOME.
func roleNames(d wamp.Dict) string {
	roles, _ := d[wamp.OptRoles].(map[string]any)
	names := make([]string, 0, len(roles))
	for k := range roles {
		names = append(names, truncUTF8(k, traceMaxString))
	}
	sort.Strings(names)
	return "[" + strings.Join(names, " ") + "]"
}

// renderSome shows the given keys of d, those present, as " key=value".
func renderSome(d wamp.Dict, keys ...string) string {
	var b strings.Builder
	for _, k := range keys {
		if v, ok := d[k]; ok {
			b.WriteString(" " + k + "=" + renderValue(v))
		}
	}
	return b.String()
}

// renderPayload shows a payload; meta is the message's Options or Details, which say
// whether the payload is PPT.
func renderPayload(meta wamp.Dict, p wamp.Payload) string {
	var pe *wamp.PayloadError
	if errors.As(p.Err, &pe) {
		return " payload=<refused: " + pe.Value.Kind.Error() + ">"
	}
	if p.IsBare() {
		return " payload=<sealed " + opaque(p.Bare) + ">"
	}
	if s, ok := meta[wamp.OptPPTScheme].(string); ok && s != "" {
		if len(p.Args) == 1 && len(p.Kwargs) == 0 {
			if bin, ok := p.Args[0].([]byte); ok {
				return fmt.Sprintf(" payload=<ppt scheme=%s %s>", quote(s), opaque(bin))
			}
		}
		return fmt.Sprintf(" payload=<ppt scheme=%s %d args, %d kwargs, not shown>", quote(s), len(p.Args), len(p.Kwargs))
	}
	var b strings.Builder
	if p.Args != nil {
		b.WriteString(" args=" + renderValue(p.Args))
	}
	if p.Kwargs != nil {
		b.WriteString(" kwargs=" + renderValue(p.Kwargs))
	}
	return b.String()
}

func opaque(bin []byte) string {
	shown := bin
	ell := ""
	if len(shown) > traceB64Bytes {
		shown, ell = shown[:traceB64Bytes], "…"
	}
	return fmt.Sprintf("%d bytes base64:%s%s", len(bin), base64.StdEncoding.EncodeToString(shown), ell)
}

func quote(s string) string {
	if len(s) > traceMaxString {
		s = truncUTF8(s, traceMaxString) + "…"
	}
	return strconv.Quote(s)
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// renderValue renders a value compactly: dict keys sorted and unquoted, strings quoted,
// binary as <binary N bytes>; the result is cut at traceMaxValue characters.
func renderValue(v any) string {
	var b strings.Builder
	writeValue(&b, v, 0)
	s := b.String()
	if len(s) > traceMaxValue {
		s = truncUTF8(s, traceMaxValue) + "…"
	}
	return s
}

func writeValue(b *strings.Builder, v any, depth int) {
	if b.Len() > traceMaxValue {
		return
	}
	if depth > 32 {
		b.WriteString("…")
		return
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		b.WriteString(quote(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			b.WriteString(fmt.Sprint(x))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case []byte:
		fmt.Fprintf(b, "<binary %d bytes>", len(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeValue(b, e, depth+1)
			if b.Len() > traceMaxValue {
				break
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(truncUTF8(k, traceMaxString))
			b.WriteByte(':')
			writeValue(b, x[k], depth+1)
			if b.Len() > traceMaxValue {
				break
			}
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%v", x)
	}
}
