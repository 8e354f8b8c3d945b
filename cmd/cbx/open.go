package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cbx-wamp/cbx/internal/e2e"

	"github.com/spf13/cobra"
)

// maxPayloadInput bounds what cbx open reads from standard input: far above any WAMP
// message a router carries (cbx router's default limit is 1 MiB), small enough to hold.
const maxPayloadInput = 64 << 20

type openOptions struct {
	uri     string
	payload string // base64; read from standard input when fromStdin
	reply   bool

	fromStdin bool // no PAYLOAD argument
}

func newCmdOpen(f *factory, runF func(*openOptions) error) *cobra.Command {
	o := &openOptions{}
	cmd := &cobra.Command{
		Use:   "open URI [PAYLOAD] [--reply]",
		Short: "Open a sealed payload that arrived on URI and print it as JSON",
		Long: `open opens a cryptobox payload (base64, as an argument or on standard input) with the
keystore's key for URI, checks that it was sealed for URI (Autobahn's trusted URI check),
and prints {"uri","args","kwargs"} as one JSON line. Binary values print as the string
"\u0000" followed by base64, the WAMP JSON convention.

By default it opens as the responder (an EVENT or INVOCATION); --reply opens as the
originator (a RESULT or ERROR).

A payload that fails to authenticate exits 3; one sealed for another URI exits 4; one
that opens but holds a value cbx cannot print exactly (an integer beyond 64 bits, a
non-finite float, invalid UTF-8, lists and dicts nested deeper than 100 levels) or is not
Autobahn's plaintext exits 1. More than 64 MiB on standard input is a usage error (2).`,
		Example: `  $ cbx seal com.example.secure.topic1 hello | cbx open com.example.secure.topic1
  {"uri":"com.example.secure.topic1","args":["hello"],"kwargs":{}}`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			o.uri = args[0]
			if len(args) == 2 {
				o.payload = args[1]
			} else {
				o.fromStdin = true
			}
			if err := checkURIArg("URI", o.uri, "", false); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return openRun(f, o)
		},
	}
	cmd.Flags().BoolVar(&o.reply, "reply", false, "open as the originator (RESULT, ERROR) instead of the responder")
	return cmd
}

func openRun(f *factory, o *openOptions) error {
	if o.fromStdin {
		// Read one byte more than the limit, so that an oversized input is refused as
		// such instead of being cut short and failing to authenticate.
		b, err := io.ReadAll(io.LimitReader(f.io.In, maxPayloadInput+1))
		if err != nil {
			return err
		}
		if len(b) > maxPayloadInput {
			return &usageError{errors.New("the payload on standard input is larger than 64 MiB")}
		}
		o.payload = string(b)
	}
	text := strings.TrimSpace(o.payload)
	if text == "" {
		return &usageError{fmt.Errorf("no payload: give it as an argument or on standard input")}
	}
	payload, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil {
		return &usageError{fmt.Errorf("payload is not standard padded base64: %v", err)}
	}
	ks, path, err := f.loadKeystore()
	if err != nil {
		return err
	}
	// The codec a subscriber's or caller's session uses, in Autobahn's form.
	codec := e2e.NewCodec(ks, path, e2e.WireLegacy)
	m, err := codec.OpenMessage(o.reply, o.uri, payload)
	if err != nil {
		return err
	}
	out, err := e2e.EncodePlaintext(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f.io.Out, "%s\n", out)
	return err
}
