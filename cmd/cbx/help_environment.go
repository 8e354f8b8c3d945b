package main

import "github.com/spf13/cobra"

// environmentHelp lists every environment variable cbx reads. TestEnvironmentTopic holds
// it to the code: each "CBX_…" name cmd/cbx's own code mentions must appear here.
const environmentHelp = `cbx reads these environment variables. A flag wins over its variable, and a variable
wins over the context (` + "`cbx context --help`" + `) and the defaults. An empty variable is unset.
No variable holds a secret itself: the authentication variables name where it comes
from (a file, "-" for standard input, or env:NAME), as the flags do.

Connections (publish, subscribe, call, register):
  CBX_URL                 router URL, ws:// or wss:// (default ws://127.0.0.1:8080/ws)
  CBX_REALM               realm to join (default realm1)
  CBX_SERIALIZER          json, msgpack or cbor (default json)
  CBX_AUTHID              authentication ID
  CBX_AUTHROLE            requested authentication role
  CBX_TICKET              ticket authentication: the ticket's source
  CBX_WAMPCRA_SECRET      WAMP-CRA authentication: the secret's source
  CBX_CRYPTOSIGN_KEY      WAMP-cryptosign authentication: the Ed25519 private key's source
  CBX_CA                  PEM file of CA certificates to trust for wss://
  CBX_INSECURE            true: do not verify the router's TLS certificate
  CBX_TIMEOUT             give up after this duration, e.g. 10s
  CBX_WAIT                retry connecting for up to this duration until the router
                          answers (default 0: one attempt)
  CBX_WIRE                sealed payload form: auto, legacy or ppt (default auto)
  CBX_REQUIRE_ENCRYPTED   true: refuse plaintext payloads on URIs the keystore covers
  CBX_MAX_MESSAGE_SIZE    largest message to send, in bytes (default 1048576)
  CBX_RECONNECT           true: subscribe and register connect again when the router goes away
  CBX_RECONNECT_MAX       with reconnecting, give up after N failed attempts in a row
  CBX_RECONNECT_WITHIN    with reconnecting, give up once the router has been gone this long

Values (publish, call, seal):
  CBX_STRICT              true: every ARG and -k VALUE must be JSON (no text taken as a
                          string)

Keys and contexts:
  CBX_KEYSTORE            keystore file (default the context's, else
                          $XDG_CONFIG_HOME/cbx/keystore)
  CBX_CONTEXT             the context to use (default the one ` + "`cbx context use`" + ` chose)
  XDG_CONFIG_HOME         where the default keystore and the contexts file live
                          (default ~/.config)

Output:
  NO_COLOR                set to anything: never colour the output

Go's runtime (read by Go itself; cbx only steps aside when they are set):
  GOMAXPROCS              processors to run on (default: 1 for publish, subscribe, call,
                          register, and bench call --procedure with one caller; half the
                          CPUs for router; all for the rest)
  GOGC, GOMEMLIMIT        the garbage collector's settings (default: GOGC=400 for publish,
                          subscribe, call, register and bench; a 32 MiB floor under the
                          heap goal for router; Go's own for the rest)

Set by cbx register --exec for the command it runs (see ` + "`cbx register --help`" + `):
  CBX_PROCEDURE, CBX_ARGS, CBX_KWARGS, CBX_SEALED
`

func newHelpTopicEnvironment() *cobra.Command {
	return &cobra.Command{
		Use:   "environment",
		Short: "Environment variables cbx reads, and their order against flags and contexts",
		Long:  environmentHelp,
	}
}
