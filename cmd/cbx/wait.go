package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

type waitOptions struct {
	conn       connOptions
	urlFile    string
	files      []string
	urlGiven   bool // --url was given
	timeoutSet bool // --timeout was given
}

// defaultWaitTimeout bounds cbx wait when neither --timeout nor CBX_TIMEOUT does: a CI
// job whose router never comes up should fail, not hang until the job's own limit.
const defaultWaitTimeout = 30 * time.Second

// filePoll is how often cbx wait looks for a --file or --url-file that is not there yet.
const filePoll = 20 * time.Millisecond

func newCmdWait(f *factory, runF func(*waitOptions) error) *cobra.Command {
	o := &waitOptions{}
	cmd := &cobra.Command{
		Use:   "wait [--url URL | --url-file FILE] [--file FILE...] [--timeout D]",
		Short: "Wait until a router answers or files appear: readiness for scripts, without sleep",
		Long: `wait waits until the router at --url (CBX_URL) answers: it dials and joins the realm
as the session commands do (same flags, same credentials), retrying until a session
joins (WELCOME), says GOODBYE and prints the router's URL on stdout. Failures that a
router still starting explains are retried every 25ms to 500ms (connection refused, an
HTTP answer instead of the WebSocket upgrade, an attempt that times out, ABORT
wamp.close.system_shutdown); a refusal that retrying cannot change (authentication
refused, no such realm, a TLS certificate that does not verify, a server that does not
speak WAMP) ends the wait at once with its exit code. wait reads no keystore.

--url-file FILE takes the URL from FILE, as cbx router --url-file writes it: its first
line, once complete (ended by a newline). FILE is read again before every attempt, so
a router restarted on another port is found.

--file FILE (repeatable) waits until FILE exists, as subscribe's and register's
--ready-file makes it once subscribed or registered. With --file alone wait does not
contact any router; with --url or --url-file as well it waits for the files first.

--timeout D bounds the whole wait (default 30s; 0: no limit). When it passes, wait
exits 6 if the router did not answer (saying what the last attempt saw), 8 if a --file
did not appear.

The session commands can wait by themselves: --wait D (CBX_WAIT) retries their first
connection in the same way.`,
		Example: `  $ cbx router --listen 127.0.0.1:0 --url-file router.url >/dev/null &
  $ export CBX_URL=$(cbx wait --url-file router.url --timeout 10s)
  $ cbx subscribe com.example.t --ready-file sub.ready --count 1 &
  $ cbx wait --file sub.ready && cbx publish com.example.t hello`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("wait") {
				return &usageError{errors.New("--wait is for the session commands: cbx wait is bounded by --timeout")}
			}
			o.urlGiven = cmd.Flags().Changed("url")
			o.timeoutSet = cmd.Flags().Changed("timeout")
			if o.urlGiven && o.urlFile != "" {
				return &usageError{errors.New("--url and --url-file can't be combined: choose where the URL comes from")}
			}
			for _, p := range o.files {
				if p == "" {
					return &usageError{errors.New(`--file "": give a file name`)}
				}
			}
			if runF != nil {
				return runF(o)
			}
			return waitRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.urlFile, "url-file", "", "take the router's URL from the first line of `FILE` (as cbx router --url-file writes it), waiting for it")
	cmd.Flags().StringArrayVar(&o.files, "file", nil, "wait until `FILE` exists, e.g. a --ready-file (repeatable)")
	addConnFlags(cmd, &o.conn)
	cmd.Flags().MarkHidden("wait")
	return cmd
}

func waitRun(ctx context.Context, f *factory, o *waitOptions) error {
	if err := o.conn.resolve(f); err != nil {
		return err
	}
	timeout, src := o.conn.timeout, o.conn.source("--timeout")
	if !o.timeoutSet && src == "--timeout" {
		timeout = defaultWaitTimeout
	}
	var deadline time.Time
	limit := "" // no limit
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
		limit = fmt.Sprintf("within %v (%s)", timeout, src)
	}
	for _, p := range o.files {
		if err := waitForFile(ctx, p, deadline, limit); err != nil {
			return err
		}
	}
	if len(o.files) > 0 && !o.urlGiven && o.urlFile == "" {
		return nil
	}
	// A plain session: wait seals nothing, so it needs no keystore.
	d, err := f.dialerWith(&o.conn, keystore.New(), "")
	if err != nil {
		return err
	}
	target := func() (string, error) { return o.conn.url, nil }
	if o.urlFile != "" {
		target = func() (string, error) { return readURLFile(o.urlFile) }
	}
	c, err := d.dialUntil(ctx, deadline, limit, target)
	if err != nil {
		return err
	}
	c.close()
	_, err = fmt.Fprintln(f.io.Out, o.conn.url)
	return err
}

// waitForFile waits until path exists, or deadline passes (exit 8) or ctx ends (a signal).
func waitForFile(ctx context.Context, path string, deadline time.Time, limit string) error {
	for {
		_, err := os.Stat(path)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("--file %q: %w", path, unwrapPathError(err))
		case !deadline.IsZero() && !time.Now().Before(deadline):
			return withCode(exitTimeout, fmt.Errorf("--file %q did not appear %s", path, limit))
		}
		if ctx.Err() != nil || !sleepCtx(ctx, filePoll) {
			return ctx.Err()
		}
	}
}

// readURLFile reads a router's URL from a --url-file: its first line, once complete. A
// file not there yet, or still without a complete line, is a *notYetError; one whose
// first line is not a ws:// or wss:// URL is a usage error.
func readURLFile(path string) (string, error) {
	data, err := readFileLimited(path, 4096)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", &notYetError{fmt.Sprintf("--url-file %q does not exist yet", path)}
	case err != nil:
		return "", fmt.Errorf("reading --url-file %q: %w", path, unwrapPathError(err))
	}
	line, _, complete := strings.Cut(string(data), "\n")
	if !complete {
		return "", &notYetError{fmt.Sprintf("--url-file %q holds no complete line yet", path)}
	}
	line = strings.TrimSpace(line)
	if u, err := url.Parse(line); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return "", &usageError{fmt.Errorf("--url-file %q: %s is not a ws:// or wss:// URL", path, quoteArg(line))}
	}
	return line, nil
}

// unwrapPathError drops Go's "open PATH:" (or "rename OLD NEW:") from a file error: the
// message names the file once, its own way.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
