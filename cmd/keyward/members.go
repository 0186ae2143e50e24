package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// newMembersCmd builds "keyward members list", with the org key
// (KEYWARD_ORG_API_KEY and the members:read scope). Adding and removing
// people is done in the dashboard or the API, where the invitation link
// they get is handed over.
func newMembersCmd() *cobra.Command {
	f := &apiFlags{}
	cmd := group(&cobra.Command{
		Use:     "members",
		Short:   "List the org's members (org key)",
		Example: `  keyward members list`,
	})
	f.register(cmd)
	cmd.AddCommand(membersListCmd(f))
	return cmd
}

func membersListCmd(f *apiFlags) *cobra.Command {
	var p client.ListParams
	var allPages bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the org's members and their roles",
		Example: `  keyward members list
  keyward members list --all -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			svc := c.Org().Members()
			page := &keyward.Page[keyward.Member]{Data: []keyward.Member{}}
			if allPages {
				for m, err := range svc.All(cmd.Context(), p) {
					if err != nil {
						return apiError(c, client.EnvOrgAPIKey, err)
					}
					page.Data = append(page.Data, m)
				}
			} else if page, err = svc.List(cmd.Context(), p); err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), page)
			}
			if err := printMemberTable(cmd.OutOrStdout(), page.Data); err != nil {
				return err
			}
			if page.NextCursor != nil && *page.NextCursor != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "More members: run again with --cursor %s (or use --all)\n", *page.NextCursor)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&p.Limit, "limit", 0, "members per page (server default 50, at most 200)")
	cmd.Flags().StringVar(&p.Cursor, "cursor", "", "start at this cursor (from a previous page)")
	cmd.Flags().BoolVar(&allPages, "all", false, "follow cursors and list every page")
	return cmd
}

// printMemberTable writes members as a table, one row each.
func printMemberTable(w io.Writer, members []keyward.Member) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "USER\tEMAIL\tNAME\tROLE\tPROJECTS\tSINCE")
	for _, m := range members {
		var projects []string
		for _, p := range m.Projects {
			projects = append(projects, p.ProjectID+":"+string(p.Role))
		}
		role := string(m.Role)
		if m.Status != "" {
			role += " (" + m.Status + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.UserID, m.Email, orDash(m.Name), role,
			orDash(strings.Join(projects, ",")), fmtTime(&m.CreatedAt, "-"))
	}
	return tw.Flush()
}
