package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/keyward/keyward/internal/server"
	"github.com/keyward/keyward/internal/service"
	"github.com/spf13/cobra"
)

// bootstrapOutput is what bootstrap prints (README, Configuration).
type bootstrapOutput struct {
	OrgID     string `json:"org_id"`
	UserID    string `json:"user_id"`
	OrgAPIKey string `json:"org_api_key"`
	Password  string `json:"password,omitempty"` // only when generated
}

func newBootstrapCmd() *cobra.Command {
	var (
		org, email, database string
		passwordStdin        bool
	)
	cmd := &cobra.Command{
		Use:   "bootstrap --org NAME --email EMAIL",
		Short: "Create the first org, its owner and an org API key on an empty store",
		Long: `Create the first org, its owner and a full-access org API key on an empty
store (running migrations first), and print them as JSON for automation.
The owner's password is read from stdin with --password-stdin, or generated
and included in the output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if err := bindEnv(cmd); err != nil {
				return err
			}
			password := ""
			if passwordStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && line == "" {
					return fmt.Errorf("reading the password from stdin: %w", err)
				}
				password = strings.TrimRight(line, "\r\n")
			}
			generated := ""
			if password == "" {
				password = service.GeneratePassword()
				generated = password
			}
			ctx := cmd.Context()
			st, err := server.OpenStore(ctx, database)
			if err != nil {
				return err
			}
			// Closing a SQLite store writes its log back into the file: a
			// failure there is reported too.
			defer func() { err = errors.Join(err, st.Close()) }()
			svc, err := service.New(service.Config{Store: st, Pepper: []byte(os.Getenv("KEYWARD_KEY_PEPPER"))})
			if err != nil {
				return err
			}
			res, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgName: org, Email: email, Password: password})
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			// The generated password is printed on purpose, once: it is the
			// only way the owner learns it.
			return enc.Encode(bootstrapOutput{OrgID: res.Org.ID, UserID: res.User.ID, OrgAPIKey: res.OrgKey.Secret, Password: generated}) //nolint:gosec // G117: printed on purpose, see above
		},
	}
	f := cmd.Flags()
	f.StringVar(&org, "org", "", "name of the first organization (required)")
	f.StringVar(&email, "email", "", "email of the first owner (required)")
	f.StringVar(&database, "database", "sqlite:keyward.db", "database URL (KEYWARD_DATABASE)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the owner's password from the first line of stdin")
	_ = cmd.MarkFlagRequired("org")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}
