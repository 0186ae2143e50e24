package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// newSettingsCmd builds "keyward settings get|set": the org's limits and
// policies, with the org key (set needs settings:write).
func newSettingsCmd() *cobra.Command {
	f := &apiFlags{}
	cmd := group(&cobra.Command{
		Use:   "settings",
		Short: "Show or change the org's key limits and policies (org key)",
		Example: `  keyward settings get
  keyward settings set --max-key-lifetime 90d --rotation-max-grace 24h`,
	})
	f.register(cmd)
	cmd.AddCommand(settingsGetCmd(f), settingsSetCmd(f))
	return cmd
}

func settingsGetCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get",
		Short: "Show the org's settings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			st, err := c.Org().Settings().Get(cmd.Context())
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printSettings(cmd.OutOrStdout(), f, st)
		},
	}
}

func settingsSetCmd(f *apiFlags) *cobra.Command {
	var perUser, perProject, orgKeys int
	var lifetime, grace, leakPolicy string
	var noLifetime bool
	cmd := &cobra.Command{
		Use:   "set [flags]",
		Short: "Change some of the org's settings (settings:write)",
		Long:  `Change the org's settings; only the flags given change anything.`,
		Example: `  keyward settings set --max-keys-per-project 200
  keyward settings set --max-key-lifetime 90d
  keyward settings set --no-max-key-lifetime
  keyward settings set --leak-policy flag`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var patch keyward.SettingsPatch
			fl := cmd.Flags()
			if fl.Changed("max-keys-per-user") {
				patch.MaxKeysPerUser = &perUser
			}
			if fl.Changed("max-keys-per-project") {
				patch.MaxKeysPerProject = &perProject
			}
			if fl.Changed("max-org-keys") {
				patch.MaxOrgKeys = &orgKeys
			}
			if fl.Changed("max-key-lifetime") && noLifetime {
				return errors.New("use --max-key-lifetime or --no-max-key-lifetime, not both")
			}
			for _, d := range []struct {
				flag, value string
				into        **keyward.Duration
			}{{"max-key-lifetime", lifetime, &patch.MaxKeyLifetime}, {"rotation-max-grace", grace, &patch.RotationMaxGrace}} {
				if !fl.Changed(d.flag) {
					continue
				}
				v, err := keyward.ParseDuration(d.value)
				if err != nil {
					return fmt.Errorf("--%s: %w", d.flag, err)
				}
				kd := keyward.Duration(v)
				*d.into = &kd
			}
			patch.ClearMaxKeyLifetime = noLifetime
			if fl.Changed("leak-policy") {
				patch.LeakPolicy = &leakPolicy
			}
			if patch == (keyward.SettingsPatch{}) {
				return errors.New("nothing to change: give at least one setting (see --help)")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			st, err := c.Org().Settings().Update(cmd.Context(), patch)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printSettings(cmd.OutOrStdout(), f, st)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&perUser, "max-keys-per-user", 0, "most active keys one person may own")
	fl.IntVar(&perProject, "max-keys-per-project", 0, "most active keys of one project")
	fl.IntVar(&orgKeys, "max-org-keys", 0, "most active org keys")
	fl.StringVar(&lifetime, "max-key-lifetime", "", "longest lifetime of a new key, e.g. 90d")
	fl.BoolVar(&noLifetime, "no-max-key-lifetime", false, "let new keys live for ever")
	fl.StringVar(&grace, "rotation-max-grace", "", "longest grace period of a rotation, e.g. 24h or 7d")
	fl.StringVar(&leakPolicy, "leak-policy", "", "what a leak report does to a live key: revoke (at once) or flag (docs/leaks.md)")
	return cmd
}

// printSettings writes settings as name/value lines, durations as people
// write them.
func printSettings(w io.Writer, f *apiFlags, st *keyward.Settings) error {
	if f.json() {
		return printJSON(w, st)
	}
	lifetime := "none"
	if st.MaxKeyLifetime != nil {
		lifetime = st.MaxKeyLifetime.Human()
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "Max keys per user:\t%d\n", st.MaxKeysPerUser)
	fmt.Fprintf(tw, "Max keys per project:\t%d\n", st.MaxKeysPerProject)
	fmt.Fprintf(tw, "Max org keys:\t%d\n", st.MaxOrgKeys)
	fmt.Fprintf(tw, "Max key lifetime:\t%s\n", lifetime)
	fmt.Fprintf(tw, "Rotation max grace:\t%s\n", st.RotationMaxGrace.Human())
	fmt.Fprintf(tw, "Leak policy:\t%s\n", st.LeakAction())
	return tw.Flush()
}
