package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cbx-wamp/cbx/internal/wamp"
)

// maxEnvPayload bounds CBX_ARGS and CBX_KWARGS: the kernel limits the environment, and
// the whole call is on standard input anyway.
const maxEnvPayload = 64 << 10

// execStdoutFactor bounds how much of a command's stdout runExec reads, as a multiple of
// --max-message-size. The result is encoded anew before it is sent (JSON output compactly,
// and msgpack or CBOR can be smaller than JSON text), so output somewhat larger than the
// limit may still fit in a message; four times the limit leaves room for that.
const execStdoutFactor = 4

// maxExecStderr bounds what is kept of a command's stderr (it is only a diagnostic: the
// error's argument and register's warning).
const maxExecStderr = 64 << 10

// cappedBuffer keeps the first max bytes written to it and counts, but discards, the rest;
// onOverflow (if set) runs once, at the first byte beyond max. Writes never fail, so the
// command's pipe keeps being drained until it is stopped or ends.
type cappedBuffer struct {
	buf        bytes.Buffer
	max        int
	total      int64
	onOverflow func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.total += int64(len(p))
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	if b.overflowed() && b.onOverflow != nil {
		stop := b.onOverflow
		b.onOverflow = nil
		stop()
	}
	return len(p), nil
}

func (b *cappedBuffer) overflowed() bool { return b.total > int64(b.max) }

// runExec runs --exec for one invocation. Its stdout is read up to execStdoutFactor ×
// --max-message-size: a command that writes more is stopped (its process group killed)
// and the call answered with wamp.error.payload_size_exceeded, since its result could
// not be sent anyway. Of its stderr the first maxExecStderr bytes are kept, the rest is
// read and discarded (the text says so).
func (f *factory) runExec(ctx context.Context, c *conn, o *registerOptions, inv *wamp.InvocationInfo) (*wamp.YieldResult, error) {
	input, err := objectLine(field{"procedure", inv.Procedure}, field{"sealed", inv.Sealed},
		field{"args", argsOrEmpty(inv.Args)}, field{"kwargs", kwargsOrEmpty(inv.Kwargs)})
	if err != nil {
		return nil, err
	}
	env := append(f.childEnv(), "CBX_PROCEDURE="+inv.Procedure, "CBX_SEALED="+strconv.FormatBool(inv.Sealed))
	argsJSON, _ := marshalOutput(argsOrEmpty(inv.Args))
	kwargsJSON, _ := marshalOutput(kwargsOrEmpty(inv.Kwargs))
	if len(argsJSON)+len(kwargsJSON) <= maxEnvPayload {
		env = append(env, "CBX_ARGS="+string(argsJSON), "CBX_KWARGS="+string(kwargsJSON))
	}
	cmdCtx, stopCmd := context.WithCancel(ctx)
	defer stopCmd()
	cmd := exec.CommandContext(cmdCtx, "sh", "-c", o.execCmd)
	cmd.Env = env
	killGroupOnCancel(cmd)
	cmd.Stdin = bytes.NewReader(input)
	limit := o.conn.maxMessageSize.n
	stdout := &cappedBuffer{max: int(min(execStdoutFactor*limit, math.MaxInt32)), onOverflow: stopCmd}
	stderr := &cappedBuffer{max: maxExecStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	runErr := cmd.Run()
	if stdout.overflowed() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		f.ui.warnf("--exec output for a call to %q is over %d bytes: the command was stopped and the caller told %s",
			inv.Procedure, stdout.max, wamp.ErrURIPayloadSizeExceeded)
		return nil, &wamp.RPCError{URI: wamp.ErrURIPayloadSizeExceeded, Args: wamp.List{fmt.Sprintf(
			"the output of the command for %s is over %d bytes (%d × the callee's %d-byte message limit); the command was stopped",
			inv.Procedure, stdout.max, execStdoutFactor, limit)}}
	}
	if errors.Is(runErr, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() {
		// The shell succeeded but left a background child holding its output; that
		// child was killed with the process group, and the output so far is the result.
		runErr = nil
	}
	out := strings.TrimRight(stdout.buf.String(), "\r\n")
	if runErr == nil {
		if out == "" {
			return &wamp.YieldResult{}, nil
		}
		v, err := execValue(out, stdout.buf.Bytes())
		if err != nil {
			// Never send it altered (a float for a big integer, U+FFFD for bad bytes);
			// the reason stays here: it may quote the output of a sealed call.
			f.ui.warnf("refused the --exec output for a call to %q: %v", inv.Procedure, err)
			return nil, &wamp.RPCError{URI: wamp.ErrURIRuntime, Args: wamp.List{"the command's output holds a value cbx cannot send exactly"}}
		}
		return &wamp.YieldResult{Args: wamp.List{v}}, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	errOut := strings.TrimRight(stderr.buf.String(), "\r\n")
	if stderr.overflowed() {
		errOut += fmt.Sprintf(" [cbx: stderr cut after %d bytes, of %d]", stderr.max, stderr.total)
	}
	rpcErr, chosen := commandError(out)
	if !chosen {
		status := -1
		var ee *exec.ExitError
		if errors.As(runErr, &ee) {
			status = ee.ExitCode()
		}
		var stderrValue any = errOut
		if wamp.CheckText(errOut) != nil {
			stderrValue = []byte(errOut) // not text: sent as it is, as binary
		}
		rpcErr = &wamp.RPCError{URI: o.errorURI, Args: wamp.List{stderrValue}, Kwargs: wamp.Dict{"exit_status": int64(status)}}
		if status == -1 {
			rpcErr.Kwargs["error"] = runErr.Error()
		}
	}
	f.ui.warnf("--exec failed for a call to %q: %v%s", inv.Procedure, runErr, indentStderr(errOut))
	// A reply to a sealed call never carries data in plaintext: when the error URI is not
	// one this side can seal (Autobahn seals errors under the error URI's key), only the
	// URI and the exit status go back.
	if inv.Sealed && !c.codec.CanSeal(false, rpcErr.URI) {
		rpcErr.Args = wamp.List{"the command failed; its output is not sent unsealed for a sealed call"}
		status := rpcErr.Kwargs["exit_status"]
		rpcErr.Kwargs = wamp.Dict{}
		if status != nil {
			rpcErr.Kwargs["exit_status"] = status
		}
	}
	return nil, rpcErr
}

func indentStderr(s string) string {
	if s == "" {
		return ""
	}
	return "; its stderr: " + strings.ReplaceAll(printable(s), "\n", "\n  ")
}

// printable escapes what must not reach a terminal raw from a command's output: control
// characters other than newline and tab, and bytes that are not UTF-8, as \xNN.
func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1, r < 0x20 && r != '\n' && r != '\t', r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// execValue is the result of an --exec command's stdout (out: trimmed of its final line
// break; raw: as written): JSON where it is JSON, else the text as a string, else, when
// it is not UTF-8 text either, the bytes as they are, as one binary value. JSON holding a
// value the dialect refuses stays an error: that output is meant as a value and would
// arrive altered.
func execValue(out string, raw []byte) (any, error) {
	v, err := parseValue(out)
	if err != nil && wamp.CheckText(out) != nil {
		if _, jsonErr := wamp.UnmarshalJSON([]byte(out), wamp.NestValue); isSyntaxError(jsonErr) {
			return append([]byte(nil), raw...), nil
		}
	}
	return v, err
}

func isSyntaxError(err error) bool {
	var se *wamp.SyntaxError
	return errors.As(err, &se)
}

// commandError reads {"error":"URI","args":[…],"kwargs":{…}} from a failed command's stdout,
// in the value dialect. Output that is not such an object, or holds a value the dialect
// refuses, is not used: the call then fails with --error-uri, stderr and the exit status.
func commandError(out string) (*wamp.RPCError, bool) {
	v, err := wamp.UnmarshalJSON([]byte(out), wamp.NestMessage)
	if err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	uri, ok := m["error"].(string)
	if !ok || uri == "" {
		return nil, false
	}
	e := &wamp.RPCError{URI: uri}
	e.Args, _ = m["args"].([]any)
	e.Kwargs, _ = m["kwargs"].(map[string]any)
	return e, true
}
