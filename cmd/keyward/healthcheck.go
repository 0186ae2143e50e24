package main

import (
	"fmt"
	"net/http"
	"os"
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
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				url = "http://127.0.0.1:8080"
				if addr := os.Getenv("KEYWARD_ADDR"); addr != "" {
					url = "http://" + addr
				}
			}
			client := &http.Client{Timeout: 3 * time.Second}
			res, err := client.Get(url + "/readyz")
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
	cmd.Flags().StringVar(&url, "url", "", "server URL (default http://$KEYWARD_ADDR or http://127.0.0.1:8080)")
	return cmd
}
