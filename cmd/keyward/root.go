package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// newRootCmd builds the command tree. Each subcommand lives in its own file.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "keyward",
		Short:         "Self-hosted API keys: issue, verify, rotate and revoke",
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Long: `Self-hosted API keys: issue, verify, rotate and revoke.

"keyward serve" runs the server. The other commands call a running server
at KEYWARD_URL (default http://127.0.0.1:8080) with the project key in
KEYWARD_API_KEY or the org key in KEYWARD_ORG_API_KEY; keys are read from
the environment only, never from flags, so they stay out of shell history.`,
	}
	root.SetVersionTemplate("keyward {{.Version}}\n")
	root.AddCommand(
		newServeCmd(),
		newProxyCmd(),
		newBootstrapCmd(),
		newMigrateCmd(),
		newHealthcheckCmd(),
		newKeysCmd(),
		newProjectsCmd(),
		newMembersCmd(),
		newAuditCmd(),
		newSettingsCmd(),
		newWebhooksCmd(),
		newWhoamiCmd(),
		newScanCmd(),
	)
	return root
}

// group makes cmd a command that only holds subcommands: alone it prints
// its help; with a word that is none of its subcommands it fails (cobra
// prints the help and exits 0 for those), suggesting the nearest ones.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.SuggestionsMinimumDistance = 2 // cobra sets it on the root only
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
		}
		return fmt.Errorf("%s\nRun '%s --help' for usage.", msg, cmd.CommandPath()) //nolint:staticcheck // ST1005: cobra's own words for an unknown command, printed whole
	}
	return cmd
}

// version is the module version go install recorded ("v1.2.0"), or for a
// build from a checkout "(devel)" with the commit it was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" && (v == "(devel)" || strings.Contains(v, "+dirty")) {
		v += fmt.Sprintf(" (commit %.12s%s)", rev, modified)
	}
	return v + " " + info.GoVersion
}
