package main

import (
	"encoding/base64"
	"fmt"

	"github.com/cbx-wamp/cbx/internal/e2e"
	"github.com/spf13/cobra"
)

type sealOptions struct {
	uri    string
	args   []string
	kwargs []string
	values valueOptions
	reply  bool

	payload eventPayload // ARGs and -k, parsed
}

func newCmdSeal(f *factory, runF func(*sealOptions) error) *cobra.Command {
	o := &sealOptions{}
	cmd := &cobra.Command{
		Use:   "seal URI [ARG...] [-k KEY=VALUE...] [--file FILE...] [--strict] [--reply]",
		Short: "Seal a payload for a URI and print it in base64",
		Long: `seal encodes {"uri","args","kwargs"} exactly as Autobahn|Python does and seals it
with the keystore's key for URI. The output is the base64 of the payload that travels as
the bare binary argument of a cryptobox message (enc_algo "cryptobox").

` + valuesHelp + `

JSON holding a value cbx cannot carry exactly (an integer beyond 64 bits, 1e400, invalid
UTF-8, lists and dicts nested deeper than 100 levels) is refused (exit 2), as cbx open
refuses it. By default the payload is sealed as the originator (a PUBLISH or CALL);
--reply seals as the responder (a YIELD or ERROR).`,
		Example: `  $ cbx seal com.example.secure.topic1 "Hello, world!" 42 -k lang=en
  aWlu6VW2K3PN…`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.uri, o.args = args[0], args[1:]
			r, err := f.valueReader(cmd, &o.values)
			if err != nil {
				return err
			}
			if err := o.check(r); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return sealRun(f, o)
		},
	}
	cmd.Flags().StringArrayVarP(&o.kwargs, "kwarg", "k", nil, "keyword argument `KEY=VALUE` (repeatable)")
	addValueFlags(cmd, &o.values)
	cmd.Flags().BoolVar(&o.reply, "reply", false, "seal as the responder (YIELD, ERROR) instead of the originator")
	return cmd
}

// check refuses a bad command line before the keystore is read, and parses the payload.
func (o *sealOptions) check(r *valueReader) error {
	if err := checkURIArg("URI", o.uri, "", false); err != nil {
		return err
	}
	args, kwargs, err := r.payload(o.args, o.kwargs, &o.values)
	if err != nil {
		return err
	}
	o.payload = eventPayload{args, kwargs}
	return nil
}

func sealRun(f *factory, o *sealOptions) error {
	ks, path, err := f.loadKeystore()
	if err != nil {
		return err
	}
	// The codec a publisher's or callee's session uses, in Autobahn's form.
	codec := e2e.NewCodec(ks, path, e2e.WireLegacy)
	payload, err := codec.SealMessage(!o.reply, e2e.Message{URI: o.uri, Args: o.payload.args, Kwargs: o.payload.kwargs})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f.io.Out, base64.StdEncoding.EncodeToString(payload))
	return err
}
