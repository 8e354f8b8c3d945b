package wamp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// closeTimeout bounds the wait for the router's GOODBYE when Close's ctx has no deadline.
const closeTimeout = 5 * time.Second

// Close ends the session politely: it lets invocations being answered send their reply,
// sends GOODBYE wamp.close.normal, then waits for the router's GOODBYE (bounded by ctx, or closeTimeout when ctx has no deadline), closes the
// connection, and waits for the session's goroutines, including running handlers, until
// ctx ends. A session that the router or a broken connection ended first, before or
// during the GOODBYE exchange, makes Close return why (see endedFirst); one an earlier
// Close ended, nil. Err() is then ErrSessionClosed.
func (s *Session) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, closeTimeout)
		defer cancel()
	}
	var err error
	// Invocations being answered get to send their YIELD or ERROR before our GOODBYE: a
	// callee that closes right after its last handler returns must not lose that reply.
	select {
	case <-s.repliesIdle():
	case <-s.done:
	case <-ctx.Done():
	}
	select {
	case <-s.done:
		err = s.endedFirst()
	default:
		s.mu.Lock()
		already := s.goodbyeSent
		s.goodbyeSent = true
		s.mu.Unlock()
		if !already {
			if e := s.send(&Goodbye{Details: Dict{}, Reason: CloseURINormal}); e != nil {
				err = fmt.Errorf("saying GOODBYE: %w", e)
			}
		}
		if err == nil {
			select {
			case <-s.goodbyeRcvd:
			case <-s.done:
				select {
				case <-s.goodbyeRcvd: // the reply came, then the connection closed
				default:
					err = s.endedFirst()
				}
			case <-ctx.Done():
				err = fmt.Errorf("no GOODBYE from the router: %w", ctx.Err())
			}
		}
		s.end(ErrSessionClosed)
	}
	waited := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("handlers still running: %w", ctx.Err())
		}
	}
	return err
}

// endedFirst is Close's error for a session that ended before its GOODBYE was answered:
// the router closed it, or the connection broke. Whoever sent messages without waiting for
// a reply (PUBLISH without acknowledge) cannot then know that the router handled them, so
// Close says so rather than succeed; the GOODBYE round trip is what proves it otherwise,
// since the router handles a session's messages in order.
func (s *Session) endedFirst() error {
	e := s.Err()
	if e == nil || errors.Is(e, ErrSessionClosed) {
		return nil
	}
	return fmt.Errorf("the session ended before it could be closed: %w", e)
}
