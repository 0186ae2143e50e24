package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func membersAddCmd(f *apiFlags) *cobra.Command {
	var in keyward.AddMemberInput
	var role string
	var projects []string
	cmd := &cobra.Command{
		Use:   "add --email EMAIL [--role ROLE] [--project PROJECT_ID=ROLE]…",
		Short: "Add a person to the org and print their one-time link (members:write)",
		Long: `Add a person to the org by email, with an org role and optional project
roles, and print the link to hand to them. keyward sends no email.

A new person is a member at once; their link sets their password. An email
that already has a keyward account is only invited: it becomes a member
when its person opens the link, signed in, and accepts.

The link works once, until the time printed with it, and is shown only in
this answer.

Org roles: owner (owners only), admin, member. Project roles: admin,
developer, viewer.`,
		Example: `  keyward members add --email alice@example.com
  keyward members add --email bob@example.com --name "Bob Ray" --role admin
  keyward members add --email carol@example.com --project prj_…=developer --project prj_…=viewer
  keyward members add --email dan@example.com -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			prs, err := parseProjectRoles(projects)
			if err != nil {
				return err
			}
			in.Role, in.Projects = keyward.OrgRole(role), prs
			c, err := f.client()
			if err != nil {
				return err
			}
			m, err := c.Org().Members().Add(cmd.Context(), in)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printAdded(cmd, f, m)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in.Email, "email", "", "the person's email (required)")
	fl.StringVar(&in.Name, "name", "", "the person's name (a new account only)")
	fl.StringVar(&role, "role", string(keyward.OrgMember), "org role: owner, admin or member")
	fl.StringSliceVar(&projects, "project", nil, "a project role as PROJECT_ID=ROLE (admin, developer or viewer), repeated or comma-separated")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

// printAdded prints the member an add made and the link to hand over; what
// to do with the link goes to stderr, so JSON on stdout stays clean.
func printAdded(cmd *cobra.Command, f *apiFlags, m *keyward.Member) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.json() {
		if err := printJSON(out, m); err != nil {
			return err
		}
	} else {
		if err := printMember(out, m); err != nil {
			return err
		}
		if m.Invitation != nil {
			fmt.Fprintf(out, "\nLink (one-time, until %s):\n%s\n", fmtTime(&m.Invitation.ExpiresAt, "-"), m.Invitation.URL)
		}
	}
	if m.Status == "pending" {
		fmt.Fprintf(errw, "%s already has a keyward account, so they are invited: they become a member when they open the link, signed in, and accept.\n", m.Email)
	}
	if m.Invitation != nil {
		fmt.Fprintf(errw, "Hand the link to %s yourself (keyward sends no email). It works once and will not be shown again.\n", m.Email)
	}
	return nil
}

func membersUpdateCmd(f *apiFlags) *cobra.Command {
	var role, handling, transferTo string
	var projects, removeFrom []string
	cmd := &cobra.Command{
		Use:   "update USER_ID [flags]",
		Short: "Change a member's org role or project roles (members:write)",
		Long: `Change a member's org role or project roles; only the flags given change
anything. Roles are changed, never cleared: --remove-project takes the
member out of a project, and "keyward members remove" out of the org.

Keys the member's new roles no longer allow (their keys in a project they
leave, an admin's org keys after a demotion) are revoked, or with
--key-handling transfer handed to --transfer-to.

Org roles: owner, admin, member. Project roles: admin, developer, viewer.`,
		Example: `  keyward members update usr_… --role admin
  keyward members update usr_… --project prj_…=viewer
  keyward members update usr_… --remove-project prj_…
  keyward members update usr_… --role member --key-handling transfer --transfer-to usr_…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var patch keyward.MemberPatch
			fl := cmd.Flags()
			if fl.Changed("role") {
				r := keyward.OrgRole(role)
				patch.Role = &r
			}
			prs, err := parseProjectRoles(projects)
			if err != nil {
				return err
			}
			for _, id := range removeFrom {
				prs = append(prs, keyward.ProjectMember{ProjectID: strings.TrimSpace(id)})
			}
			patch.Projects = prs
			if patch.Role == nil && len(patch.Projects) == 0 {
				return errors.New("nothing to change: give --role, --project or --remove-project")
			}
			if patch.KeyHandling, patch.TransferTo, err = keyHandling(fl.Changed("key-handling"), handling, transferTo); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			m, err := c.Org().Members().Update(cmd.Context(), args[0], patch)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), m)
			}
			return printMember(cmd.OutOrStdout(), m)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&role, "role", "", "new org role: owner, admin or member")
	fl.StringSliceVar(&projects, "project", nil, "set a project role as PROJECT_ID=ROLE (admin, developer or viewer), repeated or comma-separated")
	fl.StringSliceVar(&removeFrom, "remove-project", nil, "take the member out of this project (PROJECT_ID), repeated or comma-separated")
	keyHandlingFlags(fl, &handling, &transferTo, "keys the change leaves them without the right to")
	return cmd
}

func membersRemoveCmd(f *apiFlags) *cobra.Command {
	var handling, transferTo string
	var yes bool
	cmd := &cobra.Command{
		Use:   "remove USER_ID",
		Short: "Remove a member from the org (asks you to type their email unless --yes)",
		Long: `Remove a member from the org. Their pending invitations stop working, and
their keys are revoked (the default), or with --key-handling transfer
handed to --transfer-to (project keys; their org keys become the org's
own). A transferred key keeps what it could do before, and no more.

Unless --yes is given, you confirm by typing the member's email (finding
it takes members:read as well).`,
		Example: `  keyward members remove usr_…                      # asks you to type their email
  keyward members remove usr_… --key-handling transfer --transfer-to usr_…
  keyward members remove usr_… --yes                # in scripts: no question`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in keyward.RemoveMemberInput
			var err error
			if in.KeyHandling, in.TransferTo, err = keyHandling(cmd.Flags().Changed("key-handling"), handling, transferTo); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			svc := c.Org().Members()
			id := args[0]
			email := ""
			if !yes {
				if email, err = confirmRemove(cmd, svc, id, in); err != nil {
					return apiError(c, client.EnvOrgAPIKey, err)
				}
			}
			if err := svc.Remove(cmd.Context(), id, in); err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			kh := in.KeyHandling
			if kh == "" {
				kh = keyward.KeysRevoke
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), map[string]any{"user_id": id, "removed": true, "key_handling": kh})
			}
			who := id
			if email != "" {
				who = fmt.Sprintf("%s (%s)", email, id)
			}
			keys := "revoked"
			if kh == keyward.KeysTransfer {
				keys = "transferred"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed %s from the org; their keys were %s.\n", who, keys)
			return nil
		},
	}
	keyHandlingFlags(cmd.Flags(), &handling, &transferTo, "their keys")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// confirmRemove finds member id, says what removing them does, and asks
// for their email. It returns the email.
func confirmRemove(cmd *cobra.Command, svc *client.MembersService, id string, in keyward.RemoveMemberInput) (string, error) {
	var m *keyward.Member
	for cur, err := range svc.All(cmd.Context(), client.ListParams{Limit: 200}) {
		if err != nil {
			return "", err
		}
		if cur.UserID == id {
			m = &cur
			break
		}
	}
	if m == nil {
		return "", fmt.Errorf("%s is not a member of the org (keyward members list shows who is); nothing was removed", id)
	}
	keys := "Their keys are revoked: they stop working at once."
	if in.KeyHandling == keyward.KeysTransfer {
		keys = "Their org keys become the org's own; a project key of theirs needs --transfer-to."
		if in.TransferTo != "" {
			keys = "Their project keys are transferred to " + in.TransferTo + " and their org keys become the org's own."
		}
	}
	prompt := fmt.Sprintf("This removes %s (%s, %s) from the org.\n%s\nType their email, %s, to confirm: ", m.Email, m.UserID, m.Role, keys, m.Email)
	return m.Email, confirm(cmd, prompt, m.Email, "the member was not removed")
}

// keyHandlingFlags adds --key-handling and --transfer-to; what says which
// keys they are about.
func keyHandlingFlags(fl *pflag.FlagSet, handling, transferTo *string, what string) {
	fl.StringVar(handling, "key-handling", string(keyward.KeysRevoke), "what happens to "+what+": revoke or transfer")
	fl.StringVar(transferTo, "transfer-to", "", "with --key-handling transfer: the member (USER_ID) who gets the project keys (implies transfer)")
}

// keyHandling reads --key-handling and --transfer-to: --transfer-to alone
// means transfer; with revoke it is a mistake. An unknown handling is left
// to the server, whose error names the field.
func keyHandling(set bool, handling, transferTo string) (keyward.KeyHandling, string, error) {
	h := keyward.KeyHandling(handling)
	switch {
	case !set && transferTo == "":
		return "", "", nil // the server's default: revoke
	case !set:
		h = keyward.KeysTransfer
	case transferTo != "" && h == keyward.KeysRevoke:
		return "", "", errors.New("--transfer-to goes with --key-handling transfer, not revoke")
	}
	return h, transferTo, nil
}

// parseProjectRoles reads --project values written PROJECT_ID=ROLE. The
// role itself is checked by the server, whose error names the field.
func parseProjectRoles(vals []string) ([]keyward.ProjectMember, error) {
	var prs []keyward.ProjectMember
	for _, v := range vals {
		id, role, ok := strings.Cut(v, "=")
		id, role = strings.TrimSpace(id), strings.TrimSpace(role)
		if !ok || id == "" || role == "" {
			return nil, fmt.Errorf("--project %q: want PROJECT_ID=ROLE, e.g. prj_…=developer (roles: admin, developer, viewer)", v)
		}
		prs = append(prs, keyward.ProjectMember{ProjectID: id, Role: keyward.ProjectRole(role)})
	}
	return prs, nil
}
