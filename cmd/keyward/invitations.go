package main

import (
	"fmt"
	"io"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// newInvitationsCmd builds "keyward members invitations list|revoke": the
// pending invitations that "keyward members add" made, with the org key of
// the members group (f).
func newInvitationsCmd(f *apiFlags) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:   "invitations",
		Short: "List or revoke pending invitations (org key)",
		Long: `List or revoke the invitations "keyward members add" made that nobody has
accepted yet, with who was invited, to what roles and until when. Their
links are never shown again.`,
		Example: `  keyward members invitations list
  keyward members invitations revoke inv_…`,
	})
	cmd.AddCommand(invitationsListCmd(f), invitationsRevokeCmd(f))
	return cmd
}

func invitationsListCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List pending invitations (at most 200)",
		Example: `  keyward members invitations list
  keyward members invitations list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			page, err := c.Org().Invitations().List(cmd.Context())
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), page)
			}
			return printInvitationTable(cmd.OutOrStdout(), page.Data)
		},
	}
}

func invitationsRevokeCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "revoke INVITATION_ID",
		Short:   "Revoke a pending invitation: its link stops working (members:write)",
		Example: `  keyward members invitations revoke inv_…`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			inv, err := c.Org().Invitations().Revoke(cmd.Context(), args[0])
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), inv)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked invitation %s for %s; its link no longer works.\n", inv.ID, inv.Email)
			return nil
		},
	}
}

// printInvitationTable writes invitations as a table, one row each.
func printInvitationTable(w io.Writer, invs []keyward.Invitation) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tEMAIL\tUSER\tROLE\tPROJECTS\tINVITED BY\tEXPIRES")
	for _, inv := range invs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inv.ID, inv.Email, inv.UserID, inv.Role,
			fmtProjectRoles(inv.Projects), inv.CreatedBy, fmtTime(&inv.ExpiresAt, "-"))
	}
	return tw.Flush()
}
