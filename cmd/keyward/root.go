package main

import "github.com/spf13/cobra"

// newRootCmd builds the command tree. Each subcommand lives in its own file.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "keyward",
		Short:         "Self-hosted API keys: issue, verify, rotate and revoke",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(),
		newBootstrapCmd(),
		newMigrateCmd(),
		newHealthcheckCmd(),
		newKeysCmd(),
		newProjectsCmd(),
		newWhoamiCmd(),
	)
	return root
}
