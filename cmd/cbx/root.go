package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
)

// annotationGraceful marks commands that end on SIGINT/SIGTERM by closing their session.
const annotationGraceful = "cbx/graceful-signals"

func graceful(c *cobra.Command) *cobra.Command { return annotate(c, annotationGraceful) }

// run is cbx: it parses args, runs the command and returns the exit code.
func run(args []string, streams *ioStreams) int {
	out := &stdoutWriter{w: streams.Out}
	s := *streams
	s.Out = out
	streams = &s
	f := &factory{io: streams, ui: newUI(streams), getenv: os.Getenv}
	root := newRootCmdFor(f, args)
	root.SetArgs(args)

	// Commands that hold a session catch SIGINT/SIGTERM to end it politely (GOODBYE, exit
	// 130); a second signal, and any signal to the offline commands, acts as usual.
	ctx := context.Background()
	c, _, findErr := root.Find(args)
	if findErr == nil {
		chooseProcs(c)
		chooseGC(c)
	} else {
		chooseProcs(nil)
	}
	switch {
	case findErr == nil && c.Annotations[annotationGraceful] != "" && ownsProcess:
		// A process that exits as soon as run returns: no stop either, since giving the
		// signals back is another hand-off to the runtime's signal thread (see
		// catchSignals), which at this point started one more thread.
		ctx = f.catchSignals(ctx)
	case findErr == nil && c.Annotations[annotationGraceful] != "":
		// In-process callers (tests) get their handling back when run returns.
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			stop()
		}()
	}
	err := root.ExecuteContext(ctx)
	if err == nil {
		err = f.refused
	}
	if werr := out.failure(); werr != nil {
		// Output was lost: that is the failure, unless the command failed otherwise (it
		// stopped for another reason) or reported the write already, with its hints.
		var se *stdoutError
		if err == nil || errors.Is(err, werr) && !errors.As(err, &se) {
			err = &stdoutError{werr}
		}
	}
	if err == nil {
		return exitOK
	}
	code := exitCodeFor(err)
	// An interrupt is the user's own doing (often the normal end of cbx subscribe): no
	// error message, just the conventional exit code.
	if code != exitInterrupted {
		f.ui.errorf("%s", err)
		for _, h := range hintsFor(err, hasFlag(root, args, "reply")) {
			f.ui.hintf("%s", h)
		}
	}
	if code == exitUsage {
		path := commandPath(root, args)
		var uc *unknownCommandError
		if errors.As(err, &uc) {
			path = uc.parent.CommandPath()
		}
		f.ui.hintf("see `%s --help`", path)
	}
	return code
}

// hasFlag reports whether the command args name has the flag name, for hints that name it.
func hasFlag(root *cobra.Command, args []string, name string) bool {
	c, _, err := root.Find(args)
	return err == nil && c.Flags().Lookup(name) != nil
}

// commandPath finds the command args name, for the usage hint.
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil {
		return root.Name()
	}
	return c.CommandPath()
}

// topCommands are the commands under the root, each made with the wrappers that mark it.
// A run builds in full only the one its arguments name (newRootCmdFor).
var topCommands = []struct {
	name  string
	build func(f *factory) *cobra.Command
}{
	{"version", func(f *factory) *cobra.Command { return newCmdVersion(f) }},
	{"keygen", func(f *factory) *cobra.Command { return newCmdKeygen(f, nil) }},
	{"keys", func(f *factory) *cobra.Command { return usesKeystore(newCmdKeys(f)) }},
	{"seal", func(f *factory) *cobra.Command { return usesKeystore(newCmdSeal(f, nil)) }},
	{"open", func(f *factory) *cobra.Command { return usesKeystore(newCmdOpen(f, nil)) }},
	{"publish", func(f *factory) *cobra.Command {
		return usesKeystore(graceful(oneProc(clientGC(newCmdPublish(f, nil)))))
	}},
	{"subscribe", func(f *factory) *cobra.Command {
		return usesKeystore(graceful(oneProc(clientGC(newCmdSubscribe(f, nil)))))
	}},
	{"call", func(f *factory) *cobra.Command {
		return usesKeystore(graceful(oneProc(clientGC(newCmdCall(f, nil)))))
	}},
	{"register", func(f *factory) *cobra.Command {
		return usesKeystore(graceful(oneProc(clientGC(newCmdRegister(f, nil)))))
	}},
	{"router", func(f *factory) *cobra.Command { return graceful(halfProcs(gcFloor(newCmdRouter(f, nil)))) }},
	// bench call --procedure uses the keystore; the rest refuses --keystore
	{"bench", func(f *factory) *cobra.Command { return usesKeystore(clientGC(newCmdBench(f))) }},
	{"wait", func(f *factory) *cobra.Command { return graceful(newCmdWait(f, nil)) }},
	{"context", func(f *factory) *cobra.Command { return newCmdContext(f) }},
	{"exit-codes", func(f *factory) *cobra.Command { return newHelpTopicExitCodes() }},
	{"keystore", func(f *factory) *cobra.Command { return newHelpTopicKeystore() }},
	{"environment", func(f *factory) *cobra.Command { return newHelpTopicEnvironment() }},
}

// newRootCmd is the whole command tree.
func newRootCmd(f *factory) *cobra.Command { return newRootCmdFor(f, nil) }

// newRootCmdFor is the command tree for a run with args. When args name a command under
// the root (cbx publish …), the tree holds only that one, with everything under it: the
// others' flags, help texts and completions cost a one-shot command about half a
// millisecond at every start, for nothing. Which command args name is decided as in the
// whole tree: by cobra's Find, among placeholders with the same names, with the root's
// flags, which are the same in both. Anything else (no command, an unknown one, help,
// completion, --version) gets the whole tree, as before.
func newRootCmdFor(f *factory, args []string) *cobra.Command {
	if args != nil {
		root := newRootOnly(f)
		placeholders := make(map[*cobra.Command]int, len(topCommands))
		for i, t := range topCommands {
			p := &cobra.Command{Use: t.name, Run: func(*cobra.Command, []string) {}}
			placeholders[p] = i
			root.AddCommand(p)
		}
		addRootFlags(root, f)
		if c, _, err := root.Find(args); err == nil {
			if i, ok := placeholders[c]; ok {
				root.ResetCommands()
				root.AddCommand(topCommands[i].build(f))
				// The completion command is never the one that runs here.
				root.CompletionOptions.DisableDefaultCmd = true
				return finishTree(root, f)
			}
		}
	}
	root := newRootOnly(f)
	root.Version = versionString()
	for _, t := range topCommands {
		root.AddCommand(t.build(f))
	}
	addRootFlags(root, f)
	return finishTree(root, f)
}

// newRootOnly is the root command without the commands under it.
func newRootOnly(f *factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "cbx",
		Short: "End-to-end encrypted WAMP payloads from the shell",
		Long: `cbx seals WAMP payloads end to end with the "cryptobox" scheme of Crossbar.io and
Autobahn|Python (NaCl box: Curve25519, XSalsa20-Poly1305), with key pairs chosen per URI
from a keystore. The router still routes by URI but only ever sees ciphertext.

Settings come from flags, then environment variables (CBX_URL, CBX_KEYSTORE, …: see
` + "`cbx help environment`" + ` for all of them), then the context (` + "`cbx context --help`" + `),
then the defaults.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	// --version without -v: -v is --verbose on the session commands.
	root.Flags().Bool("version", false, "print cbx's version")
	return root
}

// finishTree gives the commands under root their shared flags and completions, and the
// tree cbx's handling of unknown words and usage errors.
func finishTree(root *cobra.Command, f *factory) *cobra.Command {
	addSharedFlags(root, f)
	registerCompletions(root, f)
	root.SetIn(f.io.In)
	root.SetOut(f.io.Out)
	root.SetErr(f.io.ErrOut)
	refuseUnknownCommands(root, &f.refused)
	// Cobra adds its completion command when it runs; adding it now (its scripts go to
	// the output set above) lets usageErrors below cover its subcommands too.
	root.InitDefaultCompletionCmd()
	usageErrors(root)
	return root
}

// usageErrors makes bad flags and bad argument counts anywhere in c's tree usage errors
// (exit 2), the latter in cbx's words (argCountText).
func usageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	for _, c := range allCommands(c) {
		if c.Args != nil {
			check := c.Args
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return &usageError{errors.New(argCountText(err.Error()))}
				}
				return nil
			}
		}
	}
}

func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

// argCountRe finds cobra's argument-count wording ("accepts 1 arg(s), received 0"); it is
// compiled on first use, not at every start.
var argCountRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(\d+) arg\(s\)`) })

// argCountText words cobra's argument-count errors for people: "accepts 1 argument,
// received 0" rather than "accepts 1 arg(s), received 0".
func argCountText(msg string) string {
	return argCountRe().ReplaceAllStringFunc(msg, func(m string) string {
		n := argCountRe().FindStringSubmatch(m)[1]
		if n == "1" {
			return "1 argument"
		}
		return n + " arguments"
	})
}

// catchSignals is signal.NotifyContext for a process that exits when run returns
// (ownsProcess), with the handlers installed in a goroutine of their own: os/signal
// installs each one by a round trip to a thread of the runtime's that it starts for the
// purpose, about 0.2 ms of thread wake-ups at the start of a one-shot command on a busy
// machine, which this way overlap with the command's connection to the router. Before a
// session is joined, or the router listens, the command waits for them
// (factory.signalsCaught): a signal that comes earlier finds no session to end, and acts
// as it does while the process starts. After the first signal, as with NotifyContext's
// stop, the next one acts as usual.
func (f *factory) catchSignals(parent context.Context) context.Context {
	ctx, cancel := context.WithCancelCause(parent)
	caught := make(chan struct{})
	f.caught = caught
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		close(caught)
		s := <-ch
		cancel(errors.New(s.String() + " signal received"))
		signal.Stop(ch)
	}()
	return ctx
}

// signalsCaught waits until catchSignals has installed its handlers, if it was called.
func (f *factory) signalsCaught() {
	if f.caught != nil {
		<-f.caught
	}
}
