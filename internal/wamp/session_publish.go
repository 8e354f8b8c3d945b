package wamp

import "context"

// PublishAck is the acknowledgement of one publication sent by [Session.PublishAsync]:
// the router's PUBLISHED (the publication ID) or ERROR, or, if the session ends first,
// the session's error. It settles exactly once.
type PublishAck struct {
	// Request is the PUBLISH's request ID.
	Request ID

	done chan struct{}
	id   ID
	err  error
}

// Done is closed when the acknowledgement has settled; Result then returns at once.
func (a *PublishAck) Done() <-chan struct{} { return a.done }

// Result waits for the acknowledgement and returns the publication ID, or why there is
// none: *RPCError for an ERROR reply, or the session's error (see [Session.Err]).
func (a *PublishAck) Result() (ID, error) {
	<-a.done
	return a.id, a.err
}

// Wait is Result bounded by ctx. When ctx ends first it returns ctx's error; the
// acknowledgement still settles later, when the reply comes or the session ends.
func (a *PublishAck) Wait(ctx context.Context) (ID, error) {
	select {
	case <-a.done:
		return a.id, a.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (a *PublishAck) settle(id ID, err error) {
	a.id, a.err = id, err
	close(a.done)
}

// PublishAsync publishes an event to topic with acknowledge: true and returns as soon
// as the PUBLISH is written, without waiting for the reply, so that a publisher can keep
// several publications in flight (pipelined) and still learn the fate of each: the spec
// has the broker answer every acknowledged PUBLISH with PUBLISHED or ERROR
// (basic/pubsub.md "Publishing and Events"). Any number may be outstanding; bounding
// them is the caller's choice (cbx publish --window).
//
// An error returned here means nothing was sent, or the session failed while sending
// (a payload that cannot be sealed, a message over Config.MaxMessageSize, an ended
// session); otherwise the returned *PublishAck settles with the reply, or with the
// session's error if the session ends first. opts is not modified; the payload is
// sealed as for [Session.Publish].
func (s *Session) PublishAsync(topic string, opts Dict, args List, kwargs Dict) (*PublishAck, error) {
	p, o, err := s.seal(true, topic, args, kwargs, opts)
	if err != nil {
		return nil, err
	}
	o["acknowledge"] = true
	id := s.nextID()
	a := &PublishAck{Request: id, done: make(chan struct{})}
	req := &pendingRequest{typ: PUBLISH, ack: a}
	s.mu.Lock()
	if s.err != nil {
		// end has run: nothing would settle this request.
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.pending[id] = req
	s.mu.Unlock()
	if err := s.send(&Publish{Request: id, Options: o, Topic: topic, Payload: p}); err != nil {
		s.mu.Lock()
		if s.pending[id] == req {
			delete(s.pending, id)
		}
		s.mu.Unlock()
		return nil, err
	}
	return a, nil
}

// settleAsync settles a PublishAsync request with its reply.
func (p *pendingRequest) settleAsync(m Message) {
	switch m := m.(type) {
	case *Published:
		p.ack.settle(m.Publication, nil)
	case *Error:
		p.ack.settle(0, replyError(m))
	}
}

// endAsync takes every outstanding PublishAsync request out of s.pending, for end to
// settle with the session's error. Called with s.mu held.
func (s *Session) endAsync() []*PublishAck {
	var acks []*PublishAck
	for id, p := range s.pending {
		if p.ack != nil {
			acks = append(acks, p.ack)
			delete(s.pending, id)
		}
	}
	return acks
}
