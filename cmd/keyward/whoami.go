package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// newWhoamiCmd builds "keyward whoami": it describes the project key in
// KEYWARD_API_KEY, or else the org key in KEYWARD_ORG_API_KEY.
func newWhoamiCmd() *cobra.Command {
	f := &apiFlags{}
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the key the CLI is using",
		Long: `Show the key the CLI is using: the project key in KEYWARD_API_KEY, or
else the org key in KEYWARD_ORG_API_KEY.`,
		Example: `  KEYWARD_API_KEY=kwp_… keyward whoami
  keyward whoami -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			var w *keyward.Whoami
			keyVar := client.EnvAPIKey
			switch {
			case c.HasAPIKey():
				w, err = c.Whoami(cmd.Context())
			case c.HasOrgAPIKey():
				keyVar = client.EnvOrgAPIKey
				w, err = c.Org().Whoami(cmd.Context())
			default:
				return errors.New("no API key: set " + client.EnvAPIKey + " or " + client.EnvOrgAPIKey)
			}
			if err != nil {
				return apiError(c, keyVar, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), w)
			}
			tw := newTable(cmd.OutOrStdout())
			fmt.Fprintf(tw, "Key:\t%s\n", w.KeyID)
			fmt.Fprintf(tw, "Kind:\t%s\n", w.Kind)
			fmt.Fprintf(tw, "Org:\t%s\n", w.OrgID)
			if w.ProjectID != "" {
				fmt.Fprintf(tw, "Project:\t%s\n", w.ProjectID)
			}
			fmt.Fprintf(tw, "Scopes:\t%s\n", orDash(strings.Join(w.Scopes, ", ")))
			fmt.Fprintf(tw, "Owner:\t%s\n", derefOr(w.OwnerUserID, "-"))
			fmt.Fprintf(tw, "Server:\t%s\n", c.BaseURL())
			return tw.Flush()
		},
	}
	f.register(cmd)
	return cmd
}
