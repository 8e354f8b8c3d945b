package main

// What cbx call and cbx register do with a reply that is not what the sealed request
// promised: a RESULT or ERROR sealed for another URI (exit 4), sealed with another key
// (exit 3), or sent in plaintext on a keyed URI (exit 3 with --require-encrypted), and an
// Autobahn caller's view of a sealed error from cbx register --exec. The callees are
// Autobahn|Python peers (testdata/autobahn/peer.py with --liar, --plain-replies or
// CBX_PY_REPLY_KEYS) and, where no Python is needed, Go sessions with a test codec. The
// harness is interop_autobahn_test.go's.

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/testkit"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// startPeerReplyKeys is startPeer with CBX_PY_REPLY_KEYS: the KeyRing that seals the
// callee's replies (peer.py's module docstring).
func startPeerReplyKeys(t *testing.T, url string, keys, replyKeys []pyKey, args ...string) *bgProc {
	t.Helper()
	kj, err := json.Marshal(keys)
	if err != nil {
		t.Fatal(err)
	}
	rj, err := json.Marshal(replyKeys)
	if err != nil {
		t.Fatal(err)
	}
	argv := append([]string{testkit.NeedAutobahnPython(t), filepath.Join("testdata", "autobahn", "peer.py"), "--url", url, "--serializer", "json"}, args...)
	return startBg(t, "autobahn peer", interopEnv("CBX_PY_KEYS="+string(kj), "CBX_PY_REPLY_KEYS="+string(rj)), argv...)
}

// assertInvocationsSealed checks that the Autobahn callee received n sealed INVOCATIONs
// and opened every one: the caller's CALL was sealed and right, only the reply was not.
func assertInvocationsSealed(t *testing.T, callee *bgProc, n int) {
	t.Helper()
	assertRawSealed(t, callee, "INVOCATION", n)
	inv := peerLines(t, callee, "invocation")
	if len(inv) != n {
		t.Fatalf("Autobahn callee ran %d procedures, want %d:\n%s", len(inv), n, callee.stdout)
	}
	for _, i := range inv {
		if i["enc_algo"] != "cryptobox" {
			t.Errorf("Autobahn callee got an unsealed invocation: %v", i)
		}
	}
}

// TestInteropCbxCallLiarCallee: an Autobahn callee whose KeyRing seals its replies for
// another URI under the same key (L9 on the reply side). cbx call opens each reply, finds
// the inner URI is not the procedure (RESULT) or the error URI (ERROR), and exits 4 without
// printing the payload, for a final result, a sealed error and a progressive result alike.
func TestInteropCbxCallLiarCallee(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)
	url, _ := startInteropRouter(t)
	other := secureNS + ".other" // under the keyed prefix, so the liar's KeyRing seals
	// Three final replies: add2's YIELD, failme's ERROR, countdown's last YIELD.
	callee := startPeer(t, url, "json", keys.pyResponder(), "--register", secureNS, "--liar", other, "--count", "3")
	waitPeer(t, callee, "ready")

	for _, tc := range []struct {
		name, envelope string
		args           []string
	}{
		{"result", secureNS + ".add2", []string{secureNS + ".add2", "23", "7"}},
		{"sealed_error", secureNS + ".error.x", []string{secureNS + ".failme", "x"}},
		{"progressive_result", secureNS + ".countdown", []string{secureNS + ".countdown", "--progress"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut := cbxExit(t, exitURIMismatch, append([]string{"--keystore", keys.origKS, "call", "--url", url}, tc.args...)...)
			if out != "" {
				t.Errorf("stdout %q, want nothing: a reply sealed for another URI is not printed", out)
			}
			want := `sealed for "` + other + `" but arrived on "` + tc.envelope + `" (trusted URI mismatch)`
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr does not name the mismatch %q:\n%s", want, errOut)
			}
			if strings.Contains(errOut, `{"error"`) {
				t.Errorf("cbx call printed the payload of a refused error:\n%s", errOut)
			}
		})
	}
	finishPeer(t, callee)
	assertInvocationsSealed(t, callee, 3)
	for _, inv := range peerLines(t, callee, "invocation") {
		if inv["proc"] == secureNS+".countdown" && inv["progressive"] != true {
			t.Errorf("countdown was not called with progressive results: %v", inv)
		}
	}
}

// TestInteropCbxCallUndecryptableReply: an Autobahn callee that opens the sealed CALL with
// the right key but seals its replies with another key pair (CBX_PY_REPLY_KEYS: Mallory's
// private key). The caller's box does not open them: exit 3, for a result, a sealed error
// and a progressive result.
func TestInteropCbxCallUndecryptableReply(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)
	mallory := newParty(t, keys.dir, "mallory")
	url, _ := startInteropRouter(t)
	replyKeys := []pyKey{{securePrefix, "responder", mallory.privB64, keys.orig.pub}}
	callee := startPeerReplyKeys(t, url, keys.pyResponder(), replyKeys, "--register", secureNS, "--count", "3")
	waitPeer(t, callee, "ready")

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"result", []string{secureNS + ".add2", "23", "7"}},
		{"sealed_error", []string{secureNS + ".failme", "x"}},
		{"progressive_result", []string{secureNS + ".countdown", "--progress"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut := cbxExit(t, exitDecrypt, append([]string{"--keystore", keys.origKS, "call", "--url", url}, tc.args...)...)
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, "could not be decrypted") {
				t.Errorf("stderr does not say the reply could not be decrypted:\n%s", errOut)
			}
		})
	}
	finishPeer(t, callee)
	assertInvocationsSealed(t, callee, 3)
}

// TestInteropCbxCallRequireEncryptedPlainReply: an Autobahn callee that opens the sealed
// CALL but whose KeyRing.encode returns None for replies, so Autobahn answers in
// plaintext (protocol.py's fallback). By default cbx call prints such a result with
// "sealed":false; with --require-encrypted a plaintext result, error or progressive result
// on a URI the keystore covers is exit 3, and nothing of it is printed.
func TestInteropCbxCallRequireEncryptedPlainReply(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)
	url, _ := startInteropRouter(t)
	callee := startPeer(t, url, "json", keys.pyResponder(), "--register", secureNS, "--plain-replies", "--count", "4")
	waitPeer(t, callee, "ready")
	call := func(t *testing.T, want int, args ...string) (string, string) {
		t.Helper()
		return cbxExit(t, want, append([]string{"--keystore", keys.origKS, "call", "--url", url}, args...)...)
	}

	// The control: without --require-encrypted the plaintext result is accepted and
	// marked as such. This also proves the callee really answered in plaintext.
	out, _ := call(t, 0, secureNS+".add2", "23", "7")
	if got := strings.TrimSpace(out); got != `{"sealed":false,"progress":false,"args":[30],"kwargs":{}}` {
		t.Errorf("add2 without --require-encrypted printed %s", got)
	}

	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"result", `plaintext result on "` + secureNS + `.add2", which the keystore covers (--require-encrypted)`,
			[]string{secureNS + ".add2", "23", "7"}},
		{"error", `plaintext error on "` + secureNS + `.error.x", which the keystore covers (--require-encrypted)`,
			[]string{secureNS + ".failme", "x"}},
		{"progressive_result", `plaintext result on "` + secureNS + `.countdown", which the keystore covers (--require-encrypted)`,
			[]string{secureNS + ".countdown", "--progress"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut := call(t, exitDecrypt, append([]string{"--require-encrypted"}, tc.args...)...)
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, errOut)
			}
			if strings.Contains(errOut, "failed on purpose") {
				t.Errorf("cbx call printed the plaintext error's payload:\n%s", errOut)
			}
		})
	}
	finishPeer(t, callee)
	assertInvocationsSealed(t, callee, 4)
}

// replyCodec is a callee's codec that opens sealed calls with the right keys (open) but
// seals its replies (YIELD, ERROR: originating false) with seal, or sends them in
// plaintext when seal is nil. It never touches originating payloads: the session is only
// a callee.
type replyCodec struct {
	open *e2e.Codec
	seal *e2e.Codec
}

var _ wamp.PayloadCodec = (*replyCodec)(nil)

func (c *replyCodec) Seal(originating bool, uri string, args wamp.List, kwargs wamp.Dict) (wamp.Payload, wamp.Dict, bool, error) {
	if c.seal == nil {
		return wamp.Payload{}, nil, false, nil
	}
	return c.seal.Seal(originating, uri, args, kwargs)
}

func (c *replyCodec) Sealed(p wamp.Payload, details wamp.Dict) bool { return c.open.Sealed(p, details) }

func (c *replyCodec) Open(originating bool, uri string, p wamp.Payload, details wamp.Dict) (wamp.List, wamp.Dict, wamp.Dict, error) {
	return c.open.Open(originating, uri, p, details)
}

func loadCodec(t *testing.T, path string) *e2e.Codec {
	t.Helper()
	ks, err := keystore.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return e2e.NewCodec(ks, path, e2e.WireLegacy)
}

// goEchoCallee joins url with codec and registers proc as an echo; every invocation's
// Sealed flag is sent on the returned channel (buffered, so the handler never blocks).
func goEchoCallee(t *testing.T, url, proc string, codec wamp.PayloadCodec) <-chan bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopWait)
	defer cancel()
	c, err := wamp.Dial(ctx, url, wamp.DialOptions{Serializers: []wamp.Serializer{wamp.JSON}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := wamp.Join(ctx, c, wamp.Config{Realm: "realm1", Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	sealed := make(chan bool, 16)
	_, err = s.Register(ctx, proc, nil, func(_ context.Context, inv *wamp.InvocationInfo) (*wamp.YieldResult, error) {
		sealed <- inv.Sealed
		return &wamp.YieldResult{Args: inv.Args, Kwargs: inv.Kwargs}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

// assertOneSealedInvocation checks that the Go callee ran exactly once, on a sealed call.
func assertOneSealedInvocation(t *testing.T, sealed <-chan bool) {
	t.Helper()
	select {
	case s := <-sealed:
		if !s {
			t.Errorf("the callee got a plaintext call; the caller's CALL should have been sealed")
		}
	default:
		t.Fatal("the callee's handler never ran")
	}
	select {
	case <-sealed:
		t.Error("the callee's handler ran more than once")
	default:
	}
}

// TestCbxCallReplyFromGoCallee is the Go-only counterpart of the two tests above (no
// Python needed): a callee that opens the sealed CALL with its right key and then seals
// the RESULT with Mallory's key (exit 3, "could not be decrypted"), or answers in
// plaintext (exit 3 with --require-encrypted). The control subtest, the same callee
// sealing with its own key, proves the harness and not the key is what is being varied.
func TestCbxCallReplyFromGoCallee(t *testing.T) {
	t.Parallel()
	keys := newInteropKeys(t)
	mallory := newParty(t, keys.dir, "mallory")
	cbxOK(t, "", "--keystore", mallory.keystore, "keys", "add", securePrefix, "--responder-priv", mallory.keyFile, "--originator-pub", keys.orig.pub)
	proc := secureNS + ".echo"

	t.Run("control_right_key", func(t *testing.T) {
		t.Parallel()
		url, _ := startInteropRouter(t)
		right := loadCodec(t, keys.respKS)
		sealed := goEchoCallee(t, url, proc, &replyCodec{open: right, seal: right})
		out, _ := cbxExit(t, 0, "--keystore", keys.origKS, "call", proc, "hi", "--require-encrypted", "--url", url)
		if got := strings.TrimSpace(out); got != `{"sealed":true,"progress":false,"args":["hi"],"kwargs":{}}` {
			t.Errorf("cbx call printed %s", got)
		}
		assertOneSealedInvocation(t, sealed)
	})

	t.Run("result_sealed_with_another_key_exits_3", func(t *testing.T) {
		t.Parallel()
		url, _ := startInteropRouter(t)
		sealed := goEchoCallee(t, url, proc, &replyCodec{open: loadCodec(t, keys.respKS), seal: loadCodec(t, mallory.keystore)})
		out, errOut := cbxExit(t, exitDecrypt, "--keystore", keys.origKS, "call", proc, "hi", "--url", url)
		if out != "" || !strings.Contains(errOut, "could not be decrypted") {
			t.Errorf("stdout %q, stderr:\n%s", out, errOut)
		}
		assertOneSealedInvocation(t, sealed)
	})

	t.Run("plaintext_result_require_encrypted_exits_3", func(t *testing.T) {
		t.Parallel()
		url, _ := startInteropRouter(t)
		sealed := goEchoCallee(t, url, proc, &replyCodec{open: loadCodec(t, keys.respKS)})
		out, errOut := cbxExit(t, exitDecrypt, "--keystore", keys.origKS, "call", proc, "hi", "--require-encrypted", "--url", url)
		if out != "" || !strings.Contains(errOut, `plaintext result on "`+proc+`", which the keystore covers (--require-encrypted)`) {
			t.Errorf("stdout %q, stderr:\n%s", out, errOut)
		}
		assertOneSealedInvocation(t, sealed)
		// Without --require-encrypted the same reply is printed, marked unsealed.
		out, _ = cbxExit(t, 0, "--keystore", keys.origKS, "call", proc, "hi", "--url", url)
		if got := strings.TrimSpace(out); got != `{"sealed":false,"progress":false,"args":["hi"],"kwargs":{}}` {
			t.Errorf("cbx call without --require-encrypted printed %s", got)
		}
		assertOneSealedInvocation(t, sealed)
	})
}

// TestInteropAutobahnCallerSealedExecError is L3's error path: cbx register --exec whose
// command prints a JSON error object under the keyed prefix and exits non-zero. The
// Autobahn caller receives a bare sealed ERROR and opens it to the command's URI, args and
// kwargs; nothing of them crosses the router in plaintext.
func TestInteropAutobahnCallerSealedExecError(t *testing.T) {
	testkit.NeedAutobahnPython(t)
	t.Parallel()
	keys := newInteropKeys(t)
	url, trace := startInteropRouter(t)
	proc, errURI := secureNS+".fail", secureNS+".error.x"
	script := `echo '{"error":"` + errURI + `","args":["err-s3cret",7,"\u0000AAH+/w=="],"kwargs":{"why":"kw-err-s3cret","n":{"deep":[true,null]}}}'; exit 3`
	reg := startCbx(t, "--keystore", keys.respKS, "register", proc, "--exec", script, "--count", "1", "--timeout", "30s", "-v", "--url", url)
	reg.waitStderr(t, `cbx: registered "`+proc+`"`)
	caller := startPeer(t, url, "json", keys.pyOriginator(), "--call", `{"proc":"`+proc+`","args":["in-s3cret"]}`)
	finishPeer(t, caller)
	reg.waitExit(t, 0)

	e := onlyPeerLine(t, caller, "error")
	if e["error"] != errURI {
		t.Errorf("Autobahn caller got error %v, want %s", e["error"], errURI)
	}
	assertPayload(t, "Autobahn caller's error", e["args"], e["kwargs"],
		[]any{"err-s3cret", int64(7), []byte{0x00, 0x01, 0xfe, 0xff}},
		map[string]any{"why": "kw-err-s3cret", "n": map[string]any{"deep": []any{true, nil}}})
	assertRawSealed(t, caller, "ERROR", 1)
	if len(peerLines(t, caller, "result")) != 0 {
		t.Errorf("Autobahn caller also got a result:\n%s", caller.stdout)
	}
	if !strings.Contains(reg.stderr.String(), `cbx: warning: --exec failed for a call to "`+proc+`": exit status 3`) {
		t.Errorf("cbx register did not report the failed command:\n%s", reg.stderr)
	}
	errs := waitTrace(t, trace, 1, "tx", "json", "ERROR")
	if len(errs) != 1 || !strings.Contains(errs[0], `error="`+errURI+`"`) {
		t.Fatalf("want one ERROR %s sent to the caller, got:\n%s", errURI, strings.Join(errs, "\n"))
	}
	assertSealedTrace(t, errs[0])
	assertNoPlaintext(t, trace.String(), "err-s3cret", "kw-err-s3cret", "in-s3cret")
}
