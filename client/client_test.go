package client

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/keyward/keyward"
)

// TestRoutes checks that each method calls its endpoint with the right
// credential header and body.
func TestRoutes(t *testing.T) {
	ctx := context.Background()
	name := "renamed"
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	grace := keyward.Duration(24 * time.Hour)
	type want struct{ method, path, query, cred, body string }
	tests := []struct {
		name string
		call func(c *Client) error
		want want
	}{
		{"whoami", func(c *Client) error { _, err := c.Whoami(ctx); return err },
			want{"GET", "/v1/whoami", "", "project", ""}},
		{"keys list", func(c *Client) error {
			_, err := c.Keys().List(ctx, ListKeysParams{Status: "all", Limit: 10, Cursor: "abc"})
			return err
		}, want{"GET", "/v1/keys", "cursor=abc&limit=10&status=all", "project", ""}},
		{"keys create", func(c *Client) error {
			_, err := c.Keys().Create(ctx, keyward.CreateKeyInput{Name: "ci", Scopes: []string{"keys:read"}})
			return err
		}, want{"POST", "/v1/keys", "", "project", `{"name":"ci","scopes":["keys:read"]}`}},
		{"keys get", func(c *Client) error { _, err := c.Keys().Get(ctx, "key_1"); return err },
			want{"GET", "/v1/keys/key_1", "", "project", ""}},
		{"keys update", func(c *Client) error {
			_, err := c.Keys().Update(ctx, "key_1", keyward.KeyPatch{Name: &name})
			return err
		}, want{"PATCH", "/v1/keys/key_1", "", "project", `{"name":"renamed"}`}},
		{"keys rotate", func(c *Client) error {
			_, err := c.Keys().Rotate(ctx, "key_1", keyward.RotateInput{GracePeriod: &grace})
			return err
		}, want{"POST", "/v1/keys/key_1/rotate", "", "project", `{"grace_period":"24h"}`}},
		{"keys revoke", func(c *Client) error {
			_, err := c.Keys().Revoke(ctx, "key_1", keyward.RevokeInput{Reason: "leaked"})
			return err
		}, want{"POST", "/v1/keys/key_1/revoke", "", "project", `{"reason":"leaked"}`}},
		{"keys delete", func(c *Client) error { _, err := c.Keys().Delete(ctx, "key_1"); return err },
			want{"DELETE", "/v1/keys/key_1", "", "project", ""}},
		{"audit", func(c *Client) error {
			_, err := c.Audit().List(ctx, ListAuditParams{Action: "key.", Since: since, ProjectID: "ignored"})
			return err
		}, want{"GET", "/v1/audit-events", "action=key.&since=2026-01-02T03%3A04%3A05Z", "project", ""}},
		{"verify", func(c *Client) error {
			_, err := c.Verify(ctx, keyward.VerifyInput{Key: "kwp_x", Scopes: []string{"orders:read"}})
			return err
		}, want{"POST", "/v1/verify", "", "project", `{"key":"kwp_x","scopes":["orders:read"]}`}},
		{"org whoami", func(c *Client) error { _, err := c.Org().Whoami(ctx); return err },
			want{"GET", "/v1/org/whoami", "", "org", ""}},
		{"projects list", func(c *Client) error { _, err := c.Org().Projects().List(ctx, ListParams{Limit: 200}); return err },
			want{"GET", "/v1/org/projects", "limit=200", "org", ""}},
		{"projects create", func(c *Client) error {
			_, err := c.Org().Projects().Create(ctx, keyward.CreateProjectInput{Name: "Shop"})
			return err
		}, want{"POST", "/v1/org/projects", "", "org", `{"name":"Shop"}`}},
		{"projects get", func(c *Client) error { _, err := c.Org().Projects().Get(ctx, "prj_1"); return err },
			want{"GET", "/v1/org/projects/prj_1", "", "org", ""}},
		{"projects update", func(c *Client) error {
			_, err := c.Org().Projects().Update(ctx, "prj_1", keyward.ProjectPatch{Name: &name})
			return err
		}, want{"PATCH", "/v1/org/projects/prj_1", "", "org", `{"name":"renamed"}`}},
		{"projects delete", func(c *Client) error { return c.Org().Projects().Delete(ctx, "prj_1") },
			want{"DELETE", "/v1/org/projects/prj_1", "", "org", ""}},
		{"project keys list", func(c *Client) error {
			_, err := c.Org().ProjectKeys("prj_1").List(ctx, ListKeysParams{})
			return err
		}, want{"GET", "/v1/org/projects/prj_1/keys", "", "org", ""}},
		{"project keys rotate", func(c *Client) error {
			_, err := c.Org().ProjectKeys("prj_1").Rotate(ctx, "key_1", keyward.RotateInput{})
			return err
		}, want{"POST", "/v1/org/projects/prj_1/keys/key_1/rotate", "", "org", `{}`}},
		{"project keys revoke", func(c *Client) error {
			_, err := c.Org().ProjectKeys("prj_1").Revoke(ctx, "key_1", keyward.RevokeInput{})
			return err
		}, want{"POST", "/v1/org/projects/prj_1/keys/key_1/revoke", "", "org", `{}`}},
		{"org keys create", func(c *Client) error {
			_, err := c.Org().Keys().Create(ctx, keyward.CreateKeyInput{Name: "terraform"})
			return err
		}, want{"POST", "/v1/org/keys", "", "org", `{"name":"terraform"}`}},
		{"org keys get", func(c *Client) error { _, err := c.Org().Keys().Get(ctx, "key_1"); return err },
			want{"GET", "/v1/org/keys/key_1", "", "org", ""}},
		{"org keys delete", func(c *Client) error { _, err := c.Org().Keys().Delete(ctx, "key_1"); return err },
			want{"DELETE", "/v1/org/keys/key_1", "", "org", ""}},
		{"members add", func(c *Client) error {
			_, err := c.Org().Members().Add(ctx, keyward.AddMemberInput{Email: "a@example.com", Role: keyward.OrgMember})
			return err
		}, want{"POST", "/v1/org/members", "", "org", `{"email":"a@example.com","role":"member"}`}},
		{"members update", func(c *Client) error {
			r := keyward.OrgAdmin
			_, err := c.Org().Members().Update(ctx, "usr_1", keyward.MemberPatch{Role: &r})
			return err
		}, want{"PATCH", "/v1/org/members/usr_1", "", "org", `{"role":"admin"}`}},
		{"members remove", func(c *Client) error {
			return c.Org().Members().Remove(ctx, "usr_1", keyward.RemoveMemberInput{KeyHandling: keyward.KeysTransfer, TransferTo: "usr_2"})
		}, want{"DELETE", "/v1/org/members/usr_1", "key_handling=transfer&transfer_to=usr_2", "org", ""}},
		{"invitations list", func(c *Client) error { _, err := c.Org().Invitations().List(ctx); return err },
			want{"GET", "/v1/org/invitations", "", "org", ""}},
		{"invitations revoke", func(c *Client) error { _, err := c.Org().Invitations().Revoke(ctx, "inv_1"); return err },
			want{"POST", "/v1/org/invitations/inv_1/revoke", "", "org", ""}},
		{"settings get", func(c *Client) error { _, err := c.Org().Settings().Get(ctx); return err },
			want{"GET", "/v1/org/settings", "", "org", ""}},
		{"settings update", func(c *Client) error {
			n := 5
			_, err := c.Org().Settings().Update(ctx, keyward.SettingsPatch{MaxKeysPerUser: &n})
			return err
		}, want{"PATCH", "/v1/org/settings", "", "org", `{"max_keys_per_user":5}`}},
		{"org audit", func(c *Client) error {
			_, err := c.Org().Audit().List(ctx, ListAuditParams{ProjectID: "prj_1", Actor: "usr_1"})
			return err
		}, want{"GET", "/v1/org/audit-events", "actor=usr_1&project_id=prj_1", "org", ""}},
		{"org verify", func(c *Client) error {
			_, err := c.Org().Verify(ctx, keyward.VerifyInput{Key: "kwp_x", IP: "10.0.0.1"})
			return err
		}, want{"POST", "/v1/org/verify", "", "org", `{"key":"kwp_x","ip":"10.0.0.1"}`}},
		{"healthz", func(c *Client) error { return c.Health(ctx) },
			want{"GET", "/healthz", "", "none", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodDelete && r.URL.Path == "/v1/org/projects/prj_1" ||
					r.URL.Path == "/v1/org/members/usr_1" && r.Method == http.MethodDelete {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				writeJSON(w, 200, map[string]any{})
			})
			c, _ := mustClient(t, srv.URL, WithUserAgent("test-agent"))
			if err := tt.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			cred := "none"
			switch {
			case r.Header.Get("X-Api-Key") == testProjectKey && r.Header.Get("X-Org-Api-Key") == "":
				cred = "project"
			case r.Header.Get("X-Org-Api-Key") == testOrgKey && r.Header.Get("X-Api-Key") == "":
				cred = "org"
			case r.Header.Get("X-Org-Api-Key") != "" || r.Header.Get("X-Api-Key") != "":
				cred = "mixed"
			}
			got := want{r.Method, r.Path, r.Query, cred, r.Body}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
			if ua := r.Header.Get("User-Agent"); ua != "test-agent" {
				t.Errorf("User-Agent = %q, want test-agent", ua)
			}
			if tt.want.body != "" && r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", r.Header.Get("Content-Type"))
			}
		})
	}
}

func TestAllPages(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		page := map[string]any{"data": []keyward.Key{}, "next_cursor": nil}
		switch r.URL.Query().Get("cursor") {
		case "":
			page["data"] = []keyward.Key{{ID: "key_3"}, {ID: "key_2"}}
			page["next_cursor"] = "c2"
		case "c2":
			page["data"] = []keyward.Key{{ID: "key_1"}}
		}
		writeJSON(w, 200, page)
	})
	c, _ := mustClient(t, srv.URL)
	var ids []string
	for k, err := range c.Keys().All(context.Background(), ListKeysParams{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	if diff := cmp.Diff([]string{"key_3", "key_2", "key_1"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || reqs[1].Query != "cursor=c2&limit=2" {
		t.Errorf("requests = %+v", reqs)
	}

	// Stopping early fetches no further page.
	before := len(srv.requests())
	for _, err := range c.Keys().All(context.Background(), ListKeysParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if got := len(srv.requests()) - before; got != 1 {
		t.Errorf("early break fetched %d pages, want 1", got)
	}
}

func TestAllYieldsError(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, 403, "PERMISSION_DENIED", "needs keys:read", "req_1")
	})
	c, _ := mustClient(t, srv.URL)
	n := 0
	for _, err := range c.Org().Projects().All(context.Background(), ListParams{}) {
		n++
		if !HasCode(err, "PERMISSION_DENIED") {
			t.Errorf("err = %v, want PERMISSION_DENIED", err)
		}
	}
	if n != 1 {
		t.Errorf("iterations = %d, want 1", n)
	}
}

func TestNewFromEnvironment(t *testing.T) {
	t.Setenv(EnvURL, "https://keys.example.com/base/")
	t.Setenv(EnvAPIKey, " kwp_env \n")
	t.Setenv(EnvOrgAPIKey, "kwo_env")
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.BaseURL(), c.apiKey, c.orgAPIKey, c.retries, c.userAgent)
	if want := fmt.Sprint("https://keys.example.com/base", "kwp_env", "kwo_env", DefaultRetries, "keyward-go"); got != want {
		t.Errorf("client = %q, want %q", got, want)
	}
	c, err = New(WithBaseURL("http://other:9000"), WithAPIKey("kwp_opt"), WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://other:9000" || c.apiKey != "kwp_opt" || c.retries != 0 {
		t.Errorf("options did not override the environment: %s %s %d", c.BaseURL(), c.apiKey, c.retries)
	}

	t.Setenv(EnvURL, "")
	if c, err = New(); err != nil || c.BaseURL() != DefaultURL {
		t.Errorf("New() with no KEYWARD_URL = %v, %v; want %s", c, err, DefaultURL)
	}
	for _, bad := range []string{"ftp://x", "localhost:8080", "http://", "http://u:p@host"} {
		if _, err := New(WithBaseURL(bad)); err == nil {
			t.Errorf("WithBaseURL(%q) accepted", bad)
		}
	}
	if _, err := New(WithRetries(-1)); err == nil {
		t.Error("WithRetries(-1) accepted")
	}
	if _, err := New(WithHTTPClient(nil)); err == nil {
		t.Error("WithHTTPClient(nil) accepted")
	}
}

func TestBasePathPrefix(t *testing.T) {
	srv := newFakeServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, keyward.Key{}) })
	c, _ := mustClient(t, srv.URL+"/keyward/")
	if _, err := c.Keys().Get(context.Background(), "key/../x"); err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[0].Path; got != "/keyward/v1/keys/key%2F..%2Fx" {
		t.Errorf("path = %q", got)
	}
}
