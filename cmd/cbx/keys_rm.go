package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

func newCmdKeysRm(f *factory) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "rm PREFIX [--yes]",
		Short: "Remove a keystore entry",
		Long: `rm removes the entry for PREFIX. Its private keys are gone with it unless you have
another copy. It asks first on a terminal; elsewhere it needs --yes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			prefix := args[0]
			if !yes {
				if !f.io.canPrompt() {
					return &usageError{errors.New("--yes required when not running interactively")}
				}
				fmt.Fprintf(f.io.ErrOut, "Remove the entry for %s from the keystore? [y/N] ", keystore.PrefixName(prefix))
				answer, _ := bufio.NewReader(f.io.In).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return withCode(exitError, errors.New("not removed"))
				}
			}
			path, err := f.keystoreLocation()
			if err != nil {
				return err
			}
			err = keystore.Update(path, func(ks *keystore.Keystore) error {
				if !ks.Remove(prefix) {
					return withCode(exitKey, fmt.Errorf("no entry for prefix %q in keystore %q", prefix, path))
				}
				return nil
			}, f.keystoreNotices())
			if err == nil {
				f.ui.infof("removed %s", keystore.PrefixName(prefix))
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	return cmd
}
