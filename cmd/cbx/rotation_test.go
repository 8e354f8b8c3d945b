package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// Key rotation under traffic (wire.md §6.3 L14), with cbx's key ids (wire.md §2.4 "Key ids").

// streamer is testdata/autobahn/stream.py: an Autobahn|Python publisher of a stream of
// sealed events, told on stdin to rotate its KeyRing, to publish one event with its old
// one, or to stop.
type streamer struct {
	*bgProc
	stdin io.WriteCloser
}

func startStreamer(t *testing.T, url, ser, topic string, keys, keys2 []pyKey) *streamer {
	t.Helper()
	k1, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := json.Marshal(keys2)
	if err != nil {
		t.Fatal(err)
	}
	s := &streamer{}
	argv := []string{testkit.NeedAutobahnPython(t), filepath.Join("testdata", "autobahn", "stream.py"),
		"--url", url, "--serializer", ser, "--topic", topic, "--interval", "0.03"}
	s.bgProc = startBgWith(t, "autobahn stream", interopEnv("CBX_PY_KEYS="+string(k1), "CBX_PY_KEYS2="+string(k2)), func(c *exec.Cmd) {
		if s.stdin, err = c.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}, argv...)
	waitPeer(t, s.bgProc, "ready")
	return s
}

func (s *streamer) command(t *testing.T, cmd string) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, cmd+"\n"); err != nil {
		t.Fatalf("telling the stream %q: %v", cmd, err)
	}
}

// receivedEvent is one line of cbx subscribe --details: who sent it, its number, the
// generation of the subscriber's keys that opened it, and its key id.
type receivedEvent struct {
	source string
	n      int64
	gen    int64
	keyID  any
}

func receivedEvents(t *testing.T, stdout string) []receivedEvent {
	t.Helper()
	var out []receivedEvent
	for _, l := range stdoutLines(stdout) {
		m := decodeLine(t, []byte(l))
		args, _ := m["args"].([]any)
		key, _ := m["key"].(map[string]any)
		details, _ := m["details"].(map[string]any)
		if len(args) != 2 || m["sealed"] != true || key == nil {
			t.Fatalf("subscriber printed %s", l)
		}
		src, _ := args[0].(string)
		n, _ := args[1].(int64)
		gen, _ := key["generation"].(int64)
		out = append(out, receivedEvent{source: src, n: n, gen: gen, keyID: details["enc_key"]})
	}
	return out
}

// countFrom counts the events from one source, and those of them opened by generation gen
// (0: any).
func countFrom(evs []receivedEvent, source string, gen int64) int {
	n := 0
	for _, e := range evs {
		if e.source == source && (gen == 0 || e.gen == gen) {
			n++
		}
	}
	return n
}

// TestLiveRotationUnderTraffic is the rotation the issue asks for, live: two publishers
// stream sealed events to one `cbx subscribe --require-encrypted` through cbx router, one
// `cbx publish` after another (each reads the keystore) and an Autobahn|Python session.
// Both sides change both key pairs: the subscriber rotates first (its new private key,
// the publishers' new public key), the running subscriber picks the change up, then the
// publishers rotate. Every acknowledged event arrives exactly once and opens: nothing is
// lost or refused (a refusal would end the subscriber). After the subscriber retires
// generation 1, an event sealed with it (from Autobahn, then from cbx) is refused with
// exit 3, naming the generation; without --require-encrypted it is skipped with a warning.
func TestLiveRotationUnderTraffic(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	dir := t.TempDir()
	p1, p2 := newParty(t, dir, "publisher-1"), newParty(t, dir, "publisher-2")
	s1, s2 := newParty(t, dir, "subscriber-1"), newParty(t, dir, "subscriber-2")
	pubKS, subKS := filepath.Join(dir, "pub.ks"), filepath.Join(dir, "sub.ks")
	cbxOK(t, "", "--keystore", pubKS, "keys", "add", securePrefix, "--originator-priv", p1.keyFile, "--responder-pub", s1.pub)
	cbxOK(t, "", "--keystore", subKS, "keys", "add", securePrefix, "--responder-priv", s1.keyFile, "--originator-pub", p1.pub)
	// A copy of the publisher's keystore as it is now, to seal with generation 1 later.
	oldPubKS := filepath.Join(dir, "pub-old.ks")
	copyFile(t, pubKS, oldPubKS)

	url, _ := startInteropRouter(t)
	topic := secureNS + ".rotation"
	sub := startCbx(t, "--keystore", subKS, "subscribe", topic, "--details", "--require-encrypted", "-v",
		"--timeout", "180s", "--url", url, "--serializer", "msgpack")
	sub.waitStderr(t, `cbx: subscribed to "`+topic+`"`)

	stream := startStreamer(t, url, "json", topic,
		[]pyKey{{securePrefix, "originator", p1.privB64, s1.pub}},
		[]pyKey{{securePrefix, "originator", p2.privB64, s2.pub}})

	// cbx publish, one event after another, until stopped.
	stop := make(chan struct{})
	var (
		mu       sync.Mutex
		cbxAcked []int64
		cbxFail  []string
	)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			_, errOut, code := cbxRun(t, "", "--keystore", pubKS, "publish", topic, "cbx", fmt.Sprint(n), "--ack", "--url", url, "--serializer", "cbor")
			mu.Lock()
			if code == 0 {
				cbxAcked = append(cbxAcked, n)
			} else {
				cbxFail = append(cbxFail, fmt.Sprintf("event %d: exit %d: %s", n, code, errOut))
			}
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})

	// waitEvents waits until the subscriber printed more events from each source than
	// it had, opened by generation gen (0: any).
	waitEvents := func(what string, gen int64) {
		t.Helper()
		before := receivedEvents(t, sub.stdout.String())
		needCbx, needAB := countFrom(before, "cbx", gen)+5, countFrom(before, "autobahn", gen)+5
		waitFor(t, sub.stdout, sub.exited, what, func(s string) bool {
			evs := receivedEvents(t, s)
			return countFrom(evs, "cbx", gen) >= needCbx && countFrom(evs, "autobahn", gen) >= needAB
		})
	}
	waitEvents("events before any rotation", 1)

	// 1. The subscriber rotates: its new key pair, the publishers' new public key. The
	// running subscriber reloads its keystore; generation 1 still opens everything.
	cbxOK(t, "", "--keystore", subKS, "keys", "rotate", securePrefix, "--responder-priv", s2.keyFile, "--originator-pub", p2.pub)
	sub.waitStderr(t, `cbx: keystore "`+subKS+`" reloaded`)
	waitEvents("events after the subscriber rotated", 1)

	// 2. The publishers rotate: the next cbx publish reads generation 2; the Autobahn
	// session swaps its KeyRing. Generation 2 opens their events.
	cbxOK(t, "", "--keystore", pubKS, "keys", "rotate", securePrefix, "--originator-priv", p2.keyFile, "--responder-pub", s2.pub)
	stream.command(t, "rotate")
	waitEvents("events after the publishers rotated", 2)
	close(stop)
	wg.Wait()

	// 3. The subscriber retires generation 1; then Autobahn publishes one event sealed
	// with it.
	cbxOK(t, "", "--keystore", subKS, "keys", "retire", securePrefix, "1")
	waitFor(t, sub.stderr, sub.exited, "a second reload", func(s string) bool {
		return strings.Count(s, `cbx: keystore "`+subKS+`" reloaded`) == 2
	})
	stream.command(t, "old")
	sub.waitExit(t, exitDecrypt)
	stream.command(t, "stop")
	finishPeer(t, stream.bgProc)

	// Nothing lost, nothing refused before the retirement.
	mu.Lock()
	defer mu.Unlock()
	if len(cbxFail) > 0 {
		t.Fatalf("cbx publish failed during the rotation:\n%s", strings.Join(cbxFail, "\n"))
	}
	evs := receivedEvents(t, sub.stdout.String())
	type key struct {
		source string
		n      int64
	}
	got := map[key]receivedEvent{}
	for _, e := range evs {
		if _, dup := got[key{e.source, e.n}]; dup {
			t.Errorf("%s event %d arrived twice", e.source, e.n)
		}
		got[key{e.source, e.n}] = e
	}
	// Autobahn's events: every one published before the old one (the first sealed with
	// KeyRing 1 after the rotation) arrived, opened by the generation of the KeyRing that
	// sealed it, without a key id (Autobahn sends none).
	var oldN int64
	abPublished, rotated := 0, false
	for _, l := range peerLines(t, stream.bgProc, "") {
		switch l["event"] {
		case "rotated":
			rotated = true
		case "publish_error":
			t.Errorf("Autobahn's publish failed: %v", l)
		case "published":
			n, _ := l["n"].(int64)
			ring, _ := l["ring"].(int64)
			switch {
			case oldN != 0:
				// After the refused one: the subscriber had ended.
			case rotated && ring == 1:
				oldN = n
				if _, ok := got[key{"autobahn", n}]; ok {
					t.Errorf("Autobahn's event %d, sealed with the retired generation, was printed", n)
				}
			default:
				abPublished++
				if e, ok := got[key{"autobahn", n}]; !ok {
					t.Errorf("Autobahn event %d (KeyRing %d) was lost", n, ring)
				} else if e.gen != ring {
					t.Errorf("Autobahn event %d sealed with KeyRing %d was opened by generation %d", n, ring, e.gen)
				} else if e.keyID != nil {
					t.Errorf("Autobahn event %d carries a key id %v", n, e.keyID)
				}
			}
		}
	}
	if oldN == 0 {
		t.Fatalf("no event sealed with the old KeyRing after the rotation was published:\n%s", stream.stdout)
	}
	// cbx's events: every acknowledged one arrived; the key id names the subscriber's key
	// of the generation that opened it; generation 1 first, then generation 2 only.
	fp := map[int64]string{1: s1.fp, 2: s2.fp}
	var last int64 = 1
	for _, n := range cbxAcked {
		e, ok := got[key{"cbx", n}]
		if !ok {
			t.Errorf("cbx event %d was lost", n)
			continue
		}
		if e.keyID != fp[e.gen] {
			t.Errorf("cbx event %d opened by generation %d carries key id %v, want %s", n, e.gen, e.keyID, fp[e.gen])
		}
		if e.gen < last {
			t.Errorf("cbx event %d opened by generation %d after generation %d", n, e.gen, last)
		}
		last = e.gen
	}
	if countFrom(evs, "cbx", 1) == 0 || countFrom(evs, "cbx", 2) == 0 || countFrom(evs, "autobahn", 1) == 0 || countFrom(evs, "autobahn", 2) == 0 {
		t.Errorf("not both generations seen from both publishers")
	}
	if n := len(evs); n != len(cbxAcked)+abPublished {
		t.Errorf("the subscriber printed %d events; %d were acknowledged by cbx publish and %d by Autobahn", n, len(cbxAcked), abPublished)
	}
	t.Logf("%d events from cbx publish, %d from Autobahn, none lost or refused; the subscriber ended on Autobahn's event %d sealed with generation 1", len(cbxAcked), abPublished, oldN)

	// The refusal named the retired generation, and nothing else was refused before it.
	errOut := sub.stderr.String()
	want := fmt.Sprintf(`cbx: error: payload on %q was sealed with generation 1 of keystore entry "%s", retired since `, topic, securePrefix)
	if !strings.Contains(errOut, want) {
		t.Errorf("the subscriber's stderr does not say %q:\n%s", want, errOut)
	}
	if strings.Contains(errOut, "warning") {
		t.Errorf("the subscriber warned during the rotation:\n%s", errOut)
	}

	// cbx publish with generation 1 after the retirement: refused the same way (exit 3
	// with --require-encrypted), or skipped with a warning naming it.
	strict := startCbx(t, "--keystore", subKS, "subscribe", topic, "--require-encrypted", "-v", "--timeout", "60s", "--url", url)
	lenient := startCbx(t, "--keystore", subKS, "subscribe", topic, "--count", "1", "--details", "-v", "--timeout", "60s", "--url", url)
	strict.waitStderr(t, "cbx: subscribed to")
	lenient.waitStderr(t, "cbx: subscribed to")
	cbxOK(t, "", "--keystore", oldPubKS, "publish", topic, "cbx", "0", "--ack", "--url", url)
	strict.waitExit(t, exitDecrypt)
	if !strings.Contains(strict.stderr.String(), want) {
		t.Errorf("the strict subscriber's stderr does not say %q:\n%s", want, strict.stderr)
	}
	lenient.waitStderr(t, "cbx: warning: skipped an event on \""+topic+"\": "+strings.TrimPrefix(want, "cbx: error: "))
	cbxOK(t, "", "--keystore", pubKS, "publish", topic, "cbx", "1000", "--ack", "--url", url)
	lenient.waitExit(t, 0)
	if evs := receivedEvents(t, lenient.stdout.String()); len(evs) != 1 || evs[0].n != 1000 {
		t.Errorf("the lenient subscriber printed %v, want only event 1000", lenient.stdout)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRunningCommandsFollowRotation: a running `publish --stdin` and a running `register`
// take up a rotation of their keystore without a restart. The callee rotates first and
// answers a caller still on generation 1 with generation 1 (the reply is sealed with the
// generation that opened the call), then the caller rotates; the publisher rotates
// between two lines of its input, and the subscriber opens the first line with
// generation 1 and the second with generation 2.
func TestRunningCommandsFollowRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p1, p2 := newParty(t, dir, "originator-1"), newParty(t, dir, "originator-2")
	s1, s2 := newParty(t, dir, "responder-1"), newParty(t, dir, "responder-2")
	origKS, respKS := filepath.Join(dir, "orig.ks"), filepath.Join(dir, "resp.ks")
	cbxOK(t, "", "--keystore", origKS, "keys", "add", securePrefix, "--originator-priv", p1.keyFile, "--responder-pub", s1.pub)
	cbxOK(t, "", "--keystore", respKS, "keys", "add", securePrefix, "--responder-priv", s1.keyFile, "--originator-pub", p1.pub)
	url, _ := startInteropRouter(t)

	// The callee rotates while it serves; the caller has not yet.
	proc := secureNS + ".follow.echo"
	reg := startCbx(t, "--keystore", respKS, "register", proc, "--echo", "-v", "--timeout", "60s", "--url", url)
	reg.waitStderr(t, `cbx: registered "`+proc+`"`)
	cbxOK(t, "", "--keystore", respKS, "keys", "rotate", securePrefix, "--responder-priv", s2.keyFile, "--originator-pub", p2.pub)
	reg.waitStderr(t, `cbx: keystore "`+respKS+`" reloaded`)
	out, _ := cbxExit(t, 0, "--keystore", origKS, "call", proc, "before", "--details", "--url", url)
	res := oneLine(t, out)
	key, _ := res["key"].(map[string]any)
	details, _ := res["details"].(map[string]any)
	if key["generation"] != int64(1) || details["enc_key"] != p1.fp {
		t.Errorf("the caller on generation 1 got %v; want its generation 1 to open the result, named by its key id", res)
	}
	cbxOK(t, "", "--keystore", origKS, "keys", "rotate", securePrefix, "--originator-priv", p2.keyFile, "--responder-pub", s2.pub)
	out, _ = cbxExit(t, 0, "--keystore", origKS, "call", proc, "after", "--details", "--url", url)
	if key, _ := oneLine(t, out)["key"].(map[string]any); key["generation"] != int64(2) {
		t.Errorf("after both rotated, the result was opened by %v", key)
	}
	reg.interrupt(t)

	// A running publish --stdin: one line, the publisher's rotation, another line.
	topic := secureNS + ".follow.t"
	origKS2, respKS2 := filepath.Join(dir, "orig2.ks"), filepath.Join(dir, "resp2.ks")
	cbxOK(t, "", "--keystore", origKS2, "keys", "add", securePrefix, "--originator-priv", p1.keyFile, "--responder-pub", s1.pub)
	cbxOK(t, "", "--keystore", respKS2, "keys", "add", securePrefix, "--responder-priv", s1.keyFile, "--originator-pub", p1.pub)
	cbxOK(t, "", "--keystore", respKS2, "keys", "rotate", securePrefix, "--responder-priv", s2.keyFile, "--originator-pub", p2.pub)
	sub := startCbx(t, "--keystore", respKS2, "subscribe", topic, "--details", "--require-encrypted", "--count", "2", "-v", "--timeout", "60s", "--url", url)
	sub.waitStderr(t, `cbx: subscribed to "`+topic+`"`)
	var stdin io.WriteCloser
	pub := startBgWith(t, "cbx publish --stdin", interopEnv(), func(c *exec.Cmd) {
		var err error
		if stdin, err = c.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}, cbxPath(t), "--keystore", origKS2, "publish", topic, "--stdin", "-v", "--ack", "--url", url)
	io.WriteString(stdin, `["first"]`+"\n")
	waitFor(t, sub.stdout, sub.exited, "the first event", func(s string) bool { return strings.Contains(s, `"first"`) })
	cbxOK(t, "", "--keystore", origKS2, "keys", "rotate", securePrefix, "--originator-priv", p2.keyFile, "--responder-pub", s2.pub)
	pub.waitStderr(t, `cbx: keystore "`+origKS2+`" reloaded`)
	io.WriteString(stdin, `["second"]`+"\n")
	stdin.Close()
	pub.waitExit(t, 0)
	sub.waitExit(t, 0)
	gens := map[string]any{}
	for _, l := range stdoutLines(sub.stdout.String()) {
		m := decodeLine(t, []byte(l))
		args, _ := m["args"].([]any)
		key, _ := m["key"].(map[string]any)
		if len(args) == 1 {
			gens[fmt.Sprint(args[0])] = key["generation"]
		}
	}
	if gens["first"] != int64(1) || gens["second"] != int64(2) {
		t.Errorf("publish --stdin's events were opened by generations %v; want first 1, second 2", gens)
	}
}
