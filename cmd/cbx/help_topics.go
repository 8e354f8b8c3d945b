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

Location: --keystore FILE, else $CBX_KEYSTORE, else $XDG_CONFIG_HOME/cbx/keystore.
The file is created mode 0600 in a directory made 0700; cbx refuses a keystore or key
file that group or others can access. Updates are locked and atomic.

File format (text, UTF-8):

  cbx-keystore v1

  prefix "com.example.secure."
  originator-private <base64 key>
  responder-public <base64 key>

  prefix ""
  single <base64 key>

  end

Keys are base64 (as Autobahn takes them) or hex. Comments start with "#". The "end" line
is required: a keystore cut short is refused rather than read as a smaller one.

Private keys given to cbx come from a file, never from the command line:
  FILE       a key file (as written by cbx keygen, or a bare base64 key)
  -          standard input
  env:NAME   the environment variable NAME`,
	}
}
