package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// eventsHelp lists the event types an endpoint may subscribe to, for the
// help of --events.
var eventsHelp = strings.Join(keyward.EventTypes, ", ")

// newWebhooksCmd builds "keyward webhooks list|create|get|update|delete|
// rotate-secret|test|deliveries|redeliver", with the org key
// (KEYWARD_ORG_API_KEY; webhooks:read to read, webhooks:write to change).
func newWebhooksCmd() *cobra.Command {
	f := &apiFlags{}
	cmd := group(&cobra.Command{
		Use:   "webhooks",
		Short: "Manage the org's webhook endpoints and their deliveries (org key)",
		Long: `Manage the URLs keyward sends signed events to, with the org key in
KEYWARD_ORG_API_KEY (webhooks:read to read, webhooks:write to change, test
or redeliver).

An endpoint's signing secret (whsec_…) is shown once, by "create" and
"rotate-secret"; receivers verify each delivery with it.

Event types: ` + eventsHelp + `.`,
		Example: `  keyward webhooks create --url https://hooks.example.com/keyward --events key.created,key.revoked
  keyward webhooks list
  keyward webhooks test whk_…
  keyward webhooks deliveries whk_…
  keyward webhooks update whk_… --disable
  keyward webhooks delete whk_…`,
	})
	f.register(cmd)
	cmd.AddCommand(webhooksListCmd(f), webhooksCreateCmd(f), webhooksGetCmd(f), webhooksUpdateCmd(f), webhooksDeleteCmd(f),
		webhooksRotateCmd(f), webhooksTestCmd(f), webhooksDeliveriesCmd(f), webhooksRedeliverCmd(f))
	return cmd
}

func webhooksListCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the org's webhook endpoints (at most 20; secrets are never shown)",
		Example: `  keyward webhooks list
  keyward webhooks list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			page, err := c.Org().Webhooks().List(cmd.Context())
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), page)
			}
			return printWebhookTable(cmd.OutOrStdout(), page.Data)
		},
	}
}

func webhooksCreateCmd(f *apiFlags) *cobra.Command {
	var in client.CreateWebhookInput
	var disabled bool
	cmd := &cobra.Command{
		Use:   "create --url URL",
		Short: "Add a webhook endpoint and print its signing secret (shown only once)",
		Long: `Add a URL that keyward sends signed events to, and print its signing
secret (whsec_…), which is shown only this once: receivers verify every
delivery with it.

Without --events the endpoint gets every event type: ` + eventsHelp + `.`,
		Example: `  keyward webhooks create --url https://hooks.example.com/keyward
  keyward webhooks create --url https://hooks.example.com/keyward --events key.created,key.revoked --description "SIEM"
  keyward webhooks create --url https://hooks.example.com/keyward --disabled -o json > webhook.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.Events = eventsFlag(in.Events)
			if disabled {
				off := false
				in.Enabled = &off
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			ep, err := c.Org().Webhooks().Create(cmd.Context(), in)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printWebhookSecret(cmd, f, ep, "")
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&in.URL, "url", "", "the URL to POST events to (required)")
	fl.StringVar(&in.Description, "description", "", "what the endpoint is for")
	fl.StringSliceVar(&in.Events, "events", nil, "event types to send, comma-separated, or all (default: all): "+eventsHelp)
	fl.BoolVar(&disabled, "disabled", false, "create it disabled: no events are sent until it is enabled")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func webhooksGetCmd(f *apiFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get WEBHOOK_ID",
		Short: "Show one webhook endpoint (its secret is never shown)",
		Example: `  keyward webhooks get whk_…
  keyward webhooks get whk_… -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ep, err := c.Org().Webhooks().Get(cmd.Context(), args[0])
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printWebhookOut(cmd.OutOrStdout(), f, ep)
		},
	}
}

func webhooksUpdateCmd(f *apiFlags) *cobra.Command {
	var url, description string
	var events []string
	var enable, disable bool
	cmd := &cobra.Command{
		Use:   "update WEBHOOK_ID [flags]",
		Short: "Change a webhook endpoint's URL, description or events, or enable or disable it",
		Long: `Change a webhook endpoint in place; only the flags given change anything.

--events replaces the list of event types (all: every type). A disabled
endpoint gets no events; deliveries waiting for it wait until it is
enabled again.`,
		Example: `  keyward webhooks update whk_… --url https://hooks.example.com/v2
  keyward webhooks update whk_… --events key.revoked,key.leaked
  keyward webhooks update whk_… --events all
  keyward webhooks update whk_… --disable`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var patch client.WebhookPatch
			fl := cmd.Flags()
			if fl.Changed("url") {
				patch.URL = &url
			}
			if fl.Changed("description") {
				patch.Description = &description
			}
			if fl.Changed("events") {
				ev := eventsFlag(events)
				if ev == nil {
					ev = []string{} // the API's "every event type"
				}
				patch.Events = &ev
			}
			if enable && disable {
				return errors.New("use --enable or --disable, not both")
			}
			if enable || disable {
				patch.Enabled = &enable
			}
			if patch == (client.WebhookPatch{}) {
				return errors.New("nothing to change: give at least one of --url, --description, --events, --enable, --disable")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			ep, err := c.Org().Webhooks().Update(cmd.Context(), args[0], patch)
			if err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			return printWebhookOut(cmd.OutOrStdout(), f, ep)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&url, "url", "", "new URL")
	fl.StringVar(&description, "description", "", "new description")
	fl.StringSliceVar(&events, "events", nil, "event types to send, comma-separated (replaces the list), or all: "+eventsHelp)
	fl.BoolVar(&enable, "enable", false, "send events to the endpoint")
	fl.BoolVar(&disable, "disable", false, "stop sending events to the endpoint")
	return cmd
}

func webhooksDeleteCmd(f *apiFlags) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete WEBHOOK_ID",
		Short: "Delete a webhook endpoint and its delivery log (asks you to type DELETE unless --yes)",
		Example: `  keyward webhooks delete whk_…        # asks you to type DELETE
  keyward webhooks delete whk_… --yes  # in scripts: no question`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			svc := c.Org().Webhooks()
			id := args[0]
			if !yes {
				ep, err := svc.Get(cmd.Context(), id)
				if err != nil {
					return apiError(c, client.EnvOrgAPIKey, err)
				}
				prompt := fmt.Sprintf("This deletes webhook endpoint %s (%s) and its delivery log; events not yet sent to it are dropped.\nIt cannot be undone.\nType DELETE to confirm: ", ep.ID, ep.URL)
				if err := confirm(cmd, prompt, "DELETE", "the webhook endpoint was not deleted"); err != nil {
					return err
				}
			}
			if err := svc.Delete(cmd.Context(), id); err != nil {
				return apiError(c, client.EnvOrgAPIKey, err)
			}
			if f.json() {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": id, "deleted": true})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Deleted webhook endpoint %s.\n", id)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// eventsFlag reads --events: "all" (or nothing) is every event type,
// which the API takes as no list. Unknown types are left to the server,
// whose error names the field.
func eventsFlag(events []string) []string {
	var out []string
	for _, e := range events {
		if e = strings.TrimSpace(e); e == "all" {
			return nil
		}
		out = append(out, e)
	}
	return out
}

// printWebhookSecret prints an endpoint and its new signing secret, with
// the warning that the secret will not be shown again (on stderr, so JSON
// stays clean).
func printWebhookSecret(cmd *cobra.Command, f *apiFlags, ep *client.WebhookWithSecret, note string) error {
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	if f.json() {
		if err := printJSON(out, ep); err != nil {
			return err
		}
	} else {
		if err := printWebhook(out, &ep.WebhookEndpoint); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nSigning secret: %s\n", ep.Secret)
	}
	if note != "" {
		fmt.Fprintln(errw, note)
	}
	fmt.Fprintln(errw, "The signing secret is shown once: copy it to your receiver now; it will not be shown again.")
	return nil
}

// printWebhookOut prints one endpoint as JSON or as name/value lines.
func printWebhookOut(w io.Writer, f *apiFlags, ep *keyward.WebhookEndpoint) error {
	if f.json() {
		return printJSON(w, ep)
	}
	return printWebhook(w, ep)
}

// printWebhook writes one endpoint as name/value lines.
func printWebhook(w io.Writer, ep *keyward.WebhookEndpoint) error {
	tw := newTable(w)
	row := func(name, value string) { fmt.Fprintf(tw, "%s:\t%s\n", name, value) }
	row("ID", ep.ID)
	row("URL", ep.URL)
	row("Description", orDash(ep.Description))
	row("Events", fmtEvents(ep.Events))
	row("Enabled", fmtEnabled(ep.Enabled))
	row("Created", fmtTime(&ep.CreatedAt, "-"))
	row("Updated", fmtTime(&ep.UpdatedAt, "-"))
	return tw.Flush()
}

// printWebhookTable writes endpoints as a table, one row each.
func printWebhookTable(w io.Writer, eps []keyward.WebhookEndpoint) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tENABLED\tDESCRIPTION\tCREATED")
	for _, ep := range eps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ep.ID, ep.URL, fmtEvents(ep.Events), fmtEnabled(ep.Enabled),
			orDash(ep.Description), fmtTime(&ep.CreatedAt, "-"))
	}
	return tw.Flush()
}

// fmtEvents shows an endpoint's event types, or "all" when it has every
// one.
func fmtEvents(events []string) string {
	if len(events) == len(keyward.EventTypes) && !slices.ContainsFunc(keyward.EventTypes, func(t string) bool { return !slices.Contains(events, t) }) {
		return "all"
	}
	return orDash(strings.Join(events, ","))
}

func fmtEnabled(on bool) string {
	if on {
		return "yes"
	}
	return "no"
}
