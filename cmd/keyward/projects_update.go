package main

import (
	"errors"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

func projectsUpdateCmd(f *apiFlags) *cobra.Command {
	var name, slug string
	var scopes []string
	var noScopes bool
	cmd := &cobra.Command{
		Use:   "update PROJECT_ID [flags]",
		Short: "Rename a project or change its slug or custom scopes (projects:write)",
		Long: `Change a project in place; only the flags given change anything.

--scopes replaces the project's custom scopes with the list given, and
--no-scopes removes them all. A custom scope taken away is also taken off
every key of the project that holds it. The built-in scopes (` + strings.Join(keyward.ProjectScopes, ", ") + `)
are not custom scopes and stay.`,
		Example: `  keyward projects update prj_… --name "Billing API (EU)"
  keyward projects update prj_… --slug billing-eu
  keyward projects update prj_… --scopes invoices:read,invoices:write,refunds:create
  keyward projects update prj_… --no-scopes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var patch keyward.ProjectPatch
			fl := cmd.Flags()
			if fl.Changed("name") {
				patch.Name = &name
			}
			if fl.Changed("slug") {
				patch.Slug = &slug
			}
			if fl.Changed("scopes") && noScopes {
				return errors.New("use --scopes or --no-scopes, not both")
			}
			if fl.Changed("scopes") {
				patch.CustomScopes = &scopes
			}
			if noScopes {
				patch.CustomScopes = &[]string{} // the same as custom_scopes: null
			}
			if patch == (keyward.ProjectPatch{}) {
				return errors.New("nothing to change: give at least one of --name, --slug, --scopes, --no-scopes")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			p, err := c.Org().Projects().Update(cmd.Context(), args[0], patch)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printProjectOut(cmd.OutOrStdout(), f, p)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "new name")
	fl.StringVar(&slug, "slug", "", "new URL slug")
	fl.StringSliceVar(&scopes, "scopes", nil, "the project's custom scopes, comma-separated (replaces the list), e.g. invoices:read")
	fl.BoolVar(&noScopes, "no-scopes", false, "remove every custom scope")
	return cmd
}
