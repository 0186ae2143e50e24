package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd checks a server's readiness, for container health
// checks where no curl is at hand.
func newHealthcheckCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 when the server at --url is ready (GET /readyz), 1 otherwise",
		Long: `Exit 0 when the server is ready (GET /readyz), 1 otherwise. The server is
--url, else KEYWARD_URL (as for the other commands), else http://KEYWARD_ADDR
(the address serve listens on, in a container), else http://127.0.0.1:8080.`,
		Example: `  keyward healthcheck
  keyward healthcheck --url https://keys.example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url = healthcheckURL(url)
			client := &http.Client{Timeout: 3 * time.Second}
			res, err := client.Get(strings.TrimRight(url, "/") + "/readyz")
			if err != nil {
				return fmt.Errorf("not ready: %w", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("not ready: /readyz answered %d", res.StatusCode)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "server URL (default $KEYWARD_URL, http://$KEYWARD_ADDR or http://127.0.0.1:8080)")
	return cmd
}

// healthcheckURL picks the server to ask: the flag, KEYWARD_URL,
// KEYWARD_ADDR, or the default address.
func healthcheckURL(flag string) string {
	if flag != "" {
		return flag
	}
	if u := os.Getenv("KEYWARD_URL"); u != "" {
		return u
	}
	if addr := os.Getenv("KEYWARD_ADDR"); addr != "" {
		return "http://" + addr
	}
	return "http://127.0.0.1:8080"
}
