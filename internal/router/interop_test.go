package router

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cbx-wamp/cbx/internal/testkit"
)

// Interop tests with independent peers through the router: Debian's Autobahn|Python
// 22.7.1 on both ends (testdata/abpeer.py) and AutobahnJS from npm (testdata/jspeer.mjs).
// testkit.NeedAutobahnPython and testkit.NeedAutobahnJS find the peers, or skip the
// tests without them (fail them when CI=true).

const peerTimeout = 60 * time.Second // bound on one peer process

// peerProc is one running peer process whose stdout is JSON lines.
type peerProc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan map[string]any // every line, in order; closed at EOF
	mu     sync.Mutex
	all    []map[string]any
	stderr strings.Builder
	done   chan error
}

func startPeer(t *testing.T, ctx context.Context, name string, argv ...string) *peerProc {
	t.Helper()
	p := &peerProc{name: name, lines: make(chan map[string]any, 256), done: make(chan error, 1)}
	p.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	p.cmd.Stderr = &lockedWriter{w: &p.stderr, mu: &p.mu}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"event": "unparsable", "line": sc.Text()}
			}
			p.mu.Lock()
			p.all = append(p.all, m)
			p.mu.Unlock()
			p.lines <- m
		}
		close(p.lines)
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stdin.Close()
		if p.cmd.Process != nil {
			p.cmd.Process.Kill()
		}
	})
	return p
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// waitFor reads lines until one has event == ev; a "failure" line or EOF fails the test.
func (p *peerProc) waitFor(t *testing.T, ev string) {
	t.Helper()
	timeout := time.After(peerTimeout)
	for {
		select {
		case m, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s exited before %q; stderr:\n%s", p.name, ev, p.stderrText())
			}
			if m["event"] == "failure" || m["event"] == "unparsable" {
				t.Fatalf("%s: %v; stderr:\n%s", p.name, m, p.stderrText())
			}
			if m["event"] == ev {
				return
			}
		case <-timeout:
			t.Fatalf("%s: no %q within %v; stderr:\n%s", p.name, ev, peerTimeout, p.stderrText())
		}
	}
}

// finish closes stdin and waits for the process to exit; it returns every line.
func (p *peerProc) finish(t *testing.T) []map[string]any {
	t.Helper()
	p.stdin.Close()
	for range p.lines {
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s: %v; stderr:\n%s", p.name, err, p.stderrText())
		}
	case <-time.After(peerTimeout):
		t.Fatalf("%s did not exit", p.name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all
}

func (p *peerProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// pick returns the lines with the given event (and proc, if not empty).
func pick(lines []map[string]any, event, proc string) []map[string]any {
	var out []map[string]any
	for _, l := range lines {
		if l["event"] == event && (proc == "" || l["proc"] == proc) {
			out = append(out, l)
		}
	}
	return out
}

// jsonValue is v as it comes back through encoding/json, for comparisons with lines.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(s string) map[string]any {
	return map[string]any{"$bytes": base64.StdEncoding.EncodeToString([]byte(s))}
}

func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	w := jsonValue(t, want)
	if !reflect.DeepEqual(got, w) {
		t.Errorf("%s = %v, want %v", what, got, w)
	}
}

// TestAutobahnPython runs Autobahn|Python publisher/caller and subscriber/callee through
// the router: plaintext, and sealed with Autobahn's own KeyRing, over every serializer
// and mixed pairs. Scenarios run in parallel on one router, each in its own URI namespace.
func TestAutobahnPython(t *testing.T) {
	python := testkit.NeedAutobahnPython(t)
	keys := testkit.CryptoboxVectorsPath(t)
	script, err := filepath.Abs("testdata/abpeer.py")
	if err != nil {
		t.Fatal(err)
	}
	trace := &syncBuffer{}
	srv, _, _ := testServer(t, Config{Trace: trace})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	url := wsURL(ts)

	type scenario struct {
		name, orig, resp string
		sealed           bool
		marker           string
	}
	scenarios := []scenario{
		{name: "plain-json", orig: "json", resp: "json"},
		{name: "plain-msgpack-cbor", orig: "msgpack", resp: "cbor"},
		{name: "sealed-json", orig: "json", resp: "json", sealed: true},
		{name: "sealed-msgpack", orig: "msgpack", resp: "msgpack", sealed: true},
		{name: "sealed-cbor", orig: "cbor", resp: "cbor", sealed: true},
		{name: "sealed-json-msgpack", orig: "json", resp: "msgpack", sealed: true},
		{name: "sealed-cbor-json", orig: "cbor", resp: "json", sealed: true},
	}
	for i := range scenarios {
		// A marker no URI contains, so that the trace can be searched for plaintext.
		r := make([]byte, 6)
		rand.Read(r)
		scenarios[i].marker = "MARK" + hex.EncodeToString(r)
	}
	t.Run("group", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				ns := "com.example.plain." + strings.ReplaceAll(sc.name, "-", "_")
				keyArg := ""
				if sc.sealed {
					ns = "com.example.secure." + strings.ReplaceAll(sc.name, "-", "_")
					keyArg = keys
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*peerTimeout)
				defer cancel()
				args := func(role, ser string) []string {
					return []string{python, script, "--url", url, "--serializer", ser, "--role", role,
						"--ns", ns, "--marker", sc.marker, "--keys", keyArg}
				}
				resp := startPeer(t, ctx, "responder", args("responder", sc.resp)...)
				resp.waitFor(t, "ready")
				orig := startPeer(t, ctx, "originator", args("originator", sc.orig)...)
				orig.waitFor(t, "done")
				origLines := orig.finish(t)
				respLines := resp.finish(t)
				checkPythonScenario(t, ns, sc.marker, sc.sealed, origLines, respLines)
			})
		}
	})

	// The router's trace shows every sealed payload as opaque bytes and none of the
	// sealed scenarios' plaintext, while the plain scenarios' arguments do appear.
	text := trace.String()
	for _, sc := range scenarios {
		if sc.sealed && strings.Contains(text, sc.marker) {
			t.Errorf("trace shows plaintext of sealed scenario %s", sc.name)
		}
		if !sc.sealed && !strings.Contains(text, sc.marker+"-hello") {
			t.Errorf("trace lacks the plain arguments of %s", sc.name)
		}
	}
	if !containsLine(text, "rx ", "PUBLISH", "com.example.secure.sealed_cbor_json.topic", "enc_algo:\"cryptobox\"", "payload=<sealed ") {
		t.Errorf("trace lacks a sealed PUBLISH line")
	}
	if !containsLine(text, "tx ", "msgpack EVENT", "payload=<sealed ") {
		t.Errorf("trace lacks a sealed EVENT to a msgpack session")
	}
	if st := srv.Stats(); st.Sealed == 0 || st.Dropped != 0 || st.Aborted != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func checkPythonScenario(t *testing.T, ns, marker string, sealed bool, orig, resp []map[string]any) {
	t.Helper()
	var encAlgo any // what details.enc_algo must be: "cryptobox" when sealed, null otherwise
	if sealed {
		encAlgo = "cryptobox"
	}

	// Subscriber side: both events, decrypted by Autobahn, with details.enc_algo.
	events := pick(resp, "event", "")
	if len(events) != 2 {
		t.Fatalf("responder got %d events, want 2: %v", len(events), events)
	}
	byTopic := map[any]map[string]any{}
	for _, e := range events {
		byTopic[e["topic"]] = e
		checkEqual(t, "event enc_algo", e["enc_algo"], encAlgo)
	}
	exact := byTopic[ns+".topic"]
	if exact == nil {
		t.Fatalf("no exact-subscription event: %v", events)
	}
	checkEqual(t, "event args", exact["args"], []any{marker + "-hello", 42})
	checkEqual(t, "event kwargs", exact["kwargs"], map[string]any{"k": marker + "-kw", "bin": b64("\x00\xffbin")})
	// Autobahn reports the subscribed pattern unless the router sent details.topic.
	pfx := byTopic[ns+".pfx.sub1"]
	if pfx == nil {
		t.Fatalf("no prefix-subscription event with details.topic %s.pfx.sub1: %v", ns, events)
	}
	checkEqual(t, "prefix event args", pfx["args"], []any{marker + "-prefix"})

	// Callee side.
	for _, proc := range []string{"add2", "failme", "progress", "echo"} {
		inv := pick(resp, "invocation", proc)
		if len(inv) != 1 {
			t.Errorf("%s invoked %d times", proc, len(inv))
			continue
		}
		checkEqual(t, proc+" invocation enc_algo", inv[0]["enc_algo"], encAlgo)
	}
	if inv := pick(resp, "invocation", "add2"); len(inv) == 1 {
		checkEqual(t, "add2 args", inv[0]["args"], []any{23, 7})
	}
	if inv := pick(resp, "invocation", "progress"); len(inv) == 1 && inv[0]["progressive"] != true {
		t.Errorf("progress was invoked without receive_progress: %v", inv[0])
	}

	// Caller side.
	results := map[any]map[string]any{}
	for _, r := range pick(orig, "result", "") {
		results[r["proc"]] = r
	}
	checkEqual(t, "add2 result", results["add2"]["value"], 30)
	checkEqual(t, "progress result", results["progress"]["value"], marker+"-final")
	checkEqual(t, "progress steps", results["progress"]["progress"],
		[]any{[]any{0, marker + "-step"}, []any{1, marker + "-step"}, []any{2, marker + "-step"}})
	checkEqual(t, "echo result", results["echo"]["value"], []any{marker + "-echo", b64("\x01\x02")})
	checkEqual(t, "echo kwresult", results["echo"]["kwargs"], map[string]any{"k": map[string]any{"nested": []any{marker + "-deep"}}})
	errs := pick(orig, "error", "failme")
	if len(errs) != 1 {
		t.Fatalf("failme errors: %v", errs)
	}
	checkEqual(t, "failme error", errs[0]["error"], ns+".error.oops")
	checkEqual(t, "failme args", errs[0]["args"], []any{marker + "-err", 7})
	checkEqual(t, "failme kwargs", errs[0]["kwargs"], map[string]any{"why": marker + "-why"})

	// What the router delivered, before Autobahn decrypted it: sealed messages in the
	// bare form with enc_algo, exactly as from Crossbar; plaintext ones without.
	wantRaw := map[string]int{"EVENT": 2, "INVOCATION": 4}
	checkRaw(t, "responder", resp, wantRaw, sealed)
	// RESULTs: add2, 3 progress + final, echo; ERROR: failme.
	checkRaw(t, "originator", orig, map[string]int{"RESULT": 6, "ERROR": 1}, sealed)
}

func checkRaw(t *testing.T, who string, lines []map[string]any, want map[string]int, sealed bool) {
	t.Helper()
	got := map[string]int{}
	for _, r := range pick(lines, "raw", "") {
		typ, _ := r["type"].(string)
		got[typ]++
		if sealed && (r["enc_algo"] != "cryptobox" || r["enc_serializer"] != "json" || r["bare"] != true) {
			t.Errorf("%s received a %s that is not in Crossbar's sealed form: %v", who, typ, r)
		}
		if !sealed && (r["enc_algo"] != nil || r["bare"] != false) {
			t.Errorf("%s received a plaintext %s with sealed markings: %v", who, typ, r)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s received %v, want %v", who, got, want)
	}
}

// jsPeer returns the command line prefix that runs testdata/jspeer.mjs with AutobahnJS.
func jsPeer(t *testing.T) []string {
	t.Helper()
	node, jsdir := testkit.NeedAutobahnJS(t)
	return append(node, "--no-warnings", "testdata/jspeer.mjs", jsdir)
}

// TestAutobahnJS runs AutobahnJS (npm autobahn 26.3.1) peers through the router,
// plaintext pub/sub and RPC, on json and on msgpack→cbor, and an AutobahnJS originator
// against the Autobahn|Python responder.
func TestAutobahnJS(t *testing.T) {
	nodeArgv := jsPeer(t)
	srv, _, _ := testServer(t, Config{})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	url := wsURL(ts)

	for _, sc := range []struct{ name, orig, resp, respImpl string }{
		{"json", "json", "json", "js"},
		{"msgpack-cbor", "msgpack", "cbor", "js"},
		{"js-to-python", "cbor", "json", "python"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			ns := "com.example.js." + strings.ReplaceAll(sc.name, "-", "_")
			marker := "JS" + strings.ReplaceAll(sc.name, "-", "")
			ctx, cancel := context.WithTimeout(context.Background(), 2*peerTimeout)
			defer cancel()
			js := func(role, ser string) []string {
				return append(append([]string{}, nodeArgv...), url, role, ser, ns, marker)
			}
			var respArgv []string
			if sc.respImpl == "python" {
				python := testkit.NeedAutobahnPython(t)
				script, _ := filepath.Abs("testdata/abpeer.py")
				respArgv = []string{python, script, "--url", url, "--serializer", sc.resp, "--role", "responder",
					"--ns", ns, "--marker", marker}
			} else {
				respArgv = js("responder", sc.resp)
			}
			resp := startPeer(t, ctx, "responder", respArgv...)
			resp.waitFor(t, "ready")
			orig := startPeer(t, ctx, "originator", js("originator", sc.orig)...)
			orig.waitFor(t, "done")
			origLines := orig.finish(t)
			respLines := resp.finish(t)

			events := pick(respLines, "event", "")
			if len(events) != 1 {
				t.Fatalf("responder got %d events: %v", len(events), respLines)
			}
			checkEqual(t, "event args", events[0]["args"], []any{marker + "-hello", 42})
			checkEqual(t, "event kwargs", events[0]["kwargs"], map[string]any{"k": marker + "-kw"})
			if inv := pick(respLines, "invocation", "add2"); len(inv) != 1 {
				t.Errorf("add2 invocations: %v", inv)
			} else {
				checkEqual(t, "add2 args", inv[0]["args"], []any{23, 7})
			}
			res := pick(origLines, "result", "add2")
			if len(res) != 1 {
				t.Fatalf("add2 results: %v", origLines)
			}
			checkEqual(t, "add2 result", res[0]["value"], 30)
			errs := pick(origLines, "error", "failme")
			if len(errs) != 1 {
				t.Fatalf("failme errors: %v", origLines)
			}
			checkEqual(t, "failme error", errs[0]["error"], ns+".error.oops")
			checkEqual(t, "failme args", errs[0]["args"], []any{marker + "-err", 7})
			checkEqual(t, "failme kwargs", errs[0]["kwargs"], map[string]any{"why": marker + "-why"})
		})
	}
}
