package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// newProjectsCmd builds "keyward projects list|create|get|update|delete",
// which use the org key (KEYWARD_ORG_API_KEY).
func newProjectsCmd() *cobra.Command {
	f := &apiFlags{}
	cmd := group(&cobra.Command{
		Use:   "projects",
		Short: "Manage projects on a running server (org key)",
		Example: `  keyward projects list
  keyward projects create --name "Billing API" --scopes invoices:read,invoices:write
  keyward projects get prj_…
  keyward projects update prj_… --name "Billing" --scopes invoices:read
  keyward projects delete prj_…`,
	})
	f.register(cmd)
	cmd.AddCommand(projectsListCmd(f), projectsCreateCmd(f), projectsGetCmd(f), projectsUpdateCmd(f), projectsDeleteCmd(f))
	return cmd
}

func projectsListCmd(f *apiFlags) *cobra.Command {
	var p client.ListParams
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the org's projects",
		Example: `  keyward projects list
  keyward projects list --limit 200 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			page, err := c.Org().Projects().List(cmd.Context(), p)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), page)
			}
			if err := printProjectTable(cmd.OutOrStdout(), page.Data); err != nil {
				return err
			}
			if page.NextCursor != nil && *page.NextCursor != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "More projects: run again with --cursor %s\n", *page.NextCursor)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&p.Limit, "limit", 0, "projects per page (server default 50, at most 200)")
	cmd.Flags().StringVar(&p.Cursor, "cursor", "", "start at this cursor (from a previous page)")
	return cmd
}

func projectsCreateCmd(f *apiFlags) *cobra.Command {
	var in keyward.CreateProjectInput
	cmd := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a project",
		Example: `  keyward projects create --name "Billing API"
  keyward projects create --name "Billing API" --slug billing --scopes invoices:read,invoices:write -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			p, err := c.Org().Projects().Create(cmd.Context(), in)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), p)
			}
			if err := printProjectTable(cmd.OutOrStdout(), []keyward.Project{*p}); err != nil {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&in.Name, "name", "", "project name (required)")
	cmd.Flags().StringVar(&in.Slug, "slug", "", "URL slug (default: made from the name)")
	cmd.Flags().StringSliceVar(&in.CustomScopes, "scopes", nil, "custom scopes keys of the project may hold besides "+strings.Join(keyward.ProjectScopes, ", ")+", comma-separated (e.g. invoices:read)")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func projectsDeleteCmd(f *apiFlags) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete PROJECT_ID",
		Short: "Delete a project (asks you to type DELETE unless --yes)",
		Example: `  keyward projects delete prj_…        # asks you to type DELETE
  keyward projects delete prj_… --yes  # in scripts: no question`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			id := args[0]
			if !yes {
				p, err := c.Org().Projects().Get(cmd.Context(), id)
				if err != nil {
					return apiError(c, client.EnvOrgAPIKey, err)
				}
				prompt := fmt.Sprintf("This deletes project %s %q. It cannot be undone.\nType DELETE to confirm: ", p.ID, p.Name)
				if err := confirm(cmd, prompt, "DELETE", "the project was not deleted"); err != nil {
					return err
				}
			}
			if err := c.Org().Projects().Delete(cmd.Context(), id); err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": id, "deleted": true})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted project %s.\n", id)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func projectsGetCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get PROJECT_ID",
		Short: "Show one project",
		Example: `  keyward projects get prj_…
  keyward projects get prj_… -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			p, err := c.Org().Projects().Get(cmd.Context(), args[0])
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printProjectOut(cmd.OutOrStdout(), f, p)
		},
	}
}

// printProjectOut prints one project as JSON or as name/value lines.
func printProjectOut(w io.Writer, f *apiFlags, p *keyward.Project) error {
	if f.json() {
		return printJSON(w, p)
	}
	tw := newTable(w)
	row := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	row("ID", p.ID)
	row("Name", p.Name)
	row("Slug", p.Slug)
	row("Custom scopes", orDash(strings.Join(p.CustomScopes, ", ")))
	row("Created", fmtTime(&p.CreatedAt, "-"))
	row("Updated", fmtTime(&p.UpdatedAt, "-"))
	return tw.Flush()
}

// printProjectTable writes projects as a table, one row each.
func printProjectTable(w io.Writer, projects []keyward.Project) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tSLUG\tCUSTOM SCOPES\tCREATED")
	for _, p := range projects {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, p.Slug,
			orDash(strings.Join(p.CustomScopes, ",")), fmtTime(&p.CreatedAt, "-"))
	}
	return tw.Flush()
}
