package main

import (
	"fmt"
	"io"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// newAuditCmd builds "keyward audit list": the project's audit log with
// the project key, or the org's with --org and the org key.
func newAuditCmd() *cobra.Command {
	f := &apiFlags{}
	var org bool
	cmd := group(&cobra.Command{
		Use:   "audit",
		Short: "Read the audit log (project key, or the org's with --org)",
		Example: `  keyward audit list --since 24h
  keyward audit list --org --action key. --since 7d`,
	})
	f.register(cmd)
	cmd.PersistentFlags().BoolVar(&org, "org", false, "the whole org's log, with the org key ("+client.EnvOrgAPIKey+")")
	cmd.AddCommand(auditListCmd(f, &org))
	return cmd
}

func auditListCmd(f *apiFlags, org *bool) *cobra.Command {
	var p client.ListAuditParams
	var since, until string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit events, newest first",
		Long: `List audit events, newest first. --since and --until take a time
(RFC 3339, e.g. 2026-01-31T00:00:00Z) or a duration back from now (24h, 7d).
--action takes an action (key.revoke) or a prefix ending in "." (key.).`,
		Example: `  keyward audit list --since 24h
  keyward audit list --action key.revoke --actor usr_…
  keyward audit list --org --project prj_… --since 7d -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var err error
			if p.Since, err = parseWhen("--since", since, now); err != nil {
				return err
			}
			if p.Until, err = parseWhen("--until", until, now); err != nil {
				return err
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			svc, keyVar := c.Audit(), client.EnvAPIKey
			if *org {
				svc, keyVar = c.Org().Audit(), client.EnvOrgAPIKey
			} else if p.ProjectID != "" {
				return fmt.Errorf("--project needs --org: a project key reads its own project's log")
			}
			page, err := svc.List(cmd.Context(), p)
			if err != nil {
				return apiError(c, keyVar, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), page)
			}
			if err := printAuditTable(cmd.OutOrStdout(), page.Data); err != nil {
				return err
			}
			if page.NextCursor != nil && *page.NextCursor != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "More events: run again with --cursor %s\n", *page.NextCursor)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&p.Action, "action", "", `only this action (key.revoke), or actions starting with a prefix ending in "." (key.)`)
	fl.StringVar(&p.Actor, "actor", "", "only events by this user (usr_…) or key (key_…)")
	fl.StringVar(&p.ProjectID, "project", "", "with --org: only this project's events")
	fl.StringVar(&since, "since", "", "from this time on: RFC 3339, or a duration back from now (24h, 7d)")
	fl.StringVar(&until, "until", "", "before this time: RFC 3339, or a duration back from now")
	fl.IntVar(&p.Limit, "limit", 0, "events per page (server default 50, at most 200)")
	fl.StringVar(&p.Cursor, "cursor", "", "start at this cursor (from a previous page)")
	return cmd
}

// parseWhen reads an RFC 3339 time, or a duration back from now ("24h",
// "7d"); "" is no bound.
func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := keyward.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want a time like 2026-01-31T00:00:00Z or a duration like 24h or 7d", flag, s)
}

// printAuditTable writes events as a table, one row each.
func printAuditTable(w io.Writer, events []keyward.AuditEvent) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "TIME\tACTION\tRESULT\tACTOR\tTARGET\tIP\tCOUNT")
	for _, e := range events {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", fmtTime(&e.Time, "-"), e.Action, e.Result,
			actorText(e.Actor), actorText(e.Target), orDash(e.IP), max(e.Count, 1))
	}
	return tw.Flush()
}

// actorText shows an actor or target as its id, or its type when it has none.
func actorText(a keyward.ActorRef) string {
	if a.ID != "" {
		return a.ID
	}
	return orDash(a.Type)
}
