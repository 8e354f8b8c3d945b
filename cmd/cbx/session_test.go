package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A session call interrupted by a signal or the deadline ends the command with that
// (exit 130 or 8), not with whatever the interrupted call reported.
func TestFailedAfterContextEnded(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	callErr := errors.New("write: broken pipe")
	var c *conn // not reached: the context decides first
	for _, tc := range []struct {
		ctx  context.Context
		code int
	}{{canceled, exitInterrupted}, {expired, exitTimeout}} {
		err := c.failed(tc.ctx, callErr, `subscribing to "t"`)
		if !errors.Is(err, tc.ctx.Err()) || errors.Is(err, callErr) || exitCodeFor(err) != tc.code {
			t.Errorf("failed after %v: %v (exit %d), want the context's error, exit %d", tc.ctx.Err(), err, exitCodeFor(err), tc.code)
		}
	}
}
