package httpapi

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyward/keyward"
	"github.com/keyward/keyward/internal/service"
)

// usageQuery are the range parameters of the usage endpoints.
var usageQuery = []string{"since", "until", "granularity"}

func usageQueryOf(r *http.Request) (service.UsageQuery, error) {
	since, err := timeParam(r, "since")
	if err != nil {
		return service.UsageQuery{}, err
	}
	until, err := timeParam(r, "until")
	if err != nil {
		return service.UsageQuery{}, err
	}
	return service.UsageQuery{Since: since, Until: until, Granularity: r.URL.Query().Get("granularity")}, nil
}

// usageRoutes are a project's usage summary, for its own keys and for org
// keys, and the org's credential report.
func (a *API) usageRoutes() []route {
	const summary = "The project's requests by outcome over time, and its keys used most and failing most in that range (granularity, since and until as for a key's usage)"
	project := func(projectID func(*call) string) func(*call) (any, error) {
		return func(c *call) (any, error) {
			q, err := usageQueryOf(c.r)
			if err != nil {
				return nil, err
			}
			return a.svc.ProjectUsage(c.r.Context(), c.actor, projectID(c), q)
		}
	}
	return []route{
		{Method: "GET", Path: "/v1/usage", ID: "getProjectUsage", Tag: tagUsage, Summary: summary, Auth: authProject, Query: usageQuery, Out: keyward.ProjectUsage{}, Status: 200,
			Handle: project(func(c *call) string { return c.actor.Key.ProjectID })},
		{Method: "GET", Path: "/v1/org/projects/{project_id}/usage", ID: "getOrgProjectUsage", Tag: tagUsage, Errors: []int{404}, Summary: summary, Auth: authOrg, Query: usageQuery, Out: keyward.ProjectUsage{}, Status: 200,
			Handle: project(func(c *call) string { return c.r.PathValue("project_id") })},
		{Method: "GET", Path: "/v1/org/credential-report", ID: "getCredentialReport", Tag: tagUsage, Summary: "Every key of the org (project and org keys, revoked ones too) with its age, last use, owner, scopes and expiry", Auth: authOrg, Out: keyward.CredentialReport{}, Status: 200,
			Handle: func(c *call) (any, error) { return a.svc.CredentialReport(c.r.Context(), c.actor) }},
		{Method: "GET", Path: "/v1/org/credential-report.csv", ID: "getCredentialReportCSV", Tag: tagUsage, Summary: "The credential report as CSV (text/csv; a header row, then one row per key)", Auth: authOrg, Status: 200, Stream: true,
			Handle: func(c *call) (any, error) {
				rep, err := a.svc.CredentialReport(c.r.Context(), c.actor)
				if err != nil {
					return nil, err
				}
				h := c.w.Header()
				h.Set("Content-Type", "text/csv; charset=utf-8")
				h.Set("Content-Disposition", `attachment; filename="credential-report.csv"`)
				c.w.WriteHeader(http.StatusOK)
				return nil, WriteCredentialCSV(c.w, rep)
			}},
	}
}

// CredentialCSVHeader is the header row of the credential report's CSV.
var CredentialCSVHeader = []string{"key_id", "name", "kind", "hint", "project_id", "status", "created_at", "age_days",
	"owner_user_id", "owner_email", "scopes", "expires_at", "last_used_at", "days_since_last_use", "last_used_ip", "last_used_user_agent"}

// WriteCredentialCSV writes rep as CSV: the header row, then one row per
// key. Times are RFC 3339 (UTC), scopes are separated by spaces, and what
// is unknown or never happened is empty. A cell that a spreadsheet would
// read as a formula is prefixed with a quote.
func WriteCredentialCSV(w interface{ Write([]byte) (int, error) }, rep *keyward.CredentialReport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CredentialCSVHeader); err != nil {
		return err
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for _, k := range rep.Keys {
		days := ""
		if k.DaysSinceLastUse != nil {
			days = strconv.Itoa(*k.DaysSinceLastUse)
		}
		row := []string{k.KeyID, k.Name, string(k.Kind), k.Hint, k.ProjectID, string(k.Status), tm(&k.CreatedAt), strconv.Itoa(k.AgeDays),
			str(k.OwnerUserID), k.OwnerEmail, strings.Join(k.Scopes, " "), tm(k.ExpiresAt), tm(k.LastUsedAt), days,
			str(k.LastUsedIP), str(k.LastUsedUserAgent)}
		for i, cell := range row {
			row[i] = csvSafe(cell)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell (a key's name, a user
// agent) as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
