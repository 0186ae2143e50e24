package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyward/keyward"
	"github.com/spf13/cobra"
)

func (kc *keysCmd) updateCmd() *cobra.Command {
	var name, rateLimit string
	var scopes, ips []string
	var metadata map[string]string
	var clearRateLimit bool
	cmd := &cobra.Command{
		Use:   "update KEY_ID [flags]",
		Short: "Rename a key or change its scopes (narrower only), IP allowlist, metadata or rate limit",
		Long: `Change a key in place; its secret stays the same. Only the flags given
change anything. Scopes may only narrow; an expiry cannot change (rotate
the key instead).

Scopes: ` + scopesHelp + `.`,
		Example: `  keyward keys update key_… --name "CI deploys (old)"
  keyward keys update key_… --scopes keys:read
  keyward keys update key_… --rate-limit 100/1m
  keyward keys update key_… --no-rate-limit
  keyward keys update key_… --ip 203.0.113.0/24 --metadata team=billing`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var patch keyward.KeyPatch
			f := cmd.Flags()
			if f.Changed("name") {
				patch.Name = &name
			}
			if f.Changed("scopes") {
				patch.Scopes = &scopes
			}
			if f.Changed("ip") {
				patch.IPAllowlist = &ips
			}
			if f.Changed("metadata") {
				patch.Metadata = &metadata
			}
			if f.Changed("rate-limit") && clearRateLimit {
				return errors.New("use --rate-limit or --no-rate-limit, not both")
			}
			if f.Changed("rate-limit") {
				rl, err := parseRateLimit(rateLimit)
				if err != nil {
					return err
				}
				patch.RateLimit = rl
			}
			patch.ClearRateLimit = clearRateLimit
			if patch == (keyward.KeyPatch{}) {
				return errors.New("nothing to change: give at least one of --name, --scopes, --ip, --metadata, --rate-limit, --no-rate-limit")
			}
			c, svc, err := kc.keys()
			if err != nil {
				return err
			}
			k, err := svc.Update(cmd.Context(), args[0], patch)
			if err != nil {
				return apiError(c, kc.keyVar(), err)
			}
			if kc.json() {
				return printJSON(cmd.OutOrStdout(), k)
			}
			return printKey(cmd.OutOrStdout(), k)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "new name")
	f.StringSliceVar(&scopes, "scopes", nil, "the scopes the key keeps, comma-separated (only fewer)")
	f.StringSliceVar(&ips, "ip", nil, "allowed client addresses or CIDRs, comma-separated or repeated (replaces the list; --ip '' clears it)")
	f.StringToStringVar(&metadata, "metadata", nil, "metadata, key=value,… (replaces all of it)")
	f.StringVar(&rateLimit, "rate-limit", "", "at most N requests per window, as N/WINDOW, e.g. 100/1s or 5000/1h")
	f.BoolVar(&clearRateLimit, "no-rate-limit", false, "remove the key's rate limit")
	return cmd
}

// parseRateLimit reads "N/WINDOW", e.g. "100/1s" or "5000/1h".
func parseRateLimit(s string) (*keyward.RateLimit, error) {
	n, w, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || limit <= 0 {
		return nil, fmt.Errorf("--rate-limit %q: want N/WINDOW, e.g. 100/1s or 5000/1h", s)
	}
	d, err := keyward.ParseDuration(strings.TrimSpace(w))
	if err != nil {
		return nil, fmt.Errorf("--rate-limit %q: want N/WINDOW, e.g. 100/1s or 5000/1h", s)
	}
	return &keyward.RateLimit{Limit: limit, Window: keyward.Duration(d)}, nil
}

// fmtRateLimit shows a rate limit as "100 per 1m", or "none".
func fmtRateLimit(rl *keyward.RateLimit) string {
	if rl == nil {
		return "none"
	}
	return fmt.Sprintf("%d per %s", rl.Limit, rl.Window.Human())
}
