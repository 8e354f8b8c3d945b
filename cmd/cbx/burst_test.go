package main

// Bursts through `cbx router` with its default flags (issue 8, "A router that absorbs
// bursts"): what cbx publish --stdin sends as fast as it can read must reach every
// subscriber that keeps up on average, whatever its serializer, and Autobahn|Python's too.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// burstInput is n lines for cbx publish --stdin, each a JSON array of about 100 bytes:
// the event's number and padding.
func burstInput(n int) string {
	var b strings.Builder
	pad := strings.Repeat("x", 80)
	for i := range n {
		fmt.Fprintf(&b, "[%d,%q]\n", i, pad)
	}
	return b.String()
}

// publishStdin runs `cbx publish TOPIC --stdin` as a subprocess (as a user's shell does)
// with input on its standard input, and waits for it to exit 0.
func publishStdin(t *testing.T, url, ks, topic, input string, extra ...string) {
	t.Helper()
	cmd := exec.Command(cbxPath(t), append([]string{"publish", topic, "--stdin", "--url", url, "--keystore", ks, "--timeout", "120s"}, extra...)...)
	cmd.Env = interopEnv()
	cmd.Stdin = strings.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cbx publish --stdin: %v\nstderr:\n%s", err, stderr.String())
	}
}

// checkBurstLines checks that stdout holds exactly the events 0 … n-1 of burstInput, in
// order, as cbx subscribe prints them.
func checkBurstLines(t *testing.T, who, stdout string, n int) {
	t.Helper()
	lines := stdoutLines(stdout)
	if len(lines) != n {
		t.Fatalf("%s received %d of %d events", who, len(lines), n)
	}
	for i, l := range lines {
		var ev struct {
			Args []any `json:"args"`
		}
		d := json.NewDecoder(strings.NewReader(l))
		d.UseNumber()
		if err := d.Decode(&ev); err != nil || len(ev.Args) != 2 || fmt.Sprint(ev.Args[0]) != fmt.Sprint(i) {
			t.Fatalf("%s: line %d is %q, want event %d", who, i+1, l, i)
		}
	}
}

// A 20,000-event burst from cbx publish --stdin (100 B each, no acknowledgement asked)
// reaches two cbx subscribers, one json and one cbor, completely and in order, through a
// `cbx router` started with no flags but its address. On the old router (a 64-message
// queue per client) each lost about a quarter of them. The same holds sealed, where the
// lines (canonical JSON) go into the plaintexts as they are and the subscribers copy
// them out (wamp.JSONArgsCodec).
func TestBurstReachesEverySubscriber(t *testing.T) {
	t.Parallel()
	const n = 20000
	ks := emptyKeystore(t)
	keys := newInteropKeys(t)
	for _, c := range []struct{ name, topic, pubKS, subKS string }{
		{"plain", "com.example.burst", ks, ks},
		{"sealed", secureNS + ".burst", keys.origKS, keys.respKS},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := startRouterCmd(t)
			var subs []*bgProc
			for _, ser := range []string{"json", "cbor"} {
				sub := startCbx(t, "subscribe", c.topic, "--count", fmt.Sprint(n), "--timeout", "25s", "-v",
					"--url", url, "--keystore", c.subKS, "--serializer", ser)
				sub.name += " (" + ser + ")"
				sub.waitStderr(t, "subscribed to")
				subs = append(subs, sub)
			}
			publishStdin(t, url, c.pubKS, c.topic, burstInput(n))
			for _, sub := range subs {
				if code := sub.wait(t); code != exitOK {
					t.Errorf("%s exited %d after %d of %d events; stderr:\n%s", sub.name, code, len(stdoutLines(sub.stdout.String())), n, sub.stderr)
					continue
				}
				checkBurstLines(t, sub.name, sub.stdout.String(), n)
				if sealed := strings.Count(sub.stdout.String(), `"sealed":true`); c.name == "sealed" && sealed != n {
					t.Errorf("%s: %d of %d events sealed", sub.name, sealed, n)
				}
			}
		})
	}
}

// An Autobahn|Python subscriber receives a 5,000-event burst from cbx publish --stdin
// completely, through cbx's router with its default limits.
func TestBurstReachesAutobahnSubscriber(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	const n = 5000
	url, _ := startInteropRouter(t)
	topic := "com.example.burst.ab"
	sub := startPeer(t, url, "json", nil, "--subscribe", topic, "--count", fmt.Sprint(n), "--timeout", "25")
	waitPeer(t, sub, "ready")
	start := time.Now()
	publishStdin(t, url, emptyKeystore(t), topic, burstInput(n))
	sub.wait(t)
	evs := peerLines(t, sub, "event")
	if len(evs) != n {
		t.Fatalf("Autobahn received %d of %d events", len(evs), n)
	}
	finishPeer(t, sub)
	for i, ev := range evs {
		args, _ := ev["args"].([]any)
		if len(args) != 2 || fmt.Sprint(args[0]) != fmt.Sprint(i) {
			t.Fatalf("Autobahn's event %d is %v, want number %d first", i+1, ev, i)
		}
	}
	t.Logf("%d events in %v", n, time.Since(start))
}
