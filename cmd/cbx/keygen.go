package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/cbx-wamp/cbx/internal/keygen"
	"github.com/spf13/cobra"
)

type keygenOptions struct {
	output  string
	hex     bool
	convert bool // -y
	input   string
}

func newCmdKeygen(f *factory, runF func(*keygenOptions) error) *cobra.Command {
	o := &keygenOptions{}
	cmd := &cobra.Command{
		Use:   "keygen {[-o FILE] | -y [FILE]} [--hex]",
		Short: "Make a Curve25519 key pair, or print the public key of a private key",
		Long: `keygen makes a Curve25519 (X25519) key pair for the cryptobox scheme.

The private key file holds the key in base64, the form Autobahn's KeyRing and Key take,
under a comment line naming its public key. With -o it is created with mode 0600 and never
overwritten, and the public key is printed on stdout. Without -o the private key file goes
to stdout; the public key is then also printed on stderr when stdout is not a terminal.

keygen -y prints the public key of a private key file (standard input when FILE is
absent or "-"). The file must not be accessible by group or others.

Both print the public key's fingerprint on stderr ("Fingerprint: 0x…"), so that
pub=$(cbx keygen -o FILE) still captures the key alone. The fingerprint names the key
without printing it: cbx keys ls, keys show and keys explain, subscribe --details and
call show it for the keys they use, and a sealed payload carries the recipient's as its
key id. Compare fingerprints to check that two machines hold the same key. It is "0x" and
the last 40 hex digits of SHA-256 of the raw key, with an EIP-55 checksum in the case of
its letters (the WAMP spec's key id).`,
		Example: `  $ cbx keygen -o publisher.key
  hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=
  Fingerprint: 0xBf9240114804dB4Fd373012c0Ca47432D63425AE
  $ cbx keygen -y publisher.key
  hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=
  Fingerprint: 0xBf9240114804dB4Fd373012c0Ca47432D63425AE`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if !o.convert {
					// Not repeated: a private key typed here by mistake stays off the screen.
					return &usageError{fmt.Errorf("unexpected argument %s; keygen -y FILE prints the public key of a private key file", notShown)}
				}
				o.input = args[0]
			}
			if o.convert && o.output != "" {
				return &usageError{errors.New("-o/--output can't be used with -y")}
			}
			switch {
			case runF != nil:
				return runF(o)
			case o.convert:
				return keygenPublic(f, o)
			}
			return keygenRun(f, o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the private key to `FILE` (created 0600, never overwritten)")
	cmd.Flags().BoolVar(&o.hex, "hex", false, "write keys in hex instead of base64")
	cmd.Flags().BoolVarP(&o.convert, "public", "y", false, "print the public key of a private key file")
	return cmd
}

func formatKey(k [keygen.KeySize]byte, hex bool) string {
	if hex {
		return keygen.Hex(k)
	}
	return keygen.Base64(k)
}

func privateKeyFile(k keygen.PrivateKey, hex bool) []byte {
	if hex {
		return keygen.MarshalPrivateKeyFileHex(k, time.Now())
	}
	return keygen.MarshalPrivateKeyFile(k, time.Now())
}

func keygenRun(f *factory, o *keygenOptions) error {
	k, err := keygen.Generate(nil)
	if err != nil {
		return err
	}
	pub := k.Public()
	data := privateKeyFile(k, o.hex)
	if o.output == "" || o.output == "-" {
		if st, ok := f.io.outFile(); ok && !f.io.stdoutTTY {
			if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
				f.ui.warnf("writing a private key to a file that group or others can read (cbx will refuse to read it back until it is chmod 600)")
			}
		}
		if _, err := f.io.Out.Write(data); err != nil {
			return err
		}
		if !f.io.stdoutTTY {
			fmt.Fprintf(f.io.ErrOut, "Public key: %s\n", formatKey(pub, o.hex))
		}
		printFingerprint(f, pub)
		return nil
	}
	// O_EXCL: never overwrite a key, which could be the only copy of a private key.
	file, err := os.OpenFile(o.output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return withCode(exitError, fmt.Errorf("%q already exists; keygen never overwrites a key file", o.output),
			"choose another -o/--output file, or remove the old one first if you are sure")
	}
	if err != nil {
		// the path is named once, here
		return fmt.Errorf("creating the private key file %q: %w", o.output, unwrapPathError(err))
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		os.Remove(o.output)
		return fmt.Errorf("writing %q: %w", o.output, err)
	}
	if err := file.Close(); err != nil {
		os.Remove(o.output)
		return fmt.Errorf("writing %q: %w", o.output, err)
	}
	if _, err = fmt.Fprintln(f.io.Out, formatKey(pub, o.hex)); err != nil {
		return err
	}
	printFingerprint(f, pub)
	return nil
}

// printFingerprint tells, on stderr, the fingerprint of the public key keygen made or read:
// what keys ls and the other commands show for it.
func printFingerprint(f *factory, pub keygen.PublicKey) {
	fmt.Fprintf(f.io.ErrOut, "Fingerprint: %s\n", keygen.Fingerprint(pub))
}

func keygenPublic(f *factory, o *keygenOptions) error {
	src := o.input
	if src == "" {
		src = "-"
	}
	k, err := f.readPrivateKey(src, "private key")
	if err != nil {
		return err
	}
	pub := k.Public()
	if _, err = fmt.Fprintln(f.io.Out, formatKey(pub, o.hex)); err != nil {
		return err
	}
	printFingerprint(f, pub)
	return nil
}
