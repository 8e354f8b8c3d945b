package router

import (
	"fmt"
	"strings"
	"sync"

	nx "github.com/gammazero/nexus/v3/wamp"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// legacyScheme is the ppt_scheme under which a legacy (Autobahn cryptobox) message
// travels through nexus. It is a custom scheme in the spec's x_… namespace
// (payload_passthru_mode.md "ppt_scheme"), so it cannot collide with a real scheme;
// clients may not use it themselves (see [adapter.inbound]). It is the router's own and
// never reaches a client, so it lives here rather than in internal/wamp's names.go.
const legacyScheme = "x_cbx_legacy"

// pptKeys are the PPT attributes nexus copies from Options into Details
// (nexus router/helpers.go pptOptionsToDetails; wire.md §2 "Attributes").
var pptKeys = []string{wamp.OptPPTScheme, wamp.OptPPTSerializer, wamp.OptPPTCipher, wamp.OptPPTKeyID}

// encToPPT pairs each legacy attribute with the PPT attribute that carries it through nexus
// (see [adapter]).
var encToPPT = [][2]string{{wamp.OptEncAlgo, wamp.OptPPTCipher}, {wamp.OptEncSerializer, wamp.OptPPTSerializer}, {wamp.OptEncKey, wamp.OptPPTKeyID}}

// pptName is the name under which an Options or Details key of a legacy sealed message
// travels through nexus: its PPT attribute for enc_algo, enc_serializer and enc_key, its
// own name for any other.
func pptName(k string) string {
	for _, kk := range encToPPT {
		if k == kk[0] {
			return kk[1]
		}
	}
	return k
}

// clientRoles are the roles a client announces in HELLO (basic/session "HELLO").
var clientRoles = []string{wamp.RolePublisher, wamp.RoleSubscriber, wamp.RoleCaller, wamp.RoleCallee}

// violation is a message a client must not send. The session is aborted with Reason
// (wamp.error.protocol_violation) and Message, which is what nexus itself does for the
// PPT violations it detects (nexus router/broker.go publish, dealer.go syncCall).
type violation struct {
	Reason  string
	Message string
}

func (v *violation) Error() string { return v.Reason + ": " + v.Message }

func violationf(format string, args ...any) *violation {
	return &violation{Reason: wamp.ErrURIProtocol, Message: fmt.Sprintf(format, args...)}
}

// adapter holds the per-session state of the conversion between a client and nexus.
//
// Inbound (client → nexus): a legacy sealed message, i.e. a PUBLISH, CALL, YIELD or
// ERROR with a bare binary payload and enc_algo/enc_serializer/enc_key in its Options or
// Details (wire.md §1.1, §1.2), is rewritten so that nexus carries the payload untouched
// and its metadata reaches the receiver. A PUBLISH, CALL or YIELD keeps its Options, and
// its Arguments become [legacyPayload], which holds the payload and the enc_* values (see
// [legacyPayload]), except a CALL to a wamp. meta procedure ([isMetaProcedure]). That
// CALL and an ERROR become a nexus PPT message (nexus forwards an ERROR's
// Details as they are, so this costs it nothing): Arguments = [payload] and
//
//	ppt_scheme = "x_cbx_legacy", ppt_cipher = enc_algo, ppt_serializer = enc_serializer,
//	ppt_keyid = enc_key            (each ppt_* present exactly when its enc_* was)
//
// which nexus copies into the INVOCATION/RESULT/ERROR Details. The HELLO gets
// payload_passthru_mode added to every client role so nexus's PPT checks pass for every
// session.
//
// Outbound (nexus → client): an EVENT, INVOCATION or RESULT carrying a legacyPayload, or
// a message carrying ppt_scheme = "x_cbx_legacy", is turned
// back into exactly what Crossbar.io sends (wire.md §3 "Crossbar.io"): enc_algo,
// enc_serializer (and enc_key if present) in Details, the bare binary payload, no ppt_*
// keys. That is done for every receiver, whatever it announced: Crossbar forwards the
// bare form regardless of a receiver's features and Autobahn never checks them
// (wire.md §1.8), so a receiver that announced neither payload_transparency nor
// payload_passthru_mode gets the bare form too.
//
// Genuine PPT (a client that announced payload_passthru_mode and sends ppt_*) passes
// through unchanged in both directions. Because every session looks PPT-capable to nexus,
// the adapter enforces the spec's PPT rules itself, using what the client really
// announced (payload_passthru_mode.md "Feature Announcement"): sending ppt_* without
// having announced the feature aborts the session with wamp.error.protocol_violation; an
// INVOCATION in PPT form for a callee that did not announce it is answered with ERROR
// wamp.error.feature_not_supported to the caller; a RESULT in PPT form for a caller that
// did not announce it is replaced by that same ERROR. EVENTs are delivered as they are
// (the spec leaves a non-PPT subscriber to cope).
//
// The adapter never looks inside a payload.
type adapter struct {
	mu       sync.Mutex
	helloed  bool
	pptRoles map[string]bool // client roles whose original HELLO announced payload_passthru_mode
	// refused holds this session's CALL requests the router has already failed (ERROR
	// feature_not_supported or payload_size_exceeded) while the callee may still answer:
	// what nexus delivers later for them is not passed on.
	refused map[wamp.ID]bool
	// lastEnc and lastDetails: the writer's last shared EVENT Details (sealedDetails).
	lastEnc     [3]any
	lastDetails wamp.Dict
	// queueSize is announced in WELCOME (wamp.OptCBXQueueSize): the messages the router
	// queues for this client; 0 announces nothing.
	queueSize int
}

func newAdapter() *adapter {
	return &adapter{pptRoles: map[string]bool{}, refused: map[wamp.ID]bool{}}
}

// failCall records that the router has failed this session's call req itself, after a
// progressive result: see refused.
func (a *adapter) failCall(req wamp.ID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refused[req] = true
}

// refusedResult reports whether a RESULT of call req belongs to a call the router has
// failed itself (refused), and so is not passed on; the final one (not progress) ends
// the record.
func (a *adapter) refusedResult(req wamp.ID, progress bool) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.refused[req] {
		return false
	}
	if !progress {
		delete(a.refused, req)
	}
	return true
}

func (a *adapter) announcedPPT(role string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pptRoles[role]
}

// inbound converts a message received from the client into what nexus gets. A returned
// *violation means the session must be aborted; other errors too (as protocol
// violations), since they can only come from a message nexus must not see.
func (a *adapter) inbound(m wamp.Message) (nx.Message, error) {
	switch m := m.(type) {
	case *wamp.Hello:
		a.mu.Lock()
		if a.helloed {
			a.mu.Unlock()
			return nil, violationf("HELLO received twice")
		}
		a.helloed = true
		h, ppt := rewriteHello(m)
		a.pptRoles = ppt
		a.mu.Unlock()
		return toNexus(h)
	case *wamp.Publish:
		if args, ok, err := legacyArgs(m.Options, m.Payload); ok {
			if err != nil {
				return nil, err
			}
			// The Options go to nexus as they are, enc_* included: nexus reads only the
			// keys it knows (acknowledge, exclude_me, disclose_me, exclude, eligible, …).
			return &nx.Publish{Request: nx.ID(m.Request), Options: nxDict(m.Options), Topic: nx.URI(m.Topic), Arguments: args}, nil
		}
		opts, args, kw, err := a.sealedToPPT(m.Options, m.Payload, wamp.RolePublisher, true)
		if err != nil {
			return nil, err
		}
		return &nx.Publish{Request: nx.ID(m.Request), Options: opts, Topic: nx.URI(m.Topic), Arguments: args, ArgumentsKw: kw}, nil
	case *wamp.Call:
		if !isMetaProcedure(m.Procedure) {
			if args, ok, err := legacyArgs(m.Options, m.Payload); ok {
				if err != nil {
					return nil, err
				}
				return &nx.Call{Request: nx.ID(m.Request), Options: nxDict(m.Options), Procedure: nx.URI(m.Procedure), Arguments: args}, nil
			}
		}
		opts, args, kw, err := a.sealedToPPT(m.Options, m.Payload, wamp.RoleCaller, true)
		if err != nil {
			return nil, err
		}
		return &nx.Call{Request: nx.ID(m.Request), Options: opts, Procedure: nx.URI(m.Procedure), Arguments: args, ArgumentsKw: kw}, nil
	case *wamp.Yield:
		if args, ok, err := legacyArgs(m.Options, m.Payload); ok {
			if err != nil {
				return nil, err
			}
			return &nx.Yield{Request: nx.ID(m.Request), Options: nxDict(m.Options), Arguments: args}, nil
		}
		opts, args, kw, err := a.sealedToPPT(m.Options, m.Payload, wamp.RoleCallee, true)
		if err != nil {
			return nil, err
		}
		return &nx.Yield{Request: nx.ID(m.Request), Options: opts, Arguments: args, ArgumentsKw: kw}, nil
	case *wamp.Error:
		// nexus forwards an INVOCATION error's Details verbatim (dealer.go syncError) and
		// checks no feature for it, so neither does the adapter.
		details, args, kw, err := a.sealedToPPT(m.Details, m.Payload, wamp.RoleCallee, false)
		if err != nil {
			return nil, err
		}
		return &nx.Error{Type: nx.MessageType(m.Type), Request: nx.ID(m.Request), Details: details,
			Error: nx.URI(m.Error), Arguments: args, ArgumentsKw: kw}, nil
	case *wamp.Welcome, *wamp.Challenge, *wamp.Published, *wamp.Subscribed, *wamp.Unsubscribed,
		*wamp.Event, *wamp.Result, *wamp.Registered, *wamp.Unregistered, *wamp.Invocation, *wamp.Interrupt:
		// Router-to-client messages (basic/messages.md "Message Codes and Direction").
		return nil, violationf("%v is not sent by clients", m.MessageType())
	}
	return toNexus(m)
}

// legacyArgs is the nexus Arguments of a PUBLISH, CALL or YIELD whose payload travels as
// a legacyPayload (newLegacyPayload), with ok true, when that payload is bare and was not
// refused on receipt; ok is false for any other payload.
func legacyArgs(meta wamp.Dict, p wamp.Payload) (args nx.List, ok bool, err error) {
	if !p.IsBare() || p.Err != nil {
		return nil, false, nil
	}
	args, err = newLegacyPayload(meta, p.Bare)
	return args, true, err
}

// isMetaProcedure reports whether a CALL of procedure goes to one of nexus's meta
// procedures: a wamp. URI, which only the realm's meta session may register (nexus
// router/dealer.go register). A sealed CALL to one keeps the PPT form, in which nexus
// refuses it with wamp.error.feature_not_supported (its meta session announces no
// payload_passthru_mode): the meta procedures cannot read the sealed arguments and must
// not run without them. As a legacyPayload they would (wamp.registration.list even
// answering the sealed call with a plaintext RESULT).
func isMetaProcedure(procedure string) bool { return strings.HasPrefix(procedure, "wamp.") }

// sealedToPPT does the inbound rewrite of one payload-carrying message (see [adapter]).
// meta is its Options (or Details for ERROR); role the client role whose PPT announcement
// counts, checked only if checkRole.
func (a *adapter) sealedToPPT(meta wamp.Dict, p wamp.Payload, role string, checkRole bool) (nx.Dict, nx.List, nx.Dict, error) {
	if p.Err != nil {
		// Never hand nexus an empty payload in place of one that could not be read.
		return nil, nil, nil, fmt.Errorf("a refused payload reached the adapter: %w", p.Err)
	}
	scheme, hasScheme := meta[wamp.OptPPTScheme]
	if p.IsBare() {
		if err := checkBareMeta(meta); err != nil {
			return nil, nil, nil, err
		}
		// A copy, in one pass, reusing the values as they are (no string is boxed again).
		out := make(nx.Dict, len(meta)+1)
		for k, v := range meta {
			out[pptName(k)] = v
		}
		out[wamp.OptPPTScheme] = legacyScheme
		return out, nx.List{p.Bare}, nil, nil
	}
	if hasScheme {
		s, isStr := scheme.(string)
		if !isStr {
			return nil, nil, nil, violationf("%s must be a string, got %T", wamp.OptPPTScheme, scheme)
		}
		if s == legacyScheme {
			return nil, nil, nil, violationf("%s %q is reserved by this router", wamp.OptPPTScheme, legacyScheme)
		}
		if s != "" {
			for _, k := range pptKeys[1:] {
				if v, ok := meta[k]; ok {
					if _, isStr := v.(string); !isStr {
						return nil, nil, nil, violationf("%s must be a string, got %T", k, v)
					}
				}
			}
			if checkRole && !a.announcedPPT(role) {
				return nil, nil, nil, violationf("%s used without announcing %s for role %s in HELLO",
					wamp.OptPPTScheme, wamp.FeaturePayloadPassthruMode, role)
			}
		}
	}
	return nxDict(meta), nx.List(p.Args), nx.Dict(p.Kwargs), nil
}

// checkBareMeta checks the Options (Details for ERROR) of a message with a bare payload:
// no ppt_* key beside it, and enc_* values that are strings, as Autobahn requires
// (wire.md §1.2); nexus would also panic on a non-string ppt_* value (router/helpers.go
// uses unchecked assertions).
func checkBareMeta(meta wamp.Dict) error {
	for _, k := range pptKeys {
		if _, ok := meta[k]; ok {
			return violationf("bare payload together with %s", k)
		}
	}
	for _, kk := range encToPPT {
		if v, ok := meta[kk[0]]; ok {
			if _, isStr := v.(string); !isStr {
				return violationf("%s must be a string, got %T", kk[0], v)
			}
		}
	}
	return nil
}

// legacyPayload is how the payload of a legacy sealed PUBLISH travels through nexus: as
// the only element of the PUBLISH's Arguments, with the enc_* values of its Options
// beside it. Nexus never looks inside Arguments; it gives every subscriber's EVENT the
// same element (router/broker.go prepareEvent copies the list, not its values), and
// outbound turns such an EVENT into what Crossbar.io sends: the bare payload, and the
// enc_* values in Details next to those nexus adds (topic, publisher, …).
//
// A PUBLISH carried so needs no copy of its Options under PPT names, and nexus builds no
// ppt_* Details for the adapter to copy back for every subscriber: the router's work for
// a sealed event is then that of a plain one. A CALL and a YIELD travel so too: nexus's
// dealer hands a CALL's Arguments to the INVOCATION, and a YIELD's to the RESULT, as they
// are (router/dealer.go), and reads only the Options it knows, so the enc_* values reach
// the callee and the caller only through the legacyPayload. In the PPT form each sealed
// call cost the router two dicts of the adapter's, nexus's ppt_* Details and the adapter's
// copy of them back: about 5 µs of router CPU per round trip (the commit that made it so
// has the figures). (A callee's ERROR still travels in the PPT form,
// [adapter.sealedToPPT]: nexus forwards its Details verbatim.)
// No decoder produces this type, so no client can forge it, and no serializer writes it:
// a message that still held one where outbound does not expect it could not be sent
// (internal/wamp refuses a value outside its value model) rather than be altered.
type legacyPayload struct {
	bare []byte
	enc  [3]any // the values of enc_algo, enc_serializer, enc_key (encToPPT's order); nil when absent
	args [1]any // the message's Arguments: this legacyPayload (see newLegacyPayload)
}

// newLegacyPayload checks the Options of a bare PUBLISH, CALL or YIELD and takes their
// enc_* values, and returns the Arguments for nexus: [the legacyPayload], one allocation
// for both.
//
// It reads the Options in one pass (a PUBLISH has a handful of them) instead of looking
// up every ppt_* and enc_* name; anything checkBareMeta refuses is left to it, so that
// the violation is worded as ever.
func newLegacyPayload(meta wamp.Dict, bare []byte) (nx.List, error) {
	lp := &legacyPayload{bare: bare}
	refused := false
	for k, v := range meta {
		i := -1
		switch k {
		case wamp.OptEncAlgo:
			i = 0
		case wamp.OptEncSerializer:
			i = 1
		case wamp.OptEncKey:
			i = 2
		case wamp.OptPPTScheme, wamp.OptPPTSerializer, wamp.OptPPTCipher, wamp.OptPPTKeyID:
			refused = true
			continue
		default:
			continue
		}
		if _, isStr := v.(string); !isStr {
			refused = true
		}
		lp.enc[i] = v
	}
	if refused {
		if err := checkBareMeta(meta); err != nil {
			return nil, err
		}
		return nil, violationf("bare payload with options the router cannot carry") // not reached
	}
	lp.args[0] = lp
	return lp.args[:], nil
}

// addEnc sets the enc_* values lp carries in d, each under its name.
func (lp *legacyPayload) addEnc(d wamp.Dict) {
	for i, v := range lp.enc {
		if v != nil {
			d[encToPPT[i][0]] = v
		}
	}
}

// legacyOf returns the legacy payload an EVENT, INVOCATION or RESULT carries, or nil.
func legacyOf(args nx.List, kwargs nx.Dict) *legacyPayload {
	if len(args) != 1 || kwargs != nil {
		return nil
	}
	lp, _ := args[0].(*legacyPayload)
	return lp
}

// legacyEvent is the EVENT a subscriber gets for a legacy sealed publication: nexus's
// Details (copied, never written: they are nexus's) with the enc_* values added, and the
// bare payload.
func (a *adapter) legacyEvent(ev *nx.Event, lp *legacyPayload) *wamp.Event {
	return &wamp.Event{Subscription: wamp.ID(ev.Subscription), Publication: wamp.ID(ev.Publication),
		Details: a.legacyDetails(ev.Details, lp), Payload: lp.payload()}
}

// legacyDetails are the Details of a message that delivers lp: nexus's (copied, never
// written: they are nexus's) with the enc_* values added, or when nexus's are empty
// sealedDetails.
func (a *adapter) legacyDetails(nd nx.Dict, lp *legacyPayload) wamp.Dict {
	if len(nd) == 0 {
		return a.sealedDetails(lp)
	}
	d := plainDict(nd)
	details := make(wamp.Dict, len(d)+len(lp.enc))
	for k, v := range d {
		details[k] = v
	}
	lp.addEnc(details)
	return details
}

// payload is the bare payload lp carries, as the client gets it.
func (lp *legacyPayload) payload() wamp.Payload {
	bare := lp.bare
	if bare == nil {
		bare = []byte{}
	}
	return wamp.Payload{Bare: bare}
}

// sealedDetails returns the Details of an EVENT, INVOCATION or RESULT of lp whose nexus
// Details are empty (an exact subscription or registration, no publisher or caller
// disclosed, no progress; the common case): the enc_* values alone. A session's messages
// usually carry the same ones (one peer's key), so the adapter keeps the last dict it
// built and hands it out again for the same values rather than build the same dict for
// every message. Such a dict is shared and never written: nothing writes to the Details
// of a message outbound returns (a drop mark goes into a copy, withDropMark). Only the
// connection's writer, which alone calls outbound (peer.deliver), uses lastEnc and
// lastDetails.
func (a *adapter) sealedDetails(lp *legacyPayload) wamp.Dict {
	// Comparing the arrays compares each value's type and string (newLegacyPayload let
	// only strings and absent values through, so no comparison can panic).
	if a.lastDetails != nil && a.lastEnc == lp.enc {
		return a.lastDetails
	}
	d := make(wamp.Dict, len(lp.enc))
	lp.addEnc(d)
	a.lastEnc, a.lastDetails = lp.enc, d
	return d
}

// outbound converts a message nexus wants delivered into what the client gets. deliver
// is nil when nothing is to be sent to the client; reply, when non-nil, is to be handed
// to nexus as if the client had sent it (a feature_not_supported ERROR for an
// INVOCATION the client cannot take).
func (a *adapter) outbound(m nx.Message) (deliver wamp.Message, reply nx.Message, err error) {
	switch x := m.(type) {
	case *nx.Event:
		if lp := legacyOf(x.Arguments, x.ArgumentsKw); lp != nil {
			return a.legacyEvent(x, lp), nil, nil
		}
	case *nx.Invocation:
		if lp := legacyOf(x.Arguments, x.ArgumentsKw); lp != nil {
			return &wamp.Invocation{Request: wamp.ID(x.Request), Registration: wamp.ID(x.Registration),
				Details: a.legacyDetails(x.Details, lp), Payload: lp.payload()}, nil, nil
		}
	case *nx.Result:
		// In either form, a RESULT of a call the router has failed itself is not passed on.
		if progress, _ := x.Details[wamp.OptProgress].(bool); a.refusedResult(wamp.ID(x.Request), progress) {
			return nil, nil, nil
		}
		if lp := legacyOf(x.Arguments, x.ArgumentsKw); lp != nil {
			return &wamp.Result{Request: wamp.ID(x.Request), Details: a.legacyDetails(x.Details, lp), Payload: lp.payload()}, nil, nil
		}
	}
	out, err := fromNexus(m)
	if err != nil {
		return nil, nil, err
	}
	switch o := out.(type) {
	case *wamp.Welcome:
		o.Details = rewriteWelcomeDetails(o.Details)
		if a.queueSize > 0 {
			o.Details[wamp.OptCBXQueueSize] = int64(a.queueSize)
		}
	case *wamp.Invocation:
		if isGenuinePPT(o.Details) && !a.announcedPPT(wamp.RoleCallee) {
			return nil, &nx.Error{Type: nx.INVOCATION, Request: nx.ID(o.Request), Details: nx.Dict{},
				Error: wamp.ErrURIFeatureNotSupported, Arguments: nx.List{"callee did not announce " + wamp.FeaturePayloadPassthruMode}}, nil
		}
		o.Details, o.Payload = pptToSealed(o.Details, o.Payload)
	case *wamp.Result:
		if isGenuinePPT(o.Details) && !a.announcedPPT(wamp.RoleCaller) {
			if progress, _ := o.Details[wamp.OptProgress].(bool); progress {
				a.failCall(o.Request)
			}
			return &wamp.Error{Type: wamp.CALL, Request: o.Request, Details: wamp.Dict{}, Error: wamp.ErrURIFeatureNotSupported,
				Payload: wamp.Payload{Args: wamp.List{"caller did not announce " + wamp.FeaturePayloadPassthruMode}}}, nil, nil
		}
		o.Details, o.Payload = pptToSealed(o.Details, o.Payload)
	case *wamp.Error:
		if o.Type == wamp.CALL {
			a.mu.Lock()
			refused := a.refused[o.Request]
			delete(a.refused, o.Request)
			a.mu.Unlock()
			if refused {
				return nil, nil, nil
			}
		}
		o.Details, o.Payload = pptToSealed(o.Details, o.Payload)
	}
	return out, nil, nil
}

// isGenuinePPT reports whether Details mark a PPT payload a client sent in PPT form.
func isGenuinePPT(d wamp.Dict) bool {
	s, _ := d[wamp.OptPPTScheme].(string)
	return s != "" && s != legacyScheme
}

// pptToSealed undoes the inbound rewrite for an INVOCATION, RESULT or ERROR nexus built
// from a legacy sealed CALL, YIELD or ERROR; anything else is returned unchanged. (An
// EVENT of a legacy sealed PUBLISH carries a legacyPayload instead: legacyEvent.) details
// is never modified in place: it is nexus's.
func pptToSealed(details wamp.Dict, p wamp.Payload) (wamp.Dict, wamp.Payload) {
	if s, _ := details[wamp.OptPPTScheme].(string); s != legacyScheme {
		return details, p
	}
	if len(p.Args) != 1 || len(p.Kwargs) != 0 {
		return details, p
	}
	bare, ok := p.Args[0].([]byte)
	if !ok {
		return details, p
	}
	out := make(wamp.Dict, len(details))
	for k, v := range details {
		out[k] = v
	}
	for _, k := range pptKeys {
		delete(out, k)
	}
	for _, kk := range [][2]string{{wamp.OptPPTCipher, wamp.OptEncAlgo}, {wamp.OptPPTSerializer, wamp.OptEncSerializer}, {wamp.OptPPTKeyID, wamp.OptEncKey}} {
		if v, ok := details[kk[0]]; ok {
			out[kk[1]] = v
		}
	}
	if bare == nil {
		bare = []byte{}
	}
	return out, wamp.Payload{Bare: bare}
}

// rewriteHello returns a copy of h whose client roles all announce payload_passthru_mode
// (so nexus routes legacy sealed messages to and from this session), and the set of
// roles that announced it in the original.
func rewriteHello(h *wamp.Hello) (*wamp.Hello, map[string]bool) {
	announced := map[string]bool{}
	details := make(wamp.Dict, len(h.Details))
	for k, v := range h.Details {
		details[k] = v
	}
	roles, ok := h.Details[wamp.OptRoles].(map[string]any)
	if !ok {
		// nexus aborts with wamp.error.no_such_role.
		return &wamp.Hello{Realm: h.Realm, Details: details}, announced
	}
	newRoles := make(map[string]any, len(roles))
	for name, rv := range roles {
		newRoles[name] = rv
	}
	for _, name := range clientRoles {
		rv, present := roles[name]
		if !present {
			continue
		}
		rd, _ := rv.(map[string]any)
		features, _ := rd[wamp.OptFeatures].(map[string]any)
		if b, _ := features[wamp.FeaturePayloadPassthruMode].(bool); b {
			announced[name] = true
		}
		newRoles[name] = withFeatures(rd, wamp.FeaturePayloadPassthruMode)
	}
	details[wamp.OptRoles] = newRoles
	return &wamp.Hello{Realm: h.Realm, Details: details}, announced
}

// withFeatures returns a copy of a role's details (HELLO or WELCOME) whose "features"
// also announce names; neither rd nor its features map is modified, since nexus and other
// sessions may share them.
func withFeatures(rd map[string]any, names ...string) map[string]any {
	features, _ := rd[wamp.OptFeatures].(map[string]any)
	nf := make(map[string]any, len(features)+len(names))
	for k, v := range features {
		nf[k] = v
	}
	for _, n := range names {
		nf[n] = true
	}
	nrd := make(map[string]any, len(rd)+1)
	for k, v := range rd {
		nrd[k] = v
	}
	nrd[wamp.OptFeatures] = nf
	return nrd
}

// rewriteWelcomeDetails adds the payload features to the broker and dealer roles of a
// WELCOME: payload_transparency and payload_encryption_cryptobox as Crossbar.io announces
// them (wire.md §1.8), payload_passthru_mode as nexus does. The maps on the path are
// copied, never modified.
func rewriteWelcomeDetails(d wamp.Dict) wamp.Dict {
	out := make(wamp.Dict, len(d)+1)
	for k, v := range d {
		out[k] = v
	}
	roles, _ := d[wamp.OptRoles].(map[string]any)
	newRoles := make(map[string]any, len(roles)+2)
	for k, v := range roles {
		newRoles[k] = v
	}
	for _, name := range []string{wamp.RoleBroker, wamp.RoleDealer} {
		rd, _ := roles[name].(map[string]any)
		newRoles[name] = withFeatures(rd, wamp.FeaturePayloadTransparency, wamp.FeaturePayloadEncryptionCryptobox, wamp.FeaturePayloadPassthruMode)
	}
	out[wamp.OptRoles] = newRoles
	return out
}
