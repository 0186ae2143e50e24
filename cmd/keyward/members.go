package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// newMembersCmd builds "keyward members list|add|update|remove" and
// "keyward members invitations list|revoke", with the org key
// (KEYWARD_ORG_API_KEY; members:read to list, members:write to change).
func newMembersCmd() *cobra.Command {
	f := &apiFlags{}
	cmd := group(&cobra.Command{
		Use:   "members",
		Short: "Add, list, change and remove the org's members; their invitations (org key)",
		Long: `Manage the org's people with the org key in KEYWARD_ORG_API_KEY
(members:read to list, members:write to change).

"add" prints a one-time link to hand to the person: keyward sends no email.
Pending invitations are under "keyward members invitations".

Org roles: owner, admin, member. Project roles: admin, developer, viewer.`,
		Example: `  keyward members list
  keyward members add --email alice@example.com --role member --project prj_…=developer
  keyward members update usr_… --role admin
  keyward members remove usr_… --key-handling transfer --transfer-to usr_…
  keyward members invitations list`,
	})
	f.register(cmd)
	cmd.AddCommand(membersListCmd(f), membersAddCmd(f), membersUpdateCmd(f), membersRemoveCmd(f), newInvitationsCmd(f))
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
		role := string(m.Role)
		if m.Status != "" {
			role += " (" + m.Status + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.UserID, m.Email, orDash(m.Name), role,
			fmtProjectRoles(m.Projects), fmtTime(&m.CreatedAt, "-"))
	}
	return tw.Flush()
}

// printMember writes one member as name/value lines.
func printMember(w io.Writer, m *keyward.Member) error {
	tw := newTable(w)
	row := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	row("User", m.UserID)
	row("Email", m.Email)
	row("Name", orDash(m.Name))
	row("Role", string(m.Role))
	if m.Status != "" {
		row("Status", m.Status)
	}
	row("Projects", fmtProjectRoles(m.Projects))
	row("Since", fmtTime(&m.CreatedAt, "-"))
	return tw.Flush()
}

// fmtProjectRoles shows project roles as "prj_…:developer,prj_…:viewer".
func fmtProjectRoles(prs []keyward.ProjectMember) string {
	var s []string
	for _, p := range prs {
		s = append(s, p.ProjectID+":"+string(p.Role))
	}
	return orDash(strings.Join(s, ","))
}
