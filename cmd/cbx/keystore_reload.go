package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keystore"
)

// A running session command follows its keystore file, so that `cbx keys rotate` and
// `cbx keys retire` take effect in a subscriber, a callee or a `publish --stdin` that is
// already running: rotating keys is one command and needs no restart, which would lose
// the events published meanwhile. The file is checked every keystoreCheckInterval. A
// keystore that reads (and, for a subscriber or callee, can still open what it receives)
// replaces the one in use for every later message and every reconnect; one that does not
// is reported and the keys in use are kept: a half-edited or broken keystore never
// leaves a running command with no keys, and never with plaintext. With -v each reload
// says "cbx: keystore "PATH" reloaded", which scripts can wait for.

// keystoreCheckInterval is how often a running command looks at its keystore file.
var keystoreCheckInterval = time.Second

// fileStamp identifies one version of a file: the keystore is replaced by rename on every
// write, so a new version has a new inode even within one second.
type fileStamp struct {
	exists bool
	ino    uint64
	ctime  int64
	size   int64
	mtime  time.Time
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	ino, ctime := fileIdentity(st)
	return fileStamp{exists: true, ino: ino, ctime: ctime, size: st.Size(), mtime: st.ModTime()}
}

// setReloadCheck makes the watcher refuse a new keystore that check refuses (for a
// subscriber or callee, one that could not open what it receives: CheckCanReceive), with
// the check's error in the warning.
func (d *dialer) setReloadCheck(check func(*e2e.Codec) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reloadCheck = check
}

// requireKeys checks that the keystore in use passes check (a subscriber's or callee's
// keys can open what it receives), and makes every keystore reloaded later pass it too:
// one check, from start to end of the run.
func (c *conn) requireKeys(check func(*e2e.Codec) error) error {
	if err := check(c.codec); err != nil {
		return err
	}
	c.dialer.setReloadCheck(check)
	return nil
}

// keystoreNow is the keystore in use, for the next connection.
func (d *dialer) keystoreNow() *keystore.Keystore {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ks
}

// useCodec records the codec of the connection in use, which a reload updates.
func (d *dialer) useCodec(c *e2e.Codec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.codec = c
}

// watchKeystore follows the keystore file until ctx ends (see the comment at the top),
// for a dialer whose keystore came from its file.
func (d *dialer) watchKeystore(ctx context.Context) {
	if !d.follow {
		return
	}
	// Started one interval after the keystore was read (session): it looks at once, then
	// every interval.
	t := time.NewTicker(keystoreCheckInterval)
	defer t.Stop()
	last := d.stamp
	for {
		if ctx.Err() != nil {
			return
		}
		if now := stampOf(keystore.RealPath(d.path)); now != last {
			last = now
			d.reload(now)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reload reads the keystore again after its file changed, and uses it if it is good.
func (d *dialer) reload(now fileStamp) {
	f := d.f
	if !now.exists {
		f.ui.warnf("keystore %q is gone; keeping the keys loaded before", d.path)
		return
	}
	ks, err := keystore.Load(d.path, f.keystoreNotices())
	if err != nil {
		var nf *keystore.NotFoundError
		if errors.As(err, &nf) || errors.Is(err, fs.ErrNotExist) {
			f.ui.warnf("keystore %q is gone; keeping the keys loaded before", d.path)
			return
		}
		f.ui.warnf("keystore %q changed but cannot be used (%v); keeping the keys loaded before", d.path, err)
		return
	}
	d.mu.Lock()
	check := d.reloadCheck
	d.mu.Unlock()
	if check != nil {
		if err := check(e2e.NewCodec(ks, d.path, e2e.WireLegacy)); err != nil {
			f.ui.warnf("keystore %q changed but cannot be used (%v); keeping the keys loaded before", d.path, err)
			return
		}
	}
	d.mu.Lock()
	d.ks = ks
	if d.codec != nil {
		d.codec.SetKeystore(ks)
	}
	d.mu.Unlock()
	if d.o.verbose {
		f.ui.noticef("keystore %q reloaded", d.path)
	}
}
