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
	"github.com/spf13/cobra"
)

type registerOptions struct {
	conn     connOptions
	proc     string
	match    string
	count    int
	execCmd  string
	echo     bool
	errorURI string

	reconnect reconnectOptions
}

const defaultErrorURI = "cbx.error.command_failed"

func newCmdRegister(f *factory) *cobra.Command {
	o := &registerOptions{}
	cmd := &cobra.Command{
		Use:   "register PROC {--exec CMD | --echo} [--count N] [--match {exact | prefix | wildcard}] [--reconnect]",
		Short: "Answer calls to a procedure, opening and sealing payloads with the keystore",
		Long: `register registers PROC and answers its calls until --count calls were answered, the
--timeout deadline, or SIGINT.

With --exec, each call runs CMD with "sh -c". CMD reads the call as one JSON line on
stdin, {"procedure":"…","sealed":true,"args":[…],"kwargs":{…}}, and finds the same in the
environment: CBX_PROCEDURE, CBX_ARGS and CBX_KWARGS (JSON) and CBX_SEALED. Its stdout is
the result: JSON where it is valid JSON, else the text, else (bytes that are not UTF-8
text) the bytes as one binary value, as the single result argument (no output: no
arguments). A non-zero exit becomes a WAMP error: if stdout is a JSON
object {"error":"URI","args":[…],"kwargs":{…}} that is the error, else --error-uri with
CMD's stderr and exit status as arguments. With --echo the call's args and kwargs are the
result.

A call whose arguments hold a value cbx cannot carry exactly (an integer beyond 64 bits,
a non-finite float, invalid UTF-8, nesting deeper than 100 levels) is answered with
wamp.error.invalid_argument without running CMD, and a warning says so; register goes on.

A result (or error) larger than --max-message-size once encoded is not sent: the caller
gets wamp.error.payload_size_exceeded and register goes on. Of CMD's stdout at most
4 × --max-message-size is read: a command that writes more is killed (its process group)
and the caller gets that error. Of its stderr the first 64 KiB are kept, the rest is
read and discarded.

Sealing follows Autobahn: a sealed call is opened as the responder and must name PROC (or
the concrete procedure of a pattern registration) inside, else the caller gets
wamp.error.encryption.trusted_uri_mismatch; the result is sealed only when the call was;
an error is sealed when the keystore covers the error URI.

register ends after --count answered calls (exit 0), at the --timeout deadline (exit 8
when fewer were answered, else 0), on SIGINT (exit 130), or when the router goes away
(exit 6).

` + reconnectHelp(`register joins again with the same keystore and credentials (read once, at
start) and registers PROC with the same --match; --count counts across reconnects and
--timeout is one deadline for the whole run. With -v the "registered" line appears
again, followed by "cbx: reconnected to URL after Ds (attempt N)", so a script can
wait for readiness. wamp.error.procedure_already_exists is retried: the router may
still hold the lost session's registration until it notices that connection is gone.`,
			`A call being answered when the connection broke cannot be answered any more: its
command is stopped (as for a cancelled call), the router answers the caller with an
error (nexus and Crossbar.io: wamp.error.canceled), and the call does not count for
--count. Calls made while no connection existed fail at the router
(wamp.error.no_such_procedure).`),
		Example: `  $ cbx register com.example.secure.add2 --exec 'jq -c "[.args[0] + .args[1]] | .[0]"'
  $ cbx register com.example.secure.echo --echo --count 1
  $ cbx register com.example.secure.echo --echo --reconnect --reconnect-max 20`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.proc = args[0]
			return registerRun(cmd, f, o)
		},
	}
	cmd.Flags().StringVar(&o.execCmd, "exec", "", "run `CMD` (with sh -c) for each call")
	cmd.Flags().BoolVar(&o.echo, "echo", false, "return each call's arguments")
	cmd.Flags().IntVarP(&o.count, "count", "n", 0, "exit after answering `N` calls (0: no limit)")
	cmd.Flags().StringVar(&o.match, "match", wamp.MatchExact, "procedure matching: exact, prefix or wildcard")
	cmd.Flags().StringVar(&o.errorURI, "error-uri", defaultErrorURI, "error `URI` for a failed --exec command")
	addReconnectFlags(cmd, &o.reconnect)
	addConnFlags(cmd, &o.conn)
	return cmd
}

func registerRun(cmd *cobra.Command, f *factory, o *registerOptions) error {
	switch {
	case o.echo == (o.execCmd != ""):
		return &usageError{errors.New("give exactly one of --exec CMD and --echo")}
	case o.count < 0:
		return &usageError{errors.New("--count must not be negative")}
	}
	switch o.match {
	case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
	default:
		return &usageError{fmt.Errorf("--match %q: want exact, prefix or wildcard", o.match)}
	}
	if err := checkURIArg("PROC", o.proc, o.match, true); err != nil {
		return err
	}
	if err := checkURIArg("--error-uri", o.errorURI, "", false); err != nil {
		return err
	}
	if err := o.reconnect.resolve(cmd.Flags(), f.getenv); err != nil {
		return err
	}
	// The session answers calls it cannot open itself; the operator should still hear.
	o.conn.onRefused = func(proc, uri string, err error) {
		f.ui.warnf("refused a call to %q with %s: %v", proc, uri, err)
	}
	ctx, c, done, err := f.session(cmd, &o.conn)
	if err != nil {
		return err
	}
	defer done()
	if err := c.codec.CheckCanReceive(o.proc, o.match, "calls"); err != nil {
		return err
	}

	life := newLifetime("calls", o.count)
	opts := wamp.Dict{}
	if o.match != wamp.MatchExact {
		opts[wamp.OptMatch] = o.match
	}
	// The same registration on every session of the run (reconnect.go).
	register := func(ctx context.Context, c *conn) error {
		if _, err := c.sess.Register(ctx, o.proc, opts, f.callHandler(c, o, life)); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("registering %q: %w", o.proc, c.failure(routerRefused(err)))
		}
		if o.conn.verbose {
			f.ui.noticef("registered %q (match %s)", o.proc, o.match)
		}
		return nil
	}
	return f.serve(ctx, c, life, &o.reconnect, register)
}

// callHandler answers the calls of one session, c.
func (f *factory) callHandler(c *conn, o *registerOptions, life *lifetime) wamp.Handler {
	return func(hctx context.Context, inv *wamp.InvocationInfo) (*wamp.YieldResult, error) {
		if err := checkIncoming(c, inv.Procedure, inv.Sealed, nil, "call"); err != nil {
			f.ui.warnf("refused a call to %q: %v", inv.Procedure, err)
			return nil, &wamp.RPCError{URI: wamp.ErrURIPlaintextRefused, Args: wamp.List{err.Error()}}
		}
		// Calls run concurrently: claim a --count slot first, so no more than N run.
		ok, last := life.reserve()
		if !ok {
			return nil, &wamp.RPCError{URI: wamp.ErrURINoAvailableCallee,
				Args: wamp.List{fmt.Sprintf("this cbx register answers %d calls (--count) and is closing", o.count)}}
		}
		var res *wamp.YieldResult
		var herr error
		if o.echo {
			res = &wamp.YieldResult{Args: inv.Args, Kwargs: inv.Kwargs}
		} else {
			res, herr = f.runExec(hctx, c, o, inv)
		}
		if c.sess.Err() != nil {
			// The session ended while the call ran (its command was stopped with it): the
			// reply cannot be sent, and the dealer answers the caller itself (nexus and
			// Crossbar.io: wamp.error.canceled). The call is not counted; its slot goes
			// to a call after a reconnect.
			life.release()
			f.ui.warnf("a call to %q was not answered: the session ended while it ran", inv.Procedure)
			return res, herr
		}
		if last {
			// The session's Close sends this call's reply before its GOODBYE.
			defer life.fail(nil)
		}
		life.done() // counts answered calls, for the deadline message
		if o.conn.verbose {
			if hctx.Err() != nil {
				f.ui.noticef("a call to %q was cancelled", inv.Procedure)
			} else {
				f.ui.noticef("answered a call to %q (sealed: %v)", inv.Procedure, inv.Sealed)
			}
		}
		return res, herr
	}
}

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
