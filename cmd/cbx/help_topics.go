package main

import "github.com/spf13/cobra"

// Help topics are commands without a Run: cobra lists them under "Additional help topics"
// and `cbx help NAME` prints their Long text (the GitHub CLI's help_topic.go does the same).

func newHelpTopicExitCodes() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "Exit codes of cbx and what they mean",
		Long:  "cbx exits with one of these codes:\n\n" + exitCodeTable + "\n",
	}
}

func newHelpTopicKeystore() *cobra.Command {
	return &cobra.Command{
		Use:   "keystore",
		Short: "The keystore: which key seals which URI, and its file format",
		Long: `The keystore maps URI prefixes to cryptobox keys, with exactly the lookup of
Autobahn|Python's KeyRing:

  - the longest prefix of the URI wins, compared character by character, so "com.app"
    also covers "com.application.x" (end prefixes with ".");
  - the empty prefix "" is the default key, used when no prefix matches;
  - no match and no default: the URI is sent and accepted in plaintext.
  - cbx's own rule: URIs under "wamp." (the router's meta API) are only covered by a
    prefix that starts with "wamp.", never by the default key.

An entry holds the originator's (publisher's, caller's) private or public key and the
responder's (subscriber's, callee's) private or public key, or one "single" private key
for both roles (Autobahn's KeyRing(priv)). A publisher needs originator-private and
responder-public; a subscriber needs responder-private and originator-public.

Generations. An entry holds one or more generations of its keys, numbered 1, 2, 3, … in
the order they were added: keys add stores generation 1, keys rotate adds the next. The
newest generation seals; older ones only open, so payloads sealed by a peer that has not
rotated yet still open. An older generation may retire at a time (keys retire, or keys
rotate --retire-after); from then on a payload only it opens is refused (exit 3), with a
message naming it. keys ls, show and explain list the generations.

A running session command (subscribe, register, publish --stdin, …) follows its keystore
file, checked every second: a rotation or a retirement takes effect without a restart.
A changed keystore that reads, and for subscribe and register can still open what they
receive, is used from the next message on (-v says "cbx: keystore "PATH" reloaded"); one
that does not is reported and the keys in use are kept.

Location: --keystore FILE, else $CBX_KEYSTORE, else $XDG_CONFIG_HOME/cbx/keystore.
The file is created mode 0600 in a directory made 0700; cbx refuses a keystore or key
file that group or others can access. Updates are locked and atomic.

File format (text, UTF-8), version 2:

  cbx-keystore v2

  prefix "com.example.secure."
  generation 1
  retire-after 2026-08-01T00:00:00Z
  originator-private <base64 key>
  responder-public <base64 key>
  generation 2
  originator-private <base64 key>
  responder-public <base64 key>

  prefix ""
  generation 1
  single <base64 key>

  end

Keys are base64 (as Autobahn takes them) or hex; retire-after is an RFC 3339 time and
only older generations have one. Comments start with "#". The "end" line is required: a
keystore cut short is refused rather than read as a smaller one.

Version 1 (cbx before generations) has no generation or retire-after lines: an entry's
keys follow its prefix and are its generation 1. cbx reads it, and writes version 2 the
next time it changes the keystore, with a warning: a cbx that reads only version 1
refuses the file from then on. A keystore of a version newer than this cbx reads is
refused (exit 5) and never overwritten.

Private keys given to cbx come from a file, never from the command line:
  FILE       a key file (as written by cbx keygen, or a bare base64 key)
  -          standard input
  env:NAME   the environment variable NAME`,
	}
}
