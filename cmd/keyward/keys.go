package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// keysCmd holds the flags of "keyward keys …".
type keysCmd struct {
	apiFlags
	project string
	org     bool
}

// keyRoutes are the key routes of a project (client.KeysService) or of the
// org itself (client.OrgKeysService).
type keyRoutes interface {
	List(ctx context.Context, p client.ListKeysParams) (*keyward.Page[keyward.Key], error)
	All(ctx context.Context, p client.ListKeysParams) iter.Seq2[keyward.Key, error]
	Create(ctx context.Context, in keyward.CreateKeyInput) (*keyward.Key, error)
	Get(ctx context.Context, id string) (*keyward.Key, error)
	Update(ctx context.Context, id string, patch keyward.KeyPatch) (*keyward.Key, error)
	Rotate(ctx context.Context, id string, in keyward.RotateInput) (*keyward.Key, error)
	Revoke(ctx context.Context, id string, in keyward.RevokeInput) (*keyward.Key, error)
}

// scopesHelp lists the scopes a key may hold, for the help of --scopes.
var scopesHelp = "project keys: " + strings.Join(keyward.ProjectScopes, ", ") +
	" and the project's custom scopes; org keys (--org): " + strings.Join(keyward.OrgScopes, ", ")

// newKeysCmd builds "keyward keys list|create|get|update|rotate|revoke".
func newKeysCmd() *cobra.Command {
	kc := &keysCmd{}
	cmd := group(&cobra.Command{
		Use:   "keys",
		Short: "Manage API keys on a running server",
		Long: `Manage API keys on a running keyward server.

By default the commands act on the project of the key in KEYWARD_API_KEY.
With --project prj_… they act on that project with the org key in
KEYWARD_ORG_API_KEY, and with --org on the org's own keys (kwo_…).

Scopes: ` + scopesHelp + `.`,
		Example: `  keyward keys list
  keyward keys create --name "CI deploys" --scopes keys:read --expires-in 90d
  keyward keys create --project prj_… --name backend --scopes keys:verify
  keyward keys update key_… --rate-limit 100/1m
  keyward keys rotate key_… --grace 24h
  keyward keys revoke key_… --reason leaked --yes
  keyward keys list --org`,
	})
	kc.register(cmd)
	fl := cmd.PersistentFlags()
	fl.StringVar(&kc.project, "project", "", "act on this project (prj_…) with the org key ("+client.EnvOrgAPIKey+")")
	fl.BoolVar(&kc.org, "org", false, "act on the org's own keys (kwo_…) with the org key ("+client.EnvOrgAPIKey+")")
	cmd.AddCommand(kc.listCmd(), kc.createCmd(), kc.getCmd(), kc.updateCmd(), kc.rotateCmd(), kc.revokeCmd())
	return cmd
}

// keys returns the client and the key routes the flags choose.
func (kc *keysCmd) keys() (*client.Client, keyRoutes, error) {
	if kc.org && kc.project != "" {
		return nil, nil, errors.New("use --org or --project, not both")
	}
	c, err := kc.client()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case kc.org:
		return c, c.Org().Keys(), nil
	case kc.project != "":
		return c, c.Org().ProjectKeys(kc.project), nil
	}
	return c, c.Keys(), nil
}

// keyVar is the variable the commands' key comes from.
func (kc *keysCmd) keyVar() string {
	if kc.org || kc.project != "" {
		return client.EnvOrgAPIKey
	}
	return client.EnvAPIKey
}

func (kc *keysCmd) listCmd() *cobra.Command {
	var p client.ListKeysParams
	var allPages bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List keys (default: active and expiring)",
		Example: `  keyward keys list
  keyward keys list --status all --all -o json
  keyward keys list --project prj_…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, svc, err := kc.keys()
			if err != nil {
				return err
			}
			var page *keyward.Page[keyward.Key]
			if allPages {
				page = &keyward.Page[keyward.Key]{Data: []keyward.Key{}}
				for k, err := range svc.All(cmd.Context(), p) {
					if err != nil {
						return apiError(c, kc.keyVar(), err)
					}
					page.Data = append(page.Data, k)
				}
			} else if page, err = svc.List(cmd.Context(), p); err != nil {
				return apiError(c, kc.keyVar(), err)
			}
			if kc.json() {
				return printJSON(cmd.OutOrStdout(), page)
			}
			if err := printKeyTable(cmd.OutOrStdout(), page.Data); err != nil {
				return err
			}
			if page.NextCursor != nil && *page.NextCursor != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "More keys: run again with --cursor %s (or use --all)\n", *page.NextCursor)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Status, "status", "", "active, revoked, expired or all (default: active and expiring)")
	f.IntVar(&p.Limit, "limit", 0, "keys per page (server default 50, at most 200)")
	f.StringVar(&p.Cursor, "cursor", "", "start at this cursor (from a previous page)")
	f.BoolVar(&allPages, "all", false, "follow cursors and list every page")
	return cmd
}

func (kc *keysCmd) createCmd() *cobra.Command {
	var in keyward.CreateKeyInput
	var expiresIn, expiresAt, rateLimit string
	cmd := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a key and print its secret (shown only once)",
		Long: `Create a key and print its secret, which is shown only this once.

A key made without --scopes gets the scopes of the key that makes it.
Scopes: ` + scopesHelp + `.`,
		Example: `  keyward keys create --name "CI deploys" --scopes keys:read,keys:write --expires-in 30d
  keyward keys create --name backend --scopes keys:verify --rate-limit 1000/1s
  keyward keys create --project prj_… --name "Billing worker" -o json > key.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if expiresIn != "" && expiresAt != "" {
				return errors.New("use --expires-in or --expires-at, not both")
			}
			if expiresIn != "" {
				d, err := keyward.ParseDuration(expiresIn)
				if err != nil {
					return fmt.Errorf("--expires-in: %w", err)
				}
				kd := keyward.Duration(d)
				in.ExpiresIn = &kd
			}
			if expiresAt != "" {
				t, err := time.Parse(time.RFC3339, expiresAt)
				if err != nil {
					return fmt.Errorf("--expires-at: want RFC 3339, e.g. 2026-12-31T00:00:00Z")
				}
				in.ExpiresAt = &t
			}
			if rateLimit != "" {
				rl, err := parseRateLimit(rateLimit)
				if err != nil {
					return err
				}
				in.RateLimit = rl
			}
			c, svc, err := kc.keys()
			if err != nil {
				return err
			}
			k, err := svc.Create(cmd.Context(), in)
			if err != nil {
				return apiError(c, kc.keyVar(), err)
			}
			return kc.printWithSecret(cmd, k, "")
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Name, "name", "", "name of the key (required)")
	f.StringSliceVar(&in.Scopes, "scopes", nil, "scopes, comma-separated (default: those of the key that creates it)")
	f.StringVar(&expiresIn, "expires-in", "", "lifetime, e.g. 12h or 30d (default: never expires)")
	f.StringVar(&rateLimit, "rate-limit", "", "at most N requests per window, as N/WINDOW, e.g. 100/1s or 5000/1h (default: none)")
	f.StringVar(&expiresAt, "expires-at", "", "expiry time, RFC 3339")
	f.StringSliceVar(&in.IPAllowlist, "ip", nil, "allowed client addresses or CIDRs, comma-separated or repeated")
	f.StringToStringVar(&in.Metadata, "metadata", nil, "metadata, key=value,…")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (kc *keysCmd) getCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get KEY_ID",
		Short: "Show one key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, svc, err := kc.keys()
			if err != nil {
				return err
			}
			k, err := svc.Get(cmd.Context(), args[0])
			if err != nil {
				return apiError(c, kc.keyVar(), err)
			}
			if kc.json() {
				return printJSON(cmd.OutOrStdout(), k)
			}
			return printKey(cmd.OutOrStdout(), k)
		},
	}
}

func (kc *keysCmd) rotateCmd() *cobra.Command {
	var grace string
	cmd := &cobra.Command{
		Use:   "rotate KEY_ID",
		Short: "Replace a key with a new one and print the new secret (shown only once)",
		Long: `Replace a key with a new one with the same name, scopes, allowlist and
metadata. The old key stops working now, or at the end of --grace.`,
		Example: `  keyward keys rotate key_…             # the old key stops now
  keyward keys rotate key_… --grace 24h # both work for a day`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in keyward.RotateInput
			if cmd.Flags().Changed("grace") {
				d, err := keyward.ParseDuration(grace)
				if err != nil {
					return fmt.Errorf("--grace: %w", err)
				}
				kd := keyward.Duration(d)
				in.GracePeriod = &kd
			}
			c, svc, err := kc.keys()
			if err != nil {
				return err
			}
			k, err := svc.Rotate(cmd.Context(), args[0], in)
			if err != nil {
				return apiError(c, kc.keyVar(), err)
			}
			old := fmt.Sprintf("The old key %s is revoked.", args[0])
			if in.GracePeriod != nil && *in.GracePeriod > 0 {
				old = fmt.Sprintf("The old key %s keeps working for %s.", args[0], in.GracePeriod.Human())
			}
			return kc.printWithSecret(cmd, k, old)
		},
	}
	cmd.Flags().StringVar(&grace, "grace", "0s", "how long the old key keeps working, e.g. 1h or 7d (at most the org's rotation_max_grace, 7d by default)")
	return cmd
}

func (kc *keysCmd) revokeCmd() *cobra.Command {
	var in keyward.RevokeInput
	var yes bool
	cmd := &cobra.Command{
		Use:   "revoke KEY_ID",
		Short: "Revoke a key for good (asks you to type REVOKE unless --yes)",
		Example: `  keyward keys revoke key_…                       # asks you to type REVOKE
  keyward keys revoke key_… --reason leaked --yes # in scripts: no question`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, svc, err := kc.keys()
			if err != nil {
				return err
			}
			id := args[0]
			if !yes {
				done, err := confirmRevoke(cmd, svc, id)
				if err != nil || done {
					return apiError(c, kc.keyVar(), err)
				}
			}
			k, err := svc.Revoke(cmd.Context(), id, in)
			if err != nil {
				return apiError(c, kc.keyVar(), err)
			}
			if kc.json() {
				return printJSON(cmd.OutOrStdout(), k)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked key %s (%s).\n", k.ID, k.Hint)
			return nil
		},
	}
	cmd.Flags().StringVar(&in.Reason, "reason", "", "why the key is revoked (kept in the audit log)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// confirmRevoke shows what revoking id will do and asks the user to type
// REVOKE. done is true when there is nothing left to do (already revoked).
func confirmRevoke(cmd *cobra.Command, svc keyRoutes, id string) (done bool, err error) {
	what := "key " + id
	k, err := svc.Get(cmd.Context(), id)
	switch {
	case err == nil && k.Status == keyward.StatusRevoked:
		fmt.Fprintf(cmd.ErrOrStderr(), "Key %s is already revoked.\n", id)
		return true, nil
	case err == nil:
		what = fmt.Sprintf("key %s %q (%s)", k.ID, k.Name, k.Hint)
	case client.HasCode(err, keyward.CodePermissionDenied):
		// A key may revoke itself without keys:read: go on without details.
	default:
		return false, err
	}
	prompt := fmt.Sprintf("This revokes %s.\nIt stops working at once and cannot be restored.\nType REVOKE to confirm: ", what)
	return false, confirm(cmd, prompt, "REVOKE", "the key was not revoked")
}

// printWithSecret prints a new key and its secret, with the warning that
// the secret will not be shown again (on stderr, so JSON stays clean).
func (kc *keysCmd) printWithSecret(cmd *cobra.Command, k *keyward.Key, note string) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if kc.json() {
		if err := printJSON(out, k); err != nil {
			return err
		}
	} else {
		if err := printKey(out, k); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nSecret: %s\n", k.Secret)
	}
	if note != "" {
		fmt.Fprintln(errw, note)
	}
	fmt.Fprintln(errw, "Copy the secret now: it will not be shown again.")
	return nil
}

// printKeyTable writes keys as a table, one row each.
func printKeyTable(w io.Writer, keys []keyward.Key) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tNAME\tHINT\tSTATUS\tSCOPES\tEXPIRES\tLAST USED\tCREATED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Hint, k.Status,
			orDash(strings.Join(k.Scopes, ",")), fmtTime(k.ExpiresAt, "never"),
			fmtTime(k.LastUsedAt, "never"), fmtTime(&k.CreatedAt, "-"))
	}
	return tw.Flush()
}

// printKey writes one key as name/value lines.
func printKey(w io.Writer, k *keyward.Key) error {
	tw := newTable(w)
	row := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	row("ID", k.ID)
	row("Name", k.Name)
	row("Hint", k.Hint)
	row("Kind", string(k.Kind))
	if k.ProjectID != "" {
		row("Project", k.ProjectID)
	}
	row("Status", string(k.Status))
	row("Scopes", orDash(strings.Join(k.Scopes, ", ")))
	row("Owner", derefOr(k.OwnerUserID, "-"))
	row("Created", fmtTime(&k.CreatedAt, "-"))
	row("Expires", fmtTime(k.ExpiresAt, "never"))
	row("Last used", fmtTime(k.LastUsedAt, "never"))
	row("IP allowlist", orDash(strings.Join(k.IPAllowlist, ", ")))
	row("Rate limit", fmtRateLimit(k.RateLimit))
	if len(k.Metadata) > 0 {
		var kv []string
		for name, v := range k.Metadata {
			kv = append(kv, name+"="+v)
		}
		slices.Sort(kv)
		row("Metadata", strings.Join(kv, ", "))
	}
	if k.RevokedAt != nil {
		row("Revoked", fmtTime(k.RevokedAt, "-"))
		row("Revoke reason", derefOr(k.RevokeReason, "-"))
	}
	if k.ReplacedBy != nil {
		row("Replaced by", *k.ReplacedBy)
	}
	return tw.Flush()
}
