package main

import (
	"errors"
	"io/fs"
	"os"
	"sync"
)

// readyFile is subscribe's and register's --ready-file: a signal file (signal_file.go)
// that exists while the command is subscribed (registered), for scripts that must not
// publish (call) before then. It is created once the router has confirmed the
// subscription (SUBSCRIBED, REGISTERED): from then on the router delivers what is
// published. It is removed when that session ends, so that during a --reconnect outage
// it does not claim readiness, created again once the new session has subscribed, and
// removed when cbx ends. It holds one JSON line, {"url","realm","session"}, for logs.
type readyFile struct {
	f    *factory
	path string

	mu  sync.Mutex
	gen int // announcements made; a session's withdrawal applies only to its own
	sf  *signalFile
}

// newReadyFile prepares --ready-file path ("": none). A file already there is removed
// first: it is left from an earlier run, and a script must not take it for this one.
func newReadyFile(f *factory, path string) (*readyFile, error) {
	if path == "" {
		return nil, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, signalFileError("--ready-file", path, err)
	}
	return &readyFile{f: f, path: path}, nil
}

// announce writes the file for c's session, which has just subscribed (registered), and
// withdraws it when that session ends.
func (r *readyFile) announce(c *conn) error {
	if r == nil {
		return nil
	}
	line, err := objectLine(field{"url", c.opts.url}, field{"realm", c.opts.realm}, field{"session", uint64(c.sess.ID())})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	sf, err := writeSignalFile(r.path, line)
	if err != nil {
		return signalFileError("--ready-file", r.path, err)
	}
	r.gen++
	r.sf = sf
	gen := r.gen
	go func() {
		<-c.sess.Done()
		r.withdraw(gen)
	}()
	return nil
}

// withdraw removes the file of announcement gen, unless a later one has replaced it.
func (r *readyFile) withdraw(gen int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen == r.gen {
		r.removeLocked()
	}
}

// close removes the file as cbx ends.
func (r *readyFile) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++ // no session's withdrawal applies any more
	r.removeLocked()
}

func (r *readyFile) removeLocked() {
	if err := r.sf.remove(); err != nil {
		r.f.ui.warnf("could not remove --ready-file %q: %v", r.path, unwrapPathError(err))
	}
	r.sf = nil
}
