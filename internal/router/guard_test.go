package router

import (
	"testing"

	nx "github.com/gammazero/nexus/v3/wamp"
)

// The writer arms its guard for a batch only when a message nexus announced with Send
// may wait in tx during the write: one on its way into tx (Send called, not yet sent),
// one already in tx when the batch begins, or one handed over while a batch is being
// written. A batch with nothing on its way
// leaves the timer alone.
func TestGuardArmedOnlyForPendingHandOff(t *testing.T) {
	srv, _, _ := testServer(t, Config{})
	p := newPeer(srv, newPipe(), 1)
	t.Cleanup(func() { p.guard.Stop() })

	if !p.deliverBatch(nil) || p.guardArmed.Load() {
		t.Fatal("guard armed for a batch with no hand-off pending")
	}

	// Send returns tx; nexus has not sent on it yet.
	ch := p.Send()
	if !p.handOffPending() {
		t.Fatal("a Send not yet followed by its send is not pending")
	}
	p.deliverBatch(nil)
	if !p.guardArmed.Load() {
		t.Fatal("guard not armed for a batch begun while a hand-off was on its way")
	}
	p.guard.Stop()
	p.guardArmed.Store(false)

	// Sent: in tx, where it waits during a batch begun now (it reached tx after the
	// writer last emptied it); once moved, nothing is pending.
	ch <- &nx.Published{Request: 1, Publication: 2}
	if !p.handOffPending() {
		t.Fatal("a message waiting in tx is not pending")
	}
	p.deliverBatch(nil)
	if !p.guardArmed.Load() {
		t.Fatal("guard not armed for a batch begun with a message waiting in tx")
	}
	p.guard.Stop()
	p.guardArmed.Store(false)
	p.moveMu.Lock()
	p.moveLocked(false)
	p.moveMu.Unlock()
	if p.handOffPending() {
		t.Fatal("a moved message counted as on its way")
	}
	p.deliverBatch(nil)
	if p.guardArmed.Load() {
		t.Fatal("guard armed with nothing on its way")
	}

	// A Send while a batch is being written arms the guard itself.
	p.writing.Store(7)
	p.Send() <- &nx.Published{Request: 3, Publication: 4}
	if !p.guardArmed.Load() {
		t.Fatal("guard not armed by a Send during a write")
	}
}
