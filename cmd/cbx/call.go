package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

type callOptions struct {
	conn     connOptions
	proc     string
	args     []string
	kwargs   []string
	values   valueOptions
	progress bool
	details  bool
	format   string // --format: "" or json, else a template

	payload eventPayload // ARGs and -k, parsed
}

func newCmdCall(f *factory, runF func(*callOptions) error) *cobra.Command {
	o := &callOptions{}
	cmd := &cobra.Command{
		Use:   "call PROC [ARG...] [-k KEY=VALUE...] [--file FILE...] [--strict] [--progress] [--timeout D]",
		Short: "Call a procedure, sealed when the keystore has a key for PROC",
		Long: `call calls PROC and prints the result as one JSON line on stdout:

  {"sealed":true,"progress":false,"args":[…],"kwargs":{…}}

The CALL is sealed as the originator when the keystore covers PROC, and a sealed RESULT
must open with that key and name PROC inside (Autobahn's trusted URI check). With
--progress each progressive result is printed as its own line ("progress":true) before
the final one.

` + valuesHelp + `

A WAMP error prints one JSON line on stdout, as a result does, and exits 7:

  {"error":"com.example.error.x","sealed":false,"args":[…],"kwargs":{…}}

and the human message (cbx: error: calling …) on stderr: a script reads stdout with jq
whatever the outcome, and the exit code tells the two apart. A result holding a
value cbx cannot carry exactly (an integer beyond 64 bits, a non-finite float, invalid
UTF-8, nesting deeper than 100 levels) is refused with exit 1, never printed altered; an
error whose payload holds one still exits 7, with its URI, and says so. Errors are sealed
under the key of the error URI, as Autobahn does. With --timeout the call is cancelled
(CANCEL, mode killnowait) when the deadline passes, and cbx exits 8.

--details adds the result's (or error's) details as the router sent them and, for a
sealed one, "key": the keystore entry and the fingerprints of the public keys of the
key that opened it (what cbx keygen and cbx keys ls show for them).

--format TEMPLATE prints each result, and an error, with a Go template (text/template)
instead of the JSON line, followed by a newline: '{{json .Args}}',
'{{if .Error}}failed: {{.Error}}{{else}}{{index .Args 0}}{{end}}'. Its fields:
.Procedure, .Error (the error URI; empty for a result), .Sealed, .Progress, .Args (a
list), .Kwargs, .Details (maps), .Key (what opened a sealed payload; nil when plain)
and .Time (when cbx read the reply: prints as RFC 3339, with Go's time methods); the
function json writes a value as the JSON line does. A template that cannot run (an
unknown field) is refused at start (exit 2); one that fails on the reply's payload exits
1 (7 for an error), saying why. --format json is the default.`,
		Example: `  $ cbx call com.example.secure.add2 23 7
  {"sealed":true,"progress":false,"args":[30],"kwargs":{}}
  $ cbx call com.example.secure.add2 23 7 --details
  {"sealed":true,"progress":false,"args":[30],"kwargs":{},"details":{…},"key":{"entry":"com.example.secure.",…}}`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.proc, o.args = args[0], args[1:]
			r, err := f.valueReader(cmd, &o.values)
			if err != nil {
				return err
			}
			if err := o.check(r); err != nil {
				return err
			}
			if _, err := o.outputFormat(); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			oneProcessor()
			return callRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringArrayVarP(&o.kwargs, "kwarg", "k", nil, "keyword argument `KEY=VALUE` (repeatable)")
	addValueFlags(cmd, &o.values)
	cmd.Flags().BoolVar(&o.progress, "progress", false, "ask for progressive results and print each")
	cmd.Flags().BoolVar(&o.details, "details", false, "add the result's details and the key that opened it to each line")
	cmd.Flags().StringVar(&o.format, "format", "", "output `FORMAT`: json (the default) or a Go template, e.g. '{{json .Args}}'")
	addConnFlags(cmd, &o.conn)
	return cmd
}

// check refuses a bad command line before anything is sent, and parses the payload.
func (o *callOptions) check(r *valueReader) error {
	if err := checkURIArg("PROC", o.proc, "", false); err != nil {
		return err
	}
	args, kwargs, err := r.payload(o.args, o.kwargs, &o.values)
	if err != nil {
		return err
	}
	o.payload = eventPayload{args, kwargs}
	return nil
}

func callRun(ctx context.Context, f *factory, o *callOptions) error {
	ctx, c, done, err := f.session(ctx, &o.conn)
	if err != nil {
		return err
	}
	defer done()
	format, err := o.outputFormat()
	if err != nil {
		return err
	}

	var printErr error
	printResult := func(r *wamp.ResultInfo) error {
		if err := checkIncoming(c, o.proc, r.Sealed, nil, "result"); err != nil {
			return err
		}
		var line []byte
		var err error
		if format.tmpl != nil {
			line, err = callTemplateLine(format, callData{Procedure: o.proc, Sealed: r.Sealed, Progress: r.Progress,
				Args: r.Args, Kwargs: r.Kwargs, Details: r.Details, Key: r.Opened})
			if err != nil {
				return fmt.Errorf("calling %q: the result could not be printed: %w", o.proc, err)
			}
		} else {
			fields := []field{{"sealed", r.Sealed}, {"progress", r.Progress},
				{"args", argsOrEmpty(r.Args)}, {"kwargs", kwargsOrEmpty(r.Kwargs)}}
			if o.details {
				fields = withKey(append(fields, field{"details", r.Details}), r.Opened)
			}
			if line, err = objectLine(fields...); err != nil {
				return err
			}
		}
		_, err = f.io.Out.Write(line)
		return err
	}
	// A progressive result that is refused (--require-encrypted) or cannot be printed ends
	// the call at once: the CANCEL goes out rather than waiting for the final result.
	callCtx, stopCall := context.WithCancel(ctx)
	defer stopCall()
	var onProgress func(*wamp.ResultInfo)
	if o.progress {
		onProgress = func(r *wamp.ResultInfo) {
			if printErr == nil {
				if printErr = printResult(r); printErr != nil {
					stopCall()
				}
			}
		}
	}
	res, err := c.sess.Call(callCtx, o.proc, nil, o.payload.args, o.payload.kwargs, onProgress)
	if printErr != nil {
		return printErr
	}
	if err != nil {
		return callError(f, c, o, format, err, ctx)
	}
	return printResult(res)
}

// callError reports a failed call: a WAMP error with its payload (exit 7), a deadline
// (exit 8), a payload that did not open (exit 3, 4 or 5), or a plaintext result holding a
// value cbx cannot carry exactly (exit 1; an error with such a payload is still exit 7).
// format is the --format the run parsed, which prints the error as it prints a result.
func callError(f *factory, c *conn, o *callOptions, format outputFormat, err error, ctx context.Context) error {
	proc := o.proc
	var rpc *wamp.RPCError
	if errors.As(err, &rpc) {
		if cerr := checkIncoming(c, rpc.URI, rpc.Sealed, nil, "error"); cerr != nil {
			return cerr
		}
		if rpc.PayloadErr != nil {
			// Still the callee's error (exit 7), but its payload could not be read: no JSON
			// line, which would show empty args and kwargs as if that were what it sent.
			return withCode(exitWAMPError, &rewordedError{fmt.Sprintf("calling %q: %s; its payload could not be read: %v",
				proc, rpc.URI, rpc.PayloadErr), rpc.PayloadErr})
		}
		// The error object is data, as a result is: one JSON line on stdout, where a
		// script reads it (jq), while the human message goes to stderr. The exit code
		// (7) tells the two outcomes apart.
		msg := fmt.Sprintf("calling %q: %s", proc, rpc.URI)
		var line []byte
		var merr error
		if format.tmpl != nil {
			line, merr = callTemplateLine(format, callData{Procedure: proc, Error: rpc.URI, Sealed: rpc.Sealed,
				Args: rpc.Args, Kwargs: rpc.Kwargs, Details: rpc.Details, Key: rpc.Opened})
		} else {
			fields := []field{{"error", rpc.URI}, {"sealed", rpc.Sealed},
				{"args", argsOrEmpty(rpc.Args)}, {"kwargs", kwargsOrEmpty(rpc.Kwargs)}}
			if o.details {
				fields = withKey(append(fields, field{"details", rpc.Details}), rpc.Opened)
			}
			line, merr = objectLine(fields...)
		}
		if merr != nil {
			msg += "; its payload could not be printed: " + merr.Error()
		} else if _, werr := f.io.Out.Write(line); werr != nil {
			msg += "; the error line could not be written: " + (&stdoutError{werr}).Error()
		}
		return withCode(exitWAMPError, &rewordedError{msg, err})
	}
	if errors.Is(err, wamp.ErrPayloadRefused) {
		// A plaintext result cbx cannot carry exactly (exit 1, as for a sealed one); under
		// --require-encrypted, plaintext on a covered procedure is first of all a downgrade.
		if cerr := checkIncoming(c, proc, false, nil, "result"); cerr != nil {
			return cerr
		}
		return fmt.Errorf("calling %q: %w", proc, err)
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return withCode(exitTimeout, fmt.Errorf("calling %q: no result before the deadline; the call was cancelled", proc))
	}
	return c.failed(ctx, err, fmt.Sprintf("calling %q", proc))
}

// outputFormat is call's --format: json, or a template run on callData.
func (o *callOptions) outputFormat() (outputFormat, error) {
	name := o.format
	if name == "" {
		name = formatJSON
	}
	f, err := parseOutputFormat(name, []string{formatJSON}, sampleCallData)
	if err != nil {
		return f, err
	}
	return f, checkFormatFlags(f, o.details, false, "{{.Details}} and {{.Key}}")
}

// callData is what a call --format template sees of a result or an error.
type callData struct {
	Procedure string         // PROC, as called
	Error     string         // the error URI; "" for a result
	Sealed    bool           // the payload arrived sealed (and opened)
	Progress  bool           // a progressive result (--progress)
	Args      []any          // [] when absent
	Kwargs    map[string]any // {} when absent
	Details   map[string]any // as the router sent them
	Key       map[string]any // what opened a sealed payload (as --details' "key"); nil when plain
	Time      eventTime      // when cbx read the reply
}

var sampleCallData = callData{Procedure: "com.example.p", Args: []any{}, Kwargs: map[string]any{}, Details: map[string]any{},
	Time: eventTime{time.Unix(0, 0)}}

// callTemplateLine runs a --format template on d, absent payloads made empty, at the
// time it is called, and adds the newline.
func callTemplateLine(format outputFormat, d callData) ([]byte, error) {
	d.Args, d.Kwargs, d.Time = argsOrEmpty(d.Args), kwargsOrEmpty(d.Kwargs), eventTime{time.Now()}
	if d.Details == nil {
		d.Details = map[string]any{}
	}
	var b bytes.Buffer
	if err := format.tmpl.Execute(&b, d); err != nil {
		return nil, err
	}
	return append(b.Bytes(), '\n'), nil
}
