package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cbx-wamp/cbx/internal/latency"
	"github.com/cbx-wamp/cbx/internal/wamp"
	"github.com/spf13/cobra"
)

const defaultBenchCalls = 20000

func newCmdBenchCall(f *factory, runF func(*benchOptions) error) *cobra.Command {
	o := &benchOptions{bench: "call", pubs: 1, subs: 1}
	cmd := &cobra.Command{
		Use:   "call [--msgs N] [--size B] [--concurrency C] [--mode {sealed | plain | both}] [--json | --csv]",
		Short: "Measure call → result round trips through a router, sealed and plain",
		Long: `bench call registers a procedure that returns its argument (one session, the callee)
and calls it --msgs times from --concurrency callers, each its own session with one call
in flight at a time, so that C calls are in flight in all. Per mode it measures:

  msgs_per_s   calls completed per second, all callers together, from the first timed
               call to the last result
  mb_per_s     the same in payload bytes (--size per call, counted once although the
               result carries as much back; 10^6 bytes a MB)
  latency      the round trip of each call, seen by its caller: from just before the
               CALL is sealed and sent to the moment its result is opened, with the
               callee's sealing and opening in between
  lost         calls that ended with an error (say, wamp.error.network_failure from a
               full router queue) instead of their result

A sealed call is sealed by the caller (originator) and its result by the callee
(responder), each with the run's keys, as cbx call and cbx register do.

With --procedure URI (and --url), no callee runs in this process: the calls go to a
procedure somebody registered on that router and that returns its arguments, such as
cbx register URI --echo in another process, so that caller and callee run in separate
processes. The keys are then the keystore's (--keystore, CBX_KEYSTORE, or the default),
as for cbx call: the calls are sealed when it covers URI, and --mode does not apply.

` + benchCommonHelp,
		Example: `  $ cbx bench call
  $ cbx bench call --concurrency 16 --msgs 100000 --serializer cbor
  $ cbx bench call --mode sealed --csv >> calls.csv
  $ cbx register com.example.secure.echo --echo &       # its own process
  $ cbx bench call --url ws://127.0.0.1:8080/ws --procedure com.example.secure.echo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(cmd, f); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			if o.procedure != "" && o.concurrency == 1 {
				// One caller of another process's callee, through another process's
				// router: a client like cbx call, measured as cbx call runs.
				oneProcessor()
			}
			return benchRun(cmd.Context(), f, o)
		},
	}
	addBenchFlags(cmd, o, defaultBenchCalls, "calls")
	cmd.Flags().IntVar(&o.concurrency, "concurrency", 1, "callers, each its own session with one call in flight")
	// Its own --keystore (addSharedFlags keeps it): only --procedure reads a keystore.
	cmd.Flags().Var(&keystoreFlag{f}, "keystore", "with --procedure: the keystore `file` for the calls (env CBX_KEYSTORE; default the context's, else $XDG_CONFIG_HOME/cbx/keystore)")
	cmd.Flags().StringVar(&o.procedure, "procedure", "", "call this existing `URI` (e.g. cbx register URI --echo elsewhere), with the keystore's keys, instead of a callee of this process")
	return cmd
}

// call runs one mode of cbx bench call on proc and fills res.
func (b *benchEnv) call(ctx context.Context, proc string, res *benchResult) error {
	o := b.o
	var callee []*conn // none with --procedure: the callee is somebody else's
	if o.procedure == "" {
		var err error
		if callee, err = dialAll(ctx, b.responder, 1); err != nil {
			return err
		}
		defer closeAll(callee)
	}
	callers, err := dialAll(ctx, b.originator, o.concurrency)
	if err != nil {
		return err
	}
	defer closeAll(callers)
	if o.procedure != "" {
		res.mode = "plain"
		if callers[0].codec.CanSeal(true, proc) {
			res.mode = "sealed"
		}
	}
	if res.mode == "sealed" {
		res.form = callers[0].codec.Wire().String()
	}
	stop := make(chan struct{})
	defer close(stop)
	lost := sessionLost(append(append([]*conn(nil), callee...), callers...), stop)

	if callee != nil {
		echo := func(_ context.Context, inv *wamp.InvocationInfo) (*wamp.YieldResult, error) {
			return &wamp.YieldResult{Args: inv.Args}, nil
		}
		// On the read loop, as cbx register --echo answers (RegisterInline).
		if _, err := callee[0].sess.RegisterInline(ctx, proc, nil, echo); err != nil {
			return callee[0].failed(ctx, routerRefused(err), fmt.Sprintf("registering %q", proc))
		}
	}

	recs := make([]*benchCaller, len(callers))
	for i := range recs {
		recs[i] = &benchCaller{sealed: res.mode == "sealed"}
	}
	if o.warmup > 0 {
		warm := newCounter(uint64(o.warmup))
		if _, err := b.callAll(ctx, callers, proc, benchKindWarm, shares(o.warmup, len(callers)), recs, warm); err != nil {
			return err
		}
		if err := b.waitWarm(ctx, warm, lost, res.mode, "calls"); err != nil {
			return err
		}
		for i := range recs {
			recs[i] = &benchCaller{sealed: res.mode == "sealed"}
		}
	}

	done := newCounter(uint64(o.msgs))
	prog := b.progress(res.mode, "calls done", done.target, done.load)
	t0 := b.now()
	end, err := b.callAll(ctx, callers, proc, benchKindTimed, shares(o.msgs, len(callers)), recs, done)
	prog.end()
	if err != nil {
		return err
	}
	select {
	case err := <-lost:
		return err
	default:
	}

	res.expected = uint64(o.msgs)
	for _, r := range recs {
		res.hist.Merge(&r.hist)
		res.received += r.completed
		res.lost += r.failed
		res.errors += r.bad
		if res.firstErr == nil {
			res.firstErr = r.firstErr
		}
		if res.firstFail == nil {
			res.firstFail = r.firstFail
		}
	}
	res.elapsed = end - t0
	res.pubElapsed = res.elapsed
	return nil
}

// benchCaller is one caller's record of a run; only its own goroutine writes it.
type benchCaller struct {
	sealed    bool // results must arrive sealed (else in plaintext)
	hist      latency.Histogram
	completed uint64
	failed    uint64 // calls answered with an error
	firstFail error
	bad       uint64 // results that are not the argument, or not sealed as due
	firstErr  error
}

// callAll runs one caller per session, each making its share of calls one after the
// other, and returns when the last result is in.
func (b *benchEnv) callAll(ctx context.Context, callers []*conn, proc string, kind byte, counts []int, recs []*benchCaller, done *counter) (time.Duration, error) {
	return eachSession(ctx, len(callers), func(ctx context.Context, i int) (time.Duration, error) {
		return b.callOne(ctx, callers[i], proc, i, kind, counts[i], recs[i], done)
	})
}

// callOne makes n calls on c as caller number who, one at a time.
func (b *benchEnv) callOne(ctx context.Context, c *conn, proc string, who int, kind byte, n int, rec *benchCaller, done *counter) (time.Duration, error) {
	p := newBenchPayload(b.o.size)
	for i := 0; i < n; i++ {
		sent := b.now()
		arg := p.text(kind, who, uint64(i), sent)
		r, err := c.sess.Call(ctx, proc, nil, wamp.List{arg}, nil, nil)
		got := b.now()
		var rpc *wamp.RPCError
		switch {
		case errors.As(err, &rpc):
			rec.failed++
			if rec.firstFail == nil {
				rec.firstFail = rpc
			}
			done.add(1)
			continue
		case err != nil:
			return 0, c.failed(ctx, err, fmt.Sprintf("calling %q", proc))
		}
		switch {
		case r.Sealed != rec.sealed && rec.sealed:
			rec.fail(fmt.Errorf("a plaintext result from %q, which this run seals", proc))
		case r.Sealed != rec.sealed:
			rec.fail(fmt.Errorf("a sealed result from %q, which this run calls in plaintext", proc))
		case len(r.Args) != 1 || r.Args[0] != arg || len(r.Kwargs) != 0:
			rec.fail(fmt.Errorf("a result from %q that is not the call's argument", proc))
		default:
			rec.completed++
			rec.hist.Record(got - sent)
		}
		done.add(1)
	}
	return b.now(), nil
}

func (r *benchCaller) fail(err error) {
	r.bad++
	if r.firstErr == nil {
		r.firstErr = err
	}
}
