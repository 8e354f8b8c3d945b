package wamp

import (
	"context"
	"errors"
)

// Publish publishes an event to topic. With opts["acknowledge"] == true it waits for
// PUBLISHED and returns the publication ID (an ERROR reply is returned as *RPCError);
// otherwise it returns 0 once the message is sent. The payload is sealed if the codec
// says so (originating).
func (s *Session) Publish(ctx context.Context, topic string, opts Dict, args List, kwargs Dict) (ID, error) {
	p, o, err := s.seal(true, topic, args, kwargs, opts)
	if err != nil {
		return 0, err
	}
	id := s.nextID()
	m := &Publish{Request: id, Options: o, Topic: topic, Payload: p}
	if ack, _ := o[OptAcknowledge].(bool); !ack {
		if err := s.send(m); err != nil {
			return 0, err
		}
		return 0, nil
	}
	r, err := s.request(ctx, id, m, nil)
	if err != nil {
		return 0, err
	}
	return r.(*Published).Publication, nil
}

// QueueEvent publishes an event to topic without acknowledgement, as [Session.Publish]
// does when opts does not ask for one, but leaves the PUBLISH in the connection's write
// queue instead of writing it: the next message the session writes takes it along in
// the same system call, or [Session.Flush] writes it. A one-shot publisher then writes
// its event and the GOODBYE of [Session.Close] at once: one write, and one read for the
// router, instead of two each. The order on the wire is the same, and so are the bytes.
// A write that fails is the error of the message that wrote it (Close's, "saying
// GOODBYE"), which for such a publisher means the same: the router may not have the
// event. opts asking for an acknowledgement is an error: use [Session.QueuePublish].
func (s *Session) QueueEvent(topic string, opts Dict, args List, kwargs Dict) error {
	if ack, _ := opts[OptAcknowledge].(bool); ack {
		return errors.New("QueueEvent: an acknowledged publication (use QueuePublish)")
	}
	p, o, err := s.seal(true, topic, args, kwargs, opts)
	if err != nil {
		return err
	}
	b, err := s.encode(&Publish{Request: s.nextID(), Options: o, Topic: topic, Payload: p})
	if err != nil {
		return err
	}
	return s.write(b, false)
}

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
	return s.publishAsync(topic, opts, args, kwargs, false)
}

// QueuePublish is [Session.PublishAsync] that leaves the PUBLISH in the connection's write
// queue: it is written together with the next message the session writes, or by
// [Session.Flush]. A publisher with several events ready queues them and has them
// written at once (publishing the last with PublishAsync, or calling Flush), one system
// call for all instead of one each; it must do one or the other before it waits for
// their acknowledgements. Errors are PublishAsync's, except that a failed write is
// reported by the PublishAck of every publication still queued when it failed (the
// router may or may not have received them), and by Flush.
func (s *Session) QueuePublish(topic string, opts Dict, args List, kwargs Dict) (*PublishAck, error) {
	return s.publishAsync(topic, opts, args, kwargs, true)
}

// PublishJSON is PublishAsync, or QueuePublish when queue is set, for args given as their
// JSON text, which must be canonical (CanonicalJSONList(argsJSON, NestPayload); else
// [ErrNotCanonicalJSON], and nothing is sent), and no kwargs. When the codec is a [JSONArgsCodec] that
// seals topic, the text is sealed as it is; otherwise it is read into a List and
// published as PublishAsync publishes it. argsJSON is not kept.
func (s *Session) PublishJSON(topic string, opts Dict, argsJSON []byte, queue bool) (*PublishAck, error) {
	if !CanonicalJSONList(argsJSON, NestPayload) {
		return nil, ErrNotCanonicalJSON
	}
	p, o, err := s.sealJSON(true, topic, argsJSON, opts)
	if err != nil {
		return nil, err
	}
	return s.publishSealed(topic, p, o, queue)
}

func (s *Session) publishAsync(topic string, opts Dict, args List, kwargs Dict, queue bool) (*PublishAck, error) {
	p, o, err := s.seal(true, topic, args, kwargs, opts)
	if err != nil {
		return nil, err
	}
	return s.publishSealed(topic, p, o, queue)
}

// publishSealed is publishAsync once the payload p and the Options o (the message's own)
// are made.
func (s *Session) publishSealed(topic string, p Payload, o Dict, queue bool) (*PublishAck, error) {
	o[OptAcknowledge] = true
	id := s.nextID()
	// The acknowledgement, its pending request and the PUBLISH are allocated together,
	// once per event; the message is let go once encoded.
	ap := &asyncPublish{ack: PublishAck{Request: id, done: make(chan struct{})}}
	a, req := &ap.ack, &ap.req
	*req = pendingRequest{typ: PUBLISH, ack: a}
	ap.msg = Publish{Request: id, Options: o, Topic: topic, Payload: p}
	s.mu.Lock()
	if s.err != nil {
		// end has run: nothing would settle this request.
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.pending[id] = req
	s.mu.Unlock()
	b, err := s.encode(&ap.msg)
	ap.msg = Publish{}
	written := false // whether err is the write's
	if err == nil {
		err, written = s.write(b, !queue), !queue
	}
	if err != nil {
		s.mu.Lock()
		if s.pending[id] == req {
			delete(s.pending, id)
		}
		s.mu.Unlock()
		if written {
			s.flushed(err)
		}
		return nil, err
	}
	if queue {
		s.mu.Lock()
		s.unflushed = append(s.unflushed, id)
		s.mu.Unlock()
	} else {
		s.flushed(nil)
	}
	return a, nil
}

// asyncPublish is what publishAsync allocates per publication.
type asyncPublish struct {
	ack PublishAck
	req pendingRequest
	msg Publish
}

// Flush writes the messages queued by [Session.QueuePublish] and returns once they are
// written, or with why they could not be (their acknowledgements then settle with that
// error).
func (s *Session) Flush() error {
	err := s.writeErr(s.conn.Flush())
	s.flushed(err)
	return err
}

// flushed records the outcome of a write that waited for everything queued before it:
// the queued publications were written (err == nil), or their acknowledgements settle
// with err now, since no reply will come for what was not written and the router may or
// may not have what was.
func (s *Session) flushed(err error) {
	s.mu.Lock()
	ids := s.unflushed
	s.unflushed = nil
	var acks []*PublishAck
	if err != nil {
		for _, id := range ids {
			if p := s.pending[id]; p != nil && p.ack != nil {
				delete(s.pending, id)
				acks = append(acks, p.ack)
			}
		}
	}
	s.mu.Unlock()
	for _, a := range acks {
		a.settle(0, err)
	}
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

// EventInfo is one event delivered to a subscription handler.
type EventInfo struct {
	Subscription *Subscription
	Publication  ID
	// Topic is Details.topic when the router sent it (pattern subscriptions), else the
	// subscribed topic.
	Topic  string
	Args   List
	Kwargs Dict
	// ArgsJSON, when not nil, is the Arguments list as its JSON text in canonical form
	// (CanonicalJSONList: AppendJSONList would write exactly it), and Args is nil. Only
	// a session with Config.EventArgsJSON gives it, for a sealed event whose plaintext
	// holds the args so (JSONArgsCodec.OpenJSON).
	ArgsJSON []byte
	Details  Dict
	Sealed   bool // the payload was opened by the codec
	Opened   Dict // what opened it, in the codec's words (PayloadCodec.Open); nil unless Sealed
	// More is true when another event of this session has already arrived and waits
	// behind this one: its handler runs next, unless the session ends first. A handler
	// that buffers its output may leave it buffered while More is true and should flush
	// it when More is false, so that nothing waits while the session is idle.
	More bool
	// Err says why there are no Args and Kwargs: the payload could not be opened, or it was
	// refused on receipt because it holds a value outside the dialect (errors.Is
	// [ErrPayloadRefused]; package comment, "Refused payloads"), or the router delivered
	// it under a topic the subscription does not cover.
	Err error
}

// Subscription is an active subscription.
type Subscription struct {
	ID      ID
	Topic   string
	Options Dict
	handler func(*EventInfo)
}

// Subscribe subscribes to topic (opts["match"] = "prefix" or "wildcard" for patterns)
// and calls h for every event, in order, on the session's event goroutine.
func (s *Session) Subscribe(ctx context.Context, topic string, opts Dict, h func(*EventInfo)) (*Subscription, error) {
	if h == nil {
		return nil, errors.New("subscribing with a nil handler")
	}
	if opts == nil {
		opts = Dict{}
	}
	id := s.nextID()
	sub := &Subscription{Topic: topic, Options: opts, handler: h}
	if _, err := s.request(ctx, id, &Subscribe{Request: id, Options: opts, Topic: topic}, func(r Message) {
		sub.ID = r.(*Subscribed).Subscription
		s.mu.Lock()
		s.subs[sub.ID] = append(s.subs[sub.ID], sub)
		s.mu.Unlock()
	}); err != nil {
		return nil, err
	}
	return sub, nil
}

// Unsubscribe removes a subscription. The router hands out one subscription ID per topic
// and session (basic/pubsub.md), so UNSUBSCRIBE is sent only when the last local
// subscription with that ID goes.
func (s *Session) Unsubscribe(ctx context.Context, sub *Subscription) error {
	s.mu.Lock()
	list := s.subs[sub.ID]
	idx := -1
	for i, x := range list {
		if x == sub {
			idx = i
		}
	}
	if idx < 0 {
		s.mu.Unlock()
		return errors.New("not subscribed")
	}
	list = append(list[:idx:idx], list[idx+1:]...)
	if len(list) > 0 {
		s.subs[sub.ID] = list
		s.mu.Unlock()
		return nil
	}
	delete(s.subs, sub.ID)
	s.mu.Unlock()
	id := s.nextID()
	if _, err := s.request(ctx, id, &Unsubscribe{Request: id, Subscription: sub.ID}, nil); err != nil {
		return err
	}
	return nil
}

func (s *Session) onEvent(m *Event) {
	s.mu.Lock()
	// Not copied: Subscribe and Unsubscribe never change the elements a slice already
	// holds (they append past its end or build a new one).
	subs := s.subs[m.Subscription]
	s.mu.Unlock()
	for _, sub := range subs {
		s.events.push(delivery{sub, m})
	}
}

// delivery is one event for one subscription, waiting for the event goroutine.
type delivery struct {
	sub *Subscription
	m   *Event
}

// deliver opens an event and runs its subscription's handler; more is EventInfo.More.
func (s *Session) deliver(d delivery, more bool) {
	sub, m := d.sub, d.m
	topic, err := envelopeURI(sub.Topic, sub.Options, m.Details[OptTopic])
	ev := &EventInfo{Subscription: sub, Publication: m.Publication, Topic: topic, Details: m.Details, Err: err, More: more}
	if err == nil {
		ev.ArgsJSON, ev.Args, ev.Kwargs, ev.Sealed, ev.Opened, ev.Err = s.openAs(false, topic, m.Payload, m.Details, s.cfg.EventArgsJSON)
	}
	sub.handler(ev)
}
