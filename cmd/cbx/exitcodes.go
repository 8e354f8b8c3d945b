package main

import (
	"context"
	"errors"
	"strings"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/cbx-wamp/cbx/internal/wamp"
)

// Error messages. One convention, so that what the user reads is one sentence naming
// their input once, e.g.
//
//	cbx: error: registering "com.dup": the router refused: wamp.error.procedure_already_exists
//
//   - Library packages (internal/wamp, internal/box, internal/keystore) return what went
//     wrong in their own terms: no package prefix ("wamp:", "box:"), and not the topic,
//     procedure, realm, URL or path their caller passed in. Data a caller may need stays
//     in fields (wamp.RPCError.URI, AbortError.Reason, e2e.URIMismatchError) for
//     errors.As. internal/e2e's errors do name the URI they are about, since their text
//     also goes back to a peer (wamp.error.encryption.*): cmd/cbx does not repeat it.
//   - Library errors carry no exit codes and no hints: exitCodeFor and hintsFor below
//     map them, by type, in one place. cmd/cbx's own errors may carry a code and hints
//     where they are made (withCode), when their type does not imply them.
//   - cmd/cbx adds the user's words exactly once, where it knows what the user asked for:
//     the action and the input as typed, quoted with %q ("subscribing to %q",
//     "joining realm %q", "TOPIC %q", "--listen %q", "CBX_SERIALIZER %q"); who answered
//     when that is not obvious ("the router refused" for SUBSCRIBE, REGISTER and an
//     acknowledged PUBLISH; a CALL's error URI stands alone). error_wording.go has the helpers.
//   - An error is wrapped with %w, so exit codes and hints still find its type; where the
//     library's text would repeat or mislead, it is reworded (rewordedError), not wrapped.
//   - Nothing formats a value of unknown type with %q or %s ("%!q(<nil>)"): say what is
//     there instead (as internal/e2e words a payload's options: describeOption).

// Exit codes. They are part of cbx's interface: scripts branch on them, so a code never
// changes meaning. The table is printed by `cbx help exit-codes` and in the README.
const (
	exitOK          = 0   // success
	exitError       = 1   // any other failure; also a payload (sealed or not) cbx cannot carry exactly
	exitUsage       = 2   // bad command line: unknown flag, missing argument, bad value, unknown context
	exitDecrypt     = 3   // a sealed payload did not open: tampered, sealed with another key or a retired generation
	exitURIMismatch = 4   // a payload opened but was sealed for another URI (trusted URI check)
	exitKey         = 5   // key or keystore problem: no key for the URI, malformed key, unsafe permissions; the contexts file
	exitConnection  = 6   // could not reach or join the router, or it broke the protocol
	exitWAMPError   = 7   // the peer answered with a WAMP error (cbx call)
	exitTimeout     = 8   // deadline reached first (--timeout): fewer events than --count, or no result
	exitLost        = 9   // fewer events than --count at the deadline, and the router reported dropping some; cbx bench: messages lost
	exitInterrupted = 130 // interrupted by SIGINT or SIGTERM
)

var exitCodeTable = strings.Trim(`
  0    success
  1    failure not covered below; also a sealed payload that decrypted (so it is
       authentic) but holds a value cbx cannot carry exactly (an integer beyond
       64 bits, a non-finite float, invalid UTF-8, lists and dicts nested deeper
       than 100 levels) or is not Autobahn's {"uri","args","kwargs"} plaintext,
       and a plaintext result holding such a value (cbx call)
  2    usage error: unknown command or flag, missing or bad argument; a context
       named with --context, CBX_CONTEXT or cbx context use that does not exist
  3    decryption failed: the payload was tampered with or sealed with another key,
       or with a key generation this keystore retired (cbx keys retire); or
       plaintext on a URI the keystore covers, with --require-encrypted
  4    trusted URI mismatch: the payload was sealed for another URI than it arrived on
  5    key or keystore problem: no key for the URI, a malformed, short or
       low-order key, a malformed keystore, a keystore named with --keystore,
       CBX_KEYSTORE or a context that does not exist or cannot be read or
       written, a key file or keystore that group or others can access; a
       contexts file (cbx context) that is malformed or that group or others
       can access
  6    connection problem: router unreachable (with --wait, or for cbx wait: no
       router answered in time), realm or authentication refused, protocol
       violation, the router went away; for cbx router, its address is in use
  7    the called procedure answered with a WAMP error (cbx call)
  8    deadline reached (--timeout) before enough events or the result arrived,
       or before a cbx wait --file appeared
  9    events were lost: the router reported dropping events for this
       subscription (cbx subscribe) and fewer than --count arrived by the deadline;
       for cbx bench, events that did not arrive or calls that failed (after the
       results)
  130  interrupted (SIGINT, SIGTERM)
`, "\n")

// codedError carries an exit code and hints alongside an error; commands return it when the
// code or the hint is not implied by the error's type.
type codedError struct {
	code  int
	err   error
	hints []string
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func withCode(code int, err error, hints ...string) error {
	return &codedError{code: code, err: err, hints: hints}
}

// usageError marks a bad command line (cli/cli's FlagError).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// exitCodeFor maps an error to its exit code: a code cmd/cbx attached (withCode) first,
// else the code of the error's type, the library packages' included.
func exitCodeFor(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *codedError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	var mm *e2e.URIMismatchError
	var rk *e2e.RetiredKeyError
	var dg *e2e.DowngradeError
	var pe *keystore.PermissionError
	var pae *keystore.ParseError
	var nf *keystore.NotFoundError
	var nr *keystore.NotRegularError
	var ioe *keystore.IOError
	var tl *keystore.TooLargeError
	switch {
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, context.DeadlineExceeded):
		return exitTimeout
	case errors.As(err, &mm):
		return exitURIMismatch
	case errors.Is(err, e2e.ErrDecrypt), errors.Is(err, e2e.ErrTooShort), errors.As(err, &dg), errors.As(err, &rk):
		// A downgrade (--require-encrypted) is refused like a payload that does not open,
		// and so is one sealed with a retired generation: it decrypted, but with keys this
		// side no longer trusts, as if sealed with another key.
		return exitDecrypt
	case errors.Is(err, e2e.ErrPlaintext):
		// It decrypted: neither tampered nor sealed with another key, so not exit 3.
		return exitError
	case errors.As(err, &pe), errors.As(err, &pae), errors.As(err, &nf), errors.As(err, &nr),
		errors.As(err, &ioe), errors.As(err, &tl),
		errors.Is(err, keygen.ErrMalformed), errors.Is(err, keygen.ErrLowOrder), errors.Is(err, keygen.ErrPrivateKeyFile),
		errors.Is(err, keystore.ErrInvalidEntry),
		isCodecKeyError(err):
		return exitKey
	}
	return exitError
}

// isCodecKeyError reports whether err is the codec's word for a missing key: none for the
// URI, none for this side, none at all, or a receiver that could not open what it receives.
func isCodecKeyError(err error) bool {
	var nk *e2e.NoKeyError
	var sk *e2e.SideKeysError
	var ek *e2e.EmptyKeystoreError
	var cr *e2e.CannotReceiveError
	return errors.As(err, &nk) || errors.As(err, &sk) || errors.As(err, &ek) || errors.As(err, &cr)
}

// codecHints are the hints for the codec's key errors: what the keystore lacks, and the
// command that shows it. reply says whether the command has --reply (seal, open), which
// chooses the side; the session commands' side is their role.
func codecHints(err error, reply bool) []string {
	var sr *e2e.SealRefusedError
	var nk *e2e.NoKeyError
	var sk *e2e.SideKeysError
	var cr *e2e.CannotReceiveError
	switch {
	case errors.As(err, &sr):
		return []string{"publishing and calling need originator-private and the responder's key for the URI (`cbx keys explain URI`)"}
	case errors.As(err, &nk):
		return []string{"add one with `cbx keys add PREFIX …`; `cbx keys explain " + shellQuote(nk.URI) + "` shows the lookup"}
	case errors.As(err, &sk):
		hints := []string{"the originator side needs originator-private and the responder's key; the responder side needs responder-private and the originator's key"}
		if reply {
			hints = append(hints, "the other side of the exchange is chosen with --reply")
		}
		return hints
	case errors.As(err, &cr):
		const need = "a subscriber or callee needs --responder-priv and the originator's public key, or --single"
		if cr.Match == wamp.MatchExact {
			return []string{"`cbx keys explain " + shellQuote(cr.Pattern) + "` shows the lookup; " + need}
		}
		return []string{"`cbx keys show " + shellQuote(cr.Prefix) + "` shows the entry; " + need, "or narrow the pattern to URIs this keystore can open"}
	}
	return nil
}

// hintsFor returns the hints that go with an error; reply says whether the command that
// failed has --reply (codecHints).
func hintsFor(err error, reply bool) []string {
	hints := codecHints(err, reply)
	var ee *codedError
	if errors.As(err, &ee) {
		hints = append(hints, ee.hints...)
	}
	var pe *keystore.PermissionError
	if errors.As(err, &pe) {
		hints = append(hints, "run: chmod 600 "+shellQuote(pe.Path))
	}
	var mm *e2e.URIMismatchError
	if errors.As(err, &mm) {
		hints = append(hints, "somebody, possibly the router, moved a sealed payload to another URI; it was refused")
	}
	var rk *e2e.RetiredKeyError
	if errors.As(err, &rk) {
		hints = append(hints, "the sender still seals with keys this side retired; it must rotate to the new generation (`cbx keys rotate`), or `cbx keys show "+shellQuote(rk.Prefix)+"` here")
	}
	var kv *keystore.VersionError
	if errors.As(err, &kv) {
		hints = append(hints, "use a cbx that reads it; it was left as it is")
	}
	var pt *e2e.PlaintextError
	var ve *wamp.ValueError
	switch {
	case errors.As(err, &pt) && pt.Value != nil:
		hints = append(hints, "the payload is authentic (it decrypted with this side's key); cbx refuses a value it cannot carry exactly rather than round or replace it")
	case errors.As(err, &pt):
		hints = append(hints, "the payload is authentic (it decrypted with this side's key) but is not what Autobahn's KeyRing seals")
	case errors.Is(err, wamp.ErrPayloadRefused):
		hints = append(hints, "the peer sent it in plaintext; cbx refuses a value it cannot carry exactly rather than round or replace it")
	case errors.As(err, &ve) && errors.As(err, new(*usageError)):
		// Only for the command line's own input; a refused frame or output line is not
		// the user's to rewrite.
		hints = append(hints, valueHints(err)...)
	}
	switch {
	case errors.Is(err, e2e.ErrDecrypt) && reply:
		hints = append(hints, "check with `cbx keys explain URI` that this side holds the right key for the URI and direction (--reply)")
	case errors.Is(err, e2e.ErrDecrypt):
		hints = append(hints, "check with `cbx keys explain URI` that this side holds the right key for the URI")
	}
	var tl *wamp.MessageTooLargeError
	if errors.As(err, &tl) {
		hints = append(hints, "nothing was sent; raise --max-message-size (env CBX_MAX_MESSAGE_SIZE) if the router takes larger messages")
	}
	return hints
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '~' || r == '+' || r == ':' || r == '@' ||
			'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
