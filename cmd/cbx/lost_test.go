package main

// Drops that the receiver can see (issue 8): when cbx router drops events for a
// subscriber that stopped reading, the next event it delivers says how many
// (Details._cbx_dropped); cbx subscribe reports that on stderr, and exits 9 when it then
// ends short of --count.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// droppedWarningRE matches cbx subscribe's report of a drop mark.
var droppedWarningRE = regexp.MustCompile(`(?m)^cbx: warning: the router dropped (\d+) event\(s\) for "([^"]+)" before this one$`)

// reportedDrops adds up what cbx subscribe reported on stderr for topic.
func reportedDrops(t *testing.T, stderr, topic string) (sum uint64, lines int) {
	t.Helper()
	for _, m := range droppedWarningRE.FindAllStringSubmatch(stderr, -1) {
		n, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil || n == 0 || m[2] != topic {
			t.Fatalf("bad drop report %q", m[0])
		}
		sum += n
		lines++
	}
	return sum, lines
}

// A cbx subscribe stopped (SIGSTOP) for a few seconds under a steady stream misses
// events, which a router with small limits drops; when it resumes it says how many it
// missed, that number is the router's own count, every published event is either printed
// or reported missing, and ending short of --count at the deadline is exit 9.
func TestStoppedSubscriberReportsDrops(t *testing.T) {
	router := startCbx(t, "router", "--listen", "127.0.0.1:0", "--queue-size", "16", "--queue-bytes", "262144")
	re := regexp.MustCompile(`router listening on (ws://\S+) `)
	url := re.FindStringSubmatch(waitFor(t, router.stderr, router.exited, "the router's listening line", re.MatchString))[1]
	ks := emptyKeystore(t)
	const topic = "com.example.stream"
	sub := startCbx(t, "subscribe", topic, "--count", "1000000", "--timeout", "16s", "-v", "--url", url, "--keystore", ks)
	sub.waitStderr(t, "subscribed to")

	// The stream: 4 KiB events every millisecond or so, numbered.
	ctx := context.Background()
	c, err := wamp.Dial(ctx, url, wamp.DialOptions{Serializers: []wamp.Serializer{wamp.MsgPack}})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := wamp.Join(ctx, c, wamp.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(ctx)
	var published atomic.Int64
	stop := make(chan struct{})
	streamed := make(chan error, 1)
	pad := strings.Repeat("y", 4096)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				streamed <- nil
				return
			case <-tick.C:
			}
			if _, err := pub.Publish(ctx, topic, wamp.Dict{}, wamp.List{i, pad}, nil); err != nil {
				streamed <- err
				return
			}
			published.Add(1)
		}
	}()

	time.Sleep(time.Second) // the stream flows
	if err := sub.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // stopped: socket buffers fill, then the router's queue
	if err := sub.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Resumed: it catches up, and says what it missed while the stream still flows.
	resumed := time.Now()
	waitFor(t, sub.stderr, sub.exited, "the report of missed events", droppedWarningRE.MatchString)
	t.Logf("missed events reported %v after SIGCONT", time.Since(resumed).Round(time.Millisecond))
	time.Sleep(3*time.Second - time.Since(resumed))
	close(stop)
	if err := <-streamed; err != nil {
		t.Fatal(err)
	}
	// Once it has caught up, one last event reaches it and carries the mark for whatever
	// was dropped at the end.
	time.Sleep(time.Second)
	last := published.Load()
	if _, err := pub.Publish(ctx, topic, wamp.Dict{"acknowledge": true}, wamp.List{last, pad}, nil); err != nil {
		t.Fatal(err)
	}
	published.Add(1)
	waitFor(t, sub.stdout, sub.exited, "the last event", func(s string) bool {
		return strings.Contains(s, `"args":[`+strconv.FormatInt(last, 10)+`,`)
	})
	sub.waitExit(t, exitLost)

	// The router's own count, from its closing line.
	if err := router.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	router.waitExit(t, exitOK)
	m := regexp.MustCompile(`router stopped: .* (\d+) dropped`).FindStringSubmatch(router.stderr.String())
	if m == nil {
		t.Fatalf("no closing line from the router:\n%s", router.stderr)
	}
	routerDropped, _ := strconv.ParseUint(m[1], 10, 64)

	reported, lines := reportedDrops(t, sub.stderr.String(), topic)
	printed := uint64(len(stdoutLines(sub.stdout.String())))
	t.Logf("published %d, printed %d, reported missing %d in %d warning(s), the router dropped %d",
		published.Load(), printed, reported, lines, routerDropped)
	if routerDropped == 0 {
		t.Fatalf("the router dropped nothing: the test did not stop the subscriber long enough\nrouter stderr:\n%s", router.stderr)
	}
	if reported != routerDropped {
		t.Errorf("cbx subscribe reported %d missing events, the router dropped %d\nstderr:\n%s", reported, routerDropped, sub.stderr)
	}
	if printed+reported != uint64(published.Load()) {
		t.Errorf("printed %d + reported missing %d != published %d", printed, reported, published.Load())
	}
	wantEnd := "cbx: error: deadline reached after " + strconv.FormatUint(printed, 10) + " of 1000000 events; the router dropped " +
		strconv.FormatUint(reported, 10) + ` event(s) for "` + topic + `": events were lost`
	if !strings.Contains(sub.stderr.String(), wantEnd+"\n") {
		t.Errorf("stderr does not end with %q:\n%s", wantEnd, sub.stderr.String()[max(0, len(sub.stderr.String())-2000):])
	}
}

// markingRouter welcomes every session, confirms its SUBSCRIBE, and then sends it one
// EVENT per entry of details, numbered from 0 in args, each with those Details.
func markingRouter(t *testing.T, details ...wamp.Dict) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := wamp.Accept(w, r, wamp.AcceptOptions{})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			m, err := c.Recv()
			if err != nil {
				return
			}
			switch m := m.(type) {
			case *wamp.Hello:
				c.Send(&wamp.Welcome{Session: 1, Details: wamp.Dict{"roles": wamp.Dict{"broker": wamp.Dict{}, "dealer": wamp.Dict{}}}})
			case *wamp.Subscribe:
				c.Send(&wamp.Subscribed{Request: m.Request, Subscription: 5})
				for i, d := range details {
					c.Send(&wamp.Event{Subscription: 5, Publication: wamp.ID(100 + i), Details: d, Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
				}
			case *wamp.Goodbye:
				c.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: "wamp.close.goodbye_and_out"})
				return
			}
		}
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
}

// cbx subscribe's side of the drop mark, against a scripted router: the warning, the
// mark in --details, exit 9 only when the run ends short after a mark, and values under
// the key that are no count of cbx router's left alone.
func TestSubscribeDropMark(t *testing.T) {
	t.Parallel()
	ks := emptyKeystore(t)
	const topic = "com.example.marked"
	warn := func(n int) string {
		return "cbx: warning: the router dropped " + strconv.Itoa(n) + ` event(s) for "` + topic + `" before this one` + "\n"
	}

	t.Run("reported", func(t *testing.T) {
		t.Parallel()
		url := markingRouter(t, wamp.Dict{}, wamp.Dict{wamp.OptCBXDropped: int64(3)}, wamp.Dict{wamp.OptCBXDropped: int64(2)})
		out, errOut := cbxExit(t, exitOK, "subscribe", topic, "--count", "3", "--details", "--timeout", "10s", "--url", url, "--keystore", ks)
		if errOut != warn(3)+warn(2) {
			t.Errorf("stderr:\n%s\nwant:\n%s", errOut, warn(3)+warn(2))
		}
		lines := stdoutLines(out)
		if len(lines) != 3 || !strings.Contains(lines[1], `"details":{"_cbx_dropped":3}`) || strings.Contains(lines[0], wamp.OptCBXDropped) {
			t.Errorf("--details output:\n%s", out)
		}
	})
	t.Run("short after drops is exit 9", func(t *testing.T) {
		t.Parallel()
		url := markingRouter(t, wamp.Dict{wamp.OptCBXDropped: int64(7)})
		_, errOut := cbxExit(t, exitLost, "subscribe", topic, "--count", "3", "--timeout", "1s", "--url", url, "--keystore", ks)
		want := warn(7) + `cbx: error: deadline reached after 1 of 3 events; the router dropped 7 event(s) for "` + topic + `": events were lost` + "\n" +
			"cbx: hint: the subscriber did not read fast enough, or was stopped; cbx router's --queue-size and --queue-bytes bound what waits for a subscriber\n"
		if errOut != want {
			t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
		}
	})
	t.Run("short without drops is exit 8", func(t *testing.T) {
		t.Parallel()
		url := markingRouter(t, wamp.Dict{})
		cbxExit(t, exitTimeout, "subscribe", topic, "--count", "3", "--timeout", "1s", "--url", url, "--keystore", ks)
	})
	t.Run("not a count", func(t *testing.T) {
		t.Parallel()
		url := markingRouter(t, wamp.Dict{wamp.OptCBXDropped: "3"}, wamp.Dict{wamp.OptCBXDropped: int64(-1)}, wamp.Dict{wamp.OptCBXDropped: int64(0)})
		_, errOut := cbxExit(t, exitTimeout, "subscribe", topic, "--count", "4", "--timeout", "1s", "--url", url, "--keystore", ks)
		if strings.Contains(errOut, "warning") || strings.Contains(errOut, "lost") {
			t.Errorf("a value that is no count was taken for one:\n%s", errOut)
		}
	})
}
