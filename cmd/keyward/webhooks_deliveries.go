package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

func webhooksRotateCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "rotate-secret WEBHOOK_ID",
		Short: "Give an endpoint a new signing secret and print it (shown only once)",
		Long: `Give a webhook endpoint a new signing secret and print it; it is shown
only this once. Deliveries are signed with the new secret from now on:
update the receiver at once, since the old secret stops verifying.`,
		Example: `  keyward webhooks rotate-secret whk_…
  keyward webhooks rotate-secret whk_… -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ep, err := c.Org().Webhooks().RotateSecret(cmd.Context(), args[0])
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printWebhookSecret(cmd, f, ep, "The old signing secret no longer signs deliveries.")
		},
	}
}

func webhooksTestCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "test WEBHOOK_ID",
		Short: "Send a webhook.test event to an endpoint",
		Long: `Send a webhook.test event to an endpoint, whatever events it subscribes
to (not while it is disabled). The event is queued: "keyward webhooks
deliveries" shows whether it arrived.`,
		Example: `  keyward webhooks test whk_…
  keyward webhooks test whk_… && keyward webhooks deliveries whk_… --limit 1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			d, err := c.Org().Webhooks().Test(cmd.Context(), args[0])
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printQueued(cmd, f, d, "a webhook.test event")
		},
	}
}

func webhooksRedeliverCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "redeliver WEBHOOK_ID DELIVERY_ID",
		Short: "Send a delivery's event to its endpoint again",
		Long: `Send a delivery's event to its endpoint again, as a new delivery with the
same webhook-id (a receiver that already handled the event can tell).`,
		Example: `  keyward webhooks redeliver whk_… dlv_…`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			d, err := c.Org().Webhooks().Redeliver(cmd.Context(), args[0], args[1])
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printQueued(cmd, f, d, "delivery "+args[1]+"'s "+d.EventType+" event again")
		},
	}
}

// printQueued prints a delivery that a test or redelivery queued.
func printQueued(cmd *cobra.Command, f *apiFlags, d *keyward.WebhookDelivery, what string) error {
	if f.json() {
		return printJSON(cmd.OutOrStdout(), d)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Queued %s to %s as delivery %s.\n", what, d.EndpointID, d.ID)
	fmt.Fprintf(cmd.ErrOrStderr(), "See how it went: keyward webhooks deliveries %s\n", d.EndpointID)
	return nil
}

func webhooksDeliveriesCmd(f *apiFlags) *cobra.Command {
	var p client.ListParams
	var allPages bool
	cmd := &cobra.Command{
		Use:   "deliveries WEBHOOK_ID",
		Short: "List an endpoint's deliveries, newest first, with what their last attempt got",
		Long: `List an endpoint's deliveries, newest first: each one's status (pending,
succeeded or failed), attempts, the last attempt's HTTP status, latency
and error, and when the next attempt is due.`,
		Example: `  keyward webhooks deliveries whk_…
  keyward webhooks deliveries whk_… --limit 10
  keyward webhooks deliveries whk_… --all -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			svc := c.Org().Webhooks()
			page := &keyward.Page[keyward.WebhookDelivery]{Data: []keyward.WebhookDelivery{}}
			if allPages {
				for d, err := range svc.AllDeliveries(cmd.Context(), args[0], p) {
					if err != nil {
						return apiError(c, client.EnvOrgAPIKey, err)
					}
					page.Data = append(page.Data, d)
				}
			} else if page, err = svc.Deliveries(cmd.Context(), args[0], p); err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), page)
			}
			if err := printDeliveryTable(cmd.OutOrStdout(), page.Data); err != nil {
				return err
			}
			if page.NextCursor != nil && *page.NextCursor != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "More deliveries: run again with --cursor %s (or use --all)\n", *page.NextCursor)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&p.Limit, "limit", 0, "deliveries per page (server default 50, at most 200)")
	cmd.Flags().StringVar(&p.Cursor, "cursor", "", "start at this cursor (from a previous page)")
	cmd.Flags().BoolVar(&allPages, "all", false, "follow cursors and list every page")
	return cmd
}

// maxErrorWidth is how much of a delivery's last error the table shows;
// -o json has all of it.
const maxErrorWidth = 60

// printDeliveryTable writes deliveries as a table, one row each.
func printDeliveryTable(w io.Writer, ds []keyward.WebhookDelivery) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tEVENT\tSTATUS\tATTEMPTS\tLAST CODE\tLATENCY\tLAST ERROR\tNEXT ATTEMPT\tCREATED")
	for _, d := range ds {
		code, latency := "-", "-"
		if d.LastStatusCode != 0 {
			code = strconv.Itoa(d.LastStatusCode)
		}
		if d.LastAttemptAt != nil {
			latency = strconv.Itoa(d.LastLatencyMS) + "ms"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.EventType, d.Status, d.Attempts, code, latency,
			orDash(shorten(d.LastError, maxErrorWidth)), fmtTime(d.NextAttemptAt, "-"), fmtTime(&d.CreatedAt, "-"))
	}
	return tw.Flush()
}

// shorten cuts s to at most n runes, ending with "…" when it was cut, and
// keeps it on one line.
func shorten(s string, n int) string {
	r := []rune(s)
	for i, c := range r {
		if c == '\n' || c == '\t' || c == '\r' {
			r[i] = ' '
		}
	}
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
