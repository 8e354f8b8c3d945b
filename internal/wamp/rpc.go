package wamp

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// ResultInfo is a call's result, or one progressive result of it.
type ResultInfo struct {
	Args     List
	Kwargs   Dict
	Details  Dict
	Progress bool // Details.progress: more results follow
	Sealed   bool // the payload was opened by the codec
	Opened   Dict // what opened it, in the codec's words (PayloadCodec.Open); nil unless Sealed
}

type pendingCall struct {
	q *queue[Message] // RESULT and ERROR, in arrival order
}

// Call calls a procedure and waits for its final result. When onProgress is not nil,
// receive_progress is requested and each progressive RESULT is passed to it, on the
// calling goroutine (advanced/rpc_progressive_call_results.md). If ctx ends first, a
// CANCEL with mode killnowait is sent (advanced/rpc_call_canceling.md) and ctx's error
// is returned. An ERROR reply is returned as *RPCError, opened under the error URI when
// sealed, or with PayloadErr set when its payload was refused on receipt; a RESULT or
// ERROR that cannot be opened is returned as the codec's error, wrapped, and so is a
// RESULT whose payload was refused (errors.Is [ErrPayloadRefused]); after such a
// progressive RESULT the call is cancelled too. If the session ends first, its error
// ([Session.Err]) is returned.
func (s *Session) Call(ctx context.Context, proc string, opts Dict, args List, kwargs Dict, onProgress func(*ResultInfo)) (*ResultInfo, error) {
	p, o, err := s.seal(true, proc, args, kwargs, opts)
	if err != nil {
		return nil, err
	}
	if onProgress != nil {
		o[OptReceiveProgress] = true
	}
	id := s.nextID()
	c := &pendingCall{q: newQueue[Message]()}
	s.mu.Lock()
	s.calls[id] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.calls, id)
		s.mu.Unlock()
	}()
	if err := s.send(&Call{Request: id, Options: o, Procedure: proc, Payload: p}); err != nil {
		return nil, err
	}
	cancel := func() {
		s.send(&Cancel{Request: id, Options: Dict{OptMode: CancelKillNoWait}})
	}
	for {
		select {
		case <-ctx.Done():
			cancel()
			return nil, ctx.Err()
		case <-s.done:
			return nil, s.err
		case <-c.q.wait():
		}
		for _, m := range c.q.drain() {
			switch m := m.(type) {
			case *Result:
				res := &ResultInfo{Details: m.Details}
				res.Progress, _ = m.Details[OptProgress].(bool)
				res.Args, res.Kwargs, res.Sealed, res.Opened, err = s.open(true, proc, m.Payload, m.Details)
				if err != nil {
					if res.Progress {
						cancel()
					}
					if m.Payload.Err != nil {
						return nil, fmt.Errorf("reading the result: %w", err)
					}
					return nil, fmt.Errorf("opening the result: %w", err)
				}
				if !res.Progress {
					return res, nil
				}
				if onProgress != nil {
					onProgress(res)
				}
			case *Error:
				e := &RPCError{URI: m.Error, Details: m.Details}
				if m.Payload.Err != nil {
					// The callee's error stands; only its payload is missing.
					e.PayloadErr = m.Payload.Err
					return nil, e
				}
				e.Args, e.Kwargs, e.Sealed, e.Opened, err = s.open(true, m.Error, m.Payload, m.Details)
				if err != nil {
					return nil, fmt.Errorf("opening the payload of error %s: %w", m.Error, err)
				}
				return nil, e
			}
		}
	}
}

// YieldResult is what a [Handler] returns: the final result's payload.
type YieldResult struct {
	Args   List
	Kwargs Dict
}

// InvocationInfo is one call delivered to a registered procedure.
type InvocationInfo struct {
	Registration *Registration
	// Procedure is Details.procedure when the router sent it (pattern registrations),
	// else the registered procedure.
	Procedure string
	Args      List
	Kwargs    Dict
	Details   Dict
	Sealed    bool // the payload was opened by the codec
	Opened    Dict // what opened it, in the codec's words (PayloadCodec.Open); nil unless Sealed
	// Progress sends a progressive result (YIELD with progress: true). It is nil unless
	// the caller asked for receive_progress.
	Progress func(args List, kwargs Dict) error
}

// Handler implements a registered procedure. Returning an *RPCError sends an ERROR with
// its URI and payload; any other error (or an *RPCError without a URI) sends
// wamp.error.runtime_error with the error's text. ctx is cancelled when the dealer
// interrupts the call (the reply is then wamp.error.canceled) or the session ends.
type Handler func(ctx context.Context, inv *InvocationInfo) (*YieldResult, error)

// Registration is an active registration.
type Registration struct {
	ID        ID
	Procedure string
	Options   Dict
	handler   Handler
	inline    bool // the handler runs on the read loop (RegisterInline)
}

// Register registers a procedure (opts["match"] for patterns, opts["invoke"] for shared
// registrations) with handler h.
func (s *Session) Register(ctx context.Context, proc string, opts Dict, h Handler) (*Registration, error) {
	return s.register(ctx, proc, opts, h, false)
}

// RegisterInline is Register for a handler that answers at once: it runs on the goroutine
// that reads the connection, and its reply is written before the next message is read,
// instead of on a goroutine of its own. That saves a goroutine and a hand-off between
// threads per call (which costs more than an echo's whole work), at a price: while it
// runs the session reads nothing, so it must not block (no sleeping, no command to wait
// for) and must not wait for the session (Call, Register, Subscribe, Publish with an
// acknowledgement, Close: they would wait for ever). Sending is fine, including
// InvocationInfo.Progress. Its ctx is the session's: an INTERRUPT cannot arrive before
// it returns, so it is never interrupted; it is cancelled when the session ends.
func (s *Session) RegisterInline(ctx context.Context, proc string, opts Dict, h Handler) (*Registration, error) {
	return s.register(ctx, proc, opts, h, true)
}

func (s *Session) register(ctx context.Context, proc string, opts Dict, h Handler, inline bool) (*Registration, error) {
	if h == nil {
		return nil, errors.New("registering a nil handler")
	}
	if opts == nil {
		opts = Dict{}
	}
	id := s.nextID()
	reg := &Registration{Procedure: proc, Options: opts, handler: h, inline: inline}
	if _, err := s.request(ctx, id, &Register{Request: id, Options: opts, Procedure: proc}, func(r Message) {
		reg.ID = r.(*Registered).Registration
		s.mu.Lock()
		s.regs[reg.ID] = reg
		s.mu.Unlock()
	}); err != nil {
		return nil, err
	}
	return reg, nil
}

// Unregister removes a registration.
func (s *Session) Unregister(ctx context.Context, reg *Registration) error {
	s.mu.Lock()
	if s.regs[reg.ID] != reg {
		s.mu.Unlock()
		return errors.New("not registered")
	}
	delete(s.regs, reg.ID)
	s.mu.Unlock()
	id := s.nextID()
	if _, err := s.request(ctx, id, &Unregister{Request: id, Registration: reg.ID}, nil); err != nil {
		return err
	}
	return nil
}

type invocation struct {
	cancel      context.CancelFunc
	interrupted atomic.Bool
}

func (inv *invocation) interrupt() {
	inv.interrupted.Store(true)
	inv.cancel()
}

// onInvocation opens the payload and runs the handler on its own goroutine, or on this
// one for a RegisterInline registration. An
// INVOCATION that cannot be handed to a handler (no such registration, a procedure the
// registration does not cover, a payload that cannot be opened or was refused on
// receipt) is answered with an ERROR at once, and the handler never runs.
func (s *Session) onInvocation(m *Invocation) {
	s.mu.Lock()
	reg := s.regs[m.Registration]
	s.mu.Unlock()
	if reg == nil {
		s.sendError(INVOCATION, m.Request, ErrURINoSuchRegistration,
			List{fmt.Sprintf("no registration %d in this session", m.Registration)}, nil)
		return
	}
	proc, err := envelopeURI(reg.Procedure, reg.Options, m.Details[OptProcedure])
	if err != nil {
		s.refuse(m.Request, proc, ErrURITrustedMismatch, err)
		return
	}
	args, kwargs, sealed, opened, err := s.open(false, proc, m.Payload, m.Details)
	switch refused, isRefused := errors.AsType[*PayloadError](err); {
	case isRefused:
		// The caller's arguments cannot be handed over exactly, so the handler never
		// runs; the caller learns why, without the value (it may be large), under the
		// spec's URI for arguments a procedure cannot take.
		s.sendError(INVOCATION, m.Request, ErrURIInvalidArgument, List{refused.Reason()}, nil)
		if s.cfg.OnRefused != nil {
			s.cfg.OnRefused(proc, ErrURIInvalidArgument, err)
		}
		return
	case err != nil:
		s.refuse(m.Request, proc, codecErrorURI(err), err)
		return
	}
	// An inline handler (RegisterInline) runs before the next message is read, so no
	// INTERRUPT can reach it: it needs neither a context of its own nor an entry in
	// invocations.
	ctx, cancel := s.ctx, context.CancelFunc(func() {})
	inv := &invocation{cancel: cancel}
	if !reg.inline {
		ctx, cancel = context.WithCancel(s.ctx)
		inv.cancel = cancel
		s.mu.Lock()
		s.invocations[m.Request] = inv
		s.mu.Unlock()
	}

	// yield seals a YIELD only if the INVOCATION was sealed, each one separately
	// (Autobahn protocol.py; wire.md §1.5).
	yield := func(args List, kwargs Dict, progress bool) error {
		opts := Dict{}
		if progress {
			opts[OptProgress] = true
		}
		p := Payload{Args: args, Kwargs: kwargs}
		if sealed {
			var err error
			if p, opts, err = s.sealReply(false, opened, proc, args, kwargs, opts); err != nil {
				return err
			}
		}
		return s.send(&Yield{Request: m.Request, Options: opts, Payload: p})
	}
	info := &InvocationInfo{Registration: reg, Procedure: proc, Args: args, Kwargs: kwargs, Details: m.Details, Sealed: sealed, Opened: opened}
	var finished atomic.Bool
	if rp, _ := m.Details[OptReceiveProgress].(bool); rp {
		info.Progress = func(args List, kwargs Dict) error {
			if finished.Load() {
				return errors.New("progress after the invocation finished")
			}
			if inv.interrupted.Load() {
				return fmt.Errorf("invocation interrupted: %w", context.Canceled)
			}
			return yield(args, kwargs, true)
		}
	}

	answer := func() {
		defer s.endReply()
		defer cancel()
		res, err := s.runHandler(ctx, reg.handler, info)
		finished.Store(true)
		if !reg.inline {
			s.mu.Lock()
			delete(s.invocations, m.Request)
			s.mu.Unlock()
		}
		if s.Err() != nil {
			return
		}
		switch rpcErr, isRPC := errors.AsType[*RPCError](err); {
		case inv.interrupted.Load():
			s.sendReplyError(opened, INVOCATION, m.Request, ErrURICanceled, List{"call canceled"}, nil)
		case isRPC && rpcErr.URI != "":
			s.sendReplyError(opened, INVOCATION, m.Request, rpcErr.URI, rpcErr.Args, rpcErr.Kwargs)
		case err != nil:
			s.sendReplyError(opened, INVOCATION, m.Request, ErrURIRuntime, List{err.Error()}, nil)
		default:
			if res == nil {
				res = &YieldResult{}
			}
			err := yield(res.Args, res.Kwargs, false)
			switch tooLarge, isTooLarge := errors.AsType[*MessageTooLargeError](err); {
			case err == nil || s.Err() != nil:
			case isTooLarge:
				s.sendReplyError(opened, INVOCATION, m.Request, ErrURIPayloadSizeExceeded, List{fmt.Sprintf(
					"the result of %s is %d bytes (%s), more than the callee's %d-byte message limit",
					proc, tooLarge.Size, tooLarge.Serializer, tooLarge.Limit)}, nil)
			default:
				s.sendReplyError(opened, INVOCATION, m.Request, ErrURIRuntime, List{fmt.Sprintf("cannot send result: %v", err)}, nil)
			}
		}
	}
	// Counted as a reply in progress either way, so that Close sends its GOODBYE only
	// after this reply.
	s.beginReply()
	if reg.inline {
		answer()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		answer()
	}()
}

func (s *Session) beginReply() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replyN == 0 {
		s.replyIdle = make(chan struct{})
	}
	s.replyN++
}

func (s *Session) endReply() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replyN--
	if s.replyN == 0 {
		close(s.replyIdle)
	}
}

// repliesIdle is ready when no invocation is being answered.
func (s *Session) repliesIdle() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replyN == 0 {
		idle := make(chan struct{})
		close(idle)
		return idle
	}
	return s.replyIdle
}

// refuse answers an INVOCATION that cannot be handed to its handler, and tells the
// application (Config.OnRefused), which would otherwise never learn of it.
func (s *Session) refuse(req ID, proc, uri string, err error) {
	s.sendError(INVOCATION, req, uri, List{err.Error()}, nil)
	if s.cfg.OnRefused != nil {
		s.cfg.OnRefused(proc, uri, err)
	}
}

// runHandler calls h, turning a panic into an error so that one bad handler does not take
// the process down and the caller still gets an answer.
func (s *Session) runHandler(ctx context.Context, h Handler, info *InvocationInfo) (res *YieldResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return h(ctx, info)
}

// sendError sends an ERROR for a request we received (an INVOCATION). The payload is
// sealed under the error URI when the codec has a key for it, whether or not the
// invocation was sealed (Autobahn protocol.py; wire.md §1.5). If the codec cannot seal
// it, the ERROR goes out with its URI and a fixed text instead of the payload, never
// the payload in plaintext (sendErrorOnce); if it cannot be sent at all (a value the
// serializer refuses, a message over the size limit), a short ERROR takes its place, so
// that the caller still gets an answer.
func (s *Session) sendError(typ MessageType, req ID, uri string, args List, kwargs Dict) {
	s.sendReplyError(nil, typ, req, uri, args, kwargs)
}

// sendReplyError is sendError for the ERROR answering an INVOCATION that replyTo (what
// opened it; nil when it was not sealed) names: sealed through the codec's ReplySealer.
func (s *Session) sendReplyError(replyTo Dict, typ MessageType, req ID, uri string, args List, kwargs Dict) {
	err := s.sendErrorOnce(replyTo, typ, req, uri, args, kwargs)
	if err == nil || s.Err() != nil {
		return
	}
	// The error itself could not be sent (a value the serializer does not take, or a
	// payload over the size limit); the caller must still get an answer, one whose
	// payload is only this short text.
	var tooLarge *MessageTooLargeError
	if errors.As(err, &tooLarge) {
		s.sendErrorOnce(replyTo, typ, req, ErrURIPayloadSizeExceeded, List{fmt.Sprintf(
			"the error %s is %d bytes (%s), more than the callee's %d-byte message limit",
			uri, tooLarge.Size, tooLarge.Serializer, tooLarge.Limit)}, nil)
		return
	}
	s.sendErrorOnce(replyTo, typ, req, ErrURIRuntime, List{fmt.Sprintf("cannot send error %s: %v", uri, err)}, nil)
}

// sendErrorOnce seals and sends one ERROR; see sendError.
func (s *Session) sendErrorOnce(replyTo Dict, typ MessageType, req ID, uri string, args List, kwargs Dict) error {
	p, details, err := s.sealReply(false, replyTo, uri, args, kwargs, nil)
	if err != nil {
		// The codec wanted this error sealed but could not seal it: send the URI alone
		// rather than the payload in plaintext, or nothing at all.
		p, details = Payload{Args: List{"the error's payload could not be sealed"}}, Dict{}
	}
	return s.send(&Error{Type: typ, Request: req, Details: details, Error: uri, Payload: p})
}
