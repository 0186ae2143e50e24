package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Flags not given on the command line read KEYWARD_<NAME>; flags given win.
func TestBindEnv(t *testing.T) {
	t.Setenv("KEYWARD_ADDR", "127.0.0.1:9999")
	t.Setenv("KEYWARD_LOG_FORMAT", "text")
	t.Setenv("KEYWARD_DATABASE", "sqlite:env.db")
	var addr, db, format string
	cmd := &cobra.Command{Use: "x", RunE: func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd) }}
	cmd.Flags().StringVar(&addr, "addr", "default", "")
	cmd.Flags().StringVar(&db, "database", "default", "")
	cmd.Flags().StringVar(&format, "log-format", "", "")
	cmd.SetArgs([]string{"--database", "sqlite:flag.db"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if addr != "127.0.0.1:9999" || format != "text" || db != "sqlite:flag.db" {
		t.Fatalf("addr %q format %q database %q", addr, format, db)
	}
}

// bootstrap prints the three ids README's Configuration names as JSON, and refuses a store
// that is already set up without printing a key.
func TestBootstrapCommand(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/k.db"
	run := func(args ...string) (string, error) {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetIn(strings.NewReader("a long password\n"))
		root.SetArgs(args)
		err := root.Execute()
		return out.String(), err
	}
	out, err := run("bootstrap", "--org", "Acme", "--email", "me@example.com", "--database", db, "--password-stdin")
	if err != nil {
		t.Fatalf("bootstrap: %v\n%s", err, out)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output %q is not JSON: %v", out, err)
	}
	if !strings.HasPrefix(got["org_id"], "org_") || !strings.HasPrefix(got["user_id"], "usr_") || !strings.HasPrefix(got["org_api_key"], "kwo_") {
		t.Fatalf("output = %v", got)
	}
	if _, ok := got["password"]; ok {
		t.Fatal("a password read from stdin must not be printed")
	}
	out, err = run("bootstrap", "--org", "Again", "--email", "me@example.com", "--database", db)
	if err == nil || strings.Contains(out, "kwo_") {
		t.Fatalf("second bootstrap: err %v, output %q", err, out)
	}
}
