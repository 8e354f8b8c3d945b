package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

type registerOptions struct {
	conn     connOptions
	proc     string
	receive  receiveOptions
	execCmd  string
	echo     bool
	errorURI string

	reconnect reconnectOptions
}

const defaultErrorURI = "cbx.error.command_failed"

func newCmdRegister(f *factory, runF func(*registerOptions) error) *cobra.Command {
	o := &registerOptions{}
	cmd := &cobra.Command{
		Use:   "register PROC {--exec CMD | --echo} [--count N] [--match {exact | prefix | wildcard}] [--reconnect] [--ready-file FILE]",
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

--ready-file FILE tells a script when calls to PROC start reaching this callee: FILE is
created (atomically: one JSON line, {"url","realm","session"}) once the router has
confirmed the registration, removed when the session ends (created again after a
--reconnect) and when register ends. A FILE left from an earlier run is removed at
start. "cbx wait --file FILE" waits for it, without sleep.

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
			if err := o.check(); err != nil {
				return err
			}
			if err := o.reconnect.resolve(cmd.Flags(), f.getenv); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			oneProcessor()
			return registerRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.execCmd, "exec", "", "run `CMD` (with sh -c) for each call")
	cmd.Flags().BoolVar(&o.echo, "echo", false, "return each call's arguments")
	addReceiveFlags(cmd, &o.receive, "procedure matching: exact, prefix or wildcard", "exit after answering `N` calls (0: no limit)",
		"create `FILE` once registered, remove it when the registration ends (cbx wait --file FILE waits for it)")
	cmd.Flags().StringVar(&o.errorURI, "error-uri", defaultErrorURI, "error `URI` for a failed --exec command")
	addReconnectFlags(cmd, &o.reconnect)
	addConnFlags(cmd, &o.conn)
	return cmd
}

// check refuses a bad command line before anything is sent.
func (o *registerOptions) check() error {
	if o.echo == (o.execCmd != "") {
		return &usageError{errors.New("give exactly one of --exec CMD and --echo")}
	}
	if err := o.receive.check("PROC", o.proc); err != nil {
		return err
	}
	return checkURIArg("--error-uri", o.errorURI, "", false)
}

func registerRun(ctx context.Context, f *factory, o *registerOptions) error {
	ready, err := newReadyFile(f, o.receive.readyFile)
	if err != nil {
		return err
	}
	defer ready.close()
	// The session answers calls it cannot open itself; the operator should still hear.
	o.conn.onRefused = func(proc, uri string, err error) {
		f.ui.warnf("refused a call to %q with %s: %v", proc, uri, err)
	}
	ctx, c, done, err := f.session(ctx, &o.conn)
	if err != nil {
		return err
	}
	defer done()
	// The keys must open what arrives, and so must a keystore edited while it runs.
	if err := c.requireKeys(func(codec *e2e.Codec) error {
		return codec.CheckCanReceive(o.proc, o.receive.match, "calls")
	}); err != nil {
		return err
	}

	life := newLifetime("calls", o.receive.count)
	opts := o.receive.options()
	// The same registration on every session of the run (reconnect.go).
	register := func(ctx context.Context, c *conn) error {
		// --echo answers at once and waits for nothing: its handler runs on the session's
		// read loop (RegisterInline), which spares each call a goroutine and a hand-off
		// between threads on the round trip. --exec waits for a command, on its own
		// goroutine per call.
		reg := c.sess.Register
		if o.echo {
			reg = c.sess.RegisterInline
		}
		if _, err := reg(ctx, o.proc, opts, f.callHandler(c, o, life)); err != nil {
			return c.failed(ctx, routerRefused(err), fmt.Sprintf("registering %q", o.proc))
		}
		if o.conn.verbose {
			f.ui.noticef("registered %q (match %s)", o.proc, o.receive.match)
		}
		return ready.announce(c)
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
				Args: wamp.List{fmt.Sprintf("this cbx register answers %d calls (--count) and is closing", o.receive.count)}}
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
