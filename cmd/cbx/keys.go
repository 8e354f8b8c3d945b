package main

import (
	"github.com/spf13/cobra"
)

func newCmdKeys(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the keystore: which key seals which URI prefix",
		Long: `keys manages the keystore, which maps URI prefixes to cryptobox keys with the lookup
rules of Autobahn's KeyRing (see ` + "`cbx help keystore`" + `). Listing commands never print
private keys.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newCmdKeysInit(f), newCmdKeysAdd(f, nil), newCmdKeysRotate(f, nil), newCmdKeysRetire(f, nil), newCmdKeysLs(f), newCmdKeysShow(f), newCmdKeysRm(f), newCmdKeysExplain(f))
	return cmd
}
