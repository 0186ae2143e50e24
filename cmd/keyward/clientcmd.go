package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/client"
	"github.com/spf13/cobra"
)

// apiFlags are the flags shared by the commands that call a running server
// (keys, projects, whoami). Keys come from the environment only, never from
// flags, so they do not show in shell history or the process list.
type apiFlags struct {
	url    string
	output string
}

// register adds the shared flags to cmd and its subcommands.
func (f *apiFlags) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.url, "url", "", "keyward server URL (env "+client.EnvURL+", default "+client.DefaultURL+")")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

// json reports whether the user asked for JSON output.
func (f *apiFlags) json() bool { return f.output == "json" }

// client checks the flags and returns an SDK client configured from the
// environment and --url.
func (f *apiFlags) client() (*client.Client, error) {
	if f.output != "table" && f.output != "json" {
		return nil, fmt.Errorf("invalid --output %q: want table or json", f.output)
	}
	opts := []client.Option{client.WithUserAgent("keyward-cli")}
	if f.url != "" {
		opts = append(opts, client.WithBaseURL(f.url))
	}
	return client.New(opts...)
}

// apiError makes an SDK error readable on a terminal. keyVar is the
// environment variable the call's key came from: a key the server refuses
// is named by it, since the message alone does not say which key was
// wrong.
func apiError(c *client.Client, keyVar string, err error) error {
	var apiErr *keyward.Error
	var urlErr *url.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		return &hinted{err: apiErr, hint: "The key in " + keyVar + " was refused."}
	case errors.As(err, &apiErr) && apiErr.Code == keyward.CodePermissionDenied:
		return &hinted{err: apiErr, hint: "The key in " + keyVar + " is valid but may not do this."}
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, client.ErrNoAPIKey):
		return errors.New("no project API key: set " + client.EnvAPIKey + " (or use --project with " + client.EnvOrgAPIKey + ")")
	case errors.Is(err, client.ErrNoOrgAPIKey):
		return errors.New("no org API key: set " + client.EnvOrgAPIKey)
	case errors.As(err, &urlErr) && c != nil:
		return fmt.Errorf("cannot reach keyward at %s: %w", c.BaseURL(), urlErr.Err)
	}
	return err
}

// hinted is an error with a line of advice that is printed under it.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() + "\n" + h.hint }
func (h *hinted) Unwrap() error { return h.err }

// printJSON writes v as indented JSON: the API object as the server sent it.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a tabwriter for aligned columns; call Flush when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// confirm prints prompt on the command's stderr and reads one line from its
// stdin; it returns nil when the line is exactly word. With nothing to read
// (no terminal: a script, a pipe, CI) the error says to pass --yes, which
// is how a script confirms; a wrong word is notDone.
func confirm(cmd *cobra.Command, prompt, word, notDone string) error {
	fmt.Fprint(cmd.ErrOrStderr(), prompt)
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(cmd.ErrOrStderr())
		return fmt.Errorf("aborted: no answer on standard input (it is not a terminal?): %s; pass --yes to go ahead without asking", notDone)
	}
	if strings.TrimSpace(line) != word {
		return fmt.Errorf("aborted: %s", notDone)
	}
	return nil
}

// fmtTime shows a time in UTC to the minute, or dflt when t is nil.
func fmtTime(t *time.Time, dflt string) string {
	if t == nil || t.IsZero() {
		return dflt
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// derefOr returns *p, or dflt when p is nil.
func derefOr(p *string, dflt string) string {
	if p == nil {
		return dflt
	}
	return orDash(*p)
}
