package main

import (
	"errors"

	"github.com/cbx-wamp/cbx/internal/keystore"
	"github.com/spf13/cobra"
)

func newCmdKeysInit(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create an empty keystore (if there is none)",
		Long: `init creates the keystore file, empty, mode 0600 in a 0700 directory, unless it exists
already (then it is only checked). A keystore named with --keystore or CBX_KEYSTORE must
exist for the session commands to run; an empty one means nothing is sealed or opened,
on purpose.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := f.keystoreLocation()
			if err != nil {
				return err
			}
			_, err = keystore.Load(path, f.keystoreNotices())
			var nf *keystore.NotFoundError
			switch {
			case err == nil:
				f.ui.infof("keystore %s exists already", path)
				return nil
			case !errors.As(err, &nf):
				return err
			}
			if err := keystore.Update(path, func(*keystore.Keystore) error { return nil }); err != nil {
				return err
			}
			f.ui.infof("created an empty keystore at %s", path)
			return nil
		},
	}
}
