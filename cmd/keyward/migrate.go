package main

import (
	"fmt"

	"github.com/keyward/keyward/internal/server"
	"github.com/spf13/cobra"
)

func newMigrateCmd() *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database to the current schema, then exit",
		Long: `Apply the database migrations embedded in this binary and exit. keyward serve
also migrates on start (under a lock, so nodes starting together are safe);
run this to migrate ahead of a rolling deploy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			if err := server.Migrate(cmd.Context(), database); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "the database is up to date")
			return nil
		},
	}
	cmd.Flags().StringVar(&database, "database", "sqlite:keyward.db", "database URL: sqlite:PATH or postgres://… (KEYWARD_DATABASE)")
	return cmd
}
