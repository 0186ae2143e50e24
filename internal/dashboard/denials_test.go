package dashboard_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/keyward/keyward"
)

// The audit log page shows how many times a denied attempt was repeated
// within its minute.
func TestAuditPageShowsRepeatCounts(t *testing.T) {
	srv, b := signedInOwner(t)
	p := srv.MustProject(t, "Billing")
	weak := srv.MustKey(t, nil, p.ID, keyward.CreateKeyInput{Name: "reader", Scopes: []string{"keys:read"}})
	for range 30 {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/keys", strings.NewReader(`{"name":"more"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", weak.Secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 403 {
			t.Fatalf("status %d, want 403", res.StatusCode)
		}
	}
	for _, path := range []string{
		"/orgs/" + srv.OrgID + "/projects/" + p.ID + "/audit",
		"/orgs/" + srv.OrgID + "/audit?action=key.create",
	} {
		body := b.get(path).Body
		rows := regexp.MustCompile(`(?s)<tr data-event-id=.*?</tr>`).FindAllString(body, -1)
		var denied []string
		for _, r := range rows {
			if strings.Contains(r, "result-denied") {
				denied = append(denied, r)
			}
		}
		if len(denied) != 1 || !strings.Contains(denied[0], `data-count="30"`) || !strings.Contains(denied[0], "×30") {
			t.Fatalf("%s: denied rows %q, want one that says ×30", path, denied)
		}
		for _, r := range rows {
			if !strings.Contains(r, "result-denied") && strings.Contains(r, "data-count") {
				t.Errorf("%s: a single event shows a count: %s", path, r)
			}
		}
	}
}
